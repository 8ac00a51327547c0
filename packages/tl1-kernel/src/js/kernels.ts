import type { TokenBatch } from '../activations.js';
import type { DenseLayout } from '../dense.js';
import { CHUNK_BYTES, CHUNK_WEIGHTS, type TernaryLayout } from '../layout.js';
import { dot8 } from './dot.js';

/*
 * The pure-JS kernels. Ternary: one token at a time, a 256-entry table per
 * group of 4 activations holds Σ code·q for every byte value, so each code
 * byte (4 weights) costs one lookup; segments whose activation offset is not
 * 128-aligned (general mode) take the direct loop. Epilogue per KERNEL.md §3.
 */

/** Σ code·q for each byte of codes, per group g of activations (q[a+m], q[a+32+m], q[a+64+m], q[a+96+m]), a = 128·⌊g/32⌋. */
function buildByteTable(q: Int8Array, qOffset: number, chunks: number, table: Int16Array): void {
  for (let c = 0; c < chunks; c++) {
    for (let m = 0; m < 32; m++) {
      const base = qOffset + c * CHUNK_WEIGHTS + m;
      const q0 = q[base];
      const q1 = q[base + 32];
      const q2 = q[base + 64];
      const q3 = q[base + 96];
      const t = (c * 32 + m) << 8;
      // Fill field by field: entries with field n set are the earlier entries plus code·q_n.
      table[t] = 0;
      table[t + 1] = q0;
      table[t + 2] = 2 * q0;
      table[t + 3] = 3 * q0;
      for (let code = 1; code < 4; code++)
        for (let b = 0; b < 4; b++) table[t + (code << 2) + b] = table[t + b] + code * q1;
      for (let code = 1; code < 4; code++)
        for (let b = 0; b < 16; b++) table[t + (code << 4) + b] = table[t + b] + code * q2;
      for (let code = 1; code < 4; code++)
        for (let b = 0; b < 64; b++) table[t + (code << 6) + b] = table[t + b] + code * q3;
    }
  }
}

/** Direct Σ code·q over a segment at any activation offset. */
function directDot(codes: Uint8Array, codeOffset: number, chunks: number, q: Int8Array, a: number): number {
  let dot = 0;
  for (let c = 0; c < chunks; c++) {
    const cb = codeOffset + c * CHUNK_BYTES;
    const qa = a + c * CHUNK_WEIGHTS;
    for (let m = 0; m < 32; m++) {
      const b = codes[cb + m];
      dot +=
        (b & 3) * q[qa + m] +
        ((b >> 2) & 3) * q[qa + 32 + m] +
        ((b >> 4) & 3) * q[qa + 64 + m] +
        (b >> 6) * q[qa + 96 + m];
    }
  }
  return dot;
}

let tableScratch = new Int16Array(0);

/** Rows [rowBegin, rowEnd) of y for every token in the batch. */
export function jsTernaryGemm(
  layout: TernaryLayout,
  batch: TokenBatch,
  y: Float32Array,
  rowBegin: number,
  rowEnd: number,
): void {
  const { rows, codes, segAct, segChunks, segScale, uniform } = layout;
  const { q, prefix, qStride, actScales, nTokens } = batch;
  const tableLength = (qStride / CHUNK_WEIGHTS) * 32 * 256;
  if (tableScratch.length < tableLength) tableScratch = new Int16Array(tableLength);
  const table = tableScratch;
  // Uniform mode: the shared row pattern, its byte length, and whether the table path applies.
  let rowBytes = 0;
  for (let k = 0; k < uniform; k++) rowBytes += segChunks[k] * CHUNK_BYTES;
  // Table lookups need 128-aligned segments; word reads need 4-aligned code bytes.
  const aligned = segAct.every((a) => a % CHUNK_WEIGHTS === 0);
  const words =
    aligned && codes.byteOffset % 4 === 0 ? new Uint32Array(codes.buffer, codes.byteOffset, codes.length >> 2) : null;

  for (let t = 0; t < nTokens; t++) {
    const qBase = t * qStride;
    const pBase = t * (qStride + 1);
    const actScale = actScales[t];
    if (uniform > 0) {
      buildByteTable(q, qBase, Math.floor(qStride / CHUNK_WEIGHTS) - 1, table);
      for (let r = rowBegin; r < rowEnd; r++) {
        let offset = r * rowBytes;
        let sum = 0;
        for (let k = 0; k < uniform; k++) {
          const a = segAct[k];
          const chunks = segChunks[k];
          let dot = 0;
          if (words) {
            // Chunk c of this segment covers table groups (a/128 + c)·32 … +31: group index = a/4 + byte index.
            // Four code bytes per word read, four independent sums.
            let g = ((a / CHUNK_WEIGHTS) * 32) << 8;
            let d1 = 0;
            let d2 = 0;
            let d3 = 0;
            const first = offset >> 2;
            const last = first + chunks * (CHUNK_BYTES >> 2);
            for (let w = first; w < last; w++, g += 1024) {
              const word = words[w];
              dot += table[g + (word & 0xff)];
              d1 += table[g + 256 + ((word >>> 8) & 0xff)];
              d2 += table[g + 512 + ((word >>> 16) & 0xff)];
              d3 += table[g + 768 + (word >>> 24)];
            }
            dot += d1 + d2 + d3;
          } else {
            dot = directDot(codes, offset, chunks, q, qBase + a);
          }
          const end = a + CHUNK_WEIGHTS * chunks;
          const acc = dot - (prefix[pBase + end] - prefix[pBase + a]);
          sum = Math.fround(sum + Math.fround(segScale[r * uniform + k] * acc));
          offset += chunks * CHUNK_BYTES;
        }
        y[t * rows + r] = Math.fround(sum / actScale);
      }
    } else {
      const rowSeg = layout.rowSeg as Int32Array;
      const rowCode = layout.rowCode as Int32Array;
      for (let r = rowBegin; r < rowEnd; r++) {
        let offset = rowCode[r];
        let sum = 0;
        for (let k = rowSeg[r]; k < rowSeg[r + 1]; k++) {
          const a = segAct[k];
          const chunks = segChunks[k];
          const dot = directDot(codes, offset, chunks, q, qBase + a);
          const end = a + CHUNK_WEIGHTS * chunks;
          const acc = dot - (prefix[pBase + end] - prefix[pBase + a]);
          sum = Math.fround(sum + Math.fround(segScale[k] * acc));
          offset += chunks * CHUNK_BYTES;
        }
        y[t * rows + r] = Math.fround(sum / actScale);
      }
    }
  }
}

/** Dense rows [rowBegin, rowEnd) for every token, 8-lane order of KERNEL.md §4. */
export function jsDenseGemm(
  layout: DenseLayout,
  x: Float32Array,
  nTokens: number,
  y: Float32Array,
  rowBegin: number,
  rowEnd: number,
): void {
  const { rows, cols } = layout;
  const w = new Float32Array(cols);
  for (let r = rowBegin; r < rowEnd; r++) {
    layout.readRow(r, w);
    for (let t = 0; t < nTokens; t++) y[t * rows + r] = dot8(w, 0, x, t * cols, cols);
  }
}
