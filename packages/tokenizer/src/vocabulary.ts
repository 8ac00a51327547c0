/** The token list with its types and a text → id index, shared by both models. */
import { TokenizerMetadataError } from './errors.js';
import { TextIndex } from './text-index.js';
import { TokenType } from './token-types.js';

export class Vocabulary {
  readonly tokens: readonly string[];
  readonly types: Uint8Array;
  readonly index: TextIndex;

  constructor(tokens: readonly string[], types?: ArrayLike<number>) {
    if (types !== undefined && types.length !== tokens.length) {
      throw new TokenizerMetadataError('tokenizer.ggml.token_type', `${tokens.length} entries`, `${types.length}`);
    }
    const texts: string[] = new Array(tokens.length);
    this.types = new Uint8Array(tokens.length);
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
    }
    this.tokens = texts;
    this.index = new TextIndex(texts);
    for (let id = 0; id < texts.length; id++) {
      const first = this.index.get(texts[id]);
      if (first !== id) {
        throw new TokenizerMetadataError(
          'tokenizer.ggml.tokens',
          'unique tokens',
          `"${texts[id]}" at ids ${first} and ${id}`,
        );
      }
    }
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Id of a token text, or undefined. */
  id(text: string): number | undefined {
    const id = this.index.get(text);
    return id < 0 ? undefined : id;
  }
}
