import { runCase } from '../harness/coordinator';
import { caseSpec, lostFrom, NO_CALIBRATION_US } from './case-spec';
import { fmtMiB, MiB, type TortureContext } from './context';
import { LeakWatch } from './leaks';
import { Sampler, signal, type Sample } from './procs';
import type { TortureCase } from './types';

/**
 * A stalled consumer: SIGSTOP for STALL_MS in the middle of a paced 1080p I420 run at
 * 30 fps, then SIGCONT. Under `block` the producer waits (framesDropped must be 0); under
 * `drop` it drops and counts. The case must end ok (no FB_ERR_FRAMES_LOST: every accepted frame
 * arrived, so framesReceived + drops = framesSent with no silent loss), and the producer's
 * RSS during the stall may not grow by more than RSS_BOUND over its level before the stall:
 * 64 MiB of allocator/GC slack + 4 frames. A producer that queued every frame of the stall in
 * user space would grow by ~90 frames (~280 MB) at 30 fps over 3 s.
 */
const FRAME = 3_110_400 + 64;
const RSS_BOUND = 64 * MiB + 4 * FRAME;

function peak(samples: Sample[], key: string, from: number, to: number): number {
  let m = 0;
  for (const s of samples) if (s.atMs >= from && s.atMs <= to) m = Math.max(m, s.rss[key] ?? 0);
  return m;
}

export async function stallCase(t: string, policy: 'block' | 'drop', ctx: TortureContext): Promise<TortureCase> {
  const stallMs = ctx.quick ? 1500 : 3000;
  const spec = caseSpec(t, { scenario: 'realtime', format: 'i420', resolution: '1080p', durationS: ctx.quick ? 3 : 5, warmupS: 0.3, producers: 1, policy });
  const watch = new LeakWatch(ctx.tmpRoot);
  let sampler: Sampler | null = null;
  let consumerPid = 0;
  let stoppedAtMs = 0;
  const timers: NodeJS.Timeout[] = [];
  const r = await runCase(spec, {
    memcpyUs: NO_CALIBRATION_US,
    onSpawn: (pids) => {
      watch.note([pids.consumer, ...pids.producers]);
      watch.noteOwnTree();
      consumerPid = pids.consumer;
      sampler = new Sampler({ producer: pids.producers[0], consumer: pids.consumer }, 50);
      stoppedAtMs = 100 + spec.warmupMs + 700;
      timers.push(setTimeout(() => signal(consumerPid, 'SIGSTOP'), stoppedAtMs));
      timers.push(setTimeout(() => signal(consumerPid, 'SIGCONT'), stoppedAtMs + stallMs));
    },
  });
  for (const x of timers) clearTimeout(x);
  if (consumerPid) signal(consumerPid, 'SIGCONT');
  const samples = (sampler as Sampler | null)?.stop() ?? [];
  const leaks = await watch.check();
  const before = peak(samples, 'producer', 0, stoppedAtMs);
  const during = peak(samples, 'producer', stoppedAtMs, stoppedAtMs + stallMs + 200);
  const cDuring = peak(samples, 'consumer', stoppedAtMs, stoppedAtMs + stallMs + 200);
  const grew = during - before;
  const lost = lostFrom(r.status, r.error) + (policy === 'block' ? r.framesDropped : 0);
  const problems: string[] = [];
  if (r.status !== 'ok') problems.push(`${r.status}: ${r.error ?? ''}`);
  if (policy === 'block' && r.framesDropped !== 0) problems.push(`${r.framesDropped} frame(s) dropped under block`);
  if (grew > RSS_BOUND) problems.push(`producer RSS grew ${fmtMiB(grew)} during the stall (bound ${fmtMiB(RSS_BOUND)})`);
  return {
    group: 'stall',
    name: `consumer stopped ${stallMs / 1000} s (${policy})`,
    transport: t,
    expected: ['ok'],
    got: r.status,
    ok: problems.length === 0 && leaks.length === 0 && lost === 0,
    framesLostUnreported: lost,
    leaks,
    detail:
      `sent ${r.framesSent}, received ${r.framesReceived}, dropped ${r.framesDropped}; producer RSS ${fmtMiB(before)} -> peak ${fmtMiB(during)} during the stall, consumer ${fmtMiB(cDuring)}` +
      (problems.length ? `; ${problems.join('; ')}` : ''),
    figures: { framesSent: r.framesSent, framesReceived: r.framesReceived, framesDropped: r.framesDropped, producerRssBeforeBytes: before, producerRssPeakBytes: during, consumerRssPeakBytes: cDuring },
  };
}
