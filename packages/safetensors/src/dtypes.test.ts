import { describe, expect, it } from 'vitest';
import { FLOAT32_READABLE_DTYPES, findDtype, isSafetensorsDtype, safetensorsDtypes, tensorByteSize } from './dtypes.js';

describe('dtype table', () => {
  it('has exactly the dtype strings of the format, with their bit widths', () => {
    // From huggingface/safetensors `Dtype::bitsize`.
    expect(Object.fromEntries(safetensorsDtypes.map((d) => [d.name, d.bits]))).toEqual({
      BOOL: 8,
      U8: 8,
      I8: 8,
      I16: 16,
      U16: 16,
      I32: 32,
      U32: 32,
      I64: 64,
      U64: 64,
      F16: 16,
      BF16: 16,
      F32: 32,
      F64: 64,
      C64: 64,
      F8_E5M2: 8,
      F8_E4M3: 8,
      F8_E8M0: 8,
      F8_E4M3FNUZ: 8,
      F8_E5M2FNUZ: 8,
      F4: 4,
      F6_E2M3: 6,
      F6_E3M2: 6,
    });
    expect(FLOAT32_READABLE_DTYPES).toEqual([
      'U8',
      'I8',
      'I16',
      'U16',
      'I32',
      'U32',
      'I64',
      'U64',
      'F16',
      'BF16',
      'F32',
      'F64',
    ]);
    expect(isSafetensorsDtype('BF16')).toBe(true);
    expect(isSafetensorsDtype('bf16')).toBe(false);
    expect(isSafetensorsDtype('toString')).toBe(false);
    expect(findDtype('__proto__')).toBeUndefined();
  });

  it('sizes tensors exactly, refusing partial bytes and sizes past 2^53', () => {
    const f4 = findDtype('F4')!;
    const f32 = findDtype('F32')!;
    expect(tensorByteSize(f32, [])).toEqual({ byteSize: 4, elementCount: 1 });
    expect(tensorByteSize(f32, [3, 0, 7])).toEqual({ byteSize: 0, elementCount: 0 });
    expect(tensorByteSize(f4, [6])).toEqual({ byteSize: 3, elementCount: 6 });
    expect(tensorByteSize(f4, [5])).toMatchObject({ found: '5 × 4 = 20 bits' });
    expect(tensorByteSize(f32, [2 ** 51, 2])).toMatchObject({ error: 'the tensor is too large' });
  });
});
