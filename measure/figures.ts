import { merge, percentiles } from '../core/histogram';
import type { CaseSpec, ConsumerReport, ProducerReport } from '../core/case';
import type { CaseResult, CopyFigures, RoundNoise, RuntimeFigures, RuntimeSide } from '../core/result';
import type { WindowFigures } from '../core/case';
import { payloadBytesFor } from '../core/frame';
import { hostNoise } from './host-noise';

/** `inProcess: true` for a transport whose ends are threads of one process, else nothing. */
function inProcessMark(inProcess: boolean): { inProcess?: true } {
  return inProcess ? { inProcess: true } : {};
}

const round = (x: number, d = 2): number => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : 0);
const perFrame = (x: number, frames: number): number => (frames > 0 ? x / frames : 0);

/** Mean pixel bytes per frame over the sizes the case cycles through. */
export function meanFrameBytes(spec: Pick<CaseSpec, 'sizes' | 'format'>): number {
  const all = spec.sizes.map(([w, h]) => payloadBytesFor(spec.format, w, h));
  return all.reduce((a, b) => a + b, 0) / all.length;
}

/** Mean calibrated memcpy (µs) of the case's frames. */
export function memcpyUsFor(spec: Pick<CaseSpec, 'sizes' | 'format'>, byBytes: Record<string, number>): number {
  const all = spec.sizes.map(([w, h]) => byBytes[String(payloadBytesFor(spec.format, w, h))] ?? NaN);
  return all.reduce((a, b) => a + b, 0) / all.length;
}

/** An empty result for a case that could not be measured. */
export function failedResult(spec: Omit<CaseSpec, 'runDir'>, status: CaseResult['status'], error: string, inProcess = false): CaseResult {
  const zero = { producer: 0, consumer: 0 };
  const [w, h] = spec.sizes[0];
  return {
    transport: spec.transport, scenario: spec.scenario, format: spec.format, width: w, height: h,
    frameBytes: meanFrameBytes(spec), producers: spec.producers,
    framesSent: 0, framesReceived: 0, framesDropped: 0, framesCorrupt: 0, fps: 0, gbps: 0,
    cpuUsPerFrame: { ...zero, total: 0 },
    cpuDetailUsPerFrame: { producerUser: 0, producerSystem: 0, consumerUser: 0, consumerSystem: 0 },
    copyEquivalents: 0, kernelBytesPerFrame: { ...zero }, copies: null,
    latencyUs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0 },
    rssPeakBytes: { ...zero }, window: { seconds: 0, producerFrames: 0, consumerFrames: 0 },
    transportStats: { producer: {}, consumer: {} }, status, error, ...inProcessMark(inProcess),
  };
}

/**
 * The host's noise over the case's window (the consumer's): /proc/stat deltas minus the CPU this
 * case's own processes (producers, consumer, server) used over their windows. Absent when the
 * consumer read no /proc/stat (not Linux). In-process transports measure their threads only, so
 * the rest of their process (main thread, GC) counts as "other".
 */
export function caseNoise(producers: ProducerReport[], consumer: ConsumerReport): RoundNoise | undefined {
  const d = consumer.window.hostCpuTicks;
  if (!d) return undefined;
  const cpu = (w: ProducerReport['window']): number => w.proc.userUs + w.proc.systemUs;
  const own = producers.reduce((a, p) => a + cpu(p.window), 0) + cpu(consumer.window) + (consumer.window.serverCpuUs ?? 0);
  return hostNoise(d, consumer.window.seconds, own);
}

/** Per-frame GC, page faults and context switches of one side (summed over its processes); absent when not measured. */
function runtimeSide(windows: WindowFigures[], frames: number): RuntimeSide | undefined {
  if (windows.some((w) => w.proc.minorFaults === undefined || !w.gc)) return undefined;
  const sum = (f: (w: WindowFigures) => number): number => round(perFrame(windows.reduce((a, w) => a + f(w), 0), frames), 3);
  return {
    gcUs: round(perFrame(windows.reduce((a, w) => a + (w.gc?.us ?? 0), 0), frames), 1),
    gcPauses: sum((w) => w.gc?.count ?? 0),
    minorFaults: sum((w) => w.proc.minorFaults ?? 0),
    volCtxSwitches: sum((w) => w.proc.volCtxSwitches ?? 0),
    involCtxSwitches: sum((w) => w.proc.involCtxSwitches ?? 0),
  };
}

export function runtimeFigures(producers: ProducerReport[], consumer: ConsumerReport, pFrames: number): RuntimeFigures | undefined {
  const producer = runtimeSide(producers.map((p) => p.window), pFrames);
  const cons = runtimeSide([consumer.window], consumer.window.frames);
  return producer && cons ? { producer, consumer: cons } : undefined;
}

/**
 * Turns what the processes measured into the case's figures. Per-frame figures divide
 * each side's window deltas by the frames that side completed in its own window.
 */
export function caseFigures(spec: CaseSpec, producers: ProducerReport[], consumer: ConsumerReport, memcpyUs: number, inProcess = false): CaseResult {
  const frameBytes = meanFrameBytes(spec);
  const cFrames = consumer.window.frames;
  const pFrames = producers.some((p) => p.windowFramesFromConsumer) ? cFrames : producers.reduce((a, p) => a + p.window.frames, 0);
  const pUser = producers.reduce((a, p) => a + p.window.proc.userUs, 0);
  const pSys = producers.reduce((a, p) => a + p.window.proc.systemUs, 0);
  const cUser = consumer.window.proc.userUs;
  const cSys = consumer.window.proc.systemUs;
  const pKernel = producers.reduce((a, p) => a + p.window.proc.rchar + p.window.proc.wchar, 0);
  const cKernel = consumer.window.proc.rchar + consumer.window.proc.wchar;
  const producerCpu = perFrame(pUser + pSys, pFrames);
  const consumerCpu = perFrame(cUser + cSys, cFrames);
  // a transport's server process (redis) is a third side, per frame the consumer completed
  const serverUs = consumer.window.serverCpuUs;
  const serverCpu = serverUs === undefined ? undefined : perFrame(serverUs, cFrames);
  const total = producerCpu + consumerCpu + (serverCpu ?? 0);
  const framesSent = producers.reduce((a, p) => a + p.framesGenerated, 0);
  const accepted = producers.reduce((a, p) => a + p.framesAccepted, 0);
  const fps = consumer.window.seconds > 0 ? cFrames / consumer.window.seconds : 0;
  const lat = percentiles(merge([consumer.histogram]));
  const noise = caseNoise(producers, consumer);
  const runtime = runtimeFigures(producers, consumer, pFrames);

  let copies: CopyFigures | null = null;
  const pc = producers.map((p) => p.window.copies);
  if (consumer.window.copies && pc.every((c) => c !== null)) {
    const pCalls = pc.reduce((a, c) => a + (c?.calls ?? 0), 0);
    const pBytes = pc.reduce((a, c) => a + (c?.bytes ?? 0), 0);
    const masked = consumer.transportStats.maskedBytes ?? 0; // a shared stat (core/case.ts SharedStats), typed
    copies = {
      memcpyCallsPerFrame: { producer: round(perFrame(pCalls, pFrames)), consumer: round(perFrame(consumer.window.copies.calls, cFrames)) },
      userBytesPerFrame: { producer: Math.round(perFrame(pBytes, pFrames)), consumer: Math.round(perFrame(consumer.window.copies.bytes, cFrames)) },
      framePasses: {
        producer: round(perFrame(pBytes + pKernel, pFrames) / frameBytes, 3),
        consumer: round(perFrame(consumer.window.copies.bytes + cKernel, cFrames) / frameBytes, 3),
      },
      maskedBytesPerFrame: Math.round(perFrame(masked, consumer.framesReceived)),
    };
    const sc = consumer.window.serverCopies;
    if (sc) {
      const sKernel = consumer.window.serverKernelBytes ?? 0;
      copies.server = {
        memcpyCallsPerFrame: round(perFrame(sc.calls, cFrames)),
        userBytesPerFrame: Math.round(perFrame(sc.bytes, cFrames)),
        kernelBytesPerFrame: Math.round(perFrame(sKernel, cFrames)),
        framePasses: round(perFrame(sc.bytes + sKernel, cFrames) / frameBytes, 3),
      };
    }
  }

  let status: CaseResult['status'] = 'ok';
  let error: string | undefined;
  if (consumer.framesCorrupt > 0) {
    status = 'FB_ERR_CORRUPT_FRAME';
    error = `${consumer.framesCorrupt} corrupt frame(s); first: ${consumer.firstProblem}`;
  } else if (consumer.framesReceived < accepted) {
    status = 'FB_ERR_FRAMES_LOST';
    error = `${accepted - consumer.framesReceived} frame(s) accepted by the transport never arrived`;
  } else if (pFrames === 0 || cFrames === 0) {
    status = 'FB_ERR_TIMEOUT';
    error = 'no frame completed inside the measurement window';
  }
  const [w, h] = spec.sizes[0];
  return {
    transport: spec.transport,
    scenario: spec.scenario,
    format: spec.format,
    width: spec.sizes.length === 1 ? w : 0,
    height: spec.sizes.length === 1 ? h : 0,
    frameBytes: Math.round(frameBytes),
    producers: spec.producers,
    framesSent,
    framesReceived: consumer.framesReceived,
    framesDropped: framesSent - consumer.framesReceived,
    framesCorrupt: consumer.framesCorrupt,
    fps: round(fps, 1),
    gbps: round((fps * frameBytes) / 1e9, 3),
    cpuUsPerFrame: {
      producer: round(producerCpu, 1),
      consumer: round(consumerCpu, 1),
      ...(serverCpu === undefined ? {} : { server: round(serverCpu, 1) }),
      total: round(total, 1),
    },
    cpuDetailUsPerFrame: {
      producerUser: round(perFrame(pUser, pFrames), 1),
      producerSystem: round(perFrame(pSys, pFrames), 1),
      consumerUser: round(perFrame(cUser, cFrames), 1),
      consumerSystem: round(perFrame(cSys, cFrames), 1),
    },
    copyEquivalents: round(memcpyUs > 0 ? total / memcpyUs : 0, 2),
    kernelBytesPerFrame: { producer: Math.round(perFrame(pKernel, pFrames)), consumer: Math.round(perFrame(cKernel, cFrames)) },
    copies,
    latencyUs: lat,
    histogram: consumer.histogram,
    rssPeakBytes: {
      producer: Math.max(...producers.map((p) => p.window.proc.maxRssBytes)),
      consumer: consumer.window.proc.maxRssBytes,
    },
    window: { seconds: round(consumer.window.seconds, 3), producerFrames: pFrames, consumerFrames: cFrames },
    ...(runtime ? { runtimePerFrame: runtime } : {}),
    ...inProcessMark(inProcess),
    masking: producers[0]?.transportStats.masking,
    transportStats: { producer: producers[0]?.transportStats ?? {}, consumer: consumer.transportStats },
    status,
    ...(error ? { error } : {}),
    ...(noise ? { noise } : {}),
  };
}
