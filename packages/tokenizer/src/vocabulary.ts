/** The token list with its types and a text → id map, shared by both models. */
import { TokenizerMetadataError } from './errors.js';
import { TokenType } from './token-types.js';

export class Vocabulary {
  readonly tokens: readonly string[];
  readonly types: Uint8Array;
  readonly ids: Map<string, number>;

  constructor(tokens: readonly string[], types?: ArrayLike<number>) {
    if (types !== undefined && types.length !== tokens.length) {
      throw new TokenizerMetadataError('tokenizer.ggml.token_type', `${tokens.length} entries`, `${types.length}`);
    }
    const texts: string[] = new Array(tokens.length);
    this.types = new Uint8Array(tokens.length);
    this.ids = new Map();
    for (let id = 0; id < tokens.length; id++) {
      let text = tokens[id];
      if (typeof text !== 'string') {
        throw new TokenizerMetadataError(`tokenizer.ggml.tokens[${id}]`, 'a string', typeof text);
      }
      // As llama.cpp: an empty token gets a placeholder text so it can never match.
      if (text.length === 0) text = `[EMPTY_${id}]`;
      texts[id] = text;
      const type = types === undefined ? TokenType.Normal : Number(types[id]);
      // llama.cpp treats any other value as undefined (0).
      this.types[id] = Number.isInteger(type) && type >= 0 && type <= 6 ? type : TokenType.Undefined;
      const previous = this.ids.get(text);
      if (previous !== undefined) {
        throw new TokenizerMetadataError(
          'tokenizer.ggml.tokens',
          'unique tokens',
          `"${text}" at ids ${previous} and ${id}`,
        );
      }
      this.ids.set(text, id);
    }
    this.tokens = texts;
  }

  get size(): number {
    return this.tokens.length;
  }
}
