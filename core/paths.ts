import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The one place that knows where the framebench package lives. Every module that needs a file
 * of the package (the native addon, the fixture page, bin/bench.js, package.json) asks here,
 * so the answer is the same from the TypeScript sources, from dist/ and from an installed copy.
 */
let cachedRoot: string | null = null;

/** The package root: the nearest ancestor of this module whose package.json is named framebench. */
export function packageRoot(): string {
  if (cachedRoot !== null) return cachedRoot;
  for (let dir = __dirname; ; ) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && readPackage(pkg).name === 'framebench') return (cachedRoot = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`framebench's package.json not found above ${__dirname}`);
    dir = up;
  }
}

/** A path inside the package, e.g. fromRoot('native', 'build', 'Release'). */
export function fromRoot(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}

/** framebench's own version, from its package.json. */
export function packageVersion(): string {
  return String(readPackage(fromRoot('package.json')).version ?? '0.0.0');
}

function readPackage(file: string): { name?: string; version?: string } {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
  } catch {
    return {};
  }
}
