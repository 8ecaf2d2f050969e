import type * as net from 'node:net';
import { fbError } from '../core/errors';
import { DEFAULT_CAPABILITIES, type Transport } from './types';
import { DEFAULT_MAX_FRAME_BYTES, StreamReceiver, StreamSender } from './stream-framing';

/**
 * TCP over loopback (127.0.0.1, ephemeral port), Nagle off on both ends, length-prefixed
 * frames (see stream-framing.ts). Address: `tcp:127.0.0.1:<port>`.
 */
const PREFIX = 'tcp:';
const HOST = '127.0.0.1';

export const tcpTransport: Transport = {
  name: 'tcp',
  description: 'TCP on 127.0.0.1 (ephemeral port, TCP_NODELAY); u32 length + magic prefix, frames written without concatenation',
  capabilities: { ...DEFAULT_CAPABILITIES },
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  unavailableReason: () => null,

  async createReceiver(opts) {
    return StreamReceiver.create(opts, {
      listen: { host: HOST, port: 0, exclusive: true },
      address: (server) => `${PREFIX}${HOST}:${(server.address() as net.AddressInfo).port}`,
      noDelay: true,
    });
  },

  async openSender(address, opts) {
    const m = /^tcp:([0-9.]+):(\d{1,5})$/.exec(address);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw fbError('FB_ERR_INTERNAL', `not a tcp transport address: '${address}'`);
    }
    return StreamSender.open({ host: m[1], port: Number(m[2]) }, opts, address, true);
  },
};
