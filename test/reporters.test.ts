import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reportCommand, type CliIo } from '../cli/report';
import { flameFileName } from '../profile/flame';
import type { RunResult } from '../core/result';
import { computeCost } from '../core/cost';
import { renderMarkdown, summaryRows } from '../reporters/markdown';
import { runCli } from './support/cli';

const load = (f: string): RunResult => JSON.parse(readFileSync(join(__dirname, 'fixtures-results', f), 'utf8'));

function tableRows(md: string): string[][] {
  return md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Transport')).map((l) =>
    l.slice(2, -2).split(/(?<!\\) \| /));
}

describe('markdown summary', () => {
  const run = load('sample-run.json');
  const md = renderMarkdown(run, computeCost(run));
  const caseRows = tableRows(md.split('### Fleet cost')[0]!);

  it('has one row per (transport, scenario, format) with every column', () => {
    expect(caseRows).toHaveLength(run.results.length);
    for (const r of caseRows) expect(r).toHaveLength(16);
    const ws = caseRows.find((r) => r[0]!.startsWith('ws (') && r[1] === 'realtime' && r[2]!.startsWith('i420'))!;
    // CPU prod/cons/total, copy-eq, passes, p50, p99, p99.9 (300 samples cannot support it), max, fps, GB/s, drops, status
    expect(ws.slice(3)).toEqual(['1,407', '1,907', '3,313', '13.3', '2 + 3 = 5', '2,394', '5,267', '— (n=300)', '15,561', '30.0', '0.093', '0', 'ok']);
  });

  it('marks the least and most CPU per frame in each scenario+format group', () => {
    const marked = caseRows.filter((r) => /\((fastest|slowest)\)/.test(r[0]!)).map((r) => `${r[0]} ${r[1]} ${r[2]!.split(' ')[0]}`);
    expect(marked).toEqual([
      'ws (slowest) realtime i420', '**shm (fastest)** realtime i420',
      'ws (slowest) realtime rgba', '**shm (fastest)** realtime rgba',
      'ws (slowest) saturate i420', '**shm (fastest)** saturate i420',
    ]);
    const rows = summaryRows(run);
    expect(rows.filter((r) => r.c.status !== 'ok').every((r) => r.mark === null)).toBe(true);
  });

  it('shows failed cases with their code, no latency, and the error under the table', () => {
    const tcp = caseRows.find((r) => r[0] === 'tcp' && r[1] === 'saturate')!;
    expect(tcp[15]).toBe('**FB_ERR_PEER_GONE**');
    expect(tcp.slice(8, 12)).toEqual(['—', '—', '—', '—']);
    expect(md).toContain('- `tcp/saturate/i420/1920x1080`: FB_ERR_PEER_GONE — consumer process exited');
  });

  it('has a footer with sample counts and the cost headline and table', () => {
    expect(md).toMatch(/Samples: 14 cases, [\d,]+ frames measured; latency samples per ok case 299–25,000/);
    expect(md).toContain('**At 1 TB/s of 1920x1080@30 i420 (10,717 streams) ws costs 1,065 vCPUs');
    const cost = tableRows(md.split('### Fleet cost')[1]!);
    expect(cost.map((r) => r[0])).toEqual(['ws', 'ws-nomask', 'unix', 'tcp', 'shm', 'shm-copy']);
    expect(cost.find((r) => r[0] === 'shm')![9]).toBe('no copies');
  });

  it('escapes pipes and newlines from result strings', () => {
    const r = load('sample-run.json');
    r.results[0]!.transport = 'a|b';
    r.results.find((c) => c.status !== 'ok')!.error = 'line1\nline2 | x';
    const out = renderMarkdown(r);
    expect(out).toContain('a\\|b');
    expect(out).toContain('line1 line2 \\| x');
    expect(out).not.toContain('Fleet cost');
  });

  it('lists transports that could not run here', () => {
    const r = load('sample-run.json');
    r.skipped = [{ transport: 'shm', reason: 'native addon not built' }];
    expect(renderMarkdown(r)).toContain('- not run here: shm: native addon not built');
  });

  it('says so when a run has no results', () => {
    const r = load('sample-run.json');
    r.results = [];
    expect(renderMarkdown(r)).toContain('_No results in this run._');
  });
});

describe('bench report', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'fb-report-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const SAMPLE = join(__dirname, 'fixtures-results', 'sample-run.json');

  async function report(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const io: CliIo = { out: (x) => (out += x), err: (x) => (err += x) };
    return { code: await reportCommand(argv, io), out, err };
  }

  it('re-renders a saved run in each format', async () => {
    const md = await report([SAMPLE, '--format', 'md']);
    expect(md.code).toBe(0);
    expect(md.out).toBe(renderMarkdown(load('sample-run.json'), computeCost(load('sample-run.json'))));
    const json = await report([SAMPLE, '--format', 'json']);
    expect(JSON.parse(json.out)).toEqual(load('sample-run.json'));
    const term = await report([SAMPLE]);
    expect(term.code).toBe(0);
    expect(term.out).toContain('shm');
  });

  it('takes the format from --out and links flame graphs found beside the run', async () => {
    const runDir = join(tmp, 'run1');
    mkdirSync(join(runDir, 'flame'), { recursive: true });
    writeFileSync(join(runDir, 'results.json'), readFileSync(SAMPLE));
    writeFileSync(join(runDir, 'flame', flameFileName('shm/realtime/i420/1920x1080', 'consumer')), '<html></html>');
    const out = join(tmp, 'out', 'report.html');
    const r = await report([runDir, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('wrote html report');
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<a href="../run1/flame/shm_realtime_i420_1920x1080.consumer.html">shm/realtime/i420/1920x1080 consumer</a>');
  });

  it('bad input: stable codes, exit 2, nothing on stdout', async () => {
    const notJson = join(tmp, 'bad.json');
    writeFileSync(notJson, '{"schema": "framebench/run@1", ');
    const badCase = join(tmp, 'bad-case.json');
    const r = load('sample-run.json') as unknown as { results: Record<string, unknown>[] };
    delete r.results[3]!.cpuUsPerFrame;
    writeFileSync(badCase, JSON.stringify(r));
    for (const [argv, code, msg] of [
      [[join(tmp, 'missing.json')], 'FB_ERR_BAD_RESULT_FILE', 'ENOENT'],
      [[notJson], 'FB_ERR_BAD_RESULT_FILE', 'is not JSON'],
      [[join(__dirname, 'fixtures-results', 'not-a-result.json')], 'FB_ERR_BAD_RESULT_FILE', 'expected one of framebench/run@1, framebench/run@2'],
      [[badCase], 'FB_ERR_BAD_RESULT_FILE', 'results[3].cpuUsPerFrame is missing'],
      [[SAMPLE, '--format', 'pdf'], 'FB_ERR_USAGE', 'pdf'],
      [[], 'FB_ERR_USAGE', 'one results file'],
      [[SAMPLE, '--out', join(notJson, 'x.md')], 'FB_ERR_OUT_UNWRITABLE', 'cannot write'],
    ] as const) {
      const res = await report([...argv]);
      expect(res.code, argv.join(' ')).toBe(2);
      expect(res.err).toMatch(new RegExp(`^${code}: .*${msg.replace(/[[\].]/g, '\\$&')}`));
      expect(res.out).toBe('');
    }
  });

  it('the real binary: md to stdout, a bad file exits 2 with its code on one line', async () => {
    const ok = await runCli(['report', SAMPLE, '--format', 'md'], { timeoutMs: 30_000 });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^## framebench — 1080p @ 30 fps/);
    expect(ok.stdout).toContain('| Transport | Scenario | Format |');
    const bad = await runCli(['report', join(__dirname, 'fixtures-results', 'not-a-result.json')], { timeoutMs: 30_000 });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^FB_ERR_BAD_RESULT_FILE: /);
    expect(bad.stdout).toBe('');
  }, 60_000);
});
