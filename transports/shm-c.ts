import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { fromRoot } from '../core/paths';
import { defineTransport } from './define';
import type { NativeEnds, OptionSpec, ReceiverOptions, Transport } from './types';
import { defaultRingBytes, regionBytes, shmTransport } from './shm/transport';

/**
 * The shared-memory ring with native ends (docs/ring-c.md): the same wire as `shm` (layout 2,
 * ring_layout.h), but an end is a C program (native/c/) doing the same work as the Node end it
 * replaces, started and measured by harness/native-peer.ts.
 * - `shm-c`: C producer and C consumer: the floor of this design on this machine.
 * - `shm-node-c`: Node producer (the `shm` sender, loan/commit), C consumer: a bot feeding a
 *   native encoder.
 * Their createReceiver/openSender are the Node ends of the same ring (the `shm` adapter's), so a
 * Node end can always face a C one; the harness runs the native ends instead where declared.
 */

/**
 * A native ring program: where `npm run build:native` puts it (native/binding.gyp executable
 * targets), else the package's prebuild beside the addon's (scripts/build-native.js --prebuild).
 */
export function ringProgram(name: 'fb-ring-consumer' | 'fb-ring-producer'): string {
  const built = fromRoot('native', 'build', 'Release', name);
  const shipped = fromRoot('prebuilds', `${process.platform}-${process.arch}`, name);
  return !existsSync(built) && existsSync(shipped) ? shipped : built;
}

const OPTIONS = [
  { name: 'ringBytes', type: 'number', min: 1 << 20, max: 2 ** 40, help: 'consumer: ring memory in bytes, split evenly between the producers (each region holds at least 3 frames of maxFrameBytes; rounded up to 4 KiB), as for shm (default: 6 frames of maxFrameBytes per producer, at least 1 MiB)' },
  { name: 'claimTimeoutMs', type: 'integer', min: 1, max: 3_600_000, default: 5000, help: 'C consumer: a record a producer reserved but did not commit within this many ms cuts that producer off (FB_ERR_RING_CORRUPT), as for shm' },
] as const satisfies readonly OptionSpec[];

function consumerInit(opts: ReceiverOptions): Record<string, unknown> {
  const o = opts.options as { ringBytes?: number; claimTimeoutMs?: number };
  const asked = o.ringBytes === undefined ? undefined : Math.floor(o.ringBytes);
  const bytes = asked === undefined ? defaultRingBytes(opts.maxFrameBytes) : regionBytes(asked, opts.producers, opts.maxFrameBytes);
  return {
    socketPath: path.join(opts.runDir, `ring-${randomBytes(8).toString('hex')}.sock`),
    producers: opts.producers,
    regionBytes: bytes,
    maxFrameBytes: opts.maxFrameBytes,
    claimTimeoutMs: o.claimTimeoutMs ?? 5000,
  };
}

const CONSUMER: NonNullable<NativeEnds['consumer']> = { program: () => ringProgram('fb-ring-consumer'), init: consumerInit };
const PRODUCER: NonNullable<NativeEnds['producer']> = { program: () => ringProgram('fb-ring-producer') };

function missing(ends: NativeEnds): string | null {
  const programs = [ends.consumer?.program(), ends.producer?.program()].filter((p): p is string => typeof p === 'string');
  const absent = programs.filter((p) => !existsSync(p));
  return absent.length ? `native ring program(s) not built: ${absent.map((p) => path.basename(p)).join(', ')} (build them with \`npm run build:native\`)` : null;
}

function make(name: string, description: string, ends: NativeEnds): Transport {
  const t = defineTransport({
    name,
    description,
    capabilities: { zeroCopy: true },
    maxFrameBytes: shmTransport.maxFrameBytes,
    options: OPTIONS,
    stats: shmTransport.stats,
    rawInput: shmTransport.rawInput,
    unavailableReason: () => shmTransport.unavailableReason() ?? missing(ends),
    cleanupOrphans: () => shmTransport.cleanupOrphans?.() ?? [],
    // the Node ends of the same ring (the shm adapter with default options)
    createReceiver: (opts, o) => shmTransport.createReceiver({ ...opts, options: o.ringBytes === undefined ? {} : { ringBytes: o.ringBytes } }),
    openSender: (address, opts) => shmTransport.openSender(address, { ...opts, options: {} }),
  });
  return { ...t, nativeEnds: ends };
}

export const shmCTransport: Transport = make('shm-c', 'the shared-memory ring with a C producer and a C consumer (native/c/): the floor of the design here', { consumer: CONSUMER, producer: PRODUCER });

export const shmNodeCTransport: Transport = make('shm-node-c', 'the shared-memory ring from a Node producer (loan/commit) into a C consumer (native/c/): a bot feeding a native encoder', { consumer: CONSUMER });
