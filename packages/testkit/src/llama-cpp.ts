/**
 * llama.cpp as an independent reference, through the binaries node-llama-cpp
 * ships on npm. Where they cannot run (a platform without prebuilt binaries)
 * the caller gets a reason to skip with; on linux-x64, where CI runs, a
 * failure is an error, never a skip.
 */
type GetLlama = typeof import('node-llama-cpp').getLlama;
export type LlamaCpp = Awaited<ReturnType<GetLlama>>;

/** getLlama forks a child to test the binary first; under heavy load that takes seconds, never minutes. */
const START_TIMEOUT_MS = 120_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function loadLlamaCpp(): Promise<
  { llama: LlamaCpp; unavailable?: undefined } | { llama?: undefined; unavailable: string }
> {
  try {
    const { getLlama } = await import('node-llama-cpp');
    const llama = await withTimeout(
      getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: 'error' as never }),
      START_TIMEOUT_MS,
      'node-llama-cpp getLlama()',
    );
    return { llama };
  } catch (error) {
    if (process.platform === 'linux' && process.arch === 'x64') throw error;
    return {
      unavailable: `node-llama-cpp cannot run on ${process.platform}-${process.arch}: ${(error as Error).message}`,
    };
  }
}

/**
 * Releases llama.cpp's native resources. Test files call this in afterAll so
 * the worker process has nothing left that could keep it from exiting.
 */
export async function disposeLlamaCpp(llama: LlamaCpp | undefined): Promise<void> {
  if (llama) await withTimeout(llama.dispose(), 30_000, 'node-llama-cpp dispose()');
}
