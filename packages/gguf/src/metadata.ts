import { GgufMetadataError } from './errors.js';
import {
  type GgufArrayElements,
  type GgufArrayValue,
  type GgufMetadataValue,
  GgufValueType,
  valueTypeName,
} from './value-types.js';

const NUMERIC = new Set<GgufValueType>([
  GgufValueType.UINT8,
  GgufValueType.INT8,
  GgufValueType.UINT16,
  GgufValueType.INT16,
  GgufValueType.UINT32,
  GgufValueType.INT32,
  GgufValueType.FLOAT32,
  GgufValueType.UINT64,
  GgufValueType.INT64,
  GgufValueType.FLOAT64,
]);

/**
 * GGUF metadata with its value types kept. The typed getters demand the exact
 * GGUF type, as llama.cpp's loader does ("key … has wrong type u64 but
 * expected type u32"); pass a fallback to make a key optional.
 */
export class GgufMetadata implements Iterable<[string, GgufMetadataValue]> {
  private readonly map: ReadonlyMap<string, GgufMetadataValue>;

  constructor(
    entries: Iterable<[string, GgufMetadataValue]> = [],
    /** Named in errors: the file the metadata came from. */
    readonly source?: string,
  ) {
    this.map = new Map(entries);
  }

  get size(): number {
    return this.map.size;
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  get(key: string): GgufMetadataValue | undefined {
    return this.map.get(key);
  }
  keys(): IterableIterator<string> {
    return this.map.keys();
  }
  entries(): IterableIterator<[string, GgufMetadataValue]> {
    return this.map.entries();
  }
  [Symbol.iterator](): IterableIterator<[string, GgufMetadataValue]> {
    return this.map.entries();
  }

  /**
   * The values without their types, e.g. for JSON output (bigints stay
   * bigints). The object has no prototype, so a key `__proto__` is an
   * ordinary key and `toString` is absent unless the file has it.
   */
  toObject(): Record<string, unknown> {
    const out: Record<string, unknown> = Object.create(null);
    for (const [key, entry] of this.map) out[key] = unwrap(entry);
    return out;
  }

  private require(key: string, type: GgufValueType, fallback: unknown): GgufMetadataValue | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) {
      if (fallback !== undefined) return undefined;
      throw new GgufMetadataError('missing metadata key', {
        source: this.source,
        key,
        expected: valueTypeName(type),
        found: 'no such key',
      });
    }
    if (entry.type !== type) throw this.wrongType(key, valueTypeName(type), entry);
    return entry;
  }

  private wrongType(key: string, expected: string, entry: GgufMetadataValue): GgufMetadataError {
    const found =
      entry.type === GgufValueType.ARRAY ? valueTypeName(entry.type, entry.elementType) : valueTypeName(entry.type);
    return new GgufMetadataError('metadata key has the wrong type', { source: this.source, key, expected, found });
  }

  getU8(key: string, fallback?: number): number {
    return (this.require(key, GgufValueType.UINT8, fallback)?.value as number) ?? (fallback as number);
  }
  getI8(key: string, fallback?: number): number {
    return (this.require(key, GgufValueType.INT8, fallback)?.value as number) ?? (fallback as number);
  }
  getU16(key: string, fallback?: number): number {
    return (this.require(key, GgufValueType.UINT16, fallback)?.value as number) ?? (fallback as number);
  }
  getI16(key: string, fallback?: number): number {
    return (this.require(key, GgufValueType.INT16, fallback)?.value as number) ?? (fallback as number);
  }
  getU32(key: string, fallback?: number): number {
    return (this.require(key, GgufValueType.UINT32, fallback)?.value as number) ?? (fallback as number);
  }
  getI32(key: string, fallback?: number): number {
    return (this.require(key, GgufValueType.INT32, fallback)?.value as number) ?? (fallback as number);
  }
  getU64(key: string, fallback?: number | bigint): number | bigint {
    return (this.require(key, GgufValueType.UINT64, fallback)?.value as number | bigint) ?? (fallback as number);
  }
  getI64(key: string, fallback?: number | bigint): number | bigint {
    return (this.require(key, GgufValueType.INT64, fallback)?.value as number | bigint) ?? (fallback as number);
  }
  getF32(key: string, fallback?: number): number {
    return (this.require(key, GgufValueType.FLOAT32, fallback)?.value as number) ?? (fallback as number);
  }
  getF64(key: string, fallback?: number): number {
    return (this.require(key, GgufValueType.FLOAT64, fallback)?.value as number) ?? (fallback as number);
  }
  getBool(key: string, fallback?: boolean): boolean {
    return (this.require(key, GgufValueType.BOOL, fallback)?.value as boolean) ?? (fallback as boolean);
  }
  getString(key: string, fallback?: string): string {
    return (this.require(key, GgufValueType.STRING, fallback)?.value as string) ?? (fallback as string);
  }

  /** Any numeric type, as a number (64-bit values beyond 2^53 are an error). Lenient, for optional hyper-parameters. */
  getNumber(key: string, fallback?: number): number {
    const entry = this.map.get(key);
    if (entry === undefined) {
      if (fallback !== undefined) return fallback;
      throw new GgufMetadataError('missing metadata key', {
        source: this.source,
        key,
        expected: 'a number',
        found: 'no such key',
      });
    }
    if (!NUMERIC.has(entry.type)) throw this.wrongType(key, 'a number', entry);
    if (typeof entry.value === 'bigint') {
      throw new GgufMetadataError('metadata value does not fit in a JavaScript number', {
        source: this.source,
        key,
        expected: `at most ${Number.MAX_SAFE_INTEGER}`,
        found: entry.value.toString(),
      });
    }
    return entry.value as number;
  }

  /** An array, optionally of a given element type. */
  getArray(key: string, elementType?: GgufValueType): GgufArrayValue {
    const entry = this.require(key, GgufValueType.ARRAY, undefined) as GgufArrayValue;
    if (elementType !== undefined && entry.elementType !== elementType) {
      throw this.wrongType(key, valueTypeName(GgufValueType.ARRAY, elementType), entry);
    }
    return entry;
  }

  getStringArray(key: string): string[] {
    return this.getArray(key, GgufValueType.STRING).value as string[];
  }
}

function unwrapElements(elements: GgufArrayElements): unknown {
  return Array.isArray(elements) && elements.length > 0 && typeof elements[0] === 'object'
    ? (elements as GgufArrayValue[]).map((inner) => unwrapElements(inner.value))
    : elements;
}

function unwrap(entry: GgufMetadataValue): unknown {
  return entry.type === GgufValueType.ARRAY ? unwrapElements(entry.value) : entry.value;
}
