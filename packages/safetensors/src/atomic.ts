import { writeFileAtomic as writeAtomically } from '@trit/file-io';
import { safetensorsFileErrors } from './errors.js';

/** Writes a small file (an index JSON) atomically; failures are SafetensorsErrors. */
export function writeFileAtomic(path: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  return writeAtomically(path, bytes, { signal, errors: safetensorsFileErrors });
}
