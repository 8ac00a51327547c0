// Placeholder until the wasm build lands: instantiation and job running for wasm kernels.
export type WasmKernelExports = Record<string, unknown>;

export function instantiateWasmKernels(_module: WebAssembly.Module, _memory: WebAssembly.Memory, _stackTop?: number): WasmKernelExports {
  throw new Error('wasm kernels are not built yet');
}

export function runWasmJob(_exports: WasmKernelExports, _words: Uint32Array, _begin: number, _end: number): void {
  throw new Error('wasm kernels are not built yet');
}
