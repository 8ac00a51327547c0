/**
 * A heap in one WebAssembly.Memory, shared with worker threads (and with the
 * wasm kernels when they run). Prepared matrices and per-call scratch live
 * here so every thread sees the same bytes without copies. First-fit free
 * list; regions of collected matrices come back through a FinalizationRegistry.
 */
const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

export class SharedHeap {
  readonly memory: WebAssembly.Memory;
  private top: number;
  private readonly free: { at: number; size: number }[] = [];
  private readonly registry = new FinalizationRegistry<{ at: number; size: number }>((r) => this.release(r.at, r.size));

  /** `base`: bytes at the bottom reserved for a wasm module's own stack and data. */
  constructor(base: number, shared: boolean) {
    this.memory = new WebAssembly.Memory({
      initial: Math.ceil((base + PAGE) / PAGE),
      maximum: MAX_PAGES,
      shared,
    } as WebAssembly.MemoryDescriptor);
    this.top = base;
  }

  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  /** Reserves `size` bytes aligned to 64; returns the address. */
  alloc(size: number): number {
    const bytes = Math.max(64, Math.ceil(size / 64) * 64);
    for (let i = 0; i < this.free.length; i++) {
      const region = this.free[i];
      if (region.size >= bytes) {
        const at = region.at;
        if (region.size === bytes) this.free.splice(i, 1);
        else {
          region.at += bytes;
          region.size -= bytes;
        }
        return at;
      }
    }
    const at = this.top;
    const end = at + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new RangeError(`kernel heap: ${end} bytes needed, the 4 GiB wasm32 limit is ${MAX_PAGES * PAGE}`);
      }
      this.memory.grow(pages);
    }
    this.top = end;
    return at;
  }

  /** Copies `data` into the heap; returns its address. */
  put(data: ArrayBufferView): number {
    const at = this.alloc(data.byteLength);
    new Uint8Array(this.memory.buffer, at, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    return at;
  }

  /** Frees [at, at + size) when `owner` is garbage-collected. */
  releaseWith(owner: object, at: number, size: number): void {
    this.registry.register(owner, { at, size: Math.max(64, Math.ceil(size / 64) * 64) });
  }

  /** Returns [at, at + size) to the free list now. */
  release(at: number, size: number): void {
    size = Math.max(64, Math.ceil(size / 64) * 64);
    this.free.push({ at, size });
    this.free.sort((a, b) => a.at - b.at);
    // Merge neighbours so large matrices can reuse the space.
    for (let i = this.free.length - 1; i > 0; i--) {
      const previous = this.free[i - 1];
      const current = this.free[i];
      if (previous.at + previous.size === current.at) {
        previous.size += current.size;
        this.free.splice(i, 1);
      }
    }
  }
}
