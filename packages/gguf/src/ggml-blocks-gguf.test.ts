import { join } from 'node:path';
import { gguf as hfGguf } from '@huggingface/gguf';
import { ggmlBlockCodec } from '@trit/ternary';
import { randomFloats } from '@trit/testkit';
import { disposeLlamaCpp, loadLlamaCpp } from '@trit/testkit/llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { ggmlTypeByName } from './ggml-types.js';
import { readGguf } from './reader.js';
import { withTempDir, writeTinyLlama } from './test-support.js';
import { validateGguf } from './validate.js';
import { GgufWriter } from './writer.js';

// The legacy and K-quant types through whole files: our writer and reader, a
// second parser (@huggingface/gguf), and llama.cpp itself.

const BLOCK_TYPES = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q4_K', 'Q5_K', 'Q6_K', 'Q8_K'] as const;

const { llama, unavailable } = await loadLlamaCpp();
afterAll(() => disposeLlamaCpp(llama));
if (unavailable) console.warn(`skipping llama.cpp K-quant tests: ${unavailable}`);

describe('GGUF files with legacy and K-quant tensors', () => {
  it('round-trip through GgufWriter and readGguf, and dequantize as the codecs do', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'blocks.gguf');
      const writer = await GgufWriter.create(path);
      writer.setMetadata('general.architecture', 'llama');
      writer.setMetadata('general.quantization_version', 2);
      const written = new Map<string, { bytes: Uint8Array; name: string }>();
      for (const [i, name] of BLOCK_TYPES.entries()) {
        const info = ggmlTypeByName(name);
        if (!info?.fromFloat) throw new Error(`${name} has no fromFloat`);
        const bytes = info.fromFloat(randomFloats(512 * 3, 40 + i, 'laplace', 0.05));
        const tensor = writer.addTensor(`t.${name}`, info.id, [512, 3]);
        expect(tensor.byteSize, name).toBe((512 * 3 * info.bytesPerBlock) / info.blockSize);
        written.set(name, { bytes, name: tensor.name });
      }
      for (const { bytes, name } of written.values()) await writer.writeTensorData(name, bytes);
      await writer.finish();

      const file = await readGguf(path);
      expect(file.tensors.map((t) => t.typeName)).toEqual([...BLOCK_TYPES]);
      for (const name of BLOCK_TYPES) {
        const { bytes } = written.get(name) as { bytes: Uint8Array };
        const tensor = file.tensors.find((t) => t.name === `t.${name}`);
        if (!tensor) throw new Error(`t.${name} missing`);
        expect(await file.readTensorData(tensor), name).toEqual(bytes);
        const codec = ggmlBlockCodec(name);
        if (!codec) throw new Error(`no codec ${name}`);
        const expected = new Float32Array(512 * 3);
        codec.decode(bytes, 0, expected, 0, expected.length / codec.blockElements);
        expect(await file.dequantizeTensor(tensor), name).toEqual(expected);
      }
      const validation = await validateGguf(path, { checkTensorData: true });
      expect(validation.errors).toEqual([]);

      const theirs = await hfGguf(path, { allowLocalFile: true });
      expect(
        theirs.tensorInfos.map((t) => ({
          name: t.name,
          shape: t.shape.map(Number),
          type: t.dtype,
          offset: Number(t.offset),
        })),
      ).toEqual(file.tensors.map((t) => ({ name: t.name, shape: [...t.shape], type: t.type, offset: t.offset })));
    });
  });

  it('validateGguf names the tensor and block of a non-finite K-quant scale', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'bad.gguf');
      const writer = await GgufWriter.create(path);
      writer.setMetadata('general.architecture', 'llama');
      const info = ggmlTypeByName('Q6_K');
      const bytes = info?.fromFloat?.(randomFloats(512, 7)) as Uint8Array;
      bytes[210 + 209] = 0x7c; // block 1's fp16 d = +∞
      bytes[210 + 208] = 0x00;
      const tensor = writer.addTensor('t.q6_k', 14, [512]);
      await writer.writeTensorData(tensor.name, bytes);
      await writer.finish();
      const validation = await validateGguf(path, { checkTensorData: true });
      expect(validation.errors.map((e) => e.message).join('\n')).toMatch(
        /t\.q6_k.*block 1 has a non-finite fp16 scale/,
      );
    });
  });
});

describe.skipIf(unavailable !== undefined)('llama.cpp loads K-quant heads', () => {
  it('runs a tiny llama whose token_embd is Q4_K and output is Q6_K', async () => {
    if (!llama) return;
    await withTempDir(async (dir) => {
      const path = join(dir, 'kquant-head.gguf');
      await writeTinyLlama(path, { types: { token_embd: 'Q4_K', output: 'Q6_K', attn_v: 'Q5_K', ffn_down: 'Q4_0' } });
      const ours = await readGguf(path);
      const typeOf = (name: string) => ours.tensors.find((t) => t.name === name)?.typeName;
      expect([typeOf('token_embd.weight'), typeOf('output.weight'), typeOf('blk.0.attn_v.weight')]).toEqual([
        'Q4_K',
        'Q6_K',
        'Q5_K',
      ]);
      const model = await llama.loadModel({ modelPath: path });
      try {
        expect(model.fileInfo.tensorInfo?.length).toBe(ours.tensors.length);
        const context = await model.createContext({ contextSize: 64 });
        try {
          const sequence = context.getSequence();
          const tokens = model.tokenize('the tea in a hat');
          const generated = [];
          for await (const token of sequence.evaluate(tokens, { temperature: 0 })) {
            generated.push(token);
            if (generated.length === 4) break;
          }
          expect(generated.length).toBe(4);
          for (const token of generated) expect(token).toBeLessThan(269); // the tiny vocabulary
        } finally {
          await context.dispose();
        }
      } finally {
        await model.dispose();
      }
    });
  }, 60_000);
});
