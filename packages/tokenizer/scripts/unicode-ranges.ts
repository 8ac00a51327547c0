// What both table generators share: code point ranges of a Unicode property, and
// their encoding in src/unicode-data.ts and src/wordpiece-data.ts.

/** The [first, last] code point ranges (flattened) whose one-character string matches `pattern`. */
export function codePointRanges(pattern: RegExp): number[] {
  const out: number[] = [];
  let start = -1;
  for (let cp = 0; cp <= 0x110000; cp++) {
    const inside = cp < 0x110000 && pattern.test(String.fromCodePoint(cp));
    if (inside && start < 0) start = cp;
    if (!inside && start >= 0) {
      out.push(start, cp - 1);
      start = -1;
    }
  }
  return out;
}

/**
 * Delta-encoded in base 36 so a table stays a few kilobytes of source: each range is
 * "gap-from-previous-end.length-minus-one", ranges separated by commas.
 */
export function encodeRanges(list: number[]): string {
  const parts: string[] = [];
  let previousEnd = -1;
  for (let i = 0; i < list.length; i += 2) {
    parts.push(`${(list[i] - previousEnd - 1).toString(36)}.${(list[i + 1] - list[i]).toString(36)}`);
    previousEnd = list[i + 1];
  }
  return parts.join(',');
}
