import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fbError } from '../core/errors';
import type { ErrorHandler, FrameHandler, Receiver, ReceiverOptions, StatsOf, StatsShape } from './types';
import { DEFAULT_MAX_FRAME_BYTES, ErrorSink } from './common';
import { defineTransport } from './define';
import { SocketFeed, type FeedOwner } from './stream/feed';
import { newParserCounters, PARSER_STATS } from './stream/parser';
import { STREAM_SENDER_STATS, StreamSender } from './stream/socket';

/**
 * Named FIFOs (mkfifo) in the run directory, one per producer (a shared FIFO would
 * interleave frames once a frame exceeds PIPE_BUF), with the same length-prefixed framing
 * as `unix` (stream/parser.ts). Address: `pipe:` + the FIFO paths joined by '|'; producer
 * i writes FIFO i (modulo their count).
 *
 * The receiver opens every FIFO O_RDONLY|O_NONBLOCK at creation (no writer needed; Linux
 * reports no hang-up until a writer has come and gone) and reads it through a net.Socket on
 * the fd (a libuv pipe handle). The sender opens its FIFO O_WRONLY|O_NONBLOCK: ENXIO means
 * no reader (FB_ERR_PEER_GONE); once the reader is gone a write fails with EPIPE.
 * The FIFOs are unlinked on close(); the run directory is removed by the coordinator on
 * every path, so a killed consumer leaves nothing behind either.
 */
const PREFIX = 'pipe:';
const SEP = '|';
let seq = 0;

const PIPE_RECEIVER_STATS = { ...PARSER_STATS, fifos: 'number', pauses: 'number', assemblyBytes: 'number' } as const satisfies StatsShape;

function fifoFiles(address: string): string[] {
  if (!address.startsWith(PREFIX) || address.length === PREFIX.length) {
    throw fbError('FB_ERR_INTERNAL', `not a pipe transport address: '${address}'`);
  }
  return address.slice(PREFIX.length).split(SEP);
}

function mkfifo(file: string): void {
  try {
    execFileSync('mkfifo', ['-m', '600', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw fbError('FB_ERR_TRANSPORT_UNAVAILABLE', `mkfifo ${file} failed: ${(err.stderr?.toString() || err.message).trim()}`);
  }
}

interface Fifo {
  file: string;
  feed: SocketFeed;
}

class PipeReceiver implements Receiver {
  readonly address: string;
  private readonly fifos: Fifo[] = [];
  private readonly sink = new ErrorSink();
  private readonly counters = newParserCounters();
  private handler: FrameHandler | null = null;
  private closing: Promise<void> | null = null;
  private pauses = 0;
  private readonly feedOwner: FeedOwner;

  constructor(opts: ReceiverOptions) {
    this.feedOwner = {
      maxFrameBytes: opts.maxFrameBytes,
      counters: this.counters,
      handler: () => this.handler,
      closing: () => this.closing !== null,
      fail: (err) => this.sink.emit(err),
      paused: () => this.pauses++,
    };
    const base = path.resolve(opts.runDir, `fb-pipe-${process.pid}-${++seq}-${randomBytes(4).toString('hex')}`);
    const files: string[] = [];
    try {
      for (let i = 0; i < Math.max(1, opts.producers); i++) {
        const file = `${base}-${i}.fifo`;
        mkfifo(file);
        files.push(file);
        this.fifos.push(this.openFifo(file));
      }
    } catch (e) {
      for (const f of this.fifos) f.feed.socket.destroy();
      for (const f of files) fs.rmSync(f, { force: true });
      throw e;
    }
    this.address = PREFIX + files.join(SEP);
  }

  private openFifo(file: string): Fifo {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const socket = new net.Socket({ fd, readable: true, writable: false });
    socket.pause();
    const fifo: Fifo = { file, feed: new SocketFeed(socket, this.feedOwner) };
    socket.on('close', () => fifo.feed.parser.end());
    return fifo;
  }

  start(handler: FrameHandler): void {
    this.handler = handler;
    for (const f of this.fifos) f.feed.resumeIfIdle();
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof PIPE_RECEIVER_STATS> {
    let assembly = 0;
    for (const f of this.fifos) assembly += f.feed.parser.assemblyBytes;
    return { ...this.counters, fifos: this.fifos.length, pauses: this.pauses, assemblyBytes: assembly };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await Promise.all(
          this.fifos.map(
            (f) =>
              new Promise<void>((resolve) => {
                if (f.feed.socket.destroyed) return resolve();
                f.feed.socket.once('close', () => resolve());
                f.feed.socket.destroy();
              }),
          ),
        );
        for (const f of this.fifos) fs.rmSync(f.file, { force: true });
      })();
    }
    return this.closing;
  }
}

export const pipeTransport = defineTransport({
  name: 'pipe',
  description: 'named FIFOs (mkfifo) in the run directory, one per producer; u32 length + magic prefix like unix',
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  options: [],
  stats: { receiver: PIPE_RECEIVER_STATS, sender: STREAM_SENDER_STATS },
  rawInput: { grammar: 'fbs1', target: (address) => ({ kind: 'fifo', files: fifoFiles(address) }) },
  unavailableReason() {
    if (process.platform !== 'linux') return 'named-pipe semantics used here (O_NONBLOCK open, no early hang-up) are Linux-only';
    try {
      execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
      return null;
    } catch {
      return 'mkfifo (coreutils) is not on PATH';
    }
  },

  async createReceiver(opts) {
    return new PipeReceiver(opts);
  },

  async openSender(address, opts) {
    const files = fifoFiles(address);
    const file = files[opts.producerId % files.length];
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      throw fbError('FB_ERR_PEER_GONE', `no reader on FIFO ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    const socket = new net.Socket({ fd, readable: false, writable: true });
    return StreamSender.wrap(socket, opts, `pipe ${path.basename(file)}`);
  },
});
