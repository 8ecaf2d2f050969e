import * as path from 'node:path';
import { BUILTIN_CONFIG, checkFlagSettings, defaultConfigPath, loadConfig, type BenchConfig, type SettingKey } from '../harness/config';
import { FIELDS } from '../harness/settings-schema';
import { renderTerminal } from '../reporters/terminal';
import { TERMINAL_COLUMNS } from '../reporters/table';
import { ensureWritableDir } from './out-dir';
import { combineHooks } from '../harness/coordinator';
import { copyAccountingHooks } from '../harness/copy-hooks';
import { flameHooks } from '../harness/flame-hooks';
import { renderFlameHtml } from '../reporters/html-flame';
import { costHeadline, fmtUsd } from '../core/cost';
import { writeRunFiles } from './run-files';
import { checkAxes, parseAxes, withFragment } from '../harness/plan';
import { botCostText } from '../reporters/bot';
import type { RunResult } from '../core/result';
import { resolveSettings, runBench, type RawSettings } from '../harness/runner';
import { resolutionLabel } from '../core/spec';
import { renderRun } from '../reporters/registry';
import { clearProgress, info, isTTY, progress } from './output';
import { noPositionals, parseOptions, renderHelp, type OptionDef } from './options';

/** Options that set one setting of the schema (harness/settings-schema.ts): help and checks come from it. */
const SETTING_FLAGS: Array<{ key: SettingKey; name: string; arg: string; list?: true }> = [
  { key: 'transports', name: 'transport', arg: 'ws,unix,...|all|./my-transport.ts' },
  { key: 'scenarios', name: 'scenario', arg: 'realtime|saturate|multi-producer|variable-size|all' },
  { key: 'formats', name: 'format', arg: 'i420,rgba' },
  { key: 'resolution', name: 'resolution', arg: '1080p|720p|4k|360p|WxH,...', list: true },
  { key: 'fps', name: 'fps', arg: 'N,...', list: true },
  { key: 'durationS', name: 'duration', arg: 'S' },
  { key: 'rounds', name: 'rounds', arg: 'N' },
  { key: 'warmupS', name: 'warmup', arg: 'S' },
  { key: 'warmupMaxS', name: 'warmup-max', arg: 'S' },
  { key: 'malloc', name: 'malloc', arg: 'steady|default' },
  { key: 'producers', name: 'producers', arg: 'N,...', list: true },
  { key: 'verify', name: 'verify', arg: 'checksum|sample|full' },
  { key: 'source', name: 'source', arg: 'synthetic|fixture:NAME|chromium|chromium-bot' },
  { key: 'policy', name: 'policy', arg: 'block|drop' },
];

function fmtDefault(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

function settingOption(f: (typeof SETTING_FLAGS)[number]): OptionDef {
  const schema = FIELDS[f.key] as { type?: string; description?: string };
  const type: OptionDef['type'] = f.list || schema.type === 'array' ? 'list' : schema.type === 'number' || schema.type === 'integer' ? 'number' : 'string';
  return { name: f.name, type, arg: f.arg, help: `${schema.description} (default: ${fmtDefault(BUILTIN_CONFIG[f.key])})` };
}

export const RUN_OPTIONS: OptionDef[] = [
  ...SETTING_FLAGS.map(settingOption),
  { name: 'fragment-bytes', type: 'list', arg: 'N,...', help: 'ws: largest WebSocket frame, 0 = unfragmented; a list sweeps (default: 131000)' },
  { name: 'flame', type: 'boolean', help: 'profile every process with perf; flame graphs in <out>/flame/ (linked from index.html)' },
  { name: 'no-copy-accounting', type: 'boolean', help: 'do not count memcpy/memmove with the LD_PRELOAD interposer' },
  { name: 'out', type: 'string', arg: 'DIR', help: `where results.json, index.html and summary.md go (default: ${BUILTIN_CONFIG.out})` },
  { name: 'config', type: 'string', arg: 'FILE', help: 'config file, .ts/.js/.json (default: ./bench.config.ts)' },
  { name: 'json', type: 'boolean', help: 'print the result JSON on stdout' },
  { name: 'wide', type: 'boolean', help: 'terminal tables with every column (default: the ones that fit 120 columns)' },
];

export const RUN_HELP = renderHelp(
  'Usage: framebench run [options]',
  'Runs producer and consumer processes over each transport and reports CPU, copies,\nlatency and throughput per frame. With no options it runs the default matrix;\ndefaults come from bench.config.ts (shown here: the built-in ones).',
  RUN_OPTIONS,
);

function caseLabel(c: { transport: string; scenario: string; format: string; sizes: Array<[number, number]> }): string {
  const res = c.sizes.length === 1 ? resolutionLabel(c.sizes[0][0], c.sizes[0][1]) : 'mixed';
  return `${c.transport} ${c.scenario} ${c.format} ${res}`;
}

/** '42 s elapsed, ~1m 10s left' from the windows done so far. */
function elapsedAndEta(startedMs: number, done: number, total: number): string {
  const s = (Date.now() - startedMs) / 1000;
  if (done === 0) return `${s.toFixed(0)} s elapsed`;
  const left = Math.round((s / done) * (total - done));
  return `${s.toFixed(0)} s elapsed, ~${left >= 60 ? `${Math.floor(left / 60)}m ${left % 60}s` : `${left} s`} left`;
}

/** Removes framebench shared-memory segments whose creating process is gone, and says so. */
function removeStaleSegments(): void {
  try {
    const ring = require('../transports/shm/ring') as { cleanStaleSegments(): string[] };
    const gone = ring.cleanStaleSegments();
    if (gone.length) info(`removed ${gone.length} stale shared-memory segment(s) left by dead processes: ${gone.join(', ')}`);
  } catch {
    /* the native addon is not built: no segment can have been made by this build */
  }
}

/** `bench run`: returns the exit code (0 all ok, 1 a case failed, 2 bad input). */
export async function runCommand(argv: string[]): Promise<number> {
  const p = parseOptions(argv, RUN_OPTIONS, 'framebench run');
  const values = p.values;
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  noPositionals(p, 'framebench run');
  // every flag is checked before the config file loads (a flag error never loads TypeScript)
  const given: Partial<Record<SettingKey, unknown>> = {};
  for (const f of SETTING_FLAGS) if (values[f.name] !== undefined) given[f.key] = values[f.name];
  // list flags of numbers (sweeps) arrive as strings: checked as numbers, one value or a list
  for (const k of ['fps', 'producers'] as const) {
    const v = given[k];
    if (Array.isArray(v)) given[k] = v.length === 1 ? Number(v[0]) : v.map(Number);
  }
  if (Array.isArray(given.resolution) && given.resolution.length === 1) given.resolution = given.resolution[0];
  checkFlagSettings(given, Object.fromEntries(SETTING_FLAGS.map((f) => [f.key, f.name])));
  const cfg = loadConfig(typeof values.config === 'string' ? values.config : defaultConfigPath());
  const pick = <K extends SettingKey>(k: K): BenchConfig[K] => (given[k] !== undefined ? (given[k] as BenchConfig[K]) : cfg[k]);
  const axes = parseAxes({ resolution: pick('resolution'), fps: pick('fps'), producers: pick('producers'), fragmentBytes: values['fragment-bytes'] });
  const transportOptions = withFragment(cfg.transportOptions, axes.fragmentBytes[0] ?? null);
  const raw: RawSettings = {
    transports: pick('transports'),
    scenarios: pick('scenarios'),
    formats: pick('formats'),
    resolution: axes.resolutions[0],
    fps: axes.fps[0],
    durationS: pick('durationS'),
    rounds: pick('rounds'),
    warmupS: pick('warmupS'),
    warmupMaxS: pick('warmupMaxS'),
    malloc: pick('malloc'),
    producers: axes.producers[0],
    verify: pick('verify'),
    source: pick('source'),
    copyAccounting: values['no-copy-accounting'] ? false : cfg.copyAccounting,
    policy: pick('policy'),
    transportOptions,
  };
  checkAxes(raw, axes, resolveSettings);
  const settings = { ...resolveSettings(raw), axes, argv: ['run', ...argv], profiling: values.flame ? 'flame' : null };
  const out = ensureWritableDir(typeof values.out === 'string' ? values.out : cfg.out);

  const abort = new AbortController();
  const onSignal = (sig: string): void => {
    clearProgress();
    info(`\n${sig}: stopping; cases measured so far are kept (marked incomplete)`);
    abort.abort();
  };
  const sigint = (): void => onSignal('SIGINT');
  const sigterm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  removeStaleSegments();
  const copyHooks = copyAccountingHooks(settings.copyAccounting);
  if (copyHooks.note) info(copyHooks.note);
  const flame = values.flame ? flameHooks(out, renderFlameHtml) : null;
  if (flame?.note) info(flame.note);
  const started = Date.now();
  let run: RunResult;
  try {
    run = await runBench(settings, {
      abort: abort.signal,
      processHooks: combineHooks([copyHooks.hooks, flame?.hooks]),
      onCalibrating: (r) => progress(`round ${r + 1}/${settings.rounds}: calibrating memcpy (cache-cold) ...`),
      onCaseStart: (i, n, c, r) => progress(`[${i + 1}/${n}] round ${r + 1}/${settings.rounds} ${caseLabel(c)} ... ${elapsedAndEta(started, i, n)}`),
      onCaseEnd: (i, n, r, round) => {
        const where = `[${i + 1}/${n}] round ${round + 1}/${settings.rounds} ${r.transport} ${r.scenario} ${r.format}`;
        if (r.status !== 'ok') {
          clearProgress();
          info(`${where}: ${r.status}${r.error ? ` — ${r.error}` : ''}`);
        } else if (!isTTY) {
          // off a terminal (CI, a log file): one line per finished window instead of the live line
          info(`${where}: ${Math.round(r.cpuUsPerFrame.total)} µs/frame, ${r.fps} fps (${elapsedAndEta(started, i + 1, n)})`);
        }
      },
    });
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    clearProgress();
  }
  if (!settings.copyAccounting) run.settings.copyAccounting = false;
  else run.settings.copyAccounting = copyHooks.hooks !== null;
  const { results: file, cost } = writeRunFiles(run, out, cfg.cost);
  info(renderTerminal(run, values.wide ? {} : { width: TERMINAL_COLUMNS }));
  info(`results: ${file}\nreport:  ${path.join(out, 'index.html')}${flame?.written.length ? `\nflame graphs: ${path.join(out, 'flame')}/ (${flame.written.length})` : ''}`);
  info(costHeadline(cost));
  const botLine = botCostText(run, cost.model);
  if (botLine) info(botLine);
  const hasBaseline = cost.transports.some((t) => t.transport === cost.baseline);
  for (const t of hasBaseline ? cost.transports : []) {
    if (t.transport === cost.baseline) continue;
    const d = t.savingsUsdPerYear ?? 0;
    info(`  ${cost.baseline} -> ${t.transport}${t.inProcess ? ' (in-process)' : ''}: ${d >= 0 ? 'saves' : 'costs'} ${fmtUsd(Math.abs(d))}/yr (${Math.round(Math.abs(t.savingsPct ?? 0))}% ${d >= 0 ? 'less' : 'more'}${t.savingsPctInterval && t.savingsPctInterval.n > 1 ? `; ${Math.round(t.savingsPctInterval.lo)}-${Math.round(t.savingsPctInterval.hi)}% saved over ${t.savingsPctInterval.n} paired rounds` : ''}), ${Math.round(t.totalCores).toLocaleString('en-US')} vCPUs`);
  }
  if (values.json) process.stdout.write(renderRun(run, 'json'));
  if (!run.complete) return 130;
  return run.results.every((r) => r.status === 'ok') ? 0 : 1;
}
