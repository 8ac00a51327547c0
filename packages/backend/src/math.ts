import type { HiddenActivation } from '@trit/gguf';

/** The FFN activations (their names in files are read by @trit/quantizer's hiddenActivation). */
export type Activation = HiddenActivation;
