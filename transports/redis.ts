import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fbError, type FbError } from '../core/errors';
import type { ErrorHandler, FrameHandler, Receiver, ReceiverOptions, Sender, SenderOptions, StatsOf, StatsShape } from './types';
import { encodeHeader, RespConnection, RespError, RespLimitError, type RespValue } from './resp';
import { ErrorSink, frameOverLimit, frameTooLarge } from './common';
import { defineTransport } from './define';
import { CONSUMER_USER, creditKey, maxClientMemoryBytes, maxMemoryBytes, producerPassword, producerUser, serverConfig, streamKey } from './redis-acl';

/**
 * A real redis-server, started by the receiver for this run on a Unix socket in the run
 * directory (no TCP port, no persistence), frames as Redis Stream entries (see
 * docs/transports.md, "redis", for why Streams and not pub/sub).
 *
 * Keys (prefix unique per receiver): stream `<k>:s:<producer>` and credit list `<k>:c:<producer>`.
 * - Producer: `XADD <stream> MAXLEN <WINDOW> * f <frame>` (header and frame written as separate
 *   buffers), at most WINDOW frames unread: each XADD spends a credit; without one it waits on
 *   `BLPOP <credits>` (policy 'drop': `LPOP`, nil = dropped).
 * - Consumer: `XREAD BLOCK 0 COUNT 1 STREAMS <every stream> <last ids>`; after release()
 *   `XDEL` the entry and `RPUSH` a credit, pipelined with the next XREAD. MAXLEN = WINDOW never
 *   trims an unread entry and bounds the server's memory to WINDOW frames per producer.
 * Server lifetime: redis-server runs under a small sh watchdog whose stdin is a pipe from the
 * consumer: when that pipe closes (close(), an error, or the consumer killed with SIGKILL) the
 * watchdog SIGKILLs the server. Its socket file is removed by close() and with the run dir.
 * The server's CPU (all its threads) is measured as a third side (Receiver.serverPid).
 * Access (redis-acl.ts): the default user is off; the consumer logs in as its own user (the
 * commands it uses, on this receiver's keys; its password never leaves the consumer), each
 * producer as `fbp<i>` (XADD, LPOP, BLPOP, PING on its own stream and credit list only).
 * `maxmemory` with `noeviction` bounds the server: a write beyond it is refused (OOM), nothing
 * is evicted. The config goes in a 0600 file in the run directory, never on a command line.
 */
const PREFIX = 'redis:';
const WINDOW = 2;
let seq = 0;

const REDIS_RECEIVER_STATS = { framesReceived: 'number', bytesReceived: 'number', bytesAssembled: 'number', serverPid: 'number' } as const satisfies StatsShape;
const REDIS_SENDER_STATS = { framesSent: 'number', framesDropped: 'number', creditWaits: 'number' } as const satisfies StatsShape;

/** What an address names: `redis:<key prefix>|<producers>|<producers' secret>|<server socket>`. */
function parseAddress(address: string): { key: string; producers: number; secret: string; socketPath: string } {
  if (!address.startsWith(PREFIX)) throw fbError('FB_ERR_INTERNAL', `not a redis transport address: '${address}'`);
  const [key, producers, secret, ...rest] = address.slice(PREFIX.length).split('|');
  return { key, producers: Math.max(1, Number(producers)), secret, socketPath: rest.join('|') };
}


const WATCHDOG = [
  'exec 3<&0',
  'redis-server "$@" </dev/null >&2 &',
  'pid=$!',
  'echo "$pid"',
  '(cat <&3 >/dev/null; kill -KILL "$pid" 2>/dev/null) &',
  'wait "$pid"',
].join('\n');

function findServer(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** The server's major version (`redis-server --version`: `v=7.0.15`), or null if it does not say. */
function serverMajor(bin: string): number | null {
  try {
    const m = /\bv=(\d+)\./.exec(execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 }));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Redis 7 (ACL users, maxmemory-clients, CLIENT NO-EVICT) or why not. */
function serverProblem(): string | null {
  const bin = findServer();
  if (!bin) return 'redis-server is not installed (install it with: apt-get install -y redis-server)';
  const major = serverMajor(bin);
  if (major === null || major < 7) return `redis-server 7 or newer is needed (ACL users, maxmemory-clients); ${bin} is ${major === null ? 'of unknown version' : `version ${major}`}`;
  return null;
}

const asText = (v: RespValue): string => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v));

class RedisReceiver implements Receiver {
  readonly address: string;
  readonly serverPid: number;
  private readonly sink = new ErrorSink();
  private readonly lastIds: string[];
  private readonly streams: string[];
  private handler: FrameHandler | null = null;
  private closing: Promise<void> | null = null;
  private framesReceived = 0;
  private bytesReceived = 0;

  constructor(
    private readonly opts: ReceiverOptions,
    private readonly server: ChildProcess,
    pid: number,
    private readonly socketPath: string,
    private readonly key: string,
    private readonly conn: RespConnection,
    secret: string,
    private readonly configFile: string,
  ) {
    this.serverPid = pid;
    this.address = `${PREFIX}${key}|${opts.producers}|${secret}|${socketPath}`;
    this.streams = Array.from({ length: Math.max(1, opts.producers) }, (_, i) => streamKey(key, i));
    this.lastIds = this.streams.map(() => '0');
    conn.onClose = (err) => {
      if (this.closing) return;
      if (err instanceof RespLimitError) this.sink.emit(fbError('FB_ERR_PROTOCOL', `redis: ${err.message}${this.whose(err.within)}`));
      else this.sink.emit(fbError('FB_ERR_PEER_GONE', 'redis: the connection to the server closed'));
    };
    server.on('exit', (code, signal) => {
      if (!this.closing) this.sink.emit(fbError('FB_ERR_PEER_GONE', `redis-server exited (${signal ?? code})`));
    });
  }

  start(handler: FrameHandler): void {
    if (this.handler) return;
    this.handler = handler;
    this.next();
  }

  private next(): void {
    if (this.closing) return;
    this.conn
      .command(['XREAD', 'COUNT', '1', 'BLOCK', '0', 'STREAMS', ...this.streams, ...this.lastIds])
      .then((v) => this.onRead(v), (e) => this.failed(e));
  }

  /** Which producer's stream a refused reply was read from (the stream name opens an XREAD reply). */
  private whose(within: string[]): string {
    const at = within.findIndex((w) => this.streams.includes(w));
    if (at < 0) return '';
    const id = within[at + 1];
    return ` (in producer ${this.streams.indexOf(within[at])}'s stream ${within[at]}${id ? `, entry ${id}` : ''})`;
  }

  private failed(e: unknown): void {
    if (this.closing || this.conn.closed) return; // a closed connection was reported by onClose
    const msg = e instanceof RespError || e instanceof Error ? e.message : String(e);
    const code = /exceeds the limit/.test(msg) ? 'FB_ERR_PROTOCOL' : 'FB_ERR_PEER_GONE';
    this.sink.emit(fbError(code, `redis: ${msg}`));
  }

  private onRead(v: RespValue): void {
    if (v instanceof RespError) return this.failed(v);
    // [[stream, [[id, [field, value]]]], ...]: COUNT 1 per stream
    const entries: Array<{ stream: number; id: string; frame: Buffer | null }> = [];
    for (const s of (v as RespValue[] | null) ?? []) {
      const [name, items] = s as [RespValue, RespValue[]];
      const stream = this.streams.indexOf(asText(name));
      for (const item of items) {
        const [id, fields] = item as [RespValue, RespValue[]];
        // a frame is an entry of one field, 'f'; anything else was not written by a sender
        const isFrame = Array.isArray(fields) && fields.length === 2 && asText(fields[0]) === 'f' && Buffer.isBuffer(fields[1]);
        entries.push({ stream, id: asText(id), frame: isFrame ? (fields[1] as Buffer) : null });
      }
    }
    const deliver = (i: number): void => {
      if (this.closing) return;
      if (i === entries.length) return this.next();
      const e = entries[i];
      this.lastIds[e.stream] = e.id;
      const done = (): void => {
        const credits = creditKey(this.key, e.stream);
        void this.conn.command(['XDEL', this.streams[e.stream], e.id]).catch(() => undefined);
        void this.conn.command(['RPUSH', credits, '1']).catch(() => undefined);
        deliver(i + 1);
      };
      if (e.frame === null) {
        this.sink.emit(fbError('FB_ERR_PROTOCOL', `redis: stream entry ${e.id} is not a frame (one field 'f' expected)`));
        return done();
      }
      if (e.frame.byteLength > this.opts.maxFrameBytes) {
        this.sink.emit(frameOverLimit(e.frame.byteLength, this.opts.maxFrameBytes));
        return done();
      }
      this.framesReceived++;
      this.bytesReceived += e.frame.byteLength;
      let released = false;
      (this.handler as FrameHandler)(e.frame, () => {
        if (released) return;
        released = true;
        done();
      });
    };
    deliver(0);
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof REDIS_RECEIVER_STATS> {
    return { framesReceived: this.framesReceived, bytesReceived: this.bytesReceived, bytesAssembled: this.conn.parser.bytesAssembled, serverPid: this.serverPid };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.conn.close();
        await stopServer(this.server);
        fs.rmSync(this.socketPath, { force: true });
        fs.rmSync(this.configFile, { force: true });
      })();
    }
    return this.closing;
  }
}

/** Closes the watchdog's stdin (it SIGKILLs the server) and waits for the wrapper to exit. */
function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => server.kill('SIGKILL'), 3000);
    server.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    server.stdin?.end();
  });
}

class RedisSender implements Sender {
  private readonly sink = new ErrorSink();
  private chain: Promise<unknown> = Promise.resolve();
  private credits = WINDOW;
  private gone: FbError | null = null;
  private closed = false;
  private framesSent = 0;
  private framesDropped = 0;
  private creditWaits = 0;

  constructor(private readonly conn: RespConnection, private readonly stream: string, private readonly creditList: string, private readonly opts: SenderOptions) {
    conn.onClose = () => this.peerGone('the connection to redis-server closed (the consumer stopped it)');
  }

  private peerGone(why: string): void {
    if (this.closed || this.gone) return;
    this.gone = fbError('FB_ERR_PEER_GONE', `redis: ${why}`);
    this.sink.emit(this.gone);
  }

  private asError(e: unknown): FbError {
    if (this.gone) return this.gone;
    const msg = e instanceof RespError || e instanceof Error ? e.message : String(e);
    if (/bulk|too (big|large)|Protocol error/i.test(msg)) return fbError('FB_ERR_PROTOCOL', `redis refused the frame: ${msg}`);
    return fbError('FB_ERR_PEER_GONE', `redis: ${msg}`);
  }

  send(frame: Uint8Array): Promise<boolean> {
    if (this.gone) return Promise.reject(this.gone);
    if (this.closed) return Promise.reject(fbError('FB_ERR_INTERNAL', 'redis: send after close'));
    if (frame.byteLength > this.opts.maxFrameBytes) {
      return Promise.reject(frameTooLarge(frame.byteLength, this.opts.maxFrameBytes));
    }
    const p = this.chain.then(async () => {
      if (this.gone) throw this.gone;
      try {
        if (this.credits === 0) {
          if (this.opts.policy === 'drop') {
            const got = await this.conn.command(['LPOP', this.creditList]);
            if (got === null) {
              this.framesDropped++;
              return false;
            }
          } else {
            this.creditWaits++;
            const got = await this.conn.command(['BLPOP', this.creditList, '0']);
            if (got instanceof RespError) throw got;
          }
          this.credits++;
        }
        this.credits--;
        let writeErr: Error | null | undefined;
        const written = new Promise<void>((resolve) => {
          void this.conn
            .command(['XADD', this.stream, 'MAXLEN', String(WINDOW), '*', 'f'], frame, (err) => {
              writeErr = err;
              resolve();
            })
            .then((reply) => {
              if (reply instanceof RespError) {
                const err = this.asError(reply);
                if (!this.gone) this.sink.emit(err);
              }
            }, () => undefined);
        });
        await written; // the frame's memory may be reused once written to the socket
        if (writeErr) throw writeErr;
      } catch (e) {
        throw this.asError(e);
      }
      this.framesSent++;
      return true;
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof REDIS_SENDER_STATS> {
    return { framesSent: this.framesSent, framesDropped: this.framesDropped, creditWaits: this.creditWaits };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    if (!this.conn.closed) await this.conn.command(['PING']).catch(() => undefined); // every XADD answered
    this.conn.close();
  }
}

export const redisTransport = defineTransport({
  name: 'redis',
  description: 'a redis-server started for the run on a Unix socket; frames as Stream entries (XADD / XREAD BLOCK, MAXLEN-trimmed, credit lists)',
  capabilities: { needsServer: true },
  maxFrameBytes: 256 * 1024 * 1024,
  options: [],
  stats: { receiver: REDIS_RECEIVER_STATS, sender: REDIS_SENDER_STATS },
  rawInput: {
    grammar: 'resp',
    target: (address) => {
      const a = parseAddress(address);
      return {
        kind: 'socket',
        connect: { path: a.socketPath },
        streams: Array.from({ length: a.producers }, (_, i) => streamKey(a.key, i)),
        preamble: encodeHeader(['AUTH', producerUser(0), producerPassword(a.secret, 0)]),
      };
    },
  },
  unavailableReason: serverProblem,

  async createReceiver(opts) {
    const problem = serverProblem();
    if (problem) throw fbError('FB_ERR_TRANSPORT_UNAVAILABLE', problem);
    const id = `${process.pid}-${++seq}-${randomBytes(3).toString('hex')}`;
    const socketPath = path.resolve(opts.runDir, `fb-redis-${id}.sock`);
    // the server refuses a bulk above this; the receiver parses anything the server accepted,
    // so an entry above maxFrameBytes is refused by the receiver (FB_ERR_PROTOCOL), not its link
    const maxBulk = Math.max(1024 * 1024, opts.maxFrameBytes + 1024);
    const key = `fb:${id}`;
    const secret = randomBytes(16).toString('hex');
    const consumerPassword = randomBytes(16).toString('hex');
    const configFile = path.resolve(opts.runDir, `fb-redis-${id}.conf`);
    const config = serverConfig({
      key,
      producers: opts.producers,
      secret,
      consumerPassword,
      maxMemory: maxMemoryBytes(opts.maxFrameBytes, opts.producers, WINDOW),
      maxClientMemory: maxClientMemoryBytes(opts.maxFrameBytes, opts.producers),
    });
    fs.writeFileSync(configFile, config, { mode: 0o600, flag: 'wx' });
    const args = [
      configFile,
      '--port', '0', '--unixsocket', socketPath, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--dir', opts.runDir, '--loglevel', 'warning', '--databases', '1',
      '--proto-max-bulk-len', String(maxBulk),
    ];
    const server = spawn('sh', ['-c', WATCHDOG, 'fb-redis-watchdog', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.serverEnv },
    });
    let err = '';
    server.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-1000)));
    const fail = async (why: string): Promise<never> => {
      await stopServer(server);
      fs.rmSync(socketPath, { force: true });
      fs.rmSync(configFile, { force: true });
      throw fbError('FB_ERR_TRANSPORT_UNAVAILABLE', `redis-server did not start: ${why}${err.trim() ? `: ${err.trim().split('\n').slice(-1)[0]}` : ''}`);
    };
    const pid = await new Promise<number>((resolve) => {
      let out = '';
      server.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      server.once('exit', () => resolve(-1));
    });
    if (!(pid > 0)) return fail('the watchdog exited');
    const deadline = Date.now() + 5000;
    let conn: RespConnection | null = null;
    while (!conn) {
      if (server.exitCode !== null) return fail('it exited');
      try {
        conn = await RespConnection.open(socketPath, maxBulk);
      } catch {
        if (Date.now() > deadline) return fail('no socket within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const auth = await conn.command(['AUTH', CONSUMER_USER, consumerPassword]).catch((e: Error) => new RespError(e.message));
    const exempt = auth instanceof RespError ? auth : await conn.command(['CLIENT', 'NO-EVICT', 'on']).catch((e: Error) => new RespError(e.message));
    const pong = exempt instanceof RespError ? exempt : await conn.command(['PING']).catch((e: Error) => new RespError(e.message));
    if (pong instanceof RespError) {
      conn.close();
      return fail(pong.message);
    }
    return new RedisReceiver(opts, server, pid, socketPath, key, conn, secret, configFile);
  },

  async openSender(address, opts) {
    const { key, producers, secret, socketPath } = parseAddress(address);
    const p = opts.producerId % producers;
    let conn: RespConnection;
    try {
      conn = await RespConnection.open(socketPath, 64 * 1024);
    } catch (e) {
      throw fbError('FB_ERR_PEER_GONE', `redis: no server at ${socketPath}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    const auth = await conn.command(['AUTH', producerUser(p), producerPassword(secret, p)]).catch((e: Error) => new RespError(e.message));
    if (auth instanceof RespError) {
      conn.close();
      throw fbError('FB_ERR_PEER_GONE', `redis: the server refused producer ${p}'s login: ${auth.message}`);
    }
    return new RedisSender(conn, streamKey(key, p), creditKey(key, p), opts);
  },
});
