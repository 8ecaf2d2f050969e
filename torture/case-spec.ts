import { planCases, resolveSettings } from '../harness/runner';
import type { CaseSpec } from '../core/case';

/** One case of the ordinary harness, built by the same validation and planning as `bench run`. */
export interface CaseShape {
  scenario: 'realtime' | 'saturate' | 'multi-producer';
  format: 'i420' | 'rgba';
  resolution: string;
  durationS: number;
  warmupS: number;
  producers?: number;
  fps?: number;
  policy?: 'block' | 'drop';
}

export function caseSpec(transport: string, s: CaseShape): Omit<CaseSpec, 'runDir'> {
  const settings = resolveSettings({
    transports: [transport], scenarios: [s.scenario], formats: [s.format], resolution: s.resolution,
    fps: s.fps ?? 30, durationS: s.durationS, warmupS: s.warmupS, producers: s.producers ?? 4,
    verify: 'sample', source: 'synthetic', copyAccounting: false, policy: s.policy ?? 'block', transportOptions: {},
  });
  return planCases(settings)[0];
}

/** µs of one memcpy: irrelevant to torture verdicts (they use no CPU figure), any positive number. */
export const NO_CALIBRATION_US = 1;

/** Lost frames a case's status reports (FB_ERR_FRAMES_LOST: "N frame(s) accepted ... never arrived"). */
export function lostFrom(status: string, error: string | undefined): number {
  if (status !== 'FB_ERR_FRAMES_LOST') return 0;
  const m = /^(\d+) frame/.exec(error ?? '');
  return m ? Number(m[1]) : 1;
}
