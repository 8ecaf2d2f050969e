#!/usr/bin/env node
'use strict';
/**
 * Overhead of the copy-count interposer on Node copies: runs test/fixtures-copycount/overhead.js
 * plain and under LD_PRELOAD (a fresh counter page), two interleaved rounds, and prints ns per
 * Buffer.copy (best of 3 reps). A measurement, not a test: nothing is asserted.
 * Needs `npm run build` (dist/ and native/copycount). Usage: npm run bench:copycount-overhead
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const { CopyCountPage, copyCountUnavailableReason } = require(path.join(ROOT, 'dist', 'measure', 'copycount'));
const why = copyCountUnavailableReason();
if (why) {
  process.stderr.write(`copycount-overhead: the interposer is not available: ${why}\n`);
  process.exit(2);
}
const script = path.join(ROOT, 'test', 'fixtures-copycount', 'overhead.js');
const page = CopyCountPage.create();
const rows = {};
try {
  for (const round of [1, 2]) {
    for (const [name, env] of [['plain', { ...process.env }], ['interposed', { ...process.env, ...page.env() }]]) {
      const r = spawnSync(process.execPath, [script], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${name} run failed (${r.status}): ${r.stderr.trim()}`);
      rows[`${name}#${round}`] = JSON.parse(r.stdout);
    }
  }
} catch (e) {
  process.stderr.write(`copycount-overhead: ${e.message}\n`);
  process.exitCode = 1;
} finally {
  page.unlink();
}
if (!process.exitCode) process.stdout.write(`copycount overhead, ns per Buffer.copy (best of 3 reps):\n${JSON.stringify(rows, null, 1)}\n`);
