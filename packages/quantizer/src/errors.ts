/** Errors thrown by @trit/quantizer, naming the tensor (when known), index and values involved. */

/** Bad input to a quantization call: shape, block size, length or a non-finite weight. */
export class QuantizeError extends RangeError {
  override readonly name = 'QuantizeError';
  constructor(
    message: string,
    /** Tensor name, when the caller gave one. */
    readonly tensor?: string,
    /** Flat element index of the offending weight, when there is one. */
    readonly index?: number,
  ) {
    super(tensor ? `tensor "${tensor}": ${message}` : message);
  }
}

/** An invalid PtBitnetConfig field or layer-mask pattern. */
export class QuantizerConfigError extends TypeError {
  override readonly name = 'QuantizerConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`PtBitnetConfig.${field}: ${message}`);
  }
}
