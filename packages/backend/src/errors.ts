/** Errors thrown by @trit/backend: each names the model file and what was wrong. */

/** `message` without a leading `source: ` or `source, ` (errors from @trit/gguf already name the file). */
export function withoutSource(message: string, source: string): string {
  return message.startsWith(`${source}: `) || message.startsWith(`${source}, `)
    ? message.slice(source.length + 2)
    : message;
}

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

/** A call while a generation holds the model (one KV cache, one position): finish or `return()` the generator first. */
export class BackendBusyError extends BackendUsageError {
  override name = 'BackendBusyError';
  constructor(readonly call: string) {
    super(
      `${call}: the model is generating; one BitNetBackend runs one sequence at a time (finish the generation, break out of it, or load another model)`,
    );
  }
}

/** A call on a model after `dispose()`. */
export class BackendDisposedError extends BackendUsageError {
  override name = 'BackendDisposedError';
  constructor(readonly call: string) {
    super(`${call}: the model was disposed`);
  }
}
