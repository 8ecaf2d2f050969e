import type { CaseResult, RunResult } from '../core/result';
import { caseKey, fmtUsd, type CostSummary } from '../core/cost';

/**
 * Markdown summary of a run, fit for a CI job summary or a PR comment: one row per (transport, scenario, format),
 * fastest/slowest marked within each scenario+format group, a footer with sample counts, the cost headline.
 * The row model (`summaryRows`) and number formatters are shared with the HTML reporter.
 */

export type Mark = 'fastest' | 'slowest' | null;

export interface SummaryRow {
  key: string;
  c: CaseResult;
  /** Least / most CPU per frame among ok cases of the same scenario, format and size (needs >= 2 ok cases). */
  mark: Mark;
  /** framePasses producer + consumer, or null without copy accounting. */
  passes: number | null;
}

const SCENARIO_ORDER = ['realtime', 'saturate', 'multi-producer', 'variable-size'];

function groupKey(c: CaseResult): string {
  return `${c.scenario}/${c.format}/${c.width}x${c.height}`;
}

export function passesOf(c: CaseResult): number | null {
  return c.copies ? c.copies.framePasses.producer + c.copies.framePasses.consumer : null;
}

/** Rows in report order (scenario, format, then the run's transport order) with fastest/slowest marks. */
export function summaryRows(run: RunResult): SummaryRow[] {
  const tOrder = (t: string) => {
    const i = run.settings.transports.indexOf(t);
    return i < 0 ? 1000 : i;
  };
  const sOrder = (s: string) => {
    const i = SCENARIO_ORDER.indexOf(s);
    return i < 0 ? 100 : i;
  };
  const sorted = [...run.results].sort(
    (a, b) => sOrder(a.scenario) - sOrder(b.scenario) || a.scenario.localeCompare(b.scenario) ||
      a.format.localeCompare(b.format) || a.width * a.height - b.width * b.height ||
      tOrder(a.transport) - tOrder(b.transport) || a.transport.localeCompare(b.transport),
  );
  const marks = new Map<CaseResult, Mark>();
  const groups = new Map<string, CaseResult[]>();
  for (const c of sorted) {
    if (c.status !== 'ok') continue;
    const g = groups.get(groupKey(c)) ?? [];
    g.push(c);
    groups.set(groupKey(c), g);
  }
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    const byCpu = [...g].sort((a, b) => a.cpuUsPerFrame.total - b.cpuUsPerFrame.total);
    marks.set(byCpu[0]!, 'fastest');
    marks.set(byCpu[byCpu.length - 1]!, 'slowest');
  }
  return sorted.map((c) => ({ key: caseKey(c), c, mark: marks.get(c) ?? null, passes: passesOf(c) }));
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

function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

function row(cells: string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function passesText(c: CaseResult): string {
  if (!c.copies) return '—';
  const p = c.copies.framePasses;
  return `${fmtPasses(p.producer)} + ${fmtPasses(p.consumer)} = ${fmtPasses(p.producer + p.consumer)}`;
}

function statusText(c: CaseResult): string {
  return c.status === 'ok' ? 'ok' : `**${c.status}**`;
}

function caseTable(rows: SummaryRow[]): string[] {
  const header = ['Transport', 'Scenario', 'Format', 'CPU µs/frame prod', 'cons', 'total', 'Copy-eq', 'Passes/frame (prod + cons)',
    'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'fps', 'GB/s', 'Drops', 'Status'];
  const right = new Set([3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14]);
  const lines = [row(header), `|${header.map((_, i) => (right.has(i) ? '---:' : '---')).join('|')}|`];
  for (const { c, mark } of rows) {
    const ok = c.status === 'ok';
    const name = (c.inProcess ? `${c.transport} (in-process)` : c.transport) + (mark ? ` (${markLabel(mark)})` : '');
    lines.push(row([
      mark === 'fastest' ? `**${name}**` : name,
      c.scenario,
      `${c.format} ${c.width}x${c.height}`,
      fmtNum(c.cpuUsPerFrame.producer), fmtNum(c.cpuUsPerFrame.consumer), fmtNum(c.cpuUsPerFrame.total),
      fmtNum(c.copyEquivalents), passesText(c),
      ok ? fmtNum(c.latencyUs.p50) : '—', ok ? fmtNum(c.latencyUs.p99) : '—', ok ? fmtNum(c.latencyUs.p999) : '—', ok ? fmtNum(c.latencyUs.max) : '—',
      fmtNum(c.fps), fmtNum(c.gbps, 3), String(c.framesDropped), statusText(c),
    ]));
  }
  return lines;
}

function costSection(cost: CostSummary): string[] {
  const out = ['', '### Fleet cost', ''];
  if (cost.transports.length === 0) return [...out, cost.headline];
  out.push(row(['Transport', 'From case', 'CPU µs/frame', 'vCPU/stream', 'Fleet vCPUs', '$/year', `Saves vs ${cost.baseline}`,
    'Passes/frame', 'Mem traffic/stream', 'Streams/host (mem)', 'Streams/host (CPU)']));
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const t of cost.transports) {
    const saves = t.savingsUsdPerYear === null ? '—' : `${fmtUsd(t.savingsUsdPerYear)} (${fmtNum(t.savingsPct, 0)}%)`;
    const passes = `${fmtPasses(t.memory.passesPerFrame)}${t.memory.passesFrom === 'copyEquivalents' ? ' (est.)' : ''}`;
    out.push(row([
      t.transport, `${t.source.caseKey}${t.source.scaled ? ' (scaled)' : ''}`, fmtNum(t.cpuUsPerFrame), fmtNum(t.coresPerStream, 4),
      fmtNum(t.totalCores, 0), fmtUsd(t.usdPerYear), saves, passes, `${fmtBytes(t.memory.bytesPerSecondPerStream)}/s`,
      t.memory.streamsPerHostMemoryBound === null ? 'no copies' : fmtNum(t.memory.streamsPerHostMemoryBound),
      t.memory.streamsPerHostCpuBound === null ? '—' : fmtNum(t.memory.streamsPerHostCpuBound),
    ]));
  }
  const m = cost.model;
  out.push('', `Model: ${fmtBytes(m.fleetBytesPerSecond)}/s of ${m.width}x${m.height} ${m.format} at ${m.fps} fps = ${fmtNum(cost.streams, 0)} streams; ` +
    `$${m.vcpuHourUsd}/vCPU-hour; CPU is the transport alone (producer + consumer). Streams/host: memory = calibrated memcpy bandwidth / ` +
    `(passes x frame bytes x fps); CPU = host cores / vCPU per stream.`);
  for (const s of cost.skipped) out.push(`- not priced: ${s.transport}: ${s.reason}`);
  return out;
}

function footer(run: RunResult, rows: SummaryRow[]): string[] {
  const counts = rows.filter((r) => r.c.status === 'ok').map((r) => r.c.latencyUs.count);
  const frames = rows.reduce((n, r) => n + r.c.window.consumerFrames, 0);
  const cal = run.calibration;
  const lines = [
    '',
    `Samples: ${rows.length} cases, ${frames.toLocaleString('en-US')} frames measured; latency samples per ok case ` +
      `${counts.length ? `${Math.min(...counts).toLocaleString('en-US')}–${Math.max(...counts).toLocaleString('en-US')}` : '—'}; ` +
      `window ${run.settings.durationS}s after ${run.settings.warmupS}s warm-up. ` +
      `Calibration: memcpy ${fmtNum(cal.memcpyUsPerFrame)} µs/frame (${fmtNum(cal.memcpyGBps)} GB/s, ${cal.samples} samples). ` +
      `Copy-eq = CPU per frame / one calibrated memcpy of the frame; passes = bytes copied (user + kernel) / frame bytes. ` +
      `fastest/slowest = least/most CPU per frame in its scenario and format.`,
  ];
  const failed = rows.filter((r) => r.c.status !== 'ok');
  if (failed.length) {
    lines.push('', '**Failed cases**', '');
    for (const { key, c } of failed) lines.push(`- \`${key}\`: ${c.status}${c.error ? ` — ${cell(c.error)}` : ''}`);
  }
  for (const s of run.skipped ?? []) lines.push(`- not run here: ${cell(s.transport)}: ${cell(s.reason)}`);
  if (!run.complete) lines.push('', '**Run incomplete**: partial results.');
  return lines;
}

export function renderMarkdown(run: RunResult, cost?: CostSummary): string {
  const rows = summaryRows(run);
  const s = run.settings;
  const h = run.host;
  const out = [
    `## framebench — ${s.resolution} @ ${s.fps} fps, ${s.formats.join('/')}`,
    '',
    `${h.cpuModel} (${h.cores} cores), ${h.platform}, kernel ${h.kernel}, Node ${h.node}, host \`${cell(h.hostname)}\` — ` +
      `${run.startedAt}; source ${s.source}; copy accounting ${s.copyAccounting ? 'on' : 'off'}; framebench ${run.framebenchVersion}`,
    '',
  ];
  if (cost) out.push(`**${cost.headline}**`, '');
  if (rows.length === 0) out.push('_No results in this run._');
  else out.push(...caseTable(rows));
  out.push(...footer(run, rows));
  if (cost) out.push(...costSection(cost));
  return out.join('\n') + '\n';
}
