import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { loadRunResult } from '../core/validate';
import { computeCost, costLines, recordedModel } from '../core/cost';
import { loadHostProfile } from './calibrate';
import { fbError, toFbError } from '../core/errors';
import { flameLabelFromFile } from '../profile/flame';
import { formatForPath, parseReportFormat, renderRun, REPORT_FORMATS, type ReportFormat } from '../reporters/registry';
import { parseOptions, renderHelp, type OptionDef } from './options';
import { ensureWritableFileDir } from './out-dir';
import { isQuiet } from './output';
import { renderTerminal } from '../reporters/terminal';
import { TERMINAL_COLUMNS } from '../reporters/table';

/** Where a command writes: stdout for the rendering, stderr for messages. Tests pass their own. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const processIo: CliIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

const OPTIONS: OptionDef[] = [
  { name: 'format', type: 'string', arg: REPORT_FORMATS.join('|'), help: 'output format (default: from --out\'s extension, else terminal)' },
  { name: 'out', type: 'string', arg: 'FILE', help: 'write the report to FILE instead of stdout' },
  { name: 'price-host', type: 'string', arg: 'PROFILE', help: 'price as if on the host of PROFILE (framebench calibrate): copy bytes re-timed at its copy speed' },
  { name: 'wide', type: 'boolean', help: 'terminal format: every column (default: the ones that fit 120 columns)' },
];

export const REPORT_HELP = renderHelp(
  'Usage: framebench report <results.json | run directory> [--format terminal|md|html|json] [--out FILE]',
  'Re-renders a saved run without measuring again. HTML is one self-contained file (works offline);\n' +
    'flame graphs in <run dir>/flame/*.html are linked from it.',
  OPTIONS,
);

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

export async function reportCommand(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    const { values, positionals } = parseOptions(argv, OPTIONS, 'framebench report');
    if (values.help) {
      io.out(REPORT_HELP);
      return 0;
    }
    if (positionals.length !== 1) {
      throw fbError('FB_ERR_USAGE', `framebench report needs one results file, got ${positionals.length}\n${REPORT_HELP}`);
    }
    const src = positionals[0]!;
    const out = typeof values.out === 'string' ? values.out : undefined;
    const format: ReportFormat = typeof values.format === 'string' ? parseReportFormat(values.format) : formatForPath(out);
    const run = loadRunResult(src);
    const links = format === 'html' ? findFlameLinks(src, out ? dirname(resolve(out)) : process.cwd()) : {};
    const cost = computeCost(run, recordedModel(run), typeof values['price-host'] === 'string' ? loadHostProfile(values['price-host']) : undefined);
    const text = format === 'terminal'
      ? `${renderTerminal(run, values.wide ? {} : { width: TERMINAL_COLUMNS })}${costLines(cost)}\n`
      : renderRun(run, format, { flameLinks: links, cost });
    if (!out) {
      io.out(text);
      return 0;
    }
    ensureWritableFileDir(out);
    try {
      writeFileSync(out, text);
    } catch (e) {
      throw fbError('FB_ERR_OUT_UNWRITABLE', `cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!isQuiet()) io.err(`wrote ${format} report of ${basename(src)} to ${out}\n`);
    return 0;
  } catch (e) {
    const err = toFbError(e);
    io.err(err.toLine() + '\n');
    return err.code === 'FB_ERR_INTERNAL' ? 1 : 2;
  }
}
