/** The width terminal output fits by default (`--wide` lifts it). */
export const TERMINAL_COLUMNS = 120;

export interface TableOptions {
  /** Wrap the last column so that no line is wider than this. */
  maxWidth?: number;
}

/** Plain-text table with right-aligned numeric columns (the first `leftCols` are left-aligned). */
export function renderTable(header: string[], rows: string[][], leftCols = 1, opts: TableOptions = {}): string {
  const last = header.length - 1;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  let body = rows;
  if (opts.maxWidth !== undefined && last > 0) {
    const before = widths.slice(0, last).reduce((a, w) => a + w + 2, 0);
    const room = Math.max(20, opts.maxWidth - before);
    if (widths[last]! > room) {
      widths[last] = Math.max(header[last]!.length, room);
      body = rows.flatMap((r) => wrapText(r[last] ?? '', widths[last]!).map((part, k) => (k === 0 ? [...r.slice(0, last), part] : [...r.slice(0, last).map(() => ''), part])));
    }
  }
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < leftCols ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const sep = widths.map((w) => '─'.repeat(w)).join('  ');
  return [line(header), sep, ...body.map(line)].join('\n');
}

/** Splits text at spaces into lines of at most `width` (a longer word is cut). */
export function wrapText(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (let word of text.split(' ')) {
    while (word.length > width) {
      if (line) out.push(line);
      out.push(word.slice(0, width));
      word = word.slice(width);
      line = '';
    }
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(line);
  return out;
}

/** A text line wrapped to `width`, continuation lines indented by `indent` spaces. */
export function wrapLine(text: string, width: number, indent = 2): string {
  if (text.length <= width) return text;
  const lead = text.match(/^ */)![0];
  const parts = wrapText(text.slice(lead.length), width - Math.max(lead.length, indent));
  return parts.map((p, i) => (i === 0 ? lead : ' '.repeat(Math.max(lead.length, indent))) + p).join('\n');
}
