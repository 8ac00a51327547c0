/**
 * `tokenizer.ggml.pre` names → splitter and the flags llama.cpp sets with
 * them (llama-vocab.cpp, `llama_vocab::impl::load`). Only pre-tokenizers whose
 * pattern we implement exactly are listed; any other name is an error, as in
 * llama.cpp.
 */
import { type Splitter, splitDefault, splitGpt2, splitLlama3 } from './pre-tokenizers.js';

export interface PreTokenizerSpec {
  /** The pattern family: `default`, `gpt2` or `llama3`. */
  kind: 'default' | 'gpt2' | 'llama3';
  splitter: Splitter;
  /** A whole pre-token that is a vocabulary token is emitted without merging. */
  ignoreMerges: boolean;
  /** Default for add_bos when `tokenizer.ggml.add_bos_token` is absent. */
  addBos: boolean;
}

const gpt2: PreTokenizerSpec = { kind: 'gpt2', splitter: splitGpt2, ignoreMerges: false, addBos: false };
const llama3: PreTokenizerSpec = { kind: 'llama3', splitter: splitLlama3, ignoreMerges: true, addBos: true };
// dbrx and smaug-bpe use the Llama-3 pattern without llama3's flags.
const llama3Pattern: PreTokenizerSpec = { ...llama3, ignoreMerges: false, addBos: false };

/**
 * By name. No prototype: the name comes from a file, and `constructor` or
 * `toString` must be unknown names, not Object.prototype's members. Look names
 * up with findPreTokenizer.
 */
export const PRE_TOKENIZERS: Readonly<Record<string, PreTokenizerSpec>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, PreTokenizerSpec>, {
    default: { kind: 'default', splitter: splitDefault, ignoreMerges: false, addBos: false },
    'gpt-2': gpt2,
    'phi-2': gpt2,
    'jina-es': gpt2,
    'jina-de': gpt2,
    gigachat: gpt2,
    'jina-v2-es': gpt2,
    'jina-v2-de': gpt2,
    'a.x-4.0': gpt2,
    mellum: gpt2,
    'modern-bert': gpt2,
    mpt: gpt2,
    olmo: gpt2,
    jais: gpt2,
    trillion: gpt2,
    'granite-docling': gpt2,
    exaone4: gpt2,
    llama3,
    'llama-v3': llama3,
    'llama-bpe': llama3,
    falcon3: llama3,
    'falcon-h1': llama3,
    pixtral: llama3,
    'midm-2.0': llama3,
    lfm2: llama3,
    'jina-v5-nano': llama3,
    dbrx: llama3Pattern,
    'smaug-bpe': llama3Pattern,
  }),
);

/** The spec registered under `name` (an own entry only), or undefined. */
export function findPreTokenizer(name: string): PreTokenizerSpec | undefined {
  return typeof name === 'string' && Object.hasOwn(PRE_TOKENIZERS, name) ? PRE_TOKENIZERS[name] : undefined;
}
