import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderTortureMarkdown, updateDoc, DOC_BEGIN, DOC_END } from '../torture/report';
import { summarize, type TortureCase, type TortureSummary } from '../torture/types';
import { wireTransportNames, unavailableReason } from '../transports/registry';
import { BIN, ROOT } from './support/cli';
import { requireOrSkip } from './support/require';
import './support/require-ts'; // the registry requires the adapters lazily: without it, none loads

/**
 * `bench torture --quick` for real (a few dozen faults and bad inputs, real processes), then
 * its summary: zero leaks, zero unreported losses, every fault case with its expected code.
 */
/**
 * Open findings in files this suite's authors may not edit, each with its owner. The torture
 * still counts them (exit 1); the test fails on anything else, and once one is fixed, on its
 * entry here too (remove it).
 */
const OPEN_FINDINGS: Record<string, string> = {
  // none open. Fixed: 'zeromq zeromq: random bytes (ZMTP)' (libzmq fell back to ZMTP/1.0 for a peer
  // whose greeting did not start with 0xff): the receivers set a ZAP domain (transports/zeromq.ts).
};
const findingKey = (c: { transport: string; name: string }): string => `${c.transport} ${c.name}`;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fbt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `bench torture ...` through the CLI once cli/main.ts lists the command, else its module directly. */
function torture(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const wired = readFileSync(path.join(ROOT, 'dist', 'cli', 'main.js'), 'utf8').includes('torture');
  const entry = wired
    ? [BIN, 'torture', ...args]
    : ['-e', `require(${JSON.stringify(path.join(ROOT, 'dist', 'cli', 'torture.js'))}).tortureCommand(process.argv.slice(1)).then((c) => { process.exitCode = c; })`, '--', ...args];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, entry, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 170_000); // a hang: code null
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('bench torture --quick (real processes)', () => {
  // the torture leaves out a transport that cannot run here: skipped, or failed under FRAMEBENCH_REQUIRE
  const runnable = wireTransportNames().filter((t) => !requireOrSkip(t, unavailableReason(t)));

  it('every fault ends with its code, every bad input is refused, nothing leaks or is lost silently', async () => {
    const tmpdir = path.join(tmp, 't');
    mkdirSync(tmpdir);
    const r = await torture(['--quick', '--seed', '7', '--json'], { TMPDIR: tmpdir });
    expect(r.code, `killed: no exit within the hang timeout\n${r.stderr.slice(-3000)}`).not.toBeNull();
    const s = JSON.parse(r.stdout) as TortureSummary;
    const failed = s.cases.filter((c) => !c.ok);
    const unexpected = failed.filter((c) => !OPEN_FINDINGS[findingKey(c)]).map((c) => `${c.transport} ${c.name}: ${c.got} ${c.detail} ${c.leaks.join(', ')}`);
    expect(unexpected, r.stderr.slice(-3000)).toEqual([]);
    for (const key of Object.keys(OPEN_FINDINGS).filter((k) => k.startsWith('zeromq'))) {
      // deterministic (not racy like the kill timing): must fail until fixed
      if (s.cases.some((c) => findingKey(c) === key)) expect(failed.map(findingKey), `fixed? remove '${key}' from OPEN_FINDINGS`).toContain(key);
    }
    expect(r.code).toBe(failed.length ? 1 : 0);
    expect(s.ok).toBe(failed.length === 0);
    const counted = s.cases.filter((c) => !OPEN_FINDINGS[findingKey(c)]);
    expect(counted.flatMap((c) => c.leaks)).toEqual([]);
    expect(s.totals.framesLostUnreported).toBe(0);
    for (const c of s.cases.filter((x) => x.group === 'kill')) expect(c.got, `${c.transport} ${c.name}`).toBe('FB_ERR_PEER_GONE');
    for (const c of s.cases.filter((x) => x.group === 'signal')) expect(c.got, `${c.transport} ${c.name}`).toBe('exit 130');
    for (const c of s.cases.filter((x) => x.group === 'malformed')) expect(c.expected, `${c.transport} ${c.name}`).toContain(c.got);
    for (const g of ['kill', 'signal', 'stall', 'malformed', 'soak']) expect(s.cases.some((c) => c.group === g), g).toBe(true);
    // every transport that can run here was killed at least once
    for (const t of runnable) expect(s.cases.some((c) => c.group === 'kill' && c.transport === t), t).toBe(true);
    expect(s.totals.badInputsTried).toBeGreaterThan(20);
    // the terminal summary is on stderr
    expect(r.stderr).toMatch(/^total\s+\d+/m);
    expect(readdirSync(tmpdir)).toEqual([]);
  }, 180_000);
});

function fakeCase(over: Partial<TortureCase>): TortureCase {
  return { group: 'kill', name: 'kill -9 consumer', transport: 'unix', expected: ['FB_ERR_PEER_GONE'], got: 'FB_ERR_PEER_GONE', ok: true, framesLostUnreported: 0, leaks: [], detail: '', ...over };
}

describe('torture summary and --update-doc', () => {
  const settings = { quick: true, soakSeconds: 8, transports: ['unix', 'ws'], seed: 1 };

  it('counts faults, bad inputs, losses and leaks; one failure makes it fail', () => {
    const good = summarize([fakeCase({}), fakeCase({ group: 'malformed', name: 'ws: x', transport: 'ws', expected: ['FB_ERR_PROTOCOL'], got: 'FB_ERR_PROTOCOL' })], [], settings, new Date().toISOString());
    expect(good.ok).toBe(true);
    expect(good.totals).toMatchObject({ casesTried: 2, faultsInjected: 1, faultsSurvived: 1, badInputsTried: 1, leaksFound: 0 });
    const leaky = summarize([fakeCase({ ok: false, leaks: ['process 1 still running'] })], [], settings, new Date().toISOString());
    expect(leaky.ok).toBe(false);
    expect(leaky.totals.leaksFound).toBe(1);
    const lossy = summarize([fakeCase({ group: 'stall', framesLostUnreported: 3, ok: false })], [], settings, new Date().toISOString());
    expect(lossy.ok).toBe(false);
    expect(renderTortureMarkdown(lossy)).toMatch(/\| total \| 1 \| 0\/1 \| - \| 3 \| 0 \|/);
  });

  it('rewrites only the text between the markers; refuses a file without them', () => {
    const file = path.join(tmp, 'doc.md');
    writeFileSync(file, `# Title\nbefore\n${DOC_BEGIN}\nold table\n${DOC_END}\nafter\n`);
    const s = summarize([fakeCase({})], [], settings, new Date().toISOString());
    updateDoc(file, renderTortureMarkdown(s));
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('old table');
    expect(text).toMatch(/^# Title\nbefore\n<!-- torture:begin -->\n`bench torture --quick/);
    expect(text).toContain('| unix | 1 | 1/1 | - | 0 | 0 |');
    expect(text.endsWith(`${DOC_END}\nafter\n`)).toBe(true);
    updateDoc(file, renderTortureMarkdown(s)); // idempotent
    expect(readFileSync(file, 'utf8')).toBe(text);
    writeFileSync(file, 'no markers\n');
    expect(() => updateDoc(file, 'x')).toThrow(expect.objectContaining({ code: 'FB_ERR_USAGE' }));
  });
});
