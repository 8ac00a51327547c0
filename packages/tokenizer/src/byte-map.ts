/**
 * GPT-2's byte ↔ code point table (`unicode_byte_to_utf8_map` in llama.cpp):
 * printable bytes 0x21–0x7E, 0xA1–0xAC and 0xAE–0xFF map to themselves, the
 * other 68 bytes in ascending order map to U+0100 + n. So " " (0x20) → "Ġ"
 * (U+0120), "\n" (0x0A) → "Ċ" (U+010A), 0xAD → U+0143.
 */
export const BYTE_TO_CODE_POINT: Uint16Array = (() => {
  const table = new Uint16Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = printable ? b : 0x100 + n++;
  }
  return table;
})();

/** Inverse of BYTE_TO_CODE_POINT over U+0000–U+0143; -1 for code points that are no byte's image. */
export const CODE_POINT_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x144).fill(-1);
  for (let b = 0; b < 256; b++) table[BYTE_TO_CODE_POINT[b]] = b;
  return table;
})();

/** The byte-level string of a UTF-8 byte sequence, e.g. " hi" → "Ġhi". */
export function bytesToByteLevel(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(BYTE_TO_CODE_POINT[bytes[i]]);
  return s;
}
