import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fbError, toFbError } from '../core/errors';
import { flameLabelFromFile } from '../profile/flame';
import { RESULT_SCHEMA, type RunResult } from '../core/result';
import { computeCost, DEFAULT_COST_MODEL } from '../core/cost';
import { renderHtml } from '../reporters/html';
import { renderJson } from '../reporters/json';
import { renderMarkdown } from '../reporters/markdown';
import { renderTerminal } from '../reporters/terminal';
import { parseOptions, renderHelp, type OptionDef } from './options';

/** Where a command writes: stdout for the rendering, stderr for messages. Tests pass their own. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const processIo: CliIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export const REPORT_FORMATS = ['terminal', 'md', 'html', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const OPTIONS: OptionDef[] = [
  { name: 'format', type: 'string', arg: REPORT_FORMATS.join('|'), help: 'output format (default: from --out\'s extension, else terminal)' },
  { name: 'out', type: 'string', arg: 'FILE', help: 'write the report to FILE instead of stdout' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

export const REPORT_HELP = renderHelp(
  'Usage: bench report <results.json | run directory> [--format terminal|md|html|json] [--out FILE]',
  'Re-renders a saved run without measuring again. HTML is one self-contained file (works offline);\n' +
    'flame graphs in <run dir>/flame/*.html are linked from it.',
  OPTIONS,
);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the parts every reporter reads; throws FB_ERR_BAD_RESULT_FILE naming the first bad field. */
export function validateRunResult(v: unknown, file: string): RunResult {
  const bad = (what: string) => fbError('FB_ERR_BAD_RESULT_FILE', `${file}: ${what}`);
  if (!isObj(v)) throw bad('not a JSON object');
  if (v.schema !== RESULT_SCHEMA) throw bad(`schema is ${JSON.stringify(v.schema ?? null)}, expected "${RESULT_SCHEMA}"`);
  for (const k of ['host', 'settings', 'calibration']) if (!isObj(v[k])) throw bad(`missing "${k}" object`);
  if (!Array.isArray(v.results)) throw bad('"results" is not an array');
  v.results.forEach((r: unknown, i: number) => {
    if (!isObj(r)) throw bad(`results[${i}] is not an object`);
    for (const k of ['transport', 'scenario', 'format', 'status']) if (typeof r[k] !== 'string') throw bad(`results[${i}].${k} is not a string`);
    for (const k of ['cpuUsPerFrame', 'cpuDetailUsPerFrame', 'latencyUs', 'window']) if (!isObj(r[k])) throw bad(`results[${i}].${k} is missing`);
    for (const k of ['fps', 'gbps', 'copyEquivalents', 'frameBytes']) if (typeof r[k] !== 'number') throw bad(`results[${i}].${k} is not a number`);
  });
  return v as unknown as RunResult;
}

/** Loads and checks a saved run: a results.json file or a run directory that holds one. */
export function loadRunResult(path: string): RunResult {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, 'results.json');
  } catch {
    /* reported below */
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw fbError('FB_ERR_BAD_RESULT_FILE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fbError('FB_ERR_BAD_RESULT_FILE', `${file} is not JSON: ${(e as Error).message}`);
  }
  return validateRunResult(json, file);
}

function formatFor(opt: unknown, out: string | undefined): ReportFormat {
  if (typeof opt === 'string') {
    const f = opt === 'markdown' ? 'md' : opt;
    if (!(REPORT_FORMATS as readonly string[]).includes(f)) {
      throw fbError('FB_ERR_USAGE', `unknown report format '${opt}' (known: ${REPORT_FORMATS.join(', ')})`);
    }
    return f as ReportFormat;
  }
  const ext = out ? extname(out).toLowerCase() : '';
  return ext === '.html' || ext === '.htm' ? 'html' : ext === '.md' ? 'md' : ext === '.json' ? 'json' : 'terminal';
}

/** Flame graphs saved beside the run (`<run dir>/flame/*.html`), as label -> href relative to the report. */
export function findFlameLinks(resultsPath: string, reportDir: string): Record<string, string> {
  const runDir = statSync(resultsPath).isDirectory() ? resultsPath : dirname(resultsPath);
  const dir = join(runDir, 'flame');
  if (!existsSync(dir)) return {};
  const links: Record<string, string> = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.html')).sort()) {
    links[flameLabelFromFile(f)] = relative(reportDir, join(dir, f)).split('\\').join('/');
  }
  return links;
}

export function renderReport(run: RunResult, format: ReportFormat, flameLinks: Record<string, string> = {}): string {
  switch (format) {
    case 'terminal':
      return renderTerminal(run);
    case 'json':
      return renderJson(run);
    case 'md':
      return renderMarkdown(run, computeCost(run, DEFAULT_COST_MODEL));
    case 'html':
      return renderHtml(run, { cost: computeCost(run, DEFAULT_COST_MODEL), flameLinks });
  }
}

export async function reportCommand(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    const { values, positionals } = parseOptions(argv, OPTIONS);
    if (values.help) {
      io.out(REPORT_HELP);
      return 0;
    }
    if (positionals.length !== 1) {
      throw fbError('FB_ERR_USAGE', `bench report needs one results file, got ${positionals.length}\n${REPORT_HELP}`);
    }
    const src = positionals[0]!;
    const out = typeof values.out === 'string' ? values.out : undefined;
    const format = formatFor(values.format, out);
    const run = loadRunResult(src);
    const links = format === 'html' ? findFlameLinks(src, out ? dirname(resolve(out)) : process.cwd()) : {};
    const text = renderReport(run, format, links);
    if (!out) {
      io.out(text);
      return 0;
    }
    try {
      mkdirSync(dirname(resolve(out)), { recursive: true });
      writeFileSync(out, text);
    } catch (e) {
      throw fbError('FB_ERR_OUT_UNWRITABLE', `cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    io.err(`wrote ${format} report of ${basename(src)} to ${out}\n`);
    return 0;
  } catch (e) {
    const err = toFbError(e);
    io.err(err.toLine() + '\n');
    return err.code === 'FB_ERR_INTERNAL' ? 1 : 2;
  }
}
