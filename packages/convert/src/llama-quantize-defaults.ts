// The dense types llama-quantize gives the head (`output.weight`) and the token
// embeddings (`token_embd.weight`) when it quantizes a model to a ternary ftype
// with no --output-tensor-type / --token-embedding-type. The rule and its
// sources are in docs/formats.md §llama-quantize defaults.

/** Ternary llama_ftypes: TQ1_0 and TQ2_0 are mainline llama.cpp's, I2_S is bitnet.cpp's. */
export type TernaryFtype = 'TQ1_0' | 'TQ2_0' | 'I2_S';

/** The dense types the rule can pick. */
export type DefaultDenseType = 'Q4_0' | 'Q4_K' | 'Q5_0' | 'Q6_K' | 'Q8_0' | 'F16';

export interface LlamaQuantizeDefaultsInput {
  ftype: TernaryFtype;
  /** `general.architecture` of the model (`llama`, `falcon`, `bitnet-b1.58` …). */
  architecture: string;
  /** `ne[0]` of `token_embd.weight` (the embedding width). */
  tokenEmbdColumns: number;
  /** `ne[0]` of `output.weight`, or undefined for a model without one (tied embeddings). */
  outputColumns?: number;
}

export interface LlamaQuantizeDefaultTypes {
  /** Type of `output.weight`; undefined when the model has none. */
  output?: DefaultDenseType;
  /** Type of `token_embd.weight`. */
  tokenEmbd: DefaultDenseType;
  /** Whose quantizer the rule is read from: mainline llama.cpp, or bitnet.cpp's fork for I2_S. */
  rule: 'llama.cpp' | 'bitnet.cpp';
}

const BLOCK_ELEMENTS: Record<DefaultDenseType | 'TQ1_0' | 'TQ2_0', number> = {
  Q4_0: 32,
  Q5_0: 32,
  Q8_0: 32,
  F16: 1,
  Q4_K: 256,
  Q6_K: 256,
  TQ1_0: 256,
  TQ2_0: 256,
};

/** llama.cpp's tensor_type_fallback: a type whose block does not divide the row steps down once, then to F16. */
function fallback(type: DefaultDenseType, columns: number): DefaultDenseType {
  if (columns % BLOCK_ELEMENTS[type] === 0) return type;
  const smaller: DefaultDenseType = type === 'Q4_K' ? 'Q5_0' : type === 'Q6_K' ? 'Q8_0' : type;
  return columns % BLOCK_ELEMENTS[smaller] === 0 ? smaller : 'F16';
}

function assertColumns(what: string, columns: number): void {
  if (!Number.isSafeInteger(columns) || columns < 1) {
    throw new RangeError(`llamaQuantizeDefaultTypes: ${what} must be a positive integer, got ${columns}`);
  }
}

/**
 * The types llama-quantize picks by default for the head and the token
 * embeddings of a model quantized to `ftype`. A tied model (no `output.weight`)
 * gives its embeddings the head's rule.
 */
export function llamaQuantizeDefaultTypes(input: LlamaQuantizeDefaultsInput): LlamaQuantizeDefaultTypes {
  const { ftype, architecture, tokenEmbdColumns, outputColumns } = input;
  assertColumns('tokenEmbdColumns', tokenEmbdColumns);
  if (outputColumns !== undefined) assertColumns('outputColumns', outputColumns);
  const falcon = architecture === 'falcon';
  const bitnetCpp = ftype === 'I2_S';
  // Q8_0 where the head's row is not whole 256-blocks or the model is Falcon; otherwise Q6_K (F16 in bitnet.cpp).
  const head = (columns: number): DefaultDenseType =>
    falcon || columns % 256 !== 0 ? fallback('Q8_0', columns) : bitnetCpp ? 'F16' : 'Q6_K';
  const tied = outputColumns === undefined;
  return {
    output: tied ? undefined : head(outputColumns),
    tokenEmbd: tied ? head(tokenEmbdColumns) : bitnetCpp ? 'F16' : fallback('Q4_K', tokenEmbdColumns),
    rule: bitnetCpp ? 'bitnet.cpp' : 'llama.cpp',
  };
}
