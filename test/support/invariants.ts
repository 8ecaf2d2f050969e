import { expect } from 'vitest';
import type { CaseResult } from '../../core/result';

/** The invariants every measured case must hold, whatever the machine's speed. */
export function checkInvariants(r: CaseResult): void {
  const where = `${r.transport}/${r.scenario}/${r.format}`;
  expect(r.status, `${where}: ${r.error}`).toBe('ok');
  expect(r.framesReceived + r.framesDropped, where).toBe(r.framesSent);
  expect(r.framesCorrupt, where).toBe(0);
  expect(r.framesSent, where).toBeGreaterThan(0);
  expect(r.latencyUs.p50, where).toBeLessThanOrEqual(r.latencyUs.p99);
  expect(r.latencyUs.p99, where).toBeLessThanOrEqual(r.latencyUs.max);
  expect(r.latencyUs.count, where).toBeGreaterThan(0);
  expect(r.cpuUsPerFrame.producer, where).toBeGreaterThan(0);
  expect(r.cpuUsPerFrame.consumer, where).toBeGreaterThan(0);
  const server = r.cpuUsPerFrame.server ?? 0;
  expect(r.cpuUsPerFrame.total, where).toBeCloseTo(r.cpuUsPerFrame.producer + r.cpuUsPerFrame.consumer + server, 0);
  expect(r.copyEquivalents, where).toBeGreaterThan(0);
  expect(r.fps, where).toBeGreaterThan(0);
}
