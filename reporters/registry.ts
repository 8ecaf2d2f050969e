import { fbError } from '../core/errors';
import type { RunResult } from '../core/result';
import { renderJson } from './json';
import { renderTerminal } from './terminal';

/** A reporter renders a saved or fresh RunResult; it never measures. */
export type Reporter = (run: RunResult) => string;

const REPORTERS: Record<string, () => Reporter> = {
  terminal: () => renderTerminal,
  json: () => renderJson,
   
  md: () => (run) => require('./markdown').renderMarkdown(run, costFor(run)),
   
  html: () => (run) => require('./html').renderHtml(run, { cost: costFor(run) }),
};

function costFor(run: RunResult): unknown {
  try {
     
    const c = require('../core/cost');
    return c.computeCost(run, c.DEFAULT_COST_MODEL);
  } catch {
    return undefined;
  }
}

export function reporterNames(): string[] {
  return Object.keys(REPORTERS);
}

export function getReporter(name: string): Reporter {
  const r = REPORTERS[name];
  if (!r) throw fbError('FB_ERR_USAGE', `unknown report format '${name}' (known: ${reporterNames().join(', ')})`);
  return r();
}
