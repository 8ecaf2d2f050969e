/**
 * In-process shortcut between the two ends of a ring. When a producer and its consumer live in
 * the same process (tests, single-process tools), the consumer frees space on this same event
 * loop, so a producer waiting for space polls briefly and is nudged through this registry. (The
 * consumer needs no shortcut: its waiter thread sees a local producer's commits like any other.)
 */
export interface LocalProducer {
  /** The local consumer released space or closed. */
  notifySpace(): void;
}

const producers = new Map<string, Set<LocalProducer>>();

export function registerProducer(name: string, p: LocalProducer): void {
  let set = producers.get(name);
  if (!set) producers.set(name, (set = new Set()));
  set.add(p);
}

export function unregisterProducer(name: string, p: LocalProducer): void {
  const set = producers.get(name);
  if (!set) return;
  set.delete(p);
  if (set.size === 0) producers.delete(name);
}

export function notifyLocalProducers(name: string): void {
  const set = producers.get(name);
  if (set) for (const p of set) p.notifySpace();
}

/** Milliseconds, monotonic, fractional. */
export function nowMs(): number {
  return performance.now();
}
