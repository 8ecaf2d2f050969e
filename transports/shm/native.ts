import { addonPath, loadAddon } from '../../core/addon';
import { fbError } from '../../core/errors';

/**
 * The ring's view of the native addon (native/src/shm.cc; loaded by core/addon.ts).
 * The addon only maps memory, hands out regions, waits (on a thread of its own), wakes and checks pids;
 * the ring protocol is in TS.
 * If it cannot be loaded, every caller gets one FB_ERR_NATIVE_UNAVAILABLE saying why.
 * `FRAMEBENCH_SHM_ADDON=/abs/path.node` overrides the location (used by the ASan build).
 */
export interface ShmNative {
  /** A sealed memfd (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL; with sealLater only SHRINK | GROW, serveRing seals the rest) of `bytes`, mapped unless `map` is false. */
  memfdCreate(bytes: number, populate: boolean, map: boolean, label?: string, sealLater?: boolean): { fd: number; ab: ArrayBuffer | null };
  /**
   * Maps a descriptor whole if it is a regular file carrying those seals (readOnly: also
   * F_SEAL_FUTURE_WRITE, mapped PROT_READ: a store into it kills the process) else throws code
   * EUNSEALED; closes fd.
   */
  mapFd(fd: number, populate: boolean, readOnly?: boolean): ArrayBuffer;
  /** F_GET_SEALS of a descriptor. */
  sealsOf(fd: number): number;
  closeFd(fd: number): boolean;
  /** A duplicate of fd (the same open file, close-on-exec). */
  dupFd(fd: number): number;
  /** Serves a duplicate of `fd` (SCM_RIGHTS) to whoever connects to the unix socket `path`, from a native thread. */
  serveFd(path: string, fd: number): number;
  /**
   * Serves the ring on `path`: seals the consumer page (pageFd, PAGE_BYTES) F_SEAL_FUTURE_WRITE and
   * hands every connecting producer [page, a fresh sealed region of regionBytes] and its index; when
   * the page's wakeMode is WAKE_EVENTFD, also an eventfd of that producer's own (non-blocking).
   */
  serveRing(path: string, pageFd: number, regionBytes: number): number;
  /** Regions handed out (their descriptors, and efd: the consumer's duplicate of that producer's eventfd or -1, now the caller's) and connections closed since the last call; null if no such server. */
  ringEvents(id: number): { added: { index: number; fd: number; efd: number; pid: number; uid: number }[]; gone: number[] } | null;
  /** eventfd mode: a duplicate (the caller's) of the eventfd the serving thread writes when producers come or go; -1 in futex mode; null if no such server. */
  ringWakeFd(id: number): number | null;
  /** fd is an eventfd. */
  isEventfd(fd: number): boolean;
  /** Adds 1 to an eventfd (false: its counter is full, or an error); never blocks on the ring's (non-blocking) eventfds. */
  signalFd(fd: number, yieldAfterWake?: boolean): boolean;
  /** The consumer is done with producer `index`: ends its connection if open, frees the index. */
  dropPeer(id: number, index: number): boolean;
  /** Stops a server, removes its socket. */
  unserveFd(id: number): boolean;
  /** Connects to `path` and receives one or two descriptors (and a ring's producer index, else -1); pid/uid of the sender (SO_PEERCRED); with keep, the open connection. */
  fetchFd(path: string, timeoutMs: number, keep?: boolean, request?: boolean): { fd: number; fds: number[]; index: number; pid: number; uid: number; sock: number };
  /** The other end of a kept connection closed (never blocks). */
  peerGone(sock: number): boolean;
  /** Removes an older named /dev/shm segment: true if removed, false if it did not exist; EPERM if not a regular file of ours. */
  unlink(name: string): boolean;
  /** Tries to make a mapping of ours writable in place (mprotect): true, or throws its errno (EACCES: the sealed consumer page). */
  mprotectWrite(ab: ArrayBuffer): boolean;
  /** Detaches the ArrayBuffer (views become empty) and unmaps it. */
  unmap(ab: ArrayBuffer): boolean;
  futexWake(ab: ArrayBuffer, byteOffset: number, count: number, yieldAfterWake?: boolean): number;
  /** false when the pid does not exist or is a zombie. */
  pidAlive(pid: number): boolean;
  /** '/name' of every /dev/shm entry whose name starts with `prefix`. */
  listSegments(prefix: string): string[];
  /** The first `bytes` bytes of a named segment (pread, no mapping), or null if it does not exist or is not a regular file of ours. */
  peek(name: string, bytes: number): { size: number; head: Uint8Array; read: number } | null;
  /** Offsets and constants from native/src/ring_layout.h. */
  layout(): Record<string, number>;
  /** A waiter thread (native/src/waiter.cc): the futex waits of a ring end, off the JS thread. */
  Waiter: new (onWake: (observedNs: number) => void) => NativeWaiter;
  /** eventfds watched on this thread's own libuv loop (native/src/poller.cc). */
  FdPoller: new (onReady: (key: number) => void) => NativeFdPoller;
}

/**
 * eventfds polled by the JS thread's own event loop (uv_poll_t): a count on one while armed calls
 * onReady(key) once (then disarmed). Every readiness drains its fd without ever blocking. Armed, the
 * handles hold the event loop; disarmed, nothing.
 */
/** The key a NativeFdPoller's call has when its timer, not an fd, made it (native/src/poller.cc kTimerKey). */
export const POLLER_TIMER_KEY = -2;

export interface NativeFdPoller {
  /** Takes fd (closed by remove or close) and watches it under `key`. */
  add(fd: number, key: number): void;
  /** Stops watching `key` and closes its fd; false if not watched. */
  remove(key: number): boolean;
  /**
   * Watch for the next readable fd (one call, then disarmed); with `timeoutMs` > 0 also a native
   * timer, running only while armed, that makes the call with key POLLER_TIMER_KEY when no fd
   * became readable in that time.
   */
  arm(timeoutMs?: number): void;
  disarm(): void;
  /** Removes (closes) every fd. Idempotent. */
  close(): void;
  /** fired: calls for a readable fd; coalesced: counts drained while disarmed; spurious: readiness with nothing to read; timeouts: calls by the timer; fds: watched now. */
  stats(): { fired: number; coalesced: number; spurious: number; timeouts: number; fds: number };
}

/**
 * A native thread that sleeps (futex_waitv) until a watched word changes, then calls onWake once
 * through a thread-safe function (at most one call pending) with CLOCK_MONOTONIC ns of when it saw
 * the change. It holds the event loop only while armed.
 */
export interface NativeWaiter {
  /** The u32 words to wait on (each in a live mapping of ours, up to 127); disarms. Call before unmapping one. */
  watch(abs: ArrayBuffer[], byteOffsets: number[]): void;
  /** Wake when any word differs from expected[i] (read before the caller's last check). */
  arm(expected: Uint32Array): void;
  /** Stops waiting; a call already queued still comes. */
  disarm(): void;
  /** Stops and joins the thread; the loop is no longer held. Idempotent. */
  close(): void;
  /** waits: futex_waitv calls; timeouts: 1 s re-waits; fired: calls run in JS; coalesced: changes seen while one was pending. */
  stats(): { waits: number; timeouts: number; fired: number; coalesced: number };
}

let cached: ShmNative | null = null;
let failure: string | null = null;

function load(): ShmNative {
  const m = loadAddon();
  if (typeof m.futexWake !== 'function' || typeof m.Waiter !== 'function' || typeof m.FdPoller !== 'function') throw new Error(`${addonPath()} is not the framebench shm addon`);
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
