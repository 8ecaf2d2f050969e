import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRing, openRing, type RingConsumer, type RingProducer } from '../transports/shm/ring';
import { shmNative } from '../transports/shm/native';
import { RING } from '../transports/shm/layout';
import { killAll, spawnFixture } from './fixtures-shm/kit';

/**
 * The ring's memory is a sealed memfd handed out by descriptor: nothing is named in /dev/shm,
 * and truncating or growing it fails through every descriptor a producer can reach (its own,
 * and /proc/<consumer>/fd/N); an unsealed descriptor is refused; the cleanup of older named
 * segments never blocks on a FIFO, never follows a symlink and never removes another user's file.
 */
const F_SEAL_SEAL = 1;
const F_SEAL_SHRINK = 2;
const F_SEAL_GROW = 4;
const F_SEAL_FUTURE_WRITE = 16;
const SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW;

const closers: Array<RingConsumer | RingProducer> = [];
const tmpFiles: string[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c.close();
  await killAll();
  for (const f of tmpFiles.splice(0)) fs.rmSync(f, { force: true });
});

/** Descriptors of `pid` that are framebench memfds: /proc/<pid>/fd/N paths. */
function memfdsOf(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  return fs.readdirSync(dir).map((n) => path.join(dir, n)).filter((p) => {
    try {
      return fs.readlinkSync(p).startsWith('/memfd:framebench');
    } catch {
      return false;
    }
  });
}

/** Lines of /proc/<pid>/maps that map something named in /dev/shm by framebench. */
function shmNamedMaps(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter((l) => l.includes('/dev/shm/framebench-'));
}

function errCode(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

describe('shm ring: sealed memory passed by descriptor', () => {
  it('nothing named in /dev/shm; the mapping is a memfd carrying SHRINK|GROW|SEAL', async () => {
    const c = createRing({ ringBytes: 64 * 1024 });
    closers.push(c);
    const p = openRing(c.name);
    closers.unshift(p);
    await p.send(new Uint8Array(100).fill(3));
    expect(c.tryReceive()?.payload.byteLength).toBe(100);
    expect(c.name).toMatch(/\.sock$/);
    expect(shmNamedMaps(process.pid)).toEqual([]);
    expect(fs.readFileSync(`/proc/${process.pid}/maps`, 'utf8')).toContain('/memfd:framebench');
    const { fds } = shmNative().fetchFd(c.name, 2000);
    try {
      expect(fds.length).toBe(3); // the consumer page, a region of our own, and (wake: eventfd, the default) our eventfd
      expect(shmNative().sealsOf(fds[0])).toBe(SEALS | F_SEAL_FUTURE_WRITE);
      expect(shmNative().sealsOf(fds[1]) & SEALS).toBe(SEALS);
    } finally {
      fds.forEach((f) => shmNative().closeFd(f));
    }
  });

  it('truncating or growing through the received descriptor fails with EPERM; the ring goes on', async () => {
    const c = createRing({ ringBytes: 64 * 1024 });
    closers.push(c);
    const got = shmNative().fetchFd(c.name, 2000);
    const fds = got.fds.slice(0, 2); // the memory (the third is the producer's eventfd)
    try {
      expect(fds.map((fd) => fs.fstatSync(fd).size)).toEqual([RING.PAGE_BYTES, RING.HEADER_BYTES + 64 * 1024]);
      for (const fd of fds) {
        const size = fs.fstatSync(fd).size;
        expect(errCode(() => fs.ftruncateSync(fd, 0))).toBe('EPERM');
        expect(errCode(() => fs.ftruncateSync(fd, size * 2))).toBe('EPERM');
        expect(fs.fstatSync(fd).size).toBe(size);
      }
    } finally {
      got.fds.forEach((f) => shmNative().closeFd(f));
    }
    const p = openRing(c.name);
    closers.unshift(p);
    await p.send(new Uint8Array(5000).fill(1));
    expect(c.tryReceive()?.payload.byteLength).toBe(5000);
  });

  it('truncating through /proc/<consumer>/fd of a consumer process fails too; it keeps consuming', async () => {
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: 256 * 1024, runMs: 1200 })]);
    const { name, pid } = (await consumer.next('ready')) as { name: string; pid: number };
    const producer = spawnFixture('producer.js', [JSON.stringify({ name, producer: 0, count: 1e9, maxLen: 8000, seed: 5, mode: 'stream' })]);
    await producer.next('open');
    expect(shmNamedMaps(pid)).toEqual([]);
    const fds = memfdsOf(pid);
    expect(fds.length).toBeGreaterThan(0); // the serving thread's duplicate
    for (const f of fds) {
      expect(errCode(() => fs.truncateSync(f, 0))).toBe('EPERM');
      expect(errCode(() => fs.truncateSync(f, 1 << 30))).toBe('EPERM');
      expect(errCode(() => fs.closeSync(fs.openSync(f, fs.constants.O_RDWR | fs.constants.O_TRUNC)))).toBe('EPERM');
    }
    consumer.proc.send({ type: 'go' });
    const result = (await consumer.next('result', 20_000)) as { outcome: string; codes: string[]; records: number };
    expect(result.outcome).toBe('alive');
    expect(result.records).toBeGreaterThan(0);
    expect(await consumer.exited).toEqual({ code: 0, signal: null });
    const end = (await producer.next('error', 10_000)) as { code: string };
    expect(end.code).toBe('FB_ERR_PEER_GONE');
  }, 40_000);

  it('the consumer page is read-only for a producer: no writable mapping through its descriptor or one reopened via /proc, no write(), no mprotect', async () => {
    const c = createRing({ ringBytes: 64 * 1024 });
    closers.push(c);
    const { fds, sock } = shmNative().fetchFd(c.name, 2000, true);
    const [page, region] = fds;
    try {
      expect(errCode(() => shmNative().mapFd(shmNative().dupFd(page), false, false))).toBe('EPERM'); // PROT_WRITE, the descriptor we were given (open O_RDWR)
      expect(errCode(() => shmNative().mapFd(fs.openSync(`/proc/self/fd/${page}`, 'r+'), false, false))).toBe('EPERM');
      const rw = fs.openSync(`/proc/self/fd/${page}`, 'r+');
      try {
        expect(errCode(() => fs.writeSync(rw, Buffer.from([2, 0, 0, 0]), 0, 4, RING.OFF_CONSUMER_STATE))).toBe('EPERM');
      } finally {
        fs.closeSync(rw);
      }
      const ro = shmNative().mapFd(shmNative().dupFd(page), false, true);
      expect(new DataView(ro).getUint32(RING.OFF_CONSUMER_STATE, true)).toBe(RING.CONSUMER_OPEN);
      expect(errCode(() => shmNative().mprotectWrite(ro))).toBe('EACCES'); // the read-only mapping cannot be made writable
      shmNative().unmap(ro);
      // our region is ours to write
      const mine = shmNative().mapFd(shmNative().dupFd(region), false, false);
      new Uint8Array(mine)[RING.HEADER_BYTES] = 1;
      expect(shmNative().mprotectWrite(mine)).toBe(true);
      shmNative().unmap(mine);
    } finally {
      fds.forEach((f) => shmNative().closeFd(f));
      shmNative().closeFd(sock);
    }
    const p = openRing(c.name);
    closers.unshift(p);
    await p.send(new Uint8Array(10));
    expect(c.tryReceive()?.payload.byteLength).toBe(10);
  });

  it('a producer process holds no descriptor or mapping of another producer\'s region; its page mapping is read-only', async () => {
    const c = createRing({ ringBytes: 64 * 1024 });
    closers.push(c);
    c.onError(() => undefined);
    c.start((_p, release) => release());
    const kids = [0, 1].map((producer) => spawnFixture('producer.js', [JSON.stringify({ name: c.name, producer, count: 1e9, maxLen: 4000, seed: 3 + producer, mode: 'stream' })]));
    await Promise.all(kids.map((k) => k.next('open')));
    /** Inodes of framebench memfds a process holds (descriptors) or maps, with the mappings' permissions. */
    const memory = (pid: number): { regions: Set<number>; pages: Set<number>; pagePerms: string[] } => {
      const regions = new Set<number>();
      const pages = new Set<number>();
      const pagePerms: string[] = [];
      for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
        const f = line.trim().split(/\s+/);
        if (line.includes('/memfd:framebench-region')) regions.add(Number(f[4]));
        if (line.includes('/memfd:framebench-page')) {
          pages.add(Number(f[4]));
          pagePerms.push(f[1]);
        }
      }
      for (const p of memfdsOf(pid)) {
        const link = fs.readlinkSync(p);
        if (link.startsWith('/memfd:framebench-region')) regions.add(fs.statSync(p).ino);
        if (link.startsWith('/memfd:framebench-page')) pages.add(fs.statSync(p).ino);
      }
      return { regions, pages, pagePerms };
    };
    const [a, b] = kids.map((k) => memory(k.proc.pid as number));
    expect(a.regions.size).toBe(1);
    expect(b.regions.size).toBe(1);
    expect([...a.regions].filter((i) => b.regions.has(i))).toEqual([]); // no region in common
    expect([...a.pages]).toEqual([...b.pages]); // the one consumer page
    expect(a.pagePerms).toEqual(['r--s']); // mapped read-only, shared
    const mine = memory(process.pid);
    for (const i of [...a.regions, ...b.regions]) expect(mine.regions.has(i)).toBe(true); // the consumer maps both
    await killAll();
  }, 30_000);

  it('a ring served with an unsealed descriptor is refused: FB_ERR_RING_CORRUPT', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-unsealed-'));
    tmpFiles.push(dir);
    const file = path.join(dir, 'plain');
    fs.writeFileSync(file, Buffer.alloc(RING.HEADER_BYTES + 64 * 1024));
    const fd = fs.openSync(file, 'r+');
    const sock = path.join(dir, 'ring-0000000000000000.sock');
    const id = shmNative().serveFd(sock, fd);
    fs.closeSync(fd);
    try {
      expect(errCode(() => openRing(sock))).toBe('FB_ERR_RING_CORRUPT');
      const raw = fs.openSync(file, 'r+');
      expect(errCode(() => shmNative().mapFd(raw, false))).toBe('EUNSEALED'); // mapFd closes it
    } finally {
      shmNative().unserveFd(id);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shm ring: cleanup of older named segments is safe', () => {
  /**
   * Runs cleanStaleSegments(prefix) in a child with a deadline: a hang fails instead of hanging
   * the suite. Only this test's names: other runs on the machine keep theirs.
   */
  function cleanInChild(prefix: string): { status: number | null; signal: string | null; removed: string[] } {
    const ring = path.join(__dirname, '..', 'dist', 'transports', 'shm', 'ring.js'); // built by `npm test` (build:ts), like the ring peers
    const r = spawnSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(ring)}).cleanStaleSegments(${JSON.stringify(prefix)})))`], {
      timeout: 20_000,
      encoding: 'utf8',
    });
    return { status: r.status, signal: r.signal, removed: r.status === 0 ? (JSON.parse(r.stdout) as string[]) : [] };
  }

  it('a FIFO, a symlink and another user\'s file named like segments: no hang, none touched', () => {
    const tag = randomBytes(6).toString('hex');
    const fifo = `/dev/shm/framebench-t${tag}-fifo`;
    const link = `/dev/shm/framebench-t${tag}-link`;
    const foreign = `/dev/shm/framebench-t${tag}-foreign`;
    tmpFiles.push(fifo, link, foreign);
    expect(spawnSync('mkfifo', ['-m', '0600', fifo]).status).toBe(0);
    fs.symlinkSync('/etc/hostname', link);
    // a ring header with a dead creator pid, owned by nobody (65534): not ours to remove
    const head = Buffer.alloc(RING.HEADER_BYTES);
    head.writeUInt32LE(RING.MAGIC, RING.OFF_MAGIC);
    head.writeUInt32LE(spawnSync(process.execPath, ['-e', '0']).pid as number, RING.OFF_CONSUMER_PID);
    fs.writeFileSync(foreign, head, { mode: 0o600 });
    fs.chownSync(foreign, 65534, 65534);
    const r = cleanInChild(`framebench-t${tag}`);
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
    expect(r.removed).toEqual([]);
    for (const f of [fifo, link, foreign]) expect(fs.lstatSync(f)).toBeTruthy();
    expect(errCode(() => shmNative().unlink(`/framebench-t${tag}-fifo`))).toBe('EPERM');
  }, 30_000);

  it('a regular ring file of ours whose creator is dead is removed', () => {
    // Any `bench run` or default cleanStaleSegments() running at the same time in another test file
    // removes such a file too (that is its job); when one beat our child to it, try again with a new name.
    let last: { removed: string[]; name: string } = { removed: [], name: '' };
    for (let attempt = 0; attempt < 5; attempt++) {
      const tag = randomBytes(6).toString('hex');
      const stale = `/dev/shm/framebench-t${tag}-stale`;
      tmpFiles.push(stale);
      const head = Buffer.alloc(RING.HEADER_BYTES);
      head.writeUInt32LE(RING.MAGIC, RING.OFF_MAGIC);
      head.writeUInt32LE(spawnSync(process.execPath, ['-e', '0']).pid as number, RING.OFF_CONSUMER_PID);
      fs.writeFileSync(stale, head, { mode: 0o600 });
      const r = cleanInChild(`framebench-t${tag}`);
      expect(r.status).toBe(0);
      expect(fs.existsSync(stale)).toBe(false);
      last = { removed: r.removed, name: `/framebench-t${tag}-stale` };
      if (r.removed.length > 0) break;
    }
    expect(last.removed).toEqual([last.name]);
  }, 30_000);
});
