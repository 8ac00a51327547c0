import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, sameFloat32 } from '@trit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GGML_BLOCK_CODECS, type GgmlBlockCodec } from './ggml-blocks.js';
import { quantizerInputs } from './ggml-blocks.test-inputs.js';

// Byte-exact comparison with llama.cpp itself: test-support/ggml-oracle.c loads
// quantize_row_*_ref and dequantize_row_* from the libggml-base that
// node-llama-cpp ships (built for plain x86-64: no FMA, so no fused operations)
// and runs them on the same inputs.

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');

function findGgmlBase(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const store = join(repoRoot, 'node_modules', '.pnpm');
  if (!existsSync(store)) return undefined;
  for (const entry of readdirSync(store)) {
    if (!entry.startsWith('@node-llama-cpp+linux-x64@')) continue;
    const library = join(store, entry, 'node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so');
    if (existsSync(library)) return library;
  }
  return undefined;
}

function findCompiler(): string | undefined {
  for (const compiler of ['cc', 'gcc', 'clang']) {
    try {
      execFileSync(compiler, ['--version'], { stdio: 'ignore' });
      return compiler;
    } catch {}
  }
  return undefined;
}

const library = findGgmlBase();
const compiler = findCompiler();
const skipReason = !library
  ? 'node-llama-cpp linux-x64 libggml-base.so not installed'
  : !compiler
    ? 'no C compiler (cc/gcc/clang) on PATH'
    : undefined;
if (skipReason) console.warn(`ggml-blocks oracle tests skipped: ${skipReason}`);

/** ggml's symbol suffix for a codec (`q4_K`, `q8_0`). */
const suffix = (codec: GgmlBlockCodec): string => codec.name.replace(/_k$/, '_K');

let workDir = '';
let oracle = '';

function runOracle(mode: 'quantize' | 'dequantize', codec: GgmlBlockCodec, input: Uint8Array, elements: number) {
  const inPath = join(workDir, `${codec.name}.${mode}.in`);
  const outPath = join(workDir, `${codec.name}.${mode}.out`);
  writeFileSync(inPath, input);
  execFileSync(oracle, [library as string, mode, suffix(codec), inPath, outPath, String(elements)]);
  return new Uint8Array(readFileSync(outPath));
}

/** Random blocks whose half/float scales are finite, so every decoded value is comparable bit for bit. */
function randomBlockBytes(codec: GgmlBlockCodec, blocks: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const bytes = new Uint8Array(blocks * codec.blockBytes);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextU32() & 0xff;
  const halfAt: Record<string, number[]> = {
    q4_0: [0],
    q4_1: [0, 2],
    q5_0: [0],
    q5_1: [0, 2],
    q8_0: [0],
    q4_k: [0, 2],
    q5_k: [0, 2],
    q6_k: [208],
    q8_k: [],
  };
  for (let b = 0; b < blocks; b++) {
    const p = b * codec.blockBytes;
    for (const at of halfAt[codec.name]) bytes[p + at + 1] &= 0b1011_1111; // exponent < 31: finite half
    if (codec.name === 'q8_k') new DataView(bytes.buffer, p, 4).setFloat32(0, (rng.gaussian() * 1e-3) as number, true);
  }
  return bytes;
}

describe.skipIf(skipReason !== undefined)('ggml block codecs against llama.cpp libggml-base', () => {
  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'trit-ggml-oracle-'));
    oracle = join(workDir, 'ggml-oracle');
    execFileSync(compiler as string, ['-O1', '-o', oracle, join(here, '..', 'test-support', 'ggml-oracle.c'), '-ldl']);
  });
  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it.each(GGML_BLOCK_CODECS.map((c) => [c.name, c] as const))('%s decodes as dequantize_row_*', (_, codec) => {
    const blocks = 256;
    const bytes = randomBlockBytes(codec, blocks, codec.ggmlType);
    const elements = blocks * codec.blockElements;
    const expected = new Float32Array(runOracle('dequantize', codec, bytes, elements).buffer);
    const actual = new Float32Array(elements);
    codec.decode(bytes, 0, actual, 0, blocks);
    expect(sameFloat32(actual, expected)).toBe(true);
  });

  it.each(GGML_BLOCK_CODECS.map((c) => [c.name, c] as const))(
    '%s encodes as quantize_row_*_ref, byte for byte',
    (_, codec) => {
      const { encode } = codec;
      expect(encode).toBeDefined();
      if (!encode) return;
      const values = quantizerInputs(codec, codec.ggmlType);
      const blocks = values.length / codec.blockElements;
      const expected = runOracle('quantize', codec, new Uint8Array(values.buffer), values.length).subarray(
        0,
        blocks * codec.blockBytes,
      );
      const actual = new Uint8Array(blocks * codec.blockBytes);
      encode(values, 0, actual, 0, blocks);
      const firstDifference = actual.findIndex((byte, i) => byte !== expected[i]);
      expect(
        firstDifference,
        `block ${Math.floor(firstDifference / codec.blockBytes)}, byte ${firstDifference % codec.blockBytes}`,
      ).toBe(-1);
    },
  );
});
