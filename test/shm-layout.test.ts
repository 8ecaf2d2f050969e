import { describe, expect, it } from 'vitest';
import { RING, recordSpan, sealOf } from '../transports/shm/layout';
import { shmNative } from '../transports/shm/native';

/** The TS mirror of the ring layout must equal what the C++ header (static_assert-checked) says. */
describe('shm ring layout', () => {
  it('every TS constant equals the native layout()', () => {
    const native = shmNative().layout();
    expect(Object.keys(native).sort()).toEqual(Object.keys(RING).sort());
    for (const [k, v] of Object.entries(RING)) expect([k, native[k]]).toEqual([k, v]);
  });

  it('each producer line is its own cache line; the page and region headers fit', () => {
    const line = (off: number) => Math.floor(off / RING.CACHE_LINE);
    const lines = [line(RING.OFF_MAGIC), ...Array.from({ length: RING.MAX_PRODUCERS }, (_, i) => line(RING.OFF_LINES + i * RING.LINE_BYTES))];
    expect(new Set(lines).size).toBe(lines.length);
    expect(line(RING.OFF_PEERS_SEQ)).toBe(line(RING.OFF_MAGIC));
    expect(RING.LINE_BYTES).toBe(RING.CACHE_LINE);
    expect(RING.OFF_LINES + RING.MAX_PRODUCERS * RING.LINE_BYTES).toBeLessThanOrEqual(RING.PAGE_BYTES);
    expect(RING.OFF_PRODUCER_STATE + 4).toBeLessThanOrEqual(RING.CACHE_LINE);
    expect(RING.HEADER_BYTES % 4096).toBe(0);
    expect(RING.PAGE_BYTES % 4096).toBe(0);
  });

  it('records are aligned spans; seals encode position and state', () => {
    expect(recordSpan(0)).toBe(RING.RECORD_HEADER_BYTES);
    expect(recordSpan(1)).toBe(64);
    expect(recordSpan(32)).toBe(64);
    expect(recordSpan(33)).toBe(96);
    expect(sealOf(0, RING.REC_COMMITTED)).toBe(2n);
    expect(sealOf(64, RING.REC_PAD)).toBe((2n << 2n) | 3n);
    expect(sealOf(2 ** 40, RING.REC_RESERVED)).toBe((BigInt(2 ** 40 / RING.RECORD_ALIGN) << 2n) | 1n);
  });
});
