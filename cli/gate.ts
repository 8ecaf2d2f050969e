import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { defaultConfigPath, loadConfig } from '../harness/config';
import { fromRoot } from '../core/paths';
import { copyAccountingHooks } from '../harness/copy-hooks';
import { fbError } from '../core/errors';
import { appendSamples, collectMetrics, compareToBaseline, confirmOutcome, DEFAULT_GATE, withoutSkipped, GATE_BASELINE_SCHEMA, GATE_OUTCOME_SCHEMA, type GateBaseline, type GateOutcome, type GateSettings } from '../core/gate';
import { hostInfo } from '../measure/host';
import type { RunResult } from '../core/result';
import { resolveSettings, runBench } from '../harness/runner';
import { renderGateMarkdown, renderGateTerminal } from '../reporters/gate';
import { clearProgress, info, progress } from './output';
import { gateAgainst } from './gate-against';
import { parseOptions, renderHelp, type OptionDef } from './options';
import { ensureWritableDir } from './out-dir';

export const GATE_OPTIONS: OptionDef[] = [
  { name: 'against', type: 'string', arg: 'REF', help: 'measure this tree and git REF (built in a temporary worktree) in the same paired rounds, instead of a baseline' },
  { name: 'require', type: 'boolean', help: 'a transport that cannot run here is a failure (exit 2), not skipped' },
  { name: 'baseline', type: 'string', arg: 'FILE', help: 'baseline to compare with (default: bench/baseline.json)' },
  { name: 'update', type: 'boolean', help: 'measure and rewrite the baseline, printing the difference' },
  { name: 'append', type: 'boolean', help: 'measure and add the samples to the baseline (run at other times: its spread then holds run-to-run drift)' },
  { name: 'repeats', type: 'number', arg: 'N', help: 'repeats of the gate matrix (default from bench.config.ts gate, 4)' },
  { name: 'transport', type: 'list', arg: 'ws,unix,...|all', help: 'transports (default: the gate matrix)' },
  { name: 'scenario', type: 'string', arg: 'NAME', help: 'scenario to measure (default: realtime; with --against: saturate)' },
  { name: 'resolution', type: 'string', arg: 'WxH|1080p', help: 'frame size (default: 1080p)' },
  { name: 'duration', type: 'number', arg: 'S', help: 'window per case, seconds (default: 1.5)' },
  { name: 'warmup-max', type: 'number', arg: 'S', help: 'warm up until the processes stop faulting, at most S seconds (default: 3; 0: the fixed warm-up only)' },
  { name: 'out', type: 'string', arg: 'DIR', help: 'where gate.json and gate.md go (default: reports/gate)' },
  { name: 'config', type: 'string', arg: 'FILE', help: 'config file (default: ./bench.config.ts)' },
  { name: 'json', type: 'boolean', help: 'print the gate outcome as JSON on stdout' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

export const GATE_HELP = renderHelp(
  'Usage: bench gate [--against REF | --baseline FILE] [--update | --append] [options]',
  'Runs the gate matrix (repeated) and compares copy passes and CPU per frame (copy-equivalents)\nwith the baseline. Exit 0 pass, 1 regression, 2 could not measure.',
  GATE_OPTIONS,
);

function loadBaseline(file: string): GateBaseline | null {
  if (!existsSync(file)) return null;
  try {
    const b = JSON.parse(readFileSync(file, 'utf8')) as GateBaseline;
    if (b.schema !== GATE_BASELINE_SCHEMA) throw new Error(`schema is not ${GATE_BASELINE_SCHEMA}`);
    return b;
  } catch (e) {
    throw fbError('FB_ERR_BAD_RESULT_FILE', `baseline ${file}: ${(e as Error).message}`);
  }
}

/** `bench gate`: exit 0 pass, 1 regression, 2 could not measure. */
export async function gateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, GATE_OPTIONS, 'framebench gate');
  if (values.help) {
    process.stdout.write(GATE_HELP);
    return 0;
  }
  if (positionals.length) throw fbError('FB_ERR_USAGE', `unexpected argument '${positionals[0]}'`);
  const cfg = loadConfig(typeof values.config === 'string' ? values.config : defaultConfigPath());
  const g: GateSettings = { ...DEFAULT_GATE, ...(cfg.gate as Partial<GateSettings> | undefined) };
  if (values.repeats !== undefined) g.repeats = values.repeats as number;
  if (values.transport !== undefined) g.transports = values.transport as string[];
  if (values.resolution !== undefined) g.resolution = values.resolution as string;
  const against = typeof values.against === 'string';
  if (values.scenario !== undefined) {
    if (against) g.againstScenario = values.scenario as string;
    else g.scenario = values.scenario as string;
  }
  if (values.duration !== undefined) g.durationS = values.duration as number;
  if (values['warmup-max'] !== undefined) g.warmupMaxS = values['warmup-max'] as number;
  if (!Number.isInteger(g.repeats) || g.repeats < 2) throw fbError('FB_ERR_BAD_NUMBER', `--repeats must be a whole number >= 2 (noise needs repeats), got ${g.repeats}`);
  if (typeof values.against === 'string' && (values.update || values.append)) throw fbError('FB_ERR_USAGE', '--against measures two trees; --update and --append work on the baseline');
  if (typeof values.against === 'string') g.againstRounds = values.repeats === undefined ? g.againstRounds : g.repeats;
  const baselineFile = path.resolve(typeof values.baseline === 'string' ? values.baseline : fromRoot('bench', 'baseline.json'));
  const baseline = loadBaseline(baselineFile);
  if (values.append && !baseline) throw fbError('FB_ERR_CONFIG', `--append needs an existing baseline at ${baselineFile} (start with --update)`);
  if (!baseline && !values.update && typeof values.against !== 'string') {
    info(`FB_ERR_CONFIG: no baseline at ${baselineFile}; create one with: bench gate --update`);
    return 2;
  }
  const settings = resolveSettings({
    transports: g.transports, scenarios: [against ? g.againstScenario : g.scenario], formats: [g.format], resolution: g.resolution, fps: g.fps,
    durationS: g.durationS, warmupS: g.warmupS, warmupMaxS: g.warmupMaxS, malloc: g.malloc, producers: 1, verify: 'sample', source: 'synthetic',
    copyAccounting: true, policy: 'block', transportOptions: cfg.transportOptions,
  });
  const copy = copyAccountingHooks(true);
  if (!copy.hooks) {
    info(`gate could not measure: ${copy.note}`);
    return 2;
  }
  const hooks = copy.hooks;
  const out = ensureWritableDir(typeof values.out === 'string' ? values.out : path.join('reports', 'gate'));
  if (typeof values.against === 'string') return gateAgainst({ ref: values.against, settings, gate: g, hooks, outDir: out, json: Boolean(values.json), require: Boolean(values.require) });
  if (values.require && settings.skipped.length) {
    info(`gate could not measure: ${settings.skipped.map((s) => `${s.transport}: ${s.reason}`).join('; ')} (--require)`);
    return 2;
  }
  /** The gate matrix, repeated; a repeat with a failed case is run once more before giving up. */
  const measure = async (transports: string[], label: string): Promise<GateBaseline['metrics'] | string> => {
    const runs: RunResult[] = [];
    for (let i = 0; i < g.repeats; i++) {
      let run: RunResult | null = null;
      for (let attempt = 0; attempt < 2 && !run; attempt++) {
        const r = await runBench({ ...settings, transports, allCoreCalibration: false }, {
          processHooks: hooks,
          onCaseStart: (k, n, c) => progress(`gate ${label} repeat ${i + 1}/${g.repeats} [${k + 1}/${n}] ${c.transport}`),
        });
        clearProgress();
        const bad = r.results.filter((c) => c.status !== 'ok');
        if (bad.length === 0) run = r;
        else if (attempt === 1) return bad.map((c) => `${c.transport}: ${c.status} ${c.error ?? ''}`).join('; ');
        else info(`gate: repeat ${i + 1} had a failed case (${bad.map((c) => `${c.transport} ${c.status}`).join(', ')}); measuring it again`);
      }
      runs.push(run as RunResult);
    }
    return collectMetrics(runs);
  };
  const metrics = await measure(settings.transports, 'matrix');
  if (typeof metrics === 'string') {
    info(`gate could not measure: ${metrics}`);
    return 2;
  }
  const fresh: GateBaseline = { schema: GATE_BASELINE_SCHEMA, createdAt: new Date().toISOString(), host: hostInfo(), settings: g, metrics };

  if (values.append) {
    const merged: GateBaseline = { ...(baseline as GateBaseline), createdAt: fresh.createdAt, metrics: appendSamples((baseline as GateBaseline).metrics, metrics) };
    writeFileSync(baselineFile, JSON.stringify(merged, null, 2) + '\n');
    info(renderGateTerminal(compareToBaseline(baseline as GateBaseline, metrics, g), 'this measurement against the baseline before it was appended'));
    info(`baseline appended: ${baselineFile}`);
    return 0;
  }
  if (values.update) {
    mkdirSync(path.dirname(baselineFile), { recursive: true });
    writeFileSync(baselineFile, JSON.stringify(fresh, null, 2) + '\n');
    if (baseline) info(renderGateTerminal(compareToBaseline(baseline, metrics, g), 'difference from the previous baseline'));
    info(`baseline written: ${baselineFile}`);
    return 0;
  }
  for (const sk of settings.skipped) info(`gate: skipped (cannot run here): ${sk.transport}: ${sk.reason}`);
  const gated = withoutSkipped(baseline as GateBaseline, settings.skipped);
  let outcome: GateOutcome = compareToBaseline(gated, metrics, g);
  if (outcome.failed.length && g.confirm) {
    const again = [...new Set(outcome.failed.map((r) => r.transport))];
    info(`gate: ${outcome.failed.length} regression(s) in ${again.join(', ')}; confirming with a fresh measurement`);
    const second = await measure(again, 'confirm');
    if (typeof second === 'string') {
      info(`gate could not measure: ${second}`);
      return 2;
    }
    const onlyThese: GateBaseline = { ...gated, metrics: Object.fromEntries(again.map((t) => [t, gated.metrics[t]])) };
    outcome = confirmOutcome(outcome, compareToBaseline(onlyThese, second, g));
  }
  const hostNote = (baseline as GateBaseline).host.cpuModel !== fresh.host.cpuModel ? `baseline from another CPU (${(baseline as GateBaseline).host.cpuModel}); copy-equivalents and passes are meant to carry across` : '';
  const md = renderGateMarkdown(outcome, g, hostNote);
  writeFileSync(path.join(out, 'gate.md'), md);
  writeFileSync(path.join(out, 'gate.json'), JSON.stringify({ schema: GATE_OUTCOME_SCHEMA, settings: g, skipped: settings.skipped, outcome, current: metrics }, null, 2) + '\n');
  if (process.env.GITHUB_STEP_SUMMARY) writeFileSync(process.env.GITHUB_STEP_SUMMARY, md, { flag: 'a' });
  info(renderGateTerminal(outcome, hostNote));
  if (values.json) process.stdout.write(JSON.stringify({ schema: GATE_OUTCOME_SCHEMA, skipped: settings.skipped, outcome, current: metrics }, null, 2) + '\n');
  if (outcome.unmeasured.length) return 2;
  return outcome.failed.length ? 1 : 0;
}
