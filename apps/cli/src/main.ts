import { parseArgs } from 'node:util';
import packageJson from '../package.json' with { type: 'json' };
import { runDemo } from './demo.js';
import { formatDemoReport } from './format-report.js';

export const VERSION: string = packageJson.version;

const USAGE = `Usage: trit <command> [options]

Commands:
  demo [--json] [--seed N]   quantize, pack and store a built-in tensor, with errors and throughput

Options:
  -h, --help                 show this help
  -v, --version              print the version

Set TRIT_DEBUG=1 to print stack traces.`;

/** A usage mistake: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Runs the trit command line; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`trit: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

async function dispatch(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    console.log(VERSION);
    return 0;
  }
  if (command === 'demo') return demo(rest);
  throw new UsageError(`unknown command "${command}"`);
}

function demo(args: readonly string[]): number {
  const { values } = parseArgs({
    args: [...args],
    options: { json: { type: 'boolean', default: false }, seed: { type: 'string' } },
    strict: true,
  });
  let seed: number | undefined;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new UsageError(`--seed must be a non-negative integer, got "${values.seed}"`);
  }
  const report = runDemo({ seed });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatDemoReport(report));
  return 0;
}
