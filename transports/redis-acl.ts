import { createHmac } from 'node:crypto';

/**
 * Who may do what on the redis-server a redis receiver starts (Redis >= 6 ACLs), and how much
 * memory it may hold. The server's config file says:
 * - the default user is off: a connection does nothing before AUTH;
 * - the consumer's user (`fbc`) runs XREAD, XDEL, RPUSH and PING on this receiver's keys only;
 *   its password stays in the consumer process;
 * - producer i's user (`fbp<i>`) runs XADD, LPOP, BLPOP and PING on its own stream and credit
 *   list only; its password is derived from a secret carried in the address (every producer
 *   opens the same address, so a producer that reads it can log in as another producer: it
 *   still cannot read frames, delete entries, grant credits or touch the server's config);
 * - `maxmemory` with `noeviction`: a write that would pass it is refused with an OOM error
 *   (the sender reports it), nothing is evicted;
 * - `maxmemory-clients`: the clients' own memory (query buffers, parsed arguments, replies) is
 *   bounded too: past it the server closes the biggest client. Without it one command of ten
 *   million tiny arguments held ~400 MB of parsed arguments before maxmemory refused it. The
 *   consumer's connection is exempt (CLIENT NO-EVICT).
 */
export const CONSUMER_USER = 'fbc';
const CONSUMER_COMMANDS = ['xread', 'xdel', 'rpush', 'ping', 'client|no-evict'];
const PRODUCER_COMMANDS = ['xadd', 'lpop', 'blpop', 'ping'];

export const producerUser = (i: number): string => `fbp${i}`;

/** Producer i's password: HMAC-SHA256 of its index under the address's secret. */
export function producerPassword(secret: string, i: number): string {
  return createHmac('sha256', secret).update(`producer:${i}`).digest('hex');
}

export const streamKey = (key: string, producer: number): string => `${key}:s:${producer}`;
export const creditKey = (key: string, producer: number): string => `${key}:c:${producer}`;

/**
 * The server's memory bound: per producer, WINDOW stream entries plus the one being added, its
 * query buffer and the consumer's reply buffer of one frame (window + 3 frames), and 64 MiB
 * for the server itself.
 */
export function maxMemoryBytes(maxFrameBytes: number, producers: number, window: number): number {
  return 64 * 1024 * 1024 + Math.max(1, producers) * (window + 3) * (maxFrameBytes + 64 * 1024);
}

/** The clients' memory bound: per connection (producers and the consumer) two frames, and 32 MiB. */
export function maxClientMemoryBytes(maxFrameBytes: number, producers: number): number {
  return 32 * 1024 * 1024 + (Math.max(1, producers) + 1) * 2 * (maxFrameBytes + 64 * 1024);
}

export interface AclPlan {
  key: string;
  producers: number;
  secret: string;
  consumerPassword: string;
  maxMemory: number;
  maxClientMemory: number;
}

/** The config file's lines (users and memory); passwords never go on a command line. */
export function serverConfig(p: AclPlan): string {
  const cmds = (list: string[]): string => ['-@all', ...list.map((c) => `+${c}`)].join(' ');
  const lines = [
    'user default off resetpass resetkeys resetchannels -@all',
    `user ${CONSUMER_USER} on >${p.consumerPassword} resetkeys ~${p.key}:* resetchannels ${cmds(CONSUMER_COMMANDS)}`,
  ];
  for (let i = 0; i < Math.max(1, p.producers); i++) {
    lines.push(`user ${producerUser(i)} on >${producerPassword(p.secret, i)} resetkeys ~${streamKey(p.key, i)} ~${creditKey(p.key, i)} resetchannels ${cmds(PRODUCER_COMMANDS)}`);
  }
  lines.push(`maxmemory ${p.maxMemory}`, 'maxmemory-policy noeviction', `maxmemory-clients ${p.maxClientMemory}`);
  return lines.join('\n') + '\n';
}
