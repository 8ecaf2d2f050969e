import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CaseResult, RunResult } from '../core/result';
import { fbError } from '../core/errors';
import { intervalOf } from './intervals';
import { percentileValue } from './percentiles';
import { crossProcessFirst } from './ranking';
import { summaryRows } from './rows';

/**
 * Chart data and the in-page script of the HTML report. The page embeds this data as JSON and draws it with
 * Chart.js, inlined from node_modules at render time (no CDN: the file works offline).
 * Charts are drawn for one scenario+format group at a time; a <select> switches groups. Figures measured over
 * rounds get error bars (a whisker over the interval) on CPU per frame, copy-equivalents and frames/s; a latency
 * percentile the sample count cannot support is left out (null); in-process transports come last, labelled.
 */

/** An interval drawn as an error bar: [lo, hi]. */
export type Range = [number, number];

export interface ChartCase {
  transport: string;
  /** The axis label: the transport, `(in-process)` added for in-process ones (charted last, never marked). */
  label: string;
  inProcess: boolean;
  color: string;
  cpu: { producerUser: number; producerSystem: number; consumerUser: number; consumerSystem: number; total: number };
  /** Interval of cpu.total over rounds, null without one. */
  cpuRange: Range | null;
  passes: { producer: number; consumer: number } | null;
  copyEquivalents: number;
  copyEquivalentsRange: Range | null;
  /** null: too few samples for that percentile (see percentiles.ts). */
  latency: { p50: number | null; p90: number | null; p99: number | null; p999: number | null; max: number };
  fps: number;
  fpsRange: Range | null;
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

function range(c: CaseResult, path: string): Range | null {
  const iv = intervalOf(c, path);
  return iv ? [iv.lo, iv.hi] : null;
}

function chartCase(run: RunResult, c: CaseResult): ChartCase {
  const d = c.cpuDetailUsPerFrame;
  return {
    transport: c.transport,
    label: c.inProcess ? `${c.transport} (in-process)` : c.transport,
    inProcess: Boolean(c.inProcess),
    color: transportColor(run, c.transport),
    cpu: { ...d, total: c.cpuUsPerFrame.total },
    cpuRange: range(c, 'cpuUsPerFrame.total'),
    passes: c.copies ? { ...c.copies.framePasses } : null,
    copyEquivalents: c.copyEquivalents,
    copyEquivalentsRange: range(c, 'copyEquivalents'),
    latency: {
      p50: percentileValue(c, 'p50'), p90: percentileValue(c, 'p90'), p99: percentileValue(c, 'p99'), p999: percentileValue(c, 'p999'),
      max: c.latencyUs.max,
    },
    fps: c.fps,
    fpsRange: range(c, 'fps'),
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
  for (const g of groups.values()) g.cases = crossProcessFirst(g.cases, (x) => x);
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

/**
 * Draws the charts from #fb-chart-data for the group picked in #fb-group; writes #fb-render-status: charts
 * made, canvases painted, error bars (whiskers) drawn, errors.
 */
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
  // Error bars: a whisker with caps over [lo, hi] at each bar of dataset \`only\`, or of the first visible
  // dataset (the bars of one stack share x).
  function errorBars(ranges, axis, only) {
    return { id: 'fbErrorBars', afterDatasetsDraw: function (chart) {
      var meta = null;
      for (var d = 0; d < chart.data.datasets.length && !meta; d++) {
        var m = chart.getDatasetMeta(d);
        if ((only === undefined || only === d) && !m.hidden && (m.yAxisID || 'y') === axis) meta = m;
      }
      var y = chart.scales[axis];
      if (!meta || !y) return;
      var ctx = chart.ctx;
      var drawn = 0;
      ctx.save();
      ctx.strokeStyle = '#222';
      ctx.lineWidth = 1.5;
      ranges.forEach(function (r, i) {
        var el = meta.data[i];
        if (!r || !el) return;
        drawn++;
        var half = Math.max(3, Math.min(8, (el.width || 16) / 4));
        var top = y.getPixelForValue(r[1]);
        var bot = y.getPixelForValue(r[0]);
        ctx.beginPath();
        ctx.moveTo(el.x, top); ctx.lineTo(el.x, bot);
        ctx.moveTo(el.x - half, top); ctx.lineTo(el.x + half, top);
        ctx.moveTo(el.x - half, bot); ctx.lineTo(el.x + half, bot);
        ctx.stroke();
      });
      ctx.restore();
      chart.$fbWhiskers = drawn;
    } };
  }
  function rangeMax(ranges) {
    var m = 0;
    ranges.forEach(function (r) { if (r && r[1] > m) m = r[1]; });
    return m > 0 ? m * 1.05 : undefined;
  }
  function draw(group) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var cs = group.cases;
    var labels = cs.map(function (c) { return c.label; });
    var cpuRanges = cs.map(function (c) { return c.cpuRange; });
    var ceRanges = cs.map(function (c) { return c.copyEquivalentsRange; });
    var fpsRanges = cs.map(function (c) { return c.fpsRange; });
    var whiskers = cpuRanges.some(function (r) { return r; }) ? '; whiskers: interval of the total over rounds' : '';
    document.getElementById('fb-excluded').textContent = group.excluded.length
      ? 'Not charted (failed): ' + group.excluded.join(', ') : '';
    make('chart-cpu', { type: 'bar', plugins: [errorBars(cpuRanges, 'y')], data: { labels: labels, datasets: [
      { label: 'producer user', stack: 'cpu', backgroundColor: '#0072B2', data: cs.map(function (c) { return c.cpu.producerUser; }) },
      { label: 'producer system', stack: 'cpu', backgroundColor: '#56B4E9', data: cs.map(function (c) { return c.cpu.producerSystem; }) },
      { label: 'consumer user', stack: 'cpu', backgroundColor: '#D55E00', data: cs.map(function (c) { return c.cpu.consumerUser; }) },
      { label: 'consumer system', stack: 'cpu', backgroundColor: '#E69F00', data: cs.map(function (c) { return c.cpu.consumerSystem; }) }
    ] }, options: base('CPU per frame (µs): producer + consumer, user / system' + whiskers, {
      scales: { x: { stacked: true }, y: { stacked: true, suggestedMax: rangeMax(cpuRanges), title: { display: true, text: 'µs per frame' } } } }) });
    var withCopies = cs.filter(function (c) { return c.passes; });
    make('chart-passes', { type: 'bar', plugins: [errorBars(ceRanges, 'y', 2)], data: { labels: labels, datasets: [
      { label: 'producer passes', stack: 'passes', backgroundColor: '#0072B2', data: cs.map(function (c) { return c.passes ? c.passes.producer : null; }) },
      { label: 'consumer passes', stack: 'passes', backgroundColor: '#D55E00', data: cs.map(function (c) { return c.passes ? c.passes.consumer : null; }) },
      { label: 'copy-equivalents (CPU / memcpy)', stack: 'ce', backgroundColor: '#999999', data: cs.map(function (c) { return c.copyEquivalents; }) }
    ] }, options: base('Copies per frame: measured frame passes' + (withCopies.length ? '' : ' (no copy accounting)') + ' and CPU in copy-equivalents', {
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, suggestedMax: rangeMax(ceRanges), title: { display: true, text: 'frame copies' } } } }) });
    make('chart-latency', { type: 'bar', data: { labels: labels, datasets: PCT.map(function (p, i) {
      return { label: p, backgroundColor: shade('#0072B2', 0.25 + i * 0.18), data: cs.map(function (c) { return pctValues(c)[i]; }) };
    }) }, options: base('Latency percentiles per transport (µs, log scale)', {
      scales: { y: { type: 'logarithmic', title: { display: true, text: 'µs' } } } }) });
    make('chart-distribution', { type: 'line', data: { labels: PCT, datasets: cs.map(function (c) {
      return { label: c.label, borderColor: c.color, backgroundColor: c.color, data: pctValues(c), tension: 0, pointRadius: 3 };
    }) }, options: base('Latency distribution: value at each percentile (µs, log scale)', {
      scales: { x: { title: { display: true, text: 'percentile' } }, y: { type: 'logarithmic', title: { display: true, text: 'µs' } } } }) });
    make('chart-throughput', { type: 'bar', plugins: [errorBars(fpsRanges, 'y')], data: { labels: labels, datasets: [
      { label: 'frames/s', yAxisID: 'y', backgroundColor: cs.map(function (c) { return c.color; }), data: cs.map(function (c) { return c.fps; }) },
      { label: 'GB/s (right axis)', yAxisID: 'y1', backgroundColor: '#777777', data: cs.map(function (c) { return c.gbps; }) }
    ] }, options: base('Throughput', { scales: {
      y: { beginAtZero: true, suggestedMax: rangeMax(fpsRanges), title: { display: true, text: 'frames/s' } },
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
    st.setAttribute('data-whiskers', String(charts.reduce(function (n, c) { return n + (c.$fbWhiskers || 0); }, 0)));
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
