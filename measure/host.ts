import * as os from 'node:os';
import type { HostInfo } from '../core/result';

export function hostInfo(): HostInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    memoryBytes: os.totalmem(),
    hostname: os.hostname(),
  };
}
