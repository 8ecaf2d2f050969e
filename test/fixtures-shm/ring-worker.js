'use strict';
// A producer on a worker thread (same pid as the consumer: real CAS contention in one process).
const { parentPort, workerData } = require('node:worker_threads');
const { openRing } = require('../../dist/transports/shm/ring');
const { fillRecord, rng } = require('../../dist/torture/ring-peers/records');

(async () => {
  const { name, producer, count, maxLen } = workerData;
  const p = openRing(name, { producerId: producer });
  const rand = rng(producer + 17);
  try {
    for (let seq = 0; seq < count; seq++) {
      const len = 16 + Math.floor(rand() * (maxLen - 15));
      const loan = await p.loan(len);
      fillRecord(loan.view, producer, seq);
      loan.commit();
    }
    parentPort.postMessage({ sent: count });
  } catch (e) {
    parentPort.postMessage({ sent: -1, code: e.code || String(e) });
  } finally {
    p.close();
  }
})();
