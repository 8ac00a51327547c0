import { QuantizeError } from '@trit/quantizer';
import { shown } from './hf.js';

/*
 * Hugging Face BitNet checkpoints (docs/formats.md §Hugging Face BitNet checkpoints).
 * config.json's `quantization_config` (quant_method "bitnet") says how each
 * projection is stored and how its `weight_scale` applies:
 *   linear_class  bitlinear      uint8 packed codes; the output is divided by weight_scale (it holds 1/mean|W|)
 *                 autobitlinear  offline: codes (packed or not) times weight_scale; online: float master weights
 *   quantization_mode  online | offline (default offline)
 * Packed layout (transformers' pack_weights): a [rows, cols] ternary matrix is
 * stored as uint8 [rows/4, cols]; packed row r holds rows r, r + rows/4,
 * r + rows/2 and r + 3·rows/4 in bits 0–1, 2–3, 4–5 and 6–7, each as code + 1.
 * Example: rows = 8, packed byte 0b10_01_00_10 at [1, c] is rows 1, 3, 5, 7 of
 * column c = +1, -1, 0, +1.
 */

export type LinearClass = 'bitlinear' | 'autobitlinear';
export type QuantizationMode = 'online' | 'offline';

/** A checkpoint's `quantization_config`, read and checked. */
export interface BitnetQuantization {
  linearClass: LinearClass;
  mode: QuantizationMode;
  /** Module names transformers leaves as plain nn.Linear (matched as substrings of the tensor name, as it does). */
  modulesToNotConvert: string[];
}

const LINEAR_CLASSES: readonly LinearClass[] = ['bitlinear', 'autobitlinear'];
const MODES: readonly QuantizationMode[] = ['online', 'offline'];

/** The checkpoint's BitNet quantization, undefined when config.json has none; a config it cannot interpret is an error naming the key. */
export function bitnetQuantizationOf(
  config: { quantization_config?: unknown },
  source: string,
): BitnetQuantization | undefined {
  const q: unknown = config.quantization_config;
  if (q === undefined || q === null) return undefined;
  if (typeof q !== 'object' || Array.isArray(q))
    throw new QuantizeError(`${source}: quantization_config must be an object, found ${shown(q)}`);
  const fields = q as Record<string, unknown>;
  const field = (key: string): unknown => (Object.hasOwn(fields, key) ? fields[key] : undefined);
  const method = field('quant_method');
  if (method !== 'bitnet')
    throw new QuantizeError(
      `${source}: quantization_config.quant_method ${shown(method)} is not supported; supported: "bitnet" (or float checkpoints without quantization_config)`,
    );
  const linearClass = field('linear_class') ?? 'bitlinear';
  if (!LINEAR_CLASSES.includes(linearClass as LinearClass))
    throw new QuantizeError(
      `${source}: quantization_config.linear_class ${shown(linearClass)} is not supported; supported: ${LINEAR_CLASSES.join(', ')}`,
    );
  const mode = field('quantization_mode') ?? 'offline';
  if (!MODES.includes(mode as QuantizationMode))
    throw new QuantizeError(
      `${source}: quantization_config.quantization_mode ${shown(mode)} is not supported; supported: ${MODES.join(', ')}`,
    );
  if (linearClass === 'bitlinear' && mode === 'online')
    throw new QuantizeError(
      `${source}: quantization_config.quantization_mode "online" needs linear_class "autobitlinear" (bitlinear holds packed codes)`,
    );
  const useRmsNorm = field('use_rms_norm') ?? false;
  if (useRmsNorm !== false)
    throw new QuantizeError(
      `${source}: quantization_config.use_rms_norm ${shown(useRmsNorm)} is not supported (an extra RMS norm before each projection has no GGUF graph); supported: false`,
    );
  const skip = field('modules_to_not_convert') ?? [];
  if (!Array.isArray(skip) || skip.some((s) => typeof s !== 'string'))
    throw new QuantizeError(
      `${source}: quantization_config.modules_to_not_convert must be a list of strings, found ${shown(skip)}`,
    );
  return { linearClass: linearClass as LinearClass, mode: mode as QuantizationMode, modulesToNotConvert: skip };
}

/** True when transformers would leave this module a plain nn.Linear: lm_head always, and modules_to_not_convert. */
export function isUnconverted(hfName: string, quantization: BitnetQuantization): boolean {
  return ['lm_head', ...quantization.modulesToNotConvert].some((module) => hfName.includes(module));
}

/**
 * gamma (dequantized weight = code × gamma) from a published weight_scale:
 * BitLinear divides its output by the scale, AutoBitLinear multiplies.
 */
export function gammaFromWeightScale(weightScale: number, linearClass: LinearClass, tensor: string): number {
  if (!(Number.isFinite(weightScale) && weightScale > 0))
    throw new QuantizeError(`${tensor}: weight_scale must be a positive finite number, found ${weightScale}`);
  return Math.fround(linearClass === 'bitlinear' ? 1 / weightScale : weightScale);
}

/** The [4·packedRows, cols] ternary codes of a pack_weights tensor; a 2-bit value of 3 (code +2) is an error. */
export function unpackBitnetWeights(packed: Uint8Array, packedRows: number, cols: number, tensor: string): Int8Array {
  if (packed.length !== packedRows * cols)
    throw new QuantizeError(
      `${tensor}: packed weight holds ${packed.length} bytes, its shape [${packedRows}, ${cols}] needs ${packedRows * cols}`,
    );
  const codes = new Int8Array(packed.length * 4);
  for (let quarter = 0; quarter < 4; quarter++) {
    const shift = 2 * quarter;
    const base = quarter * packed.length;
    for (let i = 0; i < packed.length; i++) {
      const value = (packed[i] >> shift) & 3;
      if (value === 3)
        throw new QuantizeError(
          `${tensor}: packed byte ${i} (row ${Math.floor(i / cols)}, column ${i % cols}) holds 2-bit value 3 in bits ${shift}–${shift + 1}; pack_weights stores only 0, 1, 2 (code + 1)`,
        );
      codes[base + i] = value - 1;
    }
  }
  return codes;
}

/** Float values that must be ternary codes (offline autobitlinear stored unpacked), as codes. */
export function floatCodes(values: Float32Array, tensor: string): Int8Array {
  const codes = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== -1 && v !== 0 && v !== 1)
      throw new QuantizeError(
        `${tensor}: offline autobitlinear weight beside a weight_scale must hold codes -1, 0, 1; element ${i} is ${v}`,
      );
    codes[i] = v;
  }
  return codes;
}
