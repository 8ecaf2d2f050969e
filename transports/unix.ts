import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fbError } from '../core/errors';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_IDLE_TIMEOUT_OPTION, HANDSHAKE_TIMEOUT_OPTION } from './common';
import { defineTransport } from './define';
import { encodeHello, ZERO_TOKEN } from './stream/hello';
import { STREAM_RECEIVER_STATS, STREAM_SENDER_STATS, StreamReceiver, StreamSender } from './stream/socket';

/**
 * Unix domain stream socket, length-prefixed frames (see stream/parser.ts).
 * The socket file lives in the run's private 0700 directory under a name unique to this
 * receiver, and is unlinked on close. Address: `unix:<absolute path>`. The hello (stream/hello.ts)
 * carries a zero token: the directory's mode is the access control; the hello still marks the end
 * of the handshake (its deadline, the connection cap).
 */
const PREFIX = 'unix:';
/** sun_path is 108 bytes on Linux, NUL included. */
const MAX_PATH_BYTES = 107;
let seq = 0;

function socketFile(address: string): string {
  if (!address.startsWith(PREFIX) || address.length === PREFIX.length) {
    throw fbError('FB_ERR_INTERNAL', `not a unix transport address: '${address}'`);
  }
  return address.slice(PREFIX.length);
}

export const unixTransport = defineTransport({
  name: 'unix',
  description: 'Unix domain stream socket in the run directory; u32 length + magic prefix, frames written without concatenation',
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  options: [HANDSHAKE_TIMEOUT_OPTION, FRAME_IDLE_TIMEOUT_OPTION],
  stats: { receiver: STREAM_RECEIVER_STATS, sender: STREAM_SENDER_STATS },
  rawInput: { grammar: 'fbs1', target: (address) => ({ kind: 'socket', connect: { path: socketFile(address) }, preamble: encodeHello(ZERO_TOKEN) }) },
  unavailableReason: () => null,

  async createReceiver(opts, o) {
    const file = path.resolve(opts.runDir, `fb-${process.pid}-${++seq}-${randomBytes(4).toString('hex')}.sock`);
    if (Buffer.byteLength(file) > MAX_PATH_BYTES) {
      throw fbError('FB_ERR_TRANSPORT_UNAVAILABLE', `socket path ${file} is longer than ${MAX_PATH_BYTES} bytes: use a shorter run directory`);
    }
    return StreamReceiver.create(
      opts,
      { listen: { path: file, exclusive: true }, address: () => PREFIX + file, noDelay: false, token: ZERO_TOKEN, cleanup: () => fs.rmSync(file, { force: true }) },
      o,
    );
  },

  async openSender(address, opts) {
    return StreamSender.open({ path: socketFile(address) }, opts, address, false, ZERO_TOKEN);
  },
});
