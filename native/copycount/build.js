#!/usr/bin/env node
'use strict';
/**
 * Builds the copy-counting LD_PRELOAD interposer:
 *   native/copycount/copycount.c -> native/copycount/build/libframebench_copycount.so
 * with the system C compiler ($CC, else `cc`). Run: `node native/copycount/build.js`.
 * Exits non-zero with a one-line reason if the compiler is missing or the build fails.
 * Linux only (LD_PRELOAD and /dev/shm).
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dir = __dirname;
const src = path.join(dir, 'copycount.c');
const outDir = path.join(dir, 'build');
const out = path.join(outDir, 'libframebench_copycount.so');
const cc = process.env.CC || 'cc';

// -fno-builtin: our memcpy must not be inlined or assumed; -fno-tree-loop-distribute-patterns:
// the fallback byte loop must not be turned back into a memcpy call (which would recurse).
const args = [
  '-O2', '-fPIC', '-shared', '-std=gnu11', '-Wall', '-Wextra', '-Werror',
  '-fno-builtin', '-fno-tree-loop-distribute-patterns', '-fvisibility=hidden',
  '-o', out + '.tmp', src, '-ldl',
];

function fail(msg) {
  process.stderr.write(`copycount build failed: ${msg}\n`);
  process.exit(1);
}

if (process.platform !== 'linux') fail(`LD_PRELOAD interposer needs Linux (this is ${process.platform})`);
fs.mkdirSync(outDir, { recursive: true });
const r = spawnSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.error) fail(`cannot run C compiler '${cc}': ${r.error.message} (install gcc or set CC)`);
if (r.status !== 0) fail(`'${cc} ${args.join(' ')}' exited with ${r.status ?? r.signal}`);
fs.renameSync(out + '.tmp', out);
process.stdout.write(`built ${path.relative(process.cwd(), out) || out}\n`);
