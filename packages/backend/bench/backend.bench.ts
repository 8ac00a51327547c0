// End-to-end speed on one synthetic model: prefill and decode tokens/s of
// BitNetBackend (native kernel, 1 and 2 threads; the JS kernel as a baseline)
// against llama.cpp (node-llama-cpp's bundled binaries) on the same GGUF, in
// the same run, next to the decode ceiling the machine's memory bandwidth sets.

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argmax, BitNetBackend } from '@trit/backend';
import { quantizeModel } from '@trit/convert';
import { synthesizeModel } from '@trit/synth';
import { measureMemoryBandwidth } from '@trit/tl1-kernel';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const preset = quick ? 'tiny' : 'small';
const PROMPT = 64;
const DECODE = quick ? 16 : 48;

const dir = await mkdtemp(join(tmpdir(), 'trit-backend-bench-'));
try {
  const hf = join(dir, 'hf');
  await synthesizeModel({ arch: 'bitnet', preset, seed: 1, output: hf });
  const rows: { runtime: string; type: string; prefillTps: number; decodeTps: number }[] = [];
  const { GBps: bandwidth, method } = (await measureMemoryBandwidth([1]))[0] ?? {
    GBps: Number.NaN,
    method: 'unmeasured',
  };
  const weightBytes: Record<string, number> = {};
  for (const type of ['tq2_0', 'f16'] as const) {
    const path = join(dir, `${type}.gguf`);
    await quantizeModel(hf, path, type === 'f16' ? { floatOnly: 'f16' } : { format: type });
    weightBytes[type] = (await stat(path)).size;
    const prompt = Array.from({ length: PROMPT }, (_, i) => 1 + ((i * 131) % 400));

    for (const [backend, threads] of [
      ['js', 1],
      ['native', 1],
      ['native', 2],
    ] as const) {
      let model: BitNetBackend;
      try {
        model = await BitNetBackend.load(path, { backend, threads, contextSize: PROMPT + DECODE + 8 });
      } catch {
        continue;
      }
      // Warm-up: the first pass compiles the JIT paths.
      model.evaluate(prompt);
      for (let i = 0; i < 24; i++) model.forwardToken(1);
      model.resetCache();
      let t = performance.now();
      model.evaluate(prompt);
      const prefillMs = performance.now() - t;
      t = performance.now();
      let next = 1;
      for (let i = 0; i < DECODE; i++) next = argmax(model.forwardToken(next));
      const decodeMs = performance.now() - t;
      rows.push({
        runtime: `trit ${model.kernel.name} ×${threads}`,
        type,
        prefillTps: (PROMPT * 1000) / prefillMs,
        decodeTps: (DECODE * 1000) / decodeMs,
      });
      await model.dispose();
    }

    try {
      const { getLlama } = await import('node-llama-cpp');
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
      for (const threads of [1, 2]) {
        const model = await llama.loadModel({ modelPath: path });
        const context = await model.createContext({ contextSize: 256, threads });
        const warm = context.getSequence();
        await warm.evaluateWithoutGeneratingNewTokens(prompt as never);
        await warm.clearHistory();
        const sequence = warm;
        let t = performance.now();
        await sequence.evaluateWithoutGeneratingNewTokens(prompt as never);
        const prefillMs = performance.now() - t;
        t = performance.now();
        let n = 0;
        for await (const _ of sequence.evaluate([1 as never])) if (++n >= DECODE) break;
        const decodeMs = performance.now() - t;
        rows.push({
          runtime: `llama.cpp ×${threads}`,
          type,
          prefillTps: (PROMPT * 1000) / prefillMs,
          decodeTps: (n * 1000) / decodeMs,
        });
        await context.dispose();
        await model.dispose();
      }
    } catch (error) {
      console.warn(`llama.cpp baseline skipped: ${(error as Error).message}`);
    }
  }
  if (json) console.log(JSON.stringify({ preset, bandwidthGBps: bandwidth, weightBytes, rows }, null, 2));
  else {
    console.log(
      `\nBitNetBackend vs llama.cpp: synthetic bitnet "${preset}", ${PROMPT}-token prompt, ${DECODE} decoded tokens`,
    );
    console.log(`memory read bandwidth ≈ ${bandwidth.toFixed(1)} GB/s (${method}, 1 thread)`);
    for (const type of Object.keys(weightBytes)) {
      const ceiling = (bandwidth * 1e9) / (weightBytes[type] as number);
      console.log(
        `\n${type.toUpperCase()} (${((weightBytes[type] as number) / 1e6).toFixed(1)} MB; bandwidth ceiling ≈ ${ceiling.toFixed(0)} tok/s)`,
      );
      const base = rows.find((r) => r.type === type && r.runtime === 'llama.cpp ×1');
      for (const r of rows.filter((x) => x.type === type)) {
        const vs = base
          ? `  (${(r.prefillTps / base.prefillTps).toFixed(2)}× / ${(r.decodeTps / base.decodeTps).toFixed(2)}× llama.cpp ×1)`
          : '';
        console.log(
          `  ${r.runtime.padEnd(28)} prefill ${r.prefillTps.toFixed(0).padStart(6)} tok/s   decode ${r.decodeTps.toFixed(1).padStart(7)} tok/s${vs}`,
        );
      }
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
