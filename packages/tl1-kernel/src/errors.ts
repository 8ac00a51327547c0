/** Errors thrown by @trit/tl1-kernel. */

/** The kernel's implementations, fastest first (`auto` tries them in this order). */
export type KernelImplementation = 'native' | 'wasm' | 'js';

/** @deprecated Renamed to {@link KernelImplementation}. */
export type KernelBackend = KernelImplementation;

/** An explicitly requested implementation that cannot run here; `reason` says why. */
export class KernelLoadError extends Error {
  override readonly name = 'KernelLoadError';
  constructor(
    readonly implementation: KernelImplementation,
    readonly reason: string,
  ) {
    super(`the ${implementation} kernel cannot be loaded: ${reason}`);
  }

  /** @deprecated Renamed to {@link KernelLoadError.implementation}. */
  get backend(): KernelImplementation {
    return this.implementation;
  }
}

/** Mismatched shapes or array lengths; names the argument and expected vs found. */
export class KernelShapeError extends RangeError {
  override readonly name = 'KernelShapeError';
  constructor(
    readonly subject: string,
    readonly expected: number | string,
    readonly found: number | string,
  ) {
    super(`${subject}: expected ${expected}, found ${found}`);
  }
}

/** Weight data the kernels cannot take: an unknown type, or a corrupt block (names row and column). */
export class KernelFormatError extends Error {
  override readonly name = 'KernelFormatError';
  constructor(message: string) {
    super(message);
  }
}

/** A call on a kernel after `dispose()`: its threads and prepared matrices are gone. */
export class KernelDisposedError extends Error {
  override readonly name = 'KernelDisposedError';
  constructor(
    readonly kernel: string,
    readonly call: string,
  ) {
    super(`${call}: the ${kernel} kernel was disposed`);
  }
}
