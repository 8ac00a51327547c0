/**
 * Errors thrown by @trit/safetensors. Every one names the file (or buffer),
 * the byte offset where the problem is, the tensor or key concerned, and what
 * was expected versus found: checkpoints usually come from someone else, and
 * the message is all the user gets.
 */

export interface SafetensorsErrorDetails {
  /** The file path, or a label such as `"<buffer>"` or `"<blob>"`. */
  source?: string;
  /** Byte offset in the file where the problem was found. */
  offset?: number;
  /** The tensor concerned, when there is one. */
  tensor?: string;
  /** The JSON key concerned (a `__metadata__` key, an index field …), when there is one. */
  key?: string;
  expected?: string;
  found?: string;
}

function describe(message: string, details: SafetensorsErrorDetails): string {
  const where: string[] = [];
  if (details.source !== undefined) where.push(details.source);
  if (details.offset !== undefined) where.push(`offset ${details.offset}`);
  if (details.tensor !== undefined) where.push(`tensor "${details.tensor}"`);
  if (details.key !== undefined) where.push(`key "${details.key}"`);
  let text = where.length > 0 ? `${where.join(', ')}: ${message}` : message;
  if (details.expected !== undefined || details.found !== undefined) {
    text += ` (expected ${details.expected ?? '?'}, found ${details.found ?? '?'})`;
  }
  return text;
}

/** A safetensors file or sharded checkpoint is malformed, truncated, or not what was asked for. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  readonly source?: string;
  readonly offset?: number;
  readonly tensor?: string;
  readonly key?: string;
  readonly expected?: string;
  readonly found?: string;
  /** The message without the location prefix. */
  readonly reason: string;

  constructor(reason: string, details: SafetensorsErrorDetails = {}, options?: { cause?: unknown }) {
    super(describe(reason, details), options);
    this.reason = reason;
    this.source = details.source;
    this.offset = details.offset;
    this.tensor = details.tensor;
    this.key = details.key;
    this.expected = details.expected;
    this.found = details.found;
  }
}

/** A tensor's dtype cannot be read the way it was asked (e.g. C64 as float32). */
export class SafetensorsUnsupportedError extends SafetensorsError {
  override name = 'SafetensorsUnsupportedError';
}

/** An integer element cannot be converted to float32 without rounding (readTensorFloat32 on I32/U32/I64/U64). */
export class SafetensorsInexactError extends SafetensorsError {
  override name = 'SafetensorsInexactError';
  constructor(
    /** The element's index in the tensor (row-major). */
    readonly index: number,
    /** The element's exact value, in decimal. */
    readonly value: string,
    details: SafetensorsErrorDetails = {},
  ) {
    super(`element ${index} cannot be represented exactly as float32`, {
      ...details,
      expected: 'an integer with at most 24 significant bits',
      found: value,
    });
  }
}

/** The writer was given something that would not make a valid safetensors file. */
export class SafetensorsWriteError extends SafetensorsError {
  override name = 'SafetensorsWriteError';
}

/** The operation was aborted through its AbortSignal. */
export class SafetensorsAbortError extends SafetensorsError {
  override name = 'AbortError';
}
