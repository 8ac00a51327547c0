/**
 * Float32 bytes with every NaN replaced by the canonical NaN: kernels promise
 * bit-identical results except for NaN payloads, which IEEE 754 leaves open.
 */
export function canonicalFloat32Bytes(values: Float32Array): Uint8Array {
  const copy = Float32Array.from(values, (v) => (Number.isNaN(v) ? Number.NaN : v));
  return new Uint8Array(copy.buffer);
}

/** Whether two float32 arrays are bit-identical, counting all NaNs as equal. */
export function sameFloat32(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = canonicalFloat32Bytes(a);
  const y = canonicalFloat32Bytes(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Cosine similarity of two vectors (float64 sums). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let x = 0;
  let y = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    x += a[i] * a[i];
    y += b[i] * b[i];
  }
  return dot / Math.sqrt(x * y);
}

/** Index of the largest value (the first, on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
