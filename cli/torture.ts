import { fbError } from '../core/errors';
import { runTorture } from '../torture';
import { renderTortureMarkdown, renderTortureTerminal, updateDoc } from '../torture/report';
import { parseTransports } from '../transports/registry';
import { info } from './output';
import { noPositionals, parseOptions, renderHelp, type OptionDef } from './options';

export const TORTURE_OPTIONS: OptionDef[] = [
  { name: 'transport', type: 'list', arg: 'ws,unix,...|all', help: 'transports to torture (default: every one that can run here)' },
  { name: 'quick', type: 'boolean', help: 'CI mode: one kill per transport, two stalls, two signals, an 8 s soak of ws (< 90 s)' },
  { name: 'soak-seconds', type: 'number', arg: 'N', help: 'length of each transport\'s soak, seconds (default: 180; --quick: 8)' },
  { name: 'seed', type: 'number', arg: 'N', help: 'seed of the random kill moments and random inputs (default: random, printed)' },
  { name: 'json', type: 'boolean', help: 'print the summary JSON on stdout' },
  { name: 'markdown', type: 'boolean', help: 'print the Markdown summary table on stdout' },
  { name: 'update-doc', type: 'string', arg: 'FILE', help: 'rewrite the table between <!-- torture:begin --> and <!-- torture:end --> in FILE' },
];

export const TORTURE_HELP = renderHelp(
  'Usage: framebench torture [options]',
  'Kills producers and consumers with SIGKILL at random moments, signals bench run, stalls the\n' +
    'consumer, feeds every receiver malformed input and soaks each transport; checks every case\n' +
    'ends with the right code, in time, losing no frame silently and leaking nothing.\n' +
    'Exit 0 when every case survived, 1 otherwise.',
  TORTURE_OPTIONS,
);

/** `bench torture`: returns 0 when every case survived, 1 otherwise. */
export async function tortureCommand(argv: string[]): Promise<number> {
  const p = parseOptions(argv, TORTURE_OPTIONS, 'framebench torture');
  const values = p.values;
  if (values.help) {
    process.stdout.write(TORTURE_HELP);
    return 0;
  }
  noPositionals(p, 'framebench torture');
  const quick = Boolean(values.quick);
  const soakSeconds = values['soak-seconds'] === undefined ? (quick ? 8 : 180) : Number(values['soak-seconds']);
  if (!(soakSeconds >= 2 && soakSeconds <= 86400)) throw fbError('FB_ERR_BAD_NUMBER', `--soak-seconds must be >= 2 and <= 86400, got ${soakSeconds}`);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw fbError('FB_ERR_BAD_NUMBER', `--seed must be a whole number >= 0, got ${seed}`);
  const transports = values.transport ? parseTransports((values.transport as string[]).join(',')) : undefined;
  info(`bench torture: seed ${seed}${quick ? ', quick' : ''}, soak ${soakSeconds} s per transport`);
  const summary = await runTorture({
    transports, quick, soakSeconds, seed,
    onCase: (c, i) => info(`[${i}] ${c.ok ? 'ok  ' : 'FAIL'} ${c.group.padEnd(9)} ${c.transport.padEnd(10)} ${c.name}: ${c.detail}${c.leaks.length ? `; LEAKS: ${c.leaks.join(', ')}` : ''}`),
  });
  info('');
  info(renderTortureTerminal(summary));
  const md = renderTortureMarkdown(summary);
  if (typeof values['update-doc'] === 'string') {
    updateDoc(values['update-doc'], md);
    info(`updated ${values['update-doc']}`);
  }
  if (values.markdown) process.stdout.write(md);
  if (values.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  return summary.ok ? 0 : 1;
}
