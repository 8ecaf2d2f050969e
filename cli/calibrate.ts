import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { HOST_PROFILE_SCHEMA, type HostProfile } from '../core/cost';
import { fbError } from '../core/errors';
import { payloadBytesFor } from '../core/frame';
import { calibrate, calibrateAllCores } from '../measure/calibrate';
import { hostInfo } from '../measure/host';
import { info } from './output';
import { parseOptions, renderHelp, type OptionDef } from './options';

const OPTIONS: OptionDef[] = [
  { name: 'out', type: 'string', arg: 'FILE', help: 'where the host profile goes (default: host-profile.json)' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

export const CALIBRATE_HELP = renderHelp(
  'Usage: bench calibrate [--out FILE]',
  'Measures this host\'s cache-cold copy speed of a 1080p I420 frame on one core and with every core copying at once,\n' +
    'and writes a small host profile (cores, CPU model, both speeds). Price a run made elsewhere as if on this host:\n' +
    'bench report results.json --price-host host-profile.json',
  OPTIONS,
);

/** Reads and checks a host profile (FB_ERR_BAD_RESULT_FILE when it is not one). */
export function loadHostProfile(file: string): HostProfile {
  let p: HostProfile;
  try {
    p = JSON.parse(readFileSync(file, 'utf8')) as HostProfile;
  } catch (e) {
    throw fbError('FB_ERR_BAD_RESULT_FILE', `host profile ${file}: ${(e as Error).message}`);
  }
  const ok = p && p.schema === HOST_PROFILE_SCHEMA && p.cores > 0 && p.singleCoreGBps > 0 && p.allCoreGBps > 0;
  if (!ok) throw fbError('FB_ERR_BAD_RESULT_FILE', `host profile ${file}: not a ${HOST_PROFILE_SCHEMA} file with cores, singleCoreGBps and allCoreGBps (write one with: bench calibrate)`);
  return p;
}

/** `bench calibrate`: writes the host profile. */
export async function calibrateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, 'framebench calibrate');
  if (values.help) {
    process.stdout.write(CALIBRATE_HELP);
    return 0;
  }
  if (positionals.length) throw fbError('FB_ERR_USAGE', `unexpected argument '${positionals[0]}'`);
  const out = path.resolve(typeof values.out === 'string' ? values.out : 'host-profile.json');
  const frameBytes = payloadBytesFor('i420', 1920, 1080);
  info('calibrating: one core, then every core at once (a few seconds)');
  const one = await calibrate([frameBytes]);
  const all = await calibrateAllCores([frameBytes]);
  if (!all.allCoreMemcpyGBps) throw fbError('FB_ERR_INTERNAL', 'the all-core copy measurement failed');
  const host = hostInfo();
  const profile: HostProfile = {
    schema: HOST_PROFILE_SCHEMA, hostname: host.hostname, cpuModel: host.cpuModel, ...(one.cpu ? { cpu: one.cpu } : {}),
    cores: all.allCoreCopiers ?? host.cores, singleCoreGBps: one.memcpyGBps, allCoreGBps: all.allCoreMemcpyGBps, frameBytes,
    measuredAt: new Date().toISOString(),
  };
  try {
    writeFileSync(out, JSON.stringify(profile, null, 2) + '\n');
  } catch (e) {
    throw fbError('FB_ERR_OUT_UNWRITABLE', `${out}: ${(e as Error).message}`);
  }
  info(`${profile.hostname} (${profile.cpuModel}, ${profile.cores} cores): one core ${profile.singleCoreGBps} GB/s, all cores ${profile.allCoreGBps} GB/s${one.noise?.noisy ? ` (noisy host: ${one.noise.reason ?? ''})` : ''}\nhost profile: ${out}`);
  return 0;
}
