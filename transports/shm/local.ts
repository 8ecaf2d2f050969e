/**
 * In-process shortcuts between the two ends of a ring. When a producer and its consumer live in
 * the same process (tests, single-process tools), neither may block the thread in a futex wait,
 * because the other side could only make progress on this same event loop. They poll instead,
 * and nudge each other through these registries.
 */
export interface LocalConsumer {
  /** A local producer committed a record. */
  notifyData(): void;
}

export interface LocalProducer {
  /** The local consumer released space or closed. */
  notifySpace(): void;
}

const consumers = new Map<string, LocalConsumer>();
const producers = new Map<string, Set<LocalProducer>>();

export function registerConsumer(name: string, c: LocalConsumer): void {
  consumers.set(name, c);
}

export function unregisterConsumer(name: string): void {
  consumers.delete(name);
}

export function localConsumer(name: string): LocalConsumer | undefined {
  return consumers.get(name);
}

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

export function localProducerCount(name: string): number {
  return producers.get(name)?.size ?? 0;
}

export function notifyLocalProducers(name: string): void {
  const set = producers.get(name);
  if (set) for (const p of set) p.notifySpace();
}

/** Milliseconds, monotonic, fractional. */
export function nowMs(): number {
  return performance.now();
}

export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
