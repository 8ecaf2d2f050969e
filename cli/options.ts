import { parseArgs } from 'node:util';
import { fbError } from '../core/errors';

/** One command-line option, declared once: parsing and help both come from this. */
export interface OptionDef {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'list';
  help: string;
  /** Shown in help as the value's name, e.g. 'N' or 'ws,unix|all'. */
  arg?: string;
  /** One-letter alias, e.g. 'h' for --help. */
  short?: string;
}

export interface Parsed {
  values: Record<string, string | number | boolean | string[]>;
  positionals: string[];
}

/** Options every command takes; added to each command's list unless it declares them itself. */
export const COMMON_OPTIONS: OptionDef[] = [
  { name: 'help', short: 'h', type: 'boolean', help: 'show this help' },
  { name: 'quiet', short: 'q', type: 'boolean', help: 'print only errors and the data asked for (no progress, no tables)' },
];

export function withCommon(defs: OptionDef[]): OptionDef[] {
  return [...defs.filter((d) => d.name !== 'help' && d.name !== 'quiet'), ...COMMON_OPTIONS];
}

/** Edit distance (insert, delete, substitute, swap of neighbours), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate to `word` (a prefix of it, or within a third of its length in edits), or null. */
export function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 3 ? 0.5 : editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== null && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : null;
}

export function didYouMean(word: string, candidates: string[], prefix = ''): string {
  const c = closest(word, candidates);
  return c === null ? '' : ` (did you mean ${prefix}${c}?)`;
}

/**
 * Parses argv against `defs` (plus --help/-h and --quiet/-q) with node:util parseArgs: `--name value`,
 * `--name=value`, `-x`, `--` ends options. Strict: an unknown option, a missing value, a value given to
 * a flag and a repeated option are FB_ERR_USAGE; a non-number for a number option is FB_ERR_BAD_NUMBER.
 * `command` names the command in messages ('bench run').
 */
export function parseOptions(argv: string[], defs: OptionDef[], command = 'bench'): Parsed {
  const all = withCommon(defs);
  const byName = new Map(all.map((d) => [d.name, d]));
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const d of all) config[d.name] = { type: d.type === 'boolean' ? 'boolean' : 'string', ...(d.short ? { short: d.short } : {}) };
  let tokens;
  try {
    tokens = parseArgs({ args: argv, options: config, strict: false, allowPositionals: true, tokens: true }).tokens;
  } catch (e) {
    throw fbError('FB_ERR_USAGE', `${command}: ${(e as Error).message}`);
  }
  const values: Parsed['values'] = {};
  const positionals: string[] = [];
  const see = `(see ${command} --help)`;
  for (const t of tokens) {
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.kind !== 'option') continue;
    const def = byName.get(t.name);
    if (!def) {
      const hint = t.rawName.startsWith('--') ? didYouMean(t.name, all.map((d) => d.name), '--') : '';
      throw fbError('FB_ERR_USAGE', `${command}: unknown option ${t.rawName}${hint || ` ${see}`}`);
    }
    if (values[def.name] !== undefined) throw fbError('FB_ERR_USAGE', `${command}: --${def.name} given twice`);
    if (def.type === 'boolean') {
      if (t.value !== undefined) throw fbError('FB_ERR_USAGE', `${command}: --${def.name} takes no value`);
      values[def.name] = true;
      continue;
    }
    const v = t.value;
    // `--fps --json`: parseArgs would take '--json' as the value; a value is never an option name
    if (v === undefined || (!t.inlineValue && v.startsWith('--'))) throw fbError('FB_ERR_USAGE', `${command}: --${def.name} needs a value ${see}`);
    values[def.name] = convert(def, v);
  }
  return { values, positionals };
}

function convert(def: OptionDef, v: string): string | number | string[] {
  if (def.type === 'number') {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw fbError('FB_ERR_BAD_NUMBER', `--${def.name} needs a number, got '${v}'`);
    return n;
  }
  if (def.type === 'list') return v.split(',').map((s) => s.trim()).filter(Boolean);
  return v;
}

/** Help text from the declarations: usage, summary, one line per option (wrapped to 100 columns). */
export function renderHelp(usage: string, summary: string, defs: OptionDef[]): string {
  const rows = withCommon(defs).map((d) => [
    `${d.short ? `-${d.short}, ` : '    '}--${d.name}${d.type === 'boolean' ? '' : ` ${d.arg ?? d.type.toUpperCase()}`}`,
    d.help,
  ]);
  const w = Math.min(40, Math.max(...rows.map((r) => r[0]!.length)));
  const lines = rows.map(([a, h]) => {
    const indent = ' '.repeat(w + 4);
    const wrapped = wrap(h!, Math.max(30, 100 - indent.length));
    // an option longer than the column gets a line of its own, its help below
    const lines = a!.length > w ? [`  ${a}`, ...wrapped.map((l) => indent + l)] : [`  ${a!.padEnd(w)}  ${wrapped[0]}`, ...wrapped.slice(1).map((l) => indent + l)];
    return lines.join('\n');
  });
  return `${usage}\n\n${summary}\n\nOptions:\n${lines.join('\n')}\n`;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(line);
  return out;
}

/** Refuses positionals for a command that takes none. */
export function noPositionals(p: Parsed, command: string): void {
  if (p.positionals.length > 0) throw fbError('FB_ERR_USAGE', `${command}: unexpected argument '${p.positionals[0]}' (see ${command} --help)`);
}
