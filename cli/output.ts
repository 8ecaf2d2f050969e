/**
 * Human output goes to stderr; stdout is kept for data (--json, list, report). The live progress
 * line only on a TTY; `--quiet` silences human text and progress, never errors.
 */
export const isTTY = Boolean(process.stderr.isTTY);

let quiet = false;

export function setQuiet(q: boolean): void {
  quiet = q;
}

export function isQuiet(): boolean {
  return quiet;
}

/** A human line on stderr (silenced by --quiet). */
export function info(line: string): void {
  if (quiet) return;
  clearProgress();
  process.stderr.write(line + '\n');
}

/** An error line on stderr: always printed. */
export function errorLine(line: string): void {
  clearProgress();
  process.stderr.write(line + '\n');
}

let progressShown = false;
/** Rewrites the one live line (TTY only). */
export function progress(line: string): void {
  if (!isTTY || quiet) return;
  const cols = process.stderr.columns || 100;
  process.stderr.write('\r\x1b[2K' + line.slice(0, cols - 1));
  progressShown = true;
}

export function clearProgress(): void {
  if (isTTY && progressShown) process.stderr.write('\r\x1b[2K');
  progressShown = false;
}
