import { quantizeTokens } from './activations.js';
import { KernelShapeError } from './errors.js';
import { qStrideFor } from './kernel.js';
import { CHUNK_WEIGHTS, forEachSegment, type TernaryLayout } from './layout.js';
import { layoutFromInput, type TernaryMatrixInput } from './ternary-input.js';

/*
 * TL1, as bitnet.cpp means it: weights go in pairs, each pair (w0, w1) becomes
 * the 4-bit index 3·w0 + w1 + 4 (0…8), and for every activation pair (a0, a1)
 * a 16-slot table holds the 9 sums w0·a0 + w1·a1. A dot product is then one
 * lookup per weight pair plus integer accumulation, exactly equal to Σ t·q, so
 * tl1Gemv is bit-identical to the default kernels.
 */

/** The TL1 table for int8 activations: 16 int16 slots per activation pair (slots 9–15 unused, 0). */
export function generateTl1Lut(q: Int8Array): Int16Array {
  const pairs = Math.ceil(q.length / 2);
  const lut = new Int16Array(pairs * 16);
  for (let p = 0; p < pairs; p++) {
    const a0 = q[2 * p];
    const a1 = 2 * p + 1 < q.length ? q[2 * p + 1] : 0;
    for (let w0 = -1; w0 <= 1; w0++) {
      for (let w1 = -1; w1 <= 1; w1++) lut[p * 16 + 3 * w0 + w1 + 4] = w0 * a0 + w1 * a1;
    }
  }
  return lut;
}

/** A ternary matrix in TL1 form: per segment, the weight pairs' 4-bit indices, two per byte. */
export interface Tl1Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Segments of each row: first activation pair, pair count, scale, nibble offset. */
  readonly rowSegments: Int32Array;
  readonly segPairStart: Int32Array;
  readonly segPairCount: Int32Array;
  readonly segScale: Float32Array;
  readonly segNibble: Int32Array;
  readonly indices: Uint8Array;
  readonly qStride: number;
}

/** Builds the TL1 form of a ternary matrix (any format a kernel's `prepare` takes). */
export function prepareTl1(matrix: TernaryMatrixInput): Tl1Matrix {
  return tl1FromLayout(layoutFromInput(matrix));
}

function tl1FromLayout(layout: TernaryLayout): Tl1Matrix {
  const { rows, cols, codes } = layout;
  const rowSegments = new Int32Array(rows + 1);
  const starts: number[] = [];
  const counts: number[] = [];
  const scales: number[] = [];
  const nibbles: number[] = [];
  let totalNibbles = 0;
  let lastRow = -1;
  const entries: { row: number; a: number; length: number; codeOffset: number }[] = [];
  forEachSegment(layout, (row, k, scaleIndex, codeOffset) => {
    if (row !== lastRow) {
      for (let r = lastRow + 1; r <= row; r++) rowSegments[r] = starts.length;
      lastRow = row;
    }
    const a = layout.segAct[k];
    const length = Math.min(CHUNK_WEIGHTS * layout.segChunks[k], cols - a);
    const first = a >> 1;
    const count = ((a + length + 1) >> 1) - first;
    starts.push(first);
    counts.push(count);
    scales.push(layout.segScale[scaleIndex]);
    nibbles.push(totalNibbles);
    totalNibbles += count;
    entries.push({ row, a, length, codeOffset });
  });
  for (let r = lastRow + 1; r <= rows; r++) rowSegments[r] = starts.length;
  const indices = new Uint8Array(Math.ceil(totalNibbles / 2));
  entries.forEach(({ a, length, codeOffset }, s) => {
    const value = (j: number): number => {
      // Weight at activation j, 0 outside this segment (a pair may straddle two segments).
      if (j < a || j >= a + length) return 0;
      const i = j - a;
      const p = i & 127;
      return ((codes[codeOffset + (i >> 7) * 32 + (p & 31)] >> (2 * (p >> 5))) & 3) - 1;
    };
    for (let n = 0; n < counts[s]; n++) {
      const pair = starts[s] + n;
      const index = 3 * value(2 * pair) + value(2 * pair + 1) + 4;
      const at = nibbles[s] + n;
      indices[at >> 1] |= index << (4 * (at & 1));
    }
  });
  return {
    rows,
    cols,
    rowSegments,
    segPairStart: Int32Array.from(starts),
    segPairCount: Int32Array.from(counts),
    segScale: Float32Array.from(scales),
    segNibble: Int32Array.from(nibbles),
    indices,
    qStride: qStrideFor(layout),
  };
}

/** y = M·x through TL1 lookups; bit-identical to every kernel's gemv. */
export function tl1Gemv(matrix: Tl1Matrix, x: Float32Array, y?: Float32Array): Float32Array {
  const { rows, cols, rowSegments, segPairStart, segPairCount, segScale, segNibble, indices } = matrix;
  if (x.length !== cols) throw new KernelShapeError('tl1Gemv: x length (matrix cols)', cols, x.length);
  const out = y ?? new Float32Array(rows);
  if (out.length !== rows) throw new KernelShapeError('tl1Gemv: y length (matrix rows)', rows, out.length);
  const batch = quantizeTokens(x, 1, cols, matrix.qStride);
  const lut = generateTl1Lut(batch.q.subarray(0, 2 * Math.ceil(cols / 2)));
  const actScale = batch.actScales[0];
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let s = rowSegments[r]; s < rowSegments[r + 1]; s++) {
      let acc = 0;
      let at = segNibble[s];
      let slot = segPairStart[s] * 16;
      for (let n = 0; n < segPairCount[s]; n++, at++, slot += 16)
        acc += lut[slot + ((indices[at >> 1] >> (4 * (at & 1))) & 15)];
      sum = Math.fround(sum + Math.fround(segScale[s] * acc));
    }
    out[r] = Math.fround(sum / actScale);
  }
  return out;
}
