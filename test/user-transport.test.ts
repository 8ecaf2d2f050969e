import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../core/result';
import { ROOT, runCli } from './support/cli';

/**
 * Bring your own transport: a module implementing transports/types.ts, passed by path. check-transport
 * runs the conformance checks against it (and fails a broken one, naming the check); then it runs in the
 * matrix beside the built-ins under its own name, from --transport or from a config's `transports`.
 * (test/pack-install.test.ts does the same from the installed tarball.)
 */
mkdirSync(path.join(ROOT, '.cache'), { recursive: true });
// inside the checkout, so that the modules' `import ... from 'framebench'` resolves (the package's self-reference)
const dir = mkdtempSync(path.join(ROOT, '.cache', 'user-transport-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const example = path.join(dir, 'transport-socket.ts');
copyFileSync(path.join(ROOT, 'examples', 'transport-socket.ts'), example);

/** The unix transport with a sender that flips the last byte of every frame between 1 and 5 KB. */
const corrupting = path.join(dir, 'corrupting.js');
writeFileSync(corrupting, `const fb = require('framebench');
const unix = fb.getTransport('unix');
module.exports = { ...unix, name: 'corrupting', async openSender(address, opts) {
  const s = await unix.openSender(address, opts);
  return { send(f) { const c = Buffer.from(f); if (c.length > 1000 && c.length < 5000) c[c.length - 1] ^= 0xff; return s.send(c); },
    onError: (h) => s.onError(h), stats: () => s.stats(), close: () => s.close() };
} };
`);
const clashing = path.join(dir, 'clashing.js');
writeFileSync(clashing, "const fb = require('framebench');\nmodule.exports = { ...fb.getTransport('unix') };\n");

const SHORT = ['--scenario', 'realtime', '--format', 'i420', '--resolution', '360p', '--duration', '0.3', '--warmup', '0.1', '--rounds', '1', '--warmup-max', '0', '--no-copy-accounting', '--json'];

describe('a transport of your own', () => {
  it('check-transport: the example passes every check, exit 0', async () => {
    const r = await runCli(['check-transport', example, '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { transport: string; ok: boolean; checks: Array<{ name: string; ok: boolean }> };
    expect(j.transport).toBe('example-socket');
    expect(j.checks.length).toBeGreaterThanOrEqual(9);
    expect(j.checks.filter((c) => !c.ok)).toEqual([]);
  }, 150_000);

  it('check-transport: a transport that corrupts a frame fails the byte-exact check, exit 1', async () => {
    const r = await runCli(['check-transport', corrupting], { timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAIL carries odd sizes whole, in order, byte-exact via send\(\): frame 2: 4097 B differ/);
    expect(r.stderr).toMatch(/ok {3}keeps per-sender order/); // the other checks still ran
  }, 150_000);

  it('a module named like a built-in transport is refused (FB_ERR_TRANSPORT_MODULE, exit 2)', async () => {
    const r = await runCli(['run', '--transport', clashing, ...SHORT], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^FB_ERR_TRANSPORT_MODULE: .*built-in/);
  });

  it('runs in the matrix beside a built-in, under its own name (--transport PATH)', async () => {
    const out = path.join(dir, 'out-flag');
    const r = await runCli(['run', '--transport', `${example},unix`, ...SHORT, '--out', out], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as RunResult;
    expect(run.results.map((c) => c.transport).sort()).toEqual(['example-socket', 'unix']);
    for (const c of run.results) {
      expect(c.status, c.error).toBe('ok');
      expect(c.framesReceived).toBeGreaterThan(0);
    }
  }, 200_000);

  it('a config `transports` entry, relative to the config file, does the same', async () => {
    const cfg = path.join(dir, 'bench.config.json');
    writeFileSync(cfg, JSON.stringify({ transports: ['./transport-socket.ts'] }));
    const r = await runCli(['run', '--config', cfg, ...SHORT, '--out', path.join(dir, 'out-config')], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as RunResult;
    expect(run.results.map((c) => [c.transport, c.status])).toEqual([['example-socket', 'ok']]);
  }, 200_000);
});
