/**
 * Calibration child: measures one cache-cold memcpy of each given frame size.
 * argv: <bufferSetBytes> <size> [<size> ...]; prints one JSON line on stdout.
 *
 * Buffers rotate over a set larger than the last-level cache, so every copy reads and
 * writes memory that is not in cache, as frames in a ring are. tinybench takes the
 * samples; the median is reported.
 */

async function measure(size: number, setBytes: number): Promise<{ medianUs: number; samples: number }> {
  const count = Math.max(8, Math.ceil(setBytes / size));
  const bufs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) bufs.push(new Uint8Array(size).fill(i & 0xff));
  let i = 0;
  const { Bench } = await import('tinybench');
  const bench = new Bench({ time: 400, warmupTime: 60, retainSamples: true });
  bench.add('memcpy', () => {
    const src = bufs[i % count];
    const dst = bufs[(i + count / 2) % count | 0];
    dst.set(src);
    i++;
  });
  await bench.run();
  const r = bench.tasks[0].result as unknown as { latency: { p50: number; samplesCount?: number }; totalTime?: number } | undefined;
  if (!r || !r.latency) throw new Error('calibration produced no samples');
  const samples = (bench.tasks[0].result as unknown as { latency: { samples?: number[] } }).latency.samples?.length ?? 0;
  return { medianUs: r.latency.p50 * 1000, samples };
}

async function main(): Promise<void> {
  const setBytes = Number(process.argv[2]);
  const sizes = process.argv.slice(3).map(Number);
  const out: Record<string, { medianUs: number; samples: number }> = {};
  for (const s of sizes) out[String(s)] = await measure(s, setBytes);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e instanceof Error ? e.message : e) + '\n');
  process.exit(1);
});
