const decoder = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/**
 * UTF-8 bytes → string. Short ASCII strings (most vocabulary entries) are
 * built directly: a TextDecoder call per 5-byte token costs more than the
 * decoding. Invalid UTF-8 becomes U+FFFD, as TextDecoder does.
 */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length <= 24) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (bytes[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      switch (length) {
        case 0:
          return '';
        case 1:
          return String.fromCharCode(bytes[start]);
        case 2:
          return String.fromCharCode(bytes[start], bytes[start + 1]);
        case 3:
          return String.fromCharCode(bytes[start], bytes[start + 1], bytes[start + 2]);
        case 4:
          return String.fromCharCode(bytes[start], bytes[start + 1], bytes[start + 2], bytes[start + 3]);
        default:
          return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
      }
    }
  }
  return decoder.decode(bytes.subarray(start, end));
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
