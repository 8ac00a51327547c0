// Developer check for the native tl1 addon: bit-exactness against a naive JS
// transcription of KERNEL.md §1–4, argument validation, and timings.
//
//   node native/dev-check.mjs            # build/Release/tl1.node
//   TL1_NODE=path/to/tl1.node node native/dev-check.mjs
//   node native/dev-check.mjs --quick    # skip the large shapes and timings
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = process.env.TL1_NODE ? resolve(process.env.TL1_NODE) : resolve(pkgDir, 'build/Release/tl1.node');
const tl1 = require(addonPath);
const quick = process.argv.includes('--quick');
const fr = Math.fround;

// ---------------------------------------------------------------- random
let seed = 0x9e3779b9;
function rnd() {
  // xorshift32
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
}
const rint = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)); // inclusive
function gauss() {
  const u = Math.max(rnd(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

// ---------------------------------------------------------------- §1 activations
function quantizeTokens(xs, cols, qStride) {
  const nT = xs.length;
  const q = new Int8Array(nT * qStride);
  const prefix = new Int32Array(nT * (qStride + 1));
  const actScales = new Float32Array(nT);
  for (let t = 0; t < nT; t++) {
    const x = xs[t];
    let maxAbs = 0;
    for (let j = 0; j < cols; j++) {
      const a = Math.abs(x[j]);
      if (!Number.isNaN(a) && a > maxAbs) maxAbs = a;
    }
    const qt = q.subarray(t * qStride, (t + 1) * qStride);
    if (maxAbs < 1e-10 || cols === 0) {
      actScales[t] = 1;
    } else {
      const s = fr(127 / maxAbs);
      actScales[t] = s;
      for (let j = 0; j < cols; j++) {
        const v = fr(x[j] * s);
        if (Number.isNaN(v)) continue;
        let r = Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
        if (r > 127) r = 127;
        if (r < -127) r = -127;
        qt[j] = r;
      }
    }
    fillPrefix(q, prefix, t, qStride);
  }
  return { q, prefix, actScales };
}
function fillPrefix(q, prefix, t, qStride) {
  const p0 = t * (qStride + 1);
  prefix[p0] = 0;
  for (let j = 0; j < qStride; j++) prefix[p0 + j + 1] = prefix[p0 + j] + q[t * qStride + j];
}

// ---------------------------------------------------------------- §2/§3 ternary reference
function refTernary(mat, q, prefix, qStride, actScales, nT) {
  const { codes, segAct, segChunks, segScale, rowSeg, rowCode, uniform, rows } = mat;
  const y = new Float32Array(nT * rows);
  let rowBytes = 0;
  if (uniform) for (let k = 0; k < uniform; k++) rowBytes += 32 * segChunks[k];
  const sums = new Float32Array(nT);
  for (let r = 0; r < rows; r++) {
    const k0 = uniform ? 0 : rowSeg[r];
    const k1 = uniform ? uniform : rowSeg[r + 1];
    let base = uniform ? r * rowBytes : rowCode[r];
    sums.fill(0);
    for (let k = k0; k < k1; k++) {
      const a = segAct[k];
      const n = 128 * segChunks[k];
      const scale = uniform ? segScale[r * uniform + k] : segScale[k];
      const w = new Uint8Array(n); // code of weight i (0..3)
      for (let i = 0; i < n; i++) {
        const byte = codes[base + (i >> 7) * 32 + (i & 31)];
        w[i] = (byte >> (2 * ((i & 127) >> 5))) & 3;
      }
      for (let t = 0; t < nT; t++) {
        const qo = t * qStride + a;
        let dot = 0;
        for (let i = 0; i < n; i++) dot += w[i] * q[qo + i];
        const po = t * (qStride + 1);
        const acc = (dot - (prefix[po + a + n] - prefix[po + a])) | 0;
        sums[t] = fr(sums[t] + fr(scale * fr(acc)));
      }
      base += n / 4;
    }
    for (let t = 0; t < nT; t++) y[t * rows + r] = fr(sums[t] / actScales[t]);
  }
  return y;
}

// ---------------------------------------------------------------- §4 dense reference
const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
function halfToFloat(h) {
  const s = (h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return (s ? -1 : 1) * m * 2 ** -24;
  if (e === 31) {
    u32buf[0] = (s | 0x7f800000 | (m << 13)) >>> 0;
    return f32buf[0];
  }
  return (s ? -1 : 1) * (1 + m / 1024) * 2 ** (e - 15);
}
function bf16ToFloat(h) {
  u32buf[0] = (h << 16) >>> 0;
  return f32buf[0];
}
function denseRowBytes(type, cols) {
  return type === 0 ? cols * 4 : type === 8 ? (cols / 32) * 34 : cols * 2;
}
function refDense(type, data, rows, cols, x, nT) {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const rb = denseRowBytes(type, cols);
  const y = new Float32Array(nT * rows);
  const w = new Float32Array(cols);
  const lane = new Float32Array(8);
  for (let r = 0; r < rows; r++) {
    const o = r * rb;
    for (let j = 0; j < cols; j++) {
      if (type === 0) w[j] = dv.getFloat32(o + 4 * j, true);
      else if (type === 1) w[j] = halfToFloat(dv.getUint16(o + 2 * j, true));
      else if (type === 30) w[j] = bf16ToFloat(dv.getUint16(o + 2 * j, true));
      else {
        const b = o + (j >> 5) * 34;
        w[j] = fr(halfToFloat(dv.getUint16(b, true)) * dv.getInt8(b + 2 + (j & 31)));
      }
    }
    for (let t = 0; t < nT; t++) {
      lane.fill(0);
      for (let j = 0; j < cols; j++) lane[j % 8] = fr(lane[j % 8] + fr(w[j] * x[t * cols + j]));
      const v4 = [0, 1, 2, 3].map((i) => fr(lane[i] + lane[i + 4]));
      const v2 = [0, 1].map((i) => fr(v4[i] + v4[i + 2]));
      y[t * rows + r] = fr(v2[0] + v2[1]);
    }
  }
  return y;
}

// ---------------------------------------------------------------- helpers
function sameBits(a, b) {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i])))
      return `index ${i}: got ${a[i]} (0x${ua[i].toString(16)}) want ${b[i]} (0x${ub[i].toString(16)})`;
  }
  return null;
}
function packCodes(weightCodes) {
  // weightCodes: Uint8Array of codes, length multiple of 128 -> chunks
  const out = new Uint8Array(weightCodes.length / 4);
  for (let i = 0; i < weightCodes.length; i++) {
    const c = i >> 7;
    const w = i & 127;
    out[c * 32 + (w & 31)] |= weightCodes[i] << (2 * (w >> 5));
  }
  return out;
}
function randomCodes(nBytes, mode) {
  if (mode === 'raw') {
    const b = new Uint8Array(nBytes);
    for (let i = 0; i < nBytes; i++) b[i] = rint(0, 255);
    return b;
  }
  const wc = new Uint8Array(nBytes * 4);
  for (let i = 0; i < wc.length; i++) wc[i] = mode === 'two' ? 2 : mode === 'zero' ? 0 : rint(0, 2);
  return packCodes(wc);
}

const ISAS = ['avx512vnni', 'avxvnni', 'avx2', 'scalar'].filter((n) => {
  try {
    tl1.setIsa(n);
    return true;
  } catch {
    return false;
  }
});
tl1.setIsa('auto');

const results = [];
let failures = 0;
function record(name, err) {
  results.push({ name, ok: !err, err });
  if (err) failures++;
  console.log(`${err ? 'FAIL' : 'pass'}  ${name}${err ? `  -- ${err}` : ''}`);
}

// Uniform matrix: U segments per row (the pattern), cols = activations used.
function makeUniform(rows, cols, segW, { offset = 0, codesMode = 'rand', gap = 0 } = {}) {
  // segments of segW weights (multiple of 128) tiling [offset, offset+cols)
  const segAct = [];
  const segChunks = [];
  for (let a = 0; a < cols; a += segW) {
    segAct.push(offset + a + gap * segAct.length);
    segChunks.push(Math.ceil(Math.min(segW, cols - a) / 128));
  }
  const U = segAct.length;
  let rowBytes = 0;
  for (const c of segChunks) rowBytes += 32 * c;
  const segScale = new Float32Array(rows * U);
  for (let i = 0; i < segScale.length; i++) segScale[i] = fr(0.01 + rnd() * 2) * (rnd() < 0.1 ? -1 : 1);
  let maxActEnd = 0;
  for (let k = 0; k < U; k++) maxActEnd = Math.max(maxActEnd, segAct[k] + 128 * segChunks[k]);
  return {
    codes: randomCodes(rows * rowBytes, codesMode),
    segAct: Int32Array.from(segAct),
    segChunks: Int32Array.from(segChunks),
    segScale,
    rowSeg: null,
    rowCode: null,
    uniform: U,
    rows,
    maxActEnd,
  };
}

function makeGeneral(rows, maxSegs, maxChunks, { codesMode = 'rand' } = {}) {
  const segAct = [];
  const segChunks = [];
  const rowSeg = [0];
  const rowCode = [rint(0, 3) * 32];
  let code = rowCode[0];
  for (let r = 0; r < rows; r++) {
    const n = rint(0, maxSegs);
    for (let s = 0; s < n; s++) {
      segAct.push(rint(0, 700)); // deliberately not a multiple of 4/32/128
      const c = rint(1, maxChunks);
      segChunks.push(c);
      code += 32 * c;
    }
    code += rint(0, 2) * 32 + (rnd() < 0.2 ? rint(1, 31) : 0); // padding between rows
    rowSeg.push(segAct.length);
    rowCode.push(code);
  }
  let maxActEnd = 0;
  for (let k = 0; k < segAct.length; k++) maxActEnd = Math.max(maxActEnd, segAct[k] + 128 * segChunks[k]);
  const segScale = new Float32Array(segAct.length);
  for (let i = 0; i < segScale.length; i++) segScale[i] = fr(gauss());
  return {
    codes: randomCodes(code + rint(0, 64), codesMode),
    segAct: Int32Array.from(segAct),
    segChunks: Int32Array.from(segChunks),
    segScale,
    rowSeg: Int32Array.from(rowSeg),
    rowCode: Int32Array.from(rowCode),
    uniform: 0,
    rows,
    maxActEnd,
  };
}

function makeActs(nT, cols, qStride, mode) {
  if (mode === 'pm127' || mode === 'p127' || mode === 'm127') {
    const q = new Int8Array(nT * qStride);
    for (let i = 0; i < q.length; i++) q[i] = mode === 'p127' ? 127 : mode === 'm127' ? -127 : rnd() < 0.5 ? 127 : -127;
    const prefix = new Int32Array(nT * (qStride + 1));
    for (let t = 0; t < nT; t++) fillPrefix(q, prefix, t, qStride);
    const actScales = new Float32Array(nT);
    for (let t = 0; t < nT; t++) actScales[t] = fr(0.5 + rnd());
    return { q, prefix, actScales };
  }
  const xs = [];
  for (let t = 0; t < nT; t++) {
    const x = new Float32Array(cols);
    for (let j = 0; j < cols; j++) x[j] = fr(gauss() * (rnd() < 0.01 ? 20 : 1));
    if (mode === 'zeros' && t === 0) x.fill(0);
    xs.push(x);
  }
  return quantizeTokens(xs, cols, qStride);
}

function prepare(mat) {
  return tl1.ternaryPrepare(
    mat.codes,
    mat.segAct,
    mat.segChunks,
    mat.segScale,
    mat.rowSeg,
    mat.rowCode,
    mat.uniform,
    mat.rows,
    mat.maxActEnd,
  );
}

function checkTernary(name, mat, nTs, actMode = 'gauss') {
  const qStride = Math.max(128, Math.ceil(mat.maxActEnd / 128) * 128) + 128;
  const h = prepare(mat);
  for (const nT of nTs) {
    const { q, prefix, actScales } = makeActs(nT, mat.maxActEnd, qStride, actMode);
    const want = refTernary(mat, q, prefix, qStride, actScales, nT);
    let err = null;
    for (const isa of ISAS) {
      tl1.setIsa(isa);
      for (const th of [1, 2]) {
        tl1.setThreads(th);
        const y = new Float32Array(nT * mat.rows + 3).fill(-7); // canary tail
        tl1.ternaryGemm(h, q, prefix, qStride, actScales, nT, y);
        const e = sameBits(y.subarray(0, nT * mat.rows), want);
        if (e && !err) err = `${isa} threads=${th}: ${e}`;
        if (!err && (y[nT * mat.rows] !== -7 || y[nT * mat.rows + 2] !== -7)) err = `${isa}: wrote past y`;
      }
    }
    record(`ternary ${name} nT=${nT} (${ISAS.join('/')}, 1&2 threads)`, err);
  }
  tl1.setIsa('auto');
  tl1.setThreads(1);
}

function randomDense(type, rows, cols) {
  const rb = denseRowBytes(type, cols);
  const data = new Uint8Array(rows * rb + 1).subarray(1); // unaligned on purpose
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const randHalf = () => {
    // finite halves incl. subnormals and zeros
    const e = rnd() < 0.05 ? 0 : rint(1, 30);
    return (rint(0, 1) << 15) | (e << 10) | rint(0, 1023);
  };
  for (let r = 0; r < rows; r++) {
    const o = r * rb;
    for (let j = 0; j < cols; j++) {
      if (type === 0) dv.setFloat32(o + 4 * j, fr(gauss() * 2 ** rint(-20, 10)), true);
      else if (type === 1) dv.setUint16(o + 2 * j, randHalf(), true);
      else if (type === 30) dv.setUint16(o + 2 * j, (rint(0, 1) << 15) | (rint(90, 160) << 7) | rint(0, 127), true);
    }
    if (type === 8)
      for (let b = 0; b < cols / 32; b++) {
        dv.setUint16(o + b * 34, (rint(0, 1) << 15) | (rint(1, 20) << 10) | rint(0, 1023), true);
        for (let i = 0; i < 32; i++) dv.setInt8(o + b * 34 + 2 + i, rint(-128, 127));
      }
  }
  return data;
}

function checkDense(type, rows, cols, nTs) {
  const data = randomDense(type, rows, cols);
  for (const nT of nTs) {
    const x = new Float32Array(nT * cols);
    for (let i = 0; i < x.length; i++) x[i] = fr(gauss());
    const want = refDense(type, data, rows, cols, x, nT);
    let err = null;
    for (const isa of ISAS) {
      tl1.setIsa(isa);
      for (const th of [1, 2]) {
        tl1.setThreads(th);
        const y = new Float32Array(nT * rows + 2).fill(-7);
        tl1.denseGemm(type, data, rows, cols, x, nT, y);
        const e = sameBits(y.subarray(0, nT * rows), want);
        if (e && !err) err = `${isa} threads=${th}: ${e}`;
        if (!err && y[nT * rows] !== -7) err = `${isa}: wrote past y`;
      }
    }
    record(`dense type=${type} ${rows}x${cols} nT=${nT}`, err);
  }
  tl1.setIsa('auto');
  tl1.setThreads(1);
}

function expectThrow(name, fn, re) {
  let err = 'did not throw';
  try {
    fn();
  } catch (e) {
    err = e instanceof Error && (!re || re.test(e.message)) ? null : `threw ${e?.message}`;
    if (!err && process.env.VERBOSE) console.log(`      ${e.name}: ${e.message}`);
  }
  record(`throws: ${name}`, err);
}

// ================================================================ bit-exactness
console.log(`addon: ${addonPath}`);
console.log('cpuFeatures:', JSON.stringify(tl1.cpuFeatures()));
console.log(`ISAs tested: ${ISAS.join(', ')}`);

checkTernary('1x1 (U=1, 1 chunk)', makeUniform(1, 1, 128), [1, 3, 8]);
checkTernary('3x5', makeUniform(3, 5, 128), [1, 3, 8, 64]);
checkTernary('7x257 TQ2_0-like (256-blocks)', makeUniform(7, 257, 256), [1, 3, 8, 64]);
checkTernary('7x257 one segment', makeUniform(7, 257, 1 << 20), [1, 5]);
checkTernary('13x300 odd segAct offset 3, gaps 7', makeUniform(13, 300, 128, { offset: 3, gap: 7 }), [1, 4, 9]);
checkTernary('37x1000 segAct offset 61, 256-blocks', makeUniform(37, 1000, 256, { offset: 61 }), [1, 3, 8, 64]);
checkTernary('21x640 raw code bytes (incl. code 3)', makeUniform(21, 640, 256, { codesMode: 'raw' }), [1, 8]);
checkTernary('general 1 row', makeGeneral(1, 3, 3), [1, 4]);
checkTernary('general 37 rows (odd segAct, padding, empty rows)', makeGeneral(37, 5, 4), [1, 3, 8, 64]);
checkTernary('general 301 rows', makeGeneral(301, 4, 3), [1, 7]);
checkTernary('general 41 rows raw bytes', makeGeneral(41, 4, 3, { codesMode: 'raw' }), [1, 6]);
checkTernary('stress 19x2048 codes=2 q=+127', makeUniform(19, 2048, 1 << 20, { codesMode: 'two' }), [1, 4], 'p127');
checkTernary('stress 19x2048 codes=2 q=-127', makeUniform(19, 2048, 1 << 20, { codesMode: 'two' }), [1, 5], 'm127');
checkTernary('stress 16x4096 codes=0 q=+-127', makeUniform(16, 4096, 256, { codesMode: 'zero' }), [1, 4], 'p127');
checkTernary('stress 33x1024 random q=+-127', makeUniform(33, 1024, 256), [1, 3, 8, 64], 'pm127');
checkTernary('stress general q=+-127', makeGeneral(29, 4, 6), [1, 8], 'pm127');
checkTernary('zero token (actScale 1, q=0)', makeUniform(9, 256, 256), [3], 'zeros');
if (!quick) {
  checkTernary('2560x6912 TQ2_0-like', makeUniform(2560, 6912, 256), [1, 3, 8]);
  checkTernary('6912x2560 TQ2_0-like', makeUniform(6912, 2560, 256), [1, 8]);
  checkTernary('2560x6912 one segment/row', makeUniform(2560, 6912, 1 << 20), [1, 3]);
  checkTernary('1001x2560 q=+-127', makeUniform(1001, 2560, 256), [1, 64], 'pm127');
}

for (const type of [0, 1, 30, 8]) {
  const shapes =
    type === 8
      ? [
          [1, 32],
          [3, 64],
          [7, 288],
          [13, 2560],
        ]
      : [
          [1, 1],
          [3, 5],
          [7, 257],
          [13, 1003],
        ];
  for (const [r, c] of shapes) checkDense(type, r, c, [1, 3, 8]);
  if (!quick) checkDense(type, 2560, 6912, [1, 5]);
}

// ================================================================ validation
{
  const mat = makeUniform(4, 300, 256);
  const h = prepare(mat);
  const qStride = 512;
  const { q, prefix, actScales } = makeActs(2, 300, qStride, 'gauss');
  const y = new Float32Array(8);
  const P = (o) => {
    const m = { ...mat, ...o };
    return () =>
      tl1.ternaryPrepare(
        m.codes,
        m.segAct,
        m.segChunks,
        m.segScale,
        m.rowSeg,
        m.rowCode,
        m.uniform,
        m.rows,
        m.maxActEnd,
      );
  };
  expectThrow('prepare codes too short', P({ codes: mat.codes.subarray(1) }), /codes\.length/);
  expectThrow('prepare segAct negative', P({ segAct: Int32Array.from([-1, 256]) }), /segAct\[0\]/);
  expectThrow('prepare segment past maxActEnd', P({ maxActEnd: 383 }), /maxActEnd/);
  expectThrow('prepare segChunks negative', P({ segChunks: Int32Array.from([2, -1]) }), /segChunks\[1\]/);
  expectThrow('prepare segScale length', P({ segScale: new Float32Array(7) }), /segScale\.length/);
  expectThrow('prepare segAct length (uniform)', P({ segAct: new Int32Array(3) }), /segAct\.length/);
  expectThrow('prepare segAct wrong type', P({ segAct: new Float32Array(2) }), /segAct must be a Int32Array/);
  expectThrow('prepare codes wrong type', P({ codes: [1, 2, 3] }), /codes must be a Uint8Array/);
  expectThrow('prepare uniform negative', P({ uniform: -1 }), /uniform/);
  expectThrow('prepare rows fractional', P({ rows: 1.5 }), /rows/);
  const g = makeGeneral(6, 3, 2);
  while (g.rowSeg[6] - g.rowSeg[0] < 2) Object.assign(g, makeGeneral(6, 3, 2));
  const G = (o) => {
    const m = { ...g, ...o };
    return () =>
      tl1.ternaryPrepare(m.codes, m.segAct, m.segChunks, m.segScale, m.rowSeg, m.rowCode, 0, m.rows, m.maxActEnd);
  };
  const bad = (arr, i, v) => {
    const c = Int32Array.from(arr);
    c[i] = v;
    return c;
  };
  record(
    'general prepare accepts valid input',
    (() => {
      try {
        G({})();
        return null;
      } catch (e) {
        return e.message;
      }
    })(),
  );
  expectThrow('general rowSeg missing', G({ rowSeg: null }), /rowSeg/);
  expectThrow('general rowCode missing', G({ rowCode: undefined }), /rowCode/);
  expectThrow('general rowSeg length', G({ rowSeg: g.rowSeg.subarray(1) }), /rowSeg\.length/);
  expectThrow('general rowSeg past nSeg', G({ rowSeg: bad(g.rowSeg, 6, g.segAct.length + 1) }), /rowSeg\[6\]/);
  expectThrow('general rowSeg not monotonic', G({ rowSeg: bad(g.rowSeg, 3, g.rowSeg[2] - 1) }), /rowSeg/);
  expectThrow('general rowCode past codes', G({ rowCode: bad(g.rowCode, 6, g.codes.length + 1) }), /rowCode\[6\]/);
  expectThrow(
    'general rowCode overlapping',
    G({
      rowCode: bad(g.rowCode, 0, g.rowCode[1]),
      rowSeg: Int32Array.from([0, g.rowSeg[6], g.rowSeg[6], g.rowSeg[6], g.rowSeg[6], g.rowSeg[6], g.rowSeg[6]]),
    }),
    /rowCode/,
  );
  expectThrow('general rowCode negative', G({ rowCode: bad(g.rowCode, 0, -32) }), /rowCode\[0\]/);
  expectThrow('general segScale length', G({ segScale: new Float32Array(g.segAct.length + 1) }), /segScale\.length/);

  const T = (o) => {
    const a = { h, q, prefix, qStride, actScales, nT: 2, y, ...o };
    return () => tl1.ternaryGemm(a.h, a.q, a.prefix, a.qStride, a.actScales, a.nT, a.y);
  };
  record(
    'ternaryGemm accepts valid input',
    (() => {
      try {
        T({})();
        return null;
      } catch (e) {
        return e.message;
      }
    })(),
  );
  expectThrow('gemm qStride < maxActEnd', T({ qStride: 383 }), /qStride/);
  expectThrow('gemm q too short', T({ q: q.subarray(1) }), /q\.length/);
  expectThrow('gemm prefix too short', T({ prefix: prefix.subarray(2) }), /prefix\.length/);
  expectThrow('gemm actScales too short', T({ actScales: actScales.subarray(1) }), /actScales\.length/);
  expectThrow('gemm y too short', T({ y: y.subarray(1) }), /y\.length/);
  expectThrow('gemm y wrong type', T({ y: new Float64Array(8) }), /y must be a Float32Array/);
  expectThrow('gemm handle is an object', T({ h: {} }), /handle/);
  expectThrow('gemm handle is a number', T({ h: 42 }), /handle/);
  expectThrow('gemm nTokens negative', T({ nT: -1 }), /nTokens/);
  {
    const m2 = makeUniform(2, 128, 128);
    const buf = new ArrayBuffer(m2.codes.length);
    new Uint8Array(buf).set(m2.codes);
    const h2 = tl1.ternaryPrepare(new Uint8Array(buf), m2.segAct, m2.segChunks, m2.segScale, null, null, 1, 2, 128);
    structuredClone(buf, { transfer: [buf] }); // detaches the codes
    expectThrow(
      'gemm after codes were detached',
      () => tl1.ternaryGemm(h2, q, prefix, qStride, actScales, 1, y),
      /detached/,
    );
  }
  const D = (o) => {
    const a = {
      type: 0,
      data: new Uint8Array(3 * 5 * 4),
      rows: 3,
      cols: 5,
      x: new Float32Array(10),
      nT: 2,
      y: new Float32Array(6),
      ...o,
    };
    return () => tl1.denseGemm(a.type, a.data, a.rows, a.cols, a.x, a.nT, a.y);
  };
  record(
    'denseGemm accepts valid input',
    (() => {
      try {
        D({})();
        return null;
      } catch (e) {
        return e.message;
      }
    })(),
  );
  expectThrow('dense data too short', D({ data: new Uint8Array(59) }), /data\.length/);
  expectThrow('dense x too short', D({ x: new Float32Array(9) }), /x\.length/);
  expectThrow('dense y too short', D({ y: new Float32Array(5) }), /y\.length/);
  expectThrow('dense bad type', D({ type: 2 }), /type/);
  expectThrow('dense Q8_0 cols % 32', D({ type: 8, cols: 33, data: new Uint8Array(1000) }), /multiple of 32/);
  expectThrow('setIsa unknown', () => tl1.setIsa('avx9000'), /unknown ISA/);
  expectThrow('setThreads(0)', () => tl1.setThreads(0), /setThreads/);
  expectThrow('setThreads(257)', () => tl1.setThreads(257), /setThreads/);
  expectThrow('streamSum non-buffer', () => tl1.streamSum('abc', 1), /streamSum/);
  expectThrow('ternaryPrepare too few args', () => tl1.ternaryPrepare(mat.codes), /expected 9 arguments/);
}
{
  tl1.setIsa('auto');
  const isa0 = tl1.cpuFeatures().isa;
  const okIsa = ISAS.every((n) => tl1.setIsa(n) === n && tl1.cpuFeatures().isa === n);
  tl1.setIsa('auto');
  record(
    `setIsa/cpuFeatures().isa round trip (auto = ${isa0})`,
    okIsa && tl1.cpuFeatures().isa === isa0 ? null : 'mismatch',
  );
  const thr = [3, 1, 2, 1].map((n) => tl1.setThreads(n) === n && tl1.getThreads() === n);
  record('setThreads/getThreads', thr.every(Boolean) ? null : JSON.stringify(thr));
  const buf = new Uint8Array(10_000_003);
  for (let i = 0; i < buf.length; i += 97) buf[i] = i & 255;
  tl1.setThreads(2);
  const s1 = tl1.streamSum(buf, 1);
  const s2 = tl1.streamSum(buf, 2);
  tl1.setIsa('scalar');
  const s3 = tl1.streamSum(buf, 2);
  tl1.setIsa('auto');
  tl1.setThreads(1);
  record('streamSum same checksum for 1/2 threads and scalar', s1 === s2 && s2 === s3 ? null : `${s1} ${s2} ${s3}`);
}

// Two worker_threads sharing the process-wide pool with the main thread
// (whoever does not get the pool runs its rows itself).
{
  const { Worker } = await import('node:worker_threads');
  const mat = makeUniform(256, 1024, 256);
  const qStride = 1152;
  const { q, prefix, actScales } = makeActs(4, 1024, qStride, 'gauss');
  const want = refTernary(mat, q, prefix, qStride, actScales, 4);
  tl1.setThreads(2);
  const src = `
    const { parentPort, workerData: w } = require('node:worker_threads');
    const tl1 = require(w.addonPath);
    const h = tl1.ternaryPrepare(w.codes, w.segAct, w.segChunks, w.segScale, null, null, w.U, w.rows, w.maxActEnd);
    const y = new Float32Array(4 * w.rows);
    let bad = 0;
    const want = new Uint32Array(w.want.buffer);
    for (let i = 0; i < 300; i++) {
      tl1.ternaryGemm(h, w.q, w.prefix, w.qStride, w.actScales, 4, y);
      const got = new Uint32Array(y.buffer);
      for (let j = 0; j < got.length; j++) if (got[j] !== want[j]) { bad++; break; }
    }
    parentPort.postMessage(bad);`;
  const data = {
    addonPath,
    codes: mat.codes,
    segAct: mat.segAct,
    segChunks: mat.segChunks,
    segScale: mat.segScale,
    U: mat.uniform,
    rows: mat.rows,
    maxActEnd: mat.maxActEnd,
    q,
    prefix,
    qStride,
    actScales,
    want,
  };
  const runs = [0, 1].map(
    () =>
      new Promise((res, rej) => {
        const w = new Worker(src, { eval: true, workerData: data });
        w.once('message', res);
        w.once('error', rej);
      }),
  );
  const h = prepare(mat);
  const y = new Float32Array(4 * mat.rows);
  let bad = 0;
  for (let i = 0; i < 300; i++) {
    tl1.ternaryGemm(h, q, prefix, qStride, actScales, 4, y);
    if (sameBits(y, want)) bad++;
  }
  let err = null;
  try {
    const counts = await Promise.all(runs);
    if (bad || counts.some((c) => c)) err = `mismatching runs: main ${bad}, workers ${counts}`;
  } catch (e) {
    err = `worker failed: ${e.message}`;
  }
  record('concurrent ternaryGemm from main + 2 worker_threads (shared pool)', err);
  tl1.setThreads(1);
}

// Same checks again in a child process that splits even tiny jobs across the
// pool (TL1_MIN_PART_WORK=0), so small shapes also run multi-threaded.
if (!process.env.TL1_MIN_PART_WORK) {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--quick'], {
    env: { ...process.env, TL1_MIN_PART_WORK: '0', TL1_NODE: addonPath },
    encoding: 'utf8',
  });
  const last = (r.stdout || '').trim().split('\n').pop();
  const fails = (r.stdout || '').split('\n').filter((l) => l.startsWith('FAIL'));
  record(
    `child run with TL1_MIN_PART_WORK=0 (tiny jobs split across threads): ${last}`,
    r.status === 0 ? null : fails.join('; ') || r.stderr,
  );
}

const passed = results.filter((r) => r.ok).length;
console.log(`\n${passed} passed, ${failures} failed`);

// ================================================================ timings
function timeIt(fn, minMs = 300) {
  for (let i = 0; i < 5; i++) fn();
  const samples = [];
  const t0 = performance.now();
  while (performance.now() - t0 < minMs || samples.length < 20) {
    const a = performance.now();
    fn();
    samples.push(performance.now() - a);
  }
  samples.sort((a, b) => a - b);
  return { med: samples[samples.length >> 1] * 1000, min: samples[0] * 1000 }; // µs
}
const fmt = (t) => `${t.med.toFixed(0)} (min ${t.min.toFixed(0)})`;

if (!quick) {
  console.log('\nTimings: median (min) µs per call; GEMV = 1 token; 1t/2t = threads');
  const shapes = [
    ['6912x2560 TQ2_0-like', 6912, 2560, 256],
    ['2560x6912 TQ2_0-like', 2560, 6912, 256],
    ['6912x2560 1 seg/row', 6912, 2560, 1 << 20],
    ['2560x6912 1 seg/row', 2560, 6912, 1 << 20],
  ];
  for (const [name, rows, cols, segW] of shapes) {
    const mat = makeUniform(rows, cols, segW);
    const h = prepare(mat);
    const qStride = Math.ceil(mat.maxActEnd / 128) * 128 + 128;
    for (const nT of [1, 8]) {
      const { q, prefix, actScales } = makeActs(nT, cols, qStride, 'gauss');
      const y = new Float32Array(nT * rows);
      const parts = [];
      for (const isa of ISAS) {
        tl1.setIsa(isa);
        for (const th of [1, 2]) {
          tl1.setThreads(th);
          if (isa === 'scalar' && nT > 1) continue;
          const us = timeIt(
            () => tl1.ternaryGemm(h, q, prefix, qStride, actScales, nT, y),
            isa === 'scalar' ? 100 : 300,
          );
          parts.push(`${isa}/${th}t ${fmt(us)}`);
        }
      }
      console.log(`  ternary ${name} nT=${nT} (codes ${(mat.codes.length / 1e6).toFixed(2)} MB): ${parts.join(', ')}`);
    }
  }
  tl1.setIsa('auto');
  for (const [type, tname] of [
    [1, 'F16'],
    [8, 'Q8_0'],
    [0, 'F32'],
  ]) {
    const rows = 2560;
    const cols = 6912;
    const data = randomDense(type, rows, cols);
    const x = new Float32Array(cols).map(() => fr(gauss()));
    const y = new Float32Array(rows);
    const parts = [];
    for (const th of [1, 2]) {
      tl1.setThreads(th);
      const us = timeIt(() => tl1.denseGemm(type, data, rows, cols, x, 1, y));
      parts.push(`${th}t ${fmt(us)} µs (${(data.length / us.med / 1e3).toFixed(1)} GB/s)`);
    }
    console.log(`  dense ${tname} ${rows}x${cols} GEMV: ${parts.join(', ')}`);
  }
  const big = new Uint8Array(256 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big[i] = 1;
  for (const th of [1, 2]) {
    tl1.setThreads(th);
    const us = timeIt(() => tl1.streamSum(big, th), 1000);
    console.log(
      `  streamSum 256 MB, ${th} thread(s): ${fmt(us)} µs = ${(big.length / us.med / 1e3).toFixed(1)} GB/s (best ${(big.length / us.min / 1e3).toFixed(1)})`,
    );
  }
  tl1.setThreads(1);
}
process.exitCode = failures ? 1 : 0;
