/** Human output goes to stderr; stdout is kept for --json. Progress only on a TTY. */
export const isTTY = Boolean(process.stderr.isTTY);

export function info(line: string): void {
  process.stderr.write(line + '\n');
}

let progressShown = false;
export function progress(line: string): void {
  if (!isTTY) return;
  const cols = process.stderr.columns || 100;
  process.stderr.write('\r\x1b[2K' + line.slice(0, cols - 1));
  progressShown = true;
}

export function clearProgress(): void {
  if (isTTY && progressShown) process.stderr.write('\r\x1b[2K');
  progressShown = false;
}
