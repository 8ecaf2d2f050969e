import type * as net from 'node:net';
import type { FbError } from '../../core/errors';
import type { FrameHandler } from '../types';
import { FrameParser, type ParserCounters } from './parser';

/** What a socket's feed needs from the receiver that owns it. */
export interface FeedOwner {
  readonly maxFrameBytes: number;
  readonly counters: ParserCounters;
  handler(): FrameHandler | null;
  closing(): boolean;
  /** A parse error: reported once by the owner (the socket is destroyed by the feed). */
  fail(err: FbError): void;
  /** Counts a pause (a frame is held, so the socket stops reading). */
  paused(): void;
}

/**
 * One socket's bytes through a FrameParser: frames to the owner's handler, a parse error to
 * the owner (and the socket destroyed), the socket paused while a delivered frame is held and
 * resumed when it is released. Shared by the unix/tcp receiver and the pipe receiver.
 */
export class SocketFeed {
  paused = true;
  /** Chunks read so far (the receiver's idle deadline watches it move). */
  chunks = 0;
  readonly parser: FrameParser;

  constructor(readonly socket: net.Socket, owner: FeedOwner) {
    this.parser = new FrameParser(
      owner.maxFrameBytes,
      {
        frame: (view, release) => (owner.handler() as FrameHandler)(view, release),
        error: (err) => {
          if (owner.closing()) return;
          owner.fail(err);
          socket.destroy();
        },
        idle: () => {
          if (this.paused && owner.handler() && !owner.closing()) this.resume();
        },
      },
      owner.counters,
    );
    socket.on('data', (chunk: Buffer) => {
      this.chunks++;
      this.parser.push(chunk);
      if (this.parser.busy && !this.paused) {
        this.paused = true;
        owner.paused();
        socket.pause();
      }
    });
    socket.on('error', () => {
      /* ECONNRESET etc.: 'close' follows and decides */
    });
  }

  resume(): void {
    this.paused = false;
    this.socket.resume();
  }

  /** Resumes a feed paused before a handler existed (nothing held). */
  resumeIfIdle(): void {
    if (this.paused && !this.parser.busy) this.resume();
  }
}
