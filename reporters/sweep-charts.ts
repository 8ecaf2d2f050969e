import type { RunResult } from '../core/result';
import { seriesId, seriesLabel, type SweepSummary } from '../core/sweep';
import { jsonForScript, transportColor } from './html-charts';
import { crossingLines, producerCurves, sweepOf, sweepTables } from './sweep';

/**
 * The sweep's part of the HTML report (docs/sweeps.md): CPU per frame against frame bytes on log axes (one
 * colour per transport, each size's median with its interval over rounds as an error bar, the fitted law as
 * a line, the crossing points with their interval as horizontal bars), throughput and consumer CPU against
 * producers, CPU per second against fps with its law; and the fitted terms as tables. Drawn by Chart.js (inlined
 * by reporters/html.ts before this script); the page writes #fb-sweep-status (charts, painted, whiskers, errors)
 * so a headless check can tell it rendered.
 */

interface XY { x: number; y: number; lo: number | null; hi: number | null }
interface Line { transport: string; color: string; points: XY[]; law: { fixed: number; slope: number; linear: boolean } | null }
interface Panel { id: string; label: string; lines: Line[]; crossings: Array<{ a: string; b: string; x: number; lo: number | null; hi: number | null; y: number }> }
export interface SweepChartData {
  size: Panel[];
  fps: Panel[];
  producers: Array<{ label: string; lines: Array<{ transport: string; color: string; points: Array<{ x: number; fps: number; fpsLo: number; fpsHi: number; cons: number; consLo: number; consHi: number }> }> }>;
}

const num = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

export function sweepChartData(run: RunResult, s: SweepSummary): SweepChartData {
  const size = new Map<string, Panel>();
  for (const l of s.sizeLaws) {
    const id = `${seriesId(l)}|${l.side}`;
    const p = size.get(id) ?? { id, label: `${seriesLabel(l)} · ${l.side} CPU`, lines: [], crossings: [] };
    p.lines.push({
      transport: l.transport, color: transportColor(run, l.transport),
      points: l.fit.residuals.map((r) => ({ x: r.x, y: r.y, lo: num(r.lo), hi: num(r.hi) })),
      law: { fixed: l.fit.fixed, slope: l.fit.slope, linear: l.fit.linear },
    });
    size.set(id, p);
  }
  for (const c of s.crossings) {
    const p = size.get(`${seriesId(c)}|total`);
    const law = p?.lines.find((x) => x.transport === c.a)?.law;
    if (!p || !law || !(c.bytes !== null && c.bytes > 0 && c.crossShare >= 0.5)) continue;
    p.crossings.push({ a: c.a, b: c.b, x: c.bytes, lo: num(c.bytesIv[0]), hi: num(c.bytesIv[1]), y: law.fixed + law.slope * c.bytes });
  }
  const fps = new Map<string, Panel>();
  for (const l of s.fpsLaws) {
    const id = seriesId(l);
    const p = fps.get(id) ?? { id, label: seriesLabel(l), lines: [], crossings: [] };
    p.lines.push({
      transport: l.transport, color: transportColor(run, l.transport),
      points: l.fit.residuals.map((r) => ({ x: r.x, y: r.y, lo: num(r.lo), hi: num(r.hi) })),
      law: { fixed: l.fit.fixed, slope: l.fit.slope, linear: l.fit.linear },
    });
    fps.set(id, p);
  }
  const prod = new Map<string, SweepChartData['producers'][number]>();
  for (const c of producerCurves(s)) {
    const g = prod.get(c.label) ?? { label: c.label, lines: [] };
    g.lines.push({
      transport: c.transport, color: transportColor(run, c.transport),
      points: c.points.map((p) => ({ x: p.producers, fps: p.fps.median, fpsLo: p.fps.lo, fpsHi: p.fps.hi, cons: p.cpuUsPerFrame.consumer.median, consLo: p.cpuUsPerFrame.consumer.lo, consHi: p.cpuUsPerFrame.consumer.hi })),
    });
    prod.set(c.label, g);
  }
  // total CPU first: the panel a reader wants
  const panels = [...size.values()].sort((a, b) => Number(b.id.endsWith('|total')) - Number(a.id.endsWith('|total')));
  return { size: panels, fps: [...fps.values()], producers: [...prod.values()] };
}

function table(t: { title: string; header: string[]; rows: string[][]; note: string }, id: string): string {
  return `<h3>${esc(t.title)}</h3><div class="scroll"><table id="${id}"><thead><tr>${t.header.map((h, i) => `<th${i < 3 ? ' class="l"' : ''}>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    t.rows.map((r) => `<tr>${r.map((v, i) => `<td${i < 3 ? ' class="l"' : ''}>${esc(v)}</td>`).join('')}</tr>`).join('') +
    `</tbody></table></div><p class="note">${esc(t.note)}</p>`;
}

/** The sweep section (h2, charts, tables, crossings) and its script; '' when the run swept nothing. */
export function renderSweepHtml(run: RunResult): string {
  const s = sweepOf(run);
  if (!s) return '';
  const data = sweepChartData(run, s);
  const canvases = [
    data.size.length ? '<div class="chart"><canvas class="fb-sweep-chart" id="sweep-size"></canvas></div>' : '',
    data.producers.length ? '<div class="chart"><canvas class="fb-sweep-chart" id="sweep-producers"></canvas></div>' : '',
    data.fps.length ? '<div class="chart"><canvas class="fb-sweep-chart" id="sweep-fps"></canvas></div>' : '',
  ].join('');
  const picks = [
    data.size.length > 1 ? '<label>Size series: <select id="sweep-size-pick"></select></label> ' : '',
    data.producers.length > 1 ? '<label>Producer series: <select id="sweep-producers-pick"></select></label> ' : '',
    data.fps.length > 1 ? '<label>Fps series: <select id="sweep-fps-pick"></select></label>' : '',
  ].join('');
  const cross = crossingLines(s);
  return `<h2 id="sweep">Sweep: how cost grows with the work</h2>${picks}<div class="grid">${canvases}</div>` +
    `<p id="fb-sweep-status" class="err" data-charts="0" data-painted="0" data-whiskers="0" data-errors="[]"></p>` +
    (cross.length ? `<h3>Where the lines cross (total CPU per frame)</h3><ul class="ratios" id="sweep-crossings">${cross.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` : '') +
    sweepTables(s).map((t, i) => table(t, `sweep-table-${i}`)).join('') +
    `<script type="application/json" id="fb-sweep-data">${jsonForScript(data)}</script>`;
}

/** Runs after Chart.js and the page's own charts. */
export const SWEEP_PAGE_JS = `
(function () {
  var el = document.getElementById('fb-sweep-data');
  if (!el) return;
  var data = JSON.parse(el.textContent);
  var charts = {};
  var whiskers = {};
  // log axis labels at 1, 2 and 5 of each decade only, in decimal units (the ticks fall on decimal values)
  function decimalTick(v, bytes) {
    var m = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
    if ([1, 2, 5].every(function (k) { return Math.abs(m - k) > 1e-6; })) return '';
    if (!bytes) return v.toLocaleString('en-US');
    return v >= 1e6 ? +(v / 1e6).toFixed(1) + ' MB' : v >= 1e3 ? +(v / 1e3).toFixed(1) + ' kB' : String(v);
  }
  // error bars: datasets carrying fbRanges ([lo, hi] on y, or on x with fbAxis 'x') get whiskers with caps
  var bars = { id: 'fbSweepBars', afterDatasetsDraw: function (chart) {
    var ctx = chart.ctx, n = 0;
    ctx.save();
    chart.data.datasets.forEach(function (ds, d) {
      if (!ds.fbRanges) return;
      var meta = chart.getDatasetMeta(d);
      if (meta.hidden) return;
      var ax = chart.scales[ds.fbAxis === 'x' ? 'x' : (ds.yAxisID || 'y')];
      ctx.strokeStyle = ds.borderColor || '#222';
      ctx.lineWidth = 1.5;
      ds.fbRanges.forEach(function (r, i) {
        var pt = meta.data[i];
        if (!r || r[0] === null || r[1] === null || !pt) return;
        var a = ax.getPixelForValue(r[0]), b = ax.getPixelForValue(r[1]);
        if (!isFinite(a) || !isFinite(b)) return;
        ctx.beginPath();
        if (ds.fbAxis === 'x') { ctx.moveTo(a, pt.y); ctx.lineTo(b, pt.y); ctx.moveTo(a, pt.y - 5); ctx.lineTo(a, pt.y + 5); ctx.moveTo(b, pt.y - 5); ctx.lineTo(b, pt.y + 5); }
        else { ctx.moveTo(pt.x, a); ctx.lineTo(pt.x, b); ctx.moveTo(pt.x - 4, a); ctx.lineTo(pt.x + 4, a); ctx.moveTo(pt.x - 4, b); ctx.lineTo(pt.x + 4, b); }
        ctx.stroke();
        n++;
      });
    });
    ctx.restore();
    whiskers[chart.canvas.id] = n;
  } };
  function opts(title, x, y) {
    return { responsive: true, maintainAspectRatio: false, animation: false, parsing: false,
      plugins: { title: { display: true, text: title }, legend: { position: 'bottom' } }, scales: { x: x, y: y } };
  }
  function make(id, cfg) {
    if (charts[id]) charts[id].destroy();
    cfg.plugins = [bars];
    charts[id] = new Chart(document.getElementById(id).getContext('2d'), cfg);
  }
  function lawLine(l, xs, label) {
    var lo = Math.min.apply(null, xs), hi = Math.max.apply(null, xs), pts = [];
    for (var i = 0; i <= 40; i++) { var x = lo * Math.pow(hi / lo, i / 40); pts.push({ x: x, y: l.law.fixed + l.law.slope * x }); }
    return { type: 'line', label: label, data: pts, borderColor: l.color, backgroundColor: l.color, pointRadius: 0, borderWidth: 1.5,
      borderDash: l.law.linear ? [] : [6, 4], fill: false };
  }
  function points(l, label) {
    return { type: 'scatter', label: label, data: l.points.map(function (p) { return { x: p.x, y: p.y }; }), borderColor: l.color,
      backgroundColor: l.color, pointRadius: 4, fbRanges: l.points.map(function (p) { return [p.lo, p.hi]; }) };
  }
  function drawSize(p) {
    var ds = [];
    p.lines.forEach(function (l) {
      ds.push(points(l, l.transport + ' (median, interval over rounds)'));
      if (l.law) ds.push(lawLine(l, l.points.map(function (q) { return q.x; }), l.transport + ' law' + (l.law.linear ? '' : ' (not linear)')));
    });
    if (p.crossings.length) ds.push({ type: 'scatter', label: 'crossings (95% interval)', pointStyle: 'crossRot', pointRadius: 8, borderWidth: 2,
      borderColor: '#000000', backgroundColor: '#000000', fbAxis: 'x',
      data: p.crossings.map(function (c) { return { x: c.x, y: c.y }; }), fbRanges: p.crossings.map(function (c) { return [c.lo, c.hi]; }) });
    make('sweep-size', { type: 'scatter', data: { datasets: ds }, options: opts('CPU per frame against frame bytes (log axes): ' + p.label,
      { type: 'logarithmic', title: { display: true, text: 'frame bytes' }, ticks: { autoSkip: false, maxRotation: 0, callback: function (v) { return decimalTick(v, true); } } },
      { type: 'logarithmic', title: { display: true, text: 'CPU µs per frame' }, ticks: { autoSkip: false, callback: function (v) { return decimalTick(v, false); } } }) });
  }
  function drawFps(p) {
    var ds = [];
    p.lines.forEach(function (l) {
      ds.push(points(l, l.transport));
      if (l.law) ds.push(lawLine(l, [0.001].concat(l.points.map(function (q) { return q.x; })), l.transport + ' idle + per frame x fps'));
    });
    make('sweep-fps', { type: 'scatter', data: { datasets: ds }, options: opts('CPU per second against frame rate: ' + p.label,
      { type: 'linear', beginAtZero: true, title: { display: true, text: 'fps asked' } }, { type: 'linear', beginAtZero: true, title: { display: true, text: 'CPU µs per second' } }) });
  }
  function drawProducers(g) {
    var ds = [];
    g.lines.forEach(function (l) {
      ds.push({ type: 'line', label: l.transport + ' frames/s', yAxisID: 'y', borderColor: l.color, backgroundColor: l.color, pointRadius: 4,
        data: l.points.map(function (p) { return { x: p.x, y: p.fps }; }), fbRanges: l.points.map(function (p) { return [p.fpsLo, p.fpsHi]; }) });
      ds.push({ type: 'line', label: l.transport + ' consumer µs/frame', yAxisID: 'y1', borderColor: l.color, backgroundColor: l.color, borderDash: [5, 4], pointStyle: 'rect', pointRadius: 4,
        data: l.points.map(function (p) { return { x: p.x, y: p.cons }; }), fbRanges: l.points.map(function (p) { return [p.consLo, p.consHi]; }) });
    });
    var o = opts('Throughput (solid) and consumer CPU per frame (dashed) against producers: ' + g.label,
      { type: 'linear', title: { display: true, text: 'producers' }, ticks: { stepSize: 1 } }, { beginAtZero: true, title: { display: true, text: 'frames/s' } });
    o.scales.y1 = { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'consumer CPU µs/frame' } };
    make('sweep-producers', { type: 'line', data: { datasets: ds }, options: o });
  }
  function picker(id, list, draw) {
    if (!list.length) return;
    var sel = document.getElementById(id);
    if (sel) {
      list.forEach(function (p, i) { var o = document.createElement('option'); o.value = String(i); o.textContent = p.label; sel.appendChild(o); });
      sel.addEventListener('change', function () { draw(list[Number(sel.value)]); report(); });
    }
    draw(list[0]);
  }
  function report() {
    var painted = 0;
    document.querySelectorAll('canvas.fb-sweep-chart').forEach(function (cv) {
      try {
        var blank = document.createElement('canvas');
        blank.width = cv.width; blank.height = cv.height;
        if (cv.width > 0 && cv.height > 0 && cv.toDataURL() !== blank.toDataURL()) painted++;
      } catch (e) { window.__fbErrors.push('sweep toDataURL: ' + e); }
    });
    var st = document.getElementById('fb-sweep-status');
    st.setAttribute('data-charts', String(Object.keys(charts).length));
    st.setAttribute('data-painted', String(painted));
    st.setAttribute('data-whiskers', String(Object.keys(whiskers).reduce(function (n, k) { return n + whiskers[k]; }, 0)));
    st.setAttribute('data-errors', JSON.stringify(window.__fbErrors || []));
    st.textContent = (window.__fbErrors || []).length ? 'Chart errors: ' + window.__fbErrors.join('; ') : '';
  }
  try {
    if (typeof Chart === 'undefined') throw new Error('Chart.js did not load');
    picker('sweep-size-pick', data.size, drawSize);
    picker('sweep-producers-pick', data.producers, drawProducers);
    picker('sweep-fps-pick', data.fps, drawFps);
  } catch (e) { (window.__fbErrors = window.__fbErrors || []).push(String(e && e.message || e)); }
  report();
})();
`;
