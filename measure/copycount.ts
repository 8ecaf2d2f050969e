/**
 * Copy accounting: counts the user-space copies (memcpy, memmove, mempcpy,
 * __memcpy_chk, __memmove_chk) a process makes, by LD_PRELOADing
 * native/copycount/build/libframebench_copycount.so into it.
 *
 * The counters live in a 4 KiB sealed memfd (a "page": F_SEAL_SHRINK |
 * F_SEAL_GROW | F_SEAL_SEAL, so no process can truncate it under the
 * interposer's stores; no name in /dev/shm) that the harness creates before
 * spawning the process and names to it as /proc/<harness pid>/fd/<n>; the
 * interposer opens that, checks the seals, maps it MAP_SHARED and adds to it
 * with relaxed atomics, so the counts can be read at any moment, including
 * after the instrumented process was killed. The page lives as long as the
 * harness keeps its descriptor (until unlink()).
 *
 * Usage (coordinator):
 *   const page = CopyCountPage.create();
 *   spawn(node, [script], { env: { ...process.env, ...page.env() } });
 *   ... const c = page.read(); ... page.unlink();
 * Inside the instrumented process: readCopyCounters(process.env.FRAMEBENCH_COPYCOUNT!)
 * (one 1,088-byte read() into a reused buffer; it adds a few small copies of its own).
 *
 * Children of an instrumented process inherit the environment and add to the
 * same page: instrument leaf processes only.
 */
import { spawnSync } from 'node:child_process';
import { fromRoot } from '../core/paths';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fbError } from '../core/errors';
import { loadAddon } from '../core/addon';

/** Mirrors the layout in native/copycount/copycount.c (checked by test/copycount.test.ts). */
export const COPYCOUNT_LAYOUT = {
  magic: 0x544e554f43434246n, // "FBCCOUNT" read as a little-endian u64
  version: 1,
  headerSize: 64,
  buckets: 64,
  bucketStride: 16,
  attachedOffset: 24,
  fileSize: 4096,
} as const;

const L = COPYCOUNT_LAYOUT;
/** Bytes of the file that carry data (header + buckets); the rest of the 4 KiB is zero. */
const USED_BYTES = L.headerSize + L.buckets * L.bucketStride;

export interface CopyCounters {
  calls: number;
  bytes: number;
  /** 64 buckets; bucket i holds copies whose size has bit length i (see bucketLabel). */
  bucketCalls: number[];
  bucketBytes: number[];
}


/** The interposer's file name, in every tree and package. */
export const COPYCOUNT_LIB_NAME = 'libframebench_copycount.so';

/**
 * An LD_PRELOAD value with `lib` as its one copy-count interposer: any other tree's interposer already in
 * `current` is dropped, as two would count every copy twice (a process of the A/B gate's other tree
 * spawning a native peer did, reading 2 passes for 1); the other entries are kept, in order.
 */
export function preloadWith(current: string | undefined, lib: string): string {
  const others = (current ?? '').split(/[\s:]+/).filter((p) => p !== '' && path.basename(p) !== COPYCOUNT_LIB_NAME);
  return [...others, lib].join(':');
}

/** Absolute path of the interposer (may not exist: build it with `node native/copycount/build.js`). */
export function copyCountLibPath(): string {
  return copyCountLibIn(fromRoot());
}

/** The interposer of the framebench tree or package at `root`: its local build first, then its prebuild. */
export function copyCountLibIn(root: string): string {
  const built = path.join(root, 'native', 'copycount', 'build', COPYCOUNT_LIB_NAME);
  const shipped = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, COPYCOUNT_LIB_NAME);
  return !fs.existsSync(built) && fs.existsSync(shipped) ? shipped : built;
}

let cachedReason: string | null | undefined;

/**
 * null if the interposer exists and really loads: checked once per process by
 * starting `node -e ''` with it preloaded and seeing it attach to a page (~50 ms).
 */
export function copyCountUnavailableReason(): string | null {
  if (cachedReason !== undefined) return cachedReason;
  cachedReason = probe();
  return cachedReason;
}

function probe(): string | null {
  if (process.platform !== 'linux') return `needs Linux LD_PRELOAD (this is ${process.platform})`;
  const lib = copyCountLibPath();
  if (!fs.existsSync(lib)) return `${lib} not built (run: node native/copycount/build.js)`;
  if (/[\s:]/.test(lib)) return `library path contains a space or colon, which LD_PRELOAD cannot express: ${lib}`;
  let page: CopyCountPage | undefined;
  try {
    page = CopyCountPage.create();
    const r = spawnSync(process.execPath, ['-e', ''], {
      env: { ...process.env, ...page.env() },
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (r.error) return `probe process failed: ${r.error.message}`;
    const attached = page.attached();
    if (attached < 1) return `LD_PRELOAD of ${lib} did not load: ${(r.stderr || `exit ${r.status}`).trim()}`;
    if (r.status !== 0) return `probe process exited ${r.status ?? r.signal} with the interposer loaded`;
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    page?.unlink();
  }
}

/** Pages created by this process and not yet released; closed at exit. */
const livePages = new Set<CopyCountPage>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of [...livePages]) p.unlink();
  });
}

export class CopyCountPage {
  readonly path: string;
  private fd: number;

  private constructor(p: string, fd: number) {
    this.path = p;
    this.fd = fd;
  }

  /** A new zeroed page with its header: a sealed memfd (0600), named /proc/<this pid>/fd/<n>. */
  static create(): CopyCountPage {
    let fd: number;
    try {
      const native = loadAddon() as { memfdCreate(bytes: number, populate: boolean, map: boolean, label: string): { fd: number } };
      fd = native.memfdCreate(L.fileSize, false, false, 'framebench-cc').fd;
    } catch (e) {
      throw fbError('FB_ERR_NATIVE_UNAVAILABLE', `copy counter page cannot be created (native addon: npm run build:native): ${(e as Error).message}`);
    }
    const p = `/proc/${process.pid}/fd/${fd}`;
    try {
      const buf = Buffer.alloc(USED_BYTES);
      buf.writeBigUInt64LE(L.magic, 0);
      buf.writeUInt32LE(L.version, 8);
      buf.writeUInt32LE(L.headerSize, 12);
      buf.writeUInt32LE(L.buckets, 16);
      buf.writeUInt32LE(L.bucketStride, 20);
      fs.writeSync(fd, buf, 0, buf.length, 0);
    } catch (e) {
      fs.closeSync(fd);
      throw fbError('FB_ERR_NATIVE_UNAVAILABLE', `copy counter page ${p} cannot be written: ${(e as Error).message}`);
    }
    const page = new CopyCountPage(p, fd);
    livePages.add(page);
    installExitHook();
    return page;
  }

  /**
   * Environment for the process to instrument: LD_PRELOAD (the interposer
   * appended to this process's LD_PRELOAD, if any, in place of another tree's: preloadWith) and
   * FRAMEBENCH_COPYCOUNT.
   */
  env(): Record<string, string> {
    const lib = copyCountLibPath();
    if (/[\s:]/.test(lib)) {
      throw fbError('FB_ERR_NATIVE_UNAVAILABLE', `copy counter library path contains a space or colon: ${lib}`);
    }
    return {
      LD_PRELOAD: preloadWith(process.env.LD_PRELOAD, lib),
      FRAMEBENCH_COPYCOUNT: this.path,
    };
  }

  /** Snapshot of the counters (each counter exact; the set is not one atomic instant). */
  read(): CopyCounters {
    return parseCopyCounters(this.readRaw());
  }

  /** How many processes mapped this page (0 means the interposer never loaded). */
  attached(): number {
    return Number(this.readRaw().readBigUInt64LE(L.attachedOffset));
  }

  /**
   * Releases the page (closes this process's descriptor: the memory goes with the last mapping);
   * safe to call twice. The page cannot be read here afterwards, nor opened by path.
   */
  unlink(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
    livePages.delete(this);
  }

  private readRaw(): Buffer {
    if (this.fd < 0) throw fbError('FB_ERR_INTERNAL', `copy counter page ${this.path} was already unlinked`);
    return readInto(this.fd, this.path);
  }
}

/** Reused for every read so that reading copies no more than the page itself. */
const scratch = Buffer.alloc(USED_BYTES);

function readInto(fd: number, where: string): Buffer {
  const n = fs.readSync(fd, scratch, 0, USED_BYTES, 0);
  if (n !== USED_BYTES) throw fbError('FB_ERR_INTERNAL', `copy counter page ${where} is truncated (${n} bytes)`);
  return scratch;
}

/** Reads a page by path (the instrumented process reads its own via process.env.FRAMEBENCH_COPYCOUNT). */
export function readCopyCounters(p: string): CopyCounters {
  let fd: number;
  try {
    fd = fs.openSync(p, 'r');
  } catch (e) {
    throw fbError('FB_ERR_INTERNAL', `copy counter page ${p} cannot be opened: ${(e as Error).message}`);
  }
  try {
    return parseCopyCounters(readInto(fd, p));
  } finally {
    fs.closeSync(fd);
  }
}

/** Decodes page bytes (at least header + buckets); checks the header, never trusts it. */
export function parseCopyCounters(bytes: Uint8Array): CopyCounters {
  if (bytes.byteLength < USED_BYTES) {
    throw fbError('FB_ERR_INTERNAL', `copy counter page too short: ${bytes.byteLength} < ${USED_BYTES} bytes`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getBigUint64(0, true);
  const version = dv.getUint32(8, true);
  if (
    magic !== L.magic ||
    version !== L.version ||
    dv.getUint32(12, true) !== L.headerSize ||
    dv.getUint32(16, true) !== L.buckets ||
    dv.getUint32(20, true) !== L.bucketStride
  ) {
    throw fbError('FB_ERR_INTERNAL', `not a copy counter page (magic 0x${magic.toString(16)}, version ${version})`);
  }
  const bucketCalls = new Array<number>(L.buckets);
  const bucketBytes = new Array<number>(L.buckets);
  let calls = 0;
  let total = 0;
  for (let i = 0; i < L.buckets; i++) {
    const off = L.headerSize + i * L.bucketStride;
    bucketCalls[i] = Number(dv.getBigUint64(off, true));
    bucketBytes[i] = Number(dv.getBigUint64(off + 8, true));
    calls += bucketCalls[i];
    total += bucketBytes[i];
  }
  return { calls, bytes: total, bucketCalls, bucketBytes };
}

/** Counters accumulated between two snapshots of the same page. */
export function diffCopyCounters(after: CopyCounters, before: CopyCounters): CopyCounters {
  const bucketCalls = after.bucketCalls.map((v, i) => v - (before.bucketCalls[i] ?? 0));
  const bucketBytes = after.bucketBytes.map((v, i) => v - (before.bucketBytes[i] ?? 0));
  return { calls: after.calls - before.calls, bytes: after.bytes - before.bytes, bucketCalls, bucketBytes };
}

const UNITS = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

function binary(n: number): string {
  let u = 0;
  while (n >= 1024 && n % 1024 === 0 && u < UNITS.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n}${UNITS[u]}`;
}

/**
 * Bucket i holds sizes in [2^(i-1), 2^i): label "lo-hi" with hi exclusive,
 * e.g. bucketLabel(17) === "64Ki-128Ki", bucketLabel(1) === "1-2" (size 1 only), bucketLabel(0) === "0".
 * Bucket 63 also holds everything larger (labelled up to 16Ei).
 */
export function bucketLabel(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= L.buckets) throw fbError('FB_ERR_INTERNAL', `no copy bucket ${i}`);
  if (i === 0) return '0';
  return `${binary(2 ** (i - 1))}-${binary(2 ** (i === L.buckets - 1 ? 64 : i))}`;
}
