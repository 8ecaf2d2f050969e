import { fbError } from '../core/errors';
import { info } from './output';
import { runCommand, RUN_HELP } from './run';

/**
 * `bench sweep [size|producers|fps|fragments] [bench run options]`: a preset sweep (docs/sweeps.md). It is
 * `bench run` with the preset's options first, so any option given after the preset's name overrides it.
 */
export const SWEEP_PRESETS: Record<string, { about: string; args: string[] }> = {
  size: {
    about: 'I420 360p, 720p, 1080p, 4K over ws, unix, tcp, shm, realtime at 30 fps: the cost law (fixed + per byte) and crossing points',
    args: ['--transport', 'ws,unix,tcp,shm', '--scenario', 'realtime', '--format', 'i420', '--resolution', '360p,720p,1080p,4k',
      '--rounds', '9', '--duration', '1.2', '--warmup', '0.3', '--out', 'reports/sweep-size'],
  },
  producers: {
    about: '1, 2, 4 producers into one consumer (multi-producer, 720p I420, 30 fps each): throughput and consumer CPU per frame',
    args: ['--transport', 'ws,unix,tcp,shm', '--scenario', 'multi-producer', '--format', 'i420', '--resolution', '720p', '--producers', '1,2,4',
      '--rounds', '5', '--duration', '1.2', '--warmup', '0.3', '--out', 'reports/sweep-producers'],
  },
  fps: {
    about: '15, 30, 60, 120 fps (realtime, 720p I420): idle CPU per second apart from CPU per frame',
    args: ['--transport', 'ws,unix,tcp,shm', '--scenario', 'realtime', '--format', 'i420', '--resolution', '720p', '--fps', '15,30,60,120',
      '--rounds', '5', '--duration', '1.2', '--warmup', '0.3', '--out', 'reports/sweep-fps'],
  },
  fragments: {
    about: 'ws WebSocket fragment sizes 0 (one frame), 16 KiB, 64 KiB, 131000 B at 1080p I420, realtime',
    args: ['--transport', 'ws', '--scenario', 'realtime', '--format', 'i420', '--resolution', '1080p', '--fragment-bytes', '0,16384,65536,131000',
      '--rounds', '5', '--duration', '1.2', '--warmup', '0.3', '--out', 'reports/sweep-fragments'],
  },
};

export const SWEEP_HELP = `Usage: bench sweep [${Object.keys(SWEEP_PRESETS).join('|')}] [bench run options]

Runs a preset sweep (default: size): every combination of the listed values is measured in the same
interleaved rounds; the report fits each transport's cost law and where the lines cross (docs/sweeps.md).
Options after the preset's name override the preset's.

Presets:
${Object.entries(SWEEP_PRESETS).map(([k, v]) => `  ${k.padEnd(10)} ${v.about}\n  ${''.padEnd(10)} = bench run ${v.args.join(' ')}`).join('\n')}

${RUN_HELP.split('\n').slice(RUN_HELP.split('\n').indexOf('Options:')).join('\n')}`;

/** The preset's `--name value` pairs that `rest` does not give again (bench run refuses an option given twice). */
export function withoutOverridden(presetArgs: string[], rest: string[]): string[] {
  const given = new Set(rest.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]));
  const out: string[] = [];
  for (let i = 0; i < presetArgs.length; i += 2) {
    if (!given.has(presetArgs[i])) out.push(presetArgs[i], presetArgs[i + 1]);
  }
  return out;
}

/** `bench sweep`: returns bench run's exit code, and says how long the sweep took. */
export async function sweepCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(SWEEP_HELP);
    return 0;
  }
  const name = argv[0] && !argv[0].startsWith('--') ? argv[0] : 'size';
  const preset = SWEEP_PRESETS[name];
  if (!preset) throw fbError('FB_ERR_USAGE', `unknown sweep '${name}' (presets: ${Object.keys(SWEEP_PRESETS).join(', ')})`);
  const rest = argv[0] === name ? argv.slice(1) : argv;
  const started = Date.now();
  const code = await runCommand([...withoutOverridden(preset.args, rest), ...rest]);
  info(`sweep '${name}' took ${((Date.now() - started) / 1000).toFixed(0)} s: bench sweep ${[name, ...rest].join(' ')}`);
  return code;
}
