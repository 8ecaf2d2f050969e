import './support/require-ts';
import { describe, expect, it } from 'vitest';
import { Producer } from '../harness/producer';
import { nowNs } from '../core/clock';
import { caseSpec } from '../torture/case-spec';
import type { CaseSpec } from '../core/case';
import type { Sender } from '../transports/types';

/**
 * A paced producer that is behind schedule (as after a consumer stall under 'block') sends
 * its late frames back to back. It must still give the event loop turns while it catches up:
 * timers (window edges), control messages and transports' deferred work run there (zeromq
 * frees the buffers libzmq is done with from the loop; without turns a zeromq producer's RSS
 * grew ~250 MiB after a 3 s stall). The sender here resolves every send at once, so a loop
 * that only awaited those promises would send every overdue frame in one turn.
 */
describe('Producer catching up', () => {
  it('yields to the event loop while sending overdue frames back to back', async () => {
    const fps = 1000;
    const lateS = 2;
    const shape = { scenario: 'realtime', format: 'i420', resolution: '640x360', durationS: 0.2, warmupS: lateS + 0.1, producers: 1, fps } as const;
    const spec = { ...caseSpec('unix', shape), runDir: '/nonexistent' } as CaseSpec;
    const p = new Producer(spec, 0);
    let sent = 0;
    const sender: Sender = { send: () => (sent++, Promise.resolve(true)), onError: () => {}, stats: () => ({}), close: async () => {} };
    (p as unknown as { sender: Sender }).sender = sender;
    let stop = false;
    let atLastTurn = 0;
    let mostInOneTurn = 0;
    const turn = (): void => {
      mostInOneTurn = Math.max(mostInOneTurn, sent - atLastTurn);
      atLastTurn = sent;
      if (!stop) setImmediate(turn);
    };
    setImmediate(turn);
    const report = await p.run(nowNs() - lateS * 1e9); // frames of the first second are overdue
    stop = true;
    const overdue = lateS * fps;
    expect(report.framesGenerated).toBeGreaterThan(overdue);
    expect(sent).toBe(report.framesGenerated);
    // one turn every 2 ms of sending: far fewer frames than the whole overdue burst
    expect(mostInOneTurn).toBeLessThan(overdue / 4);
  });
});
