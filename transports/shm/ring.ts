/**
 * framebench shared-memory ring: many producers into one consumer, each producer writing only a
 * single-producer region of its own (sealed memfds passed by descriptor) of variable-size,
 * contiguous records; usable on its own (outside the harness).
 *
 *   const { createRing, openRing } = require('framebench/dist/transports/shm/ring');
 *   // consumer process (creates the consumer page, serves a region to each producer)
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
 * FB_ERR_RING_CORRUPT (a producer cut off: impossible values in its region or a claim never
 * committed; a producer learns it was cut off the same way), FB_ERR_PROTOCOL (record above the
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

/** Creates a ring (its consumer page and the socket that serves it, `<dir>/ring-<random>.sock`) and returns its consumer end. */
export function createRing(opts: RingConsumerOptions = {}): RingConsumer {
  return new RingConsumer(opts);
}

/** Opens a producer end (a region of its own) of the ring called `name` (the consumer's `ring.name`). */
export function openRing(name: string, opts: RingProducerOptions = {}): RingProducer {
  return new RingProducer(name, opts);
}
