import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-cli-err-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Each CLI run gets its own TMPDIR, so what it leaves behind is its own (tests run in parallel).
const privateTmp = path.join(tmp, 'tmpdir');
mkdirSync(privateTmp);
function leftovers(): string[] {
  return readdirSync(privateTmp);
}

const badConfig = path.join(tmp, 'bad.config.ts');
writeFileSync(badConfig, "import { defineConfig } from 'framebench';\nexport default defineConfig({ fps: 'fast' });\n");
const throwingConfig = path.join(tmp, 'throws.config.ts');
writeFileSync(throwingConfig, "throw new Error('boom');\nexport default {};\n");
const stringTransports = path.join(tmp, 'string-transports.json');
writeFileSync(stringTransports, JSON.stringify({ transports: 'ws' }));
const zeroFps = path.join(tmp, 'zero-fps.js');
writeFileSync(zeroFps, 'module.exports = { fps: 0 };');
const typo = path.join(tmp, 'typo.json');
writeFileSync(typo, JSON.stringify({ duration: 2 }));
const notATransport = path.join(tmp, 'not-a-transport.js');
writeFileSync(notATransport, 'module.exports = { name: 42 };');
const results = path.join(__dirname, '..', 'docs', 'samples', 'results.json');
const fileNotDir = path.join(tmp, 'a-file');
writeFileSync(fileNotDir, 'x');

// Each bad input: its stable code, exit 2, one line, no stack trace, nothing left behind.
const CASES: Array<[string, string[], string]> = [
  ['unknown transport', ['run', '--transport', 'carrier-pigeon'], 'FB_ERR_UNKNOWN_TRANSPORT'],
  ['unknown scenario', ['run', '--scenario', 'burst'], 'FB_ERR_UNKNOWN_SCENARIO'],
  ['unknown format', ['run', '--format', 'nv12'], 'FB_ERR_BAD_FORMAT'],
  ['impossible resolution', ['run', '--resolution', '0x1080'], 'FB_ERR_BAD_RESOLUTION'],
  ['garbage resolution', ['run', '--resolution', 'huge'], 'FB_ERR_BAD_RESOLUTION'],
  ['odd I420 size', ['run', '--format', 'i420', '--resolution', '641x480'], 'FB_ERR_BAD_RESOLUTION'],
  ['fps zero', ['run', '--fps', '0'], 'FB_ERR_BAD_NUMBER'],
  ['fps negative', ['run', '--fps', '-30'], 'FB_ERR_BAD_NUMBER'],
  ['fps not a number', ['run', '--fps', 'abc'], 'FB_ERR_BAD_NUMBER'],
  ['frame larger than the transport max', ['run', '--transport', 'unix', '--format', 'rgba', '--resolution', '16384x16384'], 'FB_ERR_FRAME_TOO_LARGE'],
  ['unwritable out (a file)', ['run', '--transport', 'unix', '--out', path.join(fileNotDir, 'sub')], 'FB_ERR_OUT_UNWRITABLE'],
  ['config value of the wrong type (.ts)', ['run', '--config', badConfig], 'FB_ERR_CONFIG'],
  ['config value of the wrong type (.json)', ['run', '--config', stringTransports], 'FB_ERR_CONFIG'],
  ['config value out of range (.js)', ['run', '--config', zeroFps], 'FB_ERR_CONFIG'],
  ['config with an unknown key', ['run', '--config', typo], 'FB_ERR_CONFIG'],
  ['out under procfs (run)', ['run', '--transport', 'unix', '--out', '/proc/nope'], 'FB_ERR_OUT_UNWRITABLE'],
  ['out under procfs (report)', ['report', results, '--out', '/proc/x/r.html'], 'FB_ERR_OUT_UNWRITABLE'],
  ['out that exists but takes no files (procfs)', ['run', '--transport', 'unix', '--out', '/proc/self'], 'FB_ERR_OUT_UNWRITABLE'],
  ['transport module that does not exist', ['run', '--transport', './no-such-transport.ts'], 'FB_ERR_UNKNOWN_TRANSPORT'],
  ['transport module that is not a transport', ['check-transport', notATransport], 'FB_ERR_TRANSPORT_MODULE'],
  ['list with an unknown option', ['list', '--bogus'], 'FB_ERR_USAGE'],
  ['report with an unknown option', ['report', results, '--bogus'], 'FB_ERR_USAGE'],
  ['gate with an unknown option', ['gate', '--bogus'], 'FB_ERR_USAGE'],
  ['torture with an unknown option', ['torture', '--bogus'], 'FB_ERR_USAGE'],
  ['capture with an unknown option', ['capture', '--bogus'], 'FB_ERR_USAGE'],
  ['compare with an unknown option', ['compare', '--bogus'], 'FB_ERR_USAGE'],
  ['check-transport with an unknown option', ['check-transport', '--bogus'], 'FB_ERR_USAGE'],
  ['a value given to a flag', ['run', '--json=yes'], 'FB_ERR_USAGE'],
  ['an option given twice', ['run', '--fps', '30', '--fps', '60'], 'FB_ERR_USAGE'],
  ['config that throws on load', ['run', '--config', throwingConfig], 'FB_ERR_CONFIG'],
  ['missing config', ['run', '--config', path.join(tmp, 'nope.ts')], 'FB_ERR_CONFIG'],
  ['unknown option', ['run', '--turbo'], 'FB_ERR_USAGE'],
  ['option without value', ['run', '--fps'], 'FB_ERR_USAGE'],
  ['unknown command', ['launch'], 'FB_ERR_USAGE'],
];

describe('bad input', () => {
  it.each(CASES)('%s', async (_name, args, code) => {
    const r = await runCli(args, { timeoutMs: 30_000, env: { TMPDIR: privateTmp } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${code}:`);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(leftovers()).toEqual([]);
  });

  it('a config error names the file and the key, not a flag that was never given', async () => {
    const a = await runCli(['run', '--config', zeroFps], { timeoutMs: 30_000 });
    expect(a.stderr).toMatch(/^FB_ERR_CONFIG: zero-fps\.js: fps must be > 0/);
    expect(a.stderr).not.toContain('--fps');
    const b = await runCli(['run', '--config', stringTransports], { timeoutMs: 30_000 });
    expect(b.stderr).toMatch(/^FB_ERR_CONFIG: string-transports\.json: transports /);
    const c = await runCli(['run', '--config', typo], { timeoutMs: 30_000 });
    expect(c.stderr).toContain("unknown setting 'duration' (did you mean 'durationS'?)");
  });
});
