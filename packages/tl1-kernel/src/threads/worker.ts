// A kernel worker thread: waits for a job generation, runs its row range with
// the JS or wasm kernels on the shared heap, reports completion.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateWasmKernels, runWasmJob } from '../wasm/instance.js';
import { FAILED, GENERATION, GRAIN, KIND, PENDING, rowRange, runJsJob, THREADS } from './jobs.js';
import { ROWS_WORD, SPIN_MS, STOP, type WorkerSetup } from './pool.js';

const {
  index,
  control: shared,
  setup,
} = workerData as {
  index: number;
  control: SharedArrayBuffer;
  setup: WorkerSetup & { stackTop?: number };
};
const control = new Int32Array(shared);
const words = new Uint32Array(shared);

const exportsOrUndefined =
  setup.mode === 'wasm' && setup.wasmModule
    ? instantiateWasmKernels(setup.wasmModule, setup.memory, setup.stackTop)
    : undefined;

// Read the generation before saying ready: the pool posts its first job as
// soon as every worker is ready, and a worker that read the generation after
// that would take the job's generation as already seen and sleep through it.
let seen = Atomics.load(control, GENERATION);
parentPort?.postMessage('ready');
// Test hook (pool.test.ts): widen the window between "ready" and the first wait.
const readyDelayMs = Number(process.env.TL1_WORKER_READY_DELAY_MS ?? 0);
if (readyDelayMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, readyDelayMs);

for (;;) {
  awaitGeneration(seen);
  seen = Atomics.load(control, GENERATION);
  if (words[KIND] === STOP) break;
  try {
    const [begin, end] = rowRange(words[ROWS_WORD], index, words[THREADS], words[GRAIN]);
    if (begin < end) {
      if (exportsOrUndefined) runWasmJob(exportsOrUndefined, words, begin, end);
      else runJsJob(setup.memory.buffer, words, begin, end);
    }
  } catch (error) {
    Atomics.store(control, FAILED, 1);
    console.error(`@trit/tl1-kernel worker ${index}:`, error);
  }
  if (Atomics.sub(control, PENDING, 1) === 1) Atomics.notify(control, PENDING);
}

/**
 * Waits for the generation to move past `last`: polls it for SPIN_MS first (a decode step posts
 * jobs back to back, and waking from Atomics.wait costs tens of microseconds), then sleeps.
 */
function awaitGeneration(last: number): void {
  const until = performance.now() + SPIN_MS;
  for (let i = 1; Atomics.load(control, GENERATION) === last; i++) {
    if ((i & 255) === 0 && performance.now() > until) {
      Atomics.wait(control, GENERATION, last);
      return;
    }
  }
}
