// ES2024 String methods (Node ≥ 20), used by the tests; the library itself
// feature-detects them (see wellFormed in tokenizer.ts).
interface String {
  isWellFormed(): boolean;
  toWellFormed(): string;
}
