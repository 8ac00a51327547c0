import { type ParseArgsConfig, parseArgs } from 'node:util';
import { InputError } from './errors.js';

/** A value that parseArgs would take for an option name: `-5`, `-0.5`, `-.5`, `-Infinity`. */
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

/**
 * parseArgs, except that a negative number after an option that takes a
 * value is that option's value (`-n -5` reads as `--max-tokens=-5`), so the
 * command's range check answers instead of parseArgs' "argument is
 * ambiguous". Everything after `--` is left alone.
 */
export function parseCommand<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  // Only `args` changes, so the result has the shape parseArgs gives for `config`.
  return parseArgs({ ...config, args: joinNegativeValues(config.args ?? [], config.options ?? {}) } as T);
}

export function joinNegativeValues(
  args: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
): string[] {
  const takesValue = new Map<string, string>();
  for (const [name, option] of Object.entries(options)) {
    if (option.type !== 'string') continue;
    takesValue.set(`--${name}`, name);
    if (option.short) takesValue.set(`-${option.short}`, name);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const name = takesValue.get(arg);
    const next = args[i + 1];
    if (name !== undefined && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/**
 * Checks that `path` is a file the command can open, so a typo gets a plain
 * sentence instead of a raw ENOENT or EISDIR. `wanted` says what to give
 * instead of a directory (`a .gguf file`).
 */
export async function checkInputFile(path: string, wanted: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new InputError(path, 'no such file');
    if (code === 'EACCES' || code === 'EPERM') throw new InputError(path, 'permission denied');
    throw error;
  }
  if (isDirectory) throw new InputError(path, `is a directory; give ${wanted}`);
}
