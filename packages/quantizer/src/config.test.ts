import { describe, expect, it } from 'vitest';
import { DEFAULT_PT_BITNET_CONFIG, ptBitnetConfig } from './config.js';
import { QuantizerConfigError } from './errors.js';
import { tensorStorage } from './storage.js';

describe('PtBitnetConfig', () => {
  it('has the reference defaults, with TQ2_0 as the export format', () => {
    expect(ptBitnetConfig()).toEqual({
      blockSize: 256,
      optimizeScales: true,
      layersToQuantize: 'experts-only',
      exportFormat: 'tq2_0',
      routerPrecision: 'f16',
      densePrecision: 'f16',
    });
    expect(Object.isFrozen(DEFAULT_PT_BITNET_CONFIG)).toBe(true);
  });

  it('validates every field', () => {
    expect(() => ptBitnetConfig({ blockSize: 0 })).toThrow(QuantizerConfigError);
    expect(() => ptBitnetConfig({ exportFormat: 'iq1_s' as never })).toThrow(/exportFormat: unknown format "iq1_s"/);
    expect(() => ptBitnetConfig({ routerPrecision: 'f8' as never })).toThrow(
      /routerPrecision: must be one of f16, bf16, f32/,
    );
    expect(() => ptBitnetConfig({ optimizeScales: 'yes' as never })).toThrow(QuantizerConfigError);
    expect(() => ptBitnetConfig({ layersToQuantize: { custom: ['{'] } })).toThrow(QuantizerConfigError);
  });
});

describe('tensorStorage', () => {
  const config = ptBitnetConfig({ layersToQuantize: 'all', exportFormat: 'tq1_0', routerPrecision: 'bf16' });
  it('routes each tensor to ternary or a float precision', () => {
    expect(tensorStorage('blk.0.attn_q.weight', config)).toEqual({ kind: 'ternary', format: 'tq1_0' });
    expect(tensorStorage('blk.0.ffn_gate_inp.weight', config)).toEqual({ kind: 'dense', precision: 'bf16' });
    expect(tensorStorage('blk.0.attn_norm.weight', config)).toEqual({ kind: 'dense', precision: 'f32' });
    expect(tensorStorage('token_embd.weight', config)).toEqual({ kind: 'dense', precision: 'f16' });
    expect(tensorStorage('blk.0.attn_q.weight', { ...config, layersToQuantize: 'experts-only' })).toEqual({
      kind: 'dense',
      precision: 'f16',
    });
  });
});
