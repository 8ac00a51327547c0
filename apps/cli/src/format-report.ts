import type { DemoReport } from './demo.js';

const mega = (perSecond: number) => `${(perSecond / 1e6).toFixed(0)}`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const sci = (x: number) => x.toExponential(3);
const check = (ok: boolean) => (ok ? 'yes' : 'NO');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    `  ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ')}`;
  return [line(header), ...rows.map(line)].join('\n');
}

/** The demo report as the terminal tour. */
export function formatDemoReport(report: DemoReport): string {
  const { rows, cols, seed, std } = report.tensor;
  const n = rows * cols;
  const plain = report.quantize[0];
  const tuned = report.quantize[1];
  const tq2 = report.formats.find((f) => f.format === 'tq2_0');
  const out: string[] = [];
  out.push(`trit demo: BitNet b1.58 ternary quantization of a built-in ${rows}×${cols} weight matrix`);
  out.push(
    `  ${n.toLocaleString('en-US')} weights ~ N(0, ${std.toFixed(4)}²), seed ${seed}; timings are the best of a few runs on one core`,
  );
  out.push('');
  out.push('1. Quantize (256-weight blocks)');
  out.push(
    table(
      ['method', 'sparsity', 'MSE', 'rel. RMSE', 'max |err|', 'M weights/s'],
      report.quantize.map((q) => [
        q.method,
        pct(q.sparsity),
        sci(q.mse),
        q.relativeRmse.toFixed(4),
        sci(q.maxAbsError),
        mega(q.weightsPerSecond),
      ]),
    ),
  );
  if (plain && tuned) {
    out.push(
      `  optimizeScales cuts the reconstruction MSE by ${pct(1 - tuned.mse / plain.mse)} (least-squares scales + zero-threshold search)`,
    );
  }
  out.push('');
  out.push('2. Pack, unpack, dequantize (the optimizeScales tensor, 2-bit seed layout)');
  out.push(`  unpack      ${mega(report.packing.unpackCodesPerSecond)} M codes/s`);
  out.push(`  repack      identical bytes: ${check(report.packing.repackIdentical)}`);
  out.push(`  dequantize  ${mega(report.packing.dequantizeWeightsPerSecond)} M weights/s`);
  out.push('');
  out.push('3. Block formats (encode, decode, compare)');
  out.push(
    table(
      ['format', 'id', 'bits/weight', 'bytes', 'MSE', 'codes ok', 'scales ok', 'enc M/s', 'dec M/s'],
      report.formats.map((f) => [
        f.format,
        `${f.ggmlType} (${f.dialect})`,
        f.bitsPerWeight.toFixed(4),
        f.bytes.toLocaleString('en-US'),
        sci(f.mse),
        check(f.codesRoundTrip),
        check(f.scalesRoundTrip),
        mega(f.encodeWeightsPerSecond),
        mega(f.decodeWeightsPerSecond),
      ]),
    ),
  );
  out.push('  tq2_0/tq1_0/t158 store one fp16 scale per 256 weights; i2_s stores one float32 scale per tensor.');
  if (tq2) {
    out.push(
      `  float32 would take ${report.float32Bytes.toLocaleString('en-US')} bytes: tq2_0 is ${(report.float32Bytes / tq2.bytes).toFixed(1)}× smaller.`,
    );
  }
  out.push('');
  out.push('4. Multiply: y = W·x, activations quantized to int8 per token (W1.58A8), one thread');
  out.push(
    table(
      ['kernel', 'µs per GEMV', 'same bits as first'],
      report.kernels.map((k) => [k.kernel, k.microsPerGemv.toFixed(0), check(k.identical)]),
    ),
  );
  out.push(
    `  relative RMS error against float64 with unquantized activations: ${report.gemvRelativeError.toExponential(2)}`,
  );
  const m = report.model;
  if (m) {
    out.push('');
    out.push(`5. A whole model: trit synth (bitnet tiny) → trit quantize (tq2_0) → trit validate → trit run`);
    out.push(
      `  ${m.parameters.toLocaleString('en-US')} parameters, ${m.ternaryTensors} ternary projections; BF16 checkpoint ${m.sourceBytes.toLocaleString('en-US')} bytes → GGUF ${m.ggufBytes.toLocaleString('en-US')} bytes (${(m.sourceBytes / m.ggufBytes).toFixed(1)}× smaller, ${m.bitsPerWeight.toFixed(2)} bits/weight incl. ${m.embeddingType} embeddings) in ${m.quantizeSeconds.toFixed(2)} s`,
      `  projection error ‖w − ŵ‖/‖w‖: mean ${m.relativeError.mean.toExponential(2)}, worst ${m.relativeError.max.toExponential(2)} (the synthetic weights are ternary × a scale already, as a BitNet checkpoint's are); valid GGUF: ${check(m.valid)}`,
    );
    out.push(
      `  greedy continuation (repeat penalty 1.3) of ${JSON.stringify(m.prompt)} (random weights, so the text is noise): ${JSON.stringify(m.text)}`,
    );
    out.push(
      table(
        ['kernel', 'prefill tok/s', 'decode tok/s', 'same tokens as first'],
        m.kernels.map((k) => [
          k.kernel,
          k.prefillTokensPerSecond.toFixed(0),
          k.decodeTokensPerSecond.toFixed(0),
          check(k.identical),
        ]),
      ),
    );
    const l = m.llamaCpp;
    out.push(
      l.unavailable === undefined
        ? `  llama.cpp on the same file and tokens, teacher-forced: same next token at ${(l.top1Agreement * 100).toFixed(1)}% of ${l.positions} positions, probability cosine mean ${l.meanCosine.toFixed(5)}, worst ${l.minCosine.toFixed(5)}\n  (llama.cpp rounds activations to int8 per 256 values, BitNet per token, so ternary models differ slightly)`
        : `  llama.cpp comparison skipped: ${l.unavailable}`,
    );
  }
  return out.join('\n');
}
