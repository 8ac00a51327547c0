/**
 * A minimal benchmark harness: each case is timed for at least `minMs` after a
 * warm-up, and rates are reported next to a baseline measured in the same run.
 */
export interface BenchResult {
  name: string;
  /** Mean wall time of one call, in microseconds. */
  microsPerCall: number;
  /** Work units (elements, weights, bytes …) processed per second. */
  unitsPerSecond: number;
}

export interface BenchOptions {
  /** Work units one call processes, for the rate column. */
  units: number;
  minMs?: number;
  warmupMs?: number;
}

export function measure(name: string, fn: () => unknown, options: BenchOptions): BenchResult {
  const minMs = options.minMs ?? 400;
  const warmupMs = options.warmupMs ?? 150;
  let sink: unknown;
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) sink = fn();
  let calls = 0;
  const start = performance.now();
  let elapsedMs = 0;
  // Grow the batch so timer overhead stays negligible for fast calls.
  let batch = 1;
  while (elapsedMs < minMs) {
    for (let i = 0; i < batch; i++) sink = fn();
    calls += batch;
    elapsedMs = performance.now() - start;
    if (elapsedMs < minMs / 10) batch *= 2;
  }
  keep(sink);
  const microsPerCall = (elapsedMs * 1000) / calls;
  return { name, microsPerCall, unitsPerSecond: (options.units * calls) / (elapsedMs / 1000) };
}

const sink: unknown[] = [undefined];
/** Stops the JIT from discarding a benchmark's result: it is stored where code could read it. */
export function keep(value: unknown): void {
  sink[0] = value;
}

export interface BenchRow {
  result: BenchResult;
  baseline?: BenchResult;
  /** Goal in units per second, shown as met or missed. */
  goal?: number;
}

/** Formats rows as an aligned table: rate in M units/s, µs per call, ratio to baseline, goal. */
export function formatTable(title: string, unitName: string, rows: BenchRow[]): string {
  const header = ['case', `M ${unitName}/s`, 'µs/call', 'vs baseline', 'goal'];
  const body = rows.map(({ result, baseline, goal }) => [
    result.name,
    (result.unitsPerSecond / 1e6).toFixed(1),
    result.microsPerCall.toFixed(1),
    baseline ? `${(result.unitsPerSecond / baseline.unitsPerSecond).toFixed(2)}× ${baseline.name}` : '',
    goal === undefined ? '' : `${result.unitsPerSecond >= goal ? 'met' : 'MISSED'} (≥ ${goal / 1e6} M/s)`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd();
  return [`\n${title}`, line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
