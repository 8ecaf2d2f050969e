import { basename } from 'node:path';
import { fbError, toFbError } from '../core/errors';
import type { CaseResult, RunResult } from '../core/result';
import { caseKey, computeCost } from '../core/cost';
import { fmtNum, fmtPasses } from '../reporters/markdown';
import { renderTable } from '../reporters/table';
import { parseOptions, renderHelp, type OptionDef } from './options';
import { loadRunResult } from '../core/validate';
import { caseChanges, changeText, COMPARE_SCHEMA, failsAbove } from '../core/compare';
import { processIo, type CliIo } from './report';
import { parseReportFormat } from '../reporters/registry';

const COMPARE_FORMATS = ['terminal', 'md'] as const;

/**
 * `bench compare`: per case (transport, scenario, format, size) the change in CPU per frame, copy-equivalents,
 * frame passes, latency p99 and throughput between two sides.
 * - Several files of one side are repeats: each figure is their median, its noise half the min–max spread;
 *   a change inside the combined noise is marked "≈".
 * - Sides: files before `--vs` against files after it; without `--vs`, files are grouped by host (repeats), and two
 *   files of one host are compared with each other.
 * - Different hosts: CPU, latency and throughput depend on the machine, so only copy-equivalents and passes
 *   are compared, and the output says so.
 */

export interface Stat { median: number; min: number; max: number; n: number }

export interface Figures { cpu: Stat; copyEq: Stat; passes: Stat | null; p99: Stat; gbps: Stat }

export interface Side { label: string; files: string[]; hosts: string[]; runs: RunResult[] }

export interface CompareRow {
  key: string;
  a: Figures | null;
  b: Figures | null;
  /** Non-ok statuses seen for this case, e.g. `B: FB_ERR_PEER_GONE`. */
  failures: string[];
}

export interface Comparison { a: Side; b: Side; sameHost: boolean; rows: CompareRow[] }

export function hostKey(run: RunResult): string {
  return `${run.host.hostname} (${run.host.cpuModel}, ${run.host.cores} cores)`;
}

export function stat(values: number[]): Stat {
  const v = [...values].sort((x, y) => x - y);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

function figures(cases: CaseResult[]): Figures | null {
  const ok = cases.filter((c) => c.status === 'ok');
  if (ok.length === 0) return null;
  const withCopies = ok.filter((c) => c.copies);
  return {
    cpu: stat(ok.map((c) => c.cpuUsPerFrame.total)),
    copyEq: stat(ok.map((c) => c.copyEquivalents)),
    passes: withCopies.length ? stat(withCopies.map((c) => c.copies!.framePasses.producer + c.copies!.framePasses.consumer)) : null,
    p99: stat(ok.map((c) => c.latencyUs.p99)),
    gbps: stat(ok.map((c) => c.gbps)),
  };
}

export function makeSide(label: string, files: string[], runs: RunResult[]): Side {
  return { label, files, runs, hosts: [...new Set(runs.map(hostKey))] };
}

export function compareSides(a: Side, b: Side): Comparison {
  const keys: string[] = [];
  const cases = (s: Side) => {
    const m = new Map<string, CaseResult[]>();
    for (const r of s.runs) for (const c of r.results) {
      const k = caseKey(c);
      if (!keys.includes(k)) keys.push(k);
      m.set(k, [...(m.get(k) ?? []), c]);
    }
    return m;
  };
  const ca = cases(a);
  const cb = cases(b);
  const rows = keys.map((key) => {
    const failures = [
      ...(ca.get(key) ?? []).filter((c) => c.status !== 'ok').map((c) => `${a.label}: ${c.status}`),
      ...(cb.get(key) ?? []).filter((c) => c.status !== 'ok').map((c) => `${b.label}: ${c.status}`),
    ];
    return { key, a: figures(ca.get(key) ?? []), b: figures(cb.get(key) ?? []), failures: [...new Set(failures)] };
  });
  const sameHost = a.hosts.length === 1 && b.hosts.length === 1 && a.hosts[0] === b.hosts[0];
  return { a, b, sameHost, rows };
}

/** Splits files into sides (see the module comment). `sides.length === 1` means repeats of one host only. */
export function planSides(before: string[], after: string[] | null, runs: Map<string, RunResult>): Side[] {
  if (after) return [makeSide('A', before, before.map((f) => runs.get(f)!)), makeSide('B', after, after.map((f) => runs.get(f)!))];
  const byHost = new Map<string, string[]>();
  for (const f of before) {
    const h = hostKey(runs.get(f)!);
    byHost.set(h, [...(byHost.get(h) ?? []), f]);
  }
  const groups = [...byHost.values()];
  if (groups.length === 1 && before.length === 2) groups.splice(0, 1, [before[0]!], [before[1]!]);
  const label = (i: number) => String.fromCharCode(65 + i);
  return groups.map((files, i) => makeSide(label(i), files, files.map((f) => runs.get(f)!)));
}

function noise(s: Stat): number {
  return (s.max - s.min) / 2;
}

function valueText(s: Stat | null, fmt: (v: number) => string, absolute = false): string {
  if (!s) return '—';
  if (s.n < 2) return fmt(s.median);
  if (absolute || s.median === 0) return `${fmt(s.median)} ±${fmtPasses(noise(s))}`;
  const rel = s.median !== 0 ? (noise(s) / Math.abs(s.median)) * 100 : 0;
  return `${fmt(s.median)} ±${rel < 10 ? rel.toFixed(1) : rel.toFixed(0)}%`;
}

/** Change from a to b: percent (or absolute for passes), "≈" when inside the sides' combined noise. */
export function deltaText(a: Stat | null, b: Stat | null, absolute = false): string {
  if (!a && !b) return '—';
  if (!a) return 'new';
  if (!b) return 'gone';
  const d = b.median - a.median;
  const within = (a.n > 1 || b.n > 1) && Math.abs(d) <= noise(a) + noise(b);
  let t: string;
  if (absolute || a.median === 0) t = `${d >= 0 ? '+' : ''}${fmtPasses(d)}`;
  else {
    const pct = (d / Math.abs(a.median)) * 100;
    t = `${pct >= 0 ? '+' : ''}${Math.abs(pct) < 10 ? pct.toFixed(1) : pct.toFixed(0)}%`;
  }
  return within ? `${t} ≈` : t;
}

type Col = { name: string; get: (f: Figures) => Stat | null; fmt: (v: number) => string; absolute?: boolean; hostBound: boolean };

const COLS: Col[] = [
  { name: 'CPU µs/frame', get: (f) => f.cpu, fmt: (v) => fmtNum(v), hostBound: true },
  { name: 'copy-eq', get: (f) => f.copyEq, fmt: (v) => fmtNum(v), hostBound: false },
  { name: 'passes', get: (f) => f.passes, fmt: fmtPasses, absolute: true, hostBound: false },
  { name: 'p99 µs', get: (f) => f.p99, fmt: (v) => fmtNum(v), hostBound: true },
  { name: 'GB/s', get: (f) => f.gbps, fmt: (v) => fmtNum(v, 3), hostBound: true },
];

export function comparisonTable(c: Comparison): { header: string[]; rows: string[][] } {
  const cols = COLS.filter((col) => c.sameHost || !col.hostBound);
  const header = ['case', ...cols.flatMap((col) => [`${col.name} ${c.a.label}`, c.b.label, 'Δ'])];
  const rows = c.rows.map((r) => [
    r.failures.length ? `${r.key} (${r.failures.join(', ')})` : r.key,
    ...cols.flatMap((col) => {
      const a = r.a ? col.get(r.a) : null;
      const b = r.b ? col.get(r.b) : null;
      const failed = (side: Side, f: Figures | null) => !f && r.failures.some((x) => x.startsWith(`${side.label}:`));
      const delta = failed(c.a, r.a) ? `${c.a.label} failed` : failed(c.b, r.b) ? `${c.b.label} failed` : deltaText(a, b, col.absolute);
      return [valueText(a, col.fmt, col.absolute), valueText(b, col.fmt, col.absolute), delta];
    }),
  ]);
  return { header, rows };
}

function sideLine(s: Side): string {
  const files = s.files.map((f) => basename(f)).join(', ');
  const reps = s.files.length > 1 ? `${s.files.length} runs (repeats: median, ± = half the min–max spread)` : '1 run';
  return `${s.label}: ${files} — ${s.hosts.join(' + ')} — ${reps}${s.hosts.length > 1 ? ' — WARNING: this side mixes hosts' : ''}`;
}

/** The methodology versions of a side's runs (results@1 files are version 1). */
export function methodologies(s: Side): number[] {
  return [...new Set(s.runs.map((r) => r.methodology ?? 1))].sort((x, y) => x - y);
}

/** A warning when the runs compared were measured by different methodology versions, else null. */
export function methodologyWarning(sides: Side[]): string | null {
  const all = [...new Set(sides.flatMap(methodologies))];
  if (all.length < 2) return null;
  const per = sides.map((s) => `${s.label}: ${methodologies(s).join(', ')}`).join('; ');
  return `WARNING: these results were measured by different methodology versions (${per}); figures can differ because the measurement changed, not the code (see core/result.ts METHODOLOGY_VERSION).`;
}

export function comparisonNotes(c: Comparison): string[] {
  const notes = [sideLine(c.a), sideLine(c.b)];
  const mixed = methodologyWarning([c.a, c.b]);
  if (mixed) notes.push(mixed);
  if (!c.sameHost) {
    notes.push(`Different hosts: compared in copy-equivalents and passes only (CPU µs, latency and throughput depend on the machine; copy-equivalents are CPU in units of each host's own memcpy).`);
  }
  if (c.a.files.length < 2 && c.b.files.length < 2) notes.push('Single run per side: no noise estimate (repeat runs to get one). ≈ = change within the noise.');
  else notes.push('≈ = change within the combined min–max spread of both sides.');
  return notes;
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function renderComparison(c: Comparison, format: 'md' | 'terminal'): string {
  const { header, rows } = comparisonTable(c);
  const notes = comparisonNotes(c);
  if (format === 'terminal') return [...notes, '', renderTable(header, rows), ''].join('\n');
  return [
    `## framebench compare: ${c.a.label} → ${c.b.label}`, '', ...notes.map((n) => `- ${mdCell(n)}`), '',
    `| ${header.map(mdCell).join(' | ')} |`, `|---|${header.slice(1).map(() => '---:').join('|')}|`,
    ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`), '',
  ].join('\n');
}

/** Only one side (repeats of one host): medians and spreads, no deltas. */
export function renderRepeats(s: Side, format: 'md' | 'terminal'): string {
  const c = compareSides(s, makeSide('-', [], []));
  const header = ['case', ...COLS.map((col) => col.name)];
  const rows = c.rows.map((r) => [r.key, ...COLS.map((col) => valueText(r.a ? col.get(r.a) : null, col.fmt, col.absolute))]);
  const hint = 'Only one host and no --vs: showing repeatability. To compare two sets: bench compare a1.json a2.json --vs b1.json b2.json';
  if (format === 'terminal') return [sideLine(s), hint, '', renderTable(header, rows), ''].join('\n');
  return [`## framebench repeats`, '', `- ${mdCell(sideLine(s))}`, `- ${hint}`, '', `| ${header.join(' | ')} |`,
    `|---|${header.slice(1).map(() => '---:').join('|')}|`, ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`), ''].join('\n');
}

/** The changes with intervals of one comparison, the ones that fail --fail-above, and its JSON. */
function withChanges(c: Comparison, failAbove: number | null): { c: Comparison; text: string; failed: string[]; json: unknown } {
  const rows = caseChanges(c.a.runs, c.b.runs, c.sameHost, caseKey);
  const cpu = c.sameHost ? 'cpuUsPerFrame.total' : 'copyEquivalents';
  const failed = failAbove === null ? [] : rows.filter((r) => r.metric === cpu && failsAbove(r.change, failAbove / 100)).map((r) => `${r.key} ${r.metric} ${changeText(r.change)} (limit +${failAbove}%)`);
  const metrics = [...new Set(rows.map((r) => r.metric))];
  const keys = [...new Set(rows.map((r) => r.key))];
  const table = renderTable(['case', ...metrics.map((m) => `Δ ${m}`)], keys.map((k) => [k, ...metrics.map((m) => changeText(rows.find((r) => r.key === k && r.metric === m)?.change ?? null))]));
  const paired = rows.some((r) => r.change?.paired);
  const costs = [c.a, c.b].map((side) => ({ side, cost: side.runs[0] ? computeCost(side.runs[0]) : null }));
  const costText = costs.map(({ side, cost }) => (cost ? `Fleet cost of ${side.label} (its recorded model): ${cost.headline}` : '')).filter(Boolean).join('\n');
  const [ma, mb] = costs.map(({ cost }) => cost && JSON.stringify(cost.model));
  const text = `Changes ${c.a.label} → ${c.b.label}, median [interval]: ${paired ? 'paired round by round where both runs have the same rounds' : 'unpaired'}; ~ = unpaired (the widest ratio of the two sides' median intervals).\n${table}\n${costText}\n${ma && mb && ma !== mb ? 'WARNING: the two sides were priced with different cost models (results.json costModel).\n' : ''}`;
  return { c, text, failed, json: { a: { label: c.a.label, files: c.a.files, hosts: c.a.hosts }, b: { label: c.b.label, files: c.b.files, hosts: c.b.hosts }, sameHost: c.sameHost, failAbovePct: failAbove, changes: rows, failed } };
}

const OPTIONS: OptionDef[] = [
  { name: 'format', type: 'string', arg: 'md|terminal', help: 'output format (default: terminal)' },
  { name: 'json', type: 'boolean', help: 'print the changes with their intervals as JSON on stdout (schema framebench/compare@1)' },
  { name: 'fail-above', type: 'number', arg: 'PCT', help: 'exit 1 when a CPU-per-frame change lies wholly above 0 with its median above PCT %' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

export const COMPARE_HELP = renderHelp(
  'Usage: bench compare <a.json> <b.json> [more.json ...] [--vs <c.json> ...] [--format md|terminal] [--json] [--fail-above PCT]',
  'Change in CPU per frame, copy-equivalents, passes, latency p99 and throughput per transport, scenario and format.\n' +
    'Files of the same host are repeats (median and spread). Files after --vs are compared against those before it.\n' +
    'Results from different hosts are compared in copy-equivalents and passes only.',
  OPTIONS,
);

export async function compareCommand(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    const vs = argv.indexOf('--vs');
    const { values, positionals: before } = parseOptions(vs >= 0 ? argv.slice(0, vs) : argv, OPTIONS, 'framebench compare');
    const after = vs >= 0 ? parseOptions(argv.slice(vs + 1), OPTIONS, 'framebench compare') : null;
    const opts = { ...values, ...(after?.values ?? {}) };
    if (opts.help) {
      io.out(COMPARE_HELP);
      return 0;
    }
    const format = parseReportFormat(typeof opts.format === 'string' ? opts.format : 'terminal', COMPARE_FORMATS) as (typeof COMPARE_FORMATS)[number];
    const afterFiles = after ? after.positionals : null;
    const all = [...before, ...(afterFiles ?? [])];
    if (afterFiles && (before.length === 0 || afterFiles.length === 0)) throw fbError('FB_ERR_USAGE', 'bench compare needs files on both sides of --vs');
    if (all.length < 2) throw fbError('FB_ERR_USAGE', `bench compare needs at least two results files, got ${all.length}\n${COMPARE_HELP}`);
    const runs = new Map(all.map((f) => [f, loadRunResult(f)] as const));
    const sides = planSides(before, afterFiles, runs);
    const mixed = methodologyWarning(sides);
    if (mixed) io.err(`${mixed}\n`);
    if (sides.length === 1) {
      io.out(renderRepeats(sides[0]!, format));
      return 0;
    }
    const failAbove = opts['fail-above'] === undefined ? null : Number(opts['fail-above']);
    if (failAbove !== null && !(failAbove >= 0)) throw fbError('FB_ERR_BAD_NUMBER', `--fail-above must be a percentage >= 0, got ${opts['fail-above']}`);
    const done = sides.slice(1).map((s) => withChanges(compareSides(sides[0]!, s), failAbove));
    if (opts.json) io.out(JSON.stringify({ schema: COMPARE_SCHEMA, methodologyWarning: mixed, comparisons: done.map((d) => d.json) }, null, 2) + '\n');
    else io.out(done.map((d) => `${renderComparison(d.c, format)}\n${d.text}`).join('\n'));
    for (const d of done) for (const f of d.failed) io.err(`REGRESSION: ${f}\n`);
    return done.some((d) => d.failed.length) ? 1 : 0;
  } catch (e) {
    const err = toFbError(e);
    io.err(err.toLine() + '\n');
    return err.code === 'FB_ERR_INTERNAL' ? 1 : 2;
  }
}
