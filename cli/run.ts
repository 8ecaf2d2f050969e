import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { defaultConfigPath, loadConfig } from '../harness/config';
import { fbError } from '../core/errors';
import { combineHooks } from '../harness/coordinator';
import { copyAccountingHooks } from '../harness/copy-hooks';
import { flameHooks } from '../harness/flame-hooks';
import { renderFlameHtml } from '../reporters/html-flame';
import { computeCost, costHeadline, fmtUsd, resolveCostModel, type CostModelConfig } from '../core/cost';
import { findFlameLinks } from './report';
import type { RunResult } from '../core/result';
import { resolveSettings, runBench, type RawSettings } from '../harness/runner';
import { checkAxes, parseAxes, withFragment } from '../harness/plan';
import { resolutionLabel } from '../core/spec';
import { renderRun } from '../reporters/registry';
import { botCostText } from '../reporters/bot';
import { clearProgress, info, isTTY, progress } from './output';
import { parseOptions, renderHelp, type OptionDef } from './options';

export const RUN_OPTIONS: OptionDef[] = [
  { name: 'transport', type: 'list', arg: 'ws,unix,...|all', help: 'transports to measure (default from bench.config.ts: all that can run here)' },
  { name: 'scenario', type: 'list', arg: 'realtime|saturate|multi-producer|variable-size|all', help: 'scenarios (default: realtime,saturate)' },
  { name: 'format', type: 'list', arg: 'i420,rgba', help: 'pixel formats (default: i420,rgba)' },
  { name: 'resolution', type: 'list', arg: '1080p|720p|4k|360p|WxH,...', help: 'frame size; a list sweeps every size (default: 1080p)' },
  { name: 'fps', type: 'list', arg: 'N,...', help: 'frame rate of paced scenarios; a list sweeps (default: 30)' },
  { name: 'duration', type: 'number', arg: 'S', help: 'measurement window per case and round, seconds (default: 1.2)' },
  { name: 'rounds', type: 'number', arg: 'N', help: 'interleaved rounds; figures are medians over rounds with 95% intervals (default: 5)' },
  { name: 'warmup', type: 'number', arg: 'S', help: 'shortest warm-up before each window, seconds, not counted (default: 0.4)' },
  { name: 'warmup-max', type: 'number', arg: 'S', help: 'the warm-up goes on until the processes stop faulting in fresh memory, at most S seconds; 0 = fixed (default: 3)' },
  { name: 'producers', type: 'list', arg: 'N,...', help: 'producer processes of multi-producer; a list sweeps (default: 4)' },
  { name: 'verify', type: 'string', arg: 'checksum|sample|full', help: 'consumer check: every byte against the header checksum, one word per 4 KiB page, or every byte against the source (default: checksum)' },
  { name: 'source', type: 'string', arg: 'synthetic|fixture:NAME|chromium|chromium-bot', help: 'where frames come from (default: synthetic); chromium-bot: the bot page decodes call video with WebCodecs and sends I420 over its own WebSocket, measured against a no-send control (docs/chromium.md)' },
  { name: 'policy', type: 'string', arg: 'block|drop', help: 'backpressure policy when the consumer is behind (default: block)' },
  { name: 'fragment-bytes', type: 'list', arg: 'N,...', help: 'ws: largest WebSocket frame, 0 = unfragmented; a list sweeps (default: 131000)' },
  { name: 'flame', type: 'boolean', help: 'profile every process with perf; flame graphs in <out>/flame/ (linked from index.html)' },
  { name: 'no-copy-accounting', type: 'boolean', help: 'do not count memcpy/memmove with the LD_PRELOAD interposer' },
  { name: 'out', type: 'string', arg: 'DIR', help: 'where results.json goes (default: reports/latest)' },
  { name: 'config', type: 'string', arg: 'FILE', help: 'config file (default: ./bench.config.ts)' },
  { name: 'json', type: 'boolean', help: 'print the result JSON on stdout' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

export const RUN_HELP = renderHelp(
  'Usage: bench run [options]',
  'Runs producer and consumer processes over each transport and reports CPU, copies,\nlatency and throughput per frame. With no options it runs the default matrix.',
  RUN_OPTIONS,
);

function checkWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw fbError('FB_ERR_OUT_UNWRITABLE', `cannot write to --out ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

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
  const { values, positionals } = parseOptions(argv, RUN_OPTIONS);
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  if (positionals.length > 0) throw fbError('FB_ERR_USAGE', `unexpected argument '${positionals[0]}' (see bench run --help)`);
  const cfg = loadConfig(typeof values.config === 'string' ? values.config : defaultConfigPath());
  const pick = <T>(k: string, fallback: T): T => (values[k] !== undefined ? (values[k] as unknown as T) : fallback);
  const axes = parseAxes({ resolution: pick('resolution', cfg.resolution), fps: pick('fps', cfg.fps), producers: pick('producers', cfg.producers), fragmentBytes: values['fragment-bytes'] });
  const transportOptions = withFragment(cfg.transportOptions, axes.fragmentBytes[0] ?? null);
  const raw: RawSettings = {
    transports: pick('transport', cfg.transports),
    scenarios: pick('scenario', cfg.scenarios),
    formats: pick('format', cfg.formats),
    resolution: axes.resolutions[0],
    fps: axes.fps[0],
    durationS: pick('duration', cfg.durationS),
    rounds: pick('rounds', cfg.rounds),
    warmupS: pick('warmup', cfg.warmupS),
    warmupMaxS: pick('warmup-max', cfg.warmupMaxS ?? 0),
    producers: axes.producers[0],
    verify: pick('verify', cfg.verify),
    source: pick('source', cfg.source),
    copyAccounting: values['no-copy-accounting'] ? false : cfg.copyAccounting,
    policy: pick('policy', cfg.policy),
    transportOptions,
  };
  checkAxes(raw, axes, resolveSettings);
  const settings = { ...resolveSettings(raw), axes, argv: ['run', ...argv], profiling: values.flame ? 'flame' : null };
  const out = path.resolve(pick('out', cfg.out));
  checkWritable(out);

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
  const costCfg: CostModelConfig = resolveCostModel(cfg.cost as Partial<CostModelConfig> | undefined);
  run.costModel = costCfg; // recorded: bench report and compare re-price with the model the run was priced with
  const file = path.join(out, 'results.json');
  writeFileSync(file, renderRun(run, 'json'));
  const cost = computeCost(run, costCfg);
  writeFileSync(path.join(out, 'index.html'), renderRun(run, 'html', { cost, flameLinks: findFlameLinks(file, out) }));
  writeFileSync(path.join(out, 'summary.md'), renderRun(run, 'md', { cost }));
  info(renderRun(run, 'terminal'));
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
