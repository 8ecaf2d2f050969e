import { readFileSync, writeFileSync } from 'node:fs';
import { fbError } from '../core/errors';
import type { TortureSummary } from './types';

/**
 * Renders a torture summary: one row per transport (cases tried, faults survived, bad inputs
 * survived, frames lost unreported, leaks) and a total row; failures listed under it. The same
 * rows go to the terminal, to Markdown (for the docs, via --update-doc docs/reliability-and-security.md) and, whole, to JSON.
 */
export const DOC_BEGIN = '<!-- torture:begin -->';
export const DOC_END = '<!-- torture:end -->';

interface Row {
  transport: string;
  cases: number;
  faults: string;
  badInputs: string;
  lost: number;
  leaks: number;
}

function rows(s: TortureSummary): Row[] {
  const names = [...new Set(s.cases.map((c) => c.transport))];
  const row = (name: string, cs: TortureSummary['cases']): Row => {
    const f = cs.filter((c) => c.group !== 'malformed');
    const b = cs.filter((c) => c.group === 'malformed');
    return {
      transport: name,
      cases: cs.length,
      faults: f.length ? `${f.filter((c) => c.ok).length}/${f.length}` : '-',
      badInputs: b.length ? `${b.filter((c) => c.ok).length}/${b.length}` : '-',
      lost: cs.reduce((a, c) => a + c.framesLostUnreported, 0),
      leaks: cs.reduce((a, c) => a + c.leaks.length, 0),
    };
  };
  return [...names.map((n) => row(n, s.cases.filter((c) => c.transport === n))), row('total', s.cases)];
}

const HEAD = ['transport', 'cases', 'faults survived', 'bad inputs survived', 'frames lost unreported', 'leaks'];
const cells = (r: Row): string[] => [r.transport, String(r.cases), r.faults, r.badInputs, String(r.lost), String(r.leaks)];

function failures(s: TortureSummary): string[] {
  return s.cases.filter((c) => !c.ok).map((c) => `${c.transport} ${c.group} '${c.name}': expected ${c.expected.join('|')}, got ${c.got}; ${c.detail}${c.leaks.length ? `; leaks: ${c.leaks.join(', ')}` : ''}`);
}

function settingsLine(s: TortureSummary): string {
  const took = Math.round((Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000);
  return `bench torture${s.settings.quick ? ' --quick' : ''} --soak-seconds ${s.settings.soakSeconds} --seed ${s.settings.seed}: ${s.settings.transports.length} transports, ${took} s, ${s.finishedAt.slice(0, 10)}`;
}

export function renderTortureTerminal(s: TortureSummary): string {
  const all = [HEAD, ...rows(s).map(cells)];
  const w = HEAD.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  const out = [line(HEAD), w.map((n) => '─'.repeat(n)).join('  '), ...all.slice(1).map(line)];
  const t = s.totals;
  out.push('', settingsLine(s));
  out.push(`faults survived ${t.faultsSurvived}/${t.faultsInjected}, bad inputs survived ${t.badInputsSurvived}/${t.badInputsTried}, frames lost unreported ${t.framesLostUnreported}, leaks ${t.leaksFound}`);
  for (const k of s.skipped) out.push(`skipped: ${k.transport} ${k.what}: ${k.reason}`);
  for (const f of failures(s)) out.push(`FAILED: ${f}`);
  out.push(s.ok ? 'torture: every case survived' : `torture: ${t.failures} case(s) failed`);
  return out.join('\n') + '\n';
}

export function renderTortureMarkdown(s: TortureSummary): string {
  const md = (r: string[]): string => `| ${r.join(' | ')} |`;
  const out = [`\`${settingsLine(s)}\``, '', md(HEAD), md(HEAD.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows(s).map((r) => md(cells(r)))];
  const groups = new Map<string, { tried: number; survived: number }>();
  for (const g of s.byGroup) {
    const e = groups.get(g.group) ?? { tried: 0, survived: 0 };
    e.tried += g.tried;
    e.survived += g.survived;
    groups.set(g.group, e);
  }
  out.push('', `By kind: ${[...groups].map(([g, e]) => `${g} ${e.survived}/${e.tried}`).join(', ')}.`);
  if (s.skipped.length) out.push('', ...s.skipped.map((k) => `- not tried: ${k.transport} ${k.what} — ${k.reason}`));
  const f = failures(s);
  if (f.length) out.push('', ...f.map((x) => `- **FAILED** ${x}`));
  out.push('', s.ok ? '**Every case survived.**' : `**${s.totals.failures} case(s) failed.**`);
  return out.join('\n') + '\n';
}

/** Rewrites the text between the torture markers in `file` with `markdown`. */
export function updateDoc(file: string, markdown: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw fbError('FB_ERR_USAGE', `--update-doc: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const a = text.indexOf(DOC_BEGIN);
  const b = text.indexOf(DOC_END);
  if (a < 0 || b < a) throw fbError('FB_ERR_USAGE', `--update-doc: ${file} has no '${DOC_BEGIN}' ... '${DOC_END}' markers`);
  writeFileSync(file, `${text.slice(0, a + DOC_BEGIN.length)}\n${markdown}${text.slice(b)}`);
}
