import type { RunResult } from '../core/result';

export function renderJson(run: RunResult): string {
  return JSON.stringify(run, null, 2) + '\n';
}
