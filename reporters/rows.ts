import type { CaseResult, RunResult } from '../core/result';
import { caseKey } from '../core/cost';
import { rankGroup, type Mark } from './ranking';

/**
 * The row model the Markdown and HTML reporters share: one row per (transport, scenario, format, size) in
 * report order, least/most CPU marked among the cross-process cases of each group, and the number formatters.
 */

export type { Mark } from './ranking';

export interface SummaryRow {
  key: string;
  c: CaseResult;
  /** Least / most CPU per frame among ok cross-process cases of the same scenario, format and size (needs >= 2). */
  mark: Mark;
  /** framePasses producer + consumer, or null without copy accounting. */
  passes: number | null;
}

const SCENARIO_ORDER = ['realtime', 'saturate', 'multi-producer', 'variable-size'];

/** `scenario/format/WxH`: the key of a group of comparable cases (the key results' `ratios` use). */
export function groupKey(c: Pick<CaseResult, 'scenario' | 'format' | 'width' | 'height'>): string {
  return `${c.scenario}/${c.format}/${c.width}x${c.height}`;
}

export function passesOf(c: CaseResult): number | null {
  return c.copies ? c.copies.framePasses.producer + c.copies.framePasses.consumer : null;
}

/** Cases in report order: scenario, format, size, then the run's transport order. */
export function sortCases(run: RunResult): CaseResult[] {
  const tOrder = (t: string) => {
    const i = run.settings.transports.indexOf(t);
    return i < 0 ? 1000 : i;
  };
  const sOrder = (s: string) => {
    const i = SCENARIO_ORDER.indexOf(s);
    return i < 0 ? 100 : i;
  };
  return [...run.results].sort(
    (a, b) => sOrder(a.scenario) - sOrder(b.scenario) || a.scenario.localeCompare(b.scenario) ||
      a.format.localeCompare(b.format) || a.width * a.height - b.width * b.height ||
      tOrder(a.transport) - tOrder(b.transport) || a.transport.localeCompare(b.transport),
  );
}

/** Cases grouped by groupKey, groups and cases in report order. */
export function caseGroups(run: RunResult): Map<string, CaseResult[]> {
  const groups = new Map<string, CaseResult[]>();
  for (const c of sortCases(run)) groups.set(groupKey(c), [...(groups.get(groupKey(c)) ?? []), c]);
  return groups;
}

/** Rows in report order with least/most CPU marks (in-process cases are never marked). */
export function summaryRows(run: RunResult): SummaryRow[] {
  const marks = new Map<CaseResult, Mark>();
  for (const g of caseGroups(run).values()) for (const [c, m] of rankGroup(g)) marks.set(c, m);
  return sortCases(run).map((c) => ({ key: caseKey(c), c, mark: marks.get(c) ?? null, passes: passesOf(c) }));
}

/** 1234.5 -> "1,235"; 12.34 -> "12.3"; 1.234 -> "1.23"; non-finite -> "—". */
export function fmtNum(v: number | null | undefined, digits?: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  const d = digits ?? (a >= 100 ? 0 : a >= 10 ? 1 : 2);
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

export function fmtBytes(b: number): string {
  if (b >= 1e12) return `${fmtNum(b / 1e12)} TB`;
  if (b >= 1e9) return `${fmtNum(b / 1e9)} GB`;
  if (b >= 1e6) return `${fmtNum(b / 1e6)} MB`;
  if (b >= 1e3) return `${fmtNum(b / 1e3)} kB`;
  return `${b} B`;
}

export function markLabel(m: Mark): string {
  return m === 'fastest' ? 'fastest' : m === 'slowest' ? 'slowest' : '';
}

/** Frame passes: integers plain, else up to 2 decimals (2, 2.5, 0.13). */
export function fmtPasses(v: number): string {
  return v.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** True when /proc/<pid>/io could see that side's kernel copies (false for sendmsg/recvmsg transports). */
export function kernelSeen(c: CaseResult, side: 'producer' | 'consumer'): boolean {
  return c.kernelBytesMeasured?.[side] !== false;
}

/** Kernel bytes per frame of one side (in the caller's byte format), or 'n/m' where the kernel's copies cannot be seen. */
export function kernelText(c: CaseResult, side: 'producer' | 'consumer', fmt: (b: number) => string = fmtBytes): string {
  return kernelSeen(c, side) ? fmt(c.kernelBytesPerFrame[side]) : 'n/m';
}

/** Passes of one side; '≥x' where the kernel's copies are not counted (user-space copies only: a lower bound). */
export function passesSideText(c: CaseResult, side: 'producer' | 'consumer', digits?: number): string {
  const p = c.copies ? c.copies.framePasses[side] : NaN;
  const text = digits === undefined ? fmtPasses(p) : p.toFixed(digits);
  return kernelSeen(c, side) ? text : `≥${text}`;
}

export const KERNEL_NOT_MEASURED_NOTE =
  'n/m: kernel copies not measured (this transport moves bytes with sendmsg/recvmsg/send/recv, which /proc/<pid>/io does not count); ≥: passes count user-space copies only';
