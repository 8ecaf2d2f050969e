import type { Socket } from 'node:net';

/**
 * A receiver's two deadlines (transport options `handshakeTimeoutMs`, `frameIdleTimeoutMs`, see
 * common.ts), kept by ONE timer per receiver that counts ticks instead of reading a clock: a
 * deadline fires after so many ticks without progress. A consumer stopped (SIGSTOP, a long GC)
 * misses ticks instead of finding every deadline passed when it wakes up, so its own stop never
 * counts against a peer. Used by the stream receivers (stream/socket.ts) and ws.ts.
 */
export interface Deadlines {
  handshakeTimeoutMs: number;
  frameIdleTimeoutMs: number;
}

/** A deadline spans at least this many ticks. */
export const TICKS_PER_DEADLINE = 4;

/** One connection's frame-idle deadline: silent ticks while it is mid-frame and being read. */
export class IdleWatch {
  private seen = 0;
  private ticks = 0;

  /**
   * One tick. `progress`: a counter that moves with every read (chunks); `counting`: mid-frame and
   * the receiver is reading (not holding the socket paused). True once `limit` ticks passed silent.
   */
  tick(progress: number, counting: boolean, limit: number): boolean {
    if (!counting || progress !== this.seen) {
      this.seen = progress;
      this.ticks = 0;
      return false;
    }
    return ++this.ticks >= limit;
  }
}

/** The timer, and the connections whose handshake is under way (they count against the cap). */
export class DeadlineClock {
  readonly tickMs: number;
  /** Ticks a handshake may take; ticks a frame may stay silent. */
  readonly handshakeTicks: number;
  readonly idleTicks: number;
  private readonly handshaking = new Map<Socket, number>();
  private readonly timer: NodeJS.Timeout;

  /** `expired(socket)`: a handshake ran out of time (it is forgotten; the owner closes and counts it). `tick()`: the owner's idle checks. */
  constructor(d: Deadlines, private readonly expired: (socket: Socket) => void, private readonly onTick: () => void) {
    this.tickMs = Math.max(1, Math.min(1000, Math.floor(Math.min(d.handshakeTimeoutMs, d.frameIdleTimeoutMs) / TICKS_PER_DEADLINE)));
    const ticksFor = (ms: number): number => Math.max(TICKS_PER_DEADLINE, Math.ceil(ms / this.tickMs));
    this.handshakeTicks = ticksFor(d.handshakeTimeoutMs);
    this.idleTicks = ticksFor(d.frameIdleTimeoutMs);
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** Connections whose handshake is under way. */
  get handshakes(): number {
    return this.handshaking.size;
  }

  /** Starts `socket`'s handshake deadline (forgotten when it closes). */
  startHandshake(socket: Socket): void {
    this.handshaking.set(socket, 0);
    socket.once('close', () => this.handshaking.delete(socket));
  }

  /** Ends it; false when it had expired (or closed) already. */
  endHandshake(socket: Socket): boolean {
    return this.handshaking.delete(socket);
  }

  private tick(): void {
    for (const [socket, ticks] of this.handshaking) {
      if (ticks + 1 < this.handshakeTicks) {
        this.handshaking.set(socket, ticks + 1);
        continue;
      }
      this.handshaking.delete(socket);
      this.expired(socket);
    }
    this.onTick();
  }

  /** Stops the timer and closes every handshake under way. */
  stop(): void {
    clearInterval(this.timer);
    for (const s of this.handshaking.keys()) s.destroy();
    this.handshaking.clear();
  }
}
