import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGguf } from '@trit/gguf';
import { QuantizeError } from '@trit/quantizer';
import { float16BytesToFloat32, float32ToBytes, float32ToFloat16Bytes } from '@trit/safetensors';
import {
  type BitnetCheckpointLayout,
  CHECKPOINT_PROJECTIONS,
  CHECKPOINT_SHAPE,
  type CheckpointOptions,
  type WrittenCheckpoint,
  writeBitnetCheckpoint,
} from '@trit/testkit/bitnet-checkpoints';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permuteForRope } from './hf.js';
import { QUANTIZATION_METHODS, type QuantizeModelOptions, quantizeModel } from './quantize-model.js';

/*
 * Tiny checkpoints in each published BitNet layout (docs/formats.md §Hugging Face
 * BitNet checkpoints), written by @trit/testkit/bitnet-checkpoints (its own packer
 * and safetensors writer), then converted:
 * the GGUF must hold exactly the published codes and scale (packed layouts) or
 * per-tensor absmean's (master weights). The logits check is in
 * packages/backend/src/hf-checkpoints.test.ts (the backend sits above this package).
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const { embd: E, heads: HEADS, kvHeads: KV, vocab: V, layers: LAYERS } = CHECKPOINT_SHAPE;
const PROJECTIONS = CHECKPOINT_PROJECTIONS;
type Layout = BitnetCheckpointLayout;
type Written = WrittenCheckpoint;

const writeCheckpoint = (name: string, layout: Layout, edit: CheckpointOptions = {}) =>
  writeBitnetCheckpoint(dir, name, layout, edit);

const f16 = (x: number) => float16BytesToFloat32(float32ToFloat16Bytes(new Float32Array([x])))[0] as number;

/** Checks every projection of the GGUF against the truth: exact codes, gamma in every block (fp16) or once (I2_S, f32). */
async function expectTruth(gguf: string, written: Written, format: 'tq2_0' | 'tq1_0' | 'i2_s'): Promise<void> {
  const file = await readGguf(gguf);
  expect(file.architecture).toBe(format === 'i2_s' ? 'bitnet-b1.58' : written.arch);
  for (const [name, { codes, gamma }] of written.truth) {
    const info = file.tensors.find((t) => t.name === name);
    expect(info?.typeInfo.name, name).toBe(format.toUpperCase());
    const tensor = await file.readTernaryTensor(name);
    const [rows, cols] = tensor.shape;
    const heads = written.arch === 'llama' ? (/attn_q/.test(name) ? HEADS : /attn_k/.test(name) ? KV : 0) : 0;
    const want = heads ? permuteForRope(codes, rows, cols, heads) : codes;
    const got = tensor.codes();
    let mismatches = 0;
    for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) mismatches++;
    expect(mismatches, `${name}: codes differing from the published ones`).toBe(0);
    const scale = format === 'i2_s' ? gamma : f16(gamma);
    expect(new Set(tensor.scales), name).toEqual(new Set([scale]));
  }
}

const LAYOUTS: [Layout, string][] = [
  ['packed-bitlinear', QUANTIZATION_METHODS.packed],
  ['llama-bitlinear', QUANTIZATION_METHODS.packed],
  ['packed-autobitlinear', QUANTIZATION_METHODS.packed],
  ['codes-autobitlinear', QUANTIZATION_METHODS.packed],
  ['master', QUANTIZATION_METHODS.perTensor],
  ['onebit', QUANTIZATION_METHODS.perTensor],
  ['online-autobitlinear', QUANTIZATION_METHODS.perTensor],
];

describe('Hugging Face BitNet checkpoints, as published', () => {
  for (const [layout, method] of LAYOUTS) {
    it(`${layout}: stores the ${method === QUANTIZATION_METHODS.packed ? 'published codes and scale' : 'per-tensor absmean codes'} in TQ2_0, TQ1_0${layout.includes('autobitlinear') || layout === 'llama-bitlinear' ? '' : ' and I2_S'}`, async () => {
      const written = await writeCheckpoint(layout, layout);
      const formats = written.arch === 'bitnet' ? (['tq2_0', 'tq1_0', 'i2_s'] as const) : (['tq2_0', 'tq1_0'] as const);
      for (const format of formats) {
        const out = join(dir, `${layout}-${format}.gguf`);
        const report = await quantizeModel(written.path, out, { format });
        expect(report.quantization).toEqual([method]);
        expect(report.totals.ternaryTensors).toBe(LAYERS * PROJECTIONS.length);
        expect(report.fileArchitecture).toBe(format === 'i2_s' ? 'bitnet-b1.58' : written.arch);
        await expectTruth(out, written, format);
        const file = await readGguf(out);
        if (written.arch === 'bitnet')
          expect(file.metadata.getString(`${report.fileArchitecture}.hidden_activation`)).toBe(
            layout === 'onebit' ? 'silu' : 'relu2',
          );
        expect(file.metadata.getString('tokenizer.ggml.model')).toBe('gpt2');
      }
    });
  }

  it('block scales stay an explicit option for BitNet master weights, and the default for float llama models', async () => {
    const written = await writeCheckpoint('master-block', 'master');
    const block = await quantizeModel(written.path, join(dir, 'master-block.gguf'), { scales: 'block' });
    expect(block.quantization).toEqual([QUANTIZATION_METHODS.perBlockSearch]);
    const plain = await quantizeModel(written.path, join(dir, 'master-plain.gguf'), {
      optimizeScales: false,
      scales: 'block',
    });
    expect(plain.quantization).toEqual([QUANTIZATION_METHODS.perBlock]);
    // An explicit optimizeScales asks for per-block scales.
    const searched = await quantizeModel(written.path, join(dir, 'master-search.gguf'), { optimizeScales: true });
    expect(searched.quantization).toEqual([QUANTIZATION_METHODS.perBlockSearch]);
    // A packed checkpoint keeps its codes whatever the scales option says.
    const packed = await writeCheckpoint('packed-block', 'packed-bitlinear');
    const kept = await quantizeModel(packed.path, join(dir, 'packed-block.gguf'), { scales: 'block' });
    expect(kept.quantization).toEqual([QUANTIZATION_METHODS.packed]);
    await expectTruth(join(dir, 'packed-block.gguf'), packed, 'tq2_0');
  });

  it('keeps modules_to_not_convert in float', async () => {
    const written = await writeCheckpoint('skip', 'online-autobitlinear', {
      config: (c) => {
        (c.quantization_config as Record<string, unknown>).modules_to_not_convert = ['mlp.down_proj'];
      },
    });
    const report = await quantizeModel(written.path, join(dir, 'skip.gguf'));
    expect(report.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')?.format).toBe('F16');
    expect(report.tensors.find((t) => t.name === 'blk.0.ffn_up.weight')?.format).toBe('TQ2_0');
  });
});

describe('layouts and configs that cannot be interpreted', () => {
  const refused = async (
    name: string,
    layout: Layout,
    edit: Parameters<typeof writeCheckpoint>[2],
    pattern: RegExp,
    options: QuantizeModelOptions = {},
  ) => {
    const written = await writeCheckpoint(name, layout, edit);
    const out = join(dir, `${name}.gguf`);
    const attempt = quantizeModel(written.path, out, options);
    await expect(attempt).rejects.toBeInstanceOf(QuantizeError);
    await expect(quantizeModel(written.path, out, options)).rejects.toThrow(pattern);
  };
  const setQuant = (key: string, value: unknown) => (c: Record<string, unknown>) => {
    (c.quantization_config as Record<string, unknown>)[key] = value;
  };

  it('names the quantization_config key and value it cannot interpret', async () => {
    await refused(
      'qm',
      'packed-bitlinear',
      { config: setQuant('quant_method', 'gptq') },
      /quant_method "gptq" is not supported; supported: "bitnet"/,
    );
    await refused(
      'lc',
      'packed-bitlinear',
      { config: setQuant('linear_class', 'bitlinear2') },
      /linear_class "bitlinear2" is not supported; supported: bitlinear, autobitlinear/,
    );
    await refused(
      'mode',
      'packed-bitlinear',
      { config: setQuant('quantization_mode', 'lazy') },
      /quantization_mode "lazy"/,
    );
    await refused(
      'rms',
      'packed-autobitlinear',
      { config: setQuant('use_rms_norm', true) },
      /use_rms_norm true is not supported/,
    );
  });

  it('names the tensor and the layout found for packed weights that do not fit', async () => {
    const q = 'model.layers.0.self_attn.q_proj.weight';
    await refused(
      'shape',
      'packed-bitlinear',
      {
        tensors: (list) => {
          const t = list.find((x) => x.name === q);
          if (t) Object.assign(t, { shape: [E / 8, 2 * E] });
        },
      },
      /q_proj\.weight: layout U8 \[32, 512\] with weight_scale holds a \[128, 512\] ternary matrix, config\.json makes blk\.0\.attn_q\.weight \[256, 256\] \(packed as \[64, 256\]\)/,
    );
    await refused(
      'no-scale',
      'packed-bitlinear',
      {
        tensors: (list) =>
          list.splice(
            list.findIndex((x) => x.name === `${q}_scale`),
            1,
          ),
      },
      /q_proj\.weight: layout U8 \[64, 256\] is a uint8 weight without a weight_scale; supported: /,
    );
    await refused(
      'orphan-scale',
      'packed-bitlinear',
      {
        tensors: (list) =>
          list.splice(
            list.findIndex((x) => x.name === q),
            1,
          ),
      },
      /q_proj\.weight_scale is a weight_scale with no packed weight beside it/,
    );
    await refused(
      'no-config',
      'packed-bitlinear',
      { config: (c) => delete c.quantization_config },
      /q_proj\.weight: layout U8 \[64, 256\] with weight_scale is a weight_scale, but config\.json has no quantization_config/,
    );
    await refused(
      'code-3',
      'packed-bitlinear',
      {
        tensors: (list) => {
          const t = list.find((x) => x.name === q);
          if (t) t.bytes[5] = 0b1100_0000;
        },
      },
      /q_proj\.weight: packed byte 5 \(row 0, column 5\) holds 2-bit value 3 in bits 6–7/,
    );
    await refused(
      'int8',
      'master',
      {
        tensors: (list) => {
          const t = list.find((x) => x.name === q);
          if (t) Object.assign(t, { dtype: 'I8', bytes: new Uint8Array(E * E) });
        },
      },
      /q_proj\.weight: layout I8 \[256, 256\] is not supported; supported: F32\/F16\/BF16/,
    );
    await refused(
      'float-not-codes',
      'codes-autobitlinear',
      {
        tensors: (list) => {
          const t = list.find((x) => x.name === q);
          if (t) t.bytes.set(float32ToBytes(new Float32Array([0.5])), 8);
        },
      },
      /q_proj\.weight: offline autobitlinear weight beside a weight_scale must hold codes -1, 0, 1; element 2 is 0\.5/,
    );
  });

  it('refuses I2_S for llama-based checkpoints and options that contradict each other', async () => {
    await refused(
      'i2s-llama',
      'packed-autobitlinear',
      {},
      /format i2_s is written under bitnet\.cpp's bitnet-b1\.58 architecture/,
      {
        format: 'i2_s',
      },
    );
    await refused('i2s-block', 'master', {}, /format i2_s has one scale per tensor/, {
      format: 'i2_s',
      scales: 'block',
    });
    await refused('tensor-search', 'master', {}, /optimizeScales searches per-block scales/, {
      scales: 'tensor',
      optimizeScales: true,
    });
    await refused(
      'bad-type',
      'master',
      {},
      /outputType "q9_9" is not a type the converter can write; use f32, f16, .*q8_0/,
      {
        outputType: 'q9_9',
      },
    );
    // Q8_K only rounds activations; no weight is stored in it.
    await refused('q8k', 'master', {}, /embeddingType "q8_k" is not a type the converter can write/, {
      embeddingType: 'q8_k',
    });
  });
});

describe('dense types of the head and embeddings', () => {
  it('writes K-quant heads and embeddings through the type table, close to the float values', async () => {
    const llama = await writeCheckpoint('types-k', 'packed-autobitlinear');
    const out = join(dir, 'types-k.gguf');
    const report = await quantizeModel(llama.path, out, { outputType: 'q6_k', embeddingType: 'q4_k' });
    const output = report.tensors.find((t) => t.name === 'output.weight');
    const embedding = report.tensors.find((t) => t.name === 'token_embd.weight');
    expect(output?.format).toBe('Q6_K');
    expect(embedding?.format).toBe('Q4_K');
    // 6.56 and 4.5 bits per weight over 300×256 values.
    expect(output?.bytes).toBe((V * E * 210) / 256);
    expect(embedding?.bytes).toBe((V * E * 144) / 256);
    expect(output?.relativeError).toBeLessThan(0.02);
    expect(embedding?.relativeError).toBeLessThan(0.1);
    const file = await readGguf(out);
    expect(file.tensors.find((t) => t.name === 'output.weight')?.typeInfo.name).toBe('Q6_K');
    expect(file.metadata.getNumber('general.quantization_version')).toBe(2);
  });

  it("defaults to llama-quantize's types: Q6_K head and Q4_K embeddings for TQ2_0/TQ1_0, F16 for I2_S", async () => {
    const llama = await writeCheckpoint('defaults-llama', 'packed-autobitlinear');
    for (const format of ['tq2_0', 'tq1_0'] as const) {
      const report = await quantizeModel(llama.path, join(dir, `defaults-llama-${format}.gguf`), { format });
      expect(report.denseTypes).toEqual({ output: 'Q6_K', tokenEmbd: 'Q4_K', rule: 'llama.cpp' });
      expect(report.tensors.find((t) => t.name === 'output.weight')?.format).toBe('Q6_K');
    }
    const bitnet = await writeCheckpoint('defaults-bitnet', 'packed-bitlinear');
    // Tied: token_embd is the head, so it takes the head's rule.
    const tied = await quantizeModel(bitnet.path, join(dir, 'defaults-bitnet.gguf'));
    expect(tied.denseTypes).toEqual({ tokenEmbd: 'Q6_K', rule: 'llama.cpp' });
    const i2s = await quantizeModel(bitnet.path, join(dir, 'defaults-i2s.gguf'), { format: 'i2_s' });
    expect(i2s.denseTypes).toEqual({ tokenEmbd: 'F16', rule: 'bitnet.cpp' });
    const t158 = await quantizeModel(bitnet.path, join(dir, 'defaults-t158.gguf'), { format: 't158' });
    expect(t158.denseTypes).toEqual({ tokenEmbd: 'F16', rule: 'dense precision' });
    const file = await readGguf(join(dir, 'defaults-bitnet.gguf'));
    expect(file.tensors.find((t) => t.name === 'token_embd.weight')?.typeInfo.name).toBe('Q6_K');
  });

  it('writes the output and embedding types asked for; a tied head is token_embd', async () => {
    const llama = await writeCheckpoint('types-llama', 'packed-autobitlinear');
    const report = await quantizeModel(llama.path, join(dir, 'types-llama.gguf'), {
      outputType: 'q8_0',
      embeddingType: 'f32',
    });
    expect(report.tensors.find((t) => t.name === 'output.weight')?.format).toBe('Q8_0');
    expect(report.tensors.find((t) => t.name === 'token_embd.weight')?.format).toBe('F32');
    const bitnet = await writeCheckpoint('types-bitnet', 'packed-bitlinear');
    const tied = await quantizeModel(bitnet.path, join(dir, 'types-bitnet.gguf'), {
      outputType: 'q8_0',
      embeddingType: 'f32',
    });
    expect(tied.tensors.find((t) => t.name === 'token_embd.weight')?.format).toBe('Q8_0');
    expect(tied.denseTypes).toEqual({ tokenEmbd: 'Q8_0', rule: 'options' });
    const f16 = await quantizeModel(bitnet.path, join(dir, 'types-f16.gguf'), { outputType: 'f16' });
    expect(f16.tensors.find((t) => t.name === 'token_embd.weight')?.format).toBe('F16');
    const file = await readGguf(join(dir, 'types-bitnet.gguf'));
    const embedding = await file.dequantizeTensor('token_embd.weight');
    const source = await readGguf(join(dir, 'types-f16.gguf'));
    const reference = await source.dequantizeTensor('token_embd.weight');
    let se = 0;
    let norm = 0;
    for (let i = 0; i < reference.length; i++) {
      se += (embedding[i] - reference[i]) ** 2;
      norm += reference[i] ** 2;
    }
    expect(Math.sqrt(se / norm)).toBeLessThan(0.01);
  });
});
