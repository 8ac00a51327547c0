import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeModel } from '@trit/convert';
import { argmax, cosine } from '@trit/testkit';
import { type BitnetCheckpointLayout, CHECKPOINT_SHAPE, writeBitnetCheckpoint } from '@trit/testkit/bitnet-checkpoints';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitNetBackend } from './backend.js';

/*
 * Hugging Face BitNet checkpoints in each published layout (docs/formats.md
 * §Hugging Face BitNet checkpoints), converted by @trit/convert, must run as
 * the float model of the same ternary weights: W = codes × gamma written as
 * F32. @trit/testkit/bitnet-checkpoints writes both with its own packer; the exact
 * codes and scales in the GGUF are checked in packages/convert/src/checkpoints.test.ts.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-hf-bitnet-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const { vocab: V } = CHECKPOINT_SHAPE;

const TOKENS = [3, 250, 17, 42, 8, 99, 120, 5];

async function logitsOf(path: string): Promise<Float32Array> {
  const backend = await BitNetBackend.load(path, { contextSize: 16 });
  try {
    return Float32Array.from(backend.evaluate(TOKENS, { logits: 'all' }));
  } finally {
    await backend.dispose();
  }
}

const CASES: [BitnetCheckpointLayout, readonly ('tq2_0' | 'tq1_0' | 'i2_s')[]][] = [
  ['packed-bitlinear', ['tq2_0', 'tq1_0', 'i2_s']],
  ['llama-bitlinear', ['tq2_0']],
  ['packed-autobitlinear', ['tq2_0', 'tq1_0']],
  ['codes-autobitlinear', ['tq2_0']],
  ['master', ['tq2_0', 'i2_s']],
  ['onebit', ['tq1_0', 'i2_s']],
  ['online-autobitlinear', ['tq2_0']],
];

const results: string[] = [];

describe('converted BitNet checkpoints run as the float model of their ternary weights', () => {
  afterAll(() => {
    if (results.length) console.log(`converted checkpoints against their float reference\n${results.join('\n')}`);
  });
  for (const [layout, formats] of CASES) {
    it(`${layout} → ${formats.join(', ')}: cosine ≥ 0.999 per position and the same top-1`, async () => {
      const { path, reference } = await writeBitnetCheckpoint(dir, layout, layout, { reference: true });
      if (!reference) throw new Error('no reference written');
      const referenceGguf = join(dir, `${layout}-reference.gguf`);
      await quantizeModel(reference, referenceGguf, { floatOnly: 'f32' });
      const want = await logitsOf(referenceGguf);
      for (const format of formats) {
        const gguf = join(dir, `${layout}-${format}.gguf`);
        // Head and embeddings as the reference stores them, so the comparison measures the ternary codes
        // alone (the K-quant defaults are measured in k-quant-heads.llama-cpp.test.ts).
        await quantizeModel(path, gguf, { format, outputType: 'f32', embeddingType: 'f32' });
        const got = await logitsOf(gguf);
        let least = 1;
        for (let t = 0; t < TOKENS.length; t++) {
          const a = got.subarray(t * V, (t + 1) * V);
          const b = want.subarray(t * V, (t + 1) * V);
          least = Math.min(least, cosine(a, b));
          expect(cosine(a, b), `${format} position ${t}`).toBeGreaterThanOrEqual(0.999);
          expect(argmax(a), `${format} top-1 at position ${t}`).toBe(argmax(b));
        }
        results.push(
          `  ${layout.padEnd(20)} ${format.padEnd(5)} min cosine ${least.toFixed(6)}, top-1 ${TOKENS.length}/${TOKENS.length}`,
        );
      }
    }, 120_000);
  }

  it('tells codes apart: per-block absmean with the scale search on master weights is another model', async () => {
    // The control that shows the comparison can fail (measured: cosine 0.71–0.78; 0.975–0.984 without the search).
    const { path, reference } = await writeBitnetCheckpoint(dir, 'master-control', 'master', { reference: true });
    const referenceGguf = join(dir, 'master-control-reference.gguf');
    await quantizeModel(reference as string, referenceGguf, { floatOnly: 'f32' });
    const want = await logitsOf(referenceGguf);
    const gguf = join(dir, 'master-control-block.gguf');
    await quantizeModel(path, gguf, { format: 'tq2_0', scales: 'block', outputType: 'f32' });
    const got = await logitsOf(gguf);
    const worst = Math.min(
      ...TOKENS.map((_, t) => cosine(got.subarray(t * V, (t + 1) * V), want.subarray(t * V, (t + 1) * V))),
    );
    expect(worst).toBeLessThan(0.99);
  }, 120_000);
});
