// The contract (types, the dense-type table, errors) is also its own entry; this one adds the kernels.

export { absmaxQuantizeActivations, type QuantizedActivations } from './activations.js';
export { jsArgmax } from './argmax.js';
export { exp32, jsAttention } from './attention.js';
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
export * from './contract.js';
export { addResidual, type GatedActivation, type GemmGlue, gatedActivation } from './glue.js';
export { jsRmsNorm } from './norm.js';
export { applyRope, type RopeTables, ropeTables } from './rope.js';
export { loadKernel } from './select.js';
export { generateTl1Lut, prepareTl1, type Tl1Matrix, tl1Gemv } from './tl1.js';
