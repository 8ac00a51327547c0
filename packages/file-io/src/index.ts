export {
  type AtomicDirectoryErrorCode,
  type AtomicDirectoryOptions,
  writeDirectoryAtomic,
} from './atomic-directory.js';
export {
  type AtomicFileErrorCode,
  type AtomicFileOptions,
  AtomicFileSink,
  syncDirectory,
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
export {
  type CleanupNotice,
  type CleanupOptions,
  cleanStaleTemporaries,
  isProcessRunning,
  parseTemporaryName,
  type TemporaryName,
  temporaryDirectoryFor,
} from './temporaries.js';
export { type SessionTensor, WriteSession, type WriteSessionErrors } from './write-session.js';
