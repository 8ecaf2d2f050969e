import { toFbError } from '../core/errors';
import { info } from './output';

const COMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<number> }> = {
  run: { help: 'measure transports (bench run --help)', run: (a) => require('./run').runCommand(a) },
  sweep: { help: 'preset sweeps over frame size, producers, fps: fitted cost laws (bench sweep --help)', run: (a) => require('./sweep').sweepCommand(a) },
  list: { help: 'list transports and scenarios', run: () => require('./list').listCommand() },
  gate: { help: 'CI regression gate on CPU and copies per frame (bench gate --help)', run: (a) => require('./gate').gateCommand(a) },
  torture: { help: 'kill, signal, stall, malformed input and soak every transport (bench torture --help)', run: (a) => require('./torture').tortureCommand(a) },
  report: { help: 're-render a saved results.json (terminal, md, html, json)', run: (a) => require('./report').reportCommand(a) },
  compare: { help: 'compare saved results', run: (a) => require('./compare').compareCommand(a) },
  calibrate: { help: 'measure this host\'s copy speeds into a host profile (for report --price-host)', run: (a) => require('./calibrate').calibrateCommand(a) },
  capture: { help: 'capture frames from headless Chromium into a fixture set', run: (a) => require('./capture').captureCommand(a) },
};

export const MAIN_HELP = `Usage: bench <command> [options]

framebench: what each IPC transport costs per video frame (CPU, copies, latency, throughput).

Commands:
${Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(8)} ${v.help}`).join('\n')}

Start with: bench run        (the default matrix; results in reports/latest/results.json)
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(MAIN_HELP);
    return cmd ? 0 : 2;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    info(`FB_ERR_USAGE: unknown command '${cmd}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (e) {
    const err = toFbError(e);
    info(err.toLine());
    return err.code === 'FB_ERR_INTERNAL' || err.code === 'FB_ERR_PEER_GONE' ? 1 : 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      info(toFbError(e).toLine());
      process.exitCode = 1;
    },
  );
}
