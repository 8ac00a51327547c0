/**
 * One generation of the pre-token → ids cache for byte-level BPE. Keys are
 * compared by their UTF-16 code units straight against the input text, and
 * keys and ids live in typed-array pools, so a lookup allocates nothing and a
 * cached entry never holds on to the text it came from (a sliced string would
 * keep the whole input alive). ByteLevelBpe keeps two generations.
 *
 * Slot layout, 4 int32 per slot so one probe touches one cache line:
 * [hash, key length (0 = empty), key offset in keyPool, ids], where ids is
 * -1 - id for a single id, else the offset in idPool of [count, id, id, …].
 */
import type { IdBuffer } from './id-buffer.js';

export class WordCache {
  private readonly mask: number;
  private readonly slots: Int32Array;
  private keyPool: Uint16Array<ArrayBuffer> = new Uint16Array(4096);
  private keyPoolLength = 0;
  private idPool: Uint32Array<ArrayBuffer> = new Uint32Array(1024);
  private idPoolLength = 0;
  size = 0;

  constructor(readonly capacity: number) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.slots = new Int32Array(slots * 4);
  }

  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 ^ (end - start);
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h ^ (h >>> 15);
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  /** Slot of text[start, end) if cached, else -1 - (slot to insert at). */
  find(text: string, start: number, end: number, hash: number): number {
    const { slots, mask } = this;
    const length = end - start;
    let slot = hash & mask;
    for (;;) {
      const base = slot << 2;
      const keyLength = slots[base + 1];
      if (keyLength === 0) return -1 - slot;
      if (keyLength === length && slots[base] === hash) {
        const pool = this.keyPool;
        const offset = slots[base + 2] - start;
        let i = start;
        while (i < end && pool[offset + i] === text.charCodeAt(i)) i++;
        if (i === end) return slot;
      }
      slot = (slot + 1) & mask;
    }
  }

  /** Appends the ids cached at a slot to `out`. */
  copyTo(slot: number, out: IdBuffer): void {
    const ref = this.slots[(slot << 2) + 3];
    if (ref < 0) {
      out.push(-1 - ref);
      return;
    }
    const pool = this.idPool;
    const n = pool[ref];
    if (out.length + n > out.data.length) out.grow(out.length + n);
    const data = out.data;
    let k = out.length;
    for (let i = ref + 1, end = ref + 1 + n; i < end; i++) data[k++] = pool[i];
    out.length = k;
  }

  /** Copies the ids cached at a slot into `target`; returns their count. */
  idsAt(slot: number, target: Int32Array): number {
    const ref = this.slots[(slot << 2) + 3];
    if (ref < 0) {
      target[0] = -1 - ref;
      return 1;
    }
    const n = this.idPool[ref];
    for (let i = 0; i < n; i++) target[i] = this.idPool[ref + 1 + i];
    return n;
  }

  /** Stores ids for text[start, end) at a free slot from find; returns the slot. */
  insert(
    freeSlot: number,
    text: string,
    start: number,
    end: number,
    hash: number,
    ids: Int32Array,
    count: number,
  ): number {
    const length = end - start;
    if (this.keyPoolLength + length > this.keyPool.length) {
      const grown = new Uint16Array(Math.max(this.keyPool.length * 2, this.keyPoolLength + length));
      grown.set(this.keyPool);
      this.keyPool = grown;
    }
    const keyPool = this.keyPool;
    const keyOffset = this.keyPoolLength;
    for (let i = 0; i < length; i++) keyPool[keyOffset + i] = text.charCodeAt(start + i);
    this.keyPoolLength += length;
    const base = freeSlot << 2;
    const slots = this.slots;
    slots[base] = hash;
    slots[base + 1] = length;
    slots[base + 2] = keyOffset;
    if (count === 1) {
      slots[base + 3] = -1 - ids[0];
    } else {
      if (this.idPoolLength + count + 1 > this.idPool.length) {
        const grown = new Uint32Array(Math.max(this.idPool.length * 2, this.idPoolLength + count + 1));
        grown.set(this.idPool);
        this.idPool = grown;
      }
      const idPool = this.idPool;
      const ref = this.idPoolLength;
      idPool[ref] = count;
      for (let i = 0; i < count; i++) idPool[ref + 1 + i] = ids[i];
      slots[base + 3] = ref;
      this.idPoolLength += count + 1;
    }
    this.size++;
    return freeSlot;
  }

  clear(): void {
    this.slots.fill(0);
    this.size = 0;
    this.keyPoolLength = 0;
    this.idPoolLength = 0;
  }
}
