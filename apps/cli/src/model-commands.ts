import type { GenerationStats } from '@trit/backend';
import type { QuantizeReport } from '@trit/convert';
import type { LayerMask } from '@trit/quantizer';
import { UsageError } from './errors.js';
import { formatBytes } from './inspect.js';

/** A one-line progress bar on stderr when it is a terminal; nothing otherwise. */
export function progressBar(label: string): { update(done: number, total: number, detail: string): void; end(): void } {
  const tty = process.stderr.isTTY;
  return {
    update(done, total, detail) {
      if (!tty) return;
      const width = 24;
      const filled = total > 0 ? Math.round((width * done) / total) : 0;
      process.stderr.write(
        `\r\x1b[K${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${((100 * done) / Math.max(total, 1)).toFixed(0)}% ${detail}`,
      );
    },
    end() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

/** Ctrl-C aborts the job (its output is removed) instead of killing the process mid-write. */
export function abortOnInterrupt(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupted: removing partial output…\n');
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

export function parseLayers(value: string | undefined): LayerMask {
  if (value === undefined || value === 'all') return 'all';
  if (value === 'experts') return 'experts-only';
  return {
    custom: value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  };
}

const FORMATS = ['tq2_0', 'tq1_0', 'i2_s', 't158'] as const;
const SCALES = ['tensor', 'block'] as const;

/** `--format` and `--scales`, checked; undefined scales leave the choice to the converter (tensor for BitNet checkpoints). */
export function parseQuantizeChoices(
  format: string | undefined,
  scales: string | undefined,
): { format: (typeof FORMATS)[number]; scales: (typeof SCALES)[number] | undefined } {
  const chosen = format ?? 'tq2_0';
  if (!(FORMATS as readonly string[]).includes(chosen))
    throw new UsageError(`--format must be ${FORMATS.join(', ')}, got "${chosen}"`);
  if (scales !== undefined && !(SCALES as readonly string[]).includes(scales))
    throw new UsageError(`--scales must be tensor or block, got "${scales}"`);
  return { format: chosen as (typeof FORMATS)[number], scales: scales as (typeof SCALES)[number] | undefined };
}

export function formatQuantizeReport(report: QuantizeReport): string {
  const architecture =
    report.fileArchitecture === report.architecture
      ? report.architecture
      : `${report.fileArchitecture} (from ${report.architecture})`;
  const lines = [
    `${report.output}: ${architecture}, ${report.totals.tensors} tensors (${report.totals.ternaryTensors} ternary) from ${report.input}`,
  ];
  if (report.quantization.length > 0) lines.push(`quantization: ${report.quantization.join('; ')}`);
  const { output, tokenEmbd, rule } = report.denseTypes;
  const chosen = [output && `output ${output}`, tokenEmbd && `token_embd ${tokenEmbd}`].filter(Boolean).join(', ');
  if (chosen)
    lines.push(
      `dense types: ${chosen} (${rule === 'options' ? 'as asked' : rule === 'dense precision' ? 'the dense precision' : `${rule}'s llama-quantize default`})`,
    );
  const width = Math.max(...report.tensors.map((t) => t.name.length));
  for (const t of report.tensors) {
    lines.push(
      `  ${t.name.padEnd(width)}  ${t.format.padEnd(5)}  ${t.shape.join('×').padEnd(11)}  rel.err ${t.relativeError.toFixed(4)}  mse ${t.mse.toExponential(2)}  ${t.format.startsWith('TQ') || t.format === 'T158' || t.format === 'I2_S' ? `sparsity ${(t.sparsity * 100).toFixed(1)}%` : ''.padEnd(14)}  ${formatBytes(t.bytes)}`,
    );
  }
  const tt = report.totals;
  lines.push(
    `total: ${tt.weights.toLocaleString('en-US')} weights in ${formatBytes(tt.bytes)} (${tt.bitsPerWeight.toFixed(3)} bits/weight), file ${formatBytes(tt.fileBytes)}, ${tt.seconds.toFixed(1)} s`,
  );
  return lines.join('\n');
}

export function formatStats(stats: GenerationStats): string {
  return `${stats.promptTokens} prompt tokens in ${stats.prefillMs.toFixed(0)} ms (${stats.prefillTokensPerSecond.toFixed(1)} tok/s), ${stats.generatedTokens} generated in ${stats.decodeMs.toFixed(0)} ms (${stats.decodeTokensPerSecond.toFixed(1)} tok/s), stopped: ${stats.finishReason}`;
}
