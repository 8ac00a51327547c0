import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGguf } from '@trit/gguf';
import { cosine, sameFloat32 } from '@trit/testkit';
import { loadKernel } from '@trit/tl1-kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitNetBackend } from './backend.js';
import { BackendUsageError, ContextOverflowError, ModelLoadError } from './errors.js';
import { PROFILE_STAGES } from './profile.js';
import { argmax } from './sampling.js';
import { writeTestModel } from './test-models.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-backend-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface ReferenceModel {
  arch: string;
  E: number;
  L: number;
  H: number;
  Hkv: number;
  eps: number;
  base: number;
  act: string;
  /** `normal` rotates pairs (2i, 2i+1) as llama.cpp's llama; `neox` halves, as HF checkpoints and bitnet. */
  rope: 'normal' | 'neox';
  weight(ggufName: string): Promise<Float64Array>;
  has(ggufName: string): boolean;
}

async function ggufReference(path: string): Promise<ReferenceModel> {
  const file = await readGguf(path);
  const arch = file.architecture as string;
  const m = file.metadata;
  return {
    arch,
    E: m.getU32(`${arch}.embedding_length`),
    L: m.getU32(`${arch}.block_count`),
    H: m.getU32(`${arch}.attention.head_count`),
    Hkv: m.getU32(`${arch}.attention.head_count_kv`),
    eps: m.getF32(`${arch}.attention.layer_norm_rms_epsilon`),
    base: m.getF32(`${arch}.rope.freq_base`),
    act: m.getString(`${arch}.hidden_activation`, 'silu'),
    rope: arch === 'llama' ? 'normal' : 'neox',
    weight: async (name) => Float64Array.from(await file.dequantizeTensor(name)),
    has: (name) => file.hasTensor(name),
  };
}

/** The Hugging Face checkpoint itself: HF names, unpermuted Q/K, rotate-half RoPE (transformers' semantics). */
async function hfReference(dir: string): Promise<ReferenceModel> {
  const { readFile } = await import('node:fs/promises');
  const { openSafetensorsModel } = await import('@trit/safetensors');
  const { ggufTensorName } = await import('@trit/convert');
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  const model = await openSafetensorsModel(dir);
  const byGguf = new Map(model.tensors.map((t) => [ggufTensorName(t.name) as string, t.name]));
  return {
    arch: config.model_type,
    E: config.hidden_size,
    L: config.num_hidden_layers,
    H: config.num_attention_heads,
    Hkv: config.num_key_value_heads,
    eps: config.rms_norm_eps,
    base: config.rope_theta,
    act: config.hidden_act,
    rope: 'neox',
    weight: async (name) => Float64Array.from(await model.readTensorFloat32(byGguf.get(name) as string)),
    has: (name) => byGguf.has(name),
  };
}

/** The forward pass in plain float64 from the equations (docs/formats.md §llama, §bitnet), for one sequence. */
async function referenceLogits(model: ReferenceModel, tokens: number[]): Promise<Float64Array[]> {
  const { arch, E, L, H, Hkv, eps, base, act } = model;
  const hd = E / H;
  const w = (name: string) => model.weight(name);
  const matvec = (W: Float64Array, x: Float64Array, r: number) =>
    Float64Array.from({ length: r }, (_, i) => x.reduce((s, v, j) => s + W[i * x.length + j] * v, 0));
  const norm = (x: Float64Array, g: Float64Array) => {
    const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + eps);
    return x.map((v, i) => (v / rms) * g[i]);
  };
  const rope = (x: Float64Array, heads: number, pos: number) => {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < hd / 2; i++) {
        const theta = pos * base ** ((-2 * i) / hd);
        const [a, b] =
          model.rope === 'normal' ? [h * hd + 2 * i, h * hd + 2 * i + 1] : [h * hd + i, h * hd + i + hd / 2];
        const [x0, x1] = [x[a], x[b]];
        x[a] = x0 * Math.cos(theta) - x1 * Math.sin(theta);
        x[b] = x0 * Math.sin(theta) + x1 * Math.cos(theta);
      }
    }
  };
  const embd = await w('token_embd.weight');
  const outNorm = await w('output_norm.weight');
  const head = model.has('output.weight') && arch === 'llama' ? await w('output.weight') : embd;
  interface RefLayer {
    an: Float64Array;
    fn: Float64Array;
    asn?: Float64Array;
    fsn?: Float64Array;
    q: Float64Array;
    k: Float64Array;
    v: Float64Array;
    o: Float64Array;
    g: Float64Array;
    u: Float64Array;
    d: Float64Array;
    F: number;
    K: Float64Array[];
    V: Float64Array[];
  }
  const layers: RefLayer[] = [];
  for (let l = 0; l < L; l++) {
    const b = `blk.${l}.`;
    layers.push({
      an: await w(`${b}attn_norm.weight`),
      fn: await w(`${b}ffn_norm.weight`),
      asn: arch === 'bitnet' ? await w(`${b}attn_sub_norm.weight`) : undefined,
      fsn: arch === 'bitnet' ? await w(`${b}ffn_sub_norm.weight`) : undefined,
      q: await w(`${b}attn_q.weight`),
      k: await w(`${b}attn_k.weight`),
      v: await w(`${b}attn_v.weight`),
      o: await w(`${b}attn_output.weight`),
      g: await w(`${b}ffn_gate.weight`),
      u: await w(`${b}ffn_up.weight`),
      d: await w(`${b}ffn_down.weight`),
      F: 0,
      K: [] as Float64Array[],
      V: [] as Float64Array[],
    });
  }
  for (const ly of layers) ly.F = ly.g.length / E;
  const out: Float64Array[] = [];
  tokens.forEach((token, pos) => {
    let x = embd.slice(token * E, (token + 1) * E);
    for (const ly of layers) {
      const h = norm(x, ly.an);
      const q = matvec(ly.q, h, E);
      const k = matvec(ly.k, h, Hkv * hd);
      const v = matvec(ly.v, h, Hkv * hd);
      rope(q, H, pos);
      rope(k, Hkv, pos);
      ly.K.push(k);
      ly.V.push(v);
      let att = new Float64Array(E);
      for (let hh = 0; hh < H; hh++) {
        const kv = Math.floor(hh / (H / Hkv)) * hd;
        const s = ly.K.map(
          (kk) => kk.slice(kv, kv + hd).reduce((acc, val, i) => acc + val * q[hh * hd + i], 0) / Math.sqrt(hd),
        );
        const mx = Math.max(...s);
        const e = s.map((z) => Math.exp(z - mx));
        const z = e.reduce((a, c) => a + c, 0);
        for (let p = 0; p < e.length; p++)
          for (let i = 0; i < hd; i++) att[hh * hd + i] += (e[p] / z) * ly.V[p][kv + i];
      }
      if (ly.asn) att = norm(att, ly.asn);
      x = x.map((val, i) => val + matvec(ly.o, att, E)[i]);
      const h2 = norm(x, ly.fn);
      const g = matvec(ly.g, h2, ly.F);
      const u = matvec(ly.u, h2, ly.F);
      let a = g.map((gv, i) => (act === 'relu2' ? Math.max(gv, 0) ** 2 : gv / (1 + Math.exp(-gv))) * u[i]);
      if (ly.fsn) a = norm(a, ly.fsn);
      const down = matvec(ly.d, a, E);
      x = x.map((val, i) => val + down[i]);
    }
    out.push(matvec(head, norm(x, outNorm), head.length / E));
  });
  return out;
}

describe('BitNetBackend forward pass', () => {
  it('matches a plain float64 reference for llama and for bitnet with relu² (which llama.cpp cannot run)', async () => {
    for (const [arch, activation] of [
      ['llama', undefined],
      ['bitnet', 'relu2'],
      ['bitnet', undefined],
    ] as const) {
      const path = join(dir, `ref-${arch}-${activation}.gguf`);
      await writeTestModel(path, { arch, type: 'F32', embd: 64, ff: 128, heads: 4, kvHeads: 2, layers: 2, activation });
      const backend = await BitNetBackend.load(path, { contextSize: 16, backend: 'js' });
      expect(backend.config.activation).toBe(activation ?? 'silu');
      const tokens = [5, 300, 17, 42, 8, 99];
      const logits = backend.evaluate(tokens, { logits: 'all' });
      const reference = await referenceLogits(await ggufReference(path), tokens);
      reference.forEach((ref, t) => {
        expect(
          cosine(logits.subarray(t * ref.length, (t + 1) * ref.length), ref),
          `${arch} ${activation} t=${t}`,
        ).toBeGreaterThan(0.99999);
      });
      await backend.dispose();
    }
  }, 60_000);

  it('runs a synthesized Hugging Face llama as transformers would (the converter undoes the rotate-half Q/K order)', async () => {
    const { synthesizeModel } = await import('@trit/synth');
    const { quantizeModel } = await import('@trit/convert');
    const hf = join(dir, 'hf-llama');
    await synthesizeModel({ arch: 'llama', preset: 'tiny', seed: 5, output: hf });
    const gguf = join(dir, 'hf-llama.gguf');
    await quantizeModel(hf, gguf, { floatOnly: 'f32' });
    const backend = await BitNetBackend.load(gguf, { contextSize: 16, backend: 'js' });
    const tokens = [300, 5, 17, 42, 480];
    const logits = backend.evaluate(tokens, { logits: 'all' });
    const reference = await referenceLogits(await hfReference(hf), tokens);
    reference.forEach((ref, t) => {
      expect(cosine(logits.subarray(t * ref.length, (t + 1) * ref.length), ref), `t=${t}`).toBeGreaterThan(0.99999);
    });
    await backend.dispose();
  }, 120_000);

  it('runs bitnet.cpp files (architecture bitnet-b1.58, I2_S weights) like the same model in TQ2_0', async () => {
    const { synthesizeModel } = await import('@trit/synth');
    const { quantizeModel } = await import('@trit/convert');
    const { exportBitnetModel } = await import('@trit/gguf');
    const { openSafetensorsModel } = await import('@trit/safetensors');
    const { TernaryTensor, packTernary } = await import('@trit/ternary');
    const hf = join(dir, 'hf-bitnet');
    await synthesizeModel({ arch: 'bitnet', preset: 'tiny', seed: 9, output: hf });
    const tq2 = join(dir, 'bitnet-tq2.gguf');
    // Block scales: their least-squares scale is the synthetic weights' own s, which the I2_S file below stores.
    await quantizeModel(hf, tq2, { format: 'tq2_0', scales: 'block' });
    const source = await readGguf(tq2);
    const weights = await openSafetensorsModel(hf);
    const { ggufTensorName } = await import('@trit/convert');
    const hfName = new Map(weights.tensors.map((t) => [ggufTensorName(t.name), t.name]));
    // bitnet.cpp's converter: one f32 scale per tensor (the synthetic weights are exactly ternary × s).
    const tensors = await Promise.all(
      source.tensors.map(async (t) => {
        if (t.typeName !== 'TQ2_0')
          return {
            name: t.name,
            type: t.typeName,
            shape: [...t.shape].reverse(),
            data: await source.readTensorData(t),
          };
        const w = await weights.readTensorFloat32(hfName.get(t.name) as string);
        const scale = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const [cols, rows] = t.shape as [number, number];
        const data = new TernaryTensor({
          packed: packTernary(Int8Array.from(w, Math.sign)),
          scales: Float32Array.of(scale),
          shape: [rows, cols],
          blockSize: rows * cols,
        });
        return { name: t.name, data };
      }),
    );
    const metadata: Record<string, unknown> = {};
    for (const [key, value] of source.metadata) {
      if (key.startsWith('trit.') || key === 'general.architecture') continue;
      metadata[key.startsWith('bitnet.') ? `bitnet-b1.58.${key.slice(7)}` : key] = value;
    }
    const i2s = join(dir, 'bitnet-i2s.gguf');
    await exportBitnetModel(i2s, {
      architecture: 'bitnet-b1.58',
      format: 'i2_s',
      metadata: metadata as never,
      tensors,
      order: 'given',
    });
    const file = await readGguf(i2s);
    expect(file.dialect).toBe('bitnet.cpp');
    expect(file.tensor('blk.0.attn_q.weight').typeName).toBe('I2_S');
    expect((await BitNetBackend.validateModel(i2s)).canLoad).toBe(true);

    const tokens = [1, 77, 300, 4, 250];
    const a = await BitNetBackend.load(tq2, { contextSize: 16 });
    const b = await BitNetBackend.load(i2s, { contextSize: 16 });
    expect(b.config).toMatchObject({ architecture: 'bitnet-b1.58', family: 'bitnet', activation: 'relu2' });
    const la = a.evaluate(tokens, { logits: 'all' });
    const lb = b.evaluate(tokens, { logits: 'all' });
    // Same codes; the scales differ only by TQ2_0's fp16 rounding.
    expect(cosine(la, lb)).toBeGreaterThan(0.9999);
    await a.dispose();
    await b.dispose();
  }, 120_000);

  it('gives the same logits from batched prefill, token by token, across batch sizes and on every kernel', async () => {
    const path = join(dir, 'consistency.gguf');
    await writeTestModel(path, { arch: 'bitnet', type: 'TQ2_0', layers: 2 });
    const tokens = [3, 40, 41, 300, 12, 77, 100, 5, 6, 7];
    const runs: Float32Array[] = [];
    for (const backend of ['js', 'wasm', 'native'] as const) {
      let kernel: Awaited<ReturnType<typeof loadKernel>>;
      try {
        kernel = await loadKernel({ implementation: backend, threads: 1 });
      } catch {
        continue; // a backend this platform lacks; the kernel package's own tests cover that
      }
      for (const batchSize of [1, 3, 64]) {
        const model = await BitNetBackend.load(path, { kernel, batchSize, contextSize: 32 });
        runs.push(Float32Array.from(model.evaluate(tokens)));
        model.resetCache();
        let last = new Float32Array(0);
        tokens.forEach((t, i) => {
          last = Float32Array.from(model.forwardToken(t, i));
        });
        runs.push(last);
      }
      await kernel.dispose();
    }
    expect(runs.length).toBeGreaterThanOrEqual(6);
    for (const r of runs) expect(r).toEqual(runs[0]);
  }, 60_000);

  it('profiles by stage without changing a bit: every stage counted, passes and tokens as run', async () => {
    const path = join(dir, 'profile.gguf');
    await writeTestModel(path, { arch: 'bitnet', type: 'TQ2_0', layers: 2 });
    const tokens = [3, 40, 41, 300, 12];
    const model = await BitNetBackend.load(path, { contextSize: 32, batchSize: 2 });
    try {
      expect(model.stopProfile()).toBeUndefined();
      const plain = Float32Array.from(model.evaluate(tokens));
      const plainNext = Float32Array.from(model.forwardToken(7));
      model.resetCache();
      model.startProfile();
      const started = performance.now();
      const profiled = Float32Array.from(model.evaluate(tokens));
      const profiledNext = Float32Array.from(model.forwardToken(7));
      const elapsed = performance.now() - started;
      const profile = model.stopProfile();
      expect(sameFloat32(profiled, plain) && sameFloat32(profiledNext, plainNext)).toBe(true);
      // Batches of 2 for 5 tokens (3 passes), then one decode step.
      expect(profile).toMatchObject({ passes: 4, tokens: 6 });
      expect(Object.keys(profile?.ms ?? {})).toEqual([...PROFILE_STAGES]);
      for (const stage of ['embed', 'qkv', 'attention', 'attn_output', 'gate+up', 'ffn_down', 'head'] as const)
        expect(profile?.ms[stage], stage).toBeGreaterThan(0);
      expect(profile?.ms.sampling).toBe(0); // the caller's: evaluate and forwardToken do not sample
      const total = Object.values(profile?.ms ?? {}).reduce((a, b) => a + b, 0);
      expect(total).toBeLessThanOrEqual(elapsed);
      expect(model.stopProfile()).toBeUndefined();
    } finally {
      await model.dispose();
    }
  });

  it('rewinds with forwardToken at an earlier position, and refuses to pass the context', async () => {
    const path = join(dir, 'ctx.gguf');
    await writeTestModel(path, { arch: 'llama', type: 'F16', embd: 64, ff: 128, heads: 2, kvHeads: 1, layers: 1 });
    const model = await BitNetBackend.load(path, { contextSize: 4, backend: 'js' });
    const a = Float32Array.from(model.evaluate([5, 6, 7]));
    model.forwardToken(9, 1);
    const b = Float32Array.from(model.forwardToken(7, 2));
    model.forwardToken(6, 1);
    expect(Float32Array.from(model.forwardToken(7, 2))).toEqual(a);
    expect(b).not.toEqual(a);
    model.forwardToken(8, 3);
    expect(() => model.forwardToken(9, 4)).toThrow(ContextOverflowError);
    expect(() => model.evaluate([1])).toThrow(ContextOverflowError);
    expect(() => model.forwardToken(1, 6)).toThrow(BackendUsageError);
    expect(() => model.forwardToken(100000, 0)).toThrow(/outside the vocabulary/);
    model.resetCache();
    expect(() => model.evaluate([1, 2, 3, 4, 5])).toThrow(/context overflow/);
    await model.dispose();
  });

  it('generates reproducibly with a seed, streams text, stops, and reports stats', async () => {
    const path = join(dir, 'gen.gguf');
    await writeTestModel(path, { arch: 'llama', type: 'F32', embd: 64, ff: 128, heads: 2, kvHeads: 1, layers: 1 });
    const model = await BitNetBackend.load(path, { contextSize: 64, backend: 'js' });
    const run = async (options: Parameters<BitNetBackend['generate']>[1]) => {
      const out: { id: number; text: string }[] = [];
      for await (const t of model.generate('▁ab ▁cd', options)) out.push(t);
      return out;
    };
    const first = await run({ maxTokens: 12, temperature: 0.9, seed: 7 });
    const again = await run({ maxTokens: 12, temperature: 0.9, seed: 7 });
    expect(again).toEqual(first);
    expect(model.lastStats.generatedTokens).toBe(first.filter((t) => t.id >= 0).length);
    expect(model.lastStats.promptTokens).toBeGreaterThan(1);
    expect(model.lastStats.decodeTokensPerSecond).toBeGreaterThan(0);
    const greedy = await run({ maxTokens: 8, temperature: 0 });
    const greedyAgain = await run({ maxTokens: 8, temperature: 0, seed: 123 });
    expect(greedyAgain).toEqual(greedy);
    const stopAt = first.find((t) => t.id >= 0)?.id as number;
    const stopped = await run({ maxTokens: 12, temperature: 0.9, seed: 7, stop: [stopAt] });
    expect(stopped).toEqual([]);
    expect(model.lastStats.finishReason).toBe('stop');
    await expect(run({ maxTokens: 2, temperature: -1 })).rejects.toThrow(/temperature/);
    await model.dispose();
  });

  it("decodes greedily with the kernel's argmax: once per sampled token, the token JS's argmax picks", async () => {
    const path = join(dir, 'greedy.gguf');
    await writeTestModel(path, { arch: 'bitnet', type: 'TQ2_0', layers: 1 });
    for (const implementation of ['js', 'wasm', 'native'] as const) {
      let kernel: Awaited<ReturnType<typeof loadKernel>>;
      try {
        kernel = await loadKernel({ implementation, threads: 1 });
      } catch {
        continue;
      }
      const picks: { logits: Float32Array; id: number }[] = [];
      const counted = Object.create(kernel) as typeof kernel;
      counted.argmax = (values: Float32Array, count?: number) => {
        const id = kernel.argmax(values, count);
        picks.push({ logits: Float32Array.from(values), id });
        return id;
      };
      const model = await BitNetBackend.load(path, { kernel: counted, contextSize: 32 });
      const ids: number[] = [];
      for await (const t of model.generate([3, 40, 41], { maxTokens: 6, temperature: 0, stop: [] })) ids.push(t.id);
      expect(picks.length, implementation).toBe(
        model.lastStats.generatedTokens + (model.lastStats.finishReason === 'eos' ? 1 : 0),
      );
      expect(picks.length).toBeGreaterThan(0);
      for (const p of picks) expect(p.id).toBe(argmax(p.logits));
      expect(ids.filter((id) => id >= 0)).toEqual(picks.slice(0, ids.filter((id) => id >= 0).length).map((p) => p.id));
      await model.dispose();
      await kernel.dispose();
    }
  }, 60_000);

  it('embeds text as the mean final hidden state', async () => {
    const path = join(dir, 'emb.gguf');
    await writeTestModel(path, { arch: 'llama', type: 'F32', embd: 64, ff: 128, heads: 2, kvHeads: 1, layers: 1 });
    // From bytes, as a browser would load it.
    const model = await BitNetBackend.load(new Blob([await readFile(path)]), { contextSize: 64, backend: 'js' });
    const a = model.getEmbeddings([5, 6, 7]);
    expect(a.length).toBe(64);
    expect(model.getEmbeddings([5, 6, 7])).toEqual(a);
    expect(model.position).toBe(0);
    await model.dispose();
  });
});

describe('loading checks every tensor first', () => {
  it('names a missing tensor, a wrong shape, an unsupported type and an unknown architecture', async () => {
    const { exportBitnetModel } = await import('@trit/gguf');
    const path = join(dir, 'bad.gguf');
    await exportBitnetModel(path, {
      architecture: 'llama',
      metadata: {
        'llama.embedding_length': 64,
        'llama.block_count': 1,
        'llama.feed_forward_length': 128,
        'llama.attention.head_count': 2,
        'llama.context_length': 16,
        'tokenizer.ggml.model': 'gpt2',
        'tokenizer.ggml.tokens': ['a', 'b', 'c'],
      },
      tensors: [
        { name: 'token_embd.weight', shape: [10, 64], data: new Float32Array(640) },
        { name: 'output_norm.weight', shape: [32], data: new Float32Array(32) },
        { name: 'blk.0.attn_q.weight', shape: [64, 64], type: 'Q4_1', data: new Uint8Array(64 * 2 * 20) },
      ],
    });
    const validation = await BitNetBackend.validateModel(path);
    expect(validation.canLoad).toBe(false);
    expect(validation.missing).toContain('blk.0.ffn_down.weight');
    expect(validation.problems.join('\n')).toMatch(
      /output_norm\.weight has shape \[32\], the architecture needs \[64\]/,
    );
    expect(validation.problems.join('\n')).toMatch(/attn_q\.weight has type Q4_1/);
    expect(validation.warnings).toEqual([
      'tokenizer.ggml.tokens has 3 entries but token_embd.weight has 10 rows: llama.cpp refuses the file (check_tensor_dims)',
    ]);
    await expect(BitNetBackend.load(path)).rejects.toThrow(ModelLoadError);
    const report = await BitNetBackend.discoverTensors(path);
    expect(report.totalTensors).toBe(3);

    const other = join(dir, 'gpt2.gguf');
    await exportBitnetModel(other, { architecture: 'gpt2', tensors: [] });
    await expect(BitNetBackend.load(other)).rejects.toThrow(/architecture "gpt2" is not supported/);
  });
});
