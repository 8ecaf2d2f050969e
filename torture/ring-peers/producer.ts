/**
 * A ring producer process for the ring's tests and the torture suite. argv[2] = JSON config:
 * { name, producer, count, minLen, maxLen, seed, policy, spin, mode }.
 * - mode 'fuzz': sends `count` random-size records (half via loan/commit, half via send), then exits 0.
 * - mode 'stream': sends until the ring reports an error (any FB_ERR code) or `count` records.
 * - mode 'hold': sends `count` records, then takes a loan, half-fills it and waits to be killed.
 * Reports to the parent over IPC: {type:'open'}, {type:'holding'}, {type:'done', sent, drops}, {type:'error', code}.
 */
import type { BackpressurePolicy } from '../../core/case';
import { openRing, type RingProducer } from '../../transports/shm/ring';
import { codeOf, tell } from './peer-ipc';
import { fillRecord, rng } from './records';

interface ProducerConfig {
  name: string;
  producer: number;
  count: number;
  minLen?: number;
  maxLen?: number;
  seed?: number;
  policy?: BackpressurePolicy;
  spin?: number;
  mode?: 'fuzz' | 'stream' | 'hold';
}

const cfg = JSON.parse(process.argv[2]) as ProducerConfig;

async function main(): Promise<void> {
  let p: RingProducer;
  try {
    p = openRing(cfg.name, { policy: cfg.policy || 'block', spin: cfg.spin || 0, producerId: cfg.producer });
  } catch (e) {
    tell({ type: 'error', code: codeOf(e), sent: 0 });
    return;
  }
  let failed: unknown = null;
  p.onError((e) => {
    failed = failed || e;
  });
  tell({ type: 'open' });
  const rand = rng(cfg.seed || cfg.producer + 1);
  const minLen = cfg.minLen ?? 16;
  const maxLen = cfg.maxLen ?? 4096;
  let sent = 0;
  let drops = 0;
  const scratch = new Uint8Array(maxLen);
  try {
    for (let seq = 0; seq < cfg.count; ) {
      if (failed) throw failed;
      const len = minLen + Math.floor(rand() * (maxLen - minLen + 1));
      if (rand() < 0.5) {
        const loan = await p.loan(len);
        if (loan === null) {
          drops++;
          continue;
        }
        fillRecord(loan.view, cfg.producer, seq);
        loan.commit();
      } else {
        const view = scratch.subarray(0, len);
        fillRecord(view, cfg.producer, seq);
        if (!(await p.send(view))) {
          drops++;
          continue;
        }
      }
      seq++;
      sent++;
      if (rand() < 0.01) await new Promise((r) => setImmediate(r));
    }
    if (cfg.mode === 'hold') {
      const loan = await p.loan(1000);
      loan?.view.fill(0xee, 0, 500);
      tell({ type: 'holding' });
      setInterval(() => undefined, 1000);
      return;
    }
    tell({ type: 'done', sent, drops, stats: p.stats() });
    p.close();
  } catch (e) {
    tell({ type: 'error', code: codeOf(e), sent });
    p.close();
  }
}

main().catch((e: unknown) => {
  tell({ type: 'error', code: `CRASH: ${e instanceof Error ? e.stack : String(e)}` });
  process.exitCode = 3;
});
