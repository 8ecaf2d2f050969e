/**
 * framebench shared-memory ring: a multi-producer / single-consumer ring of variable-size,
 * contiguous records in a POSIX shared-memory segment, usable on its own (outside the harness).
 *
 *   const { createRing, openRing } = require('framebench/dist/transports/shm/ring');
 *   // consumer process (creates the segment, owns its name)
 *   const ring = createRing({ ringBytes: 64 << 20 });
 *   ring.onError((e) => console.error(e.code, e.message));
 *   ring.start((payload, release) => { use(payload); release(); });
 *   // producer process(es)
 *   const p = openRing(ring.name, { policy: 'block' });
 *   const loan = await p.loan(n); fill(loan.view); loan.commit();   // zero-copy
 *   await p.send(bytes);                                             // copying path
 *
 * Errors are FbErrors with a stable `code`: FB_ERR_FRAME_TOO_LARGE (record larger than the
 * ring or the consumer's maxRecordBytes), FB_ERR_PEER_GONE (the other side closed or died),
 * FB_ERR_RING_CORRUPT (impossible values in shared memory), FB_ERR_PROTOCOL (record above the
 * consumer's limit, skipped), FB_ERR_NATIVE_UNAVAILABLE (addon not built), FB_ERR_BAD_NUMBER.
 * See transports/shm/README.md for the layout and docs/ring.md for a two-process example.
 */
import { RingConsumer, type RingConsumerOptions } from './consumer';
import { RingProducer, type RingProducerOptions } from './producer';

export { RingConsumer, RingProducer };
export type { RingConsumerOptions, RingRecordHandler, RingErrorHandler } from './consumer';
export type { RingProducerOptions, RingLoan, BackpressurePolicy } from './producer';
export { cleanStaleSegments } from './segment';
export { RING, DEFAULT_RING_BYTES, MIN_RING_BYTES, MAX_RING_BYTES, recordSpan } from './layout';
export { shmNativeUnavailableReason } from './native';

/** Creates a ring (a new `/framebench-<random>` segment, 0600) and returns its consumer end. */
export function createRing(opts: RingConsumerOptions = {}): RingConsumer {
  return new RingConsumer(opts);
}

/** Opens the producer end of the ring called `name` (the consumer's `ring.name`). */
export function openRing(name: string, opts: RingProducerOptions = {}): RingProducer {
  return new RingProducer(name, opts);
}
