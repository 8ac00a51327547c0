// Attention (TernaryKernel.attention) on every backend against the JS version
// as the baseline, measured in the same run, with the bytes of KV cache each
// call reads next to the machine's memory bandwidth.
import { loadKernel, measureMemoryBandwidth, type TernaryKernel } from '@trit/tl1-kernel';

const quick = process.argv.includes('--quick');
const minMs = quick ? 100 : 300;
const shapes = [
  { label: 'BitNet 2B (20 heads, 5 KV, 128)', heads: 20, kvHeads: 5, headDim: 128 },
  { label: 'tiny (4 heads, 2 KV, 64)', heads: 4, kvHeads: 2, headDim: 64 },
];
const spans = quick ? [512] : [128, 512, 2048];

function time(fn: () => void): number {
  fn();
  let best = Number.POSITIVE_INFINITY;
  const until = performance.now() + minMs;
  for (let i = 0; i < 3 || performance.now() < until; i++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  return best * 1000;
}

const kernels: TernaryKernel[] = [];
for (const [backend, threads] of [
  ['js', 1],
  ['wasm', 1],
  ['native', 1],
  ['native', 2],
] as const) {
  try {
    kernels.push(await loadKernel({ backend, threads }));
  } catch (error) {
    console.warn(`${backend}: not available (${(error as Error).message})`);
  }
}
const bandwidth = (await measureMemoryBandwidth([1]))[0];
console.log(`memory read bandwidth ≈ ${bandwidth?.GBps.toFixed(1)} GB/s (${bandwidth?.method}, 1 thread)\n`);
console.log(
  `${'shape'.padEnd(34)}${'span'.padStart(6)}  ${'kernel'.padEnd(22)}${'µs/call'.padStart(9)}${'GB/s'.padStart(8)}${'× JS'.padStart(8)}`,
);
for (const shape of shapes) {
  for (const span of spans) {
    const kvLength = span * shape.kvHeads * shape.headDim;
    const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 0.5);
    const input = {
      q: fill(shape.heads * shape.headDim),
      keys: fill(kvLength),
      values: fill(kvLength).reverse(),
      out: new Float32Array(shape.heads * shape.headDim),
      ...shape,
      start: span - 1,
      nTokens: 1,
      scale: 1 / Math.sqrt(shape.headDim),
    };
    let baseline: number | undefined;
    for (const kernel of kernels) {
      const micros = time(() => kernel.attention(input));
      baseline ??= micros;
      const gbps = (2 * kvLength * 4) / micros / 1000;
      console.log(
        `${shape.label.padEnd(34)}${String(span).padStart(6)}  ${`${kernel.name} ×${kernel.threads}`.padEnd(22)}${micros.toFixed(1).padStart(9)}${gbps.toFixed(1).padStart(8)}${(baseline / micros).toFixed(1).padStart(8)}`,
      );
    }
  }
}
for (const k of kernels) await k.dispose();
