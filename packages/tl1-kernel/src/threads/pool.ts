import { workerScript } from '../package-files.js';
import { CONTROL_WORDS, FAILED, GENERATION, GRAIN, KIND, PENDING, rowRange, THREADS } from './jobs.js';

/** What each worker runs: the JS kernels, or the wasm kernels on the shared memory. */
export interface WorkerSetup {
  mode: 'js' | 'wasm';
  memory: WebAssembly.Memory;
  /** wasm mode: the compiled multi-threaded module and each worker's stack top. */
  wasmModule?: WebAssembly.Module;
  stackTops?: number[];
}

export const ROWS_WORD = 5;
const STOP = 0xffffffff;
/** No worker finishing for this long means one is gone; no row range takes minutes. */
const STALL_MS = 120_000;
/** How long a worker polls for the next job, and the caller for the workers, before sleeping (ms). */
export const SPIN_MS = 0.2;

/**
 * A persistent pool of worker threads that split a job's rows with the calling
 * thread. Jobs start and finish through Atomics on a shared control block, so
 * there is no message per call and no thread creation per call.
 */
export class WorkerPool {
  private constructor(
    readonly threads: number,
    private readonly control: Int32Array,
    readonly words: Uint32Array,
    private readonly workers: { terminate(): Promise<number> }[],
  ) {}

  static async create(threads: number, setup: WorkerSetup): Promise<WorkerPool> {
    const { Worker } = await import('node:worker_threads');
    const { fileURLToPath } = await import('node:url');
    const shared = new SharedArrayBuffer(CONTROL_WORDS * 4);
    const control = new Int32Array(shared);
    const script = fileURLToPath(workerScript());
    const workers = [];
    const ready: Promise<void>[] = [];
    for (let index = 1; index < threads; index++) {
      const worker = new Worker(script, {
        workerData: { index, control: shared, setup: { ...setup, stackTop: setup.stackTops?.[index] } },
      });
      worker.unref();
      ready.push(
        new Promise((resolve, reject) => {
          worker.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
          worker.once('error', reject);
        }),
      );
      workers.push(worker);
    }
    await Promise.all(ready);
    return new WorkerPool(threads, control, new Uint32Array(shared), workers);
  }

  /**
   * Runs the job written into `words` over `rows`: workers take their ranges,
   * `runOwn` does the calling thread's range; returns when all are done.
   */
  run(rows: number, runOwn: (begin: number, end: number) => void, grain = 1): void {
    const { control, words, threads } = this;
    words[THREADS] = threads;
    words[ROWS_WORD] = rows;
    words[GRAIN] = grain;
    Atomics.store(control, FAILED, 0);
    Atomics.store(control, PENDING, threads - 1);
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    const [begin, end] = rowRange(rows, 0, threads, grain);
    let ownError: unknown;
    try {
      runOwn(begin, end);
    } catch (error) {
      ownError = error;
    }
    // The workers' ranges are as long as ours: poll briefly before sleeping on PENDING.
    const until = performance.now() + SPIN_MS;
    for (let i = 1; Atomics.load(control, PENDING) !== 0; i++) if ((i & 255) === 0 && performance.now() > until) break;
    // A worker that stopped answering (it crashed, or missed the job) must not hang the caller forever.
    let last = Atomics.load(control, PENDING);
    let since = Date.now();
    for (let pending = last; pending !== 0; pending = Atomics.load(control, PENDING)) {
      Atomics.wait(control, PENDING, pending, 50);
      if (pending !== last) {
        last = pending;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        throw new Error(`${pending} kernel worker thread(s) made no progress for ${STALL_MS / 1000} s`);
      }
    }
    if (ownError) throw ownError;
    if (Atomics.load(control, FAILED) !== 0) throw new Error('a kernel worker thread failed; see its error output');
  }

  async dispose(): Promise<void> {
    this.words[KIND] = STOP;
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export { STOP };
