export {
  type AtomicFileErrorCode,
  type AtomicFileOptions,
  AtomicFileSink,
  syncDirectoryOf,
  temporaryPathFor,
  writeFileAtomic,
} from './atomic-file.js';
export { type ByteChunks, type ChunkErrors, writeChunksExactly } from './chunks.js';
export {
  defaultErrorFactory,
  errorCode,
  formatLocatedMessage,
  LocatedError,
  type LocatedErrorDetails,
  type LocatedErrorFactory,
  locatedErrorFactory,
} from './errors.js';
export {
  type ByteSource,
  type ByteSourceErrorCode,
  type ByteSourceInput,
  type OpenByteSourceOptions,
  openByteSource,
} from './source.js';
export { type SessionTensor, WriteSession, type WriteSessionErrors } from './write-session.js';
