import { fbError } from '../core/errors';
import type { OptionSpec, OptionValues } from './types';

/**
 * The options every transport takes besides its own. `maxFrameBytes` raises the largest frame
 * a run plans for this transport (harness/runner.ts reads it from the config's
 * `transportOptions.<name>`); the ends get it as ReceiverOptions/SenderOptions.maxFrameBytes.
 */
export const COMMON_OPTIONS = [
  { name: 'maxFrameBytes', type: 'integer', min: 1, help: "largest frame (header + payload) the run plans for, in bytes (default: the transport's maxFrameBytes, or the largest frame of the run)" },
] as const satisfies readonly OptionSpec[];

function describe(o: OptionSpec): string {
  const whole = o.type === 'integer' ? 'an integer' : 'a number';
  if (o.min !== undefined && o.max !== undefined) return `${whole} in [${o.min}, ${o.max}]`;
  if (o.min !== undefined) return `${whole} >= ${o.min}`;
  if (o.max !== undefined) return `${whole} <= ${o.max}`;
  return whole;
}

/**
 * The one check of a transport's options: every key must be declared (its own `options` or
 * COMMON_OPTIONS) and of its type, else FB_ERR_CONFIG naming the transport and the option; a
 * number option's value must be a finite number, whole for 'integer', in [min, max], else
 * FB_ERR_BAD_NUMBER. Returns the values with the declared defaults filled in.
 */
export function checkOptions<S extends readonly OptionSpec[]>(transport: string, specs: S, given: unknown): OptionValues<S> {
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    throw fbError('FB_ERR_CONFIG', `${transport}: options must be an object of named values, got ${JSON.stringify(given)}`);
  }
  const all: readonly OptionSpec[] = [...specs, ...COMMON_OPTIONS];
  const byName = new Map(all.map((o) => [o.name, o]));
  const out: Record<string, unknown> = {};
  for (const o of specs) if (o.default !== undefined) out[o.name] = o.default;
  for (const [name, v] of Object.entries((given ?? {}) as Record<string, unknown>)) {
    const o = byName.get(name);
    if (!o) {
      throw fbError('FB_ERR_CONFIG', `${transport}: unknown option '${name}' (${transport} takes: ${all.map((x) => x.name).join(', ')})`);
    }
    if (v === undefined) continue;
    if (o.type === 'integer' || o.type === 'number') {
      const ok = typeof v === 'number' && Number.isFinite(v) && (o.type === 'number' || Number.isInteger(v)) && (o.min === undefined || v >= o.min) && (o.max === undefined || v <= o.max);
      if (!ok) throw fbError('FB_ERR_BAD_NUMBER', `${transport}: option ${name} must be ${describe(o)}, got ${JSON.stringify(v)}`);
    } else if (typeof v !== o.type) {
      throw fbError('FB_ERR_CONFIG', `${transport}: option ${name} must be a ${o.type}, got ${JSON.stringify(v)}`);
    }
    out[name] = v;
  }
  return out as OptionValues<S>;
}

