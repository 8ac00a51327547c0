export { absmaxQuantizeActivations, type QuantizedActivations } from './activations.js';
export { type AttentionInput, exp32, jsAttention } from './attention.js';
export {
  type BenchWeightType,
  formatKernelBench,
  type KernelBenchOptions,
  type KernelBenchReport,
  type KernelBenchResult,
  LLAMA_CPP_REFERENCE_MICROS,
  measureMemoryBandwidth,
  runKernelBench,
} from './benchmark.js';
export type { DenseInput, DenseType } from './dense.js';
export {
  type KernelBackend,
  KernelDisposedError,
  KernelFormatError,
  KernelLoadError,
  KernelShapeError,
} from './errors.js';
export type { PreparedMatrix, TernaryKernel } from './kernel.js';
export type { GgufTernaryInput } from './layout.js';
export { type LoadedKernel, type LoadKernelOptions, loadKernel, type SkippedBackend } from './select.js';
export { generateTl1Lut, prepareTl1, type Tl1Matrix, tl1Gemv } from './tl1.js';
