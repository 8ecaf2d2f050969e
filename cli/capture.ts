import { join } from 'node:path';
import { captureFixtures } from '../sources/capture';
import { DEFAULT_FIXTURE_ROOT } from '../sources/fixture-set';
import { fbError } from '../core/errors';
import { frameSpec, parseResolution } from '../core/spec';
import { clearProgress, info, progress } from './output';
import { noPositionals, parseOptions, renderHelp, type OptionDef } from './options';

/** `bench capture`: frames of the call page in headless Chromium -> a fixture set on disk. */
export const CAPTURE_OPTIONS: OptionDef[] = [
  { name: 'frames', type: 'number', arg: 'N', help: 'frames to capture (default: 30)' },
  { name: 'resolution', type: 'string', arg: '1080p|720p|4k|360p|WxH', help: 'page and frame size (default: 1080p)' },
  { name: 'seed', type: 'number', arg: 'N', help: 'page content seed (default: 1)' },
  { name: 'name', type: 'string', arg: 'NAME', help: 'fixture name, used by --source fixture:NAME (default: call-<resolution>-s<seed>)' },
  { name: 'out', type: 'string', arg: 'DIR', help: 'output directory (default: .cache/fixtures/<name>)' },
  { name: 'chromium', type: 'string', arg: 'PATH', help: 'Chromium executable (default: $CHROMIUM_PATH or /usr/bin/chromium)' },
  { name: 'json', type: 'boolean', help: 'print the manifest JSON on stdout' },
];

export const CAPTURE_HELP = renderHelp(
  'Usage: framebench capture [--frames N] [--resolution R] [--seed N] [--name NAME] [--out DIR]',
  'Renders fixtures/page/call.html (a video call: participant tiles, names, a shared screen) in\nheadless Chromium, captures N frames and writes rgba.raw, i420.raw (BT.601) and manifest.json.',
  CAPTURE_OPTIONS,
);

function posInt(name: string, v: unknown, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = v as number;
  if (!Number.isInteger(n) || n < min) throw fbError('FB_ERR_BAD_NUMBER', `--${name} must be an integer >= ${min}, got ${n}`);
  return n;
}

export async function captureCommand(argv: string[]): Promise<number> {
  const p = parseOptions(argv, CAPTURE_OPTIONS, 'framebench capture');
  const values = p.values;
  if (values.help) {
    process.stdout.write(CAPTURE_HELP);
    return 0;
  }
  noPositionals(p, 'framebench capture');
  const frames = posInt('frames', values.frames, 30, 1);
  const seed = posInt('seed', values.seed, 1, 0);
  const resLabel = (values.resolution as string | undefined) ?? '1080p';
  const [width, height] = parseResolution(resLabel);
  frameSpec('i420', width, height); // fixtures hold I420: even sizes only (FB_ERR_BAD_RESOLUTION)
  const name = (values.name as string | undefined) ?? `call-${resLabel.toLowerCase()}-s${seed}`;
  if (!/^[\w.-]+$/.test(name)) throw fbError('FB_ERR_USAGE', `--name '${name}' may hold only letters, digits, '.', '_' and '-'`);
  const outDir = (values.out as string | undefined) ?? join(DEFAULT_FIXTURE_ROOT, name);

  info(`capture: ${frames} frames of ${width}x${height}, seed ${seed}, into ${outDir}`);
  const r = await captureFixtures({
    frames,
    width,
    height,
    seed,
    name,
    outDir,
    chromiumPath: values.chromium as string | undefined,
    onProgress: (done, total, fps) => progress(`capture ${done}/${total} frames  ${fps.toFixed(1)} frames/s`),
  });
  clearProgress();
  const m = r.manifest;
  const mb = (Object.values(m.formats).reduce((s, e) => s + (e?.bytes ?? 0), 0) / 1e6).toFixed(1);
  info(`captured ${m.count} frames in ${r.seconds.toFixed(2)} s: ${r.framesPerSecond.toFixed(1)} frames/s (${m.capture.chromiumVersion}); ${mb} MB in ${r.dir}`);
  info(`use it with: bench run --source fixture:${name}`);
  if (values.json) process.stdout.write(JSON.stringify(m) + '\n');
  return 0;
}
