import { fbError } from '../core/errors';

/** One command-line option, declared once: parsing and help both come from this. */
export interface OptionDef {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'list';
  help: string;
  /** Shown in help as the value's name, e.g. 'N' or 'ws,unix|all'. */
  arg?: string;
}

export interface Parsed {
  values: Record<string, string | number | boolean | string[]>;
  positionals: string[];
}

export function parseOptions(argv: string[], defs: OptionDef[]): Parsed {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const values: Parsed['values'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const def = byName.get(name);
    if (!def) throw fbError('FB_ERR_USAGE', `unknown option --${name} (see --help)`);
    if (def.type === 'boolean') {
      if (eq > 0) throw fbError('FB_ERR_USAGE', `--${name} takes no value`);
      values[name] = true;
      continue;
    }
    let v: string;
    if (eq > 0) v = a.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw fbError('FB_ERR_USAGE', `--${name} needs a value`);
      v = argv[++i];
    }
    if (def.type === 'number') {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) throw fbError('FB_ERR_BAD_NUMBER', `--${name} needs a number, got '${v}'`);
      values[name] = n;
    } else if (def.type === 'list') {
      values[name] = v.split(',').map((s) => s.trim()).filter(Boolean);
    } else {
      values[name] = v;
    }
  }
  return { values, positionals };
}

export function renderHelp(usage: string, summary: string, defs: OptionDef[]): string {
  const rows = defs.map((d) => [`--${d.name}${d.type === 'boolean' ? '' : ` ${d.arg ?? d.type.toUpperCase()}`}`, d.help]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return `${usage}\n\n${summary}\n\nOptions:\n${rows.map(([a, h]) => `  ${a.padEnd(w)}  ${h}`).join('\n')}\n`;
}
