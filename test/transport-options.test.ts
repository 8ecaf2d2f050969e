import { describe, expect, it } from 'vitest';
import './support/require-ts';
import { defaultConfigPath, loadConfig } from '../harness/config';
import { checkOptions, COMMON_OPTIONS } from '../transports/options';
import { getTransport, transportNames } from '../transports/registry';
import type { OptionSpec } from '../transports/types';

/**
 * The one option check (transports/options.ts): declared options with their defaults pass,
 * an unknown or mistyped option is FB_ERR_CONFIG naming the transport and the option, a bad
 * number FB_ERR_BAD_NUMBER; what a run passes today (bench.config.ts, --fragment-bytes) passes.
 */
const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

describe('transport options', () => {
  it("the shipped config's transportOptions pass every transport's check", () => {
    const cfg = loadConfig(defaultConfigPath());
    for (const [name, options] of Object.entries(cfg.transportOptions)) {
      const t = getTransport(name);
      expect(() => checkOptions(name, t.options, options), name).not.toThrow();
    }
  });

  it('--fragment-bytes values pass for ws and ws-nomask; maxFrameBytes passes for every transport', () => {
    for (const name of ['ws', 'ws-nomask']) {
      for (const fragmentBytes of [0, 1000, 131000]) expect(checkOptions(name, getTransport(name).options, { fragmentBytes })).toMatchObject({ fragmentBytes });
    }
    for (const name of transportNames()) expect(() => checkOptions(name, getTransport(name).options, { maxFrameBytes: 64 << 20 }), name).not.toThrow();
    expect(COMMON_OPTIONS.map((o) => o.name)).toEqual(['maxFrameBytes']);
  });

  it('fills declared defaults and leaves the rest unset', () => {
    expect(checkOptions('ws', getTransport('ws').options, {})).toEqual({ fragmentBytes: 131000, handshakeTimeoutMs: 10_000, frameIdleTimeoutMs: 30_000 });
    expect(checkOptions('shm', getTransport('shm').options, { ringBytes: 1 << 20 })).toEqual({ ringBytes: 1 << 20, spin: 0, copyOut: false, wake: 'eventfd', yieldAfterWake: true, eventLoopDelay: false });
  });

  it('refuses with codes that name the transport and the option', () => {
    const specs = [
      { name: 'n', type: 'integer', min: 0, max: 10, help: 'a count' },
      { name: 'flag', type: 'boolean', help: 'a switch' },
      { name: 'label', type: 'string', help: 'a name' },
    ] as const satisfies readonly OptionSpec[];
    expect(checkOptions('demo', specs, { n: 3, flag: true, label: 'x' })).toEqual({ n: 3, flag: true, label: 'x' });
    expect(code(() => checkOptions('demo', specs, { nope: 1 }))).toBe('FB_ERR_CONFIG');
    expect(() => checkOptions('demo', specs, { nope: 1 })).toThrow(/demo: unknown option 'nope'/);
    expect(code(() => checkOptions('demo', specs, { flag: 'yes' }))).toBe('FB_ERR_CONFIG');
    expect(code(() => checkOptions('demo', specs, { label: 3 }))).toBe('FB_ERR_CONFIG');
    expect(code(() => checkOptions('demo', specs, 'not an object'))).toBe('FB_ERR_CONFIG');
    for (const n of ['3', 2.5, -1, 11, NaN, Infinity]) expect(code(() => checkOptions('demo', specs, { n })), String(n)).toBe('FB_ERR_BAD_NUMBER');
    expect(() => checkOptions('demo', specs, { n: 11 })).toThrow(/demo: option n must be an integer in \[0, 10\], got 11/);
    expect(code(() => checkOptions('ws', getTransport('ws').options, { fragmentbytes: 1000 }))).toBe('FB_ERR_CONFIG');
  });
});
