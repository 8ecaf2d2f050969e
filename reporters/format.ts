/** Small number formatters shared by reporters. */
export function fmtNum(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtBytes(b: number): string {
  if (!Number.isFinite(b)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  let v = b;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function fmtUs(us: number): string {
  if (!Number.isFinite(us)) return '-';
  if (us >= 10_000) return `${(us / 1000).toFixed(1)} ms`;
  return `${fmtNum(us, us < 10 ? 1 : 0)} µs`;
}
