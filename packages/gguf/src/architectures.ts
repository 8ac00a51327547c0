/** The FFN activations trit runs, as `bitnet.hidden_activation` and config.json's `hidden_act` name them. */
export type HiddenActivation = 'silu' | 'relu2' | 'gelu';

// The spellings config.json and `bitnet.hidden_activation` use, read by the converter and the runtime alike.
// A Map: the name comes from a file, and must not find Object.prototype's members.
const HIDDEN_ACTIVATIONS: ReadonlyMap<string, HiddenActivation> = new Map([
  ['silu', 'silu'],
  ['swish', 'silu'],
  ['relu2', 'relu2'],
  ['relu_sqr', 'relu2'],
  ['relu_squared', 'relu2'],
  ['squared_relu', 'relu2'],
  ['gelu', 'gelu'],
]);

/** Every spelling hiddenActivation accepts (lower case), for messages that list them. */
export const HIDDEN_ACTIVATION_NAMES: readonly string[] = Object.freeze([...HIDDEN_ACTIVATIONS.keys()]);

/** The FFN activation a name means (any case), or undefined when it is not one trit runs. */
export function hiddenActivation(name: string): HiddenActivation | undefined {
  return HIDDEN_ACTIVATIONS.get(name.toLowerCase());
}

/*
 * The activation each graph runs when its file has no `<arch>.hidden_activation`
 * (docs/formats.md §bitnet): bitnet.cpp's `bitnet-b1.58` and `bitnet-25` graph
 * (build_bitnet_158) is relu²(gate)·up; upstream llama.cpp's `bitnet` and `llama`
 * default to SiLU. A Map, for the reason above.
 */
const DEFAULT_HIDDEN_ACTIVATIONS: ReadonlyMap<string, HiddenActivation> = new Map([
  ['llama', 'silu'],
  ['bitnet', 'silu'],
  ['bitnet-b1.58', 'relu2'],
  ['bitnet-25', 'relu2'],
]);

/** The FFN activation `architecture` runs without a `hidden_activation` key: its graph's own, else SiLU. */
export function defaultHiddenActivation(architecture: string): HiddenActivation {
  return DEFAULT_HIDDEN_ACTIVATIONS.get(architecture) ?? 'silu';
}
