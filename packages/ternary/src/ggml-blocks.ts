import { assertCount, TernaryLengthError } from './errors.js';
import { halfToFloatTable, writeHalf } from './half.js';

// ggml's legacy (Q4_0 … Q8_0) and K-quant (Q4_K … Q8_K) block codecs. Layouts,
// worked examples and the float32 operation order of every value are in
// docs/formats.md §Q4_0 … §Q8_K. Every float step is rounded to float32 with
// Math.fround (a double product or sum of two float32s rounds to the same float32
// as the float32 operation), and nothing is fused, so decode matches ggml's
// dequantize_row_* and encode matches quantize_row_*_ref byte for byte.

export type GgmlBlockTypeName = 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q8_0' | 'q4_k' | 'q5_k' | 'q6_k' | 'q8_k';

export interface GgmlBlockCodec {
  name: GgmlBlockTypeName;
  ggmlType: number;
  blockElements: number;
  blockBytes: number;
  /** Decodes `blocks` blocks from src at srcOffset into dst at dstOffset, float32 values exactly as ggml's dequantize_row_* computes them (float32 ops, none fused). */
  decode(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, blocks: number): void;
  /** ggml's reference quantizer (quantize_row_*_ref), byte for byte, where implemented. */
  encode?(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, blocks: number): void;
}

const f = Math.fround;

/** ggml's nearest_int: adds 1.5·2^23 so the float32 sum rounds to an integer, ties to even. */
const nearestInt = (value: number): number => f(value + 12582912) - 12582912;

/** ggml's GROUP_MAX_EPS: groups whose largest magnitude is below it quantize to zero. */
const GROUP_MAX_EPS = f(1e-15);

const clamp = (value: number, low: number, high: number): number => Math.min(Math.max(value, low), high);

/** Converts to half (nearest even, as ggml's fp32→fp16) and returns the stored value as float. */
const storeHalf = (dst: Uint8Array, offset: number, value: number): number => writeHalf(dst, offset, value);

const readF32 = (bytes: Uint8Array, offset: number): number =>
  new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getFloat32(0, true);

function checkRange(
  name: string,
  what: string,
  length: number,
  offset: number,
  blocks: number,
  unitsPerBlock: number,
): void {
  assertCount(`${name} ${what}`, 'offset', offset);
  assertCount(`${name} ${what}`, 'blocks', blocks);
  const needed = offset + blocks * unitsPerBlock;
  if (needed > length) {
    throw new TernaryLengthError(`${name} ${what}`, needed, length, `${blocks} blocks from offset ${offset}`);
  }
}

interface CodecSpec {
  name: GgmlBlockTypeName;
  ggmlType: number;
  blockElements: number;
  blockBytes: number;
  decodeBlock(src: Uint8Array, p: number, dst: Float32Array, o: number, half: Float32Array): void;
  encodeBlock?(src: Float32Array, s: number, dst: Uint8Array, p: number): void;
}

function codec(spec: CodecSpec): GgmlBlockCodec {
  const { name, blockElements, blockBytes, decodeBlock, encodeBlock } = spec;
  const result: GgmlBlockCodec = {
    name,
    ggmlType: spec.ggmlType,
    blockElements,
    blockBytes,
    decode(src, srcOffset, dst, dstOffset, blocks) {
      checkRange(name, 'decode: bytes', src.length, srcOffset, blocks, blockBytes);
      checkRange(name, 'decode: values', dst.length, dstOffset, blocks, blockElements);
      const half = halfToFloatTable();
      for (let b = 0; b < blocks; b++) {
        decodeBlock(src, srcOffset + b * blockBytes, dst, dstOffset + b * blockElements, half);
      }
    },
  };
  if (encodeBlock) {
    result.encode = (src, srcOffset, dst, dstOffset, blocks) => {
      checkRange(name, 'encode: values', src.length, srcOffset, blocks, blockElements);
      checkRange(name, 'encode: bytes', dst.length, dstOffset, blocks, blockBytes);
      for (let b = 0; b < blocks; b++) {
        encodeBlock(src, srcOffset + b * blockElements, dst, dstOffset + b * blockBytes);
      }
    };
  }
  return Object.freeze(result);
}

/* ---------- legacy 32-element blocks ---------- */

/** The value of largest magnitude (the first one on ties), as ggml's legacy and K quantizers pick it. */
function signedAbsMax(src: Float32Array, start: number, count: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < count; j++) {
    const v = src[start + j];
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

function minMax(src: Float32Array, start: number, count: number): [number, number] {
  let min = f(3.4028234663852886e38);
  let max = -min;
  for (let j = 0; j < count; j++) {
    const v = src[start + j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

const q4_0 = codec({
  name: 'q4_0',
  ggmlType: 2,
  blockElements: 32,
  blockBytes: 18,
  decodeBlock(src, p, dst, o, half) {
    const d = half[src[p] | (src[p + 1] << 8)];
    for (let j = 0; j < 16; j++) {
      const q = src[p + 2 + j];
      dst[o + j] = f(((q & 15) - 8) * d);
      dst[o + j + 16] = f(((q >> 4) - 8) * d);
    }
  },
  encodeBlock(src, s, dst, p) {
    const d = f(signedAbsMax(src, s, 32) / -8);
    const id = d ? f(1 / d) : 0;
    storeHalf(dst, p, d);
    for (let j = 0; j < 16; j++) {
      const low = Math.min(15, Math.trunc(f(f(src[s + j] * id) + 8.5)));
      const high = Math.min(15, Math.trunc(f(f(src[s + j + 16] * id) + 8.5)));
      dst[p + 2 + j] = low | (high << 4);
    }
  },
});

const q4_1 = codec({
  name: 'q4_1',
  ggmlType: 3,
  blockElements: 32,
  blockBytes: 20,
  decodeBlock(src, p, dst, o, half) {
    const d = half[src[p] | (src[p + 1] << 8)];
    const m = half[src[p + 2] | (src[p + 3] << 8)];
    for (let j = 0; j < 16; j++) {
      const q = src[p + 4 + j];
      dst[o + j] = f(f((q & 15) * d) + m);
      dst[o + j + 16] = f(f((q >> 4) * d) + m);
    }
  },
  encodeBlock(src, s, dst, p) {
    const [min, max] = minMax(src, s, 32);
    const d = f(f(max - min) / 15);
    const id = d ? f(1 / d) : 0;
    storeHalf(dst, p, d);
    storeHalf(dst, p + 2, min);
    for (let j = 0; j < 16; j++) {
      const low = Math.min(15, Math.trunc(f(f(f(src[s + j] - min) * id) + 0.5)));
      const high = Math.min(15, Math.trunc(f(f(f(src[s + j + 16] - min) * id) + 0.5)));
      dst[p + 4 + j] = low | (high << 4);
    }
  },
});

const readU32 = (src: Uint8Array, p: number): number =>
  (src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24)) >>> 0;

function writeU32(dst: Uint8Array, p: number, value: number): void {
  dst[p] = value & 0xff;
  dst[p + 1] = (value >>> 8) & 0xff;
  dst[p + 2] = (value >>> 16) & 0xff;
  dst[p + 3] = (value >>> 24) & 0xff;
}

/** Packs 5-bit codes: low nibbles as Q4_0 does, fifth bits of element j at bit j of qh. */
function packFiveBit(codes: readonly number[], dst: Uint8Array, qhAt: number, qsAt: number): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const low = codes[j];
    const high = codes[j + 16];
    dst[qsAt + j] = (low & 15) | ((high & 15) << 4);
    qh |= ((low & 16) >> 4) << j;
    qh |= ((high & 16) >> 4) << (j + 16);
  }
  writeU32(dst, qhAt, qh >>> 0);
}

const q5_0 = codec({
  name: 'q5_0',
  ggmlType: 6,
  blockElements: 32,
  blockBytes: 22,
  decodeBlock(src, p, dst, o, half) {
    const d = half[src[p] | (src[p + 1] << 8)];
    const qh = readU32(src, p + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[p + 6 + j];
      const low = ((q & 15) | (((qh >>> j) << 4) & 16)) - 16;
      const high = ((q >> 4) | ((qh >>> (j + 12)) & 16)) - 16;
      dst[o + j] = f(low * d);
      dst[o + j + 16] = f(high * d);
    }
  },
  encodeBlock(src, s, dst, p) {
    const d = f(signedAbsMax(src, s, 32) / -16);
    const id = d ? f(1 / d) : 0;
    storeHalf(dst, p, d);
    const codes: number[] = [];
    for (let j = 0; j < 32; j++) codes.push(Math.min(31, Math.trunc(f(f(src[s + j] * id) + 16.5))));
    packFiveBit(codes, dst, p + 2, p + 6);
  },
});

const q5_1 = codec({
  name: 'q5_1',
  ggmlType: 7,
  blockElements: 32,
  blockBytes: 24,
  decodeBlock(src, p, dst, o, half) {
    const d = half[src[p] | (src[p + 1] << 8)];
    const m = half[src[p + 2] | (src[p + 3] << 8)];
    const qh = readU32(src, p + 4);
    for (let j = 0; j < 16; j++) {
      const q = src[p + 8 + j];
      const low = (q & 15) | (((qh >>> j) << 4) & 16);
      const high = (q >> 4) | ((qh >>> (j + 12)) & 16);
      dst[o + j] = f(f(low * d) + m);
      dst[o + j + 16] = f(f(high * d) + m);
    }
  },
  encodeBlock(src, s, dst, p) {
    const [min, max] = minMax(src, s, 32);
    const d = f(f(max - min) / 31);
    const id = d ? f(1 / d) : 0;
    storeHalf(dst, p, d);
    storeHalf(dst, p + 2, min);
    const codes: number[] = [];
    // ggml casts straight to uint8 here (no clamp at 31): a code of 32 loses its fifth bit.
    for (let j = 0; j < 32; j++) codes.push(Math.trunc(f(f(f(src[s + j] - min) * id) + 0.5)) & 0xff);
    packFiveBit(codes, dst, p + 4, p + 8);
  },
});

const q8_0 = codec({
  name: 'q8_0',
  ggmlType: 8,
  blockElements: 32,
  blockBytes: 34,
  decodeBlock(src, p, dst, o, half) {
    const d = half[src[p] | (src[p + 1] << 8)];
    for (let j = 0; j < 32; j++) dst[o + j] = f(((src[p + 2 + j] << 24) >> 24) * d);
  },
  encodeBlock(src, s, dst, p) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[s + j]));
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    storeHalf(dst, p, d);
    for (let j = 0; j < 32; j++) {
      const x = f(src[s + j] * id);
      // roundf: halves away from zero.
      dst[p + 2 + j] = (Math.sign(x) * Math.round(Math.abs(x))) & 0xff;
    }
  },
});

/* ---------- K-quants: 256-element super-blocks ---------- */

const QK_K = 256;

/** ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j from the 12 packed bytes at `at`. */
function scaleMinK4(bytes: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [bytes[at + j] & 63, bytes[at + j + 4] & 63];
  const scale = (bytes[at + j + 4] & 15) | ((bytes[at + j - 4] >> 6) << 4);
  const min = (bytes[at + j + 4] >> 4) | ((bytes[at + j] >> 6) << 4);
  return [scale, min];
}

/** Decodes a Q4_K or Q5_K super-block; `qhAt` < 0 for Q4_K. */
function decodeScaledMin(src: Uint8Array, p: number, dst: Float32Array, o: number, half: Float32Array, qhAt: number) {
  const d = half[src[p] | (src[p + 1] << 8)];
  const dmin = half[src[p + 2] | (src[p + 3] << 8)];
  const scalesAt = p + 4;
  let qs = qhAt < 0 ? p + 16 : p + 48;
  let y = o;
  for (let group = 0; group < 4; group++) {
    const [sc1, m1raw] = scaleMinK4(src, scalesAt, 2 * group);
    const [sc2, m2raw] = scaleMinK4(src, scalesAt, 2 * group + 1);
    const d1 = f(d * sc1);
    const m1 = f(dmin * m1raw);
    const d2 = f(d * sc2);
    const m2 = f(dmin * m2raw);
    const bitLow = 1 << (2 * group);
    const bitHigh = bitLow << 1;
    for (let l = 0; l < 32; l++) {
      const high = qhAt < 0 ? 0 : src[qhAt + l] & bitLow ? 16 : 0;
      dst[y++] = f(f(d1 * ((src[qs + l] & 15) + high)) - m1);
    }
    for (let l = 0; l < 32; l++) {
      const high = qhAt < 0 ? 0 : src[qhAt + l] & bitHigh ? 16 : 0;
      dst[y++] = f(f(d2 * ((src[qs + l] >> 4) + high)) - m2);
    }
    qs += 32;
  }
}

/**
 * ggml's make_qkx2_quants: codes 0..nmax for one sub-block with a scale and a
 * non-positive offset, refined over nstep+1 trial scales by weighted least squares.
 * Writes codes to `codes` at `at`; returns [scale, −min].
 */
function makeQkx2Quants(
  x: Float32Array,
  xAt: number,
  n: number,
  nmax: number,
  weights: Float32Array,
  codes: Uint8Array,
  at: number,
  rmin: number,
  rdelta: number,
  nstep: number,
): [number, number] {
  const trial = new Uint8Array(n);
  let min = x[xAt];
  let max = x[xAt];
  let sumW = weights[0];
  let sumX = f(sumW * x[xAt]);
  for (let i = 1; i < n; i++) {
    const xi = x[xAt + i];
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i];
    sumW = f(sumW + w);
    sumX = f(sumX + f(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    codes.fill(0, at, at + n);
    return [0, -min];
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = clamp(nearestInt(f(iscale * f(x[xAt + i] - min))), 0, nmax);
    codes[at + i] = l;
    const diff = f(f(f(scale * l) + min) - x[xAt + i]);
    bestError = f(bestError + f(weights[i] * f(diff * diff)));
  }
  // `min` moves when a trial wins, and later trials use the moved value, as ggml's do.
  for (let step = 0; step <= nstep; step++) {
    iscale = f(f(f(rmin + f(rdelta * step)) + nmax) / f(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(f(iscale * f(x[xAt + i] - min))), 0, nmax);
      trial[i] = l;
      const wl = f(weights[i] * l);
      sumL = f(sumL + wl);
      sumL2 = f(sumL2 + f(wl * l));
      sumXL = f(sumXL + f(wl * x[xAt + i]));
    }
    const det = f(f(sumW * sumL2) - f(sumL * sumL));
    if (det > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / det);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / det);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let error = 0;
      for (let i = 0; i < n; i++) {
        const diff = f(f(f(thisScale * trial[i]) + thisMin) - x[xAt + i]);
        error = f(error + f(weights[i] * f(diff * diff)));
      }
      if (error < bestError) {
        codes.set(trial, at);
        bestError = error;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return [scale, -min];
}

/** Shared body of quantize_row_q4_K_ref / q5_K_ref: returns the 256 codes after scale packing. */
function encodeScaledMin(
  src: Float32Array,
  s: number,
  dst: Uint8Array,
  p: number,
  nmax: number,
  rmin: number,
  nstep: number,
): Uint8Array {
  const codes = new Uint8Array(QK_K);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  const weights = new Float32Array(32);
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const at = s + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(src[at + l] * src[at + l]));
    const averageX = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = averageX + Math.abs(src[at + l]);
    const [scale, min] = makeQkx2Quants(src, at, 32, nmax, weights, codes, 32 * j, rmin, f(0.1), nstep);
    scales[j] = scale;
    mins[j] = min;
    if (scales[j] > maxScale) maxScale = scales[j];
    if (mins[j] > maxMin) maxMin = mins[j];
  }
  const inverseScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const inverseMin = maxMin > 0 ? f(63 / maxMin) : 0;
  const scalesAt = p + 4;
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(f(inverseScale * scales[j])) & 0xff);
    const lm = Math.min(63, nearestInt(f(inverseMin * mins[j])) & 0xff);
    if (j < 4) {
      dst[scalesAt + j] = ls;
      dst[scalesAt + j + 4] = lm;
    } else {
      dst[scalesAt + j + 4] = (ls & 15) | ((lm & 15) << 4);
      dst[scalesAt + j - 4] |= (ls >> 4) << 6;
      dst[scalesAt + j] |= (lm >> 4) << 6;
    }
  }
  const d = storeHalf(dst, p, f(maxScale / 63));
  const dmin = storeHalf(dst, p + 2, f(maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const [sc, m] = scaleMinK4(dst, scalesAt, j);
    const dj = f(d * sc);
    if (!dj) continue; // keeps make_qkx2_quants' codes, as ggml does
    const dm = f(dmin * m);
    for (let i = 0; i < 32; i++) codes[32 * j + i] = clamp(nearestInt(f(f(src[s + 32 * j + i] + dm) / dj)), 0, nmax);
  }
  return codes;
}

const q4_k = codec({
  name: 'q4_k',
  ggmlType: 12,
  blockElements: QK_K,
  blockBytes: 144,
  decodeBlock: (src, p, dst, o, half) => decodeScaledMin(src, p, dst, o, half, -1),
  encodeBlock(src, s, dst, p) {
    const codes = encodeScaledMin(src, s, dst, p, 15, f(-1), 20);
    for (let group = 0, q = p + 16; group < 4; group++, q += 32) {
      for (let l = 0; l < 32; l++) dst[q + l] = codes[64 * group + l] | (codes[64 * group + l + 32] << 4);
    }
  },
});

const q5_k = codec({
  name: 'q5_k',
  ggmlType: 13,
  blockElements: QK_K,
  blockBytes: 176,
  decodeBlock: (src, p, dst, o, half) => decodeScaledMin(src, p, dst, o, half, p + 16),
  encodeBlock(src, s, dst, p) {
    const codes = encodeScaledMin(src, s, dst, p, 31, f(-0.5), 15);
    const qhAt = p + 16;
    dst.fill(0, qhAt, qhAt + 32);
    for (let group = 0, q = p + 48; group < 4; group++, q += 32) {
      const bitLow = 1 << (2 * group);
      for (let l = 0; l < 32; l++) {
        let low = codes[64 * group + l];
        let high = codes[64 * group + l + 32];
        if (low > 15) {
          low -= 16;
          dst[qhAt + l] |= bitLow;
        }
        if (high > 15) {
          high -= 16;
          dst[qhAt + l] |= bitLow << 1;
        }
        dst[q + l] = low | (high << 4);
      }
    }
  },
});

/**
 * ggml's make_qx_quants with rmse_type 1 (weights x²) and no importance: signed
 * codes −nmax..nmax−1 stored as code + nmax; tries 18 scales around nmax/max.
 */
function makeQxQuants(x: Float32Array, xAt: number, n: number, nmax: number, codes: Int8Array, at: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xAt + i]);
    if (ax > amax) {
      amax = ax;
      max = x[xAt + i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    codes.fill(0, at, at + n);
    return 0;
  }
  const sums = (iscale: number, store: boolean): [number, number] => {
    let sumLX = 0;
    let sumL2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xAt + i];
      const l = clamp(nearestInt(f(iscale * xi)), -nmax, nmax - 1);
      if (store) codes[at + i] = l + nmax;
      const w = f(xi * xi);
      sumLX = f(sumLX + f(f(w * xi) * l));
      sumL2 = f(sumL2 + f(f(w * l) * l));
    }
    return [sumLX, sumL2];
  };
  let [sumLX, sumL2] = sums(f(-nmax / max), true);
  let scale = sumL2 ? f(sumLX / sumL2) : 0;
  let best = f(scale * sumLX);
  for (let step = -9; step <= 9; step++) {
    if (step === 0) continue;
    const iscale = f(-f(nmax + f(f(0.1) * step)) / max);
    [sumLX, sumL2] = sums(iscale, false);
    if (sumL2 > 0 && f(sumLX * sumLX) > f(best * sumL2)) {
      sums(iscale, true);
      scale = f(sumLX / sumL2);
      best = f(scale * sumLX);
    }
  }
  return scale;
}

const q6_k = codec({
  name: 'q6_k',
  ggmlType: 14,
  blockElements: QK_K,
  blockBytes: 210,
  decodeBlock(src, p, dst, o, half) {
    const d = half[src[p + 208] | (src[p + 209] << 8)];
    for (let n = 0; n < 2; n++) {
      const ql = p + 64 * n;
      const qh = p + 128 + 32 * n;
      const sc = p + 192 + 8 * n;
      const y = o + 128 * n;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = src[qh + l];
        const q1 = ((src[ql + l] & 15) | ((h & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32] & 15) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        dst[y + l] = f(f(d * ((src[sc + is] << 24) >> 24)) * q1);
        dst[y + l + 32] = f(f(d * ((src[sc + is + 2] << 24) >> 24)) * q2);
        dst[y + l + 64] = f(f(d * ((src[sc + is + 4] << 24) >> 24)) * q3);
        dst[y + l + 96] = f(f(d * ((src[sc + is + 6] << 24) >> 24)) * q4);
      }
    }
  },
  encodeBlock(src, s, dst, p) {
    const codes = new Int8Array(QK_K);
    const scales = new Float32Array(16);
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      scales[ib] = makeQxQuants(src, s + 16 * ib, 16, 32, codes, 16 * ib);
      if (Math.abs(scales[ib]) > maxAbsScale) {
        maxAbsScale = Math.abs(scales[ib]);
        maxScale = scales[ib];
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, p, p + 210);
      return;
    }
    const iscale = f(-128 / maxScale);
    const d = storeHalf(dst, p + 208, f(1 / iscale));
    for (let ib = 0; ib < 16; ib++) dst[p + 192 + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]))) & 0xff;
    for (let j = 0; j < 16; j++) {
      const dj = f(d * ((dst[p + 192 + j] << 24) >> 24));
      if (!dj) continue; // keeps make_qx_quants' codes, as ggml does
      for (let i = 0; i < 16; i++) codes[16 * j + i] = clamp(nearestInt(f(src[s + 16 * j + i] / dj)), -32, 31) + 32;
    }
    for (let n = 0; n < 2; n++) {
      const ql = p + 64 * n;
      const qh = p + 128 + 32 * n;
      const c = 128 * n;
      for (let l = 0; l < 32; l++) {
        const c1 = codes[c + l];
        const c2 = codes[c + l + 32];
        const c3 = codes[c + l + 64];
        const c4 = codes[c + l + 96];
        dst[ql + l] = (c1 & 15) | ((c3 & 15) << 4);
        dst[ql + l + 32] = (c2 & 15) | ((c4 & 15) << 4);
        dst[qh + l] = (c1 >> 4) | ((c2 >> 4) << 2) | ((c3 >> 4) << 4) | ((c4 >> 4) << 6);
      }
    }
  },
});

const q8_k = codec({
  name: 'q8_k',
  ggmlType: 15,
  blockElements: QK_K,
  blockBytes: 292,
  decodeBlock(src, p, dst, o) {
    const d = readF32(src, p);
    for (let j = 0; j < QK_K; j++) dst[o + j] = f(d * ((src[p + 4 + j] << 24) >> 24));
  },
  encodeBlock(src, s, dst, p) {
    const max = signedAbsMax(src, s, QK_K);
    const view = new DataView(dst.buffer, dst.byteOffset + p, 292);
    if (!max) {
      dst.fill(0, p, p + 292);
      return;
    }
    const iscale = f(-127 / max);
    for (let j = 0; j < QK_K; j++) dst[p + 4 + j] = Math.min(127, nearestInt(f(iscale * src[s + j]))) & 0xff;
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let i = 0; i < 16; i++) sum += (dst[p + 4 + 16 * j + i] << 24) >> 24;
      view.setInt16(260 + 2 * j, sum, true);
    }
    view.setFloat32(0, f(1 / iscale), true);
  },
});

/** Every codec, in ggml type-id order. */
export const GGML_BLOCK_CODECS: readonly GgmlBlockCodec[] = Object.freeze([
  q4_0,
  q4_1,
  q5_0,
  q5_1,
  q8_0,
  q4_k,
  q5_k,
  q6_k,
  q8_k,
]);

/** The codec called `name` (case-insensitive: `Q4_K` or `q4_k`), or undefined. */
export function ggmlBlockCodec(name: string): GgmlBlockCodec | undefined {
  const wanted = name.toLowerCase();
  return GGML_BLOCK_CODECS.find((c) => c.name === wanted);
}
