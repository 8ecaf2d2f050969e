import { RING, lineOffset, recordSpan, i64 } from './layout';
import { IDX, type Arrival, type RegionViews } from './segment';
import { nowMs } from './local';

/** A record the consumer has walked past: delivered, a pad, or skipped. */
export interface Entry {
  region: RegionReader;
  start: number;
  end: number;
  /** Payload length as validated by scan() (never re-read from shared memory). */
  len: number;
  released: boolean;
}

/** The scan budget of one event-loop turn, shared by every region (records and pads each cost a step). */
export interface ScanBudget {
  steps: number;
}

/**
 * The consumer's reader of one producer's region: its private walk position, the entries handed
 * out and not yet released, and the claim being timed. Nothing in the region is trusted: every
 * cursor, seal and length is checked; a violation is recorded in `violation` (the consumer then
 * cuts the producer off), never thrown, never read past.
 */
export class RegionReader {
  readonly index: number;
  readonly pid: number;
  readonly uid: number;
  readonly v: RegionViews;
  /** Word index of this producer's read cursor, and byte offset of its spaceSeq, in the consumer page. */
  readonly readIdx: number;
  readonly spaceSeqOff: number;
  /** Absolute position of the next record to look at. */
  next = 0;
  /** Released prefix. */
  read = 0;
  /** What the page's read cursor says (the consumer publishes `read` there). */
  published = 0;
  /** Views handed out and not yet released. */
  held = 0;
  /** Position whose claim (reserved or unsealed, not committed) is being timed, and since when (-1: none). */
  claimAt = -1;
  claimSince = -1;
  /** Its connection closed: deliver what is committed, then retire it. */
  leaving = false;
  /** Set by scan() when a leaving producer has nothing more to deliver (leftClaim: it left one unfinished). */
  ended: { leftClaim: boolean } | null = null;
  /** Set by scan(): what the producer got wrong. */
  violation: string | null = null;
  /** Nothing more will be read (ended, cut off or retired). */
  done = false;
  /** Unmapped and its index given back. */
  retired = false;
  private fifo: Entry[] = [];
  private fifoHead = 0;

  constructor(a: Arrival, private readonly capacity: number, private readonly counters: { pads: number }) {
    this.index = a.index;
    this.pid = a.pid;
    this.uid = a.uid;
    this.v = a.region;
    this.readIdx = i64(lineOffset(a.index, RING.LINE_READ));
    this.spaceSeqOff = lineOffset(a.index, RING.LINE_SPACE_SEQ);
  }

  /** State of the record at absolute position `pos` if its seal matches the position, else 0. */
  sealState(pos: number): number {
    const base = RING.HEADER_BYTES + (pos % this.capacity);
    const diff = Atomics.load(this.v.u64, base / 8) - (BigInt(pos / RING.RECORD_ALIGN) << 2n);
    return diff >= 1n && diff <= 3n ? Number(diff) : 0;
  }

  /**
   * Worth waking its producer if it sleeps for space: half the region is free again, or nothing more
   * of it is ready to read (the consumer may sleep next). A producer blocked on a full ring is then
   * woken once per half ring, not once per record. Reads the producer's reserve cursor: a lie changes
   * only when that producer is woken (it also wakes on its own wait's timeout).
   */
  spaceWorthWaking(): boolean {
    return Number(Atomics.load(this.v.u64, IDX.reserve)) - this.read <= this.capacity / 2 || !this.ready();
  }

  /** Is there something (a sealed record, or the end of a leaving producer) for scan() to judge now? */
  ready(): boolean {
    if (this.done) return false;
    if (this.leaving) return true;
    if (Atomics.load(this.v.u64, IDX.reserve) === BigInt(this.next)) return false;
    const st = this.sealState(this.next);
    return st !== 0 && st !== RING.REC_RESERVED;
  }

  /**
   * Validates the record at `next` and returns it (committed) or null: nothing ready, the budget
   * spent, or a verdict (`violation`, `ended`). Pads are consumed here.
   */
  scan(budget: ScanBudget): Entry | null {
    for (;;) {
      if (this.done || this.violation || this.ended || budget.steps <= 0) return null;
      budget.steps--;
      const reserveBig = Atomics.load(this.v.u64, IDX.reserve);
      const pos = this.next;
      if (reserveBig === BigInt(pos)) {
        this.claimSince = -1;
        if (this.leaving) this.ended = { leftClaim: false };
        return null;
      }
      const reserve = Number(reserveBig);
      if (!(reserve > pos && reserve <= this.read + this.capacity) || reserve % RING.RECORD_ALIGN !== 0) {
        this.violation = `reserve cursor ${reserveBig} outside [${pos}, ${this.read + this.capacity}]`;
        return null;
      }
      const state = this.sealState(pos);
      const off = pos % this.capacity;
      if (state === 0 || state === RING.REC_RESERVED) {
        // claimed, not committed; a leaving producer will never commit it (nor anything after it)
        if (this.leaving) this.ended = { leftClaim: true };
        else if (this.claimAt !== pos || this.claimSince < 0) {
          this.claimAt = pos;
          this.claimSince = nowMs();
        }
        return null;
      }
      const len = this.v.dv.getUint32(RING.HEADER_BYTES + off + RING.REC_LENGTH, true);
      const span = recordSpan(len);
      if (span > this.capacity - off || pos + span > reserve) {
        this.violation = `record at ${pos} claims ${len} B (span ${span}, ${this.capacity - off} B to the end, reserve ${reserve})`;
        return null;
      }
      this.claimSince = -1;
      const e: Entry = { region: this, start: pos, end: pos + span, len, released: false };
      this.next = pos + span;
      this.fifo.push(e);
      if (state === RING.REC_PAD) {
        this.counters.pads++;
        this.release(e, false);
        continue;
      }
      return e;
    }
  }

  /** How long the claim at `next` has stood, ms (0: none). */
  claimAge(now: number): number {
    return this.claimSince >= 0 && this.claimAt === this.next ? now - this.claimSince : 0;
  }

  /** Marks `e` released; true if the released prefix (`read`) moved. */
  release(e: Entry, counted = true): boolean {
    if (e.released) return false;
    e.released = true;
    if (this.retired) return false;
    if (counted) this.held--;
    const fifo = this.fifo;
    let moved = false;
    while (this.fifoHead < fifo.length && fifo[this.fifoHead].released) {
      this.read = fifo[this.fifoHead++].end;
      moved = true;
    }
    if (this.fifoHead > 1024 && this.fifoHead * 2 > fifo.length) {
      this.fifo = fifo.slice(this.fifoHead);
      this.fifoHead = 0;
    }
    return moved;
  }

  /** Forgets every entry (the region is being unmapped). */
  forget(): void {
    this.fifo = [];
    this.fifoHead = 0;
  }

  /** Drops this producer counts in its region (its own word; clamped). */
  drops(): number {
    if (this.retired) return 0;
    const d = Number(Atomics.load(this.v.u64, IDX.drops));
    return Number.isSafeInteger(d) && d < 2 ** 40 ? d : 0;
  }

  /** The id the producer gives itself (a label). */
  producerId(): string {
    return this.retired ? '?' : String(Atomics.load(this.v.i32, IDX.producerId) >>> 0);
  }

  /** Did it mark itself closed before leaving (a clean close)? */
  closedCleanly(): boolean {
    return !this.retired && Atomics.load(this.v.i32, IDX.producerState) === RING.PRODUCER_CLOSED;
  }
}
