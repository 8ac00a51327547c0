// Regenerates fixtures/vectors.json: the expected outputs of every known-answer
// case, computed with the straightforward contract implementation in
// src/reference.ts, with each case's shape, seed and the SHA-256 of its inputs.
// Bump VECTORS_VERSION (src/vectors.ts) when the outputs change.
// Run: pnpm --filter @trit/tl1-kernel exec tsx scripts/generate-vectors.ts
import { createHash } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { referenceDenseGemv, referenceTernaryGemv } from '../src/reference.js';
import {
  caseActivations,
  caseDense,
  caseInputsSha256,
  caseTernary,
  VECTORS_VERSION,
  type VectorCase,
  vectorCases,
} from '../src/vectors.js';

export interface VectorExpectation {
  id: string;
  /** The case as src/vectors.ts defines it: its inputs are rebuilt from these. */
  case: Omit<VectorCase, 'id'>;
  /** caseInputsSha256 of the case: what the outputs below were computed from. */
  inputsSha256: string;
  /** base64 of the float32 outputs (nTokens × rows), when small enough. */
  y?: string;
  sha256: string;
  /** The first outputs, as text (JSON has no NaN), for people reading the fixture. */
  first: string[];
}

export interface VectorFixture {
  generator: { script: string; reference: string; version: number };
  cases: VectorExpectation[];
}

const expectations: VectorExpectation[] = [];
for (const c of vectorCases()) {
  const x = caseActivations(c.activations, c.nTokens, c.cols, c.seed);
  const y = new Float32Array(c.nTokens * c.rows);
  if (c.kind === 'ternary') {
    const { contract } = caseTernary(c);
    for (let t = 0; t < c.nTokens; t++) y.set(referenceTernaryGemv(contract, x, t * c.cols), t * c.rows);
  } else {
    const data = caseDense(c);
    for (let t = 0; t < c.nTokens; t++)
      y.set(referenceDenseGemv(c.type, data, c.rows, c.cols, x, t * c.cols), t * c.rows);
  }
  const bytes = Buffer.from(y.buffer);
  const { id, ...shape } = c;
  expectations.push({
    id,
    case: shape,
    inputsSha256: caseInputsSha256(c),
    ...(y.length <= 2048 ? { y: bytes.toString('base64') } : {}),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    first: Array.from(y.subarray(0, 4), String),
  });
  process.stdout.write('.');
}
const fixture: VectorFixture = {
  generator: { script: 'scripts/generate-vectors.ts', reference: 'src/reference.ts', version: VECTORS_VERSION },
  cases: expectations,
};
const target = new URL('../fixtures/vectors.json', import.meta.url);
const temp = new URL('../fixtures/vectors.json.tmp', import.meta.url);
writeFileSync(temp, `${JSON.stringify(fixture, null, 1)}\n`);
renameSync(temp, target);
console.log(`\nwrote ${expectations.length} cases`);
