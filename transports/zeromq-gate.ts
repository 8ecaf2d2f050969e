/**
 * The admission gate of zeromq receivers: one ZAP handler (ZMQ RFC 27) per process, bound at
 * libzmq's fixed `inproc://zeromq.zap.01`, answering for every receiver of this process by the
 * receiver's own ZAP domain. libzmq asks it once per connection, after the ZMTP 3 greeting and
 * before any message is accepted from that peer.
 *
 * A receiver admits a connection while the connections its PULL socket holds (accepted minus
 * disconnected, from the socket's monitor: handshakes still under way count) are at most its
 * cap; beyond, the handshake is denied (libzmq closes the connection; the peer sees an auth
 * failure) and counted. Unknown domains are denied. Connections still in the handshake are
 * closed by libzmq at the PULL socket's `handshakeInterval`. The handler's socket lives while
 * any receiver of this process is registered, so it never keeps a finished process alive.
 */
type Zmq = typeof import('zeromq');

export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** What the gate asks a receiver registered under a domain. */
export interface GateMember {
  /** True: admit this connection (its accept is already counted by the member). */
  admit(): boolean;
}

let router: import('zeromq').Router | null = null;
let starting: Promise<void> | null = null;
const members = new Map<string, GateMember>();

async function serve(r: import('zeromq').Router): Promise<void> {
  try {
    for await (const msg of r) {
      // [routing id, empty, version, request id, domain, address, identity, mechanism, credentials...]
      const [id, empty, version, requestId, domain] = msg;
      const member = members.get(domain?.toString('latin1') ?? '');
      const ok = version?.toString('latin1') === '1.0' && member !== undefined && member.admit();
      await r.send([id, empty, '1.0', requestId ?? '', ok ? '200' : '400', ok ? 'OK' : 'connection refused', '', '']);
    }
  } catch {
    /* the router closed: the last receiver left */
  }
}

/** Binds the handler; libzmq frees the endpoint of a handler just closed asynchronously: retried briefly. */
async function bindRouter(z: Zmq): Promise<import('zeromq').Router> {
  for (let attempt = 0; ; attempt++) {
    const r = new z.Router({ linger: 0 });
    try {
      await r.bind(ZAP_ENDPOINT);
      return r;
    } catch (e) {
      r.close();
      if ((e as { code?: string }).code !== 'EADDRINUSE' || attempt >= 100) throw e;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

let closeTimer: NodeJS.Timeout | null = null;

/** Registers `member` under `domain`, binding the handler first if this process has none. */
export async function joinGate(z: Zmq, domain: string, member: GateMember): Promise<void> {
  members.set(domain, member);
  if (closeTimer) {
    clearTimeout(closeTimer);
    closeTimer = null;
  }
  if (router) return;
  if (!starting) {
    starting = (async () => {
      const r = await bindRouter(z);
      router = r;
      void serve(r);
    })().finally(() => (starting = null));
  }
  try {
    await starting;
  } catch (e) {
    members.delete(domain);
    throw e;
  }
}

/** Unregisters `domain`; the handler closes soon after the last member left (a bound socket keeps the process alive). */
export function leaveGate(domain: string): void {
  members.delete(domain);
  if (members.size > 0 || !router || closeTimer) return;
  closeTimer = setTimeout(() => {
    closeTimer = null;
    if (members.size === 0 && router) {
      router.close();
      router = null;
    }
  }, 50);
}
