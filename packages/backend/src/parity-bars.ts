/**
 * The agreement with llama.cpp that the parity suites (llama-cpp.test.ts,
 * k-quant-heads.llama-cpp.test.ts) require, and the run both use: teacher-forced
 * positions, fewer than the context (node-llama-cpp shifts a full context before
 * the last token's logits), on every kernel.
 */
export const PARITY_POSITIONS = 384;
/** The tiny preset's context_length. */
export const PARITY_CONTEXT_SIZE = 512;
export const PARITY_KERNELS = ['native', 'wasm', 'js'] as const;

/** Float types (F32, F16, and heads whose error is far below the ternary one). */
export const FLOAT_BAR = { top1: 0.99, cosine: 0.999 };
/** Ternary types. */
export const QUANTIZED_BAR = { top1: 0.95, cosine: 0.99 };
/**
 * Types whose activations both runtimes round to int8 blocks (Q8_0 for Q8_0, Q8_K for
 * Q4_K): an input differing in its last bit can round to the next quantum, so near-ties
 * in the top-1 flip more often than for F16.
 */
export const Q8_BAR = { top1: 0.9, cosine: 0.998 };
