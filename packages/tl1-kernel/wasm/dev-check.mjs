// Developer check for the wasm backend: bit-identity against a naive JS
// implementation of KERNEL.md §1-4, a 2-worker shared-memory run of the MT
// build, and single-thread timings.
//
//   node packages/tl1-kernel/wasm/dev-check.mjs            # everything
//   node packages/tl1-kernel/wasm/dev-check.mjs --quick    # skip the big shapes
//   node packages/tl1-kernel/wasm/dev-check.mjs --bench    # timings only
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const here = dirname(fileURLToPath(import.meta.url));
const SIMD_PATH = join(here, 'tl1-simd.wasm');
const MT_PATH = join(here, 'tl1-simd-mt.wasm');
const PAGE = 65536;

// ---------------------------------------------------------------------------
// deterministic random numbers
// ---------------------------------------------------------------------------
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
const randInt = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1)); // inclusive

// ---------------------------------------------------------------------------
// reference implementation, straight from KERNEL.md
// ---------------------------------------------------------------------------
const f32 = Math.fround;
const cvtBuf = new DataView(new ArrayBuffer(4));
const bitsToF32 = (u) => {
  cvtBuf.setUint32(0, u >>> 0, true);
  return cvtBuf.getFloat32(0, true);
};

/** Exact half -> float, written out by cases. */
function halfToFloat(h) {
  const sign = (h >> 15) & 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 31) return bitsToF32((sign << 31) | 0x7f800000 | (m << 13)); // inf / NaN (payload kept)
  const mag = e === 0 ? m * 2 ** -24 : 2 ** (e - 15) * (1 + m / 1024);
  return sign ? -mag : mag;
}

/** §1: quantize one token. Returns { q (qStride bytes), prefix (qStride+1), actScale }. */
function quantizeToken(x, qStride) {
  const cols = x.length;
  let maxAbs = 0;
  for (let j = 0; j < cols; j++) {
    const a = Math.abs(x[j]);
    if (a > maxAbs) maxAbs = a; // NaN compares false
  }
  const q = new Int8Array(qStride);
  let actScale = 1;
  if (!(maxAbs < 1e-10) && cols > 0) {
    actScale = f32(127 / maxAbs);
    for (let j = 0; j < cols; j++) {
      const v = f32(x[j] * actScale);
      if (Number.isNaN(v)) continue;
      const r = Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
      q[j] = Math.max(-127, Math.min(127, r));
    }
  }
  return { q, prefix: prefixOf(q), actScale };
}

function prefixOf(q) {
  const p = new Int32Array(q.length + 1);
  for (let j = 0; j < q.length; j++) p[j + 1] = p[j] + q[j];
  return p;
}

/** §2-3 for rows [0, rows), all tokens. Returns Float32Array(nTokens * rows). */
function refTernary(m, toks) {
  const { rows, codes, segAct, segChunks, segScale, uniform, rowSeg, rowCode } = m;
  const y = new Float32Array(toks.length * rows);
  const multiNaN = new Uint8Array(toks.length * rows);
  for (let r = 0; r < rows; r++) {
    // row r's segments: [activation start, chunks, scale, byte offset of codes]
    const segs = [];
    if (uniform > 0) {
      let off = r * 32 * segChunks.slice(0, uniform).reduce((a, b) => a + b, 0);
      for (let k = 0; k < uniform; k++) {
        segs.push([segAct[k], segChunks[k], segScale[r * uniform + k], off]);
        off += 32 * segChunks[k];
      }
    } else {
      let off = rowCode[r];
      for (let k = rowSeg[r]; k < rowSeg[r + 1]; k++) {
        segs.push([segAct[k], segChunks[k], segScale[k], off]);
        off += 32 * segChunks[k];
      }
    }
    // decode the row's codes once (code(k, i) for every segment)
    const dec = segs.map(([, nch, , off]) => {
      const c = new Uint8Array(128 * nch);
      for (let i = 0; i < 128 * nch; i++) {
        const chunk = Math.floor(i / 128);
        const w = i % 128;
        const n = Math.floor(w / 32);
        const byte = codes[off + 32 * chunk + (w % 32)];
        c[i] = (byte >> (2 * n)) & 3;
      }
      return c;
    });
    for (let t = 0; t < toks.length; t++) {
      const { q, prefix, actScale } = toks[t];
      let sum = 0;
      let nans = 0; // NaN sources (see nanSources)
      for (let s = 0; s < segs.length; s++) {
        const [act, nch, scale] = segs[s];
        const c = dec[s];
        let dot = 0;
        for (let i = 0; i < c.length; i++) dot += c[i] * q[act + i];
        const acc = dot - (prefix[act + 128 * nch] - prefix[act]);
        if (acc !== (acc | 0)) throw new Error('acc does not fit int32');
        const prod = f32(scale * f32(acc));
        nans += nanSources(scale, f32(acc), prod);
        const next = f32(sum + prod);
        nans += nanSources(sum, prod, next) - (Number.isNaN(prod) ? 1 : 0);
        sum = next;
      }
      const out = f32(sum / actScale);
      nans += nanSources(sum, actScale, out) - (Number.isNaN(sum) ? 1 : 0);
      y[t * rows + r] = out;
      multiNaN[t * rows + r] = nans > 1 ? 1 : 0;
    }
  }
  return { y, multiNaN };
}

/**
 * NaN bookkeeping for the NaN-payload check. IEEE 754 and wasm leave open which
 * payload an operation returns when both operands are NaN (x86 returns the
 * first operand, V8's JS code here the second, and compilers may commute), so
 * a NaN output has a defined payload only if exactly one NaN "source" fed it:
 * a NaN input, or an invalid operation (inf - inf, 0 * inf, 0 / 0) creating one.
 * Returns the number of NaN sources of `r = a op b` counting NaN operands.
 */
function nanSources(a, b, r) {
  const n = (Number.isNaN(a) ? 1 : 0) + (Number.isNaN(b) ? 1 : 0);
  return n === 0 && Number.isNaN(r) ? 1 : n;
}

/** Element value of a dense row as float32 (§4). */
function denseRowValues(type, bytes, r, cols) {
  const w = new Float32Array(cols);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === 0) for (let j = 0; j < cols; j++) w[j] = dv.getFloat32(4 * (r * cols + j), true);
  else if (type === 1) for (let j = 0; j < cols; j++) w[j] = halfToFloat(dv.getUint16(2 * (r * cols + j), true));
  else if (type === 30) for (let j = 0; j < cols; j++) w[j] = bitsToF32(dv.getUint16(2 * (r * cols + j), true) << 16);
  else if (type === 8) {
    const nb = cols / 32;
    for (let b = 0; b < nb; b++) {
      const o = 34 * (r * nb + b);
      const d = halfToFloat(dv.getUint16(o, true));
      for (let i = 0; i < 32; i++) w[32 * b + i] = f32(d * dv.getInt8(o + 2 + i));
    }
  } else throw new Error(`type ${type}`);
  return w;
}

function refDense(type, bytes, rows, cols, x, nTokens) {
  const y = new Float32Array(nTokens * rows);
  const multiNaN = new Uint8Array(nTokens * rows);
  for (let r = 0; r < rows; r++) {
    const w = denseRowValues(type, bytes, r, cols);
    for (let t = 0; t < nTokens; t++) {
      // Float32Arrays, not JS arrays: V8 canonicalizes NaNs stored in double arrays.
      const lane = new Float32Array(8);
      const src = new Int32Array(8); // NaN sources per lane
      for (let j = 0; j < cols; j++) {
        const p = f32(w[j] * x[t * cols + j]);
        const l = lane[j % 8];
        const sum = f32(l + p);
        src[j % 8] +=
          nanSources(w[j], x[t * cols + j], p) + (Number.isNaN(l) || Number.isNaN(p) ? 0 : nanSources(l, p, sum));
        lane[j % 8] = sum;
      }
      let nans = src.reduce((a, b) => a + b, 0);
      const v4 = new Float32Array(4);
      for (let i = 0; i < 4; i++) {
        v4[i] = f32(lane[i] + lane[i + 4]);
        if (!Number.isNaN(lane[i]) && !Number.isNaN(lane[i + 4])) nans += nanSources(lane[i], lane[i + 4], v4[i]);
      }
      const v2 = new Float32Array(2);
      for (let i = 0; i < 2; i++) {
        v2[i] = f32(v4[i] + v4[i + 2]);
        if (!Number.isNaN(v4[i]) && !Number.isNaN(v4[i + 2])) nans += nanSources(v4[i], v4[i + 2], v2[i]);
      }
      const out = f32(v2[0] + v2[1]);
      if (!Number.isNaN(v2[0]) && !Number.isNaN(v2[1])) nans += nanSources(v2[0], v2[1], out);
      y[t * rows + r] = out;
      multiNaN[t * rows + r] = nans > 1 ? 1 : 0;
    }
  }
  return { y, multiNaN };
}

// ---------------------------------------------------------------------------
// host: memory + bump allocator
// ---------------------------------------------------------------------------
class Host {
  constructor(module, shared, bytes) {
    const pages = Math.ceil(bytes / PAGE) + 1;
    this.memory = shared
      ? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true })
      : new WebAssembly.Memory({ initial: pages });
    this.module = module;
    this.inst = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.top = 16; // the module uses no memory of its own; keep address 0 as a null guard
    this.u8 = new Uint8Array(this.memory.buffer);
    this.u8.fill(0xa5); // canary everywhere; checked after each call
  }
  alloc(nbytes, misalign = 0) {
    const p = ((this.top + 15) & ~15) + misalign;
    this.top = p + nbytes + 16;
    if (this.top > this.u8.length) throw new Error('out of test memory');
    return p;
  }
  put(typed, misalign = 0) {
    const b = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    const p = this.alloc(b.length, misalign);
    this.u8.set(b, p);
    return p;
  }
  snapshot() {
    return Buffer.from(this.u8.slice(0, this.top + 64));
  }
  /** everything except [p, p+n) must be unchanged since `snap` */
  checkUntouched(snap, p, n, what) {
    const now = Buffer.from(this.memory.buffer, 0, snap.length);
    if (!now.subarray(0, p).equals(snap.subarray(0, p)) || !now.subarray(p + n).equals(snap.subarray(p + n))) {
      throw new Error(`${what}: module wrote outside its output buffer`);
    }
  }
  f32(p, n) {
    return new Float32Array(this.memory.buffer.slice(p, p + 4 * n));
  }
}

let failures = 0;
let mtModuleRef = null; // the MT build needs a shared memory
let checks = 0;
let outputs = 0;
let nanStrict = 0; // NaN outputs whose payload was compared bit for bit
let nanFree = 0; // NaN outputs fed by >= 2 NaN sources: payload unspecified, NaN-ness compared
/** Bit-exact comparison; `want` is { y, multiNaN } from a reference function. */
function compare(what, got, want) {
  checks++;
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.y.buffer, want.y.byteOffset, want.y.length);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    outputs++;
    const bothNaN = Number.isNaN(got[i]) && Number.isNaN(want.y[i]);
    if (bothNaN && want.multiNaN[i]) {
      nanFree++;
      continue;
    }
    if (bothNaN) nanStrict++;
    if (a[i] !== b[i]) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad) {
    failures++;
    const i = first;
    console.log(
      `FAIL ${what}: ${bad}/${a.length} differ; first at ${i}: got 0x${a[i].toString(16)} (${got[i]}) want 0x${b[i].toString(16)} (${want.y[i]})`,
    );
  }
  return !bad;
}

// ---------------------------------------------------------------------------
// test matrices
// ---------------------------------------------------------------------------
/** Standard layout: each row = given segments over [0, cols), uniform mode. */
function makeUniform(r, rows, cols, opts = {}) {
  const chunksTotal = Math.ceil(cols / 128);
  // split the columns into U segments (pattern shared by all rows)
  const U = opts.segments ?? 1;
  const segAct = [];
  const segChunks = [];
  let c = 0;
  for (let k = 0; k < U; k++) {
    const n = k === U - 1 ? chunksTotal - c : Math.max(1, Math.floor(chunksTotal / U));
    segAct.push(128 * c);
    segChunks.push(n);
    c += n;
  }
  const rowBytes = 32 * chunksTotal;
  const codes = new Uint8Array(rows * rowBytes);
  for (let row = 0; row < rows; row++) {
    const w = new Uint8Array(128 * chunksTotal).fill(1);
    for (let j = 0; j < cols; j++) w[j] = opts.code ?? randInt(r, 0, 2);
    packRow(w, codes, row * rowBytes);
  }
  const segScale = new Float32Array(rows * U);
  for (let i = 0; i < segScale.length; i++) segScale[i] = f32((r() - 0.3) * 2 ** randInt(r, -8, 4));
  if (opts.specialScales) {
    const sp = [
      Number.NaN,
      bitsToF32(0x7fc0beef),
      bitsToF32(0xff800001),
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      0,
      1e-45,
      -3e-39,
      3e38,
    ];
    for (let i = 0; i < segScale.length; i++) if (r() < 0.15) segScale[i] = sp[randInt(r, 0, sp.length - 1)];
  }
  return {
    rows,
    cols,
    codes,
    segAct: Int32Array.from(segAct),
    segChunks: Int32Array.from(segChunks),
    segScale,
    uniform: U,
    rowSeg: new Int32Array(rows + 1),
    rowCode: new Int32Array(rows + 1),
    qStride: 128 * chunksTotal + 128,
  };
}

/** Pack decoded codes (multiple of 128) into 32-byte chunks at `off`. */
function packRow(w, out, off) {
  for (let ch = 0; ch < w.length / 128; ch++)
    for (let m = 0; m < 32; m++) {
      const b = (i) => w[128 * ch + i];
      out[off + 32 * ch + m] = b(m) | (b(32 + m) << 2) | (b(64 + m) << 4) | (b(96 + m) << 6);
    }
}

/** General mode: random segment counts, odd activation offsets, gaps between rows. */
function makeGeneral(r, rows, qStride) {
  const segAct = [];
  const segChunks = [];
  const segScale = [];
  const rowSeg = [0];
  const rowCode = [];
  const parts = [];
  let byte = 0;
  for (let row = 0; row < rows; row++) {
    byte += 32 * randInt(r, 0, 1); // optional gap
    rowCode.push(byte);
    const ns = randInt(r, 0, 4);
    for (let s = 0; s < ns; s++) {
      const nch = randInt(r, 0, 4) === 0 ? randInt(r, 0, 1) : randInt(r, 1, Math.floor(qStride / 128) - 1);
      const act = randInt(r, 0, qStride - 128 * nch); // rarely a multiple of 4/16/128
      segAct.push(act);
      segChunks.push(nch);
      segScale.push(f32((r() - 0.5) * 2 ** randInt(r, -10, 6)));
      const w = new Uint8Array(128 * nch);
      for (let i = 0; i < w.length; i++) w[i] = randInt(r, 0, 2);
      const bytes = new Uint8Array(32 * nch);
      packRow(w, bytes, 0);
      parts.push([byte, bytes]);
      byte += 32 * nch;
    }
    rowSeg.push(segAct.length);
  }
  rowCode.push(byte);
  const codes = new Uint8Array(byte + 32).fill(0x55);
  for (const [o, b] of parts) codes.set(b, o);
  return {
    rows,
    codes,
    segAct: Int32Array.from(segAct),
    segChunks: Int32Array.from(segChunks),
    segScale: Float32Array.from(segScale),
    uniform: 0,
    rowSeg: Int32Array.from(rowSeg),
    rowCode: Int32Array.from(rowCode),
    qStride,
  };
}

function makeTokens(r, nTokens, cols, qStride, mode) {
  const toks = [];
  for (let t = 0; t < nTokens; t++) {
    if (mode === 'pm127') {
      const q = new Int8Array(qStride);
      for (let j = 0; j < cols; j++) q[j] = r() < 0.5 ? -127 : 127;
      toks.push({ q, prefix: prefixOf(q), actScale: f32(0.5 + r()) });
    } else if (mode === 'max') {
      const q = new Int8Array(qStride);
      q.fill(t % 2 ? -127 : 127, 0, cols);
      toks.push({ q, prefix: prefixOf(q), actScale: 1 });
    } else {
      const x = new Float32Array(cols);
      for (let j = 0; j < cols; j++) x[j] = (r() - 0.5) * 2 ** randInt(r, -6, 6);
      if (t % 5 === 4) x.fill(0); // zero token: actScale 1, q 0
      if (mode === 'inf' && t % 2 === 1) x[randInt(r, 0, cols - 1)] = Number.NEGATIVE_INFINITY; // actScale 0, q 0
      if (mode === 'inf' && t % 3 === 2) x[randInt(r, 0, cols - 1)] = Number.NaN;
      toks.push(quantizeToken(x, qStride));
    }
  }
  return toks;
}

/** Lay the tokens out as the kernel expects (q, prefix, actScales). */
function packTokens(host, toks, qStride) {
  const q = new Int8Array(toks.length * qStride);
  const prefix = new Int32Array(toks.length * (qStride + 1));
  const as = new Float32Array(toks.length);
  toks.forEach((t, i) => {
    q.set(t.q, i * qStride);
    prefix.set(t.prefix, i * (qStride + 1));
    as[i] = t.actScale;
  });
  return { qP: host.put(q, 3), prefixP: host.put(prefix), asP: host.put(as) };
}

function ternaryArgs(host, m, toks) {
  const codesP = host.put(m.codes, 5);
  const segActP = host.put(m.segAct);
  const segChunksP = host.put(m.segChunks);
  const segScaleP = host.put(m.segScale);
  const rowSegP = host.put(m.rowSeg);
  const rowCodeP = host.put(m.rowCode);
  const { qP, prefixP, asP } = packTokens(host, toks, m.qStride);
  const yP = host.alloc(4 * toks.length * m.rows);
  const args = [codesP, segActP, segChunksP, segScaleP, rowSegP, rowCodeP, m.uniform];
  const tail = [m.rows, qP, prefixP, m.qStride, asP, toks.length, yP];
  return { args, tail, yP, n: toks.length * m.rows };
}

function bytesForTernary(m, nTokens) {
  return (
    m.codes.length +
    4 * (m.segAct.length * 2 + m.segScale.length + 2 * m.rows + 4) +
    nTokens * (5 * m.qStride + 8 + 4 * m.rows) +
    4096
  );
}

function checkTernary(module, what, m, toks, want) {
  const host = new Host(module, module === mtModuleRef, bytesForTernary(m, toks.length));
  const a = ternaryArgs(host, m, toks);
  const snap = host.snapshot();
  // split the rows into two calls to exercise rowBegin/rowEnd
  const mid = Math.floor(m.rows / 3);
  host.inst.exports.ternary_gemm(...a.args, 0, mid, ...a.tail);
  host.inst.exports.ternary_gemm(...a.args, mid, m.rows, ...a.tail);
  host.checkUntouched(snap, a.yP, 4 * a.n, what);
  compare(what, host.f32(a.yP, a.n), want);
}

// dense data -----------------------------------------------------------------
const SPECIAL_X = [
  -0,
  0,
  Number.NaN,
  bitsToF32(0x7fc12345),
  bitsToF32(0xffa00001),
  3e38,
  -3e38,
  1e-40,
  -1e-45,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1.5e-38,
  65504,
];

// special: 'plain' | 'dense' (many specials: NaN payloads mostly collide) |
// 'sparse' (about one special per row / token, so most NaN payloads are defined)
function makeX(r, nTokens, cols, special) {
  const x = new Float32Array(nTokens * cols);
  for (let i = 0; i < x.length; i++) {
    x[i] =
      special === 'dense' && r() < 0.08
        ? SPECIAL_X[randInt(r, 0, SPECIAL_X.length - 1)]
        : (r() - 0.5) * 2 ** randInt(r, -8, 8);
  }
  if (special === 'sparse') {
    for (let t = 0; t < nTokens; t++) {
      x[t * cols + randInt(r, 0, cols - 1)] = SPECIAL_X[randInt(r, 0, SPECIAL_X.length - 1)];
      x[t * cols + randInt(r, 0, cols - 1)] = [-0, 1e-40, -1e-45, 1.5e-38][randInt(r, 0, 3)];
    }
  }
  return x;
}

const SPECIAL_F16 = [
  0x0000, 0x8000, 0x0001, 0x83ff, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7c01, 0x7dff, 0x7e00, 0xfe01,
  0xffff,
];
const SPECIAL_BF16 = [0x0000, 0x8000, 0x0001, 0x807f, 0x7f7f, 0x7f80, 0xff80, 0x7f81, 0x7fc0, 0xffc1, 0xffff];

function makeDenseBytes(r, type, rows, cols, special) {
  const sparseCol = () => randInt(r, 0, cols - 1);
  if (type === 0) {
    const w = new Float32Array(rows * cols);
    for (let i = 0; i < w.length; i++) {
      w[i] =
        special === 'dense' && r() < 0.05
          ? SPECIAL_X[randInt(r, 0, SPECIAL_X.length - 1)]
          : (r() - 0.5) * 2 ** randInt(r, -10, 3);
    }
    if (special === 'sparse')
      for (let row = 0; row < rows; row++) w[row * cols + sparseCol()] = SPECIAL_X[randInt(r, 0, SPECIAL_X.length - 1)];
    return new Uint8Array(w.buffer);
  }
  if (type === 1 || type === 30) {
    const h = new Uint16Array(rows * cols);
    const specials = type === 1 ? SPECIAL_F16 : SPECIAL_BF16;
    for (let i = 0; i < h.length; i++) {
      if (special === 'dense')
        h[i] = randInt(r, 0, 65535); // every class: subnormal, inf, NaN, +-0 ...
      else if (special === 'sparse' && type === 1 && r() < 0.1)
        h[i] = (randInt(r, 0, 1) << 15) | randInt(r, 0, 1023); // subnormal / zero
      else
        h[i] =
          (randInt(r, 0, 1) << 15) |
          ((type === 1 ? randInt(r, 5, 17) : randInt(r, 110, 130)) << (type === 1 ? 10 : 7)) |
          randInt(r, 0, type === 1 ? 1023 : 127);
    }
    if (special === 'dense') for (const v of specials) h[randInt(r, 0, h.length - 1)] = v;
    if (special === 'sparse')
      for (let row = 0; row < rows; row++) h[row * cols + sparseCol()] = specials[randInt(r, 0, specials.length - 1)];
    return new Uint8Array(h.buffer);
  }
  // Q8_0
  const nb = cols / 32;
  const b = new Uint8Array(rows * nb * 34);
  const dv = new DataView(b.buffer);
  for (let blk = 0; blk < rows * nb; blk++) {
    const d =
      special === 'dense'
        ? randInt(r, 0, 65535)
        : (randInt(r, 0, 1) << 15) | (randInt(r, 3, 14) << 10) | randInt(r, 0, 1023);
    dv.setUint16(34 * blk, d, true);
    for (let i = 0; i < 32; i++) dv.setInt8(34 * blk + 2 + i, randInt(r, -128, 127));
  }
  if (special === 'sparse')
    for (let row = 0; row < rows; row++)
      dv.setUint16(34 * (row * nb + randInt(r, 0, nb - 1)), SPECIAL_F16[randInt(r, 0, SPECIAL_F16.length - 1)], true);
  return b;
}

function denseArgs(host, bytes, rows, x, nTokens) {
  const dataP = host.put(bytes, 1 + (rows % 3)); // deliberately unaligned
  const xP = host.put(x);
  const yP = host.alloc(4 * nTokens * rows);
  return { dataP, xP, yP, n: nTokens * rows };
}

function checkDense(module, what, type, rows, cols, nTokens, special, seed) {
  const r = rng(seed);
  const bytes = makeDenseBytes(r, type, rows, cols, special);
  const x = makeX(r, nTokens, cols, special);
  const want = refDense(type, bytes, rows, cols, x, nTokens);
  const host = new Host(module, module === mtModuleRef, bytes.length + 4 * x.length + 4 * nTokens * rows + 4096);
  const a = denseArgs(host, bytes, rows, x, nTokens);
  const snap = host.snapshot();
  const mid = Math.floor(rows / 2);
  host.inst.exports.dense_gemm(type, a.dataP, rows, cols, 0, mid, a.xP, nTokens, a.yP);
  host.inst.exports.dense_gemm(type, a.dataP, rows, cols, mid, rows, a.xP, nTokens, a.yP);
  host.checkUntouched(snap, a.yP, 4 * a.n, what);
  compare(what, host.f32(a.yP, a.n), want);
  return { bytes, x, want };
}

// ---------------------------------------------------------------------------
// MT: two workers on one shared memory
// ---------------------------------------------------------------------------
async function runWorkers(module, memory, jobs) {
  const workers = jobs.map(() => new Worker(fileURLToPath(import.meta.url), { workerData: { module, memory } }));
  try {
    await Promise.all(
      workers.map(
        (w, i) =>
          new Promise((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
            w.postMessage(jobs[i]);
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function checkMT(mtModule, r) {
  // ternary, uniform 2560x6912 with 3 tokens, and general mode
  const cases = [
    ['mt ternary uniform 2560x6912 T=3', makeUniform(r, 2560, 6912, { segments: 2 }), 3],
    ['mt ternary general 301 rows T=5', makeGeneral(r, 301, 1024), 5],
  ];
  for (const [what, m, nTok] of cases) {
    const toks = makeTokens(r, nTok, m.cols ?? m.qStride - 128, m.qStride);
    const want = refTernary(m, toks);
    const host = new Host(mtModule, true, bytesForTernary(m, nTok));
    const a = ternaryArgs(host, m, toks);
    const snap = host.snapshot();
    const mid = Math.floor(m.rows / 2);
    await runWorkers(mtModule, host.memory, [
      { op: 'ternary', args: [...a.args, 0, mid, ...a.tail] },
      { op: 'ternary', args: [...a.args, mid, m.rows, ...a.tail] },
    ]);
    host.checkUntouched(snap, a.yP, 4 * a.n, what);
    compare(what, host.f32(a.yP, a.n), want);
  }
  for (const type of [0, 1, 30, 8]) {
    const rows = 203;
    const cols = type === 8 ? 512 : 517;
    const nTok = 6;
    const rr = rng(1000 + type);
    const bytes = makeDenseBytes(rr, type, rows, cols, 'sparse');
    const x = makeX(rr, nTok, cols, 'sparse');
    const want = refDense(type, bytes, rows, cols, x, nTok);
    const host = new Host(mtModule, true, bytes.length + 4 * x.length + 4 * nTok * rows + 4096);
    const a = denseArgs(host, bytes, rows, x, nTok);
    const snap = host.snapshot();
    const mid = 101;
    await runWorkers(mtModule, host.memory, [
      { op: 'dense', args: [type, a.dataP, rows, cols, 0, mid, a.xP, nTok, a.yP] },
      { op: 'dense', args: [type, a.dataP, rows, cols, mid, rows, a.xP, nTok, a.yP] },
    ]);
    host.checkUntouched(snap, a.yP, 4 * a.n, `mt dense type ${type}`);
    compare(`mt dense type ${type} ${rows}x${cols} T=${nTok}`, host.f32(a.yP, a.n), want);
  }
}

// ---------------------------------------------------------------------------
// timings
// ---------------------------------------------------------------------------
function bench(module) {
  const r = rng(77);
  const out = [];
  for (const [rows, cols] of [
    [6912, 2560],
    [2560, 6912],
  ]) {
    const m = makeUniform(r, rows, cols);
    for (const nTok of [1, 8]) {
      const toks = makeTokens(r, nTok, cols, m.qStride);
      const host = new Host(module, module === mtModuleRef, bytesForTernary(m, nTok));
      const a = ternaryArgs(host, m, toks);
      const f = host.inst.exports.ternary_gemm;
      const run = () => f(...a.args, 0, rows, ...a.tail);
      for (let i = 0; i < 5; i++) run();
      const times = [];
      for (let i = 0; i < (nTok === 1 ? 60 : 15); i++) {
        const t0 = process.hrtime.bigint();
        run();
        times.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      times.sort((p, q) => p - q);
      const med = times[times.length >> 1];
      const gws = (rows * cols * nTok) / med / 1000;
      out.push(
        `ternary ${rows}x${cols} T=${nTok}: median ${med.toFixed(0)} us (min ${times[0].toFixed(0)}), ${(med / nTok).toFixed(0)} us/token, ${gws.toFixed(2)} Gweight/s`,
      );
    }
  }
  {
    const rows = 2560;
    const cols = 2560;
    for (const type of [0, 1, 30, 8]) {
      const rr = rng(5);
      const bytes = makeDenseBytes(rr, type, rows, cols, 'plain');
      const x = makeX(rr, 1, cols, 'plain');
      const host = new Host(module, module === mtModuleRef, bytes.length + 4 * x.length + 4 * rows + 4096);
      const a = denseArgs(host, bytes, rows, x, 1);
      const run = () => host.inst.exports.dense_gemm(type, a.dataP, rows, cols, 0, rows, a.xP, 1, a.yP);
      for (let i = 0; i < 5; i++) run();
      const times = [];
      for (let i = 0; i < 30; i++) {
        const t0 = process.hrtime.bigint();
        run();
        times.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      times.sort((p, q) => p - q);
      out.push(`dense type ${type} ${rows}x${cols} T=1: median ${times[15].toFixed(0)} us`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
async function main() {
  const quick = process.argv.includes('--quick');
  const benchOnly = process.argv.includes('--bench');
  const simd = new WebAssembly.Module(readFileSync(SIMD_PATH));
  const mt = new WebAssembly.Module(readFileSync(MT_PATH));
  mtModuleRef = mt;
  const imp = (m) =>
    WebAssembly.Module.imports(m)
      .map((i) => `${i.module}.${i.name}:${i.kind}`)
      .join(',');
  const exp = (m) =>
    WebAssembly.Module.exports(m)
      .map((e) => `${e.name}:${e.kind}`)
      .join(',');
  for (const [name, m] of [
    ['tl1-simd', simd],
    ['tl1-simd-mt', mt],
  ]) {
    console.log(`${name}.wasm imports [${imp(m)}] exports [${exp(m)}]`);
  }

  if (!benchOnly) {
    for (const [name, module] of [
      ['simd', simd],
      ['mt', mt],
    ]) {
      const r = rng(name === 'simd' ? 1 : 2);
      const t0 = Date.now();
      // ternary, uniform
      const shapes = [
        [1, 1, 1, {}],
        [3, 5, 3, {}],
        [7, 257, 8, {}],
        [7, 257, 64, { segments: 2 }],
        [33, 1000, 7, { segments: 3 }],
        [5, 384, 6, { code: 2 }],
        [5, 384, 6, { code: 0 }],
      ];
      if (!quick)
        shapes.push([2560, 6912, 1, {}], [6912, 2560, 1, {}], [2560, 6912, 8, { segments: 3 }], [6912, 2560, 3, {}]);
      for (const [rows, cols, nTok, opts] of shapes) {
        const m = makeUniform(r, rows, cols, opts);
        for (const mode of ['x', 'pm127', 'max']) {
          if (mode !== 'x' && rows * cols * nTok > 3e7) continue;
          const toks = makeTokens(r, nTok, cols, m.qStride, mode);
          checkTernary(
            module,
            `${name} ternary U=${m.uniform} ${rows}x${cols} T=${nTok} q=${mode} ${JSON.stringify(opts)}`,
            m,
            toks,
            refTernary(m, toks),
          );
        }
      }
      // special segment scales (NaN, inf, -0, subnormal, huge) and actScale 0 tokens
      for (const [rows, cols, nTok] of [
        [17, 300, 1],
        [40, 700, 7],
        [9, 2000, 4],
      ]) {
        const m = makeUniform(r, rows, cols, { segments: 3, specialScales: true });
        const toks = makeTokens(r, nTok, cols, m.qStride, 'inf');
        checkTernary(module, `${name} ternary special scales ${rows}x${cols} T=${nTok}`, m, toks, refTernary(m, toks));
      }
      // a long single segment (stresses the per-n accumulators) with q = +-127 and codes 0/2 only
      {
        const m = makeUniform(r, 2, 128 * 200, { code: 2 });
        const toks = makeTokens(r, 1, 128 * 200, m.qStride, 'max');
        checkTernary(module, `${name} ternary long segment max`, m, toks, refTernary(m, toks));
      }
      // ternary, general mode
      for (const [rows, qStride, nTok] of [
        [1, 256, 1],
        [9, 640, 3],
        [40, 1152, 8],
        [64, 2048, 64],
        [200, 1024, 5],
      ]) {
        const m = makeGeneral(r, rows, qStride);
        for (const mode of ['x', 'pm127']) {
          const toks = makeTokens(r, nTok, qStride - 128, qStride, mode);
          checkTernary(
            module,
            `${name} ternary general ${rows} rows qStride=${qStride} T=${nTok} q=${mode}`,
            m,
            toks,
            refTernary(m, toks),
          );
        }
      }
      // dense
      let seed = 100;
      for (const type of [0, 1, 30, 8]) {
        const colsList = type === 8 ? [32, 64, 96, 2560] : [1, 3, 5, 8, 13, 257, 1001, 2563];
        for (const cols of colsList) {
          for (const nTok of [1, 3, 8]) {
            for (const special of ['plain', 'dense', 'sparse']) {
              const rows = cols > 1000 ? 37 : 11;
              checkDense(
                module,
                `${name} dense type ${type} ${rows}x${cols} T=${nTok} ${special}`,
                type,
                rows,
                cols,
                nTok,
                special,
                seed++,
              );
            }
          }
        }
        if (!quick)
          checkDense(module, `${name} dense type ${type} 300x2560 T=64`, type, 300, 2560, 64, 'sparse', seed++);
      }
      console.log(
        `${name}: ${checks} checks so far, ${failures} failures (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      );
    }
    await checkMT(mt, rng(3));
    console.log(`after MT (2 workers, shared memory): ${checks} checks, ${failures} failures`);
    console.log(
      `${outputs} outputs compared bit for bit; NaN outputs: ${nanStrict} with a defined payload (compared bit for bit), ${nanFree} fed by >= 2 NaNs (payload unspecified: only NaN-ness compared)`,
    );
  }

  for (const [name, module] of [
    ['simd', simd],
    ['mt', mt],
  ]) {
    if (name === 'mt' && !benchOnly) continue;
    for (const line of bench(module)) console.log(`[${name}] ${line}`);
  }
  if (failures) {
    console.log(`${failures} FAILURES`);
    process.exitCode = 1;
  } else if (!benchOnly) console.log('ALL BIT-IDENTICAL');
}

// ---------------------------------------------------------------------------
// entry: main thread runs the checks, workers run kernels for checkMT
// ---------------------------------------------------------------------------
if (isMainThread) {
  await main();
} else {
  const { module, memory } = workerData;
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  parentPort.on('message', (m) => {
    if (m.op === 'ternary') inst.exports.ternary_gemm(...m.args);
    else inst.exports.dense_gemm(...m.args);
    parentPort.postMessage('done');
  });
}
