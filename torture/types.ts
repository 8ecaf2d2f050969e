/**
 * Results of `bench torture`: one TortureCase per fault injected or input tried, and the
 * summary the command prints, writes as Markdown and JSON, and exits on.
 */
export type TortureGroup = 'kill' | 'signal' | 'stall' | 'malformed' | 'soak';

export interface TortureCase {
  group: TortureGroup;
  /** e.g. 'kill producer', 'ws: length 2^63', 'SIGINT to bench run'. */
  name: string;
  /** Transport, or '-' for cases about the whole CLI. */
  transport: string;
  /** Codes that count as the right outcome ('none' = no error expected). */
  expected: string[];
  /** What happened: the case's status or the receiver's error code, 'none', or 'crash'/'hang'. */
  got: string;
  /** The case survived: right code, in time, nothing leaked, nothing lost silently. */
  ok: boolean;
  /** Frames accepted by a transport that never arrived and no code said so. */
  framesLostUnreported: number;
  /** Processes, socket files, run directories or shm segments left behind. */
  leaks: string[];
  /** Human details: timings, RSS, drops. */
  detail: string;
  /** Measurements kept in the JSON (ms to report, peak RSS, fd counts, ...). */
  figures?: Record<string, number | string | null>;
}

/** A transport skipped (cannot run here) or a check not applicable to it, and why. */
export interface TortureSkip {
  transport: string;
  what: string;
  reason: string;
}

export interface TortureSummary {
  schema: 'framebench/torture@1';
  startedAt: string;
  finishedAt: string;
  settings: { quick: boolean; soakSeconds: number; transports: string[]; seed: number };
  totals: {
    casesTried: number;
    faultsInjected: number;
    faultsSurvived: number;
    badInputsTried: number;
    badInputsSurvived: number;
    framesLostUnreported: number;
    leaksFound: number;
    failures: number;
  };
  /** Per group and transport: tried / survived. */
  byGroup: Array<{ group: TortureGroup; transport: string; tried: number; survived: number }>;
  cases: TortureCase[];
  skipped: TortureSkip[];
  ok: boolean;
}

export function summarize(
  cases: TortureCase[],
  skipped: TortureSkip[],
  settings: TortureSummary['settings'],
  startedAt: string,
): TortureSummary {
  const faults = cases.filter((c) => c.group !== 'malformed');
  const bad = cases.filter((c) => c.group === 'malformed');
  const byKey = new Map<string, { group: TortureGroup; transport: string; tried: number; survived: number }>();
  for (const c of cases) {
    const k = `${c.group}\u0000${c.transport}`;
    const e = byKey.get(k) ?? { group: c.group, transport: c.transport, tried: 0, survived: 0 };
    e.tried++;
    if (c.ok) e.survived++;
    byKey.set(k, e);
  }
  const totals = {
    casesTried: cases.length,
    faultsInjected: faults.length,
    faultsSurvived: faults.filter((c) => c.ok).length,
    badInputsTried: bad.length,
    badInputsSurvived: bad.filter((c) => c.ok).length,
    framesLostUnreported: cases.reduce((a, c) => a + c.framesLostUnreported, 0),
    leaksFound: cases.reduce((a, c) => a + c.leaks.length, 0),
    failures: cases.filter((c) => !c.ok).length,
  };
  return {
    schema: 'framebench/torture@1',
    startedAt,
    finishedAt: new Date().toISOString(),
    settings,
    totals,
    byGroup: [...byKey.values()],
    cases,
    skipped,
    ok: totals.failures === 0 && totals.framesLostUnreported === 0 && totals.leaksFound === 0 && cases.length > 0,
  };
}
