import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

/**
 * What waking a sleeping Node process costs on this host. This process and an echo child
 * (calibrate-wakeup-child.ts) exchange one byte over pipes, `trips` times, with an idle gap
 * between trips, so both sleep in their event loops between trips as a paced stream's processes
 * do between frames. A trip is three wake-ups (this process's timer, the child's read, this
 * process's read); CPU per wake-up is the CPU both used from the first trip to the last over
 * 3 x trips; latency is the median round trip / 2. On a VM, waking an idle vCPU can cost far more
 * than on bare metal and vary with the host's neighbours: the per-frame fixed cost of a paced
 * transport follows it (shm in realtime most: it has little else), so every round records it
 * beside the memcpy calibration.
 */
export interface WakeupProbe {
  /** CPU of both processes per wake-up, µs. */
  cpuUs: number;
  /** Median one-way latency (round trip / 2), µs. */
  latencyUs: number;
  trips: number;
}

/** 40 trips 20 ms apart: under a second, and idle gaps near a 30-60 fps frame interval (longer idle, dearer wake-up). */
const TRIPS = 40;
const GAP_MS = 20;
const WAKEUPS_PER_TRIP = 3;

export function wakeupProbe(trips = TRIPS, gapMs = GAP_MS): Promise<WakeupProbe> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'calibrate-wakeup-child.js')], { stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('wake-up probe: no answer within 20 s'));
    }, 20_000);
    let err = '';
    let done = false;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!done) reject(new Error(`wake-up probe: echo child exited with ${code} before the trips ended: ${err.trim().split('\n').slice(-1)[0] ?? ''}`));
    });
    const rtts: number[] = [];
    let ready = false;
    let sentAt = 0;
    let own0: NodeJS.CpuUsage | null = null;
    const send = (): void => {
      own0 ??= process.cpuUsage();
      sentAt = performance.now();
      child.stdin.write('x');
    };
    child.stdout.on('data', (d: Buffer) => {
      if (!ready) {
        ready = true; // the child's 'r': it is up and idle
        setTimeout(send, gapMs);
        return;
      }
      for (let i = 0; i < d.length; i++) rtts.push(performance.now() - sentAt);
      if (rtts.length < trips) {
        setTimeout(send, gapMs);
        return;
      }
      const own = process.cpuUsage(own0 ?? undefined);
      done = true;
      child.on('exit', (code) => {
        const line = err.split('\n').find((l) => l.startsWith('{'));
        if (code !== 0 || !line) return reject(new Error(`wake-up probe: echo child exited with ${code}`));
        const childCpu = (JSON.parse(line) as { cpuUs: number }).cpuUs;
        const sorted = [...rtts].sort((a, b) => a - b);
        const perWake = (own.user + own.system + childCpu) / (WAKEUPS_PER_TRIP * trips);
        resolve({ cpuUs: Math.round(perWake * 10) / 10, latencyUs: Math.round((sorted[sorted.length >> 1] * 1000) / 2), trips });
      });
      child.stdin.end();
    });
  });
}
