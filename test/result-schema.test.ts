import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runResultJsonSchema } from '../core/result-schema';
import { resultProblems, validateRunResult } from '../core/validate';

const ROOT = path.resolve(__dirname, '..');
// a parsed result file, mutated freely by the cases below
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const read = (f: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(ROOT, f), 'utf8')) as Record<string, unknown>;

describe('the result schema (framebench/run@2)', () => {
  it('the shipped schema/run@2.schema.json is what core/result-schema.ts defines (npm run schema:write)', () => {
    expect(read('schema/run@2.schema.json')).toEqual(runResultJsonSchema());
  });

  it('accepts a real @2 run and still reads @1 files', () => {
    expect(resultProblems(read('test/fixtures-results/run2-sample.json'))).toEqual([]);
    expect(resultProblems(read('test/fixtures-results/sample-run.json'))).toEqual([]);
  });

  it.each([
    ['a case without intervals', (r: Json): void => { delete r.results[0].intervals; }, /results\/0\/intervals/],
    ['a round without its CPU', (r: Json): void => { delete r.results[0].rounds[0].cpuUsPerFrame; }, /results\/0\/rounds\/0\/cpuUsPerFrame/],
    ['an interval with a string median', (r: Json): void => { (r.results[0].intervals['cpuUsPerFrame.total'].median = '7'); }, /intervals/],
    ['no provenance', (r: Json): void => { delete r.provenance; }, /provenance/],
    ['no methodology version', (r: Json): void => { delete r.methodology; }, /methodology/],
    ['zero rounds', (r: Json): void => { (r.rounds = 0); }, /rounds/],
    ['a policy that does not exist', (r: Json): void => { (r.settings.policy = 'maybe'); }, /settings\/policy/],
  ] as const)('refuses %s, naming where', (_what, mutate, where) => {
    const r = read('test/fixtures-results/run2-sample.json');
    mutate(r as never);
    const problems = resultProblems(r);
    expect(problems.join('\n')).toMatch(where);
    expect(() => validateRunResult(r, 'x.json')).toThrow(expect.objectContaining({ code: 'FB_ERR_BAD_RESULT_FILE' }));
  });
});
