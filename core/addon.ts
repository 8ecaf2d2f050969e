import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fromRoot } from './paths';

/**
 * The one loader of framebench's native addon (native/build/Release/framebench_shm.node, built
 * by `npm run build:native`): the shared-memory ring's primitives (transports/shm/native.ts) and
 * the payload checksum (measure/checksum-native.ts) come from it. Loaded once per process; a
 * failure is remembered and rethrown with its one-line reason. `FRAMEBENCH_SHM_ADDON=/abs/path.node`
 * overrides the location (the ASan build).
 */
const ADDON = 'framebench_shm.node';
let loaded: Record<string, unknown> | null = null;
let failure: Error | null = null;

export function addonPath(): string {
  const env = process.env.FRAMEBENCH_SHM_ADDON;
  return env ? path.resolve(env) : fromRoot('native', 'build', 'Release', ADDON);
}

/** The addon's exports, or throws an Error whose message says why it cannot be loaded. */
export function loadAddon(): Record<string, unknown> {
  if (loaded) return loaded;
  if (failure) throw failure;
  const file = addonPath();
  try {
    if (!existsSync(file)) throw new Error(`${ADDON} not found (run \`npm run build:native\`); looked in ${file}`);
    const m = { exports: {} as Record<string, unknown> };
    try {
      process.dlopen(m, file);
    } catch (e) {
      const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      throw new Error(`${file} does not load: ${first}`, { cause: e });
    }
    return (loaded = m.exports);
  } catch (e) {
    failure = e instanceof Error ? e : new Error(String(e));
    throw failure;
  }
}
