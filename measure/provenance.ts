import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import { fromRoot, packageRoot, packageVersion } from '../core/paths';

/**
 * How a run was made, for results.json: the command, the code (git commit and whether the tree
 * had uncommitted changes) and the versions of everything on the data path. Each probe is
 * cheap, runs once per run, never throws, and says 'unknown' (or null) when it cannot tell.
 */
export interface Provenance {
  argv: string[];
  git: { commit: string | null; dirty: boolean | null };
  versions: {
    framebench: string;
    node: string;
    v8: string;
    kernel: string;
    cpuModel: string;
    chromium: string | null;
    redisServer: string | null;
    zeromq: string | null;
    libzmq: string | null;
    ws: string | null;
    bufferutil: string | null;
  };
}

function run(cmd: string, args: string[], cwd?: string): string | null {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return null;
  }
}

function pkgVersion(name: string): string | null {
  try {
    const file = fromRoot('node_modules', name, 'package.json');
    return existsSync(file) ? String((JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? null) : null;
  } catch {
    return null;
  }
}

/** The git commit of the package checkout and whether tracked files differ from it (null outside git). */
export function gitState(cwd = packageRoot()): Provenance['git'] {
  const commit = run('git', ['rev-parse', 'HEAD'], cwd);
  if (!commit) return { commit: null, dirty: null };
  const status = run('git', ['status', '--porcelain', '--untracked-files=no'], cwd);
  return { commit, dirty: status === null ? null : status.length > 0 };
}

/** libzmq's version as zeromq.js reports it, without loading it when it is not installed. */
function libzmqVersion(): string | null {
  if (!pkgVersion('zeromq')) return null;
  try {
    return String((require('zeromq') as { version?: string }).version ?? null);
  } catch {
    return null;
  }
}

function firstMatch(text: string | null, re: RegExp): string | null {
  const m = text ? re.exec(text) : null;
  return m ? m[1] : null;
}

export function provenance(argv: string[] = process.argv.slice(2)): Provenance {
  const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  return {
    argv,
    git: gitState(),
    versions: {
      framebench: packageVersion(),
      node: process.version,
      v8: process.versions.v8,
      kernel: `${os.type()} ${os.release()}`,
      cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown',
      chromium: existsSync(chromiumPath) ? firstMatch(run(chromiumPath, ['--version']), /Chromium\s+([\d.]+)/) : null,
      redisServer: firstMatch(run('redis-server', ['--version']), /v=([\d.]+)/),
      zeromq: pkgVersion('zeromq'),
      libzmq: libzmqVersion(),
      ws: pkgVersion('ws'),
      bufferutil: pkgVersion('bufferutil'),
    },
  };
}
