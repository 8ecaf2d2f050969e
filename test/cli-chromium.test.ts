import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli';
import { readResult } from './support/invariants';

// Chromium is installed by .ci/run; these tests are never skipped.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-cli-chromium-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('frames from Chromium through the harness', () => {
  it('capture, then replay through every transport: all frames verified', async () => {
    const fx = path.join(tmp, 'fx');
    const cap = await runCli(['capture', '--frames', '3', '--resolution', '320x240', '--seed', '7', '--name', 'cli-test', '--out', fx]);
    expect(cap.code, cap.stderr).toBe(0);
    const out = path.join(tmp, 'replay');
    const r = await runCli(['run', '--rounds', '1', '--source', `fixture:${fx}`, '--transport', 'all', '--scenario', 'realtime', '--format', 'i420,rgba', '--duration', '0.5', '--warmup', '0.2', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const run = readResult(out);
    expect(run.settings.source).toBe(`fixture:${fx}`);
    expect(run.results.length).toBeGreaterThanOrEqual(8);
    for (const c of run.results) {
      expect(c.status, `${c.transport} ${c.format}: ${c.error}`).toBe('ok');
      expect(c.width).toBe(320);
      expect(c.framesReceived).toBe(c.framesSent);
      expect(c.framesCorrupt).toBe(0);
    }
  }, 120_000);

  it('a missing fixture is FB_ERR_FIXTURE_MISSING, exit 2', async () => {
    const r = await runCli(['run', '--rounds', '1', '--source', `fixture:${path.join(tmp, 'nope')}`, '--transport', 'unix']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('FB_ERR_FIXTURE_MISSING');
  });

  it('live mode: Chromium is the ws producer; frames verified, fragments and browser CPU reported', async () => {
    // Chromium launches after the start barrier; on a loaded 2-core machine that takes seconds: the warm-up covers it
    const out = path.join(tmp, 'live');
    const r = await runCli(['run', '--rounds', '1', '--source', 'chromium', '--transport', 'ws', '--scenario', 'realtime', '--format', 'i420', '--resolution', '640x360', '--duration', '1.5', '--warmup', '6', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const c = readResult(out).results[0];
    expect(c.status).toBe('ok');
    expect(c.framesReceived).toBeGreaterThan(0);
    expect(c.framesReceived + c.framesDropped).toBe(c.framesSent);
    expect(c.transportStats.producer.producer).toBe('chromium');
    expect(Number(c.transportStats.consumer.fragmentsPerMessage)).toBeGreaterThan(1);
    expect(c.cpuUsPerFrame.producer).toBeGreaterThan(0);
  }, 120_000);

  it('live mode refuses other transports', async () => {
    const r = await runCli(['run', '--rounds', '1', '--source', 'chromium', '--transport', 'tcp']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('FB_ERR_USAGE');
  });
});
