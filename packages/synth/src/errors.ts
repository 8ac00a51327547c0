/** Errors thrown by @trit/synth. */

/** A call synth cannot honour as given: an output directory holding files synth did not write. */
export class SynthUsageError extends RangeError {
  override name = 'SynthUsageError';
}
