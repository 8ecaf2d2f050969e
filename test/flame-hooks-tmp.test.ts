import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { perfAvailable } from '../profile/flame';
import { requireOrSkip } from './support/require';
import { flameHooks } from '../harness/flame-hooks';
import { renderFlameHtml } from '../reporters/html-flame';

/**
 * Security review: `--flame` used to write perf data to `$TMPDIR/framebench-perf-<pid>-<Math.random>.data`,
 * a guessable name in a shared directory (perf follows a planted symlink when it opens it).
 * Now each data file sits in its own fresh 0700 directory, removed after the case.
 */
describe.skipIf(requireOrSkip('perf', perfAvailable()))('flame hooks: perf data location', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'fb-flame-tmp-'));
  const saved = process.env.TMPDIR;
  afterAll(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(root, { recursive: true, force: true });
  });

  it('puts each perf data file in a private 0700 directory and removes it afterwards', async () => {
    const tmp = path.join(root, 'tmp');
    mkdirSync(tmp, { mode: 0o700 });
    process.env.TMPDIR = tmp;
    const { hooks } = flameHooks(path.join(root, 'out'), renderFlameHtml);
    expect(hooks).not.toBeNull();
    const spec = { transport: 'unix', scenario: 'realtime', format: 'i420', sizes: [[640, 360]] } as never;
    const launch = hooks!.envFor('consumer', spec);
    const args = launch.execArgv ?? [];
    const data = args[args.indexOf('-o') + 1];
    const dir = path.dirname(data);
    expect(path.dirname(dir)).toBe(tmp);
    expect(readdirSync(tmp)).toEqual([path.basename(dir)]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // sampling follows the measured window: a 0600 control FIFO beside the data, named to the child
    const ctl = launch.env.FRAMEBENCH_PERF_CTL;
    expect(path.dirname(ctl)).toBe(dir);
    expect(statSync(ctl).isFIFO()).toBe(true);
    expect(statSync(ctl).mode & 0o777).toBe(0o600);
    expect(args.slice(args.indexOf('--control'), args.indexOf('--control') + 2)).toEqual(['--control', `fifo:${ctl}`]);
    expect(args[args.indexOf('-D') + 1]).toBe('-1');
    await launch.cleanup?.();
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
