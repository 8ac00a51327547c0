const f = Math.fround;
const lanes = new Float32Array(8);

/**
 * Σ a[aAt + i] · b[bAt + i] over i < n in float32, element i added to lane
 * i mod 8 (mul, then add), the lanes reduced as KERNEL.md §4: the order
 * every implementation uses for dense rows and attention scores.
 */
export function dot8(a: Float32Array, aAt: number, b: Float32Array, bAt: number, n: number): number {
  let l0 = 0;
  let l1 = 0;
  let l2 = 0;
  let l3 = 0;
  let l4 = 0;
  let l5 = 0;
  let l6 = 0;
  let l7 = 0;
  const n8 = n & ~7;
  for (let i = 0; i < n8; i += 8) {
    const ai = aAt + i;
    const bi = bAt + i;
    l0 = f(l0 + f(a[ai] * b[bi]));
    l1 = f(l1 + f(a[ai + 1] * b[bi + 1]));
    l2 = f(l2 + f(a[ai + 2] * b[bi + 2]));
    l3 = f(l3 + f(a[ai + 3] * b[bi + 3]));
    l4 = f(l4 + f(a[ai + 4] * b[bi + 4]));
    l5 = f(l5 + f(a[ai + 5] * b[bi + 5]));
    l6 = f(l6 + f(a[ai + 6] * b[bi + 6]));
    l7 = f(l7 + f(a[ai + 7] * b[bi + 7]));
  }
  if (n8 !== n) {
    // The tail (n mod 8 elements) lands in lanes 0 … n mod 8 − 1.
    lanes[0] = l0;
    lanes[1] = l1;
    lanes[2] = l2;
    lanes[3] = l3;
    lanes[4] = l4;
    lanes[5] = l5;
    lanes[6] = l6;
    lanes[7] = l7;
    for (let i = n8; i < n; i++) lanes[i & 7] = f((lanes[i & 7] as number) + f(a[aAt + i] * b[bAt + i]));
    return reduce8(lanes);
  }
  return f(f(f(l0 + l4) + f(l2 + l6)) + f(f(l1 + l5) + f(l3 + l7)));
}

/** ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)), each add in float32. */
export function reduce8(l: Float32Array): number {
  return f(f(f(l[0] + l[4]) + f(l[2] + l[6])) + f(f(l[1] + l[5]) + f(l[3] + l[7])));
}
