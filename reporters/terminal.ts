import type { CaseResult, RatioFigure, RunResult } from '../core/result';
import { botTerminal } from './bot';
import { medianInterval } from '../core/robust-stats';
import { resolutionLabel } from '../core/spec';
import { fmtBytes, fmtNum, fmtUs } from './format';
import { fmtX, headlinePairs, headlineRatios } from './headline';
import { fmtSpread, hasIntervals, intervalOf, roundsFooter, withSpread } from './intervals';
import { fmtPercentile, PERCENTILE_NOTE, percentileSupported } from './percentiles';
import { crossProcessFirst, IN_PROCESS_LABEL, rankGroup } from './ranking';
import { KERNEL_NOT_MEASURED_NOTE, kernelSeen, kernelText, passesSideText } from './rows';
import { renderTable, wrapLine } from './table';
import { renderSweepTerminal } from './sweep';

/**
 * The run as terminal tables: one per scenario and format, one row per transport, the headline ratios on top.
 * Figures measured over rounds carry their spread (`12,863 ±6%`) on CPU total, copy-eq, fps and p50; a
 * `vs shm` column gives each transport's paired CPU ratio to the group's reference. In-process transports sit
 * apart under a label, unranked.
 * With `width` (the CLI passes 120 unless --wide) every line fits it: the tables keep the decisive columns
 * (CPU total, vs, copy-eq, passes, fps, p50, p99, drops, status) and notes wrap. Without it (renderRun's
 * 'terminal', --wide) every column is shown (producer/consumer CPU, kernel bytes, GB/s, p99.9, max), as in the
 * md and html reports.
 */

export interface TerminalOptions {
  /** Fit this many columns (e.g. TERMINAL_COLUMNS); absent: every column, lines as long as they need. */
  width?: number;
}

/** Columns the default (120-column) table keeps, by header. */
const NARROW = new Set(['transport', 'CPU µs/f', 'vs', 'copy-eq', 'passes P/C', 'fps', 'p50', 'p99', 'drops', 'status']);

/** A user's transport module is named by its path: the table shows its file name. */
function displayName(t: string): string {
  return t.includes('/') ? t.slice(t.lastIndexOf('/') + 1).replace(/\.(c?js|ts|cts)$/, '') : t;
}

function groupTitle(r: CaseResult): string {
  const res = r.width ? resolutionLabel(r.width, r.height) : 'mixed sizes';
  return `${r.scenario} · ${r.format.toUpperCase()} ${res} · ${fmtBytes(r.frameBytes)}/frame${r.producers > 1 ? ` · ${r.producers} producers` : ''}`;
}

function passes(r: CaseResult): string {
  if (!r.copies) return '-';
  return `${passesSideText(r, 'producer', 2)}/${passesSideText(r, 'consumer', 2)}`;
}

/** `3.1x ±17%` against the reference; `1x` for the reference itself; `-` where there is no paired ratio. */
function ratioCell(run: RunResult, r: CaseResult, reference: string | null): string {
  if (!reference || r.inProcess || r.status !== 'ok') return '-';
  if (r.transport === reference) return '1x';
  const key = `${r.scenario}/${r.format}/${r.width}x${r.height}`;
  const f: RatioFigure | undefined = run.ratios?.find((x) => x.group === key && x.a === r.transport && x.b === reference && x.n > 0);
  return f ? withSpread(`${fmtX(f.median)}x`, f) : '-';
}

function row(run: RunResult, r: CaseResult, mark: string, reference: string | null): string[] {
  const name = displayName(r.transport) + (r.inProcess ? ' (in-process)' : '') + mark;
  const ratioCol = run.ratios ? [ratioCell(run, r, reference)] : [];
  if (r.status !== 'ok' && r.framesReceived === 0) {
    return [name, '-', '-', '-', ...ratioCol.map(() => '-'), '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', `${r.status}`];
  }
  return [
    name,
    fmtNum(r.cpuUsPerFrame.producer),
    fmtNum(r.cpuUsPerFrame.consumer),
    withSpread(fmtNum(r.cpuUsPerFrame.total), intervalOf(r, 'cpuUsPerFrame.total')),
    ...ratioCol,
    withSpread(r.copyEquivalents.toFixed(2), intervalOf(r, 'copyEquivalents')),
    passes(r),
    `${kernelText(r, 'producer', fmtBytes)}/${kernelText(r, 'consumer', fmtBytes)}`,
    withSpread(fmtNum(r.fps, 1), intervalOf(r, 'fps')),
    r.gbps.toFixed(2),
    percentileSupported(r, 'p50') ? withSpread(fmtUs(r.latencyUs.p50), intervalOf(r, 'latencyUs.p50')) : fmtPercentile(r, 'p50', fmtUs),
    fmtPercentile(r, 'p99', fmtUs),
    fmtPercentile(r, 'p999', fmtUs),
    fmtUs(r.latencyUs.max),
    fmtNum(r.framesDropped),
    r.status,
  ];
}

function group(run: RunResult, cases: CaseResult[], width: number | undefined): string {
  const wide = width === undefined;
  const rows = crossProcessFirst(cases, (c) => c);
  const marks = rankGroup(rows);
  const reference = run.ratios ? headlinePairs(rows)?.reference ?? null : null;
  const header = ['transport', 'CPU µs/f prod', 'cons', 'total', ...(run.ratios ? [`vs ${reference ?? '-'}`] : []), 'copy-eq', 'passes P/C',
    'kernel B/f P/C', 'fps', 'GB/s', 'p50', 'p99', 'p99.9', 'max', 'drops', 'status'];
  let body = rows.map((r) => {
    const m = marks.get(r);
    return row(run, r, m === 'fastest' ? ' ▼' : m === 'slowest' ? ' ▲' : '', reference);
  });
  let head = header;
  if (!wide) {
    // the narrow table: 'total' is headed 'CPU µs/f', the ratio column 'vs <ref>'
    const keep = header.map((h, i) => NARROW.has(h === 'total' ? 'CPU µs/f' : h.startsWith('vs ') ? 'vs' : h) && i !== 1);
    head = header.filter((_, i) => keep[i]).map((h) => (h === 'total' ? 'CPU µs/f' : h));
    body = body.map((cells) => cells.filter((_, i) => keep[i]));
  }
  const lines = renderTable(head, body).split('\n');
  const crossCount = rows.filter((r) => !r.inProcess).length;
  if (crossCount < rows.length) lines.splice(2 + crossCount, 0, `  ${IN_PROCESS_LABEL}`);

  const frames = rows.reduce((a, r) => a + r.framesReceived, 0);
  const samples = rows.reduce((a, r) => a + r.latencyUs.count, 0);
  const servers = rows.filter((r) => r.cpuUsPerFrame.server !== undefined).map((r) => `; ${r.transport}: its server's CPU ${fmtNum(r.cpuUsPerFrame.server ?? 0)} µs/f (counted in total)` +
    `${r.copies?.server ? `, its own copies ${r.copies.server.framePasses.toFixed(2)} passes/f` : ''}`);
  const footer = [`  ${rows.length} transport(s), ${fmtNum(frames)} frames received, ${fmtNum(samples)} latency samples; ▼ least CPU/frame, ▲ most` +
    `${crossCount < rows.length ? ' (cross-process only)' : ''}${wide ? servers.join('') : ''}`];
  // narrow: each server note on its own line, so wrapping never splits a transport's name from its note
  if (!wide) footer.push(...servers.map((x) => `  ${x.slice(2)}`));
  const rounds = roundsFooter(rows, '±');
  if (rounds) footer.push(`  ${rounds}${reference ? `; vs ${reference}: median of the per-round CPU ratios (paired)` : ''}`);
  const gated = rows.some((r) => r.status === 'ok' && (!percentileSupported(r, 'p99') || !percentileSupported(r, 'p999')));
  if (gated) footer.push(`  ${PERCENTILE_NOTE}`);
  if (rows.some((r) => !kernelSeen(r, 'producer') || !kernelSeen(r, 'consumer'))) footer.push(`  ${KERNEL_NOT_MEASURED_NOTE}`);
  const notes = wide ? footer : footer.map((l) => wrapLine(l, width, 4));
  return `${groupTitle(rows[0]!)}\n${lines.join('\n')}\n${notes.join('\n')}`;
}

/** The run as terminal text: headline ratios, one table per scenario and format, calibration, skipped and failed cases. */
export function renderTerminal(run: RunResult, opts: TerminalOptions = {}): string {
  const width = opts.width;
  const groups = new Map<string, CaseResult[]>();
  for (const r of run.results) {
    const k = `${r.scenario}|${r.format}|${r.width}x${r.height}|${r.producers}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const parts: string[] = [];
  const headline = headlineRatios(run);
  if (headline.length) parts.push(headline.map((h) => `${h.label}: ${h.sentence}`).join('\n'));
  parts.push(...[...groups.values()].map((g) => group(run, g, width)));
  parts.push(...[renderSweepTerminal(run)].filter(Boolean));
  const bot = botTerminal(run);
  if (bot) parts.push(bot);
  const cal = run.calibration;
  const calSpread = calibrationSpread(run);
  parts.push(
    `calibration: one cache-cold memcpy of a ${fmtBytes(Number(Object.keys(cal.memcpyUsByFrameBytes)[0] ?? 0))} frame = ${fmtUs(cal.memcpyUsPerFrame)}${calSpread} (${cal.memcpyGBps} GB/s); copy-eq = total CPU per frame / that` +
      (cal.wakeupCpuUs !== undefined ? `\nwaking a sleeping Node process costs ${fmtUs(cal.wakeupCpuUs)} of CPU here${calibrationSpread(run, 'wakeupCpuUs')} (a paced stream pays a few per frame)` : ''),
  );
  if (!hasIntervals(run) && run.results.length) {
    parts.push('one window per case: no figure has an interval (bench run --rounds 5 measures every case in 5 interleaved rounds)');
  }
  for (const s of run.skipped ?? []) parts.push(`skipped ${s.transport}: ${s.reason}`);
  const errors = run.results.filter((r) => r.status !== 'ok');
  for (const r of errors) parts.push(`${r.transport} ${r.scenario} ${r.format}: ${r.status}${r.error ? ` — ${r.error}` : ''}`);
  if (!run.complete) parts.push('INCOMPLETE: the run was interrupted; the cases above are the ones measured.');
  const text = parts.join('\n\n');
  if (width === undefined) return text + '\n';
  return text.split('\n').map((l) => wrapLine(l, width, 4)).join('\n') + '\n';
}

/** ` ±4%` over the rounds' own calibrations (the median is run.calibration), '' with fewer than 2. */
function calibrationSpread(run: RunResult, field: 'memcpyUsPerFrame' | 'wakeupCpuUs' = 'memcpyUsPerFrame'): string {
  const xs = (run.calibrationRounds ?? []).map((c) => c[field]).filter((x): x is number => Number.isFinite(x));
  if (xs.length < 2) return '';
  const s = fmtSpread(medianInterval(xs));
  return s ? ` ${s} over ${xs.length} rounds` : '';
}
