import type { Precision, PtBitnetConfig, TernaryFormat } from './config.js';
import { classifyTensor, shouldQuantize } from './layer-mask.js';

/** How one tensor is stored after quantization. */
export type TensorStorage = { kind: 'ternary'; format: TernaryFormat } | { kind: 'dense'; precision: Precision };

/**
 * The storage a whole-model quantizer gives `tensorName`: ternary in the export
 * format when the layer mask selects it, the router precision for MoE routers,
 * f32 for norms (1-D, as llama.cpp writes them), and the dense precision otherwise.
 */
export function tensorStorage(
  tensorName: string,
  config: Pick<PtBitnetConfig, 'layersToQuantize' | 'exportFormat' | 'routerPrecision' | 'densePrecision'>,
): TensorStorage {
  if (shouldQuantize(tensorName, config.layersToQuantize)) return { kind: 'ternary', format: config.exportFormat };
  const role = classifyTensor(tensorName);
  if (role === 'router') return { kind: 'dense', precision: config.routerPrecision };
  if (role === 'norm' || role === 'auxiliary' || role === 'rope') return { kind: 'dense', precision: 'f32' };
  return { kind: 'dense', precision: config.densePrecision };
}
