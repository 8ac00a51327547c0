/**
 * llama.cpp as an independent reference, through the binaries node-llama-cpp
 * ships on npm. Where they cannot run (a platform without prebuilt binaries)
 * the caller gets a reason to skip with; on linux-x64, where CI runs, a
 * failure is an error, never a skip.
 */
type GetLlama = typeof import('node-llama-cpp').getLlama;
export type LlamaCpp = Awaited<ReturnType<GetLlama>>;

export async function loadLlamaCpp(): Promise<
  { llama: LlamaCpp; unavailable?: undefined } | { llama?: undefined; unavailable: string }
> {
  try {
    const { getLlama } = await import('node-llama-cpp');
    return { llama: await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: 'error' as never }) };
  } catch (error) {
    if (process.platform === 'linux' && process.arch === 'x64') throw error;
    return {
      unavailable: `node-llama-cpp cannot run on ${process.platform}-${process.arch}: ${(error as Error).message}`,
    };
  }
}
