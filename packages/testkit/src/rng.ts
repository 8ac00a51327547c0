/**
 * A small seeded generator (xoshiro128**, seeded through splitmix32) so tests,
 * benchmarks and the demo produce the same data on every machine and run.
 */
export interface Rng {
  /** Uniform unsigned 32-bit integer. */
  nextU32(): number;
  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number;
  /** Uniform integer in [0, bound). */
  nextInt(bound: number): number;
  /** Standard normal deviate (Box–Muller). */
  gaussian(): number;
  /** Laplace deviate with unit scale b (variance 2). */
  laplace(): number;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function createRng(seed: number): Rng {
  const init = splitmix32(seed);
  let s0 = init();
  let s1 = init();
  let s2 = init();
  let s3 = init();
  let spare: number | undefined;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  const nextFloat = (): number => nextU32() / 4294967296;

  return {
    nextU32,
    nextFloat,
    nextInt: (bound) => Math.floor(nextFloat() * bound),
    gaussian: () => {
      if (spare !== undefined) {
        const value = spare;
        spare = undefined;
        return value;
      }
      // 1 - u keeps the logarithm's argument in (0, 1].
      const radius = Math.sqrt(-2 * Math.log(1 - nextFloat()));
      const angle = 2 * Math.PI * nextFloat();
      spare = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },
    laplace: () => {
      const u = nextFloat() - 0.5;
      return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    },
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export type Distribution = 'gaussian' | 'laplace' | 'uniform';

/** n deviates of the given distribution times `scale`, as float32. */
export function randomFloats(
  n: number,
  seed: number,
  distribution: Distribution = 'gaussian',
  scale = 1,
): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v =
      distribution === 'gaussian'
        ? rng.gaussian()
        : distribution === 'laplace'
          ? rng.laplace()
          : rng.nextFloat() * 2 - 1;
    out[i] = v * scale;
  }
  return out;
}

/** n ternary values in {-1, 0, +1}; `zeroFraction` of them are zero on average. */
export function randomTernary(n: number, seed: number, zeroFraction = 1 / 3): Int8Array {
  const rng = createRng(seed);
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    if (rng.nextFloat() < zeroFraction) continue;
    out[i] = rng.nextU32() & 1 ? 1 : -1;
  }
  return out;
}
