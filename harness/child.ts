/**
 * Entry point of every producer and consumer process (forked by the coordinator).
 * It speaks the control protocol (harness/protocol.ts) over the IPC channel and never
 * prints: everything it measured goes back in its 'done' message.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { HostChannel } from '../transports/host-ports';
import { toFbError } from '../core/errors';
import { Consumer } from './consumer';
import { isChromiumSource, prepareLiveProducer, type PreparedLiveProducer } from './live-producer';
import { Producer } from './producer';
import { ProducerHost } from './producer-host';
import type { FromChild, ToChild } from './protocol';
import { NativeConsumer, NativeProducer, nativeEndsOf } from './native-peer';

/** A hosted producer thread (transport topology 'consumer-threads') talks over parentPort. */
const inThread = !isMainThread && parentPort !== null && Boolean((workerData as { fbHosted?: boolean } | null)?.fbHosted);
/**
 * The hosted topologies' channel of this process, passed to its receiver or sender: in a
 * consumer, the producers it will host join it (ProducerHost); in a hosted thread, it holds
 * what the consumer shared (its workerData).
 */
const channel = inThread ? HostChannel.adopt((workerData as { shared?: Record<string, unknown> }).shared) : new HostChannel();
let host: ProducerHost | null = null;

let role: Producer | Consumer | NativeProducer | NativeConsumer | null = null;
let live: PreparedLiveProducer | null = null;
let roleName = '';
let transportName = '';

/**
 * Test-only fault injection: FRAMEBENCH_TEST_CRASH=<transport>:<role>:<ms> makes that
 * process kill itself with SIGKILL <ms> after the barrier start (role: consumer|producer).
 */
function testCrashHook(t0Ns: number): void {
  const spec = process.env.FRAMEBENCH_TEST_CRASH;
  if (!spec) return;
  const [t, r, ms] = spec.split(':');
  if (t !== transportName || r !== roleName) return;
  const delay = Math.max(0, Number(ms) - (Number(process.hrtime.bigint()) - t0Ns) / 1e6);
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), delay).unref();
}
let exiting = false;

function send(msg: FromChild): void {
  if (inThread) parentPort?.postMessage(msg);
  else if (process.connected) process.send?.(msg);
}

async function shutdown(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  const timer = setTimeout(() => process.exit(code), 3000);
  try {
    await role?.close();
    await live?.close();
    await host?.stopAll(1500);
  } catch {
    /* closing after an error: nothing more to report */
  }
  clearTimeout(timer);
  process.exit(code);
}

function fail(e: unknown): void {
  const err = toFbError(e);
  send({ t: 'error', code: err.code, message: err.message });
  void shutdown(1);
}

async function onMessage(msg: ToChild): Promise<void> {
  switch (msg.t) {
    case 'init': {
      roleName = msg.role;
      transportName = msg.spec.transport;
      const native = nativeEndsOf(msg.spec);
      if (msg.role === 'consumer' && native?.consumer) {
        // a native program is the consumer; this process relays the case to it and measures it
        const c = new NativeConsumer(msg.spec, native);
        role = c;
        const address = await c.open();
        c.whenFatal(fail);
        send({ t: 'ready', address });
      } else if (msg.role === 'producer' && native?.producer) {
        const p = new NativeProducer(msg.spec, msg.producerId, native);
        role = p;
        await p.open(msg.address);
        send({ t: 'ready' });
      } else if (msg.role === 'consumer') {
        const c = new Consumer(msg.spec, channel);
        role = c;
        const address = await c.open();
        c.whenFatal(fail);
        send({ t: 'ready', address });
      } else if (isChromiumSource(msg.spec.source)) {
        // Chromium is the producer: launched here, before the start barrier (harness/live-producer.ts)
        live = await prepareLiveProducer(msg.spec, msg.producerId, msg.address);
        send({ t: 'ready' });
      } else {
        const p = new Producer(msg.spec, msg.producerId, channel);
        role = p;
        await p.open(msg.address);
        send({ t: 'ready' });
      }
      return;
    }
    case 'start':
      testCrashHook(msg.t0Ns);
      if (role instanceof Consumer || role instanceof NativeConsumer) role.start(msg.t0Ns);
      else if (role instanceof Producer || role instanceof NativeProducer) send({ t: 'done', producer: await role.run(msg.t0Ns) });
      else if (live) {
        const report = await live.run(msg.t0Ns);
        await live.close();
        send({ t: 'done', producer: report });
      }
      return;
    case 'window':
      if (role) role.setWindow(msg.openNs, msg.closeNs);
      return;
    case 'host':
      host = host ?? new ProducerHost(send, channel);
      host.start(msg.launch);
      return;
    case 'relay':
      host?.relay(msg.label, msg.msg);
      return;
    case 'drain':
      if (role instanceof Consumer || role instanceof NativeConsumer) send({ t: 'done', consumer: await role.drain(msg.expected, msg.timeoutMs) });
      return;
    case 'exit':
      await shutdown(0);
      return;
  }
}

/** Control messages only: a transport may share the channel (node-ipc) with its own messages. */
function onControl(msg: unknown): void {
  if (typeof msg !== 'object' || msg === null || typeof (msg as { t?: unknown }).t !== 'string') return;
  onMessage(msg as ToChild).catch(fail);
}

if (inThread) {
  parentPort?.on('message', onControl);
} else {
  process.on('message', onControl);
  // The coordinator (or the hosting consumer) is gone: nothing to report to, clean up and leave.
  process.on('disconnect', () => void shutdown(0));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void shutdown(1));
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
