import { join } from 'node:path';
import { disposeLlamaCpp, loadLlamaCpp } from '@trit/testkit/llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { readGguf } from './reader.js';
import { tinySpmVocab, withTempDir, writeTinyLlama } from './test-support.js';
import { validateGguf } from './validate.js';

/**
 * llama.cpp (through node-llama-cpp's bundled binaries) is the independent
 * judge of whether our files load. The test is skipped only where those
 * binaries cannot run; on linux-x64 (CI) it must run.
 */
const { llama, unavailable } = await loadLlamaCpp();
afterAll(() => disposeLlamaCpp(llama));
if (unavailable) console.warn(`skipping llama.cpp interop tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('llama.cpp loads what we write', () => {
  it('loads and runs a llama model with F32, F16, Q8_0, TQ1_0 and TQ2_0 tensors', async () => {
    if (!llama) return;
    await withTempDir(async (dir) => {
      const path = join(dir, 'tiny-llama.gguf');
      await writeTinyLlama(path);
      const ours = await readGguf(path);
      expect(new Set(ours.tensors.map((t) => t.typeName))).toEqual(new Set(['F32', 'F16', 'Q8_0', 'TQ1_0', 'TQ2_0']));
      const validation = await validateGguf(path, { checkTensorData: true });
      expect(validation.errors).toEqual([]);

      const model = await llama.loadModel({ modelPath: path });
      try {
        expect(model.fileInfo.tensorInfo?.length).toBe(ours.tensors.length);
        // The vocabulary made it across: llama.cpp detokenizes our pieces back.
        const vocab = tinySpmVocab();
        const the = vocab.tokens.indexOf('▁the');
        expect(model.detokenize([the as never])).toContain('the');
        const context = await model.createContext({ contextSize: 64 });
        try {
          const sequence = context.getSequence();
          const tokens = model.tokenize('the tea in a hat');
          expect(tokens.length).toBeGreaterThan(1);
          const results = await sequence.controlledEvaluate(
            tokens.map((token, i) =>
              i === tokens.length - 1 ? [token, { generateNext: { probabilities: true } }] : token,
            ),
          );
          const probabilities = results[tokens.length - 1]?.next?.probabilities;
          expect(probabilities?.size).toBe(vocab.tokens.length);
          const total = [...(probabilities?.values() ?? [])].reduce((a, b) => a + b, 0);
          expect(total).toBeCloseTo(1, 3);
        } finally {
          await context.dispose();
        }
      } finally {
        await model.dispose();
      }
    });
  }, 60_000);
});
