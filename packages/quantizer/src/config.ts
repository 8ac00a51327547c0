import { isTernaryFormatName, type TernaryFormatName } from '@trit/ternary';
import { QuantizerConfigError } from './errors.js';
import { type LayerMask, validateLayerMask } from './layer-mask.js';

/** Storage precision of tensors kept in floating point. */
export type Precision = 'f16' | 'bf16' | 'f32';

/** Block format ternary tensors are exported in (see @trit/ternary's TERNARY_FORMATS). */
export type TernaryFormat = TernaryFormatName;

/**
 * Post-training BitNet quantization settings, RuvLLM's PtBitnetConfig made real.
 * RuvLLM fields that did nothing are gone:
 * - `calibrationSamples`: absmean PTQ is data-free; scale optimization uses the weights alone.
 * - `useMmap`, `maxMemoryGb`: readers stream tensor by tensor with positional reads,
 *   so memory is bounded by the largest few tensors, not by a knob.
 * - `useMetalCalibration`: trit has no GPU path.
 * `exportFormat` drops IQ1_S (a codebook format, not ternary) and adds ggml's
 * TQ2_0 (the default, for llama.cpp interop), TQ1_0 and bitnet.cpp's I2_S.
 */
export interface PtBitnetConfig {
  /**
   * Flat weights per scale. Exporting to a block format needs its block length
   * (256 for TQ2_0, TQ1_0, T158); I2_S has one scale per tensor.
   */
  blockSize: number;
  /** Least-squares scales plus a zero-threshold search; false is plain absmean (the BitNet recipe). */
  optimizeScales: boolean;
  /** Which tensors become ternary; see shouldQuantize. */
  layersToQuantize: LayerMask;
  exportFormat: TernaryFormat;
  /** Precision of MoE router (gate-inp) tensors, which never become ternary. */
  routerPrecision: Precision;
  /** Precision of the other tensors kept in floating point (embeddings, LM head). Norms stay f32. */
  densePrecision: Precision;
}

export const DEFAULT_PT_BITNET_CONFIG: Readonly<PtBitnetConfig> = Object.freeze({
  blockSize: 256,
  optimizeScales: true,
  layersToQuantize: 'experts-only',
  exportFormat: 'tq2_0',
  routerPrecision: 'f16',
  densePrecision: 'f16',
});

const PRECISIONS: readonly Precision[] = ['f16', 'bf16', 'f32'];

/** Defaults overlaid with `overrides`, validated. */
export function ptBitnetConfig(overrides: Partial<PtBitnetConfig> = {}): PtBitnetConfig {
  const config: PtBitnetConfig = { ...DEFAULT_PT_BITNET_CONFIG, ...overrides };
  const { blockSize, exportFormat } = config;
  if (!Number.isSafeInteger(blockSize) || blockSize < 1) {
    throw new QuantizerConfigError('blockSize', `must be a positive integer, got ${blockSize}`);
  }
  if (typeof config.optimizeScales !== 'boolean') {
    throw new QuantizerConfigError('optimizeScales', `must be a boolean, got ${String(config.optimizeScales)}`);
  }
  if (!isTernaryFormatName(exportFormat)) {
    throw new QuantizerConfigError('exportFormat', `unknown format "${exportFormat}"`);
  }
  for (const field of ['routerPrecision', 'densePrecision'] as const) {
    if (!PRECISIONS.includes(config[field])) {
      throw new QuantizerConfigError(field, `must be one of ${PRECISIONS.join(', ')}, got ${String(config[field])}`);
    }
  }
  validateLayerMask(config.layersToQuantize);
  return config;
}
