import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
    const r = await runCli(['run', '--rounds', '1', '--warmup-max', '0', '--source', `fixture:${fx}`, '--transport', 'all', '--scenario', 'realtime', '--format', 'i420,rgba', '--duration', '0.5', '--warmup', '0.2', '--out', out]);
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
    // shm-c's producer is a native program making synthetic frames only: skipped under 'all', refused when named
    expect(run.skipped.find((x) => x.transport === 'shm-c')?.reason).toMatch(/synthetic frames only/);
    expect(run.results.some((c) => c.transport === 'shm-node-c')).toBe(true); // its producer is Node's: it replays
    const named = await runCli(['run', '--rounds', '1', '--source', `fixture:${fx}`, '--transport', 'shm-c', '--out', path.join(tmp, 'named')]);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain('FB_ERR_USAGE');
  }, 120_000);

  it('a missing fixture is FB_ERR_FIXTURE_MISSING, exit 2', async () => {
    const r = await runCli(['run', '--rounds', '1', '--source', `fixture:${path.join(tmp, 'nope')}`, '--transport', 'unix']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('FB_ERR_FIXTURE_MISSING');
  });

  it('live mode: Chromium is the ws producer; frames verified, fragments and browser CPU reported', async () => {
    // Chromium launches at init, before the start barrier: the warm-up need not cover a browser start
    const out = path.join(tmp, 'live');
    const r = await runCli(['run', '--rounds', '1', '--source', 'chromium', '--transport', 'ws', '--scenario', 'realtime', '--format', 'i420', '--resolution', '640x360', '--duration', '1.5', '--warmup', '0.5', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const c = readResult(out).results[0];
    expect(c.status).toBe('ok');
    expect(c.framesReceived).toBeGreaterThan(0);
    expect(c.framesReceived + c.framesDropped).toBe(c.framesSent);
    expect(c.transportStats.producer.producer).toBe('chromium');
    expect(Number(c.transportStats.consumer.fragmentsPerMessage)).toBeGreaterThan(1);
    expect(c.cpuUsPerFrame.producer).toBeGreaterThan(0);
  }, 120_000);

  it('the bot (--source chromium-bot): frames verified end to end, the control sends nothing, the figure and its cost line reported', async () => {
    const out = path.join(tmp, 'bot');
    const r = await runCli(['run', '--rounds', '2', '--source', 'chromium-bot', '--transport', 'ws', '--scenario', 'realtime', '--format', 'i420', '--resolution', '320x240', '--duration', '1', '--warmup', '0.5', '--out', out], { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    const run = readResult(out);
    const send = run.results.find((c) => c.bot?.role === 'send');
    const control = run.results.find((c) => c.bot?.role === 'control');
    expect(send && control, 'a send case and its control').toBeTruthy();
    expect(send!.status).toBe('ok');
    expect(send!.framesSent).toBeGreaterThan(0);
    expect(send!.framesReceived).toBe(send!.framesSent);
    expect(send!.framesCorrupt).toBe(0);
    // every byte checked (transportStats are the first ok round's, framesReceived the sum over rounds)
    expect(Number(send!.transportStats.consumer.checksumFrames)).toBeGreaterThan(0);
    expect(Number(send!.transportStats.consumer.checksumFrames)).toBeLessThanOrEqual(send!.framesReceived);
    expect(send!.transportStats.producer.frameFormat).toBe('I420');
    expect(send!.bot!.chromiumVersion).toMatch(/Chrom/);
    expect(send!.bot!.rounds).toHaveLength(2);
    expect(send!.bot!.wire!.maskedShare).toBe(1);
    expect(send!.bot!.wire!.fragmentsPerMessage).toBeGreaterThanOrEqual(1);
    expect(control!.status, control!.error).toBe('ok');
    expect(control!.framesSent).toBe(0);
    expect(control!.framesReceived).toBe(0);
    expect(control!.window.producerFrames).toBeGreaterThan(0);
    expect(control!.cpuUsPerFrame.producer).toBeGreaterThan(0);
    const shm = run.results.find((c) => c.transport === 'shm');
    expect(shm?.scenario).toBe('bot-shm-write');
    expect(r.stderr).toContain('without it (no-send control, same rounds)');
    expect(r.stderr).toContain("the send's share of the bot's CPU");
    expect(r.stderr).toMatch(/bot CPU saved by moving the send to shared memory: .*ASSUMPTION/);
    expect(readFileSync(path.join(out, 'summary.md'), 'utf8')).toContain('Node shm write of the same frame (assumption)');
    expect(readFileSync(path.join(out, 'index.html'), 'utf8')).toContain('id="bot-figure"');
  }, 300_000);

  it('the bot: a frame changed after the page checksummed it is caught (FB_ERR_CORRUPT_FRAME, exit 1)', async () => {
    const out = path.join(tmp, 'bot-flip');
    const r = await runCli(['run', '--rounds', '1', '--source', 'chromium-bot', '--transport', 'ws', '--scenario', 'realtime', '--format', 'i420', '--resolution', '320x240', '--duration', '0.8', '--warmup', '0.5', '--out', out], { timeoutMs: 240_000, env: { FRAMEBENCH_TEST_INJECT: 'ws:flipByte' } });
    expect(r.code, r.stderr).toBe(1);
    const send = readResult(out).results.find((c) => c.bot?.role === 'send');
    expect(send?.status).toBe('FB_ERR_CORRUPT_FRAME');
    expect(send!.framesCorrupt).toBeGreaterThan(0);
    expect(send!.error).toMatch(/checksum/);
  }, 300_000);

  it('the bot without WebCodecs: FB_ERR_WEBCODECS_MISSING, exit 2, no hang', async () => {
    const t = Date.now();
    const r = await runCli(['run', '--rounds', '1', '--source', 'chromium-bot', '--transport', 'ws', '--scenario', 'realtime', '--format', 'i420', '--resolution', '320x240', '--out', path.join(tmp, 'nowc')], { timeoutMs: 90_000, env: { FRAMEBENCH_TEST_NO_WEBCODECS: '1' } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('FB_ERR_WEBCODECS_MISSING');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(Date.now() - t).toBeLessThan(90_000);
  }, 120_000);

  it('the bot refuses RGBA and other transports (FB_ERR_USAGE, exit 2)', async () => {
    const rgba = await runCli(['run', '--rounds', '1', '--source', 'chromium-bot', '--transport', 'ws', '--scenario', 'realtime', '--format', 'rgba']);
    expect(rgba.code).toBe(2);
    expect(rgba.stderr).toMatch(/FB_ERR_USAGE.*--format i420/);
    const tcp = await runCli(['run', '--rounds', '1', '--source', 'chromium-bot', '--transport', 'tcp', '--scenario', 'realtime', '--format', 'i420']);
    expect(tcp.code).toBe(2);
    expect(tcp.stderr).toContain('FB_ERR_USAGE');
  });

  it('live mode refuses other transports', async () => {
    const r = await runCli(['run', '--rounds', '1', '--source', 'chromium', '--transport', 'tcp']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('FB_ERR_USAGE');
  });
});
