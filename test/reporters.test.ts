import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../harness/result';
import { computeCost } from '../reporters/cost';
import { renderMarkdown, summaryRows } from '../reporters/markdown';

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
    // CPU prod/cons/total, copy-eq, passes, p50, p99, p99.9, max, fps, GB/s, drops, status
    expect(ws.slice(3)).toEqual(['1,407', '1,907', '3,313', '13.3', '2 + 3 = 5', '2,394', '5,267', '9,816', '15,561', '30.0', '0.093', '0', 'ok']);
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

  it('says so when a run has no results', () => {
    const r = load('sample-run.json');
    r.results = [];
    expect(renderMarkdown(r)).toContain('_No results in this run._');
  });
});
