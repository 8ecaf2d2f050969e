'use strict';
// Micro-benchmark of the shm ring across two processes (not a test; prints one JSON line per case).
//   node test/fixtures-shm/bench.js [seconds]
// latency: 1080p RGBA (8,294,400 B) frames at 30 fps via loan/commit, producer writes every byte;
//          handoff = producer commit -> consumer holds the view (consumer stats, p50/p99 us).
// saturate-loan: 1080p I420 (3,110,400 B) as fast as possible, loan + 64 B header written (signalling only).
// saturate-send: 1080p I420 as fast as possible via send() (one memcpy of the frame into the ring).
const { fork } = require('node:child_process');
const { createRing, openRing } = require('../../dist/transports/shm/ring');

const RGBA_1080 = 1920 * 1080 * 4 + 64;
const I420_1080 = (1920 * 1080 * 3) / 2 + 64;

async function producer(cfg) {
  const p = openRing(cfg.name, { policy: 'block' });
  const frame = new Uint8Array(cfg.bytes).fill(7);
  const t0 = performance.now();
  const end = t0 + cfg.seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    if (cfg.fps) {
      const due = t0 + (n * 1000) / cfg.fps;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    if (cfg.mode === 'send') {
      await p.send(frame);
    } else {
      const l = await p.loan(cfg.bytes);
      if (cfg.fill) l.view.set(frame);
      else l.view[0] = n & 255;
      l.commit();
    }
    n++;
    if (!cfg.fps && n % 64 === 0) await new Promise((r) => setImmediate(r));
  }
  process.send({ type: 'done', frames: n, ms: performance.now() - t0, stats: p.stats() });
  p.close();
}

async function run(name, cfg) {
  const ring = createRing({ ringBytes: 64 * 1024 * 1024 });
  let frames = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  ring.start((payload, release) => {
    if (!first) first = performance.now();
    last = performance.now();
    frames++;
    bytes += payload.byteLength;
    release();
  });
  const cpu0 = process.cpuUsage();
  const child = fork(__filename, [JSON.stringify({ ...cfg, name: ring.name })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const done = await new Promise((resolve) => child.on('message', (m) => m.type === 'done' && resolve(m)));
  await new Promise((r) => setTimeout(r, 50));
  const cpu = process.cpuUsage(cpu0);
  const s = ring.stats();
  ring.close();
  const secs = (last - first) / 1000 || 1e-9;
  console.log(JSON.stringify({
    case: name,
    frames,
    fps: Math.round(frames / secs),
    GBps: +(bytes / secs / 1e9).toFixed(2), // record bytes handed over per second (header-only case: not bytes written)
    handoffP50Us: s.handoffP50Us,
    handoffP99Us: s.handoffP99Us,
    consumerCpuPct: Math.round(((cpu.user + cpu.system) / 1e3 / (done.ms)) * 100),
    consumerFutexWaits: s.futexWaits,
    producerFutexWakes: done.stats.futexWakes,
    producerFullWaits: done.stats.fullWaits,
  }));
}

if (process.argv[2] && process.argv[2].startsWith('{')) {
  producer(JSON.parse(process.argv[2]));
} else {
  const seconds = Number(process.argv[2] || 5);
  (async () => {
    await run('latency 1080p RGBA @30fps (loan, full write)', { bytes: RGBA_1080, fps: 30, seconds, mode: 'loan', fill: true });
    await run('saturate 1080p I420 (loan, header only)', { bytes: I420_1080, seconds: Math.min(seconds, 3), mode: 'loan', fill: false });
    await run('saturate 1080p I420 (send = 1 copy in)', { bytes: I420_1080, seconds: Math.min(seconds, 3), mode: 'send' });
  })();
}
