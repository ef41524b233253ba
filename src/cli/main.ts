/**
 * The `coreface` command: a dispatcher over the commands (one file each in src/cli/), which composes the usage
 * text from theirs and turns typed errors into exit codes: 2 for usage, config and input errors, 3 for a training
 * run stopped by non-finite numbers, 1 for anything else.
 */
import { ConfigError } from '../config';
import { NumericalError } from '../train';
import { ablateCommand, collectCommand } from './ablate';
import { CliError, Command, HelpRequested, oneLine, UsageError } from './common';
import { configCommand } from './config';
import { evalCommand } from './eval';
import { listCommand } from './list';
import { reproduceCommand } from './reproduce';
import { runsCommand } from './runs';
import { trainCommand } from './train';

/** Every command, in the order of the usage text. */
const COMMANDS: readonly Command[] = [
  reproduceCommand,
  ablateCommand,
  collectCommand,
  runsCommand,
  trainCommand,
  evalCommand,
  listCommand,
  configCommand,
];

const USAGE = `coreface: CoReFace research workbench (TensorFlow.js)

Usage:
${COMMANDS.map((c) => c.usage).join('')}
Common options:
  --backend tfjs-node-gpu|wasm|cpu   force a backend (also COREFACE_BACKEND); default: tfjs-node-gpu if
                                     installed, else wasm
  -h, --help                         this help
`;

function usage(code: number): number {
  (code === 0 ? process.stdout : process.stderr).write(USAGE);
  return code;
}

/** Entry point of the `coreface` command; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') return usage(cmd === undefined ? 2 : 0);
    const command = COMMANDS.find((c) => c.name === cmd);
    if (!command) throw new UsageError(`unknown command '${cmd}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    return await command.run(rest);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (err instanceof HelpRequested) return usage(0);
    if (err instanceof UsageError) {
      process.stderr.write(`coreface: ${oneLine(err.message)}\nRun 'coreface --help' for usage.\n`);
      return 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`coreface: ${oneLine(err.message)}\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`coreface: config error: ${oneLine(err.message)}\n`);
      return 2;
    }
    if (err instanceof NumericalError) {
      process.stderr.write(`coreface: training stopped: ${oneLine(err.message)}\n`);
      return 3;
    }
    process.stderr.write(`coreface: error: ${oneLine(err.message)}\n`);
    if (process.env.COREFACE_DEBUG) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
