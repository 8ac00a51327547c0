// quantizeTensor on a 4096×4096 matrix, with and without optimizeScales,
// against a straightforward loop (per-block arrays, then pack) in the same run.
import { absmeanTernary, quantizeTensor } from '@trit/quantizer';
import { computeDequantError, packTernary, TernaryTensor } from '@trit/ternary';
import { type BenchRow, formatTable, measure, randomFloats } from '@trit/testkit';

const rows = 4096;
const cols = 4096;
const n = rows * cols;
const weights = randomFloats(n, 5, 'gaussian', 0.02);

/** The obvious implementation: quantize each block into a fresh array, copy, pack. */
function straightforward(w: Float32Array): TernaryTensor {
  const codes = new Int8Array(w.length);
  const scales = new Float32Array(Math.ceil(w.length / 256));
  for (let b = 0; b < scales.length; b++) {
    const block = Array.from(w.subarray(b * 256, (b + 1) * 256));
    const { codes: blockCodes, scale } = absmeanTernary(block);
    codes.set(blockCodes, b * 256);
    scales[b] = scale;
  }
  return new TernaryTensor({ packed: packTernary(codes), scales, shape: [rows, cols], blockSize: 256 });
}

const check = straightforward(weights);
const plainTensor = quantizeTensor(weights, [rows, cols], { optimizeScales: false });
if (plainTensor.packed.some((b, i) => b !== check.packed[i]))
  throw new Error('quantizeTensor disagrees with the straightforward loop');

const units = { units: n, minMs: 1500 };
const baseline = measure('straightforward loop', () => straightforward(weights), units);
const table: BenchRow[] = [
  { result: baseline },
  {
    result: measure(
      'quantizeTensor (absmean)',
      () => quantizeTensor(weights, [rows, cols], { optimizeScales: false }),
      units,
    ),
    baseline,
    goal: 100e6,
  },
  {
    result: measure(
      'quantizeTensor (optimizeScales)',
      () => quantizeTensor(weights, [rows, cols], { optimizeScales: true }),
      units,
    ),
    baseline,
  },
];
console.log(formatTable(`@trit/quantizer on ${rows}×${cols} Gaussian weights, one core`, 'weights', table));

console.log('\nReconstruction MSE, 4096×4096, absmean vs optimizeScales:');
for (const dist of ['gaussian', 'laplace'] as const) {
  const w = randomFloats(n, 9, dist, 0.02);
  const plain = computeDequantError(w, quantizeTensor(w, [rows, cols], { optimizeScales: false }).dequantize()).mse;
  const tuned = computeDequantError(w, quantizeTensor(w, [rows, cols], { optimizeScales: true }).dequantize()).mse;
  console.log(
    `  ${dist.padEnd(8)} absmean ${plain.toExponential(4)}  optimized ${tuned.toExponential(4)}  reduction ${((1 - tuned / plain) * 100).toFixed(1)}%`,
  );
}
