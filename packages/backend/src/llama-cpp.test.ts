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
import { quantizeModel } from '@trit/quantizer';
import { createRng } from '@trit/testkit';
import { disposeLlamaCpp, loadLlamaCpp } from '@trit/testkit/llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitNetBackend } from './backend.js';
import { synthesizeModel } from './synth.js';

const { llama, unavailable } = await loadLlamaCpp();
afterAll(() => disposeLlamaCpp(llama));
if (unavailable) console.warn(`skipping llama.cpp parity: ${unavailable}`);

const POSITIONS = 128;
/** The bars for float and ternary types. */
const FLOAT = { top1: 0.99, cosine: 0.999 };
const QUANTIZED = { top1: 0.95, cosine: 0.99 };
/**
 * Q8_0 has no bar in the issue. Both runtimes quantize activations to Q8_0
 * blocks for it (we emulate llama.cpp's vec_dot_type; that cuts the
 * divergence 2–5×), but an input differing in its last bit can round to the
 * next quantum, so near-ties in the top-1 flip more often than for F16.
 */
const Q8 = { top1: 0.9, cosine: 0.999 };
const CASES = (['llama', 'bitnet'] as const).flatMap((arch) =>
  (['F32', 'F16', 'Q8_0', 'TQ2_0', 'TQ1_0'] as const).map((type) => ({
    arch,
    type,
    bar: type === 'F32' || type === 'F16' ? FLOAT : type === 'Q8_0' ? Q8 : QUANTIZED,
  })),
);

function softmax(logits: Float32Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of logits) max = Math.max(max, v);
  const p = Float64Array.from(logits, (v) => Math.exp(v - max));
  const sum = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / sum);
}

function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return best;
}

const results: string[] = [];

describe.skipIf(unavailable !== undefined)('BitNetBackend agrees with llama.cpp token for token', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trit-parity-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    if (results.length) console.log(`llama.cpp parity (${POSITIONS} positions each)\n${results.join('\n')}`);
  });

  for (const { arch, type, bar } of CASES) {
    it(`${arch} ${type}: top-1 ≥ ${bar.top1 * 100}%, mean cosine ≥ ${bar.cosine}`, async () => {
      if (!llama) return;
      const hf = join(dir, arch);
      if (!existsSync(hf)) await synthesizeModel({ arch, preset: 'tiny', seed: 3, output: hf });
      const path = join(dir, `${arch}-${type}.gguf`);
      const float = type === 'F32' || type === 'F16' || type === 'Q8_0';
      await quantizeModel(
        hf,
        path,
        float
          ? { floatOnly: type.toLowerCase() as 'f32' | 'f16' | 'q8_0' }
          : { format: type.toLowerCase() as 'tq2_0' | 'tq1_0' },
      );
      const rng = createRng(11);
      const tokens = Array.from({ length: POSITIONS }, () => rng.nextInt(500));
      expect(POSITIONS).toBeLessThanOrEqual(128);

      const ours = await BitNetBackend.load(path, { contextSize: 256, activation: 'silu' });
      const V = ours.vocabSize;
      const logits = ours.evaluate(tokens, { logits: 'all' });
      await ours.dispose();

      const model = await llama.loadModel({ modelPath: path });
      const context = await model.createContext({ contextSize: 256 });
      const evaluated = await context
        .getSequence()
        .controlledEvaluate(
          tokens.map((t) => [
            t as never,
            { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } },
          ]),
        );
      await context.dispose();
      await model.dispose();

      let agree = 0;
      let cosineSum = 0;
      let cosineMin = 1;
      for (let t = 0; t < POSITIONS; t++) {
        const mine = softmax(logits.subarray(t * V, (t + 1) * V));
        const theirs = new Float64Array(V);
        const probabilities = evaluated[t]?.next?.probabilities;
        expect(probabilities?.size).toBe(V);
        for (const [id, p] of probabilities ?? []) theirs[id as number] = p;
        let dot = 0;
        let a = 0;
        let b = 0;
        for (let i = 0; i < V; i++) {
          dot += mine[i] * theirs[i];
          a += mine[i] * mine[i];
          b += theirs[i] * theirs[i];
        }
        const cosine = dot / Math.sqrt(a * b);
        cosineSum += cosine;
        cosineMin = Math.min(cosineMin, cosine);
        if (argmax(mine) === argmax(theirs)) agree++;
      }
      const top1 = agree / POSITIONS;
      const cosine = cosineSum / POSITIONS;
      results.push(
        `  ${arch.padEnd(6)} ${type.padEnd(5)} top-1 ${(top1 * 100).toFixed(1)}%  cosine mean ${cosine.toFixed(5)} min ${cosineMin.toFixed(5)}`,
      );
      expect(top1).toBeGreaterThanOrEqual(bar.top1);
      expect(cosine).toBeGreaterThanOrEqual(bar.cosine);
    }, 120_000);
  }
});
