/**
 * Errors thrown by @trit/ternary. Each names what was being processed and the
 * expected versus found values, so a failure deep in a model load is readable.
 */

/** An array is shorter (or longer) than the shape, block size or format requires. */
export class TernaryLengthError extends RangeError {
  override readonly name = 'TernaryLengthError';
  constructor(
    /** What was being read or built, e.g. `"tq2_0 decode: bytes"`. */
    readonly subject: string,
    readonly expected: number,
    readonly found: number,
    detail = '',
  ) {
    super(`${subject}: expected ${expected}, found ${found}${detail ? ` (${detail})` : ''}`);
  }
}

/** A parameter or value is outside what the operation accepts (bad block size, non-finite scale …). */
export class TernaryValueError extends RangeError {
  override readonly name = 'TernaryValueError';
  constructor(
    readonly subject: string,
    message: string,
    /** Element or block index the problem was found at, when there is one. */
    readonly index?: number,
  ) {
    super(`${subject}: ${message}`);
  }
}

/** A format name that is not in the registry. */
export class TernaryFormatError extends Error {
  override readonly name = 'TernaryFormatError';
  constructor(
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super(`unknown ternary format "${requested}"; known formats: ${known.join(', ')}`);
  }
}

export function assertCount(subject: string, what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TernaryValueError(subject, `${what} must be a non-negative safe integer, got ${value}`);
  }
}

export function assertPositiveInteger(subject: string, what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TernaryValueError(subject, `${what} must be a positive integer, got ${value}`);
  }
}
