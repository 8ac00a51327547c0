import type { TernaryBlockFormat, TernaryFormatName } from './formats/format.js';
import { getTernaryFormat } from './formats/registry.js';

/**
 * Codes that do not decode to -1, 0 or +1. TQ2_0's and I2_S's 2-bit code 3
 * decodes to +2 (as ggml and bitnet.cpp compute it), which no ternary kernel
 * represents, so @trit/tl1-kernel refuses such tensors on load; a validator
 * finds them here first. The rule is read off each format's own decoder, not
 * restated: a byte value is suspect when a block of it decodes outside ±1.
 * T158's code 3 decodes to 0 and every TQ1_0 byte decodes to trits, so those
 * formats never report one.
 */
export interface NonTernaryCode {
  /** Element index in the tensor (flat, row-major). */
  element: number;
  /** Block index in the tensor. */
  block: number;
  /** Offset of the byte holding the element, in the bytes passed. */
  byte: number;
  /** The decoded value (+2 for a 2-bit code 3). */
  value: number;
}

export interface FindNonTernaryOptions {
  /** Index of the first block in `bytes`, when they are a chunk of a larger tensor; default 0. */
  firstBlock?: number;
  /** Elements in the whole tensor: codes past it (padding of the last block) are not checked. Default: all. */
  elements?: number;
}

interface Probe {
  /** Bytes of packed codes at the start of each block (the rest is its scale). */
  codeBytes: number;
  /** byte value → 1 when some field of it decodes outside ±1. */
  suspect: Uint8Array;
  /** A byte value that decodes inside ±1 in every field, to fill around a suspect byte. */
  neutral: number;
  /** One block's bytes (plus any tensor-scale tail), for decoding a single block. */
  scratch: Uint8Array;
}

const probes = new Map<TernaryFormatName, Probe>();

function outside(codes: Int8Array): number {
  for (let i = 0; i < codes.length; i++) if (codes[i] < -1 || codes[i] > 1) return i;
  return -1;
}

function probeOf(format: TernaryBlockFormat): Probe {
  const known = probes.get(format.name);
  if (known) return known;
  const codeBytes = format.scaleScope === 'block' ? format.bytesPerBlock - 2 : format.bytesPerBlock;
  const scratch = new Uint8Array(format.byteLength(format.blockElements));
  const suspect = new Uint8Array(256);
  let neutral = -1;
  for (let value = 0; value < 256; value++) {
    scratch.fill(0);
    scratch.fill(value, 0, codeBytes);
    suspect[value] = outside(format.decode(scratch, format.blockElements).codes) >= 0 ? 1 : 0;
    if (!suspect[value] && neutral < 0) neutral = value;
  }
  const probe = { codeBytes, suspect, neutral, scratch };
  probes.set(format.name, probe);
  return probe;
}

/**
 * The first code in `bytes` (whole blocks of `format`; for a tensor-scaled
 * format like I2_S, the code blocks without the scale tail) that decodes
 * outside -1…+1, in byte order, or undefined when there is none.
 */
export function findNonTernaryCode(
  format: TernaryFormatName,
  bytes: Uint8Array,
  options: FindNonTernaryOptions = {},
): NonTernaryCode | undefined {
  const spec = getTernaryFormat(format);
  const probe = probeOf(spec);
  if (probe.neutral < 0) throw new RangeError(`${format}: no byte decodes to ternary codes`);
  if (!probe.suspect.includes(1)) return undefined;
  const { suspect, codeBytes, scratch, neutral } = probe;
  const firstBlock = options.firstBlock ?? 0;
  const elements = options.elements ?? Number.POSITIVE_INFINITY;
  const blocks = Math.floor(bytes.length / spec.bytesPerBlock);
  for (let b = 0; b < blocks; b++) {
    const base = b * spec.bytesPerBlock;
    for (let i = 0; i < codeBytes; i++) {
      if (!suspect[bytes[base + i]]) continue;
      // Decode a block holding only this byte's fields, to learn which elements it holds.
      scratch.fill(0);
      scratch.fill(neutral, 0, codeBytes);
      scratch[i] = bytes[base + i];
      const codes = spec.decode(scratch, spec.blockElements).codes;
      const block = firstBlock + b;
      for (let j = 0; j < codes.length; j++) {
        const element = block * spec.blockElements + j;
        if ((codes[j] < -1 || codes[j] > 1) && element < elements) {
          return { element, block, byte: base + i, value: codes[j] };
        }
      }
    }
  }
  return undefined;
}
