import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { computeCost, resolveCostModel, type CostModelConfig, type CostSummary } from '../core/cost';
import type { RunResult } from '../core/result';
import { renderRun } from '../reporters/registry';
import { findFlameLinks } from './report';

export interface RunFiles {
  results: string;
  html: string;
  summary: string;
  cost: CostSummary;
}

/** What `framebench run` writes into its --out folder (results.json, index.html, summary.md); the API writes the same. */
export function writeRunFiles(run: RunResult, out: string, cost?: Partial<CostModelConfig>): RunFiles {
  const model = resolveCostModel(cost);
  run.costModel = model; // recorded: bench report and compare re-price with the model the run was priced with
  const results = path.join(out, 'results.json');
  writeFileSync(results, renderRun(run, 'json'));
  const summary = computeCost(run, model);
  const html = path.join(out, 'index.html');
  writeFileSync(html, renderRun(run, 'html', { cost: summary, flameLinks: findFlameLinks(results, out) }));
  const md = path.join(out, 'summary.md');
  writeFileSync(md, renderRun(run, 'md', { cost: summary }));
  return { results, html, summary: md, cost: summary };
}
