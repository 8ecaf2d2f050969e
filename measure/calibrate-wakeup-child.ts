/**
 * The echo side of the wake-up probe (calibrate-wakeup.ts): every byte read on stdin is written
 * back on stdout at once. Its CPU time is read at the first byte and at end of input and the
 * difference printed as one JSON line on stderr ({ cpuUs, echoed }): start-up and exit are left out.
 */
import { cpuUsage } from 'node:process';

let echoed = 0;
let first: NodeJS.CpuUsage | null = null;
process.stdin.on('data', (d: Buffer) => {
  process.stdout.write(d);
  if (!first) first = cpuUsage();
  echoed += d.length;
});
process.stdin.on('end', () => {
  const u = cpuUsage(first ?? undefined);
  process.stderr.write(JSON.stringify({ cpuUs: first ? u.user + u.system : 0, echoed }) + '\n');
  process.stdout.end(() => process.exit(0));
});
process.stdout.write('r'); // ready
