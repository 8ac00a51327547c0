import { BackendUsageError } from './errors.js';

export interface SamplingOptions {
  /** 0 = greedy (argmax). Default 0.8. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 = all. Default 40. */
  topK?: number;
  /** Keep the smallest set whose probability reaches p. Default 0.95. */
  topP?: number;
  /** Drop tokens less likely than minP × the most likely one. Default 0.05. */
  minP?: number;
  /** Divide positive (multiply negative) logits of recent tokens. Default 1 (off). */
  repeatPenalty?: number;
  /** How many recent tokens the penalty looks at. Default 64. */
  repeatLastN?: number;
  /** Seed for reproducible sampling, an integer in 0…2^32−1; default: random. */
  seed?: number;
}

/** xoshiro128** seeded through splitmix32: small, fast, identical on every platform. */
class Rng {
  private s = new Uint32Array(4);
  constructor(seed: number) {
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      this.s[i] = (t ^ (t >>> 16)) >>> 0;
    }
  }
  next(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result / 4294967296;
  }
}
const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

function check(name: string, value: number, ok: boolean, expected: string): void {
  if (!ok || Number.isNaN(value))
    throw new BackendUsageError(`sampling option ${name} = ${value} is out of range (expected ${expected})`);
}

/**
 * llama.cpp's default sampler chain: repetition penalty, top-k, top-p and
 * min-p on the untempered distribution, then temperature, then a draw.
 * Buffers are sized once per vocabulary; sampling allocates nothing.
 */
export class Sampler {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly repeatPenalty: number;
  readonly repeatLastN: number;
  private readonly rng: Rng;
  private readonly order: Int32Array;
  private readonly probs: Float64Array;
  /** Marks tokens already penalized in this step; cleared after use. */
  private readonly penalized: Uint8Array;

  /**
   * `greedy` picks the token at temperature 0: a kernel's (TernaryKernel.argmax) keeps
   * the vocabulary scan out of JS. It must answer as this module's argmax does.
   */
  constructor(
    vocabSize: number,
    options: SamplingOptions = {},
    private readonly greedy: (logits: Float32Array) => number = argmax,
  ) {
    this.temperature = options.temperature ?? 0.8;
    this.topK = options.topK ?? 40;
    this.topP = options.topP ?? 0.95;
    this.minP = options.minP ?? 0.05;
    this.repeatPenalty = options.repeatPenalty ?? 1;
    this.repeatLastN = options.repeatLastN ?? 64;
    check(
      'temperature',
      this.temperature,
      this.temperature >= 0 && Number.isFinite(this.temperature),
      'a finite number ≥ 0',
    );
    check('topK', this.topK, Number.isInteger(this.topK) && this.topK >= 0, 'an integer ≥ 0');
    check('topP', this.topP, this.topP > 0 && this.topP <= 1, 'a number in (0, 1]');
    check('minP', this.minP, this.minP >= 0 && this.minP <= 1, 'a number in [0, 1]');
    check(
      'repeatPenalty',
      this.repeatPenalty,
      this.repeatPenalty > 0 && Number.isFinite(this.repeatPenalty),
      'a finite number > 0',
    );
    check(
      'repeatLastN',
      this.repeatLastN,
      Number.isInteger(this.repeatLastN) && this.repeatLastN >= 0,
      'an integer ≥ 0',
    );
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    check('seed', seed, Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32, 'an integer in 0…4294967295');
    this.rng = new Rng(seed);
    this.order = new Int32Array(vocabSize);
    this.probs = new Float64Array(vocabSize);
    this.penalized = new Uint8Array(vocabSize);
  }

  /** Picks the next token; `logits` is modified by the repetition penalty. */
  sample(logits: Float32Array, recent: ArrayLike<number> = []): number {
    if (this.repeatPenalty !== 1) {
      const from = Math.max(0, recent.length - this.repeatLastN);
      for (let i = from; i < recent.length; i++) {
        const id = recent[i];
        if (id >= logits.length || this.penalized[id]) continue;
        this.penalized[id] = 1;
        logits[id] = logits[id] > 0 ? logits[id] / this.repeatPenalty : logits[id] * this.repeatPenalty;
      }
      for (let i = from; i < recent.length; i++) if (recent[i] < logits.length) this.penalized[recent[i]] = 0;
    }
    if (this.temperature === 0) return this.greedy(logits);

    const n = logits.length;
    const k = this.topK > 0 ? Math.min(this.topK, n) : n;
    const order = this.order;
    const count = selectTop(logits, k, order);
    // Untempered probabilities of the candidates, for top-p and min-p.
    const probs = this.probs;
    const max = logits[order[0]];
    let sum = 0;
    for (let i = 0; i < count; i++) {
      probs[i] = Math.exp(logits[order[i]] - max);
      sum += probs[i];
    }
    let keep = count;
    if (this.topP < 1) {
      let cumulative = 0;
      for (let i = 0; i < count; i++) {
        cumulative += probs[i] / sum;
        if (cumulative >= this.topP) {
          keep = i + 1;
          break;
        }
      }
    }
    if (this.minP > 0) {
      const floor = this.minP * probs[0];
      let i = 1;
      while (i < keep && probs[i] >= floor) i++;
      keep = i;
    }
    let total = 0;
    for (let i = 0; i < keep; i++) {
      probs[i] = Math.exp((logits[order[i]] - max) / this.temperature);
      total += probs[i];
    }
    let r = this.rng.next() * total;
    for (let i = 0; i < keep; i++) {
      r -= probs[i];
      if (r < 0) return order[i];
    }
    return order[keep - 1];
  }
}

/** Index of the largest logit; the lowest id wins ties. NaNs are never chosen. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let value = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] > value) {
      value = logits[i];
      best = i;
    }
  }
  return best;
}

/** Writes the ids of the k largest logits, largest first (ties: lower id first), into order; returns k. */
function selectTop(logits: Float32Array, k: number, order: Int32Array): number {
  const n = logits.length;
  const better = (a: number, b: number) => logits[a] > logits[b] || (logits[a] === logits[b] && a < b);
  if (k === n) {
    for (let i = 0; i < n; i++) order[i] = i;
    // In place: no copy of the vocabulary per sampled token.
    order.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
    return n;
  }
  // A min-heap of the k best so far: O(n log k).
  let size = 0;
  const heap = order;
  const worse = (a: number, b: number) => better(b, a);
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(heap[l], heap[m])) m = l;
      if (r < size && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let id = 0; id < n; id++) {
    if (Number.isNaN(logits[id])) continue;
    if (size < k) {
      heap[size] = id;
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i], heap[p])) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
    } else if (better(id, heap[0])) {
      heap[0] = id;
      siftDown(0);
    }
  }
  // Heap sort: each pop moves the current worst to the end, so the best ends up first.
  const count = size;
  for (let end = count - 1; end > 0; end--) {
    [heap[0], heap[end]] = [heap[end], heap[0]];
    size = end;
    siftDown(0);
  }
  return count;
}
