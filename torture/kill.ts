import { runCase } from '../harness/coordinator';
import { getTransport } from '../transports/registry';
import { caseSpec, NO_CALIBRATION_US } from './case-spec';
import type { TortureContext } from './context';
import { LeakWatch } from './leaks';
import { signal } from './procs';
import type { TortureCase, TortureSkip } from './types';

/**
 * kill -9 of a producer, of the consumer, or of both, at a random moment of a saturating run
 * of large frames (1080p RGBA, 8.3 MB: most of the time is spent inside a frame, a fragment or
 * a ring reservation). The case must end with FB_ERR_PEER_GONE within REPORT_MS of the kill,
 * never hang, and leave nothing behind.
 */
export type KillKind = 'producer' | 'consumer' | 'both';
export const KILL_KINDS: KillKind[] = ['producer', 'consumer', 'both'];
const REPORT_MS = 8000;
/** A case still running this long after its planned end is declared hung (and aborted). */
const HANG_MS = 45_000;

export function killSkip(t: string, kind: KillKind): TortureSkip | null {
  if (kind === 'producer' && getTransport(t).capabilities.topology === 'consumer-threads') {
    return { transport: t, what: 'kill -9 producer', reason: 'producers are threads of the consumer process: killing one is killing the consumer (covered)' };
  }
  return null;
}

export async function killCase(t: string, kind: KillKind, ctx: TortureContext): Promise<TortureCase> {
  const spec = caseSpec(t, { scenario: 'saturate', format: 'rgba', resolution: '1080p', durationS: ctx.quick ? 1.5 : 3, warmupS: 0.2, producers: 1 });
  const runMs = spec.warmupMs + spec.durationMs;
  const watch = new LeakWatch(ctx.tmpRoot);
  const abort = new AbortController();
  let killedAt = 0;
  let offsetMs = 0;
  let victims: number[] = [];
  let killTimer: NodeJS.Timeout | undefined;
  const started = Date.now();
  const hang = setTimeout(() => abort.abort(), runMs + HANG_MS);
  const r = await runCase(spec, {
    memcpyUs: NO_CALIBRATION_US,
    abort: abort.signal,
    onSpawn: (pids) => {
      watch.note([pids.consumer, ...pids.producers]);
      watch.noteOwnTree();
      // t0 is 100 ms after this call; kill somewhere in the first 85% of the run
      offsetMs = Math.round(100 + 30 + ctx.rng() * (runMs * 0.85 - 30));
      victims = kind === 'producer' ? pids.producers : kind === 'consumer' ? [pids.consumer] : [pids.consumer, ...pids.producers];
      killTimer = setTimeout(() => {
        watch.noteOwnTree();
        killedAt = Date.now();
        for (const pid of victims) signal(pid, 'SIGKILL');
      }, offsetMs);
    },
  });
  clearTimeout(hang);
  clearTimeout(killTimer);
  const reportMs = killedAt ? Date.now() - killedAt : -1;
  const leaks = await watch.check();
  const got = abort.signal.aborted ? 'hang' : r.status;
  const inTime = killedAt > 0 && reportMs <= REPORT_MS;
  const ok = got === 'FB_ERR_PEER_GONE' && inTime && leaks.length === 0;
  return {
    group: 'kill',
    name: `kill -9 ${kind === 'both' ? 'producer + consumer' : kind}`,
    transport: t,
    expected: ['FB_ERR_PEER_GONE'],
    got,
    ok,
    framesLostUnreported: 0,
    leaks,
    detail: killedAt
      ? `killed pid ${victims.join('+')} at t0+${offsetMs - 100} ms; ${got} ${reportMs} ms later${inTime ? '' : ` (limit ${REPORT_MS} ms)`}${r.error && got !== 'FB_ERR_PEER_GONE' ? `: ${r.error}` : ''}`
      : `case ended before the kill (${Date.now() - started} ms): ${r.status} ${r.error ?? ''}`,
    figures: { killOffsetMs: offsetMs - 100, reportMs },
  };
}
