import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fromRoot } from './paths';

/**
 * The one loader of framebench's native addon (the shared-memory ring's primitives, transports/shm/native.ts,
 * and the payload checksum, measure/checksum-native.ts). Like node-gyp-build, it takes the first that loads of:
 * a local source build (native/build/Release, `npm run build:native`), then the build shipped in the package
 * for this platform (prebuilds/<platform>-<arch>/, made at pack time). Loaded once per process; a failure is
 * remembered and rethrown with every candidate's one-line reason. `FRAMEBENCH_SHM_ADDON=/abs/path.node`
 * overrides the search (the ASan build).
 */
const ADDON = 'framebench_shm.node';
let loaded: Record<string, unknown> | null = null;
let failure: Error | null = null;

/** Where the addon is looked for, in order. */
export function addonCandidates(): string[] {
  const env = process.env.FRAMEBENCH_SHM_ADDON;
  if (env) return [path.resolve(env)];
  return [fromRoot('native', 'build', 'Release', ADDON), fromRoot('prebuilds', `${process.platform}-${process.arch}`, ADDON)];
}

/** The addon file that would be tried first (the one that exists, else the source build's path). */
export function addonPath(): string {
  const c = addonCandidates();
  return c.find((f) => existsSync(f)) ?? c[0]!;
}

/** The addon's exports, or throws an Error whose message says why it cannot be loaded. */
export function loadAddon(): Record<string, unknown> {
  if (loaded) return loaded;
  if (failure) throw failure;
  const reasons: string[] = [];
  for (const file of addonCandidates()) {
    if (!existsSync(file)) {
      reasons.push(`${ADDON} not found at ${file}`);
      continue;
    }
    const m = { exports: {} as Record<string, unknown> };
    try {
      process.dlopen(m, file);
      return (loaded = m.exports);
    } catch (e) {
      reasons.push(`${file} does not load: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
    }
  }
  failure = new Error(`${reasons.join('; ')} (build it: \`npm run build:native\` in a checkout, \`npm rebuild framebench\` where installed)`);
  throw failure;
}
