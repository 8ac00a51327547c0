import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { llamaQuantizeDefaultTypes } from './llama-quantize-defaults.js';

// Expected answers are read from llama.cpp's src/llama-quant.cpp (llama_tensor_get_type_impl,
// tensor_type_fallback) and bitnet.cpp's fork (src/llama.cpp, llama_tensor_get_type):
// docs/formats.md §llama-quantize defaults.

describe('llamaQuantizeDefaultTypes', () => {
  it('TQ1_0 / TQ2_0, untied: Q6_K head, Q4_K embeddings (bitnet-2b shapes)', () => {
    for (const ftype of ['TQ1_0', 'TQ2_0'] as const) {
      expect(
        llamaQuantizeDefaultTypes({ ftype, architecture: 'llama', tokenEmbdColumns: 2560, outputColumns: 2560 }),
      ).toEqual({ output: 'Q6_K', tokenEmbd: 'Q4_K', rule: 'llama.cpp' });
    }
  });

  it('tied embeddings (no output.weight) take the head rule: Q6_K', () => {
    expect(llamaQuantizeDefaultTypes({ ftype: 'TQ2_0', architecture: 'bitnet', tokenEmbdColumns: 2560 })).toEqual({
      output: undefined,
      tokenEmbd: 'Q6_K',
      rule: 'llama.cpp',
    });
  });

  it('Falcon heads are Q8_0; its untied embeddings keep the Q4_K rule', () => {
    expect(
      llamaQuantizeDefaultTypes({
        ftype: 'TQ1_0',
        architecture: 'falcon',
        tokenEmbdColumns: 4096,
        outputColumns: 4096,
      }),
    ).toEqual({ output: 'Q8_0', tokenEmbd: 'Q4_K', rule: 'llama.cpp' });
    expect(
      llamaQuantizeDefaultTypes({ ftype: 'TQ1_0', architecture: 'falcon', tokenEmbdColumns: 4096 }).tokenEmbd,
    ).toBe('Q8_0');
  });

  it('rows that are not whole 256-blocks fall back: head Q8_0, embeddings Q5_0, then F16 below 32-blocks', () => {
    expect(
      llamaQuantizeDefaultTypes({ ftype: 'TQ2_0', architecture: 'llama', tokenEmbdColumns: 2080, outputColumns: 2080 }),
    ).toEqual({ output: 'Q8_0', tokenEmbd: 'Q5_0', rule: 'llama.cpp' });
    expect(
      llamaQuantizeDefaultTypes({ ftype: 'TQ2_0', architecture: 'llama', tokenEmbdColumns: 100, outputColumns: 100 }),
    ).toEqual({ output: 'F16', tokenEmbd: 'F16', rule: 'llama.cpp' });
    expect(llamaQuantizeDefaultTypes({ ftype: 'TQ2_0', architecture: 'falcon', tokenEmbdColumns: 100 }).tokenEmbd).toBe(
      'F16',
    );
  });

  it('I2_S follows bitnet.cpp: F16 head and embeddings, Q8_0 for Falcon or odd rows', () => {
    expect(llamaQuantizeDefaultTypes({ ftype: 'I2_S', architecture: 'bitnet-b1.58', tokenEmbdColumns: 2560 })).toEqual({
      output: undefined,
      tokenEmbd: 'F16',
      rule: 'bitnet.cpp',
    });
    expect(
      llamaQuantizeDefaultTypes({ ftype: 'I2_S', architecture: 'llama', tokenEmbdColumns: 3200, outputColumns: 3200 }),
    ).toEqual({ output: 'Q8_0', tokenEmbd: 'F16', rule: 'bitnet.cpp' });
  });

  it('every pick has blocks that divide the row (property)', () => {
    const blocks: Record<string, number> = { Q4_0: 32, Q5_0: 32, Q8_0: 32, F16: 1, Q4_K: 256, Q6_K: 256 };
    fc.assert(
      fc.property(
        fc.constantFrom('TQ1_0', 'TQ2_0', 'I2_S') as fc.Arbitrary<'TQ1_0' | 'TQ2_0' | 'I2_S'>,
        fc.constantFrom('llama', 'falcon', 'bitnet-b1.58'),
        fc.integer({ min: 1, max: 20000 }),
        fc.option(fc.integer({ min: 1, max: 20000 }), { nil: undefined }),
        (ftype, architecture, tokenEmbdColumns, outputColumns) => {
          const picked = llamaQuantizeDefaultTypes({ ftype, architecture, tokenEmbdColumns, outputColumns });
          const fits = (type: string | undefined, columns: number | undefined) =>
            type === undefined ? columns === undefined : columns !== undefined && columns % blocks[type] === 0;
          return fits(picked.output, outputColumns) && fits(picked.tokenEmbd, tokenEmbdColumns);
        },
      ),
    );
  });

  it('refuses a non-positive width, naming it', () => {
    expect(() => llamaQuantizeDefaultTypes({ ftype: 'TQ2_0', architecture: 'llama', tokenEmbdColumns: 0 })).toThrow(
      /tokenEmbdColumns must be a positive integer, got 0/,
    );
  });
});
