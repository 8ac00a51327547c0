/*
 * A runtime of your own from three packages, without @trit/backend:
 *   @trit/gguf        reads the model file (header now, tensor bytes on demand);
 *   @trit/tokenizer   turns the prompt into ids with the file's own vocabulary;
 *   @trit/tl1-kernel  multiplies by the weights, whatever type they are stored in.
 * Here they compute layer 0's query projection for a prompt:
 *   q = W_q · RMSNorm(token embedding)   for every prompt token.
 * The formats involved are described in docs/formats.md.
 */
import { type GgufFile, type GgufTensorInfo, readGguf, rowMajorShape } from '@trit/gguf';
import {
  DENSE_TYPES,
  type LoadKernelOptions,
  loadKernel,
  type PreparedMatrix,
  type TernaryKernel,
} from '@trit/tl1-kernel';
import { tokenizerFromGguf } from '@trit/tokenizer';

/** Hands a GGUF tensor to the kernel: ternary types to `prepare`, float types to `prepareDense`. */
export function prepareTensor(kernel: TernaryKernel, tensor: GgufTensorInfo, data: Uint8Array): PreparedMatrix {
  // GGUF lists dimensions fastest first; the kernel wants row-major [rows, cols].
  const [rows, cols] = rowMajorShape(tensor);
  const format = tensor.typeInfo.ternaryFormat; // 'tq2_0', 'tq1_0', 'i2_s' or 't158'
  if (format) return kernel.prepare({ format, data, rows, cols });
  const dense = DENSE_TYPES.find((type) => type.name === tensor.typeName.toLowerCase()); // F16 → 'f16', Q8_0 → 'q8_0', …
  if (!dense) throw new Error(`${tensor.name}: the kernel does not multiply ${tensor.typeName}`);
  return kernel.prepareDense({ type: dense.name, data, rows, cols });
}

/** Some rows of a matrix as float32, reading only those rows (quantization blocks never cross a row). */
export async function readRows(
  file: GgufFile,
  tensor: GgufTensorInfo,
  rowIds: ArrayLike<number>,
): Promise<Float32Array> {
  const [rows, cols] = rowMajorShape(tensor);
  const toFloat = tensor.typeInfo.toFloat;
  if (!toFloat) throw new Error(`${tensor.name}: cannot read ${tensor.typeName} as floats`);
  const rowBytes = tensor.byteSize / rows;
  const out = new Float32Array(rowIds.length * cols);
  for (let i = 0; i < rowIds.length; i++) {
    const bytes = await file.readBytes(tensor.fileOffset + rowIds[i] * rowBytes, rowBytes);
    out.set(toFloat(bytes, cols), i * cols);
  }
  return out;
}

/** RMSNorm of each `weight.length`-wide row of x, times the norm's weight. */
export function rmsNorm(x: Float32Array, weight: Float32Array, epsilon: number): Float32Array {
  const n = weight.length;
  const out = new Float32Array(x.length);
  for (let start = 0; start < x.length; start += n) {
    let sumOfSquares = 0;
    for (let i = 0; i < n; i++) sumOfSquares += x[start + i] * x[start + i];
    const scale = 1 / Math.sqrt(sumOfSquares / n + epsilon);
    for (let i = 0; i < n; i++) out[start + i] = x[start + i] * scale * weight[i];
  }
  return out;
}

export interface QueryProjection {
  tokens: Uint32Array;
  /** The kernel that ran, e.g. `native-avx2`, `wasm-simd128`, `js`. */
  kernel: string;
  /** RMSNorm(token embedding), tokens × n_embd: the input of the projection. */
  normed: Float32Array;
  /** tokens × (rows of blk.0.attn_q). */
  query: Float32Array;
}

/** Layer 0's query projection of `prompt` in the GGUF at `path` (a llama or bitnet model). */
export async function queryProjection(
  path: string,
  prompt: string,
  kernelOptions: LoadKernelOptions = {},
): Promise<QueryProjection> {
  const file = await readGguf(path);
  const tokens = tokenizerFromGguf(file).encode(prompt); // BOS first, as the file asks

  const embeddings = await readRows(file, file.tensor('token_embd.weight'), tokens);
  const epsilon = file.metadata.getF32(`${file.architecture}.attention.layer_norm_rms_epsilon`);
  const normed = rmsNorm(embeddings, await file.dequantizeTensor('blk.0.attn_norm.weight'), epsilon);

  const kernel = await loadKernel(kernelOptions);
  try {
    const attnQ = file.tensor('blk.0.attn_q.weight');
    const matrix = prepareTensor(kernel, attnQ, await file.readTensorData(attnQ));
    // One GEMV per token; a ternary matrix quantizes each token's activations to int8 on its own (W1.58A8).
    const query = kernel.gemm(matrix, normed, tokens.length);
    return { tokens, kernel: kernel.name, normed, query };
  } finally {
    await kernel.dispose();
  }
}
