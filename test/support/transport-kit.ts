import './require-ts';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isFbError } from '../../core/errors';
import { getTransport, wireTransportNames } from '../../transports/registry';
import type { Receiver, ReceiverOptions, Sender, SenderOptions, Transport } from '../../transports/types';
import { HostedSender } from './hosted-sender';
import { HostChannel } from '../../transports/host-ports';

/** A registered transport as the conformance suite sees it: loaded, or the reason it is skipped. */
export interface TransportCase {
  name: string;
  transport: Transport | null;
  skip: string | null;
}

/**
 * Loads every registered transport; a load error or an unavailableReason() becomes a skip
 * reason, which the suite hands to requireOrSkip() (support/require.ts): skipped with a
 * warning, or failed under FRAMEBENCH_REQUIRE.
 */
export function transportCases(): TransportCase[] {
  return wireTransportNames().map((name) => {
    try {
      const transport = getTransport(name);
      return { name, transport, skip: transport.unavailableReason() };
    } catch (e) {
      return { name, transport: null, skip: `does not load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
    }
  });
}

/** A fresh private (0700) run directory per test, and everything opened in it, closed afterwards. */
export class Channel {
  readonly runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-conf-'));
  /** The hosted topologies' channel, as a consumer gives it: both ends get it in their options. */
  readonly host = new HostChannel();
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(readonly transport: Transport) {}

  async receiver(over: Partial<ReceiverOptions> = {}): Promise<Receiver> {
    const r = await this.transport.createReceiver({
      runDir: this.runDir,
      maxFrameBytes: this.transport.maxFrameBytes,
      producers: 1,
      policy: 'block',
      options: {},
      host: this.host,
      ...over,
    });
    this.closers.push(() => r.close());
    return r;
  }

  /** A sender with the transport's topology: in this process, or in a child it forked (node-ipc). */
  async sender(r: Receiver, over: Partial<SenderOptions> = {}): Promise<Sender> {
    const opts: SenderOptions = { producerId: 0, maxFrameBytes: this.transport.maxFrameBytes, policy: 'block', options: {}, host: this.host, ...over };
    const s =
      this.transport.capabilities.topology === 'consumer-forks-producers'
        ? await HostedSender.open(this.transport.name, r.address, opts, this.host)
        : await this.transport.openSender(r.address, opts);
    this.closers.push(() => s.close());
    return s;
  }

  /** Closes senders first, then receivers; removes the run directory. */
  async dispose(): Promise<void> {
    for (const close of this.closers.reverse()) await close().catch(() => {});
    fs.rmSync(this.runDir, { recursive: true, force: true });
  }
}

/** Polls `cond` until true; throws with `what` after `ms`. */
export async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** The FB_ERR code of a rejection, or a marker when it was not an FbError. */
export function codeOf(e: unknown): string {
  return isFbError(e) ? (e as { code: string }).code : `not an FbError: ${String(e)}`;
}

/** Sends with the copying path, or through loan()/commit() when `viaLoan`. */
export async function sendFrame(s: Sender, bytes: number, fill: (dest: Uint8Array) => void, scratch: Uint8Array, viaLoan: boolean): Promise<boolean> {
  if (viaLoan && s.loan) {
    const loan = await s.loan(bytes);
    if (!loan) return false;
    fill(loan.view);
    await loan.commit();
    return true;
  }
  const view = scratch.subarray(0, bytes);
  fill(view);
  return s.send(view);
}
