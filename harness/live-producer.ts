import { readFileSync } from 'node:fs';
import { nowNs, sleepUntilNs } from '../core/clock';
import { parseProcIo } from '../measure/proc-stats';
import type { CaseSpec, ProducerReport } from '../core/case';
import { MeasureWindow } from '../measure/window';

interface LiveModule {
  startLiveProducer(o: {
    wsUrl: string; format: 'i420' | 'rgba'; width: number; height: number; fps: number; producerId: number; durationMs: number; chromiumPath?: string;
  }): Promise<{
    browserCpuUs(): { user: number; system: number };
    browserPids(): number[];
    done: Promise<{ framesSent: number; framesLate: number; framesBackpressured: number; slots: number; meanWorkMs: number; closedByConsumer: boolean }>;
    chromiumVersion: string;
    close(): Promise<void>;
  }>;
}

/**
 * Live mode (`--source chromium`): headless Chromium is the producer. The fixture page
 * draws each frame, converts it and sends it as one binary message over the page's own
 * WebSocket to the consumer. The producer side's CPU and kernel bytes are the browser's
 * whole process tree's; its copy counters are those of every process that inherited the
 * interposer (this driver and the browser's processes).
 */
export async function runLiveProducer(spec: CaseSpec, producerId: number, address: string, t0Ns: number): Promise<ProducerReport> {
  const live = require('../sources/chromium-live') as LiveModule;
  const windowStart = t0Ns + spec.warmupMs * 1e6;
  const stopAt = windowStart + spec.durationMs * 1e6;
  await sleepUntilNs(t0Ns);
  const [width, height] = spec.sizes[0];
  const lp = await live.startLiveProducer({
    wsUrl: address, format: spec.format, width, height, fps: spec.fps, producerId,
    durationMs: Math.max(100, (stopAt - nowNs()) / 1e6), chromiumPath: process.env.CHROMIUM_PATH,
  });
  try {
    const cpu = (): { userUs: number; systemUs: number; rchar: number; wchar: number } => {
      const c = lp.browserCpuUs();
      let rchar = 0;
      let wchar = 0;
      for (const pid of lp.browserPids()) {
        try {
          const io = parseProcIo(readFileSync(`/proc/${pid}/io`, 'utf8'));
          rchar += io.rchar;
          wchar += io.wchar;
        } catch {
          /* a process that just exited */
        }
      }
      return { userUs: c.user, systemUs: c.system, rchar, wchar };
    };
    const window = new MeasureWindow(windowStart, stopAt, cpu);
    const r = await lp.done;
    const pids = lp.browserPids().length;
    return {
      producerId,
      framesGenerated: r.framesSent,
      framesAccepted: r.framesSent,
      framesDroppedByPolicy: 0,
      window: window.figures(),
      windowFramesFromConsumer: true,
      transportStats: {
        producer: 'chromium', chromiumVersion: lp.chromiumVersion, browserProcesses: pids, framesLate: r.framesLate,
        framesBackpressured: r.framesBackpressured, slots: r.slots, meanWorkMs: Math.round(r.meanWorkMs * 100) / 100,
      },
    };
  } finally {
    await lp.close();
  }
}
