import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_COST_MODEL, type CostModelConfig } from '../core/cost';
import { DEFAULT_GATE, type GateSettings } from '../core/gate';
import { VERIFY_MODES } from '../core/case';

/**
 * THE settings schema (typebox): the type of `bench.config.ts`, its defaults, the checks of config files
 * and of flags, the `bench run --help` lines and schema/config.schema.json all come from it.
 *
 * Each field's schema stands alone in FIELDS, so one can later take a list for a sweep: wrap it with
 * `listOf(FIELDS.fps)` (a value or a non-empty array of values) and the config check, the flag check
 * and the JSON Schema follow.
 */

/** A JSON-Schema object of the fields of `defaults`, each typed by its default value, all optional. */
function partialShapeOf<T extends object>(defaults: T, title: string): TSchema {
  const props: Record<string, TSchema> = {};
  for (const [k, v] of Object.entries(defaults)) {
    props[k] = Array.isArray(v) ? Type.Array(Type.String()) : typeof v === 'number' ? Type.Number() : typeof v === 'boolean' ? Type.Boolean() : Type.String();
  }
  return Type.Partial(Type.Object(props, { additionalProperties: false }), { description: title });
}

/** A value or a non-empty list of values (for sweeps). */
export function listOf<T extends TSchema>(s: T, opts: { default?: unknown; description?: string } = {}) {
  return Type.Union([s, Type.Array(s, { minItems: 1 })], { ...opts, 'x-list': true });
}

/** The schema of one value of a field: the item of a listOf() field, else the field's own. */
export function itemSchema(key: SettingKey): TSchema {
  const f = FIELDS[key] as TSchema;
  return f['x-list'] ? (f.anyOf as TSchema[])[0] : f;
}

export const FIELDS = {
  transports: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    default: ['ws', 'unix', 'tcp', 'shm'],
    description: "transports to measure: registered names, 'all' (every one that can run here) or paths of transport modules (./my-transport.ts)",
  }),
  scenarios: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, default: ['realtime', 'saturate'], description: 'scenarios (realtime, saturate, multi-producer, variable-size, all)' }),
  formats: Type.Array(Type.Union([Type.Literal('i420'), Type.Literal('rgba')]), { minItems: 1, default: ['i420', 'rgba'], description: 'pixel formats' }),
  resolution: listOf(Type.String({ minLength: 1 }), { default: '1080p', description: "frame size: '1080p', '720p', '4k', '360p' or 'WxH'; a list sweeps (docs/sweeps.md)" }),
  fps: listOf(Type.Number({ exclusiveMinimum: 0, maximum: 1000 }), { default: 30, description: 'frame rate of paced scenarios; a list sweeps' }),
  durationS: Type.Number({ exclusiveMinimum: 0, maximum: 86400, default: 1.2, description: 'measurement window per case and round, seconds' }),
  rounds: Type.Integer({ minimum: 1, maximum: 1000, default: 5, description: 'interleaved rounds; figures are medians over rounds with 95% intervals' }),
  warmupS: Type.Number({ minimum: 0, maximum: 3600, default: 0.4, description: 'shortest warm-up before each window, seconds, not counted' }),
  warmupMaxS: Type.Number({
    minimum: 0, maximum: 3600, default: 3,
    description: 'the warm-up goes on until the processes stop faulting in fresh memory, at most this many seconds; 0 = a fixed warm-up (docs/options.md, Warm-up)',
  }),
  malloc: Type.Union([Type.Literal('steady'), Type.Literal('default')], {
    default: 'steady',
    description: "allocator of the case's processes: 'steady' fixes glibc's thresholds so freed memory stays (no re-faulting from process to process), 'default' is glibc as it comes (docs/options.md, Warm-up)",
  }),
  producers: listOf(Type.Integer({ minimum: 1, maximum: 64 }), { default: 4, description: 'producer processes of multi-producer; a list sweeps' }),
  verify: Type.Union(VERIFY_MODES.map((m) => Type.Literal(m)), {
    default: 'checksum',
    description: 'consumer check: every byte against the header checksum, one word per 4 KiB page, or every byte against the source',
  }),
  source: Type.String({
    pattern: '^(synthetic|chromium|chromium-bot|fixture:.+)$', default: 'synthetic',
    description: "where frames come from: 'synthetic', 'fixture:NAME', 'chromium' (live) or 'chromium-bot' (the bot page; docs/chromium.md)",
  }),
  out: Type.String({ minLength: 1, default: 'reports/latest', description: 'output folder (results.json, index.html, summary.md)' }),
  copyAccounting: Type.Boolean({ default: true, description: 'count memcpy/memmove in every producer and consumer (LD_PRELOAD interposer)' }),
  policy: Type.Union([Type.Literal('block'), Type.Literal('drop')], { default: 'block', description: 'backpressure policy when the consumer is behind' }),
  transportOptions: Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()), {
    default: { ws: { fragmentBytes: 131000 }, 'ws-nomask': { fragmentBytes: 131000 } },
    description: 'per-transport knobs, e.g. { ws: { fragmentBytes: 131000 }, shm: { ringBytes: 67108864 } }',
  }),
  cost: Type.Optional(Type.Unsafe<Partial<CostModelConfig>>(partialShapeOf(DEFAULT_COST_MODEL, 'fleet cost model (unset fields keep the defaults of core/cost.ts)'))),
  gate: Type.Optional(Type.Unsafe<Partial<GateSettings>>(partialShapeOf(DEFAULT_GATE, 'bench gate matrix and thresholds (unset fields keep the defaults of core/gate.ts)'))),
};

export const SettingsSchema = Type.Object(FIELDS, { additionalProperties: false, $id: 'framebench/config@1', title: 'framebench settings (bench.config.ts)' });

/** Every setting, complete. */
export type BenchConfig = Static<typeof SettingsSchema>;
export type SettingKey = keyof typeof FIELDS;

/** The defaults, from the schema. */
export function schemaDefaults(): BenchConfig {
  return Value.Default(SettingsSchema, {}) as BenchConfig;
}

/** The JSON Schema of a config file (every field optional; written to schema/config.schema.json). */
export function configJsonSchema(): Record<string, unknown> {
  const s = JSON.parse(JSON.stringify(Type.Partial(SettingsSchema))) as Record<string, unknown>;
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...s };
}

/**
 * Problems of one field's value, as `key: what` lines ('' path for the field itself), [] when it fits.
 * Numbers say their range in words ("must be > 0 and <= 1000").
 */
export function fieldProblems(key: SettingKey, value: unknown): string[] {
  const field = FIELDS[key] as TSchema;
  const list: unknown[] | null = Array.isArray(value) ? value : null;
  if (Value.Check(field, value)) return [];
  // a list field (a sweep): each value is checked like a single one, and named by its place
  if (field['x-list'] && list) {
    if (list.length === 0) return ['must not be an empty list'];
    return list.flatMap((v, i) => valueProblems(itemSchema(key), v).map((p) => `item ${i + 1}: ${p}`));
  }
  return valueProblems(itemSchema(key), value);
}

function valueProblems(schema: TSchema, value: unknown): string[] {
  if (Value.Check(schema, value)) return [];
  const range = numberRange(schema);
  if (range && typeof value === 'number') return [`must be ${range}, got ${value}`];
  return [...Value.Errors(schema, value)].slice(0, 3).map((e) => `${e.path ? `${e.path.slice(1).replace(/\//g, '.')}: ` : ''}${e.message}${e.path ? '' : `, got ${JSON.stringify(value)}`}`);
}

/** '> 0 and <= 1000' / 'a whole number >= 1 and <= 64' from a number schema, or null. */
export function numberRange(schema: TSchema): string | null {
  if (schema.type !== 'number' && schema.type !== 'integer') return null;
  const lo = schema.exclusiveMinimum !== undefined ? `> ${schema.exclusiveMinimum}` : schema.minimum !== undefined ? `>= ${schema.minimum}` : '';
  const hi = schema.maximum !== undefined ? `<= ${schema.maximum}` : '';
  return `${schema.type === 'integer' ? 'a whole number ' : ''}${[lo, hi].filter(Boolean).join(' and ')}`;
}
