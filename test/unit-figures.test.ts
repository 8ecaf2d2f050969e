import { describe, expect, it } from 'vitest';
import { encode, newHistogram, recordUs } from '../core/histogram';
import type { CaseSpec, ConsumerReport, ProducerReport, WindowFigures } from '../core/case';
import { caseFigures, failedResult, meanFrameBytes, memcpyUsFor } from '../measure/figures';

/**
 * The per-case figures (measure/figures.ts) from hand-made producer and consumer reports.
 * Every expected number is worked out by hand in the comments, from the inputs alone.
 */

// 640x360 I420: 640 * 360 * 1.5 = 345,600 B of pixels per frame
const FRAME = 345_600;

const SPEC: CaseSpec = {
  caseId: '1', transport: 'unix', scenario: 'multi-producer', pacing: 'fps', format: 'i420', sizes: [[640, 360]],
  fps: 30, warmupMs: 200, durationMs: 2000, producers: 2, verify: 'sample', source: 'synthetic', runDir: '/nonexistent',
  maxFrameBytes: FRAME + 64, policy: 'drop', transportOptions: {},
};

function win(over: Partial<Omit<WindowFigures, 'proc'>> & { proc?: Partial<WindowFigures['proc']> }): WindowFigures {
  return {
    seconds: 2,
    frames: 0,
    copies: null,
    ...over,
    proc: { userUs: 0, systemUs: 0, rchar: 0, wchar: 0, maxRssBytes: 0, ...over.proc },
  };
}

const copies = (calls: number, bytes: number) => ({ calls, bytes, bucketCalls: [calls], bucketBytes: [bytes] });

/** 90 frames at 100 µs, 9 at 200 µs, 1 at 5 ms. */
function latencies(): string {
  const h = newHistogram();
  for (let i = 0; i < 90; i++) recordUs(h, 100);
  for (let i = 0; i < 9; i++) recordUs(h, 200);
  recordUs(h, 5000);
  return encode(h);
}

/**
 * Producer 0: 110 frames made, 100 accepted (10 dropped by policy), 100 in its window.
 * Producer 1: 60 made and accepted, 50 in its window. The consumer: 160 received, 120 in a
 * 2 s window. Each writes/reads every frame once through the kernel and copies in user space.
 */
function reports(): { producers: ProducerReport[]; consumer: ConsumerReport } {
  const producers: ProducerReport[] = [
    {
      producerId: 0, framesGenerated: 110, framesAccepted: 100, framesDroppedByPolicy: 10,
      window: win({ frames: 100, proc: { userUs: 3000, systemUs: 1000, wchar: 100 * FRAME, maxRssBytes: 50e6 }, copies: copies(200, 200 * FRAME) }),
      transportStats: { masking: 'bufferutil', writes: 100 },
    },
    {
      producerId: 1, framesGenerated: 60, framesAccepted: 60, framesDroppedByPolicy: 0,
      window: win({ frames: 50, proc: { userUs: 1500, systemUs: 500, wchar: 50 * FRAME, maxRssBytes: 60e6 }, copies: copies(100, 50 * FRAME) }),
      transportStats: {},
    },
  ];
  const consumer: ConsumerReport = {
    framesReceived: 160, framesCorrupt: 0, outOfOrder: 0, gaps: 0, receivedPerProducer: [100, 60], firstProblem: null,
    histogram: latencies(),
    window: win({ seconds: 2, frames: 120, proc: { userUs: 5000, systemUs: 1000, rchar: 120 * FRAME, maxRssBytes: 40e6 }, copies: copies(120, 120 * FRAME) }),
    transportStats: { maskedBytes: 160 * 1000 },
    drained: true,
  };
  return { producers, consumer };
}

describe('caseFigures', () => {
  it('per-frame CPU, copy-equivalents, fps, drops and copies, worked out by hand', () => {
    const { producers, consumer } = reports();
    const r = caseFigures(SPEC, producers, consumer, 20);
    expect(r).toMatchObject({
      transport: 'unix', scenario: 'multi-producer', format: 'i420', width: 640, height: 360, frameBytes: FRAME, producers: 2,
      framesSent: 170, // 110 + 60
      framesReceived: 160,
      framesDropped: 10, // 170 sent - 160 received
      framesCorrupt: 0,
      fps: 60, // 120 frames / 2 s
      gbps: 0.021, // 60 * 345,600 B = 0.020736 GB/s
      // each side over the frames of its own window: producers (3000 + 1000 + 1500 + 500) µs /
      // (100 + 50) frames = 40; the consumer (5000 + 1000) µs / 120 frames = 50
      cpuUsPerFrame: { producer: 40, consumer: 50, total: 90 },
      cpuDetailUsPerFrame: { producerUser: 30, producerSystem: 10, consumerUser: 41.7, consumerSystem: 8.3 },
      copyEquivalents: 4.5, // 90 µs / a 20 µs memcpy
      kernelBytesPerFrame: { producer: FRAME, consumer: FRAME }, // 150 frames' bytes / 150, 120 / 120
      copies: {
        memcpyCallsPerFrame: { producer: 2, consumer: 1 }, // 300 / 150, 120 / 120
        userBytesPerFrame: { producer: 576_000, consumer: FRAME }, // 250 frames' bytes / 150
        // (250 user + 150 kernel) frames' bytes / 150 frames / FRAME = 2.667; (120 + 120) / 120 = 2
        framePasses: { producer: 2.667, consumer: 2 },
        maskedBytesPerFrame: 1000, // 160,000 B over the 160 frames received
      },
      latencyUs: { p50: 100, p90: 100, p99: 200, count: 100 },
      rssPeakBytes: { producer: 60e6, consumer: 40e6 }, // the larger producer; the consumer alone
      window: { seconds: 2, producerFrames: 150, consumerFrames: 120 },
      masking: 'bufferutil',
      transportStats: { producer: { masking: 'bufferutil', writes: 100 }, consumer: { maskedBytes: 160_000 } },
      status: 'ok',
    });
    expect(r.latencyUs.max).toBeGreaterThanOrEqual(5000);
    expect(r.latencyUs.max).toBeLessThanOrEqual(5005); // 3 significant digits
    expect(r.latencyUs.mean).toBeCloseTo(158, 0); // (90 * 100 + 9 * 200 + 5000) / 100
    expect(r.cpuUsPerFrame).not.toHaveProperty('server');
    expect(r).not.toHaveProperty('inProcess');
    expect(r).not.toHaveProperty('error');
  });

  it("a server process (redis) is a third side, per frame the consumer completed", () => {
    const { producers, consumer } = reports();
    consumer.window.serverCpuUs = 3000;
    const r = caseFigures(SPEC, producers, consumer, 20);
    // 3000 µs / 120 frames = 25 µs; total 40 + 50 + 25 = 115, 5.75 memcpys
    expect(r.cpuUsPerFrame).toEqual({ producer: 40, consumer: 50, server: 25, total: 115 });
    expect(r.copyEquivalents).toBe(5.75);
  });

  it('live mode: the consumer window count stands for the producer side too', () => {
    const { producers, consumer } = reports();
    producers[0].windowFramesFromConsumer = true;
    const r = caseFigures(SPEC, producers, consumer, 20);
    expect(r.window.producerFrames).toBe(120);
    expect(r.cpuUsPerFrame.producer).toBe(50); // 6000 µs / 120 consumer frames
  });

  it('copy figures only when every process counted copies; in-process mark; no memcpy calibration, no copy-equivalents', () => {
    const { producers, consumer } = reports();
    producers[1].window.copies = null;
    const r = caseFigures(SPEC, producers, consumer, 0, true);
    expect(r.copies).toBeNull();
    expect(r.copyEquivalents).toBe(0);
    expect(r.inProcess).toBe(true);
  });

  it('status: corrupt frames first, then frames accepted but never received, then an empty window', () => {
    const corrupt = reports();
    corrupt.consumer.framesCorrupt = 2;
    corrupt.consumer.firstProblem = 'seq 7: bad checksum';
    corrupt.consumer.framesReceived = 150; // 10 lost too: corruption is reported first
    expect(caseFigures(SPEC, corrupt.producers, corrupt.consumer, 20)).toMatchObject({
      status: 'FB_ERR_CORRUPT_FRAME', error: '2 corrupt frame(s); first: seq 7: bad checksum', framesCorrupt: 2,
    });

    const lost = reports();
    lost.consumer.framesReceived = 155; // 160 accepted
    expect(caseFigures(SPEC, lost.producers, lost.consumer, 20)).toMatchObject({
      status: 'FB_ERR_FRAMES_LOST', error: '5 frame(s) accepted by the transport never arrived', framesDropped: 15,
    });

    const empty = reports();
    empty.consumer.window.frames = 0;
    const r = caseFigures(SPEC, empty.producers, empty.consumer, 20);
    expect(r).toMatchObject({ status: 'FB_ERR_TIMEOUT', error: 'no frame completed inside the measurement window' });
    expect(r.cpuUsPerFrame.consumer).toBe(0); // nothing divided by zero frames
    expect(r.fps).toBe(0);
    for (const v of Object.values(r.cpuUsPerFrame)) expect(Number.isFinite(v)).toBe(true);

    const dropped = reports(); // frames dropped by policy before the transport took them are no loss
    expect(dropped.producers[0].framesDroppedByPolicy).toBe(10);
    expect(caseFigures(SPEC, dropped.producers, dropped.consumer, 20).status).toBe('ok');
  });

  it('variable size: no single width or height; frame bytes are the mean, rounded', () => {
    const { producers, consumer } = reports();
    const spec: CaseSpec = { ...SPEC, sizes: [[640, 360], [1280, 720], [2, 2]] };
    const r = caseFigures(spec, producers, consumer, 20);
    // (345,600 + 1,382,400 + 6) / 3 = 576,002
    expect(r).toMatchObject({ width: 0, height: 0, frameBytes: 576_002 });
  });
});

describe('meanFrameBytes and memcpyUsFor', () => {
  it('average over the sizes the case cycles through', () => {
    expect(meanFrameBytes({ format: 'rgba', sizes: [[1920, 1080]] })).toBe(8_294_400);
    expect(meanFrameBytes({ format: 'i420', sizes: [[2, 2], [4, 2]] })).toBe(9); // (6 + 12) / 2
    const byBytes = { '6': 1, '12': 4, '345600': 33 };
    expect(memcpyUsFor({ format: 'i420', sizes: [[640, 360]] }, byBytes)).toBe(33);
    expect(memcpyUsFor({ format: 'i420', sizes: [[2, 2], [4, 2]] }, byBytes)).toBe(2.5);
    expect(memcpyUsFor({ format: 'rgba', sizes: [[2, 2]] }, byBytes)).toBeNaN(); // not calibrated
  });
});

describe('failedResult', () => {
  it('an all-zero result with the status, the error and the case shape', () => {
    const { runDir: _runDir, ...spec } = { ...SPEC, sizes: [[640, 360], [1280, 720]] as Array<[number, number]> };
    const r = failedResult(spec, 'FB_ERR_PEER_GONE', 'producer 1 exited (SIGKILL)');
    expect(r).toMatchObject({
      transport: 'unix', scenario: 'multi-producer', format: 'i420', width: 640, height: 360, producers: 2,
      frameBytes: 864_000, // (345,600 + 1,382,400) / 2
      framesSent: 0, framesReceived: 0, framesDropped: 0, framesCorrupt: 0, fps: 0, gbps: 0,
      cpuUsPerFrame: { producer: 0, consumer: 0, total: 0 }, copyEquivalents: 0, copies: null,
      latencyUs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0 },
      window: { seconds: 0, producerFrames: 0, consumerFrames: 0 },
      status: 'FB_ERR_PEER_GONE', error: 'producer 1 exited (SIGKILL)',
    });
    expect(r).not.toHaveProperty('inProcess');
    expect(failedResult(spec, 'FB_ERR_TIMEOUT', 'x', true).inProcess).toBe(true);
  });
});
