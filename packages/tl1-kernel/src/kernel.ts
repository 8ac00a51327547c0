import { quantizeTokens, type TokenBatch, type TokenScratch } from './activations.js';
import { checkArgmax, jsArgmax } from './argmax.js';
import { type AttentionInput, checkAttention, jsAttention } from './attention.js';
import { type DenseInput, type DenseLayout, denseLayout } from './dense.js';
import { roundDenseActivations } from './dense-activations.js';
import type { DenseActivation } from './dense-types.js';
import { KernelDisposedError, KernelShapeError } from './errors.js';
import { addResidual, checkGlue, type GemmGlue, gatedActivation, gluesInput } from './glue.js';
import { CHUNK_WEIGHTS, type TernaryLayout } from './layout.js';
import { checkRmsNorm, jsRmsNorm, type RmsNormInput } from './norm.js';
import { layoutFromInput, type TernaryMatrixInput } from './ternary-input.js';

/** A matrix prepared by one kernel: opaque to callers, usable only with that kernel. */
export interface PreparedMatrix {
  readonly kind: 'ternary' | 'dense';
  readonly rows: number;
  readonly cols: number;
  /** Bytes this matrix holds in the kernel's memory. */
  readonly byteLength: number;
}

/** The narrow interface other packages use to multiply by ternary and dense matrices. */
export interface TernaryKernel {
  /** e.g. `native-avx2`, `wasm-simd128`, `js`. */
  readonly name: string;
  /** Threads the kernel splits rows across. */
  readonly threads: number;
  /**
   * Converts a ternary matrix to this kernel's layout: a TernaryTensor (from any
   * copy of @trit/ternary; matched by its fields), or GGUF tensor bytes.
   */
  prepare(matrix: TernaryMatrixInput): PreparedMatrix;
  /**
   * Holds a dense F32/F16/BF16/Q8_0/Q4_0/Q4_K/Q5_K/Q6_K matrix for this kernel. Its inputs will be
   * rounded as llama.cpp rounds them for the type (DENSE_TYPES' `activation`).
   */
  prepareDense(matrix: DenseInput): PreparedMatrix;
  /**
   * y = M·x for one token. Ternary matrices quantize x to int8 first (W1.58A8);
   * dense ones round x to their type's activation grid (f16, bf16, q8_0 or q8_k blocks).
   */
  gemv(matrix: PreparedMatrix, x: Float32Array, y?: Float32Array): Float32Array;
  /**
   * Y (nTokens × rows) = X (nTokens × cols) · Mᵀ, each token quantized on its own. `glue`
   * (KERNEL.md §10) adds a gated activation and an RMSNorm before the product and a residual
   * add after it, with the bits of doing them one by one.
   */
  gemm(matrix: PreparedMatrix, X: Float32Array, nTokens: number, Y?: Float32Array, glue?: GemmGlue): Float32Array;
  /**
   * Causal multi-head attention of nTokens queries over an f32 KV cache
   * (GQA when kvHeads < heads), softmax included; the same bits on every implementation.
   */
  attention(input: AttentionInput): void;
  /** RMSNorm of nTokens rows (KERNEL.md §8), in place when out is x; the same bits on every implementation. */
  rmsNorm(input: RmsNormInput): void;
  /**
   * Index of the largest of the first `count` values (default all): the lowest index on ties,
   * NaNs never chosen, 0 when none exceeds −∞ (KERNEL.md §9). Greedy decoding picks the next
   * token with it, so no JS loop scans a vocabulary's logits.
   */
  argmax(values: Float32Array, count?: number): number;
  /**
   * Y_i = X · M_iᵀ for several matrices that read the same input (Q, K and V;
   * gate and up): the same results as separate gemm calls, with the
   * activations quantized once for all the ternary ones and rounded once per
   * grid for the dense ones. `glue` as for gemm, applied once for all of them (a residual
   * only with one matrix).
   */
  gemmMany(
    matrices: readonly PreparedMatrix[],
    X: Float32Array,
    nTokens: number,
    Ys: readonly Float32Array[],
    glue?: GemmGlue,
  ): void;
  /** Releases the kernel's threads; prepared matrices become unusable. */
  dispose(): Promise<void>;
}

/** What each implementation (native, wasm, js) provides; the shared class below does everything else. */
export interface KernelDriver<TernaryHandle, DenseHandle> {
  readonly name: string;
  readonly threads: number;
  loadTernary(layout: TernaryLayout): TernaryHandle;
  loadDense(layout: DenseLayout): DenseHandle;
  ternaryGemm(handle: TernaryHandle, batch: TokenBatch, y: Float32Array): void;
  /** Optional: ternaryGemm for 2–8 matrices of one batch at once (one thread dispatch); same results. */
  ternaryGemmMany?(handles: readonly TernaryHandle[], batch: TokenBatch, ys: readonly Float32Array[]): void;
  denseGemm(handle: DenseHandle, x: Float32Array, nTokens: number, y: Float32Array): void;
  /**
   * Optional: fills batch (its q, prefix and actScales, sized for batch.nTokens and batch.qStride) from
   * nTokens × cols floats of X, with the bits of src/activations.ts's quantizeTokens (KERNEL.md §1);
   * without it, that function runs on the caller's thread.
   */
  quantizeTokens?(X: Float32Array, cols: number, batch: TokenBatch): void;
  /**
   * Optional: quantizeTokens of the glued input (KERNEL.md §10: gate, then norm) without
   * writing it out; returns false, having done nothing, for a glue it does not do.
   */
  quantizeGlued?(X: Float32Array, cols: number, batch: TokenBatch, glue: GemmGlue): boolean;
  /** Optional: drivers without their own run the JS reference on the caller's thread. */
  attention?(input: AttentionInput): void;
  /** Optional, as attention. */
  rmsNorm?(input: RmsNormInput): void;
  /** Optional, as attention. */
  argmax?(values: Float32Array, count: number): number;
  dispose(): Promise<void>;
}

const OWNER = Symbol('kernel');

// Prepared matrices keep only the driver's handle: the layout arrays are owned
// by it (native, JS) or were copied into its heap (wasm, threaded JS).
interface PreparedTernary extends PreparedMatrix {
  readonly kind: 'ternary';
  readonly [OWNER]: object;
  readonly qStride: number;
  readonly handle: unknown;
}

interface PreparedDense extends PreparedMatrix {
  readonly kind: 'dense';
  readonly [OWNER]: object;
  /** What inputs are rounded to before the dot product. */
  readonly activation: DenseActivation;
  readonly handle: unknown;
}

/** Activations are padded past the last segment so every chunk reads zeros beyond `cols`. */
export function qStrideFor(layout: TernaryLayout): number {
  return Math.ceil(Math.max(layout.maxActEnd, layout.cols) / CHUNK_WEIGHTS) * CHUNK_WEIGHTS + CHUNK_WEIGHTS;
}

/** One activation grid's rounded inputs: a buffer grown on demand, its views by length, and the call they hold. */
interface RoundedInputs {
  buffer: Float32Array;
  views: Map<number, Float32Array>;
  call: number;
}

const MAX_ROUNDED_VIEWS = 16;

/** A view of the first `length` floats of r's buffer, grown on demand (a new buffer holds no call's input). */
function viewOf(r: RoundedInputs, length: number): Float32Array {
  if (r.buffer.length < length) {
    r.buffer = new Float32Array(length);
    r.views.clear();
    r.call = -1;
  }
  let view = r.views.get(length);
  if (!view) {
    if (r.views.size >= MAX_ROUNDED_VIEWS) r.views.clear();
    view = r.buffer.subarray(0, length);
    r.views.set(length, view);
  }
  return view;
}

/** The most matrices one ternaryGemmMany driver call takes (the native addon's limit). */
const MANY_MAX = 8;

/** gemmMany's ternary matrices that one driver call serves: their indices and handles. */
interface ManyPlan<TH> {
  index: number[];
  /** taken[i]: matrix i is one of them. */
  taken: boolean[];
  /** Every matrix is one of them (Ys can be passed as is). */
  all: boolean;
  handles: TH[];
}

export class Kernel<TH, DH> implements TernaryKernel {
  /** Quantized-activation buffers reused across calls (grown on demand). */
  private scratch: TokenScratch = { q: new Int8Array(0), prefix: new Int32Array(0), actScales: new Float32Array(0) };
  /** Rounded inputs for dense matrices, one buffer per activation grid (gemmMany may need several at once). */
  private readonly rounded = new Map<DenseActivation, RoundedInputs>();
  /** The norm's arguments, refilled per call (the decode step allocates nothing). */
  private readonly normArgs: RmsNormInput = {
    x: new Float32Array(0),
    out: new Float32Array(0),
    weight: new Float32Array(0),
    nTokens: 0,
    n: 1,
    eps: 0,
  };
  /** The glued input of a call (gate, then norm) where it is needed as floats; views by length. */
  private glued: RoundedInputs = { buffer: new Float32Array(0), views: new Map(), call: -1 };
  /** Counts gemm/gemmMany calls, so a grid's buffer knows whether it already holds this call's X. */
  private call = 0;
  private disposed = false;
  private readonly plans = new WeakMap<
    readonly PreparedMatrix[],
    { matrices: PreparedMatrix[]; plan: ManyPlan<TH> | undefined }
  >();

  constructor(private readonly driver: KernelDriver<TH, DH>) {}

  get name(): string {
    return this.driver.name;
  }

  get threads(): number {
    return this.driver.threads;
  }

  prepare(matrix: TernaryMatrixInput): PreparedMatrix {
    this.live('prepare');
    const layout = layoutFromInput(matrix);
    const prepared: PreparedTernary = {
      kind: 'ternary',
      rows: layout.rows,
      cols: layout.cols,
      byteLength: layout.codes.length + 4 * layout.segScale.length + 4 * layout.segAct.length,
      [OWNER]: this,
      qStride: qStrideFor(layout),
      handle: this.driver.loadTernary(layout),
    };
    return prepared;
  }

  prepareDense(matrix: DenseInput): PreparedMatrix {
    this.live('prepareDense');
    const layout = denseLayout(matrix);
    const prepared: PreparedDense = {
      kind: 'dense',
      rows: layout.rows,
      cols: layout.cols,
      byteLength: layout.rows * layout.rowBytes,
      [OWNER]: this,
      activation: layout.info.activation,
      handle: this.driver.loadDense(layout),
    };
    return prepared;
  }

  gemv(matrix: PreparedMatrix, x: Float32Array, y?: Float32Array): Float32Array {
    this.live('gemv');
    if (x.length !== matrix.cols) throw new KernelShapeError('gemv: x length (matrix cols)', matrix.cols, x.length);
    return this.gemm(matrix, x, 1, y);
  }

  gemm(matrix: PreparedMatrix, X: Float32Array, nTokens: number, Y?: Float32Array, glue?: GemmGlue): Float32Array {
    this.live('gemm');
    const m = this.own(matrix);
    const out = this.checkGemm(-1, m, X, nTokens, Y);
    if (glue !== undefined) checkGlue('gemm', glue, nTokens, m.cols, 1, m.rows);
    this.call++;
    if (m.kind === 'ternary') {
      this.driver.ternaryGemm(m.handle as TH, this.quantize(X, nTokens, m.cols, m.qStride, glue), out);
    } else {
      this.driver.denseGemm(m.handle as DH, this.roundInputs(m, this.input(X, nTokens, m.cols, glue)), nTokens, out);
    }
    if (glue?.residual) addResidual(glue.residual.into, out, glue.residual.scale);
    return out;
  }

  gemmMany(
    matrices: readonly PreparedMatrix[],
    X: Float32Array,
    nTokens: number,
    Ys: readonly Float32Array[],
    glue?: GemmGlue,
  ): void {
    this.live('gemmMany');
    if (matrices.length !== Ys.length)
      throw new KernelShapeError('gemmMany: outputs (one per matrix)', matrices.length, Ys.length);
    for (let i = 0; i < matrices.length; i++)
      this.checkGemm(i, this.own(matrices[i] as PreparedMatrix), X, nTokens, Ys[i] as Float32Array);
    const head = matrices[0];
    if (glue !== undefined && head) checkGlue('gemmMany', glue, nTokens, head.cols, matrices.length, head.rows);
    // One quantization serves every ternary matrix of the same stride (same cols: X is shared),
    // and one rounding every dense matrix of the same activation grid.
    let batch: TokenBatch | undefined;
    let batchStride = -1;
    this.call++;
    // The ternary matrices of the first one's stride (all of them, in practice) in one driver call.
    const plan = this.driver.ternaryGemmMany ? this.manyPlan(matrices) : undefined;
    if (plan) {
      const first = matrices[plan.index[0] as number] as PreparedTernary;
      batch = this.quantize(X, nTokens, first.cols, first.qStride, glue);
      batchStride = first.qStride;
      this.driver.ternaryGemmMany?.(plan.handles, batch, plan.all ? Ys : plan.index.map((i) => Ys[i] as Float32Array));
    }
    for (let i = 0; i < matrices.length; i++) {
      const m = matrices[i] as PreparedTernary | PreparedDense;
      const out = Ys[i] as Float32Array;
      if (plan?.taken[i]) continue;
      if (m.kind === 'ternary') {
        if (!batch || batchStride !== m.qStride) {
          batch = this.quantize(X, nTokens, m.cols, m.qStride, glue);
          batchStride = m.qStride;
        }
        this.driver.ternaryGemm(m.handle as TH, batch, out);
      } else {
        this.driver.denseGemm(m.handle as DH, this.roundInputs(m, this.input(X, nTokens, m.cols, glue)), nTokens, out);
      }
    }
    if (glue?.residual) addResidual(glue.residual.into, Ys[0] as Float32Array, glue.residual.scale);
  }

  /**
   * The product's input as floats: X itself, or, with a gate or a norm, the glued input in a
   * buffer kept across calls (computed at most once per call; views by length, as roundInputs).
   */
  private input(X: Float32Array, nTokens: number, cols: number, glue: GemmGlue | undefined): Float32Array {
    if (!gluesInput(glue)) return X;
    const g = this.glued;
    const view = viewOf(g, X.length);
    if (g.call === this.call) return view;
    g.call = this.call;
    let from = X;
    if (glue.gate) {
      gatedActivation(X, glue.gate.up, X.length, glue.gate.activation, view);
      from = view;
    }
    if (glue.norm) {
      const a = this.normArgs;
      a.x = from;
      a.out = view;
      a.weight = glue.norm.weight;
      a.nTokens = nTokens;
      a.n = cols;
      a.eps = glue.norm.eps;
      (this.driver.rmsNorm ?? jsRmsNorm)(a);
    }
    return view;
  }

  /**
   * Which matrices of a gemmMany list go to the driver together (at least two ternary ones of one
   * stride), kept per list: the backend passes the same lists every token, and a decode step
   * should allocate nothing. A list changed since is planned again.
   */
  private manyPlan(matrices: readonly PreparedMatrix[]): ManyPlan<TH> | undefined {
    const known = this.plans.get(matrices);
    if (known !== undefined && known.matrices.length === matrices.length) {
      let same = true;
      for (let i = 0; i < matrices.length && same; i++) same = known.matrices[i] === matrices[i];
      if (same) return known.plan;
    }
    const index: number[] = [];
    let stride = -1;
    matrices.forEach((m, i) => {
      if (m.kind !== 'ternary') return;
      const { qStride } = m as PreparedTernary;
      if (stride < 0) stride = qStride;
      if (qStride === stride && index.length < MANY_MAX) index.push(i);
    });
    const plan =
      index.length >= 2
        ? {
            index,
            taken: matrices.map((_, i) => index.includes(i)),
            all: index.length === matrices.length,
            handles: index.map((i) => (matrices[i] as PreparedTernary).handle as TH),
          }
        : undefined;
    this.plans.set(matrices, { matrices: [...matrices], plan });
    return plan;
  }

  /**
   * X rounded to the matrix's activation grid (X itself for f32), rounded at
   * most once per call for each grid. The per-token path allocates nothing:
   * views of each input length are kept (decode and prefill use a handful).
   */
  private roundInputs(m: PreparedDense, X: Float32Array): Float32Array {
    if (m.activation === 'f32') return X;
    let r = this.rounded.get(m.activation);
    if (!r) {
      r = { buffer: new Float32Array(0), views: new Map(), call: -1 };
      this.rounded.set(m.activation, r);
    }
    const view = viewOf(r, X.length);
    if (r.call !== this.call) {
      roundDenseActivations(m.activation, X, m.cols, view);
      r.call = this.call;
    }
    return view;
  }

  /** Checks X and Y against the matrix; returns Y, or a new output when Y is absent. */
  private checkGemm(
    /** Index in a gemmMany call, or -1 for gemm (names the call in errors; built only on failure). */
    index: number,
    m: PreparedTernary | PreparedDense,
    X: Float32Array,
    nTokens: number,
    Y?: Float32Array,
  ): Float32Array {
    const what = () => (index < 0 ? 'gemm' : `gemmMany[${index}]`);
    if (!Number.isSafeInteger(nTokens) || nTokens < 1)
      throw new KernelShapeError(`${what()}: nTokens`, 'a positive integer', nTokens);
    if (!(X instanceof Float32Array)) throw new KernelShapeError(`${what()}: X`, 'a Float32Array', typeof X);
    if (X.length !== nTokens * m.cols) {
      throw new KernelShapeError(
        `${what()}: X length (${nTokens} tokens × ${m.cols} cols)`,
        nTokens * m.cols,
        X.length,
      );
    }
    const out = Y ?? new Float32Array(nTokens * m.rows);
    if (out.length !== nTokens * m.rows) {
      throw new KernelShapeError(
        `${what()}: Y length (${nTokens} tokens × ${m.rows} rows)`,
        nTokens * m.rows,
        out.length,
      );
    }
    return out;
  }

  attention(input: AttentionInput): void {
    this.live('attention');
    checkAttention(input);
    (this.driver.attention ?? jsAttention)(input);
  }

  rmsNorm(input: RmsNormInput): void {
    this.live('rmsNorm');
    checkRmsNorm(input);
    (this.driver.rmsNorm ?? jsRmsNorm)(input);
  }

  argmax(values: Float32Array, count?: number): number {
    this.live('argmax');
    const n = count ?? (values instanceof Float32Array ? values.length : 0);
    checkArgmax(values, n);
    return (this.driver.argmax ?? jsArgmax)(values, n);
  }

  /** Idempotent; every later call throws KernelDisposedError at once (a disposed pool would otherwise wait on workers that are gone). */
  dispose(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.disposed = true;
    return this.driver.dispose();
  }

  private live(call: string): void {
    if (this.disposed) throw new KernelDisposedError(this.name, call);
  }

  /** X's tokens quantized into the scratch buffers, by the driver when it can (X's length is checked by the caller). */
  private quantize(
    X: Float32Array,
    nTokens: number,
    cols: number,
    qStride: number,
    glue: GemmGlue | undefined,
  ): TokenBatch {
    const scratch = this.growScratch(nTokens, qStride);
    if (gluesInput(glue) && this.driver.quantizeGlued) {
      const batch = this.batch(scratch, nTokens, qStride);
      if (this.driver.quantizeGlued(X, cols, batch, glue)) return batch;
    }
    const input = this.input(X, nTokens, cols, glue);
    if (!this.driver.quantizeTokens) return quantizeTokens(input, nTokens, cols, qStride, scratch);
    const batch = this.batch(scratch, nTokens, qStride);
    this.driver.quantizeTokens(input, cols, batch);
    return batch;
  }

  /** Views of the scratch buffers for nTokens tokens of qStride. */
  private batch(scratch: TokenScratch, nTokens: number, qStride: number): TokenBatch {
    return {
      nTokens,
      qStride,
      q: scratch.q.subarray(0, nTokens * qStride),
      prefix: scratch.prefix.subarray(0, nTokens * (qStride + 1)),
      actScales: scratch.actScales.subarray(0, nTokens),
    };
  }

  private growScratch(nTokens: number, qStride: number): TokenScratch {
    const s = this.scratch;
    if (s.q.length < nTokens * qStride || s.prefix.length < nTokens * (qStride + 1) || s.actScales.length < nTokens) {
      this.scratch = {
        q: new Int8Array(nTokens * qStride),
        prefix: new Int32Array(nTokens * (qStride + 1)),
        actScales: new Float32Array(nTokens),
      };
    }
    return this.scratch;
  }

  private own(matrix: PreparedMatrix): PreparedTernary | PreparedDense {
    const m = matrix as PreparedTernary | PreparedDense;
    if (m[OWNER] !== this) {
      throw new KernelShapeError('matrix', `one prepared by this ${this.name} kernel`, 'a matrix from another kernel');
    }
    return m;
  }
}
