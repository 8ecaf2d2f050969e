import { fbError } from '../core/errors';
import { checkTransport } from '../harness/check-transport';
import { getTransport, isTransportModulePath } from '../transports/registry';
import { info } from './output';
import { parseOptions, renderHelp, type OptionDef } from './options';

const OPTIONS: OptionDef[] = [{ name: 'json', type: 'boolean', help: 'print the outcome of every check as JSON on stdout' }];

export const CHECK_TRANSPORT_HELP = renderHelp(
  'Usage: framebench check-transport <./my-transport.ts | registered name>',
  'Loads a transport module (its default export, or `transport`, implementing transports/types.ts) and runs\n' +
    'the conformance checks against it: frames whole, in order and byte-exact, per-sender order, the sender\n' +
    'learning that the receiver closed, size limits, idempotent close, declared stats. Exit 0 when every check\n' +
    'passes, 1 when one fails, 2 when the module does not load. Then measure it: framebench run --transport <file>',
  OPTIONS,
);

export async function checkTransportCommand(argv: string[]): Promise<number> {
  const p = parseOptions(argv, OPTIONS, 'framebench check-transport');
  if (p.values.help) {
    process.stdout.write(CHECK_TRANSPORT_HELP);
    return 0;
  }
  if (p.positionals.length !== 1) throw fbError('FB_ERR_USAGE', `framebench check-transport needs one transport module, got ${p.positionals.length} (see framebench check-transport --help)`);
  const name = p.positionals[0]!;
  const t = getTransport(name); // FB_ERR_UNKNOWN_TRANSPORT / FB_ERR_TRANSPORT_MODULE
  info(`check-transport: ${t.name ?? name}${isTransportModulePath(name) ? ` (${name})` : ''}`);
  const results = await checkTransport(t, (c) => info(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.ok ? '' : `: ${c.detail}`}`));
  const failed = results.filter((c) => !c.ok);
  info(failed.length ? `${failed.length} of ${results.length} checks failed` : `all ${results.length} checks passed; measure it with: framebench run --transport ${name}`);
  if (p.values.json) process.stdout.write(JSON.stringify({ transport: t.name, module: name, ok: failed.length === 0, checks: results }, null, 2) + '\n');
  return failed.length ? 1 : 0;
}
