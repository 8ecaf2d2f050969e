'use strict';
// A peer process of test/shm-waiter.test.ts (runs the compiled dist/). argv[2] = JSON config:
// - { mode: 'paced', name, count, everyMs, yieldAfterWake? }: a producer that commits `count` 64-byte records,
//   one every `everyMs` ms, reports {type:'done'} and closes (yieldAfterWake: the ring option, default true).
// - { mode: 'burst', name, count }: a producer that, on the message 'go', commits `count` records
//   in one turn of its event loop (no await between them), reports {type:'done'}, and waits.
// - { mode: 'consumer-close', closeAfterMs, wake }: a consumer, started and armed, closed after
//   closeAfterMs; nothing else holds the event loop, so the process must then exit by itself.
// - { mode: 'producer-close', name, closeAfterMs }: a producer that fills the ring of `name` (nobody
//   reads it), so its last send waits on the waiter thread; closes after closeAfterMs; must then exit.
// Records: [u32 producer = 9][u32 seq] then zeros. Reports {type:'open'} once connected.
const { createRing, openRing } = require('../../dist/transports/shm/ring');

const cfg = JSON.parse(process.argv[2]);
const tell = (m) => process.send && process.send(m);

function record(view, seq) {
  const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
  dv.setUint32(0, 9, true);
  dv.setUint32(4, seq, true);
}

function commit(p, seq) {
  const loan = p.tryLoan(64);
  if (!loan) throw new Error(`ring full at record ${seq}`);
  record(loan.view, seq);
  loan.commit();
}

if (cfg.mode === 'paced') {
  const p = openRing(cfg.name, { producerId: 9, ...(cfg.yieldAfterWake === undefined ? {} : { yieldAfterWake: cfg.yieldAfterWake }) });
  tell({ type: 'open' });
  let seq = 0;
  const t = setInterval(() => {
    commit(p, seq++);
    if (seq === cfg.count) {
      clearInterval(t);
      tell({ type: 'done', sent: seq });
      p.close();
    }
  }, cfg.everyMs);
} else if (cfg.mode === 'burst') {
  const p = openRing(cfg.name, { producerId: 9 });
  tell({ type: 'open' });
  process.on('message', (m) => {
    if (m !== 'go') return;
    for (let seq = 0; seq < cfg.count; seq++) commit(p, seq);
    tell({ type: 'done', sent: cfg.count });
  });
} else if (cfg.mode === 'consumer-close') {
  const c = createRing({ ringBytes: 64 * 1024, wake: cfg.wake });
  c.start((_payload, release) => release());
  tell({ type: 'open', name: c.name });
  setTimeout(() => {
    tell({ type: 'closing', waits: c.stats().futexWaits });
    c.close();
    process.disconnect(); // the IPC channel must not be what keeps us alive
  }, cfg.closeAfterMs);
} else if (cfg.mode === 'producer-close') {
  const p = openRing(cfg.name, { producerId: 9 });
  tell({ type: 'open' });
  const one = new Uint8Array(1000);
  let sent = 0;
  (async () => {
    for (;;) {
      const pending = p.send(one);
      const first = await Promise.race([pending, new Promise((r) => setTimeout(() => r('waiting'), 50))]);
      if (first === 'waiting') {
        tell({ type: 'waiting', sent, fullWaits: p.stats().fullWaits });
        setTimeout(() => {
          p.close();
          process.disconnect();
        }, cfg.closeAfterMs);
        await pending.catch((e) => e);
        return;
      }
      sent++;
    }
  })();
}
