import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resultProblems } from '../core/validate';
import { checkInvariants, readResult } from './support/invariants';
import { runCli } from './support/cli';

/**
 * The transports people reach for instead (pipe, zeromq, redis, node-ipc, worker-sab) through
 * the real CLI: every scenario kind briefly, result invariants, and peer death for the two
 * with the most moving parts (node-ipc: the consumer forks the producers; redis: a server).
 */
const MORE = ['pipe', 'zeromq', 'redis', 'node-ipc', 'worker-sab'];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-cli-more-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A private TMPDIR per run: its run directories are ours alone (other test files run in parallel). */
function privateTmp(name: string): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = path.join(tmp, `t-${name}`);
  mkdirSync(dir);
  return { dir, env: { TMPDIR: dir } };
}

function runDirs(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith('framebench-run-'));
}

/**
 * redis-server processes started by the runs of one test: their socket lives in a run directory
 * under that test's private TMPDIR (other test files, run in parallel, start their own).
 */
function ourRedisServers(tmpDir: string): string[] {
  try {
    return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('redis-server') && l.includes('fb-redis-') && l.includes(`${tmpDir}/`));
  } catch {
    return [];
  }
}


describe('bench run on pipe, zeromq, redis, node-ipc, worker-sab (real processes)', () => {
  it('realtime, saturate and multi-producer hold the invariants; redis reports its server, worker-sab is labelled in-process', async () => {
    const out = path.join(tmp, 'all');
    const t = privateTmp('all');
    const r = await runCli([
      'run', '--rounds', '1', '--warmup-max', '0', '--transport', MORE.join(','), '--scenario', 'realtime,saturate,multi-producer', '--producers', '2', '--format', 'i420',
      '--resolution', '640x360', '--duration', '0.4', '--warmup', '0.1', '--out', out,
    ], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    const file = readResult(out);
    expect(resultProblems(file)).toEqual([]);
    expect(file.results).toHaveLength(MORE.length * 3);
    for (const c of file.results) {
      checkInvariants(c);
      expect(c.producers).toBe(c.scenario === 'multi-producer' ? 2 : 1);
      expect(c.cpuUsPerFrame.server !== undefined, c.transport).toBe(c.transport === 'redis');
      expect(Boolean(c.inProcess), c.transport).toBe(c.transport === 'worker-sab');
    }
    for (const c of file.results.filter((x) => x.transport === 'redis')) {
      expect(c.cpuUsPerFrame.server).toBeGreaterThan(0);
      // the server is its own side in the copy counts: it moves every frame in and out (>= 1 pass of its
      // own), and none of that lands in the consumer's, which reads each frame from its socket (~2 passes)
      expect(c.copies?.server?.framePasses, 'redis server passes').toBeGreaterThan(1);
      expect(c.copies!.framePasses.consumer, 'redis consumer passes').toBeLessThan(3);
    }
    // zeromq (send/recv) and node-ipc's receiving end (recvmsg): kernel copies /proc cannot see, said so
    for (const c of file.results.filter((x) => x.transport === 'zeromq')) expect(c.kernelBytesMeasured).toEqual({ producer: false, consumer: false });
    for (const c of file.results.filter((x) => x.transport === 'node-ipc')) expect(c.kernelBytesMeasured).toEqual({ producer: true, consumer: false });
    for (const t of ['pipe', 'zeromq', 'redis', 'node-ipc']) expect(r.stderr).toMatch(new RegExp(`^${t}\\b`, 'm'));
    expect(r.stderr).toMatch(/^worker-sab \(in-process\)/m);
    expect(r.stderr).toMatch(/redis: its server's CPU/);
    expect(runDirs(t.dir)).toEqual([]);
    expect(ourRedisServers(t.dir)).toEqual([]);
  }, 60_000);

  it('node-ipc: a producer (forked by the consumer) killed mid-run ends the case with FB_ERR_PEER_GONE', async () => {
    const out = path.join(tmp, 'ipc-crash');
    const r = await runCli(
      ['run', '--rounds', '1', '--warmup-max', '0', '--transport', 'node-ipc', '--scenario', 'realtime', '--format', 'i420', '--resolution', '640x360', '--duration', '1.5', '--warmup', '0.1', '--out', out],
      { env: { FRAMEBENCH_TEST_CRASH: 'node-ipc:producer:400' }, timeoutMs: 150_000 },
    );
    // the run ends by itself (null: killed as hung), reporting the dead peer, not a timeout
    expect(r.code, r.stderr).toBe(1);
    const file = readResult(out);
    expect(file.results[0].status).toBe('FB_ERR_PEER_GONE');
  }, 180_000);

  it('node-ipc: a consumer killed mid-run is FB_ERR_PEER_GONE (its forked producers follow it)', async () => {
    const out = path.join(tmp, 'ipc-crash-consumer');
    const r = await runCli(
      ['run', '--rounds', '1', '--warmup-max', '0', '--transport', 'node-ipc', '--scenario', 'saturate', '--format', 'i420', '--resolution', '640x360', '--duration', '1.5', '--warmup', '0.1', '--out', out],
      { env: { FRAMEBENCH_TEST_CRASH: 'node-ipc:consumer:400' }, timeoutMs: 150_000 },
    );
    // the run ends by itself (null: killed as hung), reporting the dead peer, not a timeout
    expect(r.code, r.stderr).toBe(1);
    const file = readResult(out);
    expect(file.results[0].status).toBe('FB_ERR_PEER_GONE');
  }, 180_000);

  it('redis: a consumer killed mid-run is FB_ERR_PEER_GONE and its redis-server goes with it', async () => {
    const out = path.join(tmp, 'redis-crash');
    const t = privateTmp('redis-crash');
    const r = await runCli(
      ['run', '--rounds', '1', '--warmup-max', '0', '--transport', 'redis', '--scenario', 'saturate', '--format', 'i420', '--resolution', '640x360', '--duration', '1.5', '--warmup', '0.1', '--out', out],
      { env: { ...t.env, FRAMEBENCH_TEST_CRASH: 'redis:consumer:400' } },
    );
    expect(r.code).toBe(1);
    const file = readResult(out);
    expect(file.results[0].status).toBe('FB_ERR_PEER_GONE');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the watchdog's SIGKILL
    expect(ourRedisServers(t.dir)).toEqual([]);
    expect(runDirs(t.dir)).toEqual([]);
  }, 30_000);
});
