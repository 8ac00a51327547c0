import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MergeEngine, type MergeRules } from './merge.js';
import { PairTable } from './pair-table.js';

/** Spec: repeatedly merge the adjacent pair with the smallest (priority, position). */
function naiveMerge(symbols: number[], rules: Map<string, [priority: number, result: number]>): number[] {
  const s = [...symbols];
  for (;;) {
    let best = -1;
    let bestPriority = Number.POSITIVE_INFINITY;
    for (let i = 0; i + 1 < s.length; i++) {
      const rule = rules.get(`${s[i]},${s[i + 1]}`);
      if (rule && rule[0] < bestPriority) {
        bestPriority = rule[0];
        best = i;
      }
    }
    if (best < 0) return s;
    const rule = rules.get(`${s[best]},${s[best + 1]}`) as [number, number];
    s.splice(best, 2, rule[1]);
  }
}

const ruleSet = fc.array(fc.tuple(fc.nat(5), fc.nat(5), fc.nat(8), fc.nat(7)), { maxLength: 30 });

function build(list: [number, number, number, number][]) {
  const map = new Map<string, [number, number]>();
  const pairs = new PairTable(4);
  const priority: number[] = [];
  const result: number[] = [];
  for (const [a, b, p, r] of list) {
    if (!pairs.add(a, b, priority.length)) continue;
    priority.push(p);
    result.push(r);
    map.set(`${a},${b}`, [p, r]);
  }
  const rules: MergeRules = { pairs, priority: Int32Array.from(priority), result: Int32Array.from(result) };
  return { map, rules };
}

describe('MergeEngine', () => {
  it('merges by smallest priority, leftmost on ties, with the heap and with the linear scan', () => {
    fc.assert(
      fc.property(ruleSet, fc.array(fc.nat(7), { maxLength: 60 }), (list, input) => {
        const { map, rules } = build(list);
        const expected = naiveMerge(input, map);
        for (const limit of [0, 1000]) {
          const engine = new MergeEngine(rules);
          engine.linearScanLimit = limit;
          engine.reserve(input.length).set(input);
          const n = engine.merge(input.length);
          expect(Array.from(engine.symbols.subarray(0, n))).toEqual(expected);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('handles long inputs (heap) in O(n log n)', () => {
    // "a" * n with a → aa → aaaa …: log2(n) rounds of merges.
    const { rules } = build([
      [0, 0, 0, 1],
      [1, 1, 1, 2],
      [2, 2, 2, 3],
      [3, 3, 3, 4],
    ]);
    const engine = new MergeEngine(rules);
    const n = 200_000;
    engine.reserve(n).fill(0, 0, n);
    const count = engine.merge(n);
    expect(count).toBe(n / 16);
    expect(engine.symbols[0]).toBe(4);
  });
});

describe('PairTable', () => {
  it('keeps the first value for a pair and grows', () => {
    const table = new PairTable(1);
    for (let i = 0; i < 1000; i++) expect(table.add(i, i * 7, i)).toBe(true);
    expect(table.add(5, 35, 99)).toBe(false);
    expect(table.get(5, 35)).toBe(5);
    expect(table.get(35, 5)).toBe(-1);
    expect(table.size).toBe(1000);
  });
});
