import type { CaseResult, RunResult } from '../core/result';
import { botMarkdown } from './bot';
import { costTrace, fmtUsd, priceAssumption, type CostSummary } from '../core/cost';
import { headlineRatios, fmtRatio, ratioRows } from './headline';
import { fmtLevel, roundsFooter, withRange } from './intervals';
import { fmtPercentile, PERCENTILE_NOTE, percentileSupported } from './percentiles';
import { IN_PROCESS_LABEL } from './ranking';
import { fmtBytes, fmtNum, fmtPasses, kernelSeen, markLabel, passesSideText, summaryRows, type SummaryRow } from './rows';
import { renderSweepMarkdown } from './sweep';

/**
 * Markdown summary of a run, fit for a CI job summary or a PR comment: the headline ratios, one row per
 * (transport, scenario, format) with each figure's interval over rounds beside its median, least/most CPU marked
 * among the cross-process cases of each scenario+format group, in-process transports in a table apart, the
 * paired ratios table, a footer with sample counts and the interval method, the cost headline.
 */

export { fmtBytes, fmtNum, fmtPasses, markLabel, passesOf, summaryRows } from './rows';
export type { Mark, SummaryRow } from './rows';

function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

function row(cells: string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function passesText(c: CaseResult): string {
  if (!c.copies) return '—';
  const p = c.copies.framePasses;
  const lowerBound = !kernelSeen(c, 'producer') || !kernelSeen(c, 'consumer') ? '≥' : '';
  return `${passesSideText(c, 'producer')} + ${passesSideText(c, 'consumer')} = ${lowerBound}${fmtPasses(p.producer + p.consumer)}`;
}

function statusText(c: CaseResult): string {
  return c.status === 'ok' ? 'ok' : `**${c.status}**`;
}

function latency(c: CaseResult, key: 'p50' | 'p99' | 'p999'): string {
  if (c.status !== 'ok') return '—';
  if (key === 'p50' && percentileSupported(c, 'p50')) return withRange(c, 'latencyUs.p50', c.latencyUs.p50);
  return fmtPercentile(c, key, (x) => fmtNum(x));
}

function caseTable(rows: SummaryRow[]): string[] {
  const header = ['Transport', 'Scenario', 'Format', 'CPU µs/frame prod', 'cons', 'total', 'Copy-eq', 'Passes/frame (prod + cons)',
    'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'fps', 'GB/s', 'Drops', 'Status'];
  const right = new Set([3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14]);
  const lines = [row(header), `|${header.map((_, i) => (right.has(i) ? '---:' : '---')).join('|')}|`];
  for (const { c, mark } of rows) {
    const name = (c.inProcess ? `${c.transport} (in-process)` : c.transport) + (mark ? ` (${markLabel(mark)})` : '');
    lines.push(row([
      mark === 'fastest' ? `**${name}**` : name,
      c.scenario,
      `${c.format} ${c.width}x${c.height}`,
      withRange(c, 'cpuUsPerFrame.producer', c.cpuUsPerFrame.producer), withRange(c, 'cpuUsPerFrame.consumer', c.cpuUsPerFrame.consumer),
      withRange(c, 'cpuUsPerFrame.total', c.cpuUsPerFrame.total),
      withRange(c, 'copyEquivalents', c.copyEquivalents), passesText(c),
      latency(c, 'p50'), latency(c, 'p99'), latency(c, 'p999'), c.status === 'ok' ? fmtNum(c.latencyUs.max) : '—',
      withRange(c, 'fps', c.fps), fmtNum(c.gbps, 3), String(c.framesDropped), statusText(c),
    ]));
  }
  return lines;
}

/** The cross-process table, then the in-process cases in a table of their own under IN_PROCESS_LABEL. */
function caseTables(rows: SummaryRow[]): string[] {
  const cross = rows.filter((r) => !r.c.inProcess);
  const inProc = rows.filter((r) => r.c.inProcess);
  const out = cross.length ? caseTable(cross) : [];
  if (inProc.length) out.push(...(cross.length ? [''] : []), `_${IN_PROCESS_LABEL}_`, '', ...caseTable(inProc));
  return out;
}

function headlineSection(run: RunResult): string[] {
  const lines = headlineRatios(run, true);
  if (!lines.length) return [];
  return [...lines.map((h) => `- ${h.label}: **${h.claim}** (${h.how})`), ''];
}

function ratiosSection(run: RunResult): string[] {
  const rows = ratioRows(run);
  if (!rows.length) return [];
  const out = ['', '### Paired CPU ratios', '',
    'CPU per frame of a over b, per round (both measured in the same round), then the median of those ratios and its interval.', '',
    row(['Scenario · format', 'a / b', 'Ratio (interval)', 'Rounds', 'Interval covers']), '|---|---|---:|---:|---:|'];
  for (const r of rows) {
    out.push(row([r.label, `${r.a} / ${r.b}`, fmtRatio(r.ratio), String(r.ratio.n), r.ratio.n >= 2 ? fmtLevel(r.ratio.level) : '—']));
  }
  return out;
}

function costSection(cost: CostSummary): string[] {
  const out = ['', '### Fleet cost', ''];
  if (cost.transports.length === 0) return [...out, cost.headline];
  out.push(row(['Transport', 'From case', 'CPU µs/frame', 'vCPU/stream', 'Fleet vCPUs', '$/year', `Saves vs ${cost.baseline}`,
    'Passes/frame', 'Mem traffic/stream', 'Streams/host (mem)', 'Streams/host (CPU)']));
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const t of cost.transports) {
    const saves = t.savingsUsdPerYear === null ? '—' : `${fmtUsd(t.savingsUsdPerYear)} (${fmtNum(t.savingsPct, 0)}%${t.savingsPctInterval && t.savingsPctInterval.n > 1 ? `, ${fmtNum(t.savingsPctInterval.lo, 0)}-${fmtNum(t.savingsPctInterval.hi, 0)}%` : ''})`;
    const passes = `${fmtPasses(t.memory.passesPerFrame)}${t.memory.passesFrom === 'copyEquivalents' ? ' (est.)' : ''}`;
    out.push(row([
      t.inProcess ? `${t.transport} (in-process)` : t.transport, `${t.source.caseKey}${t.source.scaled ? ' (scaled)' : ''}`, fmtNum(t.cpuUsPerFrame), fmtNum(t.coresPerStream, 4),
      fmtNum(t.totalCores, 0), fmtUsd(t.usdPerYear), saves, passes, `${fmtBytes(t.memory.bytesPerSecondPerStream)}/s`,
      t.memory.streamsPerHostMemoryBound === null ? 'no copies' : fmtNum(t.memory.streamsPerHostMemoryBound),
      t.memory.streamsPerHostCpuBound === null ? '—' : fmtNum(t.memory.streamsPerHostCpuBound),
    ]));
  }
  const m = cost.model;
  out.push('', `Model: ${fmtBytes(m.fleetBytesPerSecond)}/s of ${m.width}x${m.height} ${m.format} at ${m.fps} fps = ${fmtNum(cost.streams, 0)} streams; ` +
    `CPU is the transport alone (producer + consumer). Streams/host: memory = the host's copy bandwidth with every core copying / ` +
    `(passes x frame bytes x fps); CPU = host cores / vCPU per stream.`, '', priceAssumption(cost), '', 'Per stream and per host (the fleet total by hand):', '');
  for (const t of cost.transports) out.push(`- ${costTrace(t, cost)}`);
  if (cost.transports.some((t) => t.inProcess)) {
    out.push('', 'In-process transports are priced from the CPU of their JS threads only, and a cross-process bot cannot switch to them: the headline never names one.');
  }
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
      (cal.wakeupCpuUs !== undefined ? `Waking a sleeping Node process: ${fmtNum(cal.wakeupCpuUs)} µs of CPU (latency ${fmtNum(cal.wakeupLatencyUs ?? 0)} µs). ` : '') +
      `Copy-eq = CPU per frame / one calibrated memcpy of the frame; passes = bytes copied (user + kernel) / frame bytes. ` +
      `fastest/slowest = least/most CPU per frame in its scenario and format (cross-process transports only).`,
  ];
  const ok = rows.filter((r) => r.c.status === 'ok');
  const rounds = roundsFooter(rows.map((r) => r.c), 'ranges in parentheses');
  if (rounds) lines.push('', `Rounds: ${rounds}; p50's range is over the rounds' own p50s.`);
  else if (rows.length) lines.push('', 'One window per case: no figure has an interval (`bench run --rounds 5` measures every case in 5 interleaved rounds).');
  if (ok.some((r) => !percentileSupported(r.c, 'p99') || !percentileSupported(r.c, 'p999'))) lines.push('', PERCENTILE_NOTE + '.');
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
  out.push(...headlineSection(run));
  if (cost) out.push(`**${cost.headline}**`, '');
  if (rows.length === 0) out.push('_No results in this run._');
  else out.push(...caseTables(rows));
  out.push(...footer(run, rows));
  out.push(...ratiosSection(run));
  out.push(...renderSweepMarkdown(run));
  out.push(...botMarkdown(run, cost?.model));
  if (cost) out.push(...costSection(cost));
  return out.join('\n') + '\n';
}
