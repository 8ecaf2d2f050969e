import type { AbOutcome, AbRow } from '../core/gate-ab';
import { renderTable } from './table';

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
const pct = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%` : '-');

/** The change column: '+12.3% [+8.1%, +15.0%]' for CPU, '+1.000' passes for the exact checks. */
function change(r: AbRow): string {
  if (r.change) return r.change.n ? `${pct(r.change.median)} [${pct(r.change.lo)}, ${pct(r.change.hi)}]` : '-';
  if (r.delta === undefined) return '-';
  const widened = r.bound !== undefined && r.bound > 0 ? ` (bound ${r.bound.toFixed(2)})` : '';
  return `${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(3)}${widened}`;
}

function cells(r: AbRow): string[] {
  return [r.transport, r.metric, fmt(r.base), fmt(r.head), change(r), r.verdict === 'regression' ? 'REGRESSION' : r.verdict];
}

const HEADER = ['transport', 'metric', 'base', 'head', 'paired change [interval]', 'verdict'];

function title(o: AbOutcome): string {
  return `head (${o.head.commit?.slice(0, 12) ?? 'unknown'}${o.head.dirty ? ', uncommitted changes' : ''}) against ${o.base.ref} (${o.base.commit.slice(0, 12)})`;
}

function rule(o: AbOutcome): string {
  return `${o.rounds} paired rounds on this machine${o.scenario ? ` (${o.scenario})` : ''}; CPU (copy-equivalents) fails when the interval of the per-round changes lies wholly above 0 and their median exceeds +${Math.round(o.threshold * 100)}%; passes per frame fail above +${o.passesTolerance}, or above the sides' own spread across rounds plus a fifth of that where it is wider.`;
}

export function verdictLine(o: AbOutcome): string {
  return o.failed.length ? `gate: FAIL (${o.failed.length} regression(s): ${[...new Set(o.failed.map((f) => f.transport))].join(', ')})` : o.unmeasured.length ? 'gate: could not measure' : 'gate: pass';
}

export function renderAbTerminal(o: AbOutcome): string {
  const lines = [title(o), renderTable(HEADER, o.rows.map(cells), 2), rule(o)];
  for (const s of o.skipped) lines.push(`skipped (cannot run here): ${s.transport}: ${s.reason}`);
  for (const f of o.failed) lines.push(`REGRESSION: ${f.transport} ${f.metric} ${change(f)}`);
  for (const u of o.unconfirmed ?? []) lines.push(`not confirmed (noise): ${u.transport} ${u.metric} ${change(u)} once, not in the confirmation rounds`);
  for (const u of o.unmeasured) lines.push(`not measured: ${u}`);
  lines.push(verdictLine(o));
  return lines.join('\n') + '\n';
}

export function renderAbMarkdown(o: AbOutcome): string {
  const head = o.failed.length ? `❌ framebench gate: ${o.failed.length} regression(s)` : o.unmeasured.length ? '⚠️ framebench gate: could not measure' : '✅ framebench gate: pass';
  return [
    `### ${head}`,
    '',
    `${title(o)}. ${rule(o)}`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...o.rows.map((r) => `| ${cells(r).join(' | ')} |`),
    '',
    ...o.skipped.map((s) => `- skipped (cannot run here): ${s.transport}: ${s.reason}`),
    ...(o.unconfirmed ?? []).map((u) => `- not confirmed (noise): ${u.transport} ${u.metric} ${change(u)}`),
    ...o.unmeasured.map((u) => `- not measured: ${u}`),
    '',
  ].join('\n');
}
