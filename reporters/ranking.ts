import type { CaseResult } from '../core/result';

/**
 * Least / most CPU per frame marks, among comparable cases only. An in-process transport (worker-sab: producer
 * and consumer are threads of one process) reports the CPU of its JS threads, not a whole process's like the
 * cross-process transports: it is never ranked and every report shows it apart under IN_PROCESS_LABEL.
 */
export type Mark = 'fastest' | 'slowest' | null;

export const IN_PROCESS_LABEL = 'in-process (threads of one process; CPU of its JS threads only): not ranked';

/** Cases that take part in a ranking: finished ok and cross-process. */
export function isRanked(c: CaseResult): boolean {
  return c.status === 'ok' && !c.inProcess;
}

/** Marks for the cases of ONE comparable group (same scenario, format, size): needs two ranked cases. */
export function rankGroup(cases: CaseResult[]): Map<CaseResult, Mark> {
  const marks = new Map<CaseResult, Mark>();
  const ranked = cases.filter(isRanked).sort((a, b) => a.cpuUsPerFrame.total - b.cpuUsPerFrame.total);
  if (ranked.length < 2) return marks;
  marks.set(ranked[0]!, 'fastest');
  marks.set(ranked[ranked.length - 1]!, 'slowest');
  return marks;
}

/** Cross-process cases first, in-process ones after them (each keeping its order). */
export function crossProcessFirst<T>(items: T[], caseOf: (x: T) => { inProcess?: boolean }): T[] {
  return [...items.filter((x) => !caseOf(x).inProcess), ...items.filter((x) => caseOf(x).inProcess)];
}
