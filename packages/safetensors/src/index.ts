export {
  FLOAT32_READABLE_DTYPES,
  findDtype,
  isSafetensorsDtype,
  type SafetensorsDtype,
  type SafetensorsDtypeInfo,
  safetensorsDtypes,
  tensorByteSize,
} from './dtypes.js';
export {
  SafetensorsAbortError,
  SafetensorsError,
  type SafetensorsErrorDetails,
  SafetensorsInexactError,
  SafetensorsUnsupportedError,
  SafetensorsWriteError,
} from './errors.js';
export {
  bfloat16BytesToFloat32,
  type DecodeFloat32,
  float16BytesToFloat32,
  float32ToBfloat16Bytes,
  float32ToBytes,
  float32ToFloat16Bytes,
} from './floats.js';
export { SAFETENSORS_MAX_HEADER_BYTES, type SafetensorsTensorInfo } from './header.js';
export {
  type OpenSafetensorsModelOptions,
  openSafetensorsModel,
  SAFETENSORS_INDEX_FILE,
  SAFETENSORS_SINGLE_FILE,
  SafetensorsModel,
  type SafetensorsModelTensor,
  type SafetensorsShard,
} from './model.js';
export { type ReadSafetensorsOptions, readSafetensors, SafetensorsFile } from './reader.js';
export {
  DEFAULT_MAX_SHARD_BYTES,
  type ShardedTensorData,
  type ShardedTensorInput,
  type ShardedWriteProgress,
  type ShardedWriteResult,
  shardFileName,
  type WriteShardedOptions,
  writeShardedSafetensors,
} from './sharded-writer.js';
export type { SafetensorsSource } from './source.js';
export {
  type SafetensorsWriteProgress,
  SafetensorsWriter,
  type SafetensorsWriterOptions,
  type SafetensorsWriterTensor,
  type TensorChunks,
} from './writer.js';
