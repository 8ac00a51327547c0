/**
 * The merge loop shared by byte-level BPE and SentencePiece: symbols are ids
 * in a doubly linked list; each adjacent pair that has a merge entry is a
 * candidate keyed by (priority, left position); the smallest key merges first,
 * so equal priorities go to the leftmost pair, as in llama.cpp's priority queues.
 *
 * For BPE the priority is the merge rank; for SentencePiece it is the rank of
 * the merged token's score (highest score first). Long inputs use a binary
 * heap (O(n log n)); short ones a linear scan, which is faster below ~16
 * symbols and gives the same result.
 */
import type { PairTable } from './pair-table.js';

/** Keys are priority * POSITION_SCALE + position; exact in a float64 below 2^53. */
const POSITION_SCALE = 2 ** 27;
export const MAX_MERGE_SYMBOLS = POSITION_SCALE;

export interface MergeRules {
  /** (left id, right id) → merge entry index. */
  pairs: PairTable;
  /** Entry → priority (smaller merges first). */
  priority: Int32Array;
  /** Entry → id of the merged symbol. */
  result: Int32Array;
}

export class MergeEngine {
  /** Symbol ids; after merge() the first n entries are the merged sequence. */
  symbols = new Int32Array(64);
  private next = new Int32Array(64);
  private prev = new Int32Array(64);
  /** Entry of the candidate pair starting at a position, or -1. */
  private candidate = new Int32Array(64);
  private heap = new Float64Array(64);
  private heapSize = 0;
  /** Inputs longer than this use the heap. */
  linearScanLimit = 16;

  constructor(private readonly rules: MergeRules) {}

  /** Makes room for n symbols. */
  reserve(n: number): Int32Array {
    if (n > MAX_MERGE_SYMBOLS) throw new RangeError(`cannot merge ${n} symbols at once (limit ${MAX_MERGE_SYMBOLS})`);
    if (this.symbols.length < n) {
      let size = this.symbols.length;
      while (size < n) size *= 2;
      const symbols = new Int32Array(size);
      symbols.set(this.symbols);
      this.symbols = symbols;
      this.next = new Int32Array(size);
      this.prev = new Int32Array(size);
      this.candidate = new Int32Array(size);
    }
    return this.symbols;
  }

  /** Merges symbols[0..n) in place and returns the new count. */
  merge(n: number): number {
    if (n < 2) return n;
    const { symbols, next, prev, candidate } = this;
    const { pairs, priority, result } = this.rules;
    for (let i = 0; i < n; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
      candidate[i] = i + 1 < n ? pairs.get(symbols[i], symbols[i + 1]) : -1;
    }
    next[n - 1] = -1;
    const useHeap = n > this.linearScanLimit;
    if (useHeap) {
      this.heapSize = 0;
      if (this.heap.length < n * 2) this.heap = new Float64Array(n * 2);
      for (let i = 0; i < n - 1; i++) {
        const e = candidate[i];
        if (e >= 0) this.push(priority[e] * POSITION_SCALE + i);
      }
    }
    for (;;) {
      let left: number;
      let entry: number;
      if (useHeap) {
        if (this.heapSize === 0) break;
        const key = this.pop();
        const p = Math.floor(key / POSITION_SCALE);
        left = key - p * POSITION_SCALE;
        entry = candidate[left];
        // Stale: the pair at `left` changed or `left` was merged away.
        if (entry < 0 || priority[entry] !== p) continue;
      } else {
        left = -1;
        entry = -1;
        let best = Number.POSITIVE_INFINITY;
        for (let i = 0; i >= 0; i = next[i]) {
          const e = candidate[i];
          if (e >= 0 && priority[e] < best) {
            best = priority[e];
            left = i;
            entry = e;
          }
        }
        if (left < 0) break;
      }
      const right = next[left];
      const after = next[right];
      symbols[left] = result[entry];
      next[left] = after;
      if (after >= 0) prev[after] = left;
      candidate[right] = -1;
      const before = prev[left];
      if (before >= 0) {
        const e = pairs.get(symbols[before], symbols[left]);
        candidate[before] = e;
        if (useHeap && e >= 0) this.push(priority[e] * POSITION_SCALE + before);
      }
      if (after >= 0) {
        const e = pairs.get(symbols[left], symbols[after]);
        candidate[left] = e;
        if (useHeap && e >= 0) this.push(priority[e] * POSITION_SCALE + left);
      } else {
        candidate[left] = -1;
      }
    }
    let count = 0;
    for (let i = 0; i >= 0; i = next[i]) symbols[count++] = symbols[i];
    return count;
  }

  private push(key: number): void {
    let heap = this.heap;
    if (this.heapSize === heap.length) {
      const grown = new Float64Array(heap.length * 2);
      grown.set(heap);
      this.heap = heap = grown;
    }
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent] <= key) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = key;
  }

  private pop(): number {
    const heap = this.heap;
    const top = heap[0];
    const last = heap[--this.heapSize];
    const size = this.heapSize;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && heap[child + 1] < heap[child]) child++;
      if (heap[child] >= last) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
