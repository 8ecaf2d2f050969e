import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HostChannel, HostPort } from '../transports/host-ports';
import type { FromChild, HostedLaunch, ToChild } from './protocol';

const CHILD_ENTRY = path.join(__dirname, 'child.js');

interface Hosted {
  label: string;
  send(msg: ToChild): void;
  kill(): void;
  exited: boolean;
  exitedP: Promise<void>;
}

/** A control message (the harness protocol), as opposed to a transport's own messages on the same channel. */
function isControl(m: unknown): m is FromChild {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}

/**
 * The consumer's side of a hosted topology: it starts producers itself (forked children
 * with an 'advanced' IPC channel, or worker threads), relays their control messages to and
 * from the coordinator, reports their exit, and kills them when it shuts down.
 */
export class ProducerHost {
  private readonly hosted = new Map<string, Hosted>();

  /** `channel`: the one the consumer's receiver was given (ReceiverOptions.host); hosted producers join it. */
  constructor(private readonly toCoordinator: (m: FromChild) => void, private readonly channel: HostChannel) {}

  start(launch: HostedLaunch): void {
    const h = launch.mode === 'fork' ? this.forkOne(launch) : this.threadOne(launch);
    this.hosted.set(launch.label, h);
  }

  private ended(label: string, clean: boolean, how: string): void {
    this.toCoordinator({ t: 'hosted-exit', label, clean, how });
  }

  private forkOne(launch: HostedLaunch): Hosted {
    const child: ChildProcess = fork(CHILD_ENTRY, [], {
      env: launch.env,
      execArgv: launch.execArgv,
      ...(launch.execPath ? { execPath: launch.execPath } : {}),
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let tail = '';
    child.stderr?.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-2000);
    });
    let resolveExit: () => void = () => undefined;
    const h: Hosted = {
      label: launch.label,
      send: (m) => {
        if (child.connected) child.send(m);
      },
      kill: () => {
        if (!h.exited) child.kill('SIGKILL');
      },
      exited: false,
      exitedP: new Promise<void>((resolve) => (resolveExit = resolve)),
    };
    child.on('message', (m: unknown) => {
      if (isControl(m)) this.toCoordinator({ t: 'relayed', label: launch.label, msg: m });
    });
    child.on('exit', (code, signal) => {
      h.exited = true;
      resolveExit();
      const last = tail.trim().split('\n').slice(-1)[0];
      this.ended(launch.label, code === 0, `${signal ? `was killed by ${signal}` : `exited with code ${code}`}${last ? `: ${last}` : ''}`);
    });
    child.on('error', (e) => this.ended(launch.label, false, e.message));
    this.channel.addPort(child as unknown as HostPort);
    this.toCoordinator({ t: 'hosted', label: launch.label, pid: child.pid ?? -1 });
    return h;
  }

  private threadOne(launch: HostedLaunch): Hosted {
    const w = new Worker(CHILD_ENTRY, {
      workerData: { fbHosted: true, shared: this.channel.sharedObjects() },
      stderr: false,
      stdout: true,
    });
    let resolveExit: () => void = () => undefined;
    let lastError = '';
    const h: Hosted = {
      label: launch.label,
      send: (m) => {
        if (!h.exited) w.postMessage(m);
      },
      kill: () => {
        if (!h.exited) void w.terminate();
      },
      exited: false,
      exitedP: new Promise<void>((resolve) => (resolveExit = resolve)),
    };
    w.on('message', (m: unknown) => {
      if (isControl(m)) this.toCoordinator({ t: 'relayed', label: launch.label, msg: m });
    });
    w.on('error', (e) => {
      lastError = e.message;
    });
    w.on('exit', (code) => {
      h.exited = true;
      resolveExit();
      this.ended(launch.label, code === 0 && !lastError, `thread exited with code ${code}${lastError ? `: ${lastError}` : ''}`);
    });
    this.toCoordinator({ t: 'hosted', label: launch.label, pid: process.pid });
    return h;
  }

  relay(label: string, msg: ToChild): void {
    this.hosted.get(label)?.send(msg);
  }

  /** Asks every hosted producer to exit, kills what is left after graceMs. */
  async stopAll(graceMs: number): Promise<void> {
    const all = [...this.hosted.values()].filter((h) => !h.exited);
    for (const h of all) h.send({ t: 'exit' });
    const timer = setTimeout(() => all.forEach((h) => h.kill()), graceMs);
    await Promise.all(all.map((h) => h.exitedP));
    clearTimeout(timer);
  }
}
