import { RESULT_SCHEMA } from './result';

/**
 * Structural check of a results.json against the framebench/run@1 schema: the names
 * other tools read must be there with the right types. Returns the problems found.
 */
const CASE_NUMBERS = [
  'width', 'height', 'frameBytes', 'producers', 'framesSent', 'framesReceived', 'framesDropped', 'framesCorrupt', 'fps', 'gbps',
  'cpuUsPerFrame.producer', 'cpuUsPerFrame.consumer', 'cpuUsPerFrame.total', 'copyEquivalents',
  'kernelBytesPerFrame.producer', 'kernelBytesPerFrame.consumer',
  'latencyUs.p50', 'latencyUs.p99', 'latencyUs.p999', 'latencyUs.max',
  'rssPeakBytes.producer', 'rssPeakBytes.consumer',
];
const CASE_STRINGS = ['transport', 'scenario', 'format', 'status'];

function get(o: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);
}

export function validateRunResult(o: unknown): string[] {
  const problems: string[] = [];
  if (!o || typeof o !== 'object') return ['not an object'];
  if (get(o, 'schema') !== RESULT_SCHEMA) problems.push(`schema is not ${RESULT_SCHEMA}`);
  for (const k of ['host.cpuModel', 'host.kernel', 'host.node']) if (typeof get(o, k) !== 'string') problems.push(`${k} missing`);
  if (typeof get(o, 'host.cores') !== 'number') problems.push('host.cores missing');
  if (typeof get(o, 'calibration.memcpyUsPerFrame') !== 'number') problems.push('calibration.memcpyUsPerFrame missing');
  const results = get(o, 'results');
  if (!Array.isArray(results)) return [...problems, 'results is not an array'];
  results.forEach((r, i) => {
    for (const k of CASE_NUMBERS) if (typeof get(r, k) !== 'number' || !Number.isFinite(get(r, k) as number)) problems.push(`results[${i}].${k} is not a number`);
    for (const k of CASE_STRINGS) if (typeof get(r, k) !== 'string') problems.push(`results[${i}].${k} is not a string`);
  });
  return problems;
}
