/** Growable Uint32Array for encode output. */
export class IdBuffer {
  data: Uint32Array;
  length = 0;

  constructor(capacity: number) {
    this.data = new Uint32Array(Math.max(16, capacity));
  }

  push(id: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = id;
  }

  pushAll(ids: Uint32Array): void {
    const n = ids.length;
    if (this.length + n > this.data.length) this.grow(this.length + n);
    const data = this.data;
    let k = this.length;
    for (let i = 0; i < n; i++) data[k++] = ids[i];
    this.length = k;
  }

  grow(needed: number): void {
    let size = this.data.length * 2;
    while (size < needed) size *= 2;
    const data = new Uint32Array(size);
    data.set(this.data.subarray(0, this.length));
    this.data = data;
  }

  /** The ids, trimmed to length (a copy, so the buffer's slack is not kept alive). */
  result(): Uint32Array {
    // new + set is a memcpy; TypedArray.prototype.slice is several times slower in V8.
    const out = new Uint32Array(this.length);
    out.set(this.data.subarray(0, this.length));
    return out;
  }
}
