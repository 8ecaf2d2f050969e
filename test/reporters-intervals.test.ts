import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeCost } from '../core/cost';
import type { CaseResult, RunResult } from '../core/result';
import { median, medianInterval } from '../core/robust-stats';
import { pairedCpuRatios } from '../measure/aggregate';
import { headlineRatios } from '../reporters/headline';
import { renderHtml } from '../reporters/html';
import { chartData } from '../reporters/html-charts';
import { renderMarkdown, summaryRows } from '../reporters/markdown';
import { fmtPercentile } from '../reporters/percentiles';
import { renderTerminal } from '../reporters/terminal';

/**
 * What the reporters make of results@2: intervals beside medians, the paired headline ratio, percentiles gated by
 * sample count, in-process transports apart and unranked; and results@1 still rendering without any of it.
 */

const load = (f: string): RunResult => JSON.parse(readFileSync(join(__dirname, 'fixtures-results', f), 'utf8'));
const RUN2 = 'run2-sample.json'; // ws, shm, worker-sab; realtime and saturate; 3 rounds
const RUN1 = 'sample-run.json';

/** The terminal line of `transport` in the table of `scenario`. */
function termLine(out: string, scenario: string, transport: string): string {
  const table = out.split('\n\n').find((p) => p.startsWith(`${scenario} ·`))!;
  return table.split('\n').find((l) => l.startsWith(`${transport} `))!;
}

/**
 * A run of one realtime group whose transports have these per-round CPU totals: each case's figure is the
 * median over its rounds with its interval, and the ratios are paired by the real aggregation code.
 */
function synthetic(cpu: Record<string, number[]>, inProcess: string[] = []): RunResult {
  const run = load(RUN2);
  const template = run.results.find((c) => c.transport === 'ws' && c.scenario === 'realtime')!;
  run.results = Object.entries(cpu).map(([transport, totals]): CaseResult => {
    const c = structuredClone(template);
    c.transport = transport;
    if (inProcess.includes(transport)) c.inProcess = true;
    else delete c.inProcess;
    c.rounds = totals.map((t, i) => ({ ...structuredClone(template.rounds![0]!), round: i, cpuUsPerFrame: { producer: t / 2, consumer: t / 2, total: t } }));
    c.cpuUsPerFrame = { producer: median(totals) / 2, consumer: median(totals) / 2, total: median(totals) };
    c.intervals = { ...c.intervals, 'cpuUsPerFrame.total': medianInterval(totals) };
    return c;
  });
  run.settings.transports = Object.keys(cpu);
  run.rounds = Object.values(cpu)[0]!.length;
  run.ratios = pairedCpuRatios(run.results);
  return run;
}

describe('intervals from a results@2 file', () => {
  const run = load(RUN2);
  const term = renderTerminal(run);
  const md = renderMarkdown(run, computeCost(run));
  const html = renderHtml(run, { cost: computeCost(run) });

  it('terminal: CPU total, copy-eq, fps and p50 carry ±spread; a footer says rounds and method', () => {
    // ws realtime CPU total: median 20,008.9 over [18,471.9, 25,534.4]: +27.6% is the larger side
    const ws = termLine(term, 'realtime', 'ws');
    expect(ws).toContain('20,009 ±28%');
    expect(ws).toMatch(/215\.92 ±20%/);
    expect(ws).toMatch(/30\.9 ±20%/);
    expect(ws).toMatch(/62\.8 ms ±\d+%/);
    // producer and consumer CPU stay plain
    expect(ws).toMatch(/^ws ▲ +10,353 +10,934 +20,009/);
    expect(term).toContain('3 rounds; ±: 95% order-statistic interval of the median over 3 rounds; with 3 rounds it covers 75%');
    // the ratio column: the paired ws/shm ratio with its spread; shm is the reference
    expect(term).toMatch(/ vs shm /);
    expect(ws).toMatch(/ 3\.1x ±17% /);
    expect(termLine(term, 'realtime', 'shm')).toMatch(/ 1x /);
  });

  it('Markdown: every ranged figure is `median (lo-hi)`, and the paired ratios table', () => {
    expect(md).toContain('| 20,009 (18,472-25,534) |');
    expect(md).toContain('| 30.9 (28.5-37.0) |');
    expect(md).toContain('Rounds: 3 rounds; ranges in parentheses: 95% order-statistic interval of the median over 3 rounds; with 3 rounds it covers 75%');
    expect(md).toContain('### Paired CPU ratios');
    expect(md).toContain('| realtime i420 1280x720 | ws / shm | 3.1x (2.5-3.2) | 3 | 75% |');
    expect(md).toContain('| saturate i420 1280x720 | ws / shm | 50x (31-79) | 3 | 75% |');
  });

  it('HTML: intervals in the table, the headline ratios on top, error bars in the chart data', () => {
    expect(html).toContain('20,009 <span class="iv">(18,472-25,534)</span>');
    const top = html.indexOf('id="ratio-headline"');
    expect(top).toBeGreaterThan(0);
    expect(top).toBeLessThan(html.indexOf('<h2>Environment</h2>'));
    expect(html).toContain('realtime i420 1280x720: <strong>shm uses 3.1x (2.5-3.2) less CPU per frame than ws</strong>');
    expect(html).toContain('<h2>Paired CPU ratios</h2>');
    const g = chartData(run).groups[0]!;
    expect(g.cases.find((c) => c.transport === 'ws')!.cpuRange).toEqual([18471.9, 25534.4]);
    expect(g.cases.find((c) => c.transport === 'ws')!.fpsRange).toEqual([28.5, 37]);
  });
});

describe('results@1 still render', () => {
  const run = load(RUN1);

  it('terminal: plain figures, no ratio column, and a line saying there are no intervals', () => {
    const term = renderTerminal(run);
    expect(term).not.toContain('±');
    expect(term).not.toContain('vs shm');
    expect(term).toContain('one window per case: no figure has an interval');
    expect(termLine(term, 'realtime', 'ws')).toMatch(/^ws ▲ +1,407 +1,907 +3,313 +13\.25 +2\.00\/3\.00 /);
  });

  it('Markdown and HTML: no ranges, no ratios section, no headline ratios', () => {
    const md = renderMarkdown(run, computeCost(run));
    expect(md).not.toMatch(/\d \(\d[\d,.]*-\d[\d,.]*\)/);
    expect(md).not.toContain('Paired CPU ratios');
    expect(md).toContain('One window per case');
    const html = renderHtml(run, { cost: computeCost(run) });
    expect(html).not.toContain('class="iv"');
    expect(html).not.toContain('ratio-headline');
    expect(headlineRatios(run)).toEqual([]);
    expect(chartData(run).groups[0]!.cases[0]!.cpuRange).toBeNull();
  });
});

describe('the headline ratio is paired', () => {
  // per round ws/shm = 8, 4, 10: median 8.0 (4.0-10.0); the ratio of the medians would be 200/30 = 6.7
  const run = synthetic({ ws: [120, 200, 300], shm: [15, 50, 30] });

  it('prints the median of the per-round ratios, not the ratio of the medians', () => {
    const expected = 'shm uses 8.0x (4.0-10.0) less CPU per frame than ws';
    const term = renderTerminal(run);
    expect(term.split('\n')[0]).toBe(`realtime i420 1280x720: ${expected} (paired over 3 rounds; interval covers 75%)`);
    expect(renderMarkdown(run)).toContain(`- realtime i420 1280x720: **${expected}** (paired over 3 rounds; interval covers 75%)`);
    expect(renderHtml(run)).toContain(`<strong>${expected}</strong>`);
    for (const out of [term, renderMarkdown(run), renderHtml(run)]) expect(out).not.toMatch(/6\.7x/);
  });

  it('Markdown and HTML add unix/shm and tcp/shm; the terminal keeps ws/shm; in-process never takes part', () => {
    const r = synthetic({ ws: [700, 800, 900], unix: [210, 200, 190], tcp: [300, 310, 290], shm: [100, 100, 100], 'worker-sab': [10, 10, 10] }, ['worker-sab']);
    const claims = headlineRatios(r, true).map((h) => h.claim);
    expect(claims).toEqual([
      'shm uses 8.0x (7.0-9.0) less CPU per frame than ws',
      'shm uses 3.0x (2.9-3.1) less CPU per frame than tcp',
      'shm uses 2.0x (1.9-2.1) less CPU per frame than unix',
    ]);
    expect(headlineRatios(r).map((h) => h.claim)).toEqual([claims[0]]);
    const md = renderMarkdown(r);
    for (const c of claims) expect(md).toContain(`**${c}**`);
    expect(md).not.toMatch(/worker-sab[^|\n]*less CPU|less CPU[^|\n]*worker-sab/);
  });

  it('without shm the reference is the cheapest cross-process transport, never an in-process one', () => {
    const r = synthetic({ ws: [700, 800, 900], unix: [210, 200, 190], 'worker-sab': [10, 10, 10] }, ['worker-sab']);
    expect(headlineRatios(r).map((h) => h.claim)).toEqual(['unix uses 4.0x (3.3-4.7) less CPU per frame than ws']);
  });

  it('an interval that holds 1 reads as about the same; a dearer reference reads as more', () => {
    const same = synthetic({ ws: [100, 100, 100], shm: [90, 110, 100] });
    expect(headlineRatios(same)[0]!.claim).toMatch(/^shm and ws use about the same CPU per frame: ws\/shm 1\.00x \(0\.91-1\.11\)$/);
    const dearer = synthetic({ ws: [100, 100, 100], shm: [200, 300, 250] });
    expect(headlineRatios(dearer)[0]!.claim).toBe('shm uses 2.5x (2.0-3.0) more CPU per frame than ws');
  });

  it('says so when rounds were flagged noisy', () => {
    const r = synthetic({ ws: [120, 200, 300], shm: [15, 50, 30] });
    const ws = r.results[0]!;
    ws.noisyRounds = 1;
    ws.rounds![1]!.noise = { stealPct: 12, otherCpuPct: 3, noisy: true, reason: 'steal 12% > 5%' };
    expect(renderTerminal(r)).toContain('1 noisy round (ws 1; flagged, kept): steal 12% > 5%');
    expect(renderMarkdown(r)).toContain('1 noisy round (ws 1; flagged, kept)');
  });
});

describe('percentiles the sample count cannot support are not printed', () => {
  function withCount(count: number): RunResult {
    const run = load(RUN2);
    for (const c of run.results) {
      c.latencyUs = { p50: 1000, p90: 2000, p99: 3456, p999: 7890, max: 9999, mean: 1200, count };
    }
    return run;
  }

  it('p99 needs 100 samples, p99.9 1,000: `—` and the count below that', () => {
    const c = load(RUN2).results[0]!;
    const fmt = (x: number) => String(x);
    for (const [count, p99, p999] of [[45, '— (n=45)', '— (n=45)'], [99, '— (n=99)', '— (n=99)'], [100, '3456', '— (n=100)'],
      [150, '3456', '— (n=150)'], [999, '3456', '— (n=999)'], [1000, '3456', '7890']] as const) {
      c.latencyUs = { p50: 1000, p90: 2000, p99: 3456, p999: 7890, max: 9999, mean: 1200, count };
      expect([fmtPercentile(c, 'p99', fmt), fmtPercentile(c, 'p999', fmt)], `count ${count}`).toEqual([p99, p999]);
    }
  });

  it('terminal, Markdown and HTML show `— (n=45)` for p99 and p99.9 of 45 samples', () => {
    const run = withCount(45);
    const ws = termLine(renderTerminal(run), 'realtime', 'ws');
    expect(ws).toMatch(/ — \(n=45\) +— \(n=45\) +9,999 µs /);
    expect(ws).not.toContain('3,456');
    expect(renderTerminal(run)).toContain('too few latency samples for that percentile (p99 needs 100, p99.9 1,000)');
    expect(renderMarkdown(run)).toMatch(/\| — \(n=45\) \| — \(n=45\) \| 9,999 \|/);
    const html = renderHtml(run);
    expect(html).toContain('— (n=45)</td>');
    expect(html).not.toContain('>3,456<');
    expect(chartData(run).groups[0]!.cases[0]!.latency).toEqual({ p50: 1000, p90: 2000, p99: null, p999: null, max: 9999 });
  });

  it('150 samples print p99 as a number and gate p99.9; 1,000 print both', () => {
    const t150 = termLine(renderTerminal(withCount(150)), 'realtime', 'ws');
    expect(t150).toMatch(/ 3,456 µs +— \(n=150\) /);
    expect(renderMarkdown(withCount(150))).toMatch(/\| 3,456 \| — \(n=150\) \| 9,999 \|/);
    const t1000 = termLine(renderTerminal(withCount(1000)), 'realtime', 'ws');
    expect(t1000).toMatch(/ 3,456 µs +7,890 µs +9,999 µs /);
    expect(renderTerminal(withCount(1000))).not.toContain('too few latency samples');
  });
});

describe('in-process transports sit apart, unranked', () => {
  // worker-sab is the cheapest in both groups of the fixture, yet may not carry ▼ least
  const run = load(RUN2);

  it('terminal: no ▼/▲ on worker-sab, a label line above it, ▼ on shm', () => {
    const term = renderTerminal(run);
    for (const scenario of ['realtime', 'saturate']) {
      const table = term.split('\n\n').find((p) => p.startsWith(`${scenario} ·`))!.split('\n');
      const wsab = table.findIndex((l) => l.startsWith('worker-sab (in-process)'));
      expect(table[wsab]).not.toMatch(/[▼▲]/);
      expect(table[wsab - 1]).toBe('  in-process (threads of one process; CPU of its JS threads only): not ranked');
      expect(table.find((l) => l.startsWith('shm '))).toMatch(/^shm ▼/);
      expect(table.find((l) => l.startsWith('ws '))).toMatch(/^ws ▲/);
      // no paired ratio against the reference for an in-process transport
      expect(table[wsab]).toMatch(/ - +\d/);
    }
  });

  it('rows: no mark on an in-process case, even when it is the cheapest', () => {
    const rows = summaryRows(run);
    expect(rows.filter((r) => r.c.inProcess).map((r) => r.mark)).toEqual([null, null]);
    expect(rows.filter((r) => r.mark === 'fastest').map((r) => r.c.transport)).toEqual(['shm', 'shm']);
  });

  it('Markdown and HTML: in-process cases in a table of their own under the label', () => {
    const md = renderMarkdown(run, computeCost(run));
    const [main, rest] = md.split('_in-process (threads of one process; CPU of its JS threads only): not ranked_');
    expect(rest).toBeDefined();
    expect(main).not.toContain('worker-sab');
    expect(rest!.split('\n\n')[1]).toMatch(/^\| Transport .*\n.*\n\| worker-sab \(in-process\) \| realtime /);
    expect(md).not.toMatch(/worker-sab \(in-process\) \((fastest|slowest)\)/);
    const html = renderHtml(run, { cost: computeCost(run) });
    const [hMain, hRest] = html.split('<h3 id="in-process">');
    expect(hMain!.slice(hMain!.indexOf('<h2>Summary</h2>'))).not.toContain('worker-sab');
    expect(hRest!.slice(0, hRest!.indexOf('</table>'))).not.toMatch(/class="badge (fastest|slowest)"/);
    expect(chartData(run).groups[0]!.cases.map((c) => c.label)).toEqual(['ws', 'shm', 'worker-sab (in-process)']);
  });

  it('the cost headline names a cross-process transport and the cost table labels the in-process one', () => {
    const cost = computeCost(run);
    expect(cost.headline).not.toContain('worker-sab');
    const md = renderMarkdown(run, cost);
    expect(md).toMatch(/\| worker-sab \(in-process\) \| worker-sab\/realtime/);
    expect(md).toContain('In-process transports are priced from the CPU of their JS threads only');
  });
});
