export {
  defaultHiddenActivation,
  HIDDEN_ACTIVATION_NAMES,
  type HiddenActivation,
  hiddenActivation,
} from './architectures.js';
export {
  discoverTensors,
  type TensorDiscoveryReport,
  type TensorEntry,
  type TensorGroup,
  type TensorGroupName,
  tensorGroupOf,
} from './discover.js';
export {
  type EncodeMetadataOptions,
  encodeMetadataValue,
  type GgufMetadataInput,
} from './encode.js';
export {
  GgufAbortError,
  GgufError,
  type GgufErrorDetails,
  GgufMetadataError,
  GgufUnsupportedError,
  GgufWriteError,
} from './errors.js';
export {
  type ExportBitnetOptions,
  type ExportTensor,
  type ExportTensorData,
  type ExportTernaryFormat,
  exportBitnetModel,
  f32ToF16Bytes,
  serializeBitnetT158,
} from './export.js';
export {
  BitnetCppType,
  describeUnknownType,
  type FromFloat,
  findGgmlType,
  GGML_TYPE_COUNT,
  GgmlType,
  type GgmlTypeInfo,
  type GgufDialect,
  ggmlTypeByName,
  ggmlTypes,
  RuvllmType,
  type ToFloat,
} from './ggml-types.js';
export {
  checkHyperParameters,
  type HyperParameterCheck,
  type HyperParameterInput,
  MAX_CONTEXT_LENGTH,
} from './hyper-parameters.js';
export { type KnownKeyType, knownKeyType } from './known-keys.js';
export { GgufMetadata } from './metadata.js';
export {
  detectDialect,
  GGUF_DEFAULT_ALIGNMENT,
  GgufFile,
  type GgufTensorInfo,
  numpyShape,
  type ReadGgufOptions,
  readGguf,
  rowMajorShape,
} from './reader.js';
export type { GgufSource } from './source.js';
export {
  ggufTensorNameFor,
  huggingFaceTensorNameFor,
  type ModelTensorRole,
  parseGgufTensorName,
  parseHuggingFaceTensorName,
  TENSOR_NAMES,
  type TensorNameArchitecture,
  type TensorNameParts,
  type TensorNameRow,
  tensorRolesOf,
} from './tensor-names.js';
export { type GgufIssue, type GgufValidation, type ValidateGgufOptions, validateGguf } from './validate.js';
export {
  type GgufArrayElements,
  type GgufArrayValue,
  type GgufMetadataValue,
  type GgufScalarValue,
  GgufValue,
  GgufValueType,
  valueTypeName,
} from './value-types.js';
export { type GgufWriteProgress, GgufWriter, type GgufWriterOptions, type GgufWriterTensor } from './writer.js';
