import { fbError } from '../core/errors';

/**
 * Scenarios are data: the same definition drives every transport.
 * - pacing 'fps': each producer sends at the run's fps (latency corrected for coordinated omission);
 *   'max': as fast as the transport's backpressure allows.
 * - producers 'one' or 'many' (the run's --producers, default 4).
 * - sizes 'fixed' (the run's resolution) or 'cycle' (360p, 720p, 1080p, 4K in turn).
 */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly pacing: 'fps' | 'max';
  readonly producers: 'one' | 'many';
  readonly sizes: 'fixed' | 'cycle';
}

export const SCENARIOS: readonly Scenario[] = [
  { name: 'realtime', description: 'one producer paced at --fps (default 30); latency with coordinated-omission correction', pacing: 'fps', producers: 'one', sizes: 'fixed' },
  { name: 'saturate', description: 'one producer as fast as backpressure allows; frames/s and GB/s', pacing: 'max', producers: 'one', sizes: 'fixed' },
  { name: 'multi-producer', description: 'N producer processes (--producers, default 4) paced at --fps into one consumer', pacing: 'fps', producers: 'many', sizes: 'fixed' },
  { name: 'variable-size', description: 'one producer paced at --fps cycling 360p, 720p, 1080p and 4K frames', pacing: 'fps', producers: 'one', sizes: 'cycle' },
];

/** Resolutions the variable-size scenario cycles through, in order. */
export const CYCLE_RESOLUTIONS: readonly string[] = ['360p', '720p', '1080p', '4k'];

export function getScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw fbError('FB_ERR_UNKNOWN_SCENARIO', `unknown scenario '${name}' (known: ${SCENARIOS.map((x) => x.name).join(', ')})`);
  return s;
}

export function parseScenarios(list: string): Scenario[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw fbError('FB_ERR_UNKNOWN_SCENARIO', 'no scenario named');
  if (names.includes('all')) return [...SCENARIOS];
  return [...new Set(names)].map(getScenario);
}
