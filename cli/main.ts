import { fbError, toFbError } from '../core/errors';
import { packageVersion } from '../core/paths';
import { didYouMean } from './options';
import { errorLine, setQuiet } from './output';

/** The commands, each in its own module, loaded only when called (a typo never loads a measurement). */
const COMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<number> }> = {
  run: { help: 'measure transports (framebench run --help)', run: (a) => require('./run').runCommand(a) },
  sweep: { help: 'preset sweeps over frame size, producers, fps: fitted cost laws (framebench sweep --help)', run: (a) => require('./sweep').sweepCommand(a) },
  list: { help: 'list transports and scenarios (--json for data)', run: (a) => require('./list').listCommand(a) },
  'check-transport': { help: 'run the conformance checks against a transport module (./my-transport.ts)', run: (a) => require('./check-transport').checkTransportCommand(a) },
  gate: { help: 'CI regression gate on CPU and copies per frame (framebench gate --help)', run: (a) => require('./gate').gateCommand(a) },
  torture: { help: 'kill, signal, stall, malformed input and soak every transport', run: (a) => require('./torture').tortureCommand(a) },
  report: { help: 're-render a saved results.json (terminal, md, html, json)', run: (a) => require('./report').reportCommand(a) },
  compare: { help: 'compare saved results', run: (a) => require('./compare').compareCommand(a) },
  calibrate: { help: 'measure this host\'s copy speeds into a host profile (for report --price-host)', run: (a) => require('./calibrate').calibrateCommand(a) },
  capture: { help: 'capture frames from headless Chromium into a fixture set', run: (a) => require('./capture').captureCommand(a) },
};

export const COMMAND_NAMES = Object.keys(COMMANDS);

export const MAIN_HELP = `Usage: framebench <command> [options]     (also installed as: bench)

framebench: what each IPC transport costs per video frame (CPU, copies, latency, throughput).

Commands:
${Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(16)} ${v.help}`).join('\n')}

Options:
  -h, --help       show this help (framebench <command> --help: the command's options)
  -V, --version    print the version
  -q, --quiet      (any command) print only errors and the data asked for

Start with: framebench run        (the default matrix; results in reports/latest/results.json)
`;

/** Exit code of an error: 1 for a bug or a dead peer, 2 for bad input. */
export function exitCodeOf(code: string): number {
  return code === 'FB_ERR_INTERNAL' || code === 'FB_ERR_PEER_GONE' ? 1 : 2;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const end = rest.indexOf('--');
  setQuiet((end < 0 ? rest : rest.slice(0, end)).some((a) => a === '--quiet' || a === '-q'));
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(MAIN_HELP);
    return cmd ? 0 : 2;
  }
  try {
    const c = COMMANDS[cmd];
    if (!c) {
      const what = cmd.startsWith('-') ? `unknown option ${cmd}${didYouMean(cmd.replace(/^-+/, ''), ['help', 'version'], '--')}` : `unknown command '${cmd}'${didYouMean(cmd, COMMAND_NAMES)}`;
      throw fbError('FB_ERR_USAGE', `${what} (commands: ${COMMAND_NAMES.join(', ')}; framebench --help)`);
    }
    return await c.run(rest);
  } catch (e) {
    const err = toFbError(e);
    errorLine(err.toLine());
    return exitCodeOf(err.code);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      errorLine(toFbError(e).toLine());
      process.exitCode = 1;
    },
  );
}
