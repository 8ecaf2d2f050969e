import { addonPath, loadAddon } from '../core/addon';
import { checksumInto } from '../core/checksum';

/**
 * The native payload checksum (native/src/checksum.c, exposed as `checksum` by the same addon as
 * the shared-memory ring, loaded by core/addon.ts). The consumer checks every
 * byte of every frame with it; the JavaScript reference (core/checksum.ts) computes the same
 * value and stands in only when the addon cannot be loaded. Which one ran is recorded.
 * `FRAMEBENCH_SHM_ADDON=/abs/path.node` overrides the addon's location (as for the ring);
 * `FRAMEBENCH_CHECKSUM=js` forces the fallback (to test or measure it).
 */
export type ChecksumImpl = 'native' | 'js';

export interface PayloadChecksum {
  readonly impl: ChecksumImpl;
  /** Why the native checksum is not used (impl 'js'), else null. */
  readonly fallbackReason: string | null;
  /** Writes [A, B] of `bytes` into out[0], out[1]. */
  into(bytes: Uint8Array, out: Uint32Array): void;
}

type NativeFn = (bytes: Uint8Array, out: Uint32Array) => void;
let cached: PayloadChecksum | null = null;

function loadNative(): NativeFn {
  const fn = loadAddon().checksum;
  if (typeof fn !== 'function') throw new Error(`${addonPath()} has no checksum function (rebuild it: npm run build:native)`);
  return fn as NativeFn;
}

/** The checksum to verify frames with: native when the addon loads, else the JS reference. */
export function payloadChecksum(): PayloadChecksum {
  if (cached) return cached;
  let reason: string;
  if (process.env.FRAMEBENCH_CHECKSUM === 'js') {
    reason = 'FRAMEBENCH_CHECKSUM=js';
  } else {
    try {
      return (cached = { impl: 'native', fallbackReason: null, into: loadNative() });
    } catch (e) {
      reason = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    }
  }
  return (cached = { impl: 'js', fallbackReason: reason, into: checksumInto });
}

/** The JS reference, whatever the addon (tests compare the two). */
export const jsChecksum: PayloadChecksum = { impl: 'js', fallbackReason: 'asked for', into: checksumInto };
