/**
 * One generation of the pre-token → ids cache for byte-level BPE. Keys are
 * looked up by their code units straight from the input text (hash + compare
 * in place), so a hit allocates nothing: no substring, no boxed result. Ids
 * live in one shared pool. ByteLevelBpe keeps two generations (see there).
 */
export class WordCache {
  private readonly mask: number;
  private readonly keys: (string | undefined)[];
  private readonly hashes: Int32Array;
  /** Pool offset of the entry's ids, or -1 - id for a single id. */
  private readonly starts: Int32Array;
  private readonly lengths: Int32Array;
  private pool = new Uint32Array(1024);
  private poolLength = 0;
  size = 0;

  constructor(readonly capacity: number) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.keys = new Array(slots).fill(undefined);
    this.hashes = new Int32Array(slots);
    this.starts = new Int32Array(slots);
    this.lengths = new Int32Array(slots);
  }

  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 ^ (end - start);
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h ^ (h >>> 15);
  }

  /** Slot of text[start, end) if cached, else -1 - (slot to insert at). */
  find(text: string, start: number, end: number, hash: number): number {
    const { keys, hashes, mask } = this;
    const length = end - start;
    let slot = hash & mask;
    for (;;) {
      const key = keys[slot];
      if (key === undefined) return -1 - slot;
      if (hashes[slot] === hash && key.length === length) {
        let i = 0;
        while (i < length && key.charCodeAt(i) === text.charCodeAt(start + i)) i++;
        if (i === length) return slot;
      }
      slot = (slot + 1) & mask;
    }
  }

  /** Appends the cached ids of a slot to `out` and returns the new length. */
  copyTo(slot: number, out: { data: Uint32Array; length: number; grow(needed: number): void }): void {
    const start = this.starts[slot];
    if (start < 0) {
      if (out.length === out.data.length) out.grow(out.length + 1);
      out.data[out.length++] = -1 - start;
      return;
    }
    const n = this.lengths[slot];
    if (out.length + n > out.data.length) out.grow(out.length + n);
    const data = out.data;
    const pool = this.pool;
    let k = out.length;
    for (let i = start, end = start + n; i < end; i++) data[k++] = pool[i];
    out.length = k;
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  /** The key stored at a slot. */
  keyAt(slot: number): string {
    return this.keys[slot] as string;
  }

  /** Copies the ids stored at a slot into `target`; returns their count. */
  idsAt(slot: number, target: Int32Array): number {
    const start = this.starts[slot];
    if (start < 0) {
      target[0] = -1 - start;
      return 1;
    }
    const n = this.lengths[slot];
    for (let i = 0; i < n; i++) target[i] = this.pool[start + i];
    return n;
  }

  /** Stores ids for `word` (whose hash and free slot came from find) and returns its slot. */
  insert(freeSlot: number, word: string, hash: number, ids: ArrayLike<number>, count: number): number {
    this.keys[freeSlot] = word;
    this.hashes[freeSlot] = hash;
    if (count === 1) {
      this.starts[freeSlot] = -1 - ids[0];
    } else {
      if (this.poolLength + count > this.pool.length) {
        const grown = new Uint32Array(Math.max(this.pool.length * 2, this.poolLength + count));
        grown.set(this.pool.subarray(0, this.poolLength));
        this.pool = grown;
      }
      const pool = this.pool;
      for (let i = 0; i < count; i++) pool[this.poolLength + i] = ids[i];
      this.starts[freeSlot] = this.poolLength;
      this.lengths[freeSlot] = count;
      this.poolLength += count;
    }
    this.size++;
    return freeSlot;
  }

  clear(): void {
    this.keys.fill(undefined);
    this.size = 0;
    this.poolLength = 0;
  }
}
