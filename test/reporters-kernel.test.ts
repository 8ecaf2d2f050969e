import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../core/result';
import { renderRun } from '../reporters/registry';
import { getTransport } from '../transports/registry';
import './support/require-ts';

const sample = (): RunResult => JSON.parse(readFileSync(path.join(__dirname, 'fixtures-results', 'run2-sample.json'), 'utf8')) as RunResult;

describe('kernel copies that /proc/<pid>/io cannot see', () => {
  it('zeromq (both ends) and node-ipc (the receiving end) declare it', () => {
    expect(getTransport('zeromq').capabilities.kernelCopiesVisible).toEqual({ sender: false, receiver: false });
    expect(getTransport('node-ipc').capabilities.kernelCopiesVisible).toEqual({ sender: true, receiver: false });
    for (const t of ['ws', 'unix', 'tcp', 'pipe', 'redis']) expect(getTransport(t).capabilities.kernelCopiesVisible, t).toBeUndefined();
  });

  it('every report says not measured instead of printing ~0, and passes become lower bounds', () => {
    const run = sample();
    const c = run.results.find((r) => r.copies && !r.inProcess)!;
    c.kernelBytesMeasured = { producer: true, consumer: false };
    c.kernelBytesPerFrame.consumer = 28;
    const term = renderRun(run, 'terminal');
    const line = term.split('\n').find((l) => l.startsWith(c.transport))!;
    expect(line).toMatch(/\/n\/m/);
    expect(line).toMatch(/\/≥\d/);
    expect(term).toMatch(/n\/m: kernel copies not measured/);
    expect(renderRun(run, 'md')).toMatch(/\+ ≥\d/);
    expect(renderRun(run, 'html')).toMatch(/\+ ≥\d/);
    // the same run without the flag prints the byte count and no note
    delete c.kernelBytesMeasured;
    expect(renderRun(run, 'terminal')).not.toMatch(/n\/m: kernel copies/);
  });
});
