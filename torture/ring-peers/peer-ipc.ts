/** What a ring peer process tells its parent, over the fork() IPC channel. */
export function tell(msg: Record<string, unknown>): void {
  if (process.send) process.send(msg);
}

/** An error's stable code, or a label that says it was not an FbError. */
export function codeOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : `NOT_FB: ${String(e)}`;
}

/** What the ring consumer fixture (consumer.ts, mode 'hostile') reports when its run ends. */
export interface HostileConsumerResult {
  /** 'alive' unless the consumer itself failed. */
  outcome: string;
  codes: string[];
  messages: string[];
  records: number;
  /** Well-formed records per producer id. */
  byProducer: Record<string, number>;
  /** byProducer when the first producer was cut off (FB_ERR_RING_CORRUPT), else null. */
  atFirstCut: Record<string, number> | null;
  sum: number;
  /** Longest the consumer's event loop went without turning, ms. */
  maxStallMs: number;
  yields: number;
  pads: number;
  skipped: number;
  cutOff: number;
}
