import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../core/result';
import { computeCost } from '../core/cost';

const sample = JSON.parse(readFileSync(path.join(__dirname, 'fixtures-results', 'sample-run.json'), 'utf8')) as RunResult;

describe('cost headline and in-process transports', () => {
  it('names the cheapest cross-process transport, never an in-process one', () => {
    const run = structuredClone(sample);
    const fake = structuredClone(run.results.find((r) => r.transport === 'shm' && r.status === 'ok' && r.format === 'i420')!);
    fake.transport = 'worker-sab';
    fake.inProcess = true;
    fake.cpuUsPerFrame = { producer: 1, consumer: 1, total: 2 };
    run.results.push(fake);
    run.settings.transports.push('worker-sab');
    const cost = computeCost(run);
    expect(cost.transports.find((t) => t.transport === 'worker-sab')?.inProcess).toBe(true);
    expect(cost.headline).not.toContain('worker-sab');
    expect(cost.headline).toContain('shm');
  });
});
