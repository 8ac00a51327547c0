/*
 * The dense weight types the kernels multiply: one row per type, as ggml's type
 * traits do (KERNEL.md §4). Everything else in the kernel (type unions, ggml ids,
 * row sizes, job type codes, activation rounding) derives from this table, and the
 * C sources get a header generated from it, so keep it a plain array of plain
 * objects with literal values.
 *
 * `activation` is the grid llama.cpp's CPU matmul rounds the input to for a weight
 * type (its vec_dot_type, docs/formats.md §vec_dot_type): f32 leaves it alone, f16 and bf16 round each value,
 * q8_0 rounds blocks of 32 to int8 with d = absmax/127 stored as fp16 (also for q4_0),
 * q8_k rounds blocks of 256 to int8 with a float32 d (for the k-quants). The kernel
 * applies it before the dense dot product, so results follow llama.cpp's.
 *
 * A row's position in the table is its type code in thread jobs (threads/jobs.ts);
 * the C kernels take `ggmlType`.
 */
export const DENSE_TYPES = [
  { name: 'f32', ggmlType: 0, blockElements: 1, blockBytes: 4, activation: 'f32' },
  { name: 'f16', ggmlType: 1, blockElements: 1, blockBytes: 2, activation: 'f16' },
  { name: 'bf16', ggmlType: 30, blockElements: 1, blockBytes: 2, activation: 'bf16' },
  { name: 'q8_0', ggmlType: 8, blockElements: 32, blockBytes: 34, activation: 'q8_0' },
  { name: 'q4_0', ggmlType: 2, blockElements: 32, blockBytes: 18, activation: 'q8_0' },
  { name: 'q4_k', ggmlType: 12, blockElements: 256, blockBytes: 144, activation: 'q8_k' },
  { name: 'q5_k', ggmlType: 13, blockElements: 256, blockBytes: 176, activation: 'q8_k' },
  { name: 'q6_k', ggmlType: 14, blockElements: 256, blockBytes: 210, activation: 'q8_k' },
] as const;

/** One row of {@link DENSE_TYPES}. */
export type DenseTypeInfo = (typeof DENSE_TYPES)[number];

/** Dense weight types the kernels multiply. */
export type DenseType = DenseTypeInfo['name'];

/** What a dense matrix's inputs are rounded to before the dot product (`f32`: not rounded). */
export type DenseActivation = DenseTypeInfo['activation'];

/** Elements per block of q8_0-rounded activations (llama.cpp's QK8_0). */
export const Q8_0_ACTIVATION_BLOCK = 32;

/** Elements per block of q8_k-rounded activations (llama.cpp's QK_K). */
export const Q8_K_ACTIVATION_BLOCK = 256;

/** The table's row for `name`, or undefined for a type the kernels do not take. */
export function denseTypeInfo(name: string): DenseTypeInfo | undefined {
  return DENSE_TYPES.find((t) => t.name === name);
}

/** The type's position in {@link DENSE_TYPES}: its code in thread jobs. */
export function denseTypeCode(name: DenseType): number {
  return DENSE_TYPES.findIndex((t) => t.name === name);
}
