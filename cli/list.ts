import { SCENARIOS } from '../scenarios';
import { getTransport, transportNames } from '../transports/registry';
import { renderTable } from '../reporters/table';

/** `bench list`: transports (with capabilities and whether they run here) and scenarios. */
export async function listCommand(): Promise<number> {
  const rows = transportNames().map((n) => {
    let reason: string | null;
    let desc = '';
    let caps = '';
    try {
      const t = getTransport(n);
      desc = t.description;
      const c = t.capabilities;
      caps = [c.zeroCopy ? 'zero-copy' : '', c.inProcess ? 'in-process' : '', c.needsServer ? 'server' : '', c.topology === 'consumer-forks-producers' ? 'consumer-forks-producers' : '', c.compliant ? '' : 'NON-COMPLIANT'].filter(Boolean).join(' ');
      reason = t.unavailableReason();
    } catch (e) {
      reason = (e as Error).message.split('\n')[0];
    }
    return [n, reason ? `no: ${reason}` : 'yes', caps || '-', desc];
  });
  process.stdout.write('Transports\n' + renderTable(['name', 'runs here', 'capabilities', 'description'], rows, 4) + '\n\n');
  const srows = SCENARIOS.map((s) => [s.name, s.description]);
  process.stdout.write('Scenarios\n' + renderTable(['name', 'description'], srows, 2) + '\n');
  return 0;
}
