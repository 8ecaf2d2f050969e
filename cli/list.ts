import { SCENARIOS } from '../scenarios';
import { getTransport, transportNames } from '../transports/registry';
import { renderTable, TERMINAL_COLUMNS } from '../reporters/table';
import { noPositionals, parseOptions, renderHelp, type OptionDef } from './options';

const OPTIONS: OptionDef[] = [
  { name: 'json', type: 'boolean', help: 'print the lists as JSON on stdout' },
  { name: 'wide', type: 'boolean', help: 'do not wrap descriptions at 120 columns' },
];

export const LIST_HELP = renderHelp(
  'Usage: framebench list [--json] [--wide]',
  'Lists the registered transports (capabilities, whether each runs here and why not) and the scenarios.\nA transport module of your own is passed by path instead: framebench check-transport ./my-transport.ts',
  OPTIONS,
);

export interface TransportRow {
  name: string;
  runsHere: boolean;
  /** Why it cannot run here, or null. */
  reason: string | null;
  capabilities: string[];
  description: string;
}

export function transportRows(): TransportRow[] {
  return transportNames().map((name) => {
    let reason: string | null;
    let description = '';
    let capabilities: string[] = [];
    try {
      const t = getTransport(name);
      description = t.description;
      const c = t.capabilities;
      capabilities = [c.zeroCopy ? 'zero-copy' : '', c.inProcess ? 'in-process' : '', c.needsServer ? 'server' : '', c.topology === 'consumer-forks-producers' ? 'consumer-forks-producers' : '', c.compliant ? '' : 'NON-COMPLIANT'].filter(Boolean);
      reason = t.unavailableReason();
    } catch (e) {
      reason = (e as Error).message.split('\n')[0]!;
    }
    return { name, runsHere: reason === null, reason, capabilities, description };
  });
}

/** `framebench list`: transports and scenarios (data on stdout). */
export async function listCommand(argv: string[] = []): Promise<number> {
  const p = parseOptions(argv, OPTIONS, 'framebench list');
  if (p.values.help) {
    process.stdout.write(LIST_HELP);
    return 0;
  }
  noPositionals(p, 'framebench list');
  const transports = transportRows();
  const scenarios = SCENARIOS.map((s) => ({ name: s.name, description: s.description }));
  if (p.values.json) {
    process.stdout.write(JSON.stringify({ transports, scenarios }, null, 2) + '\n');
    return 0;
  }
  const fit = p.values.wide ? {} : { maxWidth: TERMINAL_COLUMNS };
  const rows = transports.map((t) => [t.name, t.reason ? `no: ${t.reason}` : 'yes', t.capabilities.join(' ') || '-', t.description]);
  // the reason can be long too: keep it to one short line in the narrow table
  const narrow = p.values.wide ? rows : rows.map((r) => [r[0]!, r[1]!.length > 40 ? `${r[1]!.slice(0, 39)}…` : r[1]!, r[2]!, r[3]!]);
  process.stdout.write('Transports\n' + renderTable(['name', 'runs here', 'capabilities', 'description'], narrow, 4, fit) + '\n\n');
  process.stdout.write('Scenarios\n' + renderTable(['name', 'description'], scenarios.map((s) => [s.name, s.description]), 2, fit) + '\n');
  return 0;
}
