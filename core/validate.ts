import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fbError } from './errors';
import { run2Problems } from './result-schema';
import { READABLE_SCHEMAS, type RunResult } from './result';

/**
 * The one check of a results.json against the framebench/run@1 schema: the names that
 * reporters, `bench compare`, the gate and other tools read must be there with the right types.
 * Used on every result the tests write and on every file `bench report`/`compare`/`gate` read.
 */
const CASE_NUMBERS = [
  'width', 'height', 'frameBytes', 'producers', 'framesSent', 'framesReceived', 'framesDropped', 'framesCorrupt', 'fps', 'gbps',
  'cpuUsPerFrame.producer', 'cpuUsPerFrame.consumer', 'cpuUsPerFrame.total', 'copyEquivalents',
  'kernelBytesPerFrame.producer', 'kernelBytesPerFrame.consumer',
  'latencyUs.p50', 'latencyUs.p99', 'latencyUs.p999', 'latencyUs.max',
  'rssPeakBytes.producer', 'rssPeakBytes.consumer',
];
const CASE_STRINGS = ['transport', 'scenario', 'format', 'status'];
const CASE_OBJECTS = ['cpuUsPerFrame', 'cpuDetailUsPerFrame', 'latencyUs', 'window'];
const RUN_OBJECTS = ['host', 'settings', 'calibration'];

function get(o: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);
}

const isObj = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

/**
 * Every problem found in `o` as a run result; [] when it is valid. A framebench/run@2 result is
 * checked against the full schema (core/result-schema.ts, shipped as schema/run@2.schema.json);
 * an @1 result against the names reporters read.
 */
export function resultProblems(o: unknown): string[] {
  if (!isObj(o)) return ['not a JSON object'];
  if (get(o, 'schema') === 'framebench/run@2') return run2Problems(o);
  const problems: string[] = [];
  const schema = get(o, 'schema');
  if (!(READABLE_SCHEMAS as readonly unknown[]).includes(schema)) problems.push(`schema is ${JSON.stringify(schema ?? null)}, expected one of ${READABLE_SCHEMAS.join(', ')}`);
  for (const k of RUN_OBJECTS) if (!isObj(get(o, k))) problems.push(`missing "${k}" object`);
  for (const k of ['host.cpuModel', 'host.kernel', 'host.node']) if (typeof get(o, k) !== 'string') problems.push(`${k} is not a string`);
  if (!isNum(get(o, 'host.cores'))) problems.push('host.cores is not a number');
  if (!isNum(get(o, 'calibration.memcpyUsPerFrame'))) problems.push('calibration.memcpyUsPerFrame is not a number');
  const results = get(o, 'results');
  if (!Array.isArray(results)) return [...problems, '"results" is not an array'];
  results.forEach((r: unknown, i: number) => {
    if (!isObj(r)) return void problems.push(`results[${i}] is not an object`);
    for (const k of CASE_STRINGS) if (typeof get(r, k) !== 'string') problems.push(`results[${i}].${k} is not a string`);
    for (const k of CASE_OBJECTS) if (!isObj(get(r, k))) problems.push(`results[${i}].${k} is missing`);
    for (const k of CASE_NUMBERS) if (!isNum(get(r, k))) problems.push(`results[${i}].${k} is not a number`);
  });
  return problems;
}

/** `o` as a RunResult, or FB_ERR_BAD_RESULT_FILE naming `file` and the first problem. */
export function validateRunResult(o: unknown, file: string): RunResult {
  const problems = resultProblems(o);
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw fbError('FB_ERR_BAD_RESULT_FILE', `${file}: ${problems[0]}${more}`);
  }
  return o as RunResult;
}

/** Loads and checks a saved run: a results.json file or a run directory that holds one. */
export function loadRunResult(path: string): RunResult {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, 'results.json');
  } catch {
    /* reported below */
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw fbError('FB_ERR_BAD_RESULT_FILE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fbError('FB_ERR_BAD_RESULT_FILE', `${file} is not JSON: ${(e as Error).message}`);
  }
  return validateRunResult(json, file);
}
