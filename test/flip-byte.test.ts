import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getTransport, transportNames, unavailableReason } from '../transports/registry';
import { readResult } from './support/invariants';
import { runCli } from './support/cli';
import { requireOrSkip } from './support/require';
import './support/require-ts'; // the registry requires the adapters lazily

/**
 * The same check on every transport: with one payload byte changed in every frame from seq 5 on
 * (FRAMEBENCH_TEST_INJECT <t>:flipByte, after the frame is filled and checksummed, at a
 * different offset anywhere in the payload each frame), the default check (--verify checksum)
 * reports the case corrupt, zero-copy (shm), in-process (worker-sab) and native-consumer (shm-node-c)
 * transports included.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-flip-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// every transport whose producer is a Node process (a native producer takes no injected fault;
// shm-node-c stays: its C consumer must find the flipped bytes too)
const ALL = transportNames().filter((t) => !getTransport(t).nativeEnds?.producer);
const runnable = ALL.filter((t) => !requireOrSkip(t, unavailableReason(t)));
// the addon that holds the native checksum is the shm one: without it, the JS fallback runs (and shm cannot)
const nativeImpl = unavailableReason('shm') === null ? 'native' : 'js';

describe.skipIf(runnable.length === 0)('a flipped byte is reported corrupt on every transport (real CLI)', () => {
  it(`${runnable.join(', ')}: FB_ERR_CORRUPT_FRAME with framesCorrupt > 0`, async () => {
    const out = path.join(tmp, 'out');
    const tmpdir = path.join(tmp, 'tmpdir');
    mkdirSync(tmpdir);
    const r = await runCli([
      'run', '--rounds', '1', '--warmup-max', '0', '--transport', runnable.join(','), '--scenario', 'realtime', '--format', 'i420', '--resolution', '360p',
      '--duration', '0.4', '--warmup', '0.1', '--no-copy-accounting', '--out', out,
    ], { env: { TMPDIR: tmpdir, FRAMEBENCH_TEST_INJECT: runnable.map((t) => `${t}:flipByte`).join(',') }, timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(1); // a case failed
    const file = readResult(out);
    expect(file.settings.verify).toBe('checksum');
    expect(Object.keys(file.settings.inject ?? {}).sort()).toEqual([...runnable].sort());
    expect(file.results.map((c) => c.transport).sort()).toEqual([...runnable].sort());
    for (const c of file.results) {
      expect(c.status, `${c.transport}: ${c.error}`).toBe('FB_ERR_CORRUPT_FRAME');
      expect(c.framesCorrupt, c.transport).toBeGreaterThan(0);
      expect(c.error, c.transport).toMatch(/payload checksum .* != header/);
      expect(c.transportStats.consumer.checksumImpl, c.transport).toBe(nativeImpl);
      expect(c.transportStats.consumer.checksumFrames, c.transport).toBeGreaterThan(0);
    }
  }, 200_000);
});
