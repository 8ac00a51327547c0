/*
 * `@trit/tl1-kernel/contract`: what a consumer needs to type against the
 * kernel (and the dense-type table, and the error classes), without loading
 * it. This entry's module graph holds no addon, wasm or worker code: keep
 * every import here to types or to modules that import nothing heavier than
 * errors.ts and dense-types.ts (checked by contract.test.ts).
 */
export type { AttentionInput, KvCacheArray } from './attention.js';
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
export type { GatedActivation, GemmGlue } from './glue.js';
export type { PreparedMatrix, TernaryKernel } from './kernel.js';
export type { RmsNormInput } from './norm.js';
export type { RopeTables } from './rope.js';
export type {
  LoadedKernel,
  LoadKernelOptions,
  SkippedBackend,
  SkippedImplementation,
  WasmSimd,
} from './select.js';
export type { GgufTernaryInput, TernaryMatrixInput, TernaryTensorInput } from './ternary-input.js';
