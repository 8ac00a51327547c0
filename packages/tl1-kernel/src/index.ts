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
export type { DenseInput } from './dense.js';
export {
  DENSE_TYPES,
  type DenseActivation,
  type DenseType,
  type DenseTypeInfo,
} from './dense-types.js';
export {
  type KernelBackend,
  KernelDisposedError,
  KernelFormatError,
  type KernelImplementation,
  KernelLoadError,
  KernelShapeError,
} from './errors.js';
export type { PreparedMatrix, TernaryKernel } from './kernel.js';
export {
  type LoadedKernel,
  type LoadKernelOptions,
  loadKernel,
  type SkippedBackend,
  type SkippedImplementation,
} from './select.js';
export type { GgufTernaryInput, TernaryMatrixInput, TernaryTensorInput } from './ternary-input.js';
export { generateTl1Lut, prepareTl1, type Tl1Matrix, tl1Gemv } from './tl1.js';
