'use strict';
// Child for test/copycount.test.ts, run with the interposer preloaded.
// Usage: node copier.js <copy|set|subarray> <count> <bytes> [hold]
// Snapshots its own counter page (raw bytes, read with one read() into a buffer
// allocated up front, so the snapshot itself adds no large copy) before and
// after the loop, and prints {"before":"<base64>","after":"<base64>"} on one line.
// With "hold" it then waits to be killed instead of exiting.
const fs = require('node:fs');

const [mode, countArg, bytesArg, hold] = process.argv.slice(2);
const count = Number(countArg);
const bytes = Number(bytesArg);
const pagePath = process.env.FRAMEBENCH_COPYCOUNT;

const PAGE_BYTES = 1088; // header + 64 buckets, see measure/copycount.ts
const before = Buffer.alloc(PAGE_BYTES);
const after = Buffer.alloc(PAGE_BYTES);
const fd = pagePath && fs.existsSync(pagePath) ? fs.openSync(pagePath, 'r') : -1;
function snapshot(into) {
  if (fd >= 0) fs.readSync(fd, into, 0, PAGE_BYTES, 0);
}

const src = Buffer.alloc(bytes, 7);
const dst = Buffer.alloc(bytes);
const kept = [];

snapshot(before);
for (let i = 0; i < count; i++) {
  if (mode === 'copy') src.copy(dst, 0, 0, bytes);
  else if (mode === 'set') dst.set(src);
  else if (mode === 'subarray') kept.push(src.subarray(0, bytes));
  else throw new Error(`unknown mode ${mode}`);
}
snapshot(after);

if (mode !== 'subarray' && dst[bytes - 1] !== 7) throw new Error('copy did not happen');
process.stdout.write(JSON.stringify({ before: before.toString('base64'), after: after.toString('base64'), kept: kept.length }) + '\n');
if (hold === 'hold') setInterval(() => {}, 1000);
