/**
 * Errors thrown by @trit/safetensors. Every one names the file (or buffer),
 * the byte offset where the problem is, the tensor or key concerned, and what
 * was expected versus found: checkpoints usually come from someone else, and
 * the message is all the user gets.
 */

import { LocatedError, type LocatedErrorDetails, locatedErrorFactory } from '@trit/file-io';

/** Where an error happened and what was expected versus found; see LocatedErrorDetails. */
export type SafetensorsErrorDetails = LocatedErrorDetails;

/** A safetensors file or sharded checkpoint is malformed, truncated, or not what was asked for. */
export class SafetensorsError extends LocatedError {
  override name = 'SafetensorsError';
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

/** Makes @trit/file-io's failures SafetensorsErrors (aborts a SafetensorsAbortError, write failures a SafetensorsWriteError). */
export const safetensorsFileErrors = locatedErrorFactory({
  error: SafetensorsError,
  abort: SafetensorsAbortError,
  write: SafetensorsWriteError,
});
