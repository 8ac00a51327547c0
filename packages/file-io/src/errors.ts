/**
 * Located errors: every one names the file (or buffer), the byte offset, the
 * tensor or key concerned, and what was expected versus found, because the
 * files these packages read usually come from someone else and the message is
 * all the user gets. Format packages subclass LocatedError (GgufError,
 * SafetensorsError) and pass an error factory to the helpers here, so users
 * only ever see their format's error classes.
 */

export interface LocatedErrorDetails {
  /** The file path, or a label such as `"<buffer>"` or `"<blob>"`. */
  source?: string;
  /** Byte offset in the file where the problem was found. */
  offset?: number;
  /** The tensor concerned, when there is one. */
  tensor?: string;
  /** The key concerned (a metadata key, an index field …), when there is one. */
  key?: string;
  expected?: string;
  found?: string;
}

/** `source, offset N, tensor "x", key "y": reason (expected E, found F)`, leaving out what is not known. */
export function formatLocatedMessage(reason: string, details: LocatedErrorDetails): string {
  const where: string[] = [];
  if (details.source !== undefined) where.push(details.source);
  if (details.offset !== undefined) where.push(`offset ${details.offset}`);
  if (details.tensor !== undefined) where.push(`tensor "${details.tensor}"`);
  if (details.key !== undefined) where.push(`key "${details.key}"`);
  let text = where.length > 0 ? `${where.join(', ')}: ${reason}` : reason;
  if (details.expected !== undefined || details.found !== undefined) {
    text += ` (expected ${details.expected ?? '?'}, found ${details.found ?? '?'})`;
  }
  return text;
}

/** An error that says where it happened; `message` is formatLocatedMessage(reason, details). */
export class LocatedError extends Error {
  override name = 'LocatedError';
  readonly source?: string;
  readonly offset?: number;
  readonly tensor?: string;
  readonly key?: string;
  readonly expected?: string;
  readonly found?: string;
  /** The message without the location prefix. */
  readonly reason: string;

  constructor(reason: string, details: LocatedErrorDetails = {}, options?: { cause?: unknown }) {
    super(formatLocatedMessage(reason, details), options);
    this.reason = reason;
    this.source = details.source;
    this.offset = details.offset;
    this.tensor = details.tensor;
    this.key = details.key;
    this.expected = details.expected;
    this.found = details.found;
  }
}

/**
 * Builds the error a helper throws. `code` says what went wrong, so a format
 * can pick its own error class (an abort error, a write error …) or wording.
 */
export type LocatedErrorFactory<Code extends string = string> = (
  code: Code,
  reason: string,
  details: LocatedErrorDetails,
  options?: { cause?: unknown },
) => Error;

/** The factory used when none is given: a LocatedError, named `AbortError` for aborts. */
export function defaultErrorFactory(
  code: string,
  reason: string,
  details: LocatedErrorDetails,
  options?: { cause?: unknown },
): Error {
  const error = new LocatedError(reason, details, options);
  if (code === 'abort') error.name = 'AbortError';
  return error;
}

type LocatedErrorClass = new (reason: string, details?: LocatedErrorDetails, options?: { cause?: unknown }) => Error;

/**
 * A factory that throws a format's own classes: `abort` codes become
 * `classes.abort`, `write` codes `classes.write`, anything else `classes.error`.
 * `reasons` rewords particular codes, for messages a format already had.
 */
export function locatedErrorFactory(
  classes: { error: LocatedErrorClass; abort: LocatedErrorClass; write: LocatedErrorClass },
  reasons: Readonly<Partial<Record<string, string>>> = {},
): LocatedErrorFactory {
  return (code, reason, details, options) => {
    const Class = code === 'abort' ? classes.abort : code === 'write' ? classes.write : classes.error;
    return new Class(reasons[code] ?? reason, details, options);
  };
}

/** The errno code of a Node error (`ENOENT` …), or the error itself, for short messages. */
export function errorCode(error: unknown): unknown {
  return (error as NodeJS.ErrnoException)?.code ?? error;
}
