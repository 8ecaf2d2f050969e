/**
 * A ring consumer process for the ring's tests and the torture suite. argv[2] = JSON config:
 * { mode, ringBytes, runMs, claimTimeoutMs }.
 * - mode 'idle': creates the ring, never consumes (producers fill it and block), waits to be killed.
 * - mode 'hostile': consumes whatever arrives (touching every byte) until runMs after the parent's
 *   {type:'go'} message, then reports {type:'result', outcome, codes, messages, records, byProducer,
 *   atFirstCut, maxStallMs, yields, pads, skipped, cutOff} and closes the ring. outcome is 'alive'
 *   unless the consumer itself failed ('failed': an error other than a producer's cut-off, death or
 *   oversize record). byProducer counts well-formed records (torture/ring-peers/records.ts) per
 *   producer id; atFirstCut is that count when the first producer was cut off (FB_ERR_RING_CORRUPT).
 *   maxStallMs is the longest the event loop went without turning (a 5 ms interval's lateness).
 * - mode 'term': creates the ring and waits for a signal (tests SIGTERM cleanup).
 * Reports {type:'ready', name, pid} first.
 */
import { createRing } from '../../transports/shm/ring';
import { tell, type HostileConsumerResult } from './peer-ipc';
import { checkRecord } from './records';

const cfg = JSON.parse(process.argv[2]) as { mode: string; ringBytes?: number; runMs?: number; claimTimeoutMs?: number };
const ring = createRing({ ringBytes: cfg.ringBytes || 65536, claimTimeoutMs: cfg.claimTimeoutMs });
const codes: string[] = [];
const messages: string[] = [];
const byProducer: Record<string, number> = {};
let atFirstCut: Record<string, number> | null = null;
ring.onError((e) => {
  codes.push(e.code || 'NOT_FB');
  if (messages.length < 50) messages.push(`${e.code}: ${e.message}`);
  if (e.code === 'FB_ERR_RING_CORRUPT' && !atFirstCut) atFirstCut = { ...byProducer };
});
const PRODUCER_CODES = new Set(['FB_ERR_RING_CORRUPT', 'FB_ERR_PEER_GONE', 'FB_ERR_PROTOCOL']);
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
    const r = checkRecord(payload);
    if (typeof r !== 'string') byProducer[r.producer] = (byProducer[r.producer] ?? 0) + 1;
    records++;
    release();
  });
  const finish = (): void => {
    const outcome = codes.every((c) => PRODUCER_CODES.has(c)) ? 'alive' : 'failed';
    const { yields, pads, skipped, cutOff } = ring.stats();
    ring.close();
    clearInterval(stallProbe);
    const result: HostileConsumerResult = { outcome, codes: [...new Set(codes)], messages, records, byProducer, atFirstCut, sum, maxStallMs: Math.round(maxStallMs), yields, pads, skipped, cutOff };
    tell({ type: 'result', ...result });
    if (process.disconnect) process.disconnect();
  };
  let t0 = Infinity;
  process.on('message', (m: { type?: string } | null) => {
    if (m && m.type === 'go') t0 = Date.now();
  });
  const tick = setInterval(() => {
    if (Date.now() - t0 >= (cfg.runMs ?? 0)) {
      clearInterval(tick);
      finish();
    }
  }, 20);
} else {
  setInterval(() => undefined, 1000);
}
