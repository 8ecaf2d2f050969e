import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../core/result';
import { ROOT } from './support/cli';

/**
 * The package as a user gets it: `npm pack` (its prepack makes the linux-x64 native builds, prepare the
 * TypeScript), then `npm install <tarball>` into an empty project in a temp folder (install scripts not
 * disabled; npm 11 runs none of a dependency's anyway, so the shipped prebuilds are what load), then the
 * binary, a transport module of the user's and the programmatic API from there.
 *
 * The pack runs in a copy of the checkout (its files, node_modules linked), so rebuilding dist/ for the
 * tarball never disturbs the tests running beside this one. Dependencies come from the local npm cache
 * (`--prefer-offline`: the network only for what the cache lacks).
 */
const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const work = mkdtempSync(path.join(os.tmpdir(), 'fb-pack-'));
const copy = path.join(work, 'src');
const project = path.join(work, 'project');
let tarball = '';
afterAll(() => rmSync(work, { recursive: true, force: true }));

function sh(cmd: string, args: string[], cwd: string, timeoutMs: number): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
}

function must(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}: ${(r.stderr || '').slice(-2000)}`);
  return r.stdout;
}

beforeAll(() => {
  // the checkout's files (committed or not, minus what .gitignore leaves out), node_modules shared
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    if (f === 'node_modules' || !existsSync(path.join(ROOT, f))) continue;
    mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
    copyFileSync(path.join(ROOT, f), path.join(copy, f));
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  must(sh('npm', ['pack', '--pack-destination', work], copy, 600_000), 'npm pack');
  tarball = path.join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'fb-user-project', version: '1.0.0', private: true }));
  must(sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project, 600_000), 'npm install <tarball>');
}, 1_200_000);

const npx = (args: string[], timeoutMs = 300_000) => sh('npx', ['--no-install', 'framebench', ...args], project, timeoutMs);

describe('npm pack, then npm install of the tarball into an empty project', () => {
  it('the tarball carries the built JavaScript, the linux-x64 native builds, the sources to rebuild them, and no tests', () => {
    const list = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    for (const f of ['package/dist/cli/main.js', 'package/dist/ring.js', 'package/bin/bench.js', 'package/LICENSE', 'package/prebuilds/linux-x64/framebench_shm.node',
      'package/prebuilds/linux-x64/libframebench_copycount.so', 'package/prebuilds/linux-x64/fb-ring-consumer', 'package/prebuilds/linux-x64/fb-ring-producer',
      'package/native/binding.gyp', 'package/native/src/shm.cc', 'package/native/c/fbring.c', 'package/scripts/build-native.js',
      'package/examples/transport-socket.ts', 'package/schema/config.schema.json']) expect(list, f).toContain(f);
    expect(list.filter((f) => f.startsWith('package/test/') || f.startsWith('package/native/build/'))).toEqual([]);
  });

  it('npx framebench --version is package.json\'s version; `bench` is the same binary', () => {
    expect(must(npx(['--version']), 'framebench --version')).toBe(`${version}\n`);
    expect(must(sh('npx', ['--no-install', 'bench', '-V'], project, 60_000), 'bench -V')).toBe(`${version}\n`);
  });

  it('npx framebench run --transport shm,shm-c --duration 0.5: the shipped native builds (addon, C ring peers) measure, results written', () => {
    expect(existsSync(path.join(project, 'node_modules', 'framebench', 'native', 'build'))).toBe(false); // no source build: the prebuild loaded
    const r = npx(['run', '--transport', 'shm,shm-c', '--duration', '0.5'], 600_000);
    const run = JSON.parse(readFileSync(path.join(project, 'reports', 'latest', 'results.json'), 'utf8')) as RunResult;
    expect(run.schema).toBe('framebench/run@2');
    expect(new Set(run.results.map((c) => c.transport))).toEqual(new Set(['shm', 'shm-c']));
    // the shipped ring carried frames in every case; a case may still end FB_ERR_TIMEOUT when a loaded machine
    // (load average ~19 on 2 cores while this was written) starves a 0.5 s window of any whole frame at 30 fps:
    // that is the run reporting its own measurement honestly, not the package failing to install or load
    for (const c of run.results) {
      expect(['ok', 'FB_ERR_TIMEOUT'], `${c.scenario} ${c.format}: ${c.error ?? ''}`).toContain(c.status);
      expect(c.framesReceived, `${c.scenario} ${c.format}`).toBeGreaterThan(0);
    }
    expect(run.skipped ?? []).toEqual([]);
    expect(r.status === 0 || (r.status === 1 && run.results.some((c) => c.status !== 'ok')), r.stderr.slice(-1500)).toBe(true);
    expect(run.settings.copyAccounting).toBe(true); // the shipped interposer loaded too
  }, 700_000);

  it("a transport module of the user's: check-transport passes, then it runs in the matrix", () => {
    copyFileSync(path.join(ROOT, 'examples', 'transport-socket.ts'), path.join(project, 'transport-socket.ts'));
    const check = npx(['check-transport', './transport-socket.ts'], 180_000);
    expect(check.status, check.stderr).toBe(0);
    expect(check.stderr).toMatch(/all \d+ checks passed/);
    // a light case: this checks that the module loads and measures in separate processes, not its speed
    const r = npx(['run', '--transport', './transport-socket.ts', '--scenario', 'realtime', '--format', 'i420', '--resolution', '360p', '--rounds', '1',
      '--duration', '0.5', '--warmup', '0.1', '--json', '--out', 'mine'], 300_000);
    expect(r.status, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as RunResult;
    expect(run.results.map((c) => [c.transport, c.status])).toEqual([['example-socket', 'ok']]);
  }, 500_000);

  it('the programmatic API and framebench/ring import from the installed package', () => {
    const script = `const fb = require('framebench'); const ring = require('framebench/ring');
console.log(JSON.stringify({ fps: fb.settingsWith({ fps: 60 }).fps, durationS: fb.settingsWith({}).durationS, run: typeof fb.run,
  createRing: typeof ring.createRing, check: typeof fb.checkTransport, define: typeof fb.defineTransport }));`;
    const out = JSON.parse(must(sh(process.execPath, ['-e', script], project, 60_000), 'node -e')) as Record<string, unknown>;
    expect(out).toEqual({ fps: 60, durationS: 1.2, run: 'function', createRing: 'function', check: 'function', define: 'function' });
    const bad = sh(process.execPath, ['-e', "try { require('framebench').settingsWith({ fps: 0 }) } catch (e) { console.log(e.code) }"], project, 60_000);
    expect(bad.stdout.trim()).toBe('FB_ERR_BAD_NUMBER');
  });
});
