import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import type { CaseResult, RunResult } from '../../core/result';
import { resultProblems } from '../../core/validate';

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
  // total = producer + consumer (+ server) holds in each round's window; a median over rounds of
  // each need not add up, so a result with rounds is checked round by round
  for (const c of r.rounds?.filter((x) => x.status === 'ok') ?? [r]) {
    expect(c.cpuUsPerFrame.total, where).toBeCloseTo(c.cpuUsPerFrame.producer + c.cpuUsPerFrame.consumer + (c.cpuUsPerFrame.server ?? 0), 0);
  }
  if (r.rounds) {
    expect(r.rounds.length, where).toBeGreaterThan(0);
    for (const k of ['cpuUsPerFrame.total', 'copyEquivalents', 'fps']) {
      const iv = r.intervals?.[k];
      expect(iv, `${where} ${k}`).toBeDefined();
      expect(iv!.lo, `${where} ${k}`).toBeLessThanOrEqual(iv!.median);
      expect(iv!.median, `${where} ${k}`).toBeLessThanOrEqual(iv!.hi);
    }
  }
  expect(r.copyEquivalents, where).toBeGreaterThan(0);
  expect(r.fps, where).toBeGreaterThan(0);
}

/**
 * Reads `<out>/results.json` as a CLI run wrote it and checks it against the result schema
 * (core/result-schema.ts, the one shipped as schema/run@2.schema.json) before any test reads it.
 */
export function readResult(out: string): RunResult {
  const run = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as RunResult;
  expect(resultProblems(run), `${out}/results.json against schema/run@2.schema.json`).toEqual([]);
  expect(run.schema).toBe('framebench/run@2');
  return run;
}
