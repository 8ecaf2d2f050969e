/**
 * A ring consumer process for the ring's tests and the torture suite. argv[2] = JSON config:
 * { mode, ringBytes, runMs }.
 * - mode 'idle': creates the ring, never consumes (producers fill it and block), waits to be killed.
 * - mode 'hostile': consumes whatever arrives (touching every byte) until runMs after the parent's
 *   {type:'go'} message (or FB_ERR_RING_CORRUPT), then reports
 *   {type:'result', outcome:'alive'|'corrupt', codes, records, maxStallMs, yields} and closes the ring;
 *   maxStallMs is the longest the event loop went without turning (a 5 ms interval's lateness).
 * - mode 'term': creates the ring and waits for a signal (tests SIGTERM cleanup).
 * Reports {type:'ready', name, pid} first.
 */
import { createRing } from '../../transports/shm/ring';
import { tell } from './peer-ipc';

const cfg = JSON.parse(process.argv[2]) as { mode: string; ringBytes?: number; runMs?: number };
const ring = createRing({ ringBytes: cfg.ringBytes || 65536 });
const codes: string[] = [];
ring.onError((e) => codes.push(e.code || 'NOT_FB'));
// The event loop's longest missing turn, whatever producers do.
let maxStallMs = 0;
let lastTick = performance.now();
const stallProbe = setInterval(() => {
  const now = performance.now();
  maxStallMs = Math.max(maxStallMs, now - lastTick - 5);
  lastTick = now;
}, 5);
tell({ type: 'ready', name: ring.name, pid: process.pid });

if (cfg.mode === 'hostile') {
  let records = 0;
  let sum = 0;
  ring.start((payload, release) => {
    for (let i = 0; i < payload.byteLength; i++) sum = (sum + payload[i]) | 0;
    records++;
    release();
  });
  const finish = (): void => {
    const outcome = codes.includes('FB_ERR_RING_CORRUPT') ? 'corrupt' : 'alive';
    const { yields, pads, skipped } = ring.stats();
    ring.close();
    clearInterval(stallProbe);
    tell({ type: 'result', outcome, codes: [...new Set(codes)], records, sum, maxStallMs: Math.round(maxStallMs), yields, pads, skipped });
    if (process.disconnect) process.disconnect();
  };
  let t0 = Infinity;
  process.on('message', (m: { type?: string } | null) => {
    if (m && m.type === 'go') t0 = Date.now();
  });
  const tick = setInterval(() => {
    if (codes.includes('FB_ERR_RING_CORRUPT') || Date.now() - t0 >= (cfg.runMs ?? 0)) {
      clearInterval(tick);
      finish();
    }
  }, 20);
} else {
  setInterval(() => undefined, 1000);
}
