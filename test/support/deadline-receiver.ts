import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Receiver, Transport } from '../../transports/types';

/** A receiver with short deadlines, the codes it reported and the sizes of the frames it delivered. */
export interface DeadlineRx {
  r: Receiver;
  codes: string[];
  frames: number[];
}

/**
 * Opens `transport`'s receiver in a fresh run directory with handshakeTimeoutMs and
 * frameIdleTimeoutMs = `deadlineMs` (one producer, 4 MiB frames), records what it reports, and
 * pushes its cleanup onto `closers`. `hold` keeps a frame's release for later (else released at once).
 */
export async function deadlineReceiver(
  transport: Transport,
  deadlineMs: number,
  closers: Array<() => unknown>,
  hold?: (release: () => void) => void,
): Promise<DeadlineRx> {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), `fb-${transport.name}-dl-`));
  closers.push(() => fs.rmSync(runDir, { recursive: true, force: true }));
  const r = await transport.createReceiver({
    runDir, maxFrameBytes: 4 << 20, producers: 1, policy: 'block',
    options: { handshakeTimeoutMs: deadlineMs, frameIdleTimeoutMs: deadlineMs },
  });
  closers.push(() => r.close());
  const codes: string[] = [];
  const frames: number[] = [];
  r.onError((e) => codes.push(e.code));
  r.start((f, release) => {
    frames.push(f.byteLength);
    if (hold) hold(release);
    else release();
  });
  return { r, codes, frames };
}
