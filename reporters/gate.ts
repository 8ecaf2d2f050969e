import type { GateOutcome, GateRow, GateSettings } from '../core/gate';
import { renderTable } from './table';

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
const sign = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(3)}` : '-');

function cells(r: GateRow): string[] {
  return [r.transport, r.metric, fmt(r.baseline), fmt(r.current), sign(r.change), fmt(r.bound), r.verdict === 'regression' ? 'REGRESSION' : r.verdict];
}

const HEADER = ['transport', 'metric', 'baseline', 'current', 'change', 'allowed', 'verdict'];

export function renderGateTerminal(o: GateOutcome, note = ''): string {
  const lines = [renderTable(HEADER, o.rows.map(cells), 2)];
  if (note) lines.push(note);
  for (const f of o.failed) lines.push(`REGRESSION: ${f.transport} ${f.metric} rose ${sign(f.change)} (allowed ${fmt(f.bound)})`);
  for (const u of o.unconfirmed ?? []) lines.push(`not confirmed (noise): ${u.transport} ${u.metric} rose ${sign(u.change)} once, not on the second measurement`);
  for (const u of o.unmeasured) lines.push(`not measured: ${u}`);
  lines.push(o.failed.length ? `gate: FAIL (${o.failed.length} regression(s))` : o.unmeasured.length ? 'gate: could not measure' : 'gate: pass');
  return lines.join('\n') + '\n';
}

export function renderGateMarkdown(o: GateOutcome, s: GateSettings, note = ''): string {
  const head = o.failed.length ? `❌ framebench gate: ${o.failed.length} regression(s)` : o.unmeasured.length ? '⚠️ framebench gate: could not measure' : '✅ framebench gate: pass';
  const rows = o.rows.map((r) => `| ${cells(r).join(' | ')} |`);
  return [
    `### ${head}`,
    '',
    `${s.scenario} ${s.format} ${s.resolution} at ${s.fps} fps, ${s.repeats} repeats of ${s.durationS} s; CPU fails above +${Math.round(s.threshold * 100)}% and the measured noise, passes above +${s.passesTolerance}.`,
    note ? `\n${note}\n` : '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...rows,
    '',
  ].join('\n');
}
