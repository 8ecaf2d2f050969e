import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getTransport } from '../transports/registry';
import { ChildProc } from './child-proc';
import { HostedProc } from './hosted-proc';
import { nowNs } from '../core/clock';
import { fbError, FbError, toFbError } from '../core/errors';
import { caseFigures, failedResult } from '../measure/figures';
import { waitSteady, type SteadyOutcome } from '../measure/steady';
import type { CaseSpec, ConsumerReport, ProducerReport } from '../core/case';
import type { CaseResult } from '../core/result';
import { BOT_CONTROL_SOURCE } from '../core/bot-cost';
import { judgeControl } from './bot-case';
import { isChromiumSource } from './live-producer';

/** Per-process hooks the runner may add (copy accounting, profilers). */
export interface ProcessHooks {
  /**
   * How to start one child of a case: extra environment, a wrapping executable (e.g.
   * perf) with its arguments, and a cleanup run after the case's processes are gone.
   */
  envFor(label: string, spec: Omit<CaseSpec, 'runDir'>): ChildLaunch;
}

export interface ChildLaunch {
  env: Record<string, string>;
  execPath?: string;
  execArgv?: string[];
  cleanup?: () => void | Promise<void>;
  /** The child module to fork instead of this tree's harness/child.js (bench gate --against: another tree's dist). */
  entry?: string;
}

/** Several hooks as one: environments merged, the first wrapper wins, every cleanup runs. */
export function combineHooks(hooks: Array<ProcessHooks | null | undefined>): ProcessHooks | undefined {
  const list = hooks.filter((h): h is ProcessHooks => Boolean(h));
  if (list.length === 0) return undefined;
  return {
    envFor(label, spec) {
      const parts = list.map((h) => h.envFor(label, spec));
      const wrap = parts.find((p) => p.execPath);
      return {
        env: Object.assign({}, ...parts.map((p) => p.env)),
        execPath: wrap?.execPath,
        execArgv: wrap ? wrap.execArgv : parts.flatMap((p) => p.execArgv ?? []),
        entry: parts.find((p) => p.entry)?.entry,
        cleanup: async () => {
          for (const p of parts) await p.cleanup?.();
        },
      };
    },
  };
}

export interface CaseOptions {
  /** µs of one calibrated memcpy of this case's frames. */
  memcpyUs: number;
  hooks?: ProcessHooks;
  /** Called once with the case's child pids (tests use it to inject faults). */
  onSpawn?: (pids: { consumer: number; producers: number[] }) => void;
  /** Aborts the case (e.g. SIGINT); the case ends with this error. */
  abort?: AbortSignal;
}

const READY_TIMEOUT_MS = 20_000;
/** A window announced after a steady warm-up opens this long after the announcement (ms). */
const WINDOW_LEAD_MS = 30;
/** A Chromium producer launches the browser (and the bot encodes its clip) before it is ready. */
const CHROMIUM_READY_TIMEOUT_MS = 120_000;
const DRAIN_TIMEOUT_MS = 10_000;

/** Waits for p, failing early on `failure` or after ms; never leaves a timer behind. */
function guarded<T>(p: Promise<T>, failure: Promise<never>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(fbError('FB_ERR_TIMEOUT', `${what} did not answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, t, failure]).finally(() => clearTimeout(timer));
}

/**
 * Runs one case: spawns the consumer and the producer(s) as separate Node processes,
 * starts them at one barrier time, collects what each measured in its window, and
 * always stops every process and removes the run directory, whatever happened.
 */
export async function runCase(base: Omit<CaseSpec, 'runDir'>, opts: CaseOptions): Promise<CaseResult> {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'framebench-run-')); // mode 0700
  const spec: CaseSpec = { ...base, runDir };
  const children: Array<ChildProc | HostedProc> = [];
  const transport = getTransport(base.transport);
  const caps = transport.capabilities;
  const topology = caps.topology ?? 'separate';
  const cleanups: Array<() => void | Promise<void>> = [];
  let rejectFailure: (e: FbError) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => {
    rejectFailure = reject;
  });
  failure.catch(() => undefined);
  const onAbort = (): void => rejectFailure(fbError('FB_ERR_INTERRUPTED', 'interrupted'));
  opts.abort?.addEventListener('abort', onAbort);
  if (opts.abort?.aborted) onAbort();

  const spawn = (label: string): ChildProc => {
    const h: ChildLaunch = opts.hooks?.envFor(label, base) ?? { env: {} };
    if (h.cleanup) cleanups.push(h.cleanup);
    const c = new ChildProc(label, { ...process.env, ...h.env }, h.execArgv ?? [], h.execPath, h.entry);
    c.onFailure(rejectFailure);
    children.push(c);
    return c;
  };
  /** A producer the consumer starts itself (its child process or worker thread). */
  const host = (label: string, consumer: ChildProc): HostedProc => {
    const h: ChildLaunch = opts.hooks?.envFor(label, base) ?? { env: {} };
    if (h.cleanup) cleanups.push(h.cleanup);
    const env = { ...process.env, ...h.env } as Record<string, string>;
    const mode = topology === 'consumer-threads' ? 'thread' : 'fork';
    const c = new HostedProc(label, consumer, { mode, env, execArgv: h.execArgv ?? [], execPath: h.execPath });
    c.onFailure(rejectFailure);
    children.push(c);
    return c;
  };
  const guard = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => guarded(p, failure, ms, what);
  let stopped = false;

  try {
    const consumer = spawn('consumer');
    // separate producer processes boot (Node's start-up, module loading) while the consumer sets
    // up; they wait for their init, which needs the consumer's address. Nothing is measured yet.
    const booting = topology === 'separate' ? Array.from({ length: spec.producers }, (_, i) => spawn(`producer ${i}`)) : [];
    const cReady = consumer.waitFor('ready');
    consumer.send({ t: 'init', role: 'consumer', spec });
    const address = (await guard(cReady, READY_TIMEOUT_MS, 'consumer')).address ?? '';
    const producers: Array<ChildProc | HostedProc> = [];
    for (let i = 0; i < spec.producers; i++) {
      const p = topology === 'separate' ? booting[i] : host(`producer ${i}`, consumer);
      producers.push(p);
      if (p instanceof HostedProc) await guard(p.started, READY_TIMEOUT_MS, `producer ${i} (hosted by the consumer)`);
      const ready = p.waitFor('ready');
      p.send({ t: 'init', role: 'producer', spec, producerId: i, address });
      await guard(ready, isChromiumSource(spec.source) ? CHROMIUM_READY_TIMEOUT_MS : READY_TIMEOUT_MS, `producer ${i}`);
    }
    opts.onSpawn?.({ consumer: consumer.pid, producers: producers.map((p) => p.pid) });

    const t0Ns = nowNs() + 100e6;
    const done = producers.map((p) => p.waitFor('done'));
    consumer.send({ t: 'start', t0Ns });
    for (const p of producers) p.send({ t: 'start', t0Ns });
    let runMs = spec.warmupMs + spec.durationMs + 100;
    let warmup: SteadyOutcome | null = null;
    if (spec.steadyWarmupMaxMs !== undefined) {
      // the warm-up goes on until the processes are steady (measure/steady.ts); then every side
      // opens the same window, announced a little ahead so that it reaches them in time
      const pids = (): number[] => [consumer.pid, ...producers.map((p) => p.pid)].filter((pid) => pid > 0);
      const maxMs = Math.max(spec.warmupMs, spec.steadyWarmupMaxMs);
      warmup = await guard(waitSteady(pids, t0Ns, spec.warmupMs, maxMs, () => stopped), maxMs + 30_000, 'warm-up');
      const openNs = nowNs() + WINDOW_LEAD_MS * 1e6;
      const closeNs = openNs + spec.durationMs * 1e6;
      consumer.send({ t: 'window', openNs, closeNs });
      for (const p of producers) p.send({ t: 'window', openNs, closeNs });
      runMs = WINDOW_LEAD_MS + spec.durationMs + 100;
    }
    const pReports: ProducerReport[] = [];
    for (let i = 0; i < producers.length; i++) {
      const m = await guard(done[i], runMs + 30_000, `producer ${i}`);
      pReports.push(m.producer as ProducerReport);
    }
    const cDone = consumer.waitFor('done');
    consumer.send({ t: 'drain', expected: pReports.map((r) => r.framesAccepted), timeoutMs: DRAIN_TIMEOUT_MS });
    const cReport = (await guard(cDone, DRAIN_TIMEOUT_MS + 10_000, 'consumer')).consumer as ConsumerReport;
    let result = caseFigures(spec, pReports, cReport, opts.memcpyUs, caps.inProcess);
    if (spec.source === BOT_CONTROL_SOURCE) result = judgeControl(result, cReport);
    if (warmup) {
      result.warmup = { ms: Math.round(warmup.warmupMs), ended: warmup.ended };
      if (Number.isFinite(warmup.faultPct)) result.warmup.faultPct = Math.round(warmup.faultPct * 100) / 100;
    }
    const seen = caps.kernelCopiesVisible;
    if (seen && !(seen.sender && seen.receiver)) result.kernelBytesMeasured = { producer: seen.sender, consumer: seen.receiver };
    return result;
  } catch (e) {
    const err = toFbError(e);
    return failedResult(spec, err.code, err.message, caps.inProcess);
  } finally {
    stopped = true;
    opts.abort?.removeEventListener('abort', onAbort);
    for (const c of children) c.onFailure(() => undefined);
    // hosted producers first: their host (the consumer) relays their exit
    await Promise.all(children.filter((c) => c instanceof HostedProc).map((c) => c.stop(1500)));
    await Promise.all(children.filter((c) => c instanceof ChildProc).map((c) => c.stop(1500)));
    for (const c of cleanups) {
      try {
        await c();
      } catch {
        /* a failed cleanup must not hide the case's result */
      }
    }
    rmSync(runDir, { recursive: true, force: true });
    // When producer and consumer were both killed, nobody is left to remove what lives outside
    // the run directory (shm: the segment): the transport removes what dead processes left.
    try {
      transport.cleanupOrphans?.();
    } catch {
      /* best effort: a failed cleanup must not hide the case's result */
    }
  }
}
