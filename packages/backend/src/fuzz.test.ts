/**
 * The fuzz suite (harness in ../fuzz): mutated GGUF and safetensors models
 * through the readers, the validators, quantizeModel and BitNetBackend.load,
 * each input in a worker child so a crash or hang is counted, not fatal.
 * Every input may fail, but only with one of the packages' error classes.
 * The long run is `pnpm --filter @trit/backend fuzz -- --count 10000`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus, type Corpus, type FuzzFormat } from '../fuzz/corpus.js';
import { mutateInput } from '../fuzz/mutate.js';
import { formatReport, type InputRecord, type Outcome, runFuzz } from '../fuzz/run.js';
import { PROBE_NAMES, type ProbeName } from '../fuzz/stages.js';

/** Inputs per format: sized for about a minute in all on two busy cores. */
const SAMPLE: Record<FuzzFormat, number> = { gguf: 400, safetensors: 250 };
/** The harness's fixed seed: input N is the same bytes on every run and machine. */
const SEED = 1;
const linux = process.platform === 'linux';

let root: string;
let corpusDir: string;
let corpus: Corpus;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'trit-fuzz-test-'));
  corpusDir = join(root, 'corpus');
  corpus = await buildCorpus(corpusDir);
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('fuzz harness', () => {
  it('builds the same corpus and the same input N every time, and different inputs for different N', async () => {
    const again = await buildCorpus(join(root, 'corpus-again'));
    for (const format of ['gguf', 'safetensors'] as const) {
      expect(again[format].map((s) => s.name)).toEqual(corpus[format].map((s) => s.name));
      for (const [i, seed] of corpus[format].entries())
        for (const [name, bytes] of seed.files)
          expect(Buffer.from(again[format][i]?.files.get(name) ?? []).equals(bytes), `${seed.name}/${name}`).toBe(true);

      for (const index of [0, 17, 123_456]) {
        const a = mutateInput(corpus, format, SEED, index);
        const b = mutateInput(again, format, SEED, index);
        expect(b.mutations).toEqual(a.mutations);
        expect([...b.files.keys()]).toEqual([...a.files.keys()]);
        for (const [name, bytes] of a.files) expect(Buffer.from(b.files.get(name) ?? []).equals(bytes)).toBe(true);
      }
      const described = new Set(
        Array.from({ length: 40 }, (_, i) => mutateInput(corpus, format, SEED, i).mutations.join('; ')),
      );
      expect(described.size).toBeGreaterThan(30);
      // Another run seed, other inputs.
      expect(mutateInput(corpus, format, SEED + 1, 0).mutations).not.toEqual(
        mutateInput(corpus, format, SEED, 0).mutations,
      );
    }
  }, 60_000);

  it('counts each known-bad behaviour as its class: typed, untyped, crash, hang', async () => {
    const expected: Record<ProbeName, Outcome> = {
      ok: 'ok',
      typed: 'typed',
      untyped: 'untyped',
      wrapped: 'untyped',
      abort: 'crash',
      exit: 'crash',
      hang: 'hang',
      'heap-limit': 'crash',
      // The RSS watch reads /proc; elsewhere the probe is only stopped by the time limit.
      'memory-limit': linux ? 'crash' : 'hang',
    };
    const report = await runFuzz({
      format: 'probe',
      count: PROBE_NAMES.length,
      workRoot: root,
      timeoutMs: 8_000,
      heapMb: 128,
      memoryLimitMb: 600,
    });
    expect(report.records.map((r) => [PROBE_NAMES[r.index], r.outcome])).toEqual(
      PROBE_NAMES.map((n) => [n, expected[n]]),
    );
    const record = (name: ProbeName) => report.records[PROBE_NAMES.indexOf(name)] as InputRecord;
    // Crashes and hangs say where they happened and why.
    expect(record('hang')).toMatchObject({ stage: 'probe-hang', error: { name: 'Timeout' } });
    expect(record('abort')).toMatchObject({ stage: 'probe-abort', error: { name: 'Signal SIGABRT' } });
    expect(record('exit')).toMatchObject({ stage: 'probe-exit', error: { name: 'Exit 3' } });
    expect(record('heap-limit').error?.message).toMatch(/heap/i);
    if (linux) {
      expect(record('memory-limit')).toMatchObject({ stage: 'probe-memory-limit', error: { name: 'MemoryLimit' } });
      expect(report.peakRssKb).toBeGreaterThan(600 * 1024);
    }
    expect(record('untyped').error).toMatchObject({ name: 'TypeError', message: 'probe: an untyped error' });
    expect(report.counts).toEqual({ ok: 1, typed: 1, untyped: 2, crash: linux ? 4 : 3, hang: linux ? 1 : 2 });
    expect(report.findings.map((r) => r.index)).toEqual(
      PROBE_NAMES.flatMap((n, i) => (expected[n] === 'ok' || expected[n] === 'typed' ? [] : [i])),
    );
  }, 120_000);
});

describe.each(['gguf', 'safetensors'] as const)('fuzz %s', (format) => {
  it('every mutated input is accepted or refused with a typed error: no untyped error, crash or hang', async () => {
    const count = SAMPLE[format];
    const report = await runFuzz({
      format,
      count,
      seed: SEED,
      corpusDir,
      workRoot: root,
      // Inputs take tens of milliseconds; the limit only needs to tell a hang from a CI machine under load.
      timeoutMs: 30_000,
      describe: (index) => mutateInput(corpus, format, SEED, index),
    });
    const summary = formatReport(report);
    const findings = report.findings.map(
      (r) => `#${r.index} ${r.outcome} in ${r.stage}: ${r.error?.name}: ${r.error?.message.split('\n')[0]}`,
    );
    expect(findings, summary).toEqual([]);
    expect(report.records).toHaveLength(count);
    // validateGguf reports a bad file in its result; it does not throw.
    if (format === 'gguf') expect(report.stages.validate).toEqual({ ok: count, typed: 0, untyped: 0 });
    // The mutations reach past the header and into load often enough to test more than the parser.
    expect(report.pastHeader, summary).toBeGreaterThan(count * 0.25);
    expect(report.loaded, summary).toBeGreaterThan(count * 0.08);
    expect(report.counts.typed, summary).toBeGreaterThan(count * 0.3);
  }, 240_000);
});
