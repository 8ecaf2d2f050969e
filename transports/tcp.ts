import type * as net from 'node:net';
import { fbError } from '../core/errors';
import { DEFAULT_MAX_FRAME_BYTES } from './common';
import { defineTransport } from './define';
import { STREAM_RECEIVER_STATS, STREAM_SENDER_STATS, StreamReceiver, StreamSender } from './stream/socket';

/**
 * TCP over loopback (127.0.0.1, ephemeral port), Nagle off on both ends, length-prefixed
 * frames (see stream/parser.ts). Address: `tcp:127.0.0.1:<port>`.
 */
const PREFIX = 'tcp:';
const HOST = '127.0.0.1';

function parseAddress(address: string): { host: string; port: number } {
  const m = /^tcp:([0-9.]+):(\d{1,5})$/.exec(address);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw fbError('FB_ERR_INTERNAL', `not a tcp transport address: '${address}'`);
  }
  return { host: m[1], port: Number(m[2]) };
}

export const tcpTransport = defineTransport({
  name: 'tcp',
  description: 'TCP on 127.0.0.1 (ephemeral port, TCP_NODELAY); u32 length + magic prefix, frames written without concatenation',
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  options: [],
  stats: { receiver: STREAM_RECEIVER_STATS, sender: STREAM_SENDER_STATS },
  rawInput: { grammar: 'fbs1', target: (address) => ({ kind: 'socket', connect: parseAddress(address) }) },
  unavailableReason: () => null,

  async createReceiver(opts) {
    return StreamReceiver.create(opts, {
      listen: { host: HOST, port: 0, exclusive: true },
      address: (server) => `${PREFIX}${HOST}:${(server.address() as net.AddressInfo).port}`,
      noDelay: true,
    });
  },

  async openSender(address, opts) {
    return StreamSender.open(parseAddress(address), opts, address, true);
  },
});
