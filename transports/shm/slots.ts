import { RING, slotOffset, i32, i64 } from './layout';
import type { OwnSegment } from './segment';
import { nowMs } from './local';

/**
 * The consumer's view of the producer slot table: who is attached from another process, whose
 * reservations will never be committed, who died (each death reported once), and drop counts.
 * Slot contents are hints written by other processes: they steer waiting and skipping, never
 * an offset or a length.
 */
export class ProducerSlots {
  private readonly dead = new Set<number>();
  private remote = false;
  private remoteCheckedAt = -Infinity;

  constructor(private readonly seg: OwnSegment) {}

  private state(s: number): number {
    return Atomics.load(this.seg.i32, i32(slotOffset(s, RING.SLOT_STATE)));
  }

  private pid(s: number): number {
    return Atomics.load(this.seg.i32, i32(slotOffset(s, RING.SLOT_PID)));
  }

  /** Is a producer of another process attached? (cached for 20 ms) */
  hasRemote(): boolean {
    const now = nowMs();
    if (now - this.remoteCheckedAt < 20) return this.remote;
    this.remoteCheckedAt = now;
    this.remote = false;
    for (let s = 0; s < RING.MAX_PRODUCERS && !this.remote; s++) {
      const pid = this.pid(s);
      this.remote = this.state(s) === RING.SLOT_ACTIVE && pid !== 0 && pid !== process.pid;
    }
    return this.remote;
  }

  /** A record reserved by `slot` will never be committed: its producer died or left. */
  ownerGone(slot: number): boolean {
    if (slot >= RING.MAX_PRODUCERS) return true; // no such producer: nobody will commit it
    return this.dead.has(slot) || this.state(slot) !== RING.SLOT_ACTIVE;
  }

  /** Has any producer been found dead? */
  anyDead(): boolean {
    return this.dead.size > 0;
  }

  /**
   * Checks active slots against the processes connected to the ring's socket (SO_PEERCRED: the
   * kernel's word, not the slot's); a slot whose pid holds no connection (it died, closed, or
   * wrote a pid that is not its own) is marked DEAD, never reused, and returned once.
   */
  reap(): { slot: number; pid: number }[] {
    const live = new Set(this.seg.peers().live);
    const out: { slot: number; pid: number }[] = [];
    for (let s = 0; s < RING.MAX_PRODUCERS; s++) {
      if (this.dead.has(s) || this.state(s) !== RING.SLOT_ACTIVE) continue;
      const pid = this.pid(s);
      if (pid === 0 || pid === process.pid || live.has(pid)) continue;
      this.dead.add(s);
      Atomics.store(this.seg.i32, i32(slotOffset(s, RING.SLOT_STATE)), RING.SLOT_DEAD);
      out.push({ slot: s, pid });
    }
    return out;
  }

  /** Drops counted by producers in their slots (a slot keeps its count until reused). */
  drops(): number {
    let sum = 0n;
    for (let s = 0; s < RING.MAX_PRODUCERS; s++) sum += Atomics.load(this.seg.u64, i64(slotOffset(s, RING.SLOT_DROPS)));
    return Number(sum);
  }
}
