/**
 * The fuzz child process. The parent (run.ts) sends one input index at a
 * time; the child rebuilds the input from the corpus, runs it, and answers
 * with one result message, having named each stage before starting it. If
 * the child dies or stops answering, the parent knows which input and stage
 * it was on.
 *
 * argv[2]: JSON WorkerConfig.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadKernel } from '@trit/tl1-kernel';
import { type Corpus, loadCorpus } from './corpus.js';
import { mutateInput } from './mutate.js';
import { type InputResult, runInput, runProbe, type StageContext } from './stages.js';

export interface WorkerConfig {
  format: 'gguf' | 'safetensors' | 'probe';
  seed: number;
  corpusDir?: string;
  /** Parent directory for this child's work directory. */
  workRoot: string;
  backend: 'js' | 'wasm' | 'native';
}

export type ToWorker = { type: 'input'; index: number } | { type: 'exit' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'stage'; index: number; stage: string }
  | { type: 'result'; result: InputResult; maxRssKb: number };

const send = (message: FromWorker) => (process.send as (m: FromWorker) => boolean)(message);

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] as string) as WorkerConfig;
  const corpus: Corpus | undefined = config.corpusDir ? await loadCorpus(config.corpusDir) : undefined;
  const kernel = await loadKernel({ implementation: config.backend, threads: 1 });
  const workDir = await mkdtemp(join(config.workRoot, 'child-'));
  let current = -1;
  const context: StageContext = {
    kernel,
    workDir: join(workDir, 'input'),
    onStage: (stage) => send({ type: 'stage', index: current, stage }),
  };
  // Inputs run one after another; messages queue here while one is running.
  let chain = Promise.resolve();
  process.on('message', (message: ToWorker) => {
    chain = chain.then(async () => {
      if (message.type === 'exit') {
        await rm(workDir, { recursive: true, force: true });
        await kernel.dispose();
        process.exit(0);
      }
      current = message.index;
      let result: InputResult;
      if (config.format === 'probe') result = await runProbe(message.index, context);
      else {
        const input = mutateInput(corpus as Corpus, config.format, config.seed, message.index);
        result = await runInput(input, context);
      }
      // Stacks only where they help: an untyped error's origin.
      for (const s of result.stages)
        if (s.error)
          s.error.stack = s.outcome === 'untyped' ? s.error.stack?.split('\n').slice(0, 9).join('\n') : undefined;
      send({ type: 'result', result, maxRssKb: process.resourceUsage().maxRSS });
    });
  });
  // An orphan (the parent was killed) must not keep a core busy.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

await main();
