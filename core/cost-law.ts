import type { CaseResult, RunResult } from './result';
import type { SizeLaw } from './sweep';

/**
 * Pricing a fleet at a frame size the run did not measure (core/cost.ts): when the run swept frame sizes,
 * the transport's fitted cost law (core/sweep.ts: fixed + per byte × frame bytes, total CPU) gives its CPU per
 * frame there, instead of scaling one measured case by the byte ratio (which assumes no fixed cost).
 */

/** The law that stands for case `c`: the same transport, scenario, format and producers, total CPU. */
export function lawFor(run: RunResult, c: Pick<CaseResult, 'transport' | 'scenario' | 'format' | 'producers'>): SizeLaw | null {
  const laws = (run.sweep?.sizeLaws ?? []).filter((l) => l.side === 'total' && l.transport === c.transport && l.format === c.format && l.scenario === c.scenario && l.producers === c.producers);
  // a law from a fps or fragment sweep is one of several: take the one with no extra setting held
  return laws.find((l) => l.targetFps === undefined && l.fragmentBytes === undefined) ?? laws[0] ?? null;
}

/**
 * CPU µs per frame of `frameBytes` from the law, when `c` is not of that size and a law exists; null
 * otherwise. Says so in `source.note` (the report shows it beside the figure).
 */
export function lawCpuUsPerFrame(run: RunResult, c: CaseResult, frameBytes: number, source: { note: string; scaled: boolean }): number | null {
  if (!source.scaled) return null;
  const law = lawFor(run, c);
  if (!law) return null;
  const us = law.fit.fixed + law.fit.slope * frameBytes;
  if (!(us > 0)) return null;
  const [lo, hi] = law.bytesRange;
  const where = frameBytes < lo || frameBytes > hi ? 'outside the measured sizes: extrapolated' : 'between measured sizes';
  source.note = `from the fitted cost law of ${c.transport} ${c.scenario} ${c.format} (${Math.round(law.fit.fixed)} µs + ${law.perMiBUs.toFixed(0)} µs/MiB, ` +
    `${law.fit.points} sizes${law.fit.linear ? '' : ', NOT linear within its points\' intervals'}), not measured at this size (${where})`;
  return us;
}
