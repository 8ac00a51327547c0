// Regenerates fixtures/vectors.json: the expected outputs of every known-answer
// case, computed with the straightforward contract implementation in
// src/reference.ts. Run: pnpm --filter @trit/tl1-kernel exec tsx scripts/generate-vectors.ts
import { createHash } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { referenceDenseGemv, referenceTernaryGemv } from '../src/reference.js';
import { caseActivations, caseDense, caseTernary, vectorCases } from '../src/vectors.js';

export interface VectorExpectation {
  id: string;
  /** base64 of the float32 outputs (nTokens × rows), when small enough. */
  y?: string;
  sha256: string;
  /** The first outputs, as text (JSON has no NaN), for people reading the fixture. */
  first: string[];
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
  expectations.push({
    id: c.id,
    ...(y.length <= 2048 ? { y: bytes.toString('base64') } : {}),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    first: Array.from(y.subarray(0, 4), String),
  });
  process.stdout.write('.');
}
const target = new URL('../fixtures/vectors.json', import.meta.url);
const temp = new URL('../fixtures/vectors.json.tmp', import.meta.url);
writeFileSync(
  temp,
  `${JSON.stringify({ generator: 'scripts/generate-vectors.ts (src/reference.ts)', cases: expectations }, null, 1)}\n`,
);
renameSync(temp, target);
console.log(`\nwrote ${expectations.length} cases`);
