/** GGUF metadata value types; the numbers are the ids written in the file. */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

const VALUE_TYPE_NAMES: Record<GgufValueType, string> = {
  [GgufValueType.UINT8]: 'u8',
  [GgufValueType.INT8]: 'i8',
  [GgufValueType.UINT16]: 'u16',
  [GgufValueType.INT16]: 'i16',
  [GgufValueType.UINT32]: 'u32',
  [GgufValueType.INT32]: 'i32',
  [GgufValueType.FLOAT32]: 'f32',
  [GgufValueType.BOOL]: 'bool',
  [GgufValueType.STRING]: 'string',
  [GgufValueType.ARRAY]: 'array',
  [GgufValueType.UINT64]: 'u64',
  [GgufValueType.INT64]: 'i64',
  [GgufValueType.FLOAT64]: 'f64',
};

/** Bytes of one scalar of each fixed-size type; strings and arrays are variable. */
export const VALUE_TYPE_BYTES: Readonly<Partial<Record<GgufValueType, number>>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

export function isGgufValueType(id: number): id is GgufValueType {
  return Number.isInteger(id) && id >= 0 && id <= 12;
}

/** `u32`, `string`, `array[f32]`, … for messages. */
export function valueTypeName(type: GgufValueType | number, elementType?: GgufValueType): string {
  const name = VALUE_TYPE_NAMES[type as GgufValueType] ?? `unknown type ${type}`;
  return type === GgufValueType.ARRAY && elementType !== undefined ? `array[${valueTypeName(elementType)}]` : name;
}

type SmallNumberType =
  | GgufValueType.UINT8
  | GgufValueType.INT8
  | GgufValueType.UINT16
  | GgufValueType.INT16
  | GgufValueType.UINT32
  | GgufValueType.INT32
  | GgufValueType.FLOAT32
  | GgufValueType.FLOAT64;

export type GgufScalarValue =
  | { type: SmallNumberType; value: number }
  /** 64-bit integers are numbers when they are safe integers, bigints otherwise. */
  | { type: GgufValueType.UINT64 | GgufValueType.INT64; value: number | bigint }
  | { type: GgufValueType.BOOL; value: boolean }
  | { type: GgufValueType.STRING; value: string };

/**
 * Array elements as read: numeric types up to 32 bits (and f64) as typed
 * arrays, so a 150k-entry score array is one allocation; 64-bit integers,
 * bools and strings as plain arrays; nested arrays as arrays of GgufArrayValue.
 */
export type GgufArrayElements =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | Array<number | bigint>
  | boolean[]
  | string[]
  | GgufArrayValue[];

export interface GgufArrayValue {
  type: GgufValueType.ARRAY;
  elementType: GgufValueType;
  value: GgufArrayElements;
}

/** One metadata value with its GGUF type, so a read-then-write round trip is exact. */
export type GgufMetadataValue = GgufScalarValue | GgufArrayValue;

/** Constructors for typed values, for writing keys whose exact type matters. */
export const GgufValue = {
  u8: (value: number): GgufMetadataValue => ({ type: GgufValueType.UINT8, value }),
  i8: (value: number): GgufMetadataValue => ({ type: GgufValueType.INT8, value }),
  u16: (value: number): GgufMetadataValue => ({ type: GgufValueType.UINT16, value }),
  i16: (value: number): GgufMetadataValue => ({ type: GgufValueType.INT16, value }),
  u32: (value: number): GgufMetadataValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufMetadataValue => ({ type: GgufValueType.INT32, value }),
  u64: (value: number | bigint): GgufMetadataValue => ({ type: GgufValueType.UINT64, value }),
  i64: (value: number | bigint): GgufMetadataValue => ({ type: GgufValueType.INT64, value }),
  f32: (value: number): GgufMetadataValue => ({ type: GgufValueType.FLOAT32, value }),
  f64: (value: number): GgufMetadataValue => ({ type: GgufValueType.FLOAT64, value }),
  bool: (value: boolean): GgufMetadataValue => ({ type: GgufValueType.BOOL, value }),
  string: (value: string): GgufMetadataValue => ({ type: GgufValueType.STRING, value }),
  array: (elementType: GgufValueType, value: GgufArrayElements): GgufArrayValue => ({
    type: GgufValueType.ARRAY,
    elementType,
    value,
  }),
} as const;
