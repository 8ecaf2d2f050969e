import { describe, expect, it } from 'vitest';
import { rng, wsFrame, wsInputs, wsLeadingMessages } from '../torture/bad-inputs';

/**
 * The torture's oracle for random input to the ws receiver: random bytes may begin with a
 * well-formed WebSocket message (seed 11 does: 0x82 0x87 = a masked 7-byte binary frame), which
 * the receiver must deliver; anything past it is malformed and must not come out as a frame.
 */
describe('wsLeadingMessages', () => {
  const bin = (n: number) => wsFrame({ payload: Buffer.alloc(n, 7) });
  const junk = Buffer.from([0xff, 0xff, 0xff]);

  it('counts the whole masked binary messages before the first invalid byte', () => {
    expect(wsLeadingMessages(Buffer.concat([bin(7), junk]), 1 << 20)).toBe(1);
    expect(wsLeadingMessages(Buffer.concat([bin(7), bin(300), bin(70_000), junk]), 1 << 20)).toBe(3);
    expect(wsLeadingMessages(Buffer.concat([wsFrame({ opcode: 9, payload: Buffer.alloc(4) }), bin(5), junk]), 1 << 20)).toBe(1);
  });

  it('counts nothing that a server would refuse or could not finish', () => {
    expect(wsLeadingMessages(junk, 1 << 20)).toBe(0);
    expect(wsLeadingMessages(wsFrame({ mask: false, payload: Buffer.alloc(8) }), 1 << 20)).toBe(0);
    expect(wsLeadingMessages(wsFrame({ rsv: 4, payload: Buffer.alloc(8) }), 1 << 20)).toBe(0);
    expect(wsLeadingMessages(wsFrame({ opcode: 1, payload: Buffer.from('hi') }), 1 << 20)).toBe(0);
    expect(wsLeadingMessages(wsFrame({ fin: false, payload: Buffer.alloc(8) }), 1 << 20)).toBe(0);
    expect(wsLeadingMessages(bin(1000).subarray(0, 500), 1 << 20)).toBe(0);
    expect(wsLeadingMessages(wsFrame({ announce: 2n ** 40n }), 1 << 20)).toBe(0);
    expect(wsLeadingMessages(bin(200), 100)).toBe(0); // over maxPayload
    expect(wsLeadingMessages(bin(200), 1000)).toBe(1); // 16-bit length form
  });

  it('seed 11 gives the ws random input one well-formed leading message, seed 9 none', () => {
    const random = (seed: number) => wsInputs(64 << 20, 16384, rng(seed)).find((i) => i.name === 'random bytes');
    expect(random(11)?.bytes.subarray(0, 2)).toEqual(Buffer.from([0x82, 0x87]));
    expect(random(11)?.wellFormed).toBe(1);
    expect(random(9)?.wellFormed).toBe(0);
  });
});
