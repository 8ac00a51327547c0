/** Errors thrown by @trit/backend: each names the model file and what was wrong. */

/** The model cannot be loaded: unsupported architecture or type, missing or misshapen tensor, bad hyper-parameter. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
  constructor(
    readonly source: string,
    readonly reason: string,
    readonly tensor?: string,
  ) {
    super(`${source}${tensor ? `, tensor "${tensor}"` : ''}: ${reason}`);
  }
}

/** A request goes past the KV cache: more positions than `contextSize`. */
export class ContextOverflowError extends RangeError {
  override name = 'ContextOverflowError';
  constructor(
    readonly contextSize: number,
    readonly requested: number,
  ) {
    super(
      `context overflow: position ${requested} needs more than the ${contextSize} positions of the KV cache (raise contextSize)`,
    );
  }
}

/** A call with arguments the model cannot take (token id out of range, bad sampling option …). */
export class BackendUsageError extends RangeError {
  override name = 'BackendUsageError';
}
