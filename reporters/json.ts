import type { RunResult } from '../harness/result';

export function renderJson(run: RunResult): string {
  return JSON.stringify(run, null, 2) + '\n';
}
