import type { RunResult } from '../core/result';
import { seriesLabel, seriesId, type SizeLaw, type SweepPoint, type SweepSummary } from '../core/sweep';
import { fmtBytes, fmtNum } from './format';
import { renderTable } from './table';

/**
 * A sweep's fitted cost laws, crossing points, fps laws and producer curves as tables (rows of strings) that
 * the terminal, Markdown and HTML reporters lay out their own way (docs/sweeps.md). Nothing here when the run
 * swept nothing.
 */

export interface SweepTable {
  title: string;
  header: string[];
  rows: string[][];
  note: string;
}

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

function fmtIv(v: number, iv: [number, number] | (number | null)[], digits = 0): string {
  const [lo, hi] = iv;
  return finite(lo) && finite(hi) ? `${fmtNum(v, digits)} (${fmtNum(lo, digits)} to ${fmtNum(hi, digits)})` : fmtNum(v, digits);
}

function digitsFor(v: number): number {
  const a = Math.abs(v);
  return a >= 100 ? 0 : a >= 10 ? 1 : 2;
}

/** The sweep of a run, if it has one with anything in it. */
export function sweepOf(run: RunResult): SweepSummary | null {
  const s = run.sweep;
  if (!s || (s.sizeLaws.length === 0 && s.fpsLaws.length === 0 && producerCurves(s).length === 0)) return null;
  return s;
}

function lawRow(l: SizeLaw): string[] {
  const spread = finite(l.perByteSpread) ? `±${Math.round(l.perByteSpread * 100)}%` : '—';
  const linear = l.fit.linear ? 'yes' : `NO (${l.fit.residuals.filter((r) => !r.within).map((r) => fmtBytes(r.x)).join(', ')} off)`;
  return [
    l.transport, seriesLabel(l), l.side,
    fmtIv(l.fit.fixed, l.fit.fixedIv, digitsFor(l.fit.fixed)),
    fmtIv(l.perMiBUs, l.perMiBIv, digitsFor(l.perMiBUs)), spread,
    fmtIv(l.perByteCopyEq, l.perByteCopyEqIv, 2),
    finite(l.fixedCopyEqMiB) ? `${fmtBytes(l.fixedCopyEqMiB * 1024 * 1024)}` : '—',
    linear, `${l.fit.points} × ${l.fit.rounds}`,
  ];
}

/** Fitted CPU per frame = fixed + per byte × frame bytes, one row per transport, series and side. */
export function lawTable(s: SweepSummary, sides: readonly string[] = ['total', 'producer', 'consumer']): SweepTable {
  const laws = s.sizeLaws.filter((l) => sides.includes(l.side));
  return {
    title: 'Cost law per transport: CPU per frame = fixed + per byte × frame bytes',
    header: ['Transport', 'Series', 'Side', 'Fixed µs (95%)', 'Per MiB µs (95%)', 'Per byte ±', 'Per byte, copy-eq (95%)', 'Fixed = memcpy of', 'Linear', 'Sizes × rounds'],
    rows: laws.map(lawRow),
    note: `Copy-eq per byte = per-MiB term / one calibrated cache-cold memcpy of a MiB (${fmtNum(s.memcpyUsPerMiB, 0)} µs): 1 means the transport costs one memcpy of the bytes it moves. ` +
      `"Fixed = memcpy of" is how many bytes a memcpy moves in the fixed term's time. Linear: the line passes through every size's interval over rounds (else those sizes are named). ` +
      `Fit: ${s.method}.`,
  };
}

export function crossingLines(s: SweepSummary): string[] {
  return s.crossings.map((c) => `${seriesLabel(c)}: ${c.sentence}`);
}

/** CPU per second = idle + per frame × fps. */
export function fpsTable(s: SweepSummary): SweepTable {
  return {
    title: 'Idle cost apart from cost per frame: CPU per second = idle + per frame × fps',
    header: ['Transport', 'Series', 'Idle µs/s (95%)', 'Idle, % of a core', 'Per frame µs (95%)', 'Linear', 'Rates × rounds'],
    rows: s.fpsLaws.map((l) => [l.transport, seriesLabel(l), fmtIv(l.idleUsPerSecond, l.idleIv), `${fmtNum(l.idleUsPerSecond / 1e4, 2)}%`,
      fmtIv(l.perFrameUs, l.perFrameIv, digitsFor(l.perFrameUs)), l.fit.linear ? 'yes' : 'NO', `${l.fit.points} × ${l.fit.rounds}`]),
    note: 'Total CPU per second (producer + consumer) against the asked frame rate; idle = what the transport costs a second with no frames (the line at 0 fps).',
  };
}

export interface ProducerCurve {
  transport: string;
  label: string;
  points: SweepPoint[];
}

/** Points that differ only in producers (≥ 2 counts), one curve per transport and series. */
export function producerCurves(s: SweepSummary): ProducerCurve[] {
  const m = new Map<string, SweepPoint[]>();
  for (const p of s.points) {
    if (p.status !== 'ok' && !Number.isFinite(p.fps.median)) continue;
    const k = `${p.transport}|${seriesId({ scenario: p.scenario, format: p.format, producers: 0, targetFps: p.targetFps, fragmentBytes: p.fragmentBytes, frameBytes: p.frameBytes })}`;
    m.set(k, [...(m.get(k) ?? []), p]);
  }
  return [...m.values()].filter((ps) => new Set(ps.map((p) => p.producers)).size >= 2).map((ps) => ({
    transport: ps[0].transport,
    label: `${ps[0].scenario}/${ps[0].format}, ${fmtBytes(ps[0].frameBytes)}/frame${ps[0].targetFps !== undefined ? `, ${ps[0].targetFps} fps` : ''}`,
    points: [...ps].sort((a, b) => a.producers - b.producers),
  }));
}

export function producerTable(s: SweepSummary): SweepTable {
  const band = (b: { median: number; lo: number; hi: number }, d = 0): string => fmtIv(b.median, [b.lo, b.hi], d);
  return {
    title: 'Throughput and consumer CPU per frame against producers',
    header: ['Transport', 'Series', 'Producers', 'Frames/s (95%)', 'Consumer CPU µs/frame (95%)', 'Total CPU µs/frame (95%)'],
    rows: producerCurves(s).flatMap((c) => c.points.map((p) => [c.transport, c.label, String(p.producers), band(p.fps, 1),
      band(p.cpuUsPerFrame.consumer, digitsFor(p.cpuUsPerFrame.consumer.median)), band(p.cpuUsPerFrame.total, digitsFor(p.cpuUsPerFrame.total.median))])),
    note: 'Frames/s: all producers into the one consumer. Intervals over rounds.',
  };
}

/** The tables with rows, in report order. */
export function sweepTables(s: SweepSummary, sides?: readonly string[]): SweepTable[] {
  return [lawTable(s, sides), fpsTable(s), producerTable(s)].filter((t) => t.rows.length > 0);
}

/** The sweep for the terminal: total-CPU laws, crossings, fps laws, producer curves. */
export function renderSweepTerminal(run: RunResult): string {
  const s = sweepOf(run);
  if (!s) return '';
  const parts: string[] = [];
  for (const t of sweepTables(s, ['total'])) parts.push(`${t.title}\n${renderTable(t.header, t.rows, 3)}\n  ${t.note}`);
  const cross = crossingLines(s);
  if (cross.length) parts.push(`Where the lines cross (total CPU per frame)\n${cross.map((l) => `  ${l}`).join('\n')}`);
  return parts.join('\n\n');
}

function mdCell(v: string): string {
  return v.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** The sweep for Markdown: every table, then the crossings as a list. */
export function renderSweepMarkdown(run: RunResult): string[] {
  const s = sweepOf(run);
  if (!s) return [];
  const out: string[] = ['', '### Sweep', ''];
  for (const t of sweepTables(s)) {
    out.push(`**${t.title}**`, '', `| ${t.header.map(mdCell).join(' | ')} |`, `|${t.header.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`,
      ...t.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`), '', t.note, '');
  }
  const cross = crossingLines(s);
  if (cross.length) out.push('**Where the lines cross** (total CPU per frame)', '', ...cross.map((l) => `- ${mdCell(l)}`), '');
  return out;
}
