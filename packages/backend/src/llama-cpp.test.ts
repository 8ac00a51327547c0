/**
 * Parity with llama.cpp (the binaries bundled in node-llama-cpp): `trit synth`
 * makes a tiny Hugging Face model of each architecture, `trit quantize` turns
 * it into each GGUF type, and both runtimes read the same file and the same
 * tokens, teacher-forced; the next-token distributions at every position must
 * agree. llama.cpp's bitnet graph hard-codes SiLU (it ignores
 * bitnet.hidden_activation), so our side runs the bitnet models with SiLU
 * here; relu² is checked against a float64 reference in backend.test.ts.
 * The test skips only where node-llama-cpp cannot run; on linux-x64 it must.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeModel } from '@trit/convert';
import { synthesizeModel } from '@trit/synth';
import { createRng, sameFloat32 } from '@trit/testkit';
import {
  compareDistributions,
  disposeLlamaCpp,
  LIKE_TRIT_CONTEXT,
  llamaCppDistributions,
  loadLlamaCpp,
} from '@trit/testkit/llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitNetBackend } from './backend.js';
import {
  FLOAT_BAR,
  PARITY_CONTEXT_SIZE,
  PARITY_KERNELS,
  PARITY_POSITIONS,
  Q8_BAR,
  QUANTIZED_BAR,
} from './parity-bars.js';

const { llama, unavailable } = await loadLlamaCpp();
afterAll(() => disposeLlamaCpp(llama));
if (unavailable) console.warn(`skipping llama.cpp parity: ${unavailable}`);

const POSITIONS = PARITY_POSITIONS;
const GREEDY = 32;
const KERNELS = PARITY_KERNELS;
const CONTEXT_SIZE = PARITY_CONTEXT_SIZE;
const FLOAT = FLOAT_BAR;
const QUANTIZED = QUANTIZED_BAR;
/**
 * Q8_0 has no required bar. Both runtimes quantize activations to Q8_0
 * blocks for it (we emulate llama.cpp's vec_dot_type, docs/formats.md §vec_dot_type; that cuts the
 * divergence 2–5×), yet near-ties flip (measured: 97.1% / 0.99896 llama, 98.2% / 0.99940 bitnet).
 */
const Q8 = Q8_BAR;
/** Every type with an f32 KV cache on both sides; F16 and TQ2_0 also with both runtimes' default f16 cache. */
const CASES = (['llama', 'bitnet'] as const).flatMap((arch) =>
  (['F32', 'F16', 'Q8_0', 'TQ2_0', 'TQ1_0'] as const).flatMap((type) =>
    (type === 'F16' || type === 'TQ2_0' ? (['f32', 'f16'] as const) : (['f32'] as const)).map((kv) => ({
      arch,
      type,
      kv,
      bar: type === 'F32' || type === 'F16' ? FLOAT : type === 'Q8_0' ? Q8 : QUANTIZED,
    })),
  ),
);

const results: string[] = [];

/** Our side of every comparison: one thread, SiLU (see the top of this file). */
const loadOurs = (path: string, backend: (typeof KERNELS)[number], kvCacheType: 'f32' | 'f16' = 'f32') =>
  BitNetBackend.load(path, { backend, threads: 1, contextSize: CONTEXT_SIZE, activation: 'silu', kvCacheType });

describe.skipIf(unavailable !== undefined)('BitNetBackend agrees with llama.cpp token for token', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trit-parity-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    if (results.length) console.log(`llama.cpp parity (${POSITIONS} positions each)\n${results.join('\n')}`);
  });

  /** Synthesizes (once per architecture) and converts the tiny model; returns the GGUF path. */
  async function modelFile(arch: 'llama' | 'bitnet', type: (typeof CASES)[number]['type']): Promise<string> {
    const hf = join(dir, arch);
    if (!existsSync(hf)) await synthesizeModel({ arch, preset: 'tiny', seed: 3, output: hf });
    const path = join(dir, `${arch}-${type}.gguf`);
    if (existsSync(path)) return path;
    const float = type === 'F32' || type === 'F16' || type === 'Q8_0';
    await quantizeModel(
      hf,
      path,
      float
        ? { floatOnly: type.toLowerCase() as 'f32' | 'f16' | 'q8_0' }
        : { format: type.toLowerCase() as 'tq2_0' | 'tq1_0' },
    );
    return path;
  }

  for (const { arch, type, kv, bar } of CASES) {
    it(`${arch} ${type}, ${kv} KV cache: top-1 ≥ ${bar.top1 * 100}%, mean cosine ≥ ${bar.cosine}, on every kernel`, async () => {
      if (!llama) return;
      const path = await modelFile(arch, type);
      const rng = createRng(11);
      const tokens = Array.from({ length: POSITIONS }, () => rng.nextInt(500));

      const theirs = await llamaCppDistributions(llama, path, tokens, {
        contextSize: CONTEXT_SIZE,
        kvCache: kv === 'f16' ? 'F16' : 'F32',
      });

      let first: Float32Array | undefined;
      for (const backend of KERNELS) {
        const ours = await loadOurs(path, backend, kv);
        const V = ours.vocabSize;
        const logits = ours.evaluate(tokens, { logits: 'all' });
        await ours.dispose();
        // The kernels promise bit-identical results, so one comparison stands for all three; check that it holds.
        first ??= logits;
        expect(sameFloat32(logits, first), `${backend} logits equal the ${KERNELS[0]} kernel's`).toBe(true);

        const { top1Agreement: top1, meanCosine: cosine, minCosine } = compareDistributions(logits, V, theirs);
        results.push(
          `  ${arch.padEnd(6)} ${type.padEnd(5)} ${kv} ${backend.padEnd(6)} top-1 ${(top1 * 100).toFixed(1)}%  cosine mean ${cosine.toFixed(5)} min ${minCosine.toFixed(5)}`,
        );
        expect(top1, backend).toBeGreaterThanOrEqual(bar.top1);
        expect(cosine, backend).toBeGreaterThanOrEqual(bar.cosine);
      }
    }, 180_000);
  }

  for (const arch of ['llama', 'bitnet'] as const) {
    it(`${arch} F32: greedy generation of ${GREEDY} tokens is the same as llama.cpp's, on every kernel`, async () => {
      if (!llama) return;
      const path = await modelFile(arch, 'F32');
      const prompt = [1, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100];

      const model = await llama.loadModel({ modelPath: path });
      const context = await model.createContext({ contextSize: CONTEXT_SIZE, ...LIKE_TRIT_CONTEXT });
      const theirs: number[] = [];
      for await (const token of context.getSequence().evaluate(prompt as never, { temperature: 0 })) {
        theirs.push(token as number);
        if (theirs.length === GREEDY) break;
      }
      await context.dispose();
      await model.dispose();

      for (const backend of KERNELS) {
        const ours = await loadOurs(path, backend);
        const ids: number[] = [];
        for await (const t of ours.generate(prompt, { maxTokens: GREEDY, temperature: 0 }))
          if (t.id >= 0) ids.push(t.id);
        const eos = ours.tokenizer?.specialTokens.eos;
        await ours.dispose();
        // Ours stops at end-of-sequence; llama.cpp's raw evaluate does not, so it must have produced EOS there.
        expect(ids, backend).toEqual(theirs.slice(0, ids.length));
        if (ids.length < GREEDY) expect(theirs[ids.length], `${backend}: EOS where ours stopped`).toBe(eos);
      }
    }, 180_000);
  }
});
