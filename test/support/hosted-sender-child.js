/* A producer process for the conformance kit (topology 'consumer-forks-producers'): forked by
 * the test process with an 'advanced' IPC channel, it opens the real sender over that channel
 * and runs the kit's requests ({kit: ...}) against it, answering with the sender's stats.
 * Loads the TypeScript sources directly. */
'use strict';
const path = require('node:path');

// the one TypeScript loader (core/ts-register.ts), compiled by `npm test` before the suite runs
require(path.join(__dirname, '..', '..', 'dist', 'core', 'ts-register.js')).registerTypeScript();
const { getTransport } = require(path.join(__dirname, '..', '..', 'transports', 'registry.ts'));

let sender = null;
const reply = (m) => process.connected && process.send(m);
const asError = (e) => ({ code: e && e.code ? e.code : 'FB_ERR_INTERNAL', message: e && e.message ? e.message : String(e) });

process.on('message', async (m) => {
  if (!m || typeof m.kit !== 'string') return;
  try {
    if (m.kit === 'open') {
      sender = await getTransport(m.name).openSender(m.address, m.opts);
      sender.onError((e) => reply({ kit: 'error', ...asError(e) }));
      reply({ kit: 'opened', stats: sender.stats() });
    } else if (m.kit === 'send') {
      sender.send(m.frame).then(
        (ok) => reply({ kit: 'sent', id: m.id, ok, stats: sender.stats() }),
        (e) => reply({ kit: 'rejected', id: m.id, ...asError(e), stats: sender.stats() }),
      );
    } else if (m.kit === 'close') {
      await sender.close();
      reply({ kit: 'closed', stats: sender.stats() });
    }
  } catch (e) {
    reply({ kit: m.kit === 'open' ? 'open-failed' : 'rejected', id: m.id, ...asError(e) });
  }
});
process.on('disconnect', () => process.exit(0));
