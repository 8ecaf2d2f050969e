import { runCase } from '../harness/coordinator';
import { caseSpec, lostFrom, NO_CALIBRATION_US } from './case-spec';
import { fmtMiB, MiB, type TortureContext } from './context';
import { LeakWatch } from './leaks';
import { Sampler, type Sample } from './procs';
import type { TortureCase } from './types';

/**
 * A soak: 4 producers at 30 fps (1080p I420) into one consumer for --soak-seconds. RSS and
 * open fds of every process are sampled from /proc; "start" is the highest of the first three
 * samples after warm-up + 1 s, "end" the lowest of the last three before the window closes,
 * so GC sawtooth and a momentarily open file do not count, only sustained growth does.
 *
 * Bounds: RSS may grow by at most 64 MiB per process. Noise is well under that (V8 young
 * generation 16-32 MiB, glibc arenas, one assembly buffer of a 3 MB frame), while any per-frame
 * leak of a frame buffer would be 3 MB x 30 fps = ~90 MB per second of soak, and a per-frame
 * leak of one 4 KiB object reaches 64 MiB over the consumer's 16,000+ frames of a 180 s soak.
 * Open fds may grow by at most 2 (no connection, socket or file is opened per frame; a leaked
 * fd per frame or per reconnect shows as hundreds).
 */
export const SOAK_RSS_BOUND = 64 * MiB;
export const SOAK_FD_BOUND = 2;

interface Growth {
  label: string;
  rssStart: number;
  rssEnd: number;
  fdStart: number;
  fdEnd: number;
}

function growth(samples: Sample[], label: string, fromMs: number, toMs: number): Growth | null {
  const inWin = samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs && s.rss[label] != null && s.fds[label] != null);
  if (inWin.length < 2) return null;
  const first = inWin.slice(0, 3);
  const last = inWin.slice(-3);
  return {
    label,
    rssStart: Math.max(...first.map((s) => s.rss[label] as number)),
    rssEnd: Math.min(...last.map((s) => s.rss[label] as number)),
    fdStart: Math.max(...first.map((s) => s.fds[label] as number)),
    fdEnd: Math.min(...last.map((s) => s.fds[label] as number)),
  };
}

export async function soakCase(t: string, ctx: TortureContext): Promise<TortureCase> {
  const seconds = ctx.soakSeconds;
  const spec = caseSpec(t, { scenario: 'multi-producer', format: 'i420', resolution: '1080p', durationS: seconds, warmupS: 1, producers: 4, fps: 30 });
  const watch = new LeakWatch(ctx.tmpRoot);
  let sampler: Sampler | null = null;
  let labels: string[] = [];
  const r = await runCase(spec, {
    memcpyUs: NO_CALIBRATION_US,
    onSpawn: (pids) => {
      watch.note([pids.consumer, ...pids.producers]);
      watch.noteOwnTree();
      const byLabel: Record<string, number> = { consumer: pids.consumer };
      pids.producers.forEach((p, i) => {
        if (p !== pids.consumer) byLabel[`producer ${i}`] = p;
      });
      labels = Object.keys(byLabel);
      sampler = new Sampler(byLabel, Math.min(1000, Math.max(250, (seconds * 1000) / 40)));
    },
  });
  const samples = (sampler as Sampler | null)?.stop() ?? [];
  const leaks = await watch.check();
  const from = 100 + spec.warmupMs + 1000;
  const to = 100 + spec.warmupMs + spec.durationMs - 100;
  const gs = labels.map((l) => growth(samples, l, from, to)).filter((g): g is Growth => g !== null);
  const problems: string[] = [];
  if (r.status !== 'ok') problems.push(`${r.status}: ${r.error ?? ''}`);
  if (gs.length < labels.length) problems.push(`too few samples for ${labels.length - gs.length} process(es)`);
  for (const g of gs) {
    if (g.rssEnd - g.rssStart > SOAK_RSS_BOUND) problems.push(`${g.label} RSS grew ${fmtMiB(g.rssEnd - g.rssStart)}`);
    if (g.fdEnd - g.fdStart > SOAK_FD_BOUND) problems.push(`${g.label} fds grew ${g.fdStart} -> ${g.fdEnd}`);
  }
  const lost = lostFrom(r.status, r.error) + r.framesDropped; // block policy: any drop is a loss
  const c = gs.find((g) => g.label === 'consumer');
  const ps = gs.filter((g) => g.label !== 'consumer');
  const worstP = ps.reduce((a, g) => (g.rssEnd - g.rssStart > a ? g.rssEnd - g.rssStart : a), -Infinity);
  const figures: Record<string, number> = { seconds, framesSent: r.framesSent, framesReceived: r.framesReceived };
  for (const g of gs) {
    const k = g.label.replace(' ', '');
    Object.assign(figures, { [`${k}RssStart`]: g.rssStart, [`${k}RssEnd`]: g.rssEnd, [`${k}FdStart`]: g.fdStart, [`${k}FdEnd`]: g.fdEnd });
  }
  return {
    group: 'soak',
    name: `soak ${seconds} s, 4 producers x 30 fps`,
    transport: t,
    expected: ['ok'],
    got: r.status,
    ok: problems.length === 0 && leaks.length === 0 && lost === 0,
    framesLostUnreported: lost,
    leaks,
    detail:
      `${r.framesReceived}/${r.framesSent} frames; consumer RSS ${fmtMiB(c?.rssStart)} -> ${fmtMiB(c?.rssEnd)}, fds ${c?.fdStart ?? '?'} -> ${c?.fdEnd ?? '?'}; ` +
      `producers worst RSS growth ${ps.length ? fmtMiB(worstP) : 'n/a'}, fds ${ps.map((g) => `${g.fdStart}->${g.fdEnd}`).join(' ')}` +
      (problems.length ? `; ${problems.join('; ')}` : ''),
    figures,
  };
}
