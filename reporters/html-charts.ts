import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CaseResult, RunResult } from '../core/result';
import { fbError } from '../core/errors';
import { summaryRows } from './markdown';

/**
 * Chart data and the in-page script of the HTML report. The page embeds this data as JSON and draws it with
 * Chart.js, inlined from node_modules at render time (no CDN: the file works offline).
 * Charts are drawn for one scenario+format group at a time; a <select> switches groups.
 */

export interface ChartCase {
  transport: string;
  color: string;
  cpu: { producerUser: number; producerSystem: number; consumerUser: number; consumerSystem: number; total: number };
  passes: { producer: number; consumer: number } | null;
  copyEquivalents: number;
  latency: { p50: number; p90: number; p99: number; p999: number; max: number };
  fps: number;
  gbps: number;
}

export interface ChartGroup {
  id: string;
  label: string;
  cases: ChartCase[];
  /** Cases left out of the charts because they failed: `transport (FB_ERR_...)`. */
  excluded: string[];
}

export interface ChartData {
  groups: ChartGroup[];
}

/** Colour-blind-safe palette (Okabe-Ito), assigned by the run's transport order so colours match across charts. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

export function transportColor(run: RunResult, transport: string): string {
  const order = [...new Set([...run.settings.transports, ...run.results.map((r) => r.transport)])];
  const i = order.indexOf(transport);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length]!;
}

function chartCase(run: RunResult, c: CaseResult): ChartCase {
  const d = c.cpuDetailUsPerFrame;
  return {
    transport: c.transport,
    color: transportColor(run, c.transport),
    cpu: { ...d, total: c.cpuUsPerFrame.total },
    passes: c.copies ? { ...c.copies.framePasses } : null,
    copyEquivalents: c.copyEquivalents,
    latency: { p50: c.latencyUs.p50, p90: c.latencyUs.p90, p99: c.latencyUs.p99, p999: c.latencyUs.p999, max: c.latencyUs.max },
    fps: c.fps,
    gbps: c.gbps,
  };
}

export function chartData(run: RunResult): ChartData {
  const groups = new Map<string, ChartGroup>();
  for (const { c } of summaryRows(run)) {
    const id = `${c.scenario}/${c.format}/${c.width}x${c.height}`;
    let g = groups.get(id);
    if (!g) {
      g = { id, label: `${c.scenario} · ${c.format} ${c.width}x${c.height}`, cases: [], excluded: [] };
      groups.set(id, g);
    }
    if (c.status === 'ok') g.cases.push(chartCase(run, c));
    else g.excluded.push(`${c.transport} (${c.status})`);
  }
  return { groups: [...groups.values()] };
}

/** JSON safe inside <script type="application/json">: no "</script", no HTML comment openers. */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

let chartJsCache: string | null = null;

/** Chart.js UMD bundle text, read from node_modules (the `chart.js` dependency). */
export function chartJsSource(): string {
  if (chartJsCache !== null) return chartJsCache;
  let file: string;
  try {
    file = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
    chartJsCache = readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
  } catch (e) {
    throw fbError('FB_ERR_INTERNAL', `cannot read the chart.js bundle for the HTML report (is chart.js installed?): ${(e as Error).message}`);
  }
  return chartJsCache;
}

/**
 * Runs first in the page: records every error so a headless check (and a reader) can see them in
 * #fb-render-status.
 */
export const ERROR_TRAP_JS = `
window.__fbErrors = [];
window.addEventListener('error', function (e) { window.__fbErrors.push(String(e.message || e)); });
window.addEventListener('unhandledrejection', function (e) { window.__fbErrors.push(String(e.reason)); });
`;

/** Draws the charts from #fb-chart-data for the group picked in #fb-group; writes #fb-render-status. */
export const CHART_PAGE_JS = `
(function () {
  var data = JSON.parse(document.getElementById('fb-chart-data').textContent);
  var select = document.getElementById('fb-group');
  var charts = [];
  var PCT = ['p50', 'p90', 'p99', 'p99.9', 'max'];
  function pctValues(c) { return [c.latency.p50, c.latency.p90, c.latency.p99, c.latency.p999, c.latency.max]; }
  function shade(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16 & 255) + ',' + (n >> 8 & 255) + ',' + (n & 255) + ',' + a + ')';
  }
  function base(title, extra) {
    var o = { responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { title: { display: true, text: title }, legend: { position: 'bottom' } } };
    for (var k in extra) o[k] = extra[k];
    return o;
  }
  function make(id, cfg) {
    var el = document.getElementById(id);
    charts.push(new Chart(el.getContext('2d'), cfg));
  }
  function draw(group) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var cs = group.cases;
    var labels = cs.map(function (c) { return c.transport; });
    document.getElementById('fb-excluded').textContent = group.excluded.length
      ? 'Not charted (failed): ' + group.excluded.join(', ') : '';
    make('chart-cpu', { type: 'bar', data: { labels: labels, datasets: [
      { label: 'producer user', stack: 'cpu', backgroundColor: '#0072B2', data: cs.map(function (c) { return c.cpu.producerUser; }) },
      { label: 'producer system', stack: 'cpu', backgroundColor: '#56B4E9', data: cs.map(function (c) { return c.cpu.producerSystem; }) },
      { label: 'consumer user', stack: 'cpu', backgroundColor: '#D55E00', data: cs.map(function (c) { return c.cpu.consumerUser; }) },
      { label: 'consumer system', stack: 'cpu', backgroundColor: '#E69F00', data: cs.map(function (c) { return c.cpu.consumerSystem; }) }
    ] }, options: base('CPU per frame (µs): producer + consumer, user / system', {
      scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'µs per frame' } } } }) });
    var withCopies = cs.filter(function (c) { return c.passes; });
    make('chart-passes', { type: 'bar', data: { labels: labels, datasets: [
      { label: 'producer passes', stack: 'passes', backgroundColor: '#0072B2', data: cs.map(function (c) { return c.passes ? c.passes.producer : null; }) },
      { label: 'consumer passes', stack: 'passes', backgroundColor: '#D55E00', data: cs.map(function (c) { return c.passes ? c.passes.consumer : null; }) },
      { label: 'copy-equivalents (CPU / memcpy)', stack: 'ce', backgroundColor: '#999999', data: cs.map(function (c) { return c.copyEquivalents; }) }
    ] }, options: base('Copies per frame: measured frame passes' + (withCopies.length ? '' : ' (no copy accounting)') + ' and CPU in copy-equivalents', {
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'frame copies' } } } }) });
    make('chart-latency', { type: 'bar', data: { labels: labels, datasets: PCT.map(function (p, i) {
      return { label: p, backgroundColor: shade('#0072B2', 0.25 + i * 0.18), data: cs.map(function (c) { return pctValues(c)[i]; }) };
    }) }, options: base('Latency percentiles per transport (µs, log scale)', {
      scales: { y: { type: 'logarithmic', title: { display: true, text: 'µs' } } } }) });
    make('chart-distribution', { type: 'line', data: { labels: PCT, datasets: cs.map(function (c) {
      return { label: c.transport, borderColor: c.color, backgroundColor: c.color, data: pctValues(c), tension: 0, pointRadius: 3 };
    }) }, options: base('Latency distribution: value at each percentile (µs, log scale)', {
      scales: { x: { title: { display: true, text: 'percentile' } }, y: { type: 'logarithmic', title: { display: true, text: 'µs' } } } }) });
    make('chart-throughput', { type: 'bar', data: { labels: labels, datasets: [
      { label: 'frames/s', yAxisID: 'y', backgroundColor: cs.map(function (c) { return c.color; }), data: cs.map(function (c) { return c.fps; }) },
      { label: 'GB/s (right axis)', yAxisID: 'y1', backgroundColor: '#777777', data: cs.map(function (c) { return c.gbps; }) }
    ] }, options: base('Throughput', { scales: {
      y: { beginAtZero: true, title: { display: true, text: 'frames/s' } },
      y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'GB/s' } } } }) });
  }
  function report() {
    var painted = 0;
    document.querySelectorAll('canvas.fb-chart').forEach(function (cv) {
      try {
        var blank = document.createElement('canvas');
        blank.width = cv.width;
        blank.height = cv.height;
        if (cv.width > 0 && cv.height > 0 && cv.toDataURL() !== blank.toDataURL()) painted++;
      } catch (e) { window.__fbErrors.push('toDataURL: ' + e); }
    });
    var st = document.getElementById('fb-render-status');
    st.setAttribute('data-charts', String(charts.length));
    st.setAttribute('data-painted', String(painted));
    st.setAttribute('data-errors', JSON.stringify(window.__fbErrors));
    st.textContent = window.__fbErrors.length ? 'Chart errors: ' + window.__fbErrors.join('; ') : '';
  }
  if (!data.groups.length || typeof Chart === 'undefined') {
    if (typeof Chart === 'undefined') window.__fbErrors.push('Chart.js did not load');
    report();
    return;
  }
  data.groups.forEach(function (g, i) {
    var o = document.createElement('option');
    o.value = String(i);
    o.textContent = g.label + ' (' + g.cases.length + ' ok)';
    select.appendChild(o);
  });
  var start = 0;
  for (var i = 0; i < data.groups.length; i++) { if (data.groups[i].cases.length) { start = i; break; } }
  select.value = String(start);
  select.addEventListener('change', function () { draw(data.groups[Number(select.value)]); report(); });
  draw(data.groups[start]);
  report();
})();
`;
