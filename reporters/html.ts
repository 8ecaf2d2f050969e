import type { CaseResult, RunResult } from '../core/result';
import { botHtml } from './bot';
import { costTrace, fmtUsd, priceAssumption, type CostSummary } from '../core/cost';
import { CHART_PAGE_JS, ERROR_TRAP_JS, chartData, chartJsSource, jsonForScript, transportColor } from './html-charts';
import { fmtRatio, headlineRatios, ratioRows } from './headline';
import { figureParts, fmtLevel, roundsFooter } from './intervals';
import { fmtPercentile, PERCENTILE_NOTE, percentileSupported } from './percentiles';
import { IN_PROCESS_LABEL } from './ranking';
import { fmtBytes, fmtNum, fmtPasses, passesSideText, summaryRows, type SummaryRow } from './rows';
import { renderSweepHtml, SWEEP_PAGE_JS } from './sweep-charts';

/**
 * One self-contained HTML report: the headline ratios, environment, summary table (figures with their interval
 * over rounds; in-process transports in a table apart, unranked), the paired ratios, charts (CPU per frame with
 * error bars, copies, latency percentiles and distribution, throughput), each case's status and errors, the
 * fleet cost, links to flame graphs.
 * No network: Chart.js is inlined, fonts are the system's. Every string from the result is escaped.
 */

export interface HtmlOptions {
  cost?: CostSummary;
  /** Label -> href (relative to the report). A label starting with a case key (`ws/realtime/i420/1920x1080`) is also linked from that case. */
  flameLinks?: Record<string, string>;
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** Only relative paths and file: URLs become links; anything else is shown as text. */
function safeHref(href: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) && !/^file:/i.test(href)) return null;
  return href;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
main{max-width:1700px;margin:0 auto;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;background:#fff;font-variant-numeric:tabular-nums;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#f0f0f0;position:sticky;top:0}td.l,th.l{text-align:left}
tr.failed td{background:#fde8e8}tr.fastest td:first-child{font-weight:700}
.badge{display:inline-block;border-radius:3px;padding:0 5px;margin-left:4px;font-size:11px;color:#fff}
.badge.fastest{background:#009E73}.badge.slowest{background:#D55E00}.badge.bad{background:#b00020}
.swatch{display:inline-block;width:10px;height:10px;margin-right:5px;border-radius:2px;vertical-align:baseline}
.headline{font-size:16px;font-weight:600;background:#eef6ee;border-left:4px solid #009E73;padding:8px 12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px}
.chart{background:#fff;border:1px solid #ddd;height:340px;padding:6px}
.note{color:#555;font-size:12px}.err{color:#b00020}.iv{color:#666;font-size:11px}.na{color:#888}
.ratios{margin:6px 0 10px;padding-left:20px}.ratios li{margin:2px 0}.ratios .how{color:#555;font-size:12px}
h3{font-size:15px;margin:16px 0 6px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}dt{color:#555}dd{margin:0}
.scroll{overflow-x:auto}
`;

function environment(run: RunResult): string {
  const h = run.host;
  const s = run.settings;
  const cal = run.calibration;
  const items: [string, string][] = [
    ['Host', `${h.hostname} — ${h.cpuModel}, ${h.cores} cores, ${fmtBytes(h.memoryBytes)} RAM`],
    ['System', `${h.platform}, kernel ${h.kernel}, Node ${h.node}`],
    ['Run', `${run.startedAt} → ${run.finishedAt}${run.complete ? '' : ' (INCOMPLETE: partial results)'}; framebench ${run.framebenchVersion}` +
      (run.rounds ? `; ${run.rounds} interleaved round(s), methodology ${run.methodology ?? 1}` : '; one window per case')],
    ['Settings', `${s.resolution} @ ${s.fps} fps; formats ${s.formats.join(', ')}; ${s.durationS}s measured after ${s.warmupS}s warm-up; ` +
      `${s.producers} producer(s) in multi-producer; verify ${s.verify}; source ${s.source}; copy accounting ${s.copyAccounting ? 'on' : 'off'}`],
    ['Transports', s.transports.join(', ') + ((run.skipped ?? []).length ? `; not run here: ${(run.skipped ?? []).map((x) => `${x.transport} (${x.reason})`).join(', ')}` : '')],
    ['Scenarios', s.scenarios.join(', ')],
    ['Calibration', `memcpy ${fmtNum(cal.memcpyUsPerFrame)} µs/frame = ${fmtNum(cal.memcpyGBps)} GB/s (${cal.samples} samples, ${fmtBytes(cal.bufferSetBytes)} buffer set; ${cal.method})`],
    ...(cal.wakeupCpuUs !== undefined ? [['Wake-up', `${fmtNum(cal.wakeupCpuUs)} µs of CPU to wake a sleeping Node process, ${fmtNum(cal.wakeupLatencyUs ?? 0)} µs latency (two processes, one byte over a pipe, 20 ms apart)`] as [string, string]] : []),
  ];
  return `<dl>${items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
}

function badge(r: SummaryRow): string {
  if (r.c.status !== 'ok') return `<span class="badge bad">${esc(r.c.status)}</span>`;
  return r.mark ? `<span class="badge ${r.mark}">${r.mark}</span>` : '';
}

/** A figure's cell: the median, and its range over rounds beneath in grey when it has one. */
function figure(c: SummaryRow['c'], path: string, value: number, digits?: number): string {
  const p = figureParts(c, path, value, digits);
  return `<td>${esc(p.value)}${p.range ? ` <span class="iv">(${esc(p.range)})</span>` : ''}</td>`;
}

function latencyCell(c: SummaryRow['c'], key: 'p50' | 'p99' | 'p999'): string {
  if (c.status !== 'ok') return '<td>—</td>';
  if (!percentileSupported(c, key)) return `<td class="na" title="too few latency samples for this percentile">${esc(fmtPercentile(c, key, (x) => fmtNum(x)))}</td>`;
  return key === 'p50' ? figure(c, 'latencyUs.p50', c.latencyUs.p50) : `<td>${esc(fmtNum(c.latencyUs[key]))}</td>`;
}

function caseTable(run: RunResult, rows: SummaryRow[]): string {
  const head = ['Transport', 'Scenario', 'Format', 'CPU prod µs', 'CPU cons µs', 'CPU total µs', 'Copy-eq', 'Passes (p+c)',
    'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'fps', 'GB/s', 'Drops', 'Status'];
  const body = rows.map((r) => {
    const c = r.c;
    const ok = c.status === 'ok';
    const passes = c.copies ? `${passesSideText(c, 'producer')} + ${passesSideText(c, 'consumer')}` : '—';
    return `<tr class="${ok ? r.mark ?? '' : 'failed'}"><td class="l"><span class="swatch" style="background:${transportColor(run, c.transport)}"></span>${esc(c.transport)}${c.inProcess ? ' (in-process)' : ''}${badge(r)}</td>` +
      `<td class="l">${esc(c.scenario)}</td><td class="l">${esc(`${c.format} ${c.width}x${c.height}`)}</td>` +
      figure(c, 'cpuUsPerFrame.producer', c.cpuUsPerFrame.producer) + figure(c, 'cpuUsPerFrame.consumer', c.cpuUsPerFrame.consumer) +
      figure(c, 'cpuUsPerFrame.total', c.cpuUsPerFrame.total) + figure(c, 'copyEquivalents', c.copyEquivalents) + `<td>${esc(passes)}</td>` +
      latencyCell(c, 'p50') + latencyCell(c, 'p99') + latencyCell(c, 'p999') + `<td>${ok ? esc(fmtNum(c.latencyUs.max)) : '—'}</td>` +
      figure(c, 'fps', c.fps) + [fmtNum(c.gbps, 3), String(c.framesDropped)].map((v) => `<td>${esc(v)}</td>`).join('') +
      `<td class="l">${ok ? 'ok' : `<span class="err">${esc(c.status)}</span>`}</td></tr>`;
  });
  return `<div class="scroll"><table><thead><tr>${head.map((h, i) => `<th${i < 3 ? ' class="l"' : ''}>${esc(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${body.join('')}</tbody></table></div>`;
}

function summaryTable(run: RunResult, rows: SummaryRow[]): string {
  const cross = rows.filter((r) => !r.c.inProcess);
  const inProc = rows.filter((r) => r.c.inProcess);
  const rounds = roundsFooter(rows.map((r) => r.c), 'grey ranges');
  const gated = rows.some((r) => r.c.status === 'ok' && (!percentileSupported(r.c, 'p99') || !percentileSupported(r.c, 'p999')));
  return (cross.length ? caseTable(run, cross) : '') +
    (inProc.length ? `<h3 id="in-process">${esc(IN_PROCESS_LABEL[0]!.toUpperCase() + IN_PROCESS_LABEL.slice(1))}</h3>${caseTable(run, inProc)}` : '') +
    `<p class="note">CPU = process CPU time per frame in the measurement window. Copy-eq = CPU per frame / one calibrated memcpy of the frame. ` +
    `Passes = bytes copied (user-space memcpy + kernel) / frame bytes. fastest/slowest = least/most CPU per frame within the scenario and format, among cross-process transports.</p>` +
    (rounds ? `<p class="note">${esc(`${rounds}; p50's range is over the rounds' own p50s.`)}</p>`
      : rows.length ? '<p class="note">One window per case: no figure has an interval (bench run --rounds 5 measures every case in 5 interleaved rounds).</p>' : '') +
    (gated ? `<p class="note">${esc(PERCENTILE_NOTE)}.</p>` : '');
}

/** The headline ratios (every common baseline against the reference), for the top of the page. */
function headlineList(run: RunResult): string {
  const lines = headlineRatios(run, true);
  if (!lines.length) return '';
  return `<ul class="ratios" id="ratio-headline">${lines.map((h) =>
    `<li>${esc(h.label)}: <strong>${esc(h.claim)}</strong> <span class="how">(${esc(h.how)})</span></li>`).join('')}</ul>`;
}

function ratiosSection(run: RunResult): string {
  const rows = ratioRows(run);
  if (!rows.length) return '';
  const head = ['Scenario · format', 'a / b', 'Ratio (interval)', 'Rounds', 'Interval covers'];
  return `<h2>Paired CPU ratios</h2><div class="scroll"><table id="ratios"><thead><tr>${head.map((h, i) => `<th${i < 2 ? ' class="l"' : ''}>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr><td class="l">${esc(r.label)}</td><td class="l">${esc(`${r.a} / ${r.b}`)}</td>` +
      [fmtRatio(r.ratio), String(r.ratio.n), r.ratio.n >= 2 ? fmtLevel(r.ratio.level) : '—'].map((v) => `<td>${esc(v)}</td>`).join('') + '</tr>').join('') +
    '</tbody></table></div><p class="note">CPU per frame of a over b in each round (both measured in the same round), then the median of those ratios and its interval: never the ratio of two medians.</p>';
}

function statsText(stats: Record<string, number | string>): string {
  // (a stat's histogram, `<name>Histogram`, is data for merging rounds, not for reading)
  return Object.entries(stats).filter(([k]) => !k.endsWith('Histogram')).map(([k, v]) => `${k}=${v}`).join(' ');
}

function flameFor(key: string, links: Record<string, string>): string {
  return Object.entries(links).filter(([label]) => label.startsWith(key)).map(([label, href]) => {
    const h = safeHref(href);
    const text = label.slice(key.length).replace(/^[/:.\s-]+/, '') || 'flame';
    return h === null ? esc(text) : `<a href="${esc(h)}">${esc(text)}</a>`;
  }).join(' ');
}

function caseStatus(rows: SummaryRow[], links: Record<string, string>): string {
  const body = rows.map(({ key, c }: { key: string; c: CaseResult }) => {
    const detail = [
      `sent ${c.framesSent}, received ${c.framesReceived}, dropped ${c.framesDropped}, corrupt ${c.framesCorrupt}`,
      `window ${fmtNum(c.window.seconds)}s (${c.window.producerFrames}/${c.window.consumerFrames} frames)`,
      c.masking ? `masking ${c.masking}` : '',
      `RSS peak ${fmtBytes(c.rssPeakBytes.producer)} / ${fmtBytes(c.rssPeakBytes.consumer)}`,
    ].filter(Boolean).join('; ');
    const stats = [statsText(c.transportStats.producer), statsText(c.transportStats.consumer)].filter(Boolean).join(' | ');
    return `<tr class="${c.status === 'ok' ? '' : 'failed'}"><td class="l"><code>${esc(key)}</code></td>` +
      `<td class="l">${c.status === 'ok' ? 'ok' : `<span class="err">${esc(c.status)}</span>`}</td>` +
      `<td class="l">${c.error ? `<span class="err">${esc(c.error)}</span>` : ''}</td><td class="l">${esc(detail)}</td>` +
      `<td class="l">${esc(stats)}</td><td class="l">${flameFor(key, links)}</td></tr>`;
  });
  return `<div class="scroll"><table><thead><tr>${['Case', 'Status', 'Error', 'Frames', 'Transport stats', 'Flame'].map((h) => `<th class="l">${h}</th>`).join('')}</tr></thead>` +
    `<tbody>${body.join('')}</tbody></table></div>`;
}

function costSection(cost: CostSummary): string {
  const m = cost.model;
  const rows = cost.transports.map((t) => {
    const mem = t.memory;
    return `<tr><td class="l">${esc(t.transport)}${t.inProcess ? ' (in-process)' : ''}</td><td class="l" title="${esc(t.source.note)}"><code>${esc(t.source.caseKey)}</code>${t.source.scaled ? ' (scaled)' : ''}</td>` +
      [fmtNum(t.cpuUsPerFrame), fmtNum(t.coresPerStream, 4), fmtNum(t.totalCores, 0), fmtUsd(t.usdPerYear),
        t.savingsUsdPerYear === null ? '—' : `${fmtUsd(t.savingsUsdPerYear)} (${fmtNum(t.savingsPct, 0)}%${t.savingsPctInterval && t.savingsPctInterval.n > 1 ? `, ${fmtNum(t.savingsPctInterval.lo, 0)}-${fmtNum(t.savingsPctInterval.hi, 0)}%` : ''})`,
        `${fmtPasses(mem.passesPerFrame)}${mem.passesFrom === 'copyEquivalents' ? ' (est.)' : ''}`, `${fmtBytes(mem.bytesPerSecondPerStream)}/s`,
        mem.streamsPerHostMemoryBound === null ? 'no copies' : fmtNum(mem.streamsPerHostMemoryBound),
        mem.streamsPerHostCpuBound === null ? '—' : fmtNum(mem.streamsPerHostCpuBound), mem.limitedBy].map((v) => `<td>${esc(v)}</td>`).join('') + '</tr>';
  });
  const head = ['Transport', 'From case', 'CPU µs/frame', 'vCPU/stream', 'Fleet vCPUs', '$/year', `Saves vs ${cost.baseline}`, 'Passes/frame',
    'Mem traffic/stream', 'Streams/host (mem)', 'Streams/host (CPU)', 'Limit'];
  return `<p class="headline" id="cost-headline">${esc(cost.headline)}</p>` +
    (rows.length ? `<div class="scroll"><table><thead><tr>${head.map((h, i) => `<th${i < 2 ? ' class="l"' : ''}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>` : '') +
    `<p class="note">${esc(`Model: ${fmtBytes(m.fleetBytesPerSecond)}/s of ${m.width}x${m.height} ${m.format} at ${m.fps} fps = ${fmtNum(cost.streams, 0)} streams; ` +
      `cores = CPU µs/frame x fps / 1e6 for the transport alone (producer + consumer); $/year = cores x 8760 h x price. ` +
      `Streams/host: memory = the host's copy bandwidth with every core copying / (passes x frame bytes x fps); CPU = the host's cores / vCPU per stream.`)}</p>` +
    `<p class="note" id="cost-price">${esc(priceAssumption(cost))}</p>` +
    `<ul class="note" id="cost-trace">${cost.transports.map((t) => `<li>${esc(costTrace(t, cost))}</li>`).join('')}</ul>` +
    (cost.transports.some((t) => t.inProcess) ? '<p class="note">In-process transports are priced from the CPU of their JS threads only, and a cross-process bot cannot switch to them: the headline never names one.</p>' : '') +
    cost.skipped.map((s) => `<p class="note">Not priced: ${esc(s.transport)}: ${esc(s.reason)}</p>`).join('');
}

function flameSection(links: Record<string, string>): string {
  const items = Object.entries(links).map(([label, href]) => {
    const h = safeHref(href);
    return `<li>${h === null ? `${esc(label)} <span class="note">(link not relative: ${esc(href)})</span>` : `<a href="${esc(h)}">${esc(label)}</a>`}</li>`;
  });
  return `<ul>${items.join('')}</ul>`;
}

const CHART_IDS = ['chart-cpu', 'chart-passes', 'chart-latency', 'chart-distribution', 'chart-throughput'];

export function renderHtml(run: RunResult, opts: HtmlOptions = {}): string {
  const rows = summaryRows(run);
  const links = opts.flameLinks ?? {};
  const title = `framebench — ${run.settings.resolution} @ ${run.settings.fps} fps — ${run.host.hostname} — ${run.startedAt}`;
  const sections = [
    `<h1>${esc(title)}</h1>`,
    headlineList(run),
    opts.cost ? `<p class="headline">${esc(opts.cost.headline)}</p>` : '',
    `<h2>Environment</h2>${environment(run)}`,
    `<h2>Summary</h2>${rows.length ? summaryTable(run, rows) : '<p>No results in this run.</p>'}`,
    ratiosSection(run),
    botHtml(run, opts.cost?.model),
    `<h2>Charts</h2><label>Scenario and format: <select id="fb-group"></select></label> <span id="fb-excluded" class="note"></span>` +
      `<div class="grid">${CHART_IDS.map((id) => `<div class="chart"><canvas class="fb-chart" id="${id}"></canvas></div>`).join('')}</div>` +
      `<p id="fb-render-status" class="err" data-charts="0" data-painted="0" data-whiskers="0" data-errors="[]"></p>`,
    renderSweepHtml(run),
    `<h2>Cases</h2>${caseStatus(rows, links)}`,
    opts.cost ? `<h2>Fleet cost</h2>${costSection(opts.cost)}` : '',
    Object.keys(links).length ? `<h2>Flame graphs</h2>${flameSection(links)}` : '',
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
<script>${ERROR_TRAP_JS}</script>
</head><body><main>
${sections.filter(Boolean).join('\n')}
</main>
<script type="application/json" id="fb-chart-data">${jsonForScript(chartData(run))}</script>
<script>${chartJsSource()}</script>
<script>${CHART_PAGE_JS}</script>
<script>${SWEEP_PAGE_JS}</script>
</body></html>
`;
}
