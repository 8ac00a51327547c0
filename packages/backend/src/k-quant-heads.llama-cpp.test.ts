/**
 * Parity with llama.cpp (node-llama-cpp's bundled binaries) on files whose output
 * head is a K-quant, as llama-quantize leaves real GGUFs: `trit synth` makes a tiny
 * model, `trit quantize` writes it with the head (or, for the tied bitnet model, the
 * token embedding that serves as head) in Q6_K or Q4_K. Both runtimes read the same
 * file and tokens, teacher-forced. Our kernels round the head's input to Q8_K blocks
 * as llama.cpp does for K-quant weights (docs/formats.md §vec_dot_type); the bars are
 * llama-cpp.test.ts's dense ones (below). Skips only where node-llama-cpp cannot run.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeModel } from '@trit/convert';
import { readGguf } from '@trit/gguf';
import { synthesizeModel } from '@trit/synth';
import { createRng, sameFloat32 } from '@trit/testkit';
import { compareDistributions, disposeLlamaCpp, llamaCppDistributions, loadLlamaCpp } from '@trit/testkit/llama-cpp';
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
if (unavailable) console.warn(`skipping llama.cpp K-quant head parity: ${unavailable}`);

const POSITIONS = PARITY_POSITIONS;
const KERNELS = PARITY_KERNELS;
const CONTEXT_SIZE = PARITY_CONTEXT_SIZE;
const FLOAT = FLOAT_BAR;
const Q8 = Q8_BAR;
const QUANTIZED = QUANTIZED_BAR;

/*
 * Q6_K heads meet the float bar. Q4_K heads meet it in cosine but, like Q8_0, not always
 * in top-1: the head's input is rounded to Q8_K and both runtimes then sum in a different
 * float order, so near-ties on this random model flip (measured, llama: Q6_K 99.2% /
 * 0.99998, Q4_K 98.7% / 0.99998; bitnet: 99.7% / 0.99999, 99.5% / 0.99998; llama TQ2_0
 * with a Q6_K head 95.6% / 0.99817, and with Q4_K embeddings too 97.1% / 0.99840, within the ternary bar).
 */
const CASES = [
  { arch: 'llama', body: 'f16', head: 'q6_k', headTensor: 'output.weight', bar: FLOAT },
  { arch: 'llama', body: 'f16', head: 'q4_k', headTensor: 'output.weight', bar: Q8 },
  { arch: 'bitnet', body: 'f16', head: 'q6_k', headTensor: 'token_embd.weight', bar: FLOAT },
  { arch: 'bitnet', body: 'f16', head: 'q4_k', headTensor: 'token_embd.weight', bar: Q8 },
  // What real files hold: ternary projections and a Q6_K head.
  { arch: 'llama', body: 'tq2_0', head: 'q6_k', headTensor: 'output.weight', bar: QUANTIZED },
  // trit quantize's defaults, llama-quantize's: a Q6_K head and Q4_K token embeddings.
  { arch: 'llama', body: 'tq2_0', head: 'default', headTensor: 'output.weight', bar: QUANTIZED },
] as const;

const results: string[] = [];

describe.skipIf(unavailable !== undefined)('K-quant heads agree with llama.cpp', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trit-kquant-parity-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    if (results.length)
      console.log(`llama.cpp K-quant head parity (${POSITIONS} positions each)\n${results.join('\n')}`);
  });

  for (const { arch, body, head, headTensor, bar } of CASES) {
    const what =
      head === 'default'
        ? "llama-quantize's default types (Q6_K head, Q4_K embeddings)"
        : `a ${head.toUpperCase()} head`;
    it(`${arch} ${body.toUpperCase()} with ${what}: top-1 ≥ ${bar.top1 * 100}%, mean cosine ≥ ${bar.cosine}, on every kernel`, async () => {
      if (!llama) return;
      const hf = join(dir, arch);
      if (!existsSync(hf)) await synthesizeModel({ arch, preset: 'tiny', seed: 3, output: hf });
      const path = join(dir, `${arch}-${body}-${head}.gguf`);
      await quantizeModel(
        hf,
        path,
        head === 'default'
          ? { format: body }
          : body === 'tq2_0'
            ? { format: body, outputType: head, embeddingType: 'f16' }
            : { floatOnly: body, outputType: head },
      );
      const file = await readGguf(path);
      if (head === 'default') {
        expect(file.tensor('output.weight').typeName).toBe('Q6_K');
        expect(file.tensor('token_embd.weight').typeName).toBe('Q4_K');
      } else expect(file.tensor(headTensor).typeName).toBe(head.toUpperCase());

      const rng = createRng(11);
      const tokens = Array.from({ length: POSITIONS }, () => rng.nextInt(500));
      const theirs = await llamaCppDistributions(llama, path, tokens, { contextSize: CONTEXT_SIZE });

      let first: Float32Array | undefined;
      for (const backend of KERNELS) {
        // SiLU for bitnet: llama.cpp's bitnet graph hard-codes it (see llama-cpp.test.ts).
        const ours = await BitNetBackend.load(path, {
          backend,
          threads: 1,
          contextSize: CONTEXT_SIZE,
          activation: 'silu',
          kvCacheType: 'f32', // llamaCppDistributions' cache
        });
        const V = ours.vocabSize;
        const logits = ours.evaluate(tokens, { logits: 'all' });
        await ours.dispose();
        first ??= logits;
        expect(sameFloat32(logits, first), `${backend} logits equal the ${KERNELS[0]} kernel's`).toBe(true);
        const { top1Agreement: top1, meanCosine: cosine, minCosine } = compareDistributions(logits, V, theirs);
        results.push(
          `  ${arch.padEnd(6)} ${body.padEnd(5)} ${head.padEnd(4)} ${backend.padEnd(6)} top-1 ${(top1 * 100).toFixed(1)}%  cosine mean ${cosine.toFixed(5)} min ${minCosine.toFixed(5)}`,
        );
        expect(top1, backend).toBeGreaterThanOrEqual(bar.top1);
        expect(cosine, backend).toBeGreaterThanOrEqual(bar.cosine);
      }
    }, 180_000);
  }
});
