/**
 * A hostile writer: maps the ring served at argv[2] and scribbles random bytes over header and records
 * for argv[3] ms (argv[4] = seed; argv[5] = 'records' spares the ring header), then exits 0.
 */
import { shmNative } from '../../transports/shm/native';
import { mapRing } from '../../transports/shm/segment';
import { tell } from './peer-ipc';
import { rng } from './records';

const [name, ms, seed, where] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 1), process.argv[5] || 'all'];
const ab = mapRing(name);
const u8 = new Uint8Array(ab);
const u32 = new Uint32Array(ab);
const rand = rng(seed);
const until = Date.now() + ms;
let writes = 0;

function word(): number {
  return (rand() * 4294967296) >>> 0;
}

function burst(): void {
  for (let i = 0; i < 200; i++) {
    const r = where === 'records' ? 0.4 + rand() * 0.6 : rand();
    if (r < 0.3) u32[Math.floor(rand() * 64)] = word(); // header lines 0-3
    else if (r < 0.4) u32[64 + Math.floor(rand() * 1024)] = word(); // slots
    else if (r < 0.7) u32[2048 + Math.floor(rand() * ((u32.length - 2048) / 8)) * 8 + Math.floor(rand() * 4)] = word(); // record headers
    else u8[8192 + Math.floor(rand() * (u8.length - 8192))] = (rand() * 256) | 0;
    writes++;
  }
  if (Date.now() < until) setTimeout(burst, 1);
  else {
    shmNative().unmap(ab);
    tell({ type: 'done', writes });
  }
}

tell({ type: 'started' });
burst();
