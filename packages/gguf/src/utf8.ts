const decoder = new TextDecoder('utf-8');
const encoder = new TextEncoder();

const units = new Uint16Array(64);

interface NodeBufferLike {
  toString(encoding: 'utf8', start: number, end: number): string;
}
type BufferConstructorLike = { from(buffer: ArrayBufferLike, byteOffset: number, length: number): NodeBufferLike };
const NodeBuffer = (globalThis as { Buffer?: BufferConstructorLike }).Buffer;

/**
 * A decoder bound to one byte array. On Node it goes through Buffer, which
 * builds strings straight from the bytes (no view object per string, which
 * dominated parsing a 430k-string vocabulary); elsewhere through decodeUtf8.
 */
export function utf8DecoderFor(bytes: Uint8Array): (start: number, end: number) => string {
  if (NodeBuffer) {
    const buffer = NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return (start, end) => buffer.toString('utf8', start, end);
  }
  return (start, end) => decodeUtf8(bytes, start, end);
}

/**
 * UTF-8 bytes → string. Short strings (vocabulary entries, keys, tensor
 * names) are decoded by hand: a TextDecoder call per 5-byte token costs more
 * than the decoding. Anything unusual (long, 4-byte or invalid sequences)
 * goes to TextDecoder, so invalid UTF-8 becomes U+FFFD exactly as it does.
 */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length > 64) return decoder.decode(bytes.subarray(start, end));
  let n = 0;
  for (let i = start; i < end; ) {
    const b = bytes[i];
    if (b < 0x80) {
      units[n++] = b;
      i++;
    } else if (b >= 0xc2 && b < 0xe0 && i + 1 < end && (bytes[i + 1] & 0xc0) === 0x80) {
      units[n++] = ((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
      i += 2;
    } else if (
      b >= 0xe0 &&
      b < 0xf0 &&
      i + 2 < end &&
      (bytes[i + 1] & 0xc0) === 0x80 &&
      (bytes[i + 2] & 0xc0) === 0x80
    ) {
      const c = ((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
      // Overlong forms and surrogates are invalid: let TextDecoder replace them.
      if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) return decoder.decode(bytes.subarray(start, end));
      units[n++] = c;
      i += 3;
    } else {
      return decoder.decode(bytes.subarray(start, end));
    }
  }
  switch (n) {
    case 0:
      return '';
    case 1:
      return String.fromCharCode(units[0]);
    case 2:
      return String.fromCharCode(units[0], units[1]);
    case 3:
      return String.fromCharCode(units[0], units[1], units[2]);
    default:
      return String.fromCharCode.apply(null, units.subarray(0, n) as unknown as number[]);
  }
}

export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** UTF-8 byte length without encoding. Lone surrogates count as U+FFFD (3 bytes), as TextEncoder writes them. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
