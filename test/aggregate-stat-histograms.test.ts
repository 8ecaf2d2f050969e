import { describe, expect, it } from 'vitest';
import { aggregateRounds } from '../measure/aggregate';
import { decode, encode, newHistogram, recordUs } from '../core/histogram';
import type { CaseResult } from '../core/result';

/**
 * A transport's own latency figures (shm's wake-to-handler) over a run of several rounds: the
 * rounds' samples are merged (measure/aggregate.ts), as the harness's latency is, instead of the
 * first round's percentiles standing for the whole run.
 */

function wakeStats(samplesUs: number[], wakeups: number): Record<string, number | string> {
  const h = newHistogram();
  for (const x of samplesUs) recordUs(h, x);
  return {
    wakeups,
    wakeSamples: h.totalCount,
    wakeP50Us: h.getValueAtPercentile(50),
    wakeP99Us: h.getValueAtPercentile(99),
    wakeMaxUs: h.maxValue,
    wakeHistogram: encode(h),
  };
}

function round(consumer: Record<string, number | string>, status: CaseResult['status'] = 'ok'): CaseResult {
  return {
    status,
    cpuUsPerFrame: { producer: 1, consumer: 1, total: 2 },
    latencyUs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0 },
    framesSent: 10, framesReceived: 10, framesDropped: 0, framesCorrupt: 0,
    window: { seconds: 1, producerFrames: 10, consumerFrames: 10 },
    rssPeakBytes: { producer: 1, consumer: 1 },
    transportStats: { producer: {}, consumer },
  } as unknown as CaseResult;
}

describe('aggregateRounds: stats histograms', () => {
  // round 1: 100 samples of 50 µs; round 2: 98 of 60 µs and 2 of 5,000 µs; round 3 failed (its samples are left out)
  const r1 = wakeStats(Array(100).fill(50), 101);
  const r2 = wakeStats([...Array(98).fill(60), 5000, 5000], 100);
  const r3 = wakeStats([9_000_000], 1);

  it("merges every ok round's samples once; the percentiles are over all of them", () => {
    const agg = aggregateRounds([round(r1), round(r2), round(r3, 'FB_ERR_TIMEOUT' as CaseResult['status'])]);
    const c = agg.transportStats.consumer;
    expect(c.wakeSamples).toBe(200);
    expect(c.wakeP50Us).toBe(50); // 100 at 50, then 98 at 60: the 100th of 200 is the last 50
    expect(c.wakeMaxUs).toBeGreaterThanOrEqual(4995); // 3 significant digits
    expect(c.wakeMaxUs).toBeLessThan(5010);
    expect(c.wakeP99Us).toBe(60); // 2 of 200 above it: 1% (round 1 alone: 50)
    expect(decode(c.wakeHistogram as string).totalCount).toBe(200);
    // a counter is not a histogram's: it stays the first ok round's
    expect(c.wakeups).toBe(101);
    // one round alone: unchanged
    expect(aggregateRounds([round(r2)]).transportStats.consumer.wakeSamples).toBe(100);
  });

  it('a p99 above one round of the tail: the tail of two rounds counts once each', () => {
    const tail = wakeStats([...Array(95).fill(40), ...Array(5).fill(2000)], 100);
    const agg = aggregateRounds([round(r1), round(tail)]);
    // 5 of 200 samples at 2,000 µs: 2.5% of the merged samples, so the merged p99 is in the tail
    expect(agg.transportStats.consumer.wakeP99Us).toBeGreaterThanOrEqual(1995);
    expect(agg.transportStats.consumer.wakeP50Us).toBeLessThanOrEqual(50);
  });
});
