import type * as net from 'node:net';
import { fbError } from '../core/errors';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_IDLE_TIMEOUT_OPTION, HANDSHAKE_TIMEOUT_OPTION } from './common';
import { defineTransport } from './define';
import { encodeHello, newToken, TOKEN_BYTES } from './stream/hello';
import { STREAM_RECEIVER_STATS, STREAM_SENDER_STATS, StreamReceiver, StreamSender } from './stream/socket';

/**
 * TCP over loopback (127.0.0.1, ephemeral port), Nagle off on both ends, length-prefixed
 * frames (see stream/parser.ts). Address: `tcp:127.0.0.1:<port>/<token, 32 hex digits>`: every
 * connection's hello (stream/hello.ts) must carry the token, so a local process that finds the
 * port but not the address is closed before a frame byte is parsed.
 */
const PREFIX = 'tcp:';
const HOST = '127.0.0.1';

function parseAddress(address: string): { host: string; port: number; token: Buffer } {
  const m = new RegExp(`^tcp:([0-9.]+):(\\d{1,5})/([0-9a-f]{${2 * TOKEN_BYTES}})$`).exec(address);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw fbError('FB_ERR_INTERNAL', `not a tcp transport address: '${address}'`);
  }
  return { host: m[1], port: Number(m[2]), token: Buffer.from(m[3], 'hex') };
}

export const tcpTransport = defineTransport({
  name: 'tcp',
  description: 'TCP on 127.0.0.1 (ephemeral port, TCP_NODELAY); u32 length + magic prefix, frames written without concatenation',
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  options: [HANDSHAKE_TIMEOUT_OPTION, FRAME_IDLE_TIMEOUT_OPTION],
  stats: { receiver: STREAM_RECEIVER_STATS, sender: STREAM_SENDER_STATS },
  rawInput: {
    grammar: 'fbs1',
    target: (address) => {
      const { host, port, token } = parseAddress(address);
      return { kind: 'socket', connect: { host, port }, preamble: encodeHello(token) };
    },
  },
  unavailableReason: () => null,

  async createReceiver(opts, o) {
    const token = newToken();
    return StreamReceiver.create(
      opts,
      {
        listen: { host: HOST, port: 0, exclusive: true },
        address: (server) => `${PREFIX}${HOST}:${(server.address() as net.AddressInfo).port}/${token.toString('hex')}`,
        noDelay: true,
        token,
      },
      o,
    );
  },

  async openSender(address, opts) {
    const { host, port, token } = parseAddress(address);
    return StreamSender.open({ host, port }, opts, `${PREFIX}${host}:${port}`, true, token);
  },
});
