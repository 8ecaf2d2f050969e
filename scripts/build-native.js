#!/usr/bin/env node
'use strict';
/**
 * Builds the native parts from source: the shared-memory addon (node-gyp, native/binding.gyp) and the
 * copy-counting interposer (native/copycount/build.js). Node's headers come from the running node:
 * `<prefix>/include/node` beside its executable (a distro's /usr, nvm, the official tarball), so no
 * download is needed and offline machines build too; without them node-gyp fetches headers as usual.
 *
 *   node scripts/build-native.js            build (npm run build:native)
 *   node scripts/build-native.js --install  as the package's install script: nothing to do when an addon
 *                                           for this platform loads (a prebuild); a failed build is a warning
 *   node scripts/build-native.js --prebuild build, then copy into prebuilds/<platform>-<arch>/ (prepack)
 *   extra arguments after `--` go to node-gyp (e.g. -- -Dfb_asan=1), with --directory DIR for another tree
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const mode = args.includes('--install') ? 'install' : args.includes('--prebuild') ? 'prebuild' : 'build';
const dashes = args.indexOf('--');
const gypExtra = dashes >= 0 ? args.slice(dashes + 1) : [];
const dirArg = args.indexOf('--directory');
const nativeDir = dirArg >= 0 ? path.resolve(args[dirArg + 1]) : path.join(ROOT, 'native');
const PREBUILDS = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
const ADDON = 'framebench_shm.node';
/** The native ring peers (native/c, executable targets of binding.gyp; transports/shm-c.ts runs them). */
const PROGRAMS = ['fb-ring-consumer', 'fb-ring-producer'];

/** The running node's install prefix, when it carries the headers node-gyp needs. */
function nodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function loads(file) {
  if (!fs.existsSync(file)) return false;
  try {
    process.dlopen({ exports: {} }, file);
    return true;
  } catch {
    return false;
  }
}

/** binding.gyp runs `require('node-addon-api')` from the build directory: let it find ours (or the project's). */
const NODE_PATH = [path.join(ROOT, 'node_modules'), ...(path.basename(path.dirname(ROOT)) === 'node_modules' ? [path.dirname(ROOT)] : []), process.env.NODE_PATH]
  .filter(Boolean).join(path.delimiter);

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NODE_PATH } });
  return r.status === 0 ? null : r.error ? r.error.message : `exited with ${r.status ?? r.signal}`;
}

function buildAddon() {
  const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [ROOT] });
  const dir = nodeDir();
  const argv = [gyp, 'rebuild', '--directory', nativeDir, ...(dir ? [`--nodedir=${dir}`] : []), ...(gypExtra.length ? ['--', ...gypExtra] : [])];
  process.stderr.write(`framebench: building the native addon from source${dir ? ` (Node headers from ${dir}/include/node)` : ''}\n`);
  return run(process.execPath, argv);
}

function buildCopycount() {
  return run(process.execPath, [path.join(ROOT, 'native', 'copycount', 'build.js')]);
}

/** Newest modification time (ms) of the files under `p` (a file or a directory), 0 when absent. */
function newest(p) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  return fs.readdirSync(p).reduce((m, f) => Math.max(m, newest(path.join(p, f))), 0);
}

/**
 * The outputs of a plain build are newer than every source: `npm ci` runs the install script and
 * then `prepare` (npm run build), and the second native build would redo the first.
 */
function upToDate() {
  if (gypExtra.length || nativeDir !== path.join(ROOT, 'native')) return false;
  const release = path.join(nativeDir, 'build', 'Release');
  const files = [path.join(ROOT, 'native', 'copycount', 'build', 'libframebench_copycount.so'), ...PROGRAMS.map((p) => path.join(release, p))];
  const addon = path.join(release, ADDON);
  const built = Math.min(loads(addon) ? newest(addon) : 0, ...files.map((f) => (fs.existsSync(f) ? newest(f) : 0)));
  const sources = Math.max(newest(path.join(nativeDir, 'src')), newest(path.join(nativeDir, 'c')), newest(path.join(nativeDir, 'binding.gyp')),
    newest(path.join(ROOT, 'native', 'copycount', 'copycount.c')), newest(path.join(ROOT, 'native', 'copycount', 'build.js')));
  return built > 0 && built > sources;
}

function main() {
  if (mode === 'build' && upToDate()) {
    process.stderr.write('framebench: native parts up to date (newer than native/src, native/c, binding.gyp, copycount); nothing to build\n');
    return 0;
  }
  if (mode === 'install') {
    const have = [path.join(ROOT, 'native', 'build', 'Release', ADDON), path.join(PREBUILDS, ADDON)].some(loads);
    const cc = [path.join(ROOT, 'native', 'copycount', 'build', 'libframebench_copycount.so'), path.join(PREBUILDS, 'libframebench_copycount.so')].some((f) => fs.existsSync(f));
    const failures = [];
    if (!have) {
      const e = buildAddon();
      if (e) failures.push(`native addon: ${e} (shm, shm-copy and the native checksum stay unavailable)`);
    }
    if (!cc) {
      const e = buildCopycount();
      if (e) failures.push(`copy-count interposer: ${e} (runs go on without copy accounting)`);
    }
    for (const f of failures) process.stderr.write(`framebench: WARNING: ${f}; rebuild with: npm rebuild framebench\n`);
    return 0; // an install never fails for the native parts: the rest of framebench works without them
  }
  const e = buildAddon() || (nativeDir === path.join(ROOT, 'native') ? buildCopycount() : null);
  if (e) {
    process.stderr.write(`framebench: native build failed: ${e}\n`);
    return 1;
  }
  if (mode === 'prebuild') {
    fs.mkdirSync(PREBUILDS, { recursive: true });
    fs.copyFileSync(path.join(nativeDir, 'build', 'Release', ADDON), path.join(PREBUILDS, ADDON));
    fs.copyFileSync(path.join(ROOT, 'native', 'copycount', 'build', 'libframebench_copycount.so'), path.join(PREBUILDS, 'libframebench_copycount.so'));
    for (const p of PROGRAMS) fs.copyFileSync(path.join(nativeDir, 'build', 'Release', p), path.join(PREBUILDS, p));
    process.stderr.write(`framebench: prebuilds in ${path.relative(ROOT, PREBUILDS)}/\n`);
  }
  return 0;
}

process.exitCode = main();
