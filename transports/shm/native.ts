import { addonPath, loadAddon } from '../../core/addon';
import { fbError } from '../../core/errors';

/**
 * The ring's view of the native addon (native/src/shm.cc; loaded by core/addon.ts).
 * The addon only maps memory, waits, wakes and checks pids; the ring protocol is in TS.
 * If it cannot be loaded, every caller gets one FB_ERR_NATIVE_UNAVAILABLE saying why.
 * `FRAMEBENCH_SHM_ADDON=/abs/path.node` overrides the location (used by the ASan build).
 */
export interface ShmNative {
  /** Creates `name` (O_CREAT|O_EXCL, 0600), sizes and maps it. Throws {code: 'EEXIST', ...}. */
  create(name: string, bytes: number, populate: boolean): ArrayBuffer;
  /** Maps an existing segment whole. */
  open(name: string, populate: boolean): ArrayBuffer;
  /** true if removed, false if it did not exist. */
  unlink(name: string): boolean;
  /** Detaches the ArrayBuffer (views become empty) and unmaps it. */
  unmap(ab: ArrayBuffer): boolean;
  /** 0 woken, 1 timed out, 2 the word was not `expected`. Timeout capped at 1000 ms. */
  futexWait(ab: ArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): number;
  futexWake(ab: ArrayBuffer, byteOffset: number, count: number): number;
  /** false when the pid does not exist or is a zombie. */
  pidAlive(pid: number): boolean;
  /** '/name' of every /dev/shm entry whose name starts with `prefix`. */
  listSegments(prefix: string): string[];
  /** The first `bytes` bytes of a segment (pread, no mapping), or null if it does not exist. */
  peek(name: string, bytes: number): { size: number; head: Uint8Array; read: number } | null;
  /** Offsets and constants from native/src/ring_layout.h. */
  layout(): Record<string, number>;
}

let cached: ShmNative | null = null;
let failure: string | null = null;

function load(): ShmNative {
  const m = loadAddon();
  if (typeof m.futexWait !== 'function') throw new Error(`${addonPath()} is not the framebench shm addon`);
  return m as unknown as ShmNative;
}

/** The addon, or throws FB_ERR_NATIVE_UNAVAILABLE with the reason. */
export function shmNative(): ShmNative {
  if (cached) return cached;
  if (failure === null) {
    try {
      cached = load();
      return cached;
    } catch (e) {
      failure = e instanceof Error ? e.message : String(e);
    }
  }
  throw fbError('FB_ERR_NATIVE_UNAVAILABLE', `native shared-memory addon unavailable: ${failure}`);
}

/** null if the addon loads, else why not. */
export function shmNativeUnavailableReason(): string | null {
  try {
    shmNative();
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
