export { loadKernel, type LoadKernelOptions, type LoadedKernel, type SkippedBackend } from './select.js';
export type { TernaryKernel, PreparedMatrix } from './kernel.js';
export type { GgufTernaryInput } from './layout.js';
export type { DenseInput, DenseType } from './dense.js';
export { absmaxQuantizeActivations, type QuantizedActivations } from './activations.js';
export { KernelLoadError, KernelShapeError, KernelFormatError, type KernelBackend } from './errors.js';
export { generateTl1Lut, prepareTl1, tl1Gemv, type Tl1Matrix } from './tl1.js';
export {
  runKernelBench,
  formatKernelBench,
  LLAMA_CPP_REFERENCE_MICROS,
  type KernelBenchOptions,
  type KernelBenchReport,
  type KernelBenchResult,
  type BenchWeightType,
} from './benchmark.js';
