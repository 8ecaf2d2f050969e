/** What a ring peer process tells its parent, over the fork() IPC channel. */
export function tell(msg: Record<string, unknown>): void {
  if (process.send) process.send(msg);
}

/** An error's stable code, or a label that says it was not an FbError. */
export function codeOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : `NOT_FB: ${String(e)}`;
}
