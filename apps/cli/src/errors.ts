/** A usage mistake: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An input the command cannot read (missing, a directory where a file is wanted …): printed alone, exit code 1. */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    /** The path as given. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}
