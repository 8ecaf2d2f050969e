/**
 * A self-contained HTML flame graph (icicle: callers on top) from folded stacks ("a;b;c 12" lines), with
 * click-to-zoom, a table of the hottest functions by self time and the share of samples spent copying.
 * No external scripts or fonts.
 */

interface FlameNode {
  name: string;
  value: number;
  self: number;
  children: Map<string, FlameNode>;
}

const WIDTH = 1200;
const ROW = 17;
/** Frames narrower than this (px at full width) are not drawn. */
const MIN_PX = 0.4;

/** User-space copy routines (glibc) and kernel copy routines. */
export const LIBC_COPY_RE = /(^|[^a-z])(__)?mem(move|cpy)/i;
export const KERNEL_COPY_RE = /(copy_user|copy_to_iter|copy_from_iter|copy_page|rep_movs|_copy_to_user|_copy_from_user|memcpy_orig|memmove)[^;]*_\[k\]$/i;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

export function parseFolded(folded: string): { root: FlameNode; total: number } {
  const root: FlameNode = { name: 'all', value: 0, self: 0, children: new Map() };
  for (const line of folded.split('\n')) {
    const m = /^(.*)\s+(\d+)\s*$/.exec(line);
    if (!m || !m[1]) continue;
    const n = Number(m[2]);
    root.value += n;
    let node = root;
    for (const name of m[1].split(';')) {
      let child = node.children.get(name);
      if (!child) {
        child = { name, value: 0, self: 0, children: new Map() };
        node.children.set(name, child);
      }
      child.value += n;
      node = child;
    }
    node.self += n;
  }
  return { root, total: root.value };
}

function color(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  const j = h % 30;
  if (LIBC_COPY_RE.test(name) || KERNEL_COPY_RE.test(name)) return `hsl(0,85%,${55 + (j % 10)}%)`;
  if (name.endsWith('_[k]')) return `hsl(${25 + (j % 10)},80%,${60 + (j % 10)}%)`;
  if (name.startsWith('JS:') || /\.m?js:\d+/.test(name)) return `hsl(${95 + j},55%,${55 + (j % 10)}%)`;
  return `hsl(${45 + (j % 15)},75%,${55 + (j % 12)}%)`;
}

interface Box { name: string; x0: number; x1: number; depth: number; value: number }

function layout(root: FlameNode, total: number): { boxes: Box[]; depth: number } {
  const boxes: Box[] = [];
  let maxDepth = 0;
  const walk = (node: FlameNode, x0: number, depth: number) => {
    const x1 = x0 + node.value / total;
    if ((x1 - x0) * WIDTH < MIN_PX) return;
    boxes.push({ name: node.name, x0, x1, depth, value: node.value });
    maxDepth = Math.max(maxDepth, depth);
    let x = x0;
    for (const child of [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      walk(child, x, depth + 1);
      x += child.value / total;
    }
  };
  walk(root, 0, 0);
  return { boxes, depth: maxDepth + 1 };
}

function label(name: string, px: number): string {
  const chars = Math.floor((px - 6) / 6.6);
  if (chars < 3) return '';
  return name.length <= chars ? name : name.slice(0, chars - 2) + '..';
}

function hotTable(root: FlameNode, total: number): string {
  const self = new Map<string, number>();
  const walk = (n: FlameNode, depth: number) => {
    if (depth > 0 && n.self > 0) self.set(n.name, (self.get(n.name) ?? 0) + n.self);
    for (const c of n.children.values()) walk(c, depth + 1);
  };
  walk(root, 0);
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20);
  return `<table><thead><tr><th>self samples</th><th>%</th><th class="l">function</th></tr></thead><tbody>${top.map(([name, n]) =>
    `<tr><td>${n}</td><td>${((n / total) * 100).toFixed(1)}</td><td class="l">${esc(name)}</td></tr>`).join('')}</tbody></table>`;
}

/** Share of samples with a libc / kernel copy routine anywhere on the stack. */
export function copyShare(folded: string): { total: number; libc: number; kernel: number } {
  let total = 0;
  let libc = 0;
  let kernel = 0;
  for (const line of folded.split('\n')) {
    const m = /^(.*)\s+(\d+)\s*$/.exec(line);
    if (!m) continue;
    const n = Number(m[2]);
    const frames = m[1]!.split(';');
    total += n;
    if (frames.some((f) => LIBC_COPY_RE.test(f) && !f.endsWith('_[k]'))) libc += n;
    else if (frames.some((f) => KERNEL_COPY_RE.test(f))) kernel += n;
  }
  return { total, libc, kernel };
}

const ZOOM_JS = `
(function () {
  var W = ${WIDTH};
  var gs = Array.prototype.slice.call(document.querySelectorAll('#flame g.f'));
  function fit(name, px) { var c = Math.floor((px - 6) / 6.6); if (c < 3) return ''; return name.length <= c ? name : name.slice(0, c - 2) + '..'; }
  function zoom(x0, x1, d) {
    gs.forEach(function (g) {
      var a = +g.dataset.x0, b = +g.dataset.x1, gd = +g.dataset.d;
      var inside = a >= x0 - 1e-12 && b <= x1 + 1e-12 && gd >= d;
      var ancestor = gd < d && a <= x0 + 1e-12 && b >= x1 - 1e-12;
      if (!inside && !ancestor) { g.style.display = 'none'; return; }
      g.style.display = '';
      var nx = inside ? (a - x0) / (x1 - x0) * W : 0, nw = inside ? (b - a) / (x1 - x0) * W : W;
      var r = g.querySelector('rect'), t = g.querySelector('text');
      r.setAttribute('x', nx.toFixed(2)); r.setAttribute('width', Math.max(nw - 0.5, 0.1).toFixed(2));
      t.setAttribute('x', (nx + 3).toFixed(2)); t.textContent = fit(g.dataset.n, nw);
      g.style.opacity = ancestor ? '0.6' : '';
    });
  }
  gs.forEach(function (g) { g.addEventListener('click', function () { zoom(+g.dataset.x0, +g.dataset.x1, +g.dataset.d); }); });
  document.getElementById('reset').addEventListener('click', function () { zoom(0, 1, 0); });
})();
`;

export function renderFlameHtml(folded: string, title: string): string {
  const { root, total } = parseFolded(folded);
  const share = copyShare(folded);
  const pct = (n: number) => (share.total ? ((n / share.total) * 100).toFixed(1) : '0.0');
  let svg = '<p>No samples.</p>';
  if (total > 0) {
    const { boxes, depth } = layout(root, total);
    const height = depth * ROW + 4;
    const gs = boxes.map((b) => {
      const x = b.x0 * WIDTH;
      const w = (b.x1 - b.x0) * WIDTH;
      const y = b.depth * ROW;
      const name = b.depth === 0 ? `all (${total} samples)` : b.name;
      return `<g class="f" data-x0="${b.x0}" data-x1="${b.x1}" data-d="${b.depth}" data-n="${esc(name)}">` +
        `<title>${esc(name)} — ${b.value} samples (${((b.value / total) * 100).toFixed(2)}%)</title>` +
        `<rect x="${x.toFixed(2)}" y="${y}" width="${Math.max(w - 0.5, 0.1).toFixed(2)}" height="${ROW - 1}" rx="2" fill="${b.depth === 0 ? '#bbb' : color(b.name)}"/>` +
        `<text x="${(x + 3).toFixed(2)}" y="${y + ROW - 5}">${esc(label(name, w))}</text></g>`;
    });
    svg = `<svg id="flame" viewBox="0 0 ${WIDTH} ${height}" width="100%" xmlns="http://www.w3.org/2000/svg">${gs.join('')}</svg>`;
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:13px/1.4 system-ui,"DejaVu Sans",sans-serif;margin:16px;color:#1b1b1b}
#flame text{font:11px monospace;pointer-events:none;fill:#000}#flame g.f{cursor:pointer}#flame g.f:hover rect{stroke:#000;stroke-width:.6}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}.l{text-align:left}
.note{color:#555}
</style></head><body>
<h1 style="font-size:18px">${esc(title)}</h1>
<p><b>${total}</b> samples at ${999} Hz (cpu-clock). Copying: <b>${pct(share.libc)}%</b> of samples in libc memcpy/memmove,
<b>${pct(share.kernel)}%</b> in kernel copy routines. <span class="note">Red = copies, green = JavaScript, orange = kernel, yellow = native.
Callers on top; click a frame to zoom.</span> <button id="reset">Reset zoom</button></p>
${svg}
<h2 style="font-size:15px">Hottest functions (self time)</h2>
${total > 0 ? hotTable(root, total) : ''}
<script>${total > 0 ? ZOOM_JS : ''}</script>
</body></html>
`;
}
