/**
 * Errors thrown by @trit/gguf. Every one names the file (or buffer), the byte
 * offset where the problem is, and what was expected versus found, because a
 * GGUF is usually someone else's file and the message is all the user gets.
 */

import { LocatedError, type LocatedErrorDetails, locatedErrorFactory } from '@trit/file-io';

/** Where an error happened and what was expected versus found; see LocatedErrorDetails. */
export type GgufErrorDetails = LocatedErrorDetails;

/** A GGUF file is malformed, truncated, or uses something this reader does not support. */
export class GgufError extends LocatedError {
  override name = 'GgufError';
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

/** Makes @trit/file-io's failures GgufErrors; an early end of file keeps the reader's original wording. */
export const ggufFileErrors = locatedErrorFactory(
  {
    error: GgufError,
    abort: GgufAbortError,
    write: GgufWriteError,
  },
  {
    truncated: 'file ended early (was it changed while being read?)',
  },
);
