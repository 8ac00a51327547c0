/**
 * Errors thrown by @trit/tokenizer. Each names the metadata key, token id or
 * setting involved and the expected versus found values.
 */

/** A GGUF / tokenizer.json value is missing, has the wrong type, or disagrees with another. */
export class TokenizerMetadataError extends Error {
  override readonly name = 'TokenizerMetadataError';
  constructor(
    /** The metadata key, e.g. `"tokenizer.ggml.scores"`. */
    readonly key: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${key}: expected ${expected}, found ${found}`);
  }
}

/** `tokenizer.ggml.pre` (or a tokenizer.json pre-tokenizer) names a pre-tokenizer we do not implement. */
export class UnknownPreTokenizerError extends Error {
  override readonly name = 'UnknownPreTokenizerError';
  constructor(
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super(`unknown pre-tokenizer "${requested}"; known: ${known.join(', ')}`);
  }
}

/** A tokenizer model kind (`tokenizer.ggml.model`, tokenizer.json `model.type`) we do not implement. */
export class UnsupportedTokenizerError extends Error {
  override readonly name = 'UnsupportedTokenizerError';
  constructor(
    readonly requested: string,
    readonly supported: readonly string[],
    detail = '',
  ) {
    super(`unsupported tokenizer "${requested}"${detail ? ` (${detail})` : ''}; supported: ${supported.join(', ')}`);
  }
}

/** A token id outside [0, vocabSize). */
export class TokenIdError extends RangeError {
  override readonly name = 'TokenIdError';
  constructor(
    readonly id: number,
    readonly vocabSize: number,
  ) {
    super(`token id ${id} is outside the vocabulary [0, ${vocabSize})`);
  }
}
