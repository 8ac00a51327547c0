/**
 * Open-addressing hash map from a pair of non-negative int32 ids to an int32
 * value, on typed arrays: the merge loop looks pairs up without building
 * strings or boxing keys.
 */
export class PairTable {
  private left: Int32Array;
  private right: Int32Array;
  private values: Int32Array;
  private shift: number;
  private mask: number;
  size = 0;

  constructor(expectedSize: number) {
    // Load factor at most 1/2.
    let bits = 4;
    while (1 << bits < expectedSize * 2) bits++;
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.left = new Int32Array(1 << bits).fill(-1);
    this.right = new Int32Array(1 << bits);
    this.values = new Int32Array(1 << bits);
  }

  private slot(a: number, b: number): number {
    return Math.imul(Math.imul(a, 0x9e3779b1) ^ b, 0x85ebca77) >>> this.shift;
  }

  /** The value stored for (a, b), or -1. */
  get(a: number, b: number): number {
    const left = this.left;
    let i = this.slot(a, b);
    for (;;) {
      const k = left[i];
      if (k === a && this.right[i] === b) return this.values[i];
      if (k === -1) return -1;
      i = (i + 1) & this.mask;
    }
  }

  /** Stores (a, b) → value unless (a, b) is already present (the first entry wins, as in llama.cpp's emplace). */
  add(a: number, b: number, value: number): boolean {
    if ((this.size + 1) * 2 > this.left.length) this.grow();
    let i = this.slot(a, b);
    for (;;) {
      const k = this.left[i];
      if (k === -1) break;
      if (k === a && this.right[i] === b) return false;
      i = (i + 1) & this.mask;
    }
    this.left[i] = a;
    this.right[i] = b;
    this.values[i] = value;
    this.size++;
    return true;
  }

  private grow(): void {
    const { left, right, values } = this;
    const bits = 33 - this.shift;
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.left = new Int32Array(1 << bits).fill(-1);
    this.right = new Int32Array(1 << bits);
    this.values = new Int32Array(1 << bits);
    this.size = 0;
    for (let i = 0; i < left.length; i++) if (left[i] !== -1) this.add(left[i], right[i], values[i]);
  }
}
