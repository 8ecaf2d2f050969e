'use strict';
// A producer process for the shm tests. argv[2] = JSON config:
//   { name, producer, count, minLen, maxLen, seed, policy, spin, mode }
// mode 'fuzz': sends `count` random-size records (half via loan/commit, half via send), then exits 0.
// mode 'stream': sends until the ring reports an error (any FB_ERR code) or `count` records.
// mode 'hold': sends `count` records, then takes a loan, half-fills it and waits to be killed.
// Reports to the parent over IPC: {type:'open'}, {type:'holding'}, {type:'done', sent, drops}, {type:'error', code}.
const { openRing } = require('./load-ring');
const { fillRecord, rng } = require('./records');

const cfg = JSON.parse(process.argv[2]);
const send = (m) => process.send && process.send(m);

async function main() {
  let p;
  try {
    p = openRing(cfg.name, { policy: cfg.policy || 'block', spin: cfg.spin || 0, producerId: cfg.producer });
  } catch (e) {
    send({ type: 'error', code: e && e.code ? e.code : 'NOT_FB: ' + String(e), sent: 0 });
    return;
  }
  let failed = null;
  p.onError((e) => { failed = failed || e; });
  send({ type: 'open' });
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
        if (loan === null) { drops++; continue; }
        fillRecord(loan.view, cfg.producer, seq);
        loan.commit();
      } else {
        const view = scratch.subarray(0, len);
        fillRecord(view, cfg.producer, seq);
        if (!(await p.send(view))) { drops++; continue; }
      }
      seq++;
      sent++;
      if (rand() < 0.01) await new Promise((r) => setImmediate(r));
    }
    if (cfg.mode === 'hold') {
      const loan = await p.loan(1000);
      loan.view.fill(0xee, 0, 500);
      send({ type: 'holding' });
      setInterval(() => {}, 1000);
      return;
    }
    send({ type: 'done', sent, drops, stats: p.stats() });
    p.close();
  } catch (e) {
    send({ type: 'error', code: e && e.code ? e.code : 'NOT_FB: ' + String(e), sent });
    p.close();
  }
}

main().catch((e) => {
  send({ type: 'error', code: 'CRASH: ' + (e && e.stack) });
  process.exitCode = 3;
});
