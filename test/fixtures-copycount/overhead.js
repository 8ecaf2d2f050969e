'use strict';
// Times copy loops; run twice by test/copycount.test.ts (with and without the
// interposer) when FB_COPYCOUNT_OVERHEAD=1. Prints one JSON line of ns per call.

function time(label, iterations, size, reps) {
  const src = Buffer.alloc(size, 1);
  const dst = Buffer.alloc(size);
  for (let i = 0; i < Math.min(iterations, 1000); i++) src.copy(dst); // warm-up
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) src.copy(dst);
    best = Math.min(best, ((performance.now() - t0) * 1e6) / iterations);
  }
  return [label, best];
}

const out = Object.fromEntries([
  time('copy16B', 1_000_000, 16, 3),
  time('copy4KiB', 200_000, 4096, 3),
  time('copy3MB', 300, 3_110_400, 3),
]);
process.stdout.write(JSON.stringify(out) + '\n');
