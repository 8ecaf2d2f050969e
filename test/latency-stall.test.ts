import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decode } from '../core/histogram';
import { readResult } from './support/invariants';
import { runCli } from './support/cli';

/**
 * Latency is measured from each frame's scheduled send time, with no synthetic back-fill
 * (docs/architecture.md, "Latency"). A paced producer at 30 fps; the consumer blocks once for
 * STALL_MS on its window's 11th frame (FRAMEBENCH_TEST_INJECT `<t>:consumerStallMs=N`, after the
 * frame is verified and before its clock stops). Every frame the stall held up then shows its own
 * delay, once: the stalled frame ~STALL_MS, the next one ~33 ms less, and so on down a staircase.
 * With back-fill (recordValueWithExpectedInterval) the histogram would hold more samples than
 * frames and the staircase would have every step several times. No speed is asserted: the steps
 * are the pacing interval minus the time the consumer takes to catch up on one small frame, and
 * the bounds leave room for a busy machine.
 */
const STALL_MS = 400;
const FPS = 30;
const INTERVAL_MS = 1000 / FPS;
const THRESHOLD_MS = 100;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-latency-stall-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every recorded value of an HDR histogram (µs), largest first, one entry per sample. */
function samplesOf(encoded: string): number[] {
  const h = decode(encoded);
  const it = (h as unknown as { recordedValuesIterator: { reset(): void; hasNext(): boolean; next(): { valueIteratedTo: number; countAtValueIteratedTo: number } } })
    .recordedValuesIterator;
  const out: number[] = [];
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    for (let i = 0; i < v.countAtValueIteratedTo; i++) out.push(v.valueIteratedTo);
  }
  return out.sort((a, b) => b - a);
}

describe('latency under a consumer stall (real processes)', () => {
  it('each delayed frame shows its own delay once, from its scheduled time', async () => {
    const out = path.join(tmp, 'run');
    const r = await runCli([
      'run', '--rounds', '1', '--transport', 'unix', '--scenario', 'realtime', '--format', 'i420', '--resolution', '320x240',
      '--fps', String(FPS), '--duration', '2', '--warmup', '0', '--warmup-max', '0', '--out', out, '--json',
    ], { env: { FRAMEBENCH_TEST_INJECT: `unix:consumerStallMs=${STALL_MS}` } });
    expect(r.code, r.stderr).toBe(0);
    const run = readResult(out);
    expect(run.settings.inject).toEqual({ unix: { consumerStallMs: STALL_MS } });
    const c = run.results[0];
    expect(c.status, c.error).toBe('ok');
    expect(c.framesDropped).toBe(0);

    // No warm-up: every frame's scheduled time is inside the window, so one sample per frame received
    const all = samplesOf(c.histogram ?? '');
    expect(all.length).toBe(c.framesReceived);
    expect(c.latencyUs.count).toBe(c.framesReceived);

    // The staircase: the stalled frame first, then each later frame it held up, one interval less each time
    const delayed = all.filter((us) => us > THRESHOLD_MS * 1000).map((us) => us / 1000);
    expect(delayed[0]).toBeGreaterThanOrEqual(STALL_MS);
    expect(delayed[0]).toBeLessThan(STALL_MS + 2 * INTERVAL_MS);
    // Consecutive delayed frames are one pacing interval apart in schedule, so their delays step down
    // by about an interval (less the consumer's catch-up time per frame; uneven when the machine is
    // busy). A back-filled copy would sit a few ms from a real sample: no step may be that small.
    const steps = delayed.slice(1).map((ms, i) => delayed[i] - ms);
    const shown = `delays ${delayed.map((x) => x.toFixed(1)).join(', ')} ms`;
    for (const s of steps) {
      expect(s, shown).toBeGreaterThan(INTERVAL_MS * 0.25);
      expect(s, shown).toBeLessThan(INTERVAL_MS * 1.75);
    }
    const mean = steps.reduce((a, b) => a + b, 0) / steps.length;
    expect(mean, shown).toBeGreaterThan(INTERVAL_MS * 0.7);
    expect(mean, shown).toBeLessThan(INTERVAL_MS * 1.1);
    // as many delayed frames as intervals fit between the stall and the threshold, each once
    expect(delayed.length, shown).toBeGreaterThanOrEqual(Math.floor((STALL_MS - THRESHOLD_MS) / INTERVAL_MS));
    expect(delayed.length, shown).toBeLessThanOrEqual(Math.ceil((delayed[0] - THRESHOLD_MS) / (INTERVAL_MS * 0.7)) + 1);
  }, 90_000);
});
