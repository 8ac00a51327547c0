/**
 * Token text → id lookup on code-unit ranges, so merges ("left right") and
 * byte-level words are looked up without slicing or concatenating strings.
 * Open addressing over the vocabulary's own strings; a probe hashes the range
 * and compares code units in place.
 */
export class TextIndex {
  private readonly slots: Int32Array;
  private readonly hashes: Int32Array;
  private readonly mask: number;

  constructor(private readonly texts: readonly string[]) {
    let size = 16;
    while (size < texts.length * 2) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(size).fill(-1);
    this.hashes = new Int32Array(size);
    for (let id = 0; id < texts.length; id++) {
      const text = texts[id];
      const h = hashRange(HASH_SEED, text, 0, text.length);
      let slot = h & this.mask;
      while (this.slots[slot] !== -1) {
        if (this.hashes[slot] === h && this.texts[this.slots[slot]] === text) break;
        slot = (slot + 1) & this.mask;
      }
      // The first id wins for duplicates (the caller reports them).
      if (this.slots[slot] === -1) {
        this.slots[slot] = id;
        this.hashes[slot] = h;
      }
    }
  }

  /** Id of text, or -1. */
  get(text: string): number {
    return this.find(text, 0, text.length);
  }

  /** Id of s[start, end), or -1. */
  find(s: string, start: number, end: number): number {
    return this.findJoined(s, start, end, s, end, end);
  }

  /** Id of a[aStart, aEnd) + b[bStart, bEnd), or -1. */
  findJoined(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): number {
    const h = hashRange(hashRange(HASH_SEED, a, aStart, aEnd), b, bStart, bEnd);
    const length = aEnd - aStart + (bEnd - bStart);
    const { slots, hashes, texts, mask } = this;
    let slot = h & mask;
    for (;;) {
      const id = slots[slot];
      if (id === -1) return -1;
      if (hashes[slot] === h) {
        const text = texts[id];
        if (text.length === length && equalsJoined(text, a, aStart, aEnd, b, bStart, bEnd)) return id;
      }
      slot = (slot + 1) & mask;
    }
  }

  /** Id of the string whose code units are codes[0, n), or -1. */
  findCodes(codes: Uint16Array, n: number): number {
    let h = HASH_SEED;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ codes[i], 0x01000193);
    const { slots, hashes, texts, mask } = this;
    let slot = h & mask;
    for (;;) {
      const id = slots[slot];
      if (id === -1) return -1;
      if (hashes[slot] === h) {
        const text = texts[id];
        if (text.length === n) {
          let i = 0;
          while (i < n && text.charCodeAt(i) === codes[i]) i++;
          if (i === n) return id;
        }
      }
      slot = (slot + 1) & mask;
    }
  }
}

const HASH_SEED = 0x811c9dc5 | 0;

function hashRange(h: number, s: string, start: number, end: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

function equalsJoined(
  text: string,
  a: string,
  aStart: number,
  aEnd: number,
  b: string,
  bStart: number,
  bEnd: number,
): boolean {
  let k = 0;
  for (let i = aStart; i < aEnd; i++) if (text.charCodeAt(k++) !== a.charCodeAt(i)) return false;
  for (let i = bStart; i < bEnd; i++) if (text.charCodeAt(k++) !== b.charCodeAt(i)) return false;
  return true;
}
