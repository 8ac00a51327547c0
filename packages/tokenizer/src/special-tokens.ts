/**
 * Special token ids and llama.cpp's special-token partition
 * (`tokenizer_st_partition`): before any BPE, the text is cut at occurrences
 * of control (3), unknown (2) and user-defined (4) tokens. Tokens are tried
 * longest first (UTF-8 length; ties by id); each one splits every remaining
 * text fragment at all its non-overlapping occurrences, left to right.
 * Control and unknown tokens are only matched when parseSpecial is on;
 * user-defined tokens always are.
 */
import { TokenType } from './token-types.js';

/** Ids of the tokens with a role; null when the vocabulary has none. */
export interface SpecialTokens {
  bos: number | null;
  eos: number | null;
  /** End of turn, e.g. Llama-3's `<|eot_id|>`. */
  eot: number | null;
  /** End of message, e.g. Llama-3.1's `<|eom_id|>`. */
  eom: number | null;
  unk: number | null;
  pad: number | null;
  /** Separator (`tokenizer.ggml.seperator_token_id`, llama.cpp's spelling). */
  sep: number | null;
  cls: number | null;
  mask: number | null;
}

/** RuvLLM's name for the same record. */
export type BitNetSpecialTokens = SpecialTokens;

export type TokenizerModel = 'gpt2' | 'llama';

/** llama.cpp's defaults before any `*_token_id` key is read. */
export function defaultSpecialTokens(model: TokenizerModel): SpecialTokens {
  const none = { eot: null, eom: null, pad: null, sep: null, cls: null, mask: null };
  return model === 'llama' ? { bos: 1, eos: 2, unk: 0, ...none } : { bos: 11, eos: 11, unk: null, ...none };
}

/** Fragments of a text: a text range [start, end) or, when start is -1, the token id in `end`. */
export interface Fragments {
  starts: number[];
  ends: number[];
}

interface Entry {
  id: number;
  text: string;
  utf8Length: number;
  /** User-defined tokens are split out even when parseSpecial is off. */
  always: boolean;
}

function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export class SpecialTokenSplitter {
  private readonly entries: Entry[];
  /** First code unit → entries starting with it, in partition order. */
  private readonly byFirstUnit = new Map<number, Entry[]>();
  /** 1 where some entry starts with that code unit: a cheap pre-check before the map. */
  private readonly firstUnits = new Uint8Array(0x10000);
  private readonly hasAlways: boolean;

  constructor(tokens: readonly string[], types: Uint8Array) {
    const entries: Entry[] = [];
    for (let id = 0; id < tokens.length; id++) {
      const type = types[id];
      if (type !== TokenType.Control && type !== TokenType.UserDefined && type !== TokenType.Unknown) continue;
      const text = tokens[id];
      if (text.length === 0) continue;
      entries.push({ id, text, utf8Length: utf8Length(text), always: type === TokenType.UserDefined });
    }
    entries.sort((a, b) => b.utf8Length - a.utf8Length || a.id - b.id);
    this.entries = entries;
    for (const entry of entries) {
      const unit = entry.text.charCodeAt(0);
      this.firstUnits[unit] = 1;
      const list = this.byFirstUnit.get(unit);
      if (list) list.push(entry);
      else this.byFirstUnit.set(unit, [entry]);
    }
    this.hasAlways = entries.some((e) => e.always);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Cuts [0, text.length) into text and token fragments. */
  partition(text: string, parseSpecial: boolean): Fragments {
    const fragments: Fragments = { starts: [0], ends: [text.length] };
    if (text.length === 0) return { starts: [], ends: [] };
    if (!parseSpecial && !this.hasAlways) return fragments;
    const present = this.presentEntries(text, parseSpecial);
    for (const entry of present) {
      const starts: number[] = [];
      const ends: number[] = [];
      const needle = entry.text;
      for (let f = 0; f < fragments.starts.length; f++) {
        let start = fragments.starts[f];
        const end = fragments.ends[f];
        if (start < 0) {
          starts.push(start);
          ends.push(end);
          continue;
        }
        for (;;) {
          const match = text.indexOf(needle, start);
          if (match < 0 || match + needle.length > end) break;
          if (match > start) {
            starts.push(start);
            ends.push(match);
          }
          starts.push(-1);
          ends.push(entry.id);
          start = match + needle.length;
        }
        if (start < end) {
          starts.push(start);
          ends.push(end);
        }
      }
      fragments.starts = starts;
      fragments.ends = ends;
    }
    return fragments;
  }

  /** The entries that occur somewhere in the text, in partition order; one pass over the text. */
  private presentEntries(text: string, parseSpecial: boolean): Entry[] {
    const found = new Set<Entry>();
    const { byFirstUnit, firstUnits } = this;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      if (firstUnits[unit] === 0) continue;
      const list = byFirstUnit.get(unit);
      if (list === undefined) continue;
      for (const entry of list) {
        if ((parseSpecial || entry.always) && !found.has(entry) && text.startsWith(entry.text, i)) found.add(entry);
      }
    }
    return this.entries.filter((e) => found.has(e));
  }
}
