import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closest, editDistance, parseOptions, renderHelp, type OptionDef } from '../cli/options';
import { SWEEP_PRESETS, withoutOverridden } from '../cli/sweep';
import { loadRunResult } from '../core/validate';
import { renderTerminal } from '../reporters/terminal';
import { codeOf } from './support/transport-kit';
import { ROOT, runCli } from './support/cli';

/**
 * The command-line conventions: the parser (cli/options.ts on node:util parseArgs) as units, then the
 * real binary: --version, -h/--help on every command, strict unknown options with "did you mean",
 * `--` ending options, --quiet, list --json, and that a flag error never loads the TypeScript compiler.
 */
const DEFS: OptionDef[] = [
  { name: 'fps', type: 'number', help: 'frame rate' },
  { name: 'transport', type: 'list', help: 'transports' },
  { name: 'out', type: 'string', help: 'where' },
  { name: 'json', type: 'boolean', help: 'json' },
];

function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return `${codeOf(e)} ${(e as Error).message}`;
  }
  return 'no error';
}

describe('parseOptions', () => {
  it('takes --name value, --name=value, lists, booleans and positionals', () => {
    expect(parseOptions(['--fps', '60', '--transport=ws, unix', 'a.json', '--json', 'b.json'], DEFS)).toEqual({
      values: { fps: 60, transport: ['ws', 'unix'], json: true },
      positionals: ['a.json', 'b.json'],
    });
  });

  it('a negative number is a value, not an option', () => {
    expect(parseOptions(['--fps', '-30'], DEFS).values.fps).toBe(-30);
  });

  it('-h, --help, -q and --quiet on every parser', () => {
    expect(parseOptions(['-h'], DEFS).values).toEqual({ help: true });
    expect(parseOptions(['--help'], []).values).toEqual({ help: true });
    expect(parseOptions(['-q', '--json'], DEFS).values).toEqual({ quiet: true, json: true });
  });

  it('`--` ends options: what follows is positional, even if it looks like an option', () => {
    expect(parseOptions(['--json', '--', '--fps', '-h'], DEFS)).toEqual({ values: { json: true }, positionals: ['--fps', '-h'] });
  });

  it('refuses with FB_ERR_USAGE: unknown options (with a suggestion), missing values, values of flags, repeats', () => {
    expect(thrown(() => parseOptions(['--fsp', '3'], DEFS, 'framebench run'))).toBe('FB_ERR_USAGE framebench run: unknown option --fsp (did you mean --fps?)');
    expect(thrown(() => parseOptions(['--transprot', 'ws'], DEFS))).toContain('did you mean --transport?');
    expect(thrown(() => parseOptions(['--zzzzzz'], DEFS))).toMatch(/^FB_ERR_USAGE .*unknown option --zzzzzz \(see /);
    expect(thrown(() => parseOptions(['-x'], DEFS))).toMatch(/^FB_ERR_USAGE .*unknown option -x/);
    expect(thrown(() => parseOptions(['--fps'], DEFS))).toMatch(/^FB_ERR_USAGE .*--fps needs a value/);
    expect(thrown(() => parseOptions(['--out', '--json'], DEFS))).toMatch(/^FB_ERR_USAGE .*--out needs a value/);
    expect(thrown(() => parseOptions(['--json=1'], DEFS))).toMatch(/^FB_ERR_USAGE .*--json takes no value/);
    expect(thrown(() => parseOptions(['--fps', '1', '--fps=2'], DEFS))).toMatch(/^FB_ERR_USAGE .*--fps given twice/);
  });

  it('a number option refuses a non-number with FB_ERR_BAD_NUMBER', () => {
    expect(thrown(() => parseOptions(['--fps', 'abc'], DEFS))).toMatch(/^FB_ERR_BAD_NUMBER /);
    expect(thrown(() => parseOptions(['--fps='], DEFS))).toMatch(/^FB_ERR_BAD_NUMBER /);
  });

  it('"did you mean": close words only', () => {
    expect(editDistance('fsp', 'fps')).toBe(1); // a swap of neighbours is one edit
    expect(closest('lst', ['run', 'list', 'gate'])).toBe('list');
    expect(closest('dur', ['duration', 'fps'])).toBe('duration'); // a prefix
    expect(closest('banana', ['run', 'list', 'gate'])).toBeNull();
  });

  it('help comes from the declarations, with -h and -q', () => {
    const h = renderHelp('Usage: x', 'Summary.', DEFS);
    for (const l of ['--fps NUMBER', '--transport LIST', '--json', '-h, --help', '-q, --quiet']) expect(h).toContain(l);
    for (const line of h.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });
});

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-cli-parse-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const COMMANDS = ['run', 'list', 'check-transport', 'gate', 'torture', 'report', 'compare', 'capture'];

describe('the binary', () => {
  it('--version and -V print package.json\'s version on stdout, exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag], { timeoutMs: 20_000 });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it.each(COMMANDS)('%s: -h and --help print its usage on stdout, exit 0', async (cmd) => {
    for (const flag of ['-h', '--help']) {
      const r = await runCli([cmd, flag], { timeoutMs: 20_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: (framebench|bench) ${cmd}`)); // gate and compare: their text is #14's
      expect(r.stdout).toContain('-h, --help');
    }
  });

  it('an unknown command suggests the closest one', async () => {
    const r = await runCli(['lsit'], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^FB_ERR_USAGE: unknown command 'lsit' \(did you mean list\?\)/);
  });

  it('list --json: every transport and scenario as data on stdout, nothing on stderr', async () => {
    const r = await runCli(['list', '--json'], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { transports: Array<{ name: string; runsHere: boolean; reason: string | null }>; scenarios: Array<{ name: string }> };
    expect(j.transports.map((t) => t.name)).toContain('shm');
    for (const t of j.transports) expect(t.runsHere).toBe(t.reason === null);
    expect(j.scenarios.map((s) => s.name)).toContain('realtime');
    expect(r.stderr).toBe('');
  });

  it('list fits 120 columns unless --wide', async () => {
    const r = await runCli(['list'], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(120);
  });

  it('--quiet: a report to a file says nothing; an error is still printed', async () => {
    const results = path.join(ROOT, 'docs', 'samples', 'results.json');
    const loud = await runCli(['report', results, '--out', path.join(tmp, 'a.md')], { timeoutMs: 30_000 });
    expect(loud.stderr).toContain('wrote md report');
    const quiet = await runCli(['report', results, '--out', path.join(tmp, 'b.md'), '--quiet'], { timeoutMs: 30_000 });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    const bad = await runCli(['run', '-q', '--fps', '0'], { timeoutMs: 30_000 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^FB_ERR_BAD_NUMBER: /);
  });

  it('`--` ends options: report takes a file named like an option', async () => {
    const r = await runCli(['report', '--', '--not-an-option.json'], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^FB_ERR_BAD_RESULT_FILE: /); // read as a file, not refused as an option
  });
});

/** Whether the `typescript` package was loaded by a CLI run (test/support/trace-requires.js). */
async function loadsTypeScript(args: string[], code: string): Promise<boolean> {
  const out = path.join(tmp, `trace-${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli(args, { timeoutMs: 60_000, env: { NODE_OPTIONS: `--require ${path.join(__dirname, 'support', 'trace-requires.js')}`, FB_TRACE_OUT: out } });
  expect(r.stderr).toContain(`${code}:`);
  return (JSON.parse(readFileSync(out, 'utf8')) as { typescript: boolean }).typescript;
}

describe('flags are checked before the config loads', () => {
  it.each([
    [['run', '--transport', 'nope'], 'FB_ERR_UNKNOWN_TRANSPORT'],
    [['run', '--fps', '0'], 'FB_ERR_BAD_NUMBER'],
    [['run', '--scenario', 'burst'], 'FB_ERR_UNKNOWN_SCENARIO'],
    [['run', '--resolution', 'huge'], 'FB_ERR_BAD_RESOLUTION'],
    [['run', '--verify', 'maybe'], 'FB_ERR_USAGE'],
    [['run', '--turbo'], 'FB_ERR_USAGE'],
  ])('%j: %s without loading the TypeScript compiler', async (args, code) => {
    expect(await loadsTypeScript(args, code)).toBe(false);
  });

  it('the probe sees TypeScript when a .ts config does load (so the checks above can fail)', async () => {
    const cfg = path.join(tmp, 'slow.config.ts');
    writeFileSync(cfg, 'const fps: number = 0;\nexport default { fps };\n');
    expect(await loadsTypeScript(['run', '--config', cfg], 'FB_ERR_CONFIG')).toBe(true);
  });
});

describe('terminal tables', () => {
  it('fit 120 columns by default; --wide shows every column', () => {
    const run = loadRunResult(path.join(ROOT, 'docs', 'samples', 'results.json'));
    const narrow = renderTerminal(run, { width: 120 });
    for (const line of narrow.split('\n')) expect(line.length, line).toBeLessThanOrEqual(120);
    expect(narrow).toContain('CPU µs/f');
    expect(narrow).not.toContain('kernel B/f');
    const wide = renderTerminal(run); // every column: renderRun's 'terminal', --wide
    for (const h of ['CPU µs/f prod', 'kernel B/f P/C', 'GB/s', 'p99.9']) expect(wide).toContain(h);
    expect(Math.max(...wide.split('\n').map((l) => l.length))).toBeGreaterThan(120);
  });
});

describe('bench sweep presets', () => {
  it('an option given after the preset replaces the preset\'s own (no "given twice")', () => {
    const args = SWEEP_PRESETS.size.args;
    const kept = withoutOverridden(args, ['--out', '/tmp/x', '--rounds=3']);
    expect(kept).not.toContain('--out');
    expect(kept).not.toContain('--rounds');
    expect(kept).toContain('--resolution');
    expect(kept.length).toBe(args.length - 4);
    expect(withoutOverridden(args, [])).toEqual(args);
  });
});
