import { extname } from 'node:path';
import { computeCost, recordedModel, type CostSummary } from '../core/cost';
import { fbError } from '../core/errors';
import type { RunResult } from '../core/result';
import { renderHtml } from './html';
import { renderJson } from './json';
import { renderMarkdown } from './markdown';
import { renderTerminal } from './terminal';

/**
 * The one reporter registry: `bench run`, `bench report` and `bench compare` all name their
 * output formats through it. A reporter renders a fresh or saved RunResult; it never measures.
 */
export const REPORT_FORMATS = ['terminal', 'md', 'html', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** What a rendering may use besides the run: its cost summary (else the built-in model) and flame graph links. */
export interface RenderOptions {
  cost?: CostSummary;
  flameLinks?: Record<string, string>;
}

type Reporter = (run: RunResult, opts: Required<RenderOptions>) => string;

const REPORTERS: Record<ReportFormat, Reporter> = {
  terminal: (run) => renderTerminal(run),
  json: (run) => renderJson(run),
  md: (run, o) => renderMarkdown(run, o.cost),
  html: (run, o) => renderHtml(run, { cost: o.cost, flameLinks: o.flameLinks }),
};

/** A format name from the user ('markdown' is 'md'), checked against what the command offers. */
export function parseReportFormat(name: string, offered: readonly ReportFormat[] = REPORT_FORMATS): ReportFormat {
  const f = name === 'markdown' ? 'md' : name;
  if (!(offered as readonly string[]).includes(f)) {
    throw fbError('FB_ERR_USAGE', `unknown report format '${name}' (known: ${offered.join(', ')})`);
  }
  return f as ReportFormat;
}

/** The format an output file's extension asks for (.html, .md, .json), else terminal text. */
export function formatForPath(file: string | undefined): ReportFormat {
  const ext = file ? extname(file).toLowerCase() : '';
  return ext === '.html' || ext === '.htm' ? 'html' : ext === '.md' ? 'md' : ext === '.json' ? 'json' : 'terminal';
}

/** Renders `run` in `format`. */
export function renderRun(run: RunResult, format: ReportFormat, opts: RenderOptions = {}): string {
  return REPORTERS[format](run, { cost: opts.cost ?? computeCost(run, recordedModel(run)), flameLinks: opts.flameLinks ?? {} });
}
