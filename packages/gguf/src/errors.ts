/**
 * Errors thrown by @trit/gguf. Every one names the file (or buffer), the byte
 * offset where the problem is, and what was expected versus found, because a
 * GGUF is usually someone else's file and the message is all the user gets.
 */

export interface GgufErrorDetails {
  /** The file path, or a label such as `"<buffer>"` or `"<blob>"`. */
  source?: string;
  /** Byte offset in the file where the problem was found. */
  offset?: number;
  /** The tensor concerned, when there is one. */
  tensor?: string;
  /** The metadata key concerned, when there is one. */
  key?: string;
  expected?: string;
  found?: string;
}

function describe(message: string, details: GgufErrorDetails): string {
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

/** A GGUF file is malformed, truncated, or uses something this reader does not support. */
export class GgufError extends Error {
  override name = 'GgufError';
  readonly source?: string;
  readonly offset?: number;
  readonly tensor?: string;
  readonly key?: string;
  readonly expected?: string;
  readonly found?: string;
  /** The message without the location prefix. */
  readonly reason: string;

  constructor(reason: string, details: GgufErrorDetails = {}, options?: { cause?: unknown }) {
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

/** A metadata key is missing or holds a different GGUF type than the accessor asked for. */
export class GgufMetadataError extends GgufError {
  override name = 'GgufMetadataError';
}

/** A tensor's type cannot be read the way it was asked (e.g. dequantizing an opaque TL2 tensor). */
export class GgufUnsupportedError extends GgufError {
  override name = 'GgufUnsupportedError';
}

/** The writer was given something it cannot put in a file llama.cpp would load. */
export class GgufWriteError extends GgufError {
  override name = 'GgufWriteError';
}

/** The operation was aborted through its AbortSignal. */
export class GgufAbortError extends GgufError {
  override name = 'AbortError';
}
