/**
 * `tokenizer.ggml.pre` names → splitter and the flags llama.cpp sets with
 * them (llama-vocab.cpp, `llama_vocab::impl::load`; docs/formats.md §Tokenizer).
 * Only pre-tokenizers whose pattern we implement exactly are listed; any other
 * name is an error, as in llama.cpp.
 */
import {
  splitDeepSeekCoder,
  splitDeepSeekLlm,
  splitDefault,
  splitFalcon,
  splitStarCoder,
} from './pre-tokenizer-sequences.js';
import { type Splitter, splitGpt2, splitLlama3, splitQwen2 } from './pre-tokenizers.js';

export interface PreTokenizerSpec {
  /** The pattern family (llama.cpp's `LLAMA_VOCAB_PRE_TYPE_*` that share one pattern list). */
  kind: 'default' | 'gpt2' | 'llama3' | 'qwen2' | 'deepseek-llm' | 'deepseek-coder' | 'falcon' | 'starcoder';
  splitter: Splitter;
  /** A whole pre-token that is a vocabulary token is emitted without merging. */
  ignoreMerges: boolean;
  /** Default for add_bos when `tokenizer.ggml.add_bos_token` is absent. */
  addBos: boolean;
  /**
   * llama.cpp's `clean_spaces` (clean_up_tokenization_spaces), which its
   * llama_detokenize applies; encoding does not depend on it.
   */
  cleanSpaces: boolean;
}

const base = { ignoreMerges: false, addBos: false, cleanSpaces: true };
const gpt2: PreTokenizerSpec = { ...base, kind: 'gpt2', splitter: splitGpt2 };
const llama3: PreTokenizerSpec = { ...base, kind: 'llama3', splitter: splitLlama3, ignoreMerges: true, addBos: true };
// dbrx and smaug-bpe use the Llama-3 pattern without llama3's flags.
const llama3Pattern: PreTokenizerSpec = { ...llama3, ignoreMerges: false, addBos: false };
const qwen2: PreTokenizerSpec = { ...base, kind: 'qwen2', splitter: splitQwen2, cleanSpaces: false };
const starCoder: PreTokenizerSpec = { ...base, kind: 'starcoder', splitter: splitStarCoder };

/**
 * By name. No prototype: the name comes from a file, and `constructor` or
 * `toString` must be unknown names, not Object.prototype's members. Look names
 * up with findPreTokenizer.
 */
export const PRE_TOKENIZERS: Readonly<Record<string, PreTokenizerSpec>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, PreTokenizerSpec>, {
    default: { ...base, kind: 'default', splitter: splitDefault },
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
    trillion: { ...gpt2, cleanSpaces: false },
    'granite-docling': { ...gpt2, cleanSpaces: false },
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
    qwen2,
    'deepseek-r1-qwen': qwen2,
    kormo: qwen2,
    f2llmv2: qwen2,
    hunyuan: qwen2,
    'solar-open': qwen2,
    megrez: { ...qwen2, cleanSpaces: true },
    stablelm2: { ...qwen2, cleanSpaces: true },
    'deepseek-llm': { ...base, kind: 'deepseek-llm', splitter: splitDeepSeekLlm, cleanSpaces: false },
    'deepseek-coder': { ...base, kind: 'deepseek-coder', splitter: splitDeepSeekCoder, cleanSpaces: false },
    falcon: { ...base, kind: 'falcon', splitter: splitFalcon },
    starcoder: starCoder,
    refact: starCoder,
    'command-r': { ...starCoder, cleanSpaces: false },
    smollm: { ...starCoder, cleanSpaces: false },
    codeshell: starCoder,
    exaone: starCoder,
    'minerva-7b': starCoder,
    mellum2: starCoder,
  }),
);

/** The spec registered under `name` (an own entry only), or undefined. */
export function findPreTokenizer(name: string): PreTokenizerSpec | undefined {
  return typeof name === 'string' && Object.hasOwn(PRE_TOKENIZERS, name) ? PRE_TOKENIZERS[name] : undefined;
}
