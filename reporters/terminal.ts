import type { CaseResult, RunResult } from '../core/result';
import { resolutionLabel } from '../core/spec';
import { fmtBytes, fmtNum, fmtUs } from './format';
import { renderTable } from './table';

function groupKey(r: CaseResult): string {
  const res = r.width ? resolutionLabel(r.width, r.height) : 'mixed sizes';
  return `${r.scenario} · ${r.format.toUpperCase()} ${res} · ${fmtBytes(r.frameBytes)}/frame${r.producers > 1 ? ` · ${r.producers} producers` : ''}`;
}

function passes(r: CaseResult): string {
  if (!r.copies) return '-';
  return `${r.copies.framePasses.producer.toFixed(2)}/${r.copies.framePasses.consumer.toFixed(2)}`;
}

function group(rows: CaseResult[]): string {
  const ok = rows.filter((r) => r.status === 'ok');
  const best = ok.length > 1 ? Math.min(...ok.map((r) => r.cpuUsPerFrame.total)) : NaN;
  const worst = ok.length > 1 ? Math.max(...ok.map((r) => r.cpuUsPerFrame.total)) : NaN;
  const header = ['transport', 'CPU µs/f prod', 'cons', 'total', 'copy-eq', 'passes P/C', 'kernel B/f P/C', 'fps', 'GB/s', 'p50', 'p99', 'p99.9', 'max', 'drops', 'status'];
  const body = rows.map((r) => {
    const mark = (r.inProcess ? ' (in-process)' : '') + (r.cpuUsPerFrame.total === best ? ' ▼' : r.cpuUsPerFrame.total === worst ? ' ▲' : '');
    if (r.status !== 'ok' && r.framesReceived === 0) {
      return [r.transport + mark, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', `${r.status}`];
    }
    return [
      r.transport + mark,
      fmtNum(r.cpuUsPerFrame.producer),
      fmtNum(r.cpuUsPerFrame.consumer),
      fmtNum(r.cpuUsPerFrame.total),
      r.copyEquivalents.toFixed(2),
      passes(r),
      `${fmtBytes(r.kernelBytesPerFrame.producer)}/${fmtBytes(r.kernelBytesPerFrame.consumer)}`,
      fmtNum(r.fps, 1),
      r.gbps.toFixed(2),
      fmtUs(r.latencyUs.p50),
      fmtUs(r.latencyUs.p99),
      fmtUs(r.latencyUs.p999),
      fmtUs(r.latencyUs.max),
      fmtNum(r.framesDropped),
      r.status,
    ];
  });
  const frames = rows.reduce((a, r) => a + r.framesReceived, 0);
  const samples = rows.reduce((a, r) => a + r.latencyUs.count, 0);
  const servers = rows.filter((r) => r.cpuUsPerFrame.server !== undefined).map((r) => `; ${r.transport}: its server's CPU ${fmtNum(r.cpuUsPerFrame.server ?? 0)} µs/f (counted in total)`);
  const footer = `  ${rows.length} transport(s), ${fmtNum(frames)} frames received, ${fmtNum(samples)} latency samples; ▼ least CPU/frame, ▲ most${servers.join('')}`;
  return `${groupKey(rows[0])}\n${renderTable(header, body)}\n${footer}`;
}

/** The run as terminal tables: one per scenario and format, one row per transport. */
export function renderTerminal(run: RunResult): string {
  const groups = new Map<string, CaseResult[]>();
  for (const r of run.results) {
    const k = `${r.scenario}|${r.format}|${r.width}x${r.height}|${r.producers}`;
    const g = groups.get(k) ?? [];
    g.push(r);
    groups.set(k, g);
  }
  const parts = [...groups.values()].map(group);
  const cal = run.calibration;
  parts.push(
    `calibration: one cache-cold memcpy of a ${fmtBytes(Number(Object.keys(cal.memcpyUsByFrameBytes)[0] ?? 0))} frame = ${fmtUs(cal.memcpyUsPerFrame)} (${cal.memcpyGBps} GB/s); copy-eq = total CPU per frame / that`,
  );
  for (const s of run.skipped ?? []) parts.push(`skipped ${s.transport}: ${s.reason}`);
  const errors = run.results.filter((r) => r.status !== 'ok');
  for (const r of errors) parts.push(`${r.transport} ${r.scenario} ${r.format}: ${r.status}${r.error ? ` — ${r.error}` : ''}`);
  if (!run.complete) parts.push('INCOMPLETE: the run was interrupted; the cases above are the ones measured.');
  return parts.join('\n\n') + '\n';
}
