import type { Rng } from './bad-inputs';

/** What every torture group gets: where its children's TMPDIR is, randomness, pace, progress. */
export interface TortureContext {
  /** Private TMPDIR (0700) of every process the torture run starts: must be empty between cases. */
  tmpRoot: string;
  /** Private scratch space for outputs (results.json of signalled runs). */
  workDir: string;
  rng: Rng;
  quick: boolean;
  soakSeconds: number;
  /** One line of progress (stderr). */
  log(line: string): void;
}

export const MiB = 1024 * 1024;

export function fmtMiB(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? '?' : `${(bytes / MiB).toFixed(1)} MiB`;
}
