import {
  discoverTensors,
  type GgufFile,
  type GgufMetadataValue,
  GgufValueType,
  readGguf,
  type TensorDiscoveryReport,
  type ValidateGgufOptions,
  validateGguf,
  valueTypeName,
} from '@trit/gguf';
import { tokenizerFromGguf } from '@trit/tokenizer';

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** One metadata value on one line: long arrays and strings are summarised. */
export function describeValue(value: GgufMetadataValue): string {
  if (value.type === GgufValueType.ARRAY) {
    const items = Array.from(value.value as ArrayLike<unknown>).slice(0, 4);
    const shown = items.map((v) =>
      typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? '[…]' : String(v),
    );
    const more = value.value.length > items.length ? `, … (${value.value.length} items)` : '';
    return `${valueTypeName(value.type, value.elementType)} [${shown.join(', ')}${more}]`;
  }
  const text =
    typeof value.value === 'string'
      ? JSON.stringify(value.value.length > 80 ? `${value.value.slice(0, 77)}...` : value.value)
      : String(value.value);
  return `${valueTypeName(value.type)} ${text}`;
}

export interface InspectReport extends TensorDiscoveryReport {
  file: string;
  byteLength: number;
  alignment: number;
  metadata: Record<string, { type: string; value: unknown }>;
}

function jsonValue(value: GgufMetadataValue): { type: string; value: unknown } {
  const plain = (v: unknown): unknown =>
    typeof v === 'bigint'
      ? v.toString()
      : ArrayBuffer.isView(v)
        ? Array.from(v as unknown as ArrayLike<number>)
        : Array.isArray(v)
          ? v.map((x) =>
              typeof x === 'object' && x && 'value' in x ? plain((x as { value: unknown }).value) : plain(x),
            )
          : v;
  const type =
    value.type === GgufValueType.ARRAY ? valueTypeName(value.type, value.elementType) : valueTypeName(value.type);
  return { type, value: plain(value.value) };
}

export async function inspectFile(path: string): Promise<{ file: GgufFile; report: InspectReport }> {
  const file = await readGguf(path);
  const discovery = discoverTensors(file);
  // Keys come from the file: without a prototype, "__proto__" is a key like any other.
  const metadata: InspectReport['metadata'] = Object.create(null);
  for (const [key, value] of file.metadata) metadata[key] = jsonValue(value);
  return {
    file,
    report: { file: path, byteLength: file.byteLength, alignment: file.alignment, metadata, ...discovery },
  };
}

export function formatInspectReport(file: GgufFile, report: InspectReport): string {
  const lines: string[] = [];
  lines.push(
    `${report.file}: GGUF v${report.version}, ${report.architecture ?? 'no architecture'} (${report.dialect} dialect), ${formatBytes(report.byteLength)}`,
  );
  lines.push(
    `${report.totalTensors} tensors, ${report.totalElements.toLocaleString('en-US')} weights in ${formatBytes(report.totalBytes)}: ${report.bitsPerWeight.toFixed(3)} bits/weight`,
  );
  lines.push('', `Metadata (${file.metadata.size} keys)`);
  const width = Math.max(0, ...[...file.metadata.keys()].map((k) => k.length));
  for (const [key, value] of file.metadata) lines.push(`  ${key.padEnd(width)}  ${describeValue(value)}`);
  for (const group of report.tensorGroups) {
    lines.push('', `${group.name} (${group.tensors.length} tensors, ${formatBytes(group.bytes)})`);
    const nameWidth = Math.max(...group.tensors.map((t) => t.name.length));
    const typeWidth = Math.max(...group.tensors.map((t) => t.dtype.length));
    const shapeWidth = Math.max(...group.tensors.map((t) => t.shape.join(' × ').length));
    for (const t of group.tensors) {
      lines.push(
        `  ${t.name.padEnd(nameWidth)}  ${t.dtype.padEnd(typeWidth)}  ${t.shape.join(' × ').padEnd(shapeWidth)}  ${formatBytes(t.bytes).padStart(10)}  ${t.bitsPerWeight.toFixed(4)} bpw`,
      );
    }
  }
  lines.push('', 'Shapes are in GGUF order: the contiguous dimension (ne[0]) first.');
  if (report.warnings.length > 0) lines.push('', 'Warnings', ...report.warnings.map((w) => `  - ${w}`));
  return lines.join('\n');
}

export interface ValidateReport {
  file: string;
  ok: boolean;
  checkedData: boolean;
  errors: { code: string; message: string; offset?: number; tensor?: string; key?: string }[];
  warnings: { code: string; message: string; offset?: number; tensor?: string; key?: string }[];
}

type Issue = ValidateReport['errors'][number];

/**
 * validateGguf, plus what `trit run` refuses beyond llama.cpp's rules: for
 * the architectures trit runs, a missing or misshapen tensor or a bad
 * hyper-parameter (BitNetBackend.validateModel) and a tokenizer that
 * tokenizerFromGguf cannot build are errors, so validate never calls valid a
 * file run refuses. For other architectures the tokenizer is a warning.
 */
export async function validateFile(path: string, options: ValidateGgufOptions): Promise<ValidateReport> {
  const result = await validateGguf(path, options);
  const errors: Issue[] = [...result.errors];
  const warnings: Issue[] = [...result.warnings];
  if (result.file) await checkRunnable(path, result.file, errors, warnings);
  return {
    file: path,
    ok: errors.length === 0,
    checkedData: !!options.checkTensorData,
    errors,
    warnings,
  };
}

async function checkRunnable(path: string, file: GgufFile, errors: Issue[], warnings: Issue[]): Promise<void> {
  const { BitNetBackend, SUPPORTED_ARCHITECTURES } = await import('@trit/backend');
  const architecture = file.architecture;
  const runs = architecture !== undefined && (SUPPORTED_ARCHITECTURES as readonly string[]).includes(architecture);
  const refused = ' (trit run refuses the file)';
  // A problem may already start with the file name (a hyper-parameter error names its source).
  const located = (text: string) => (text.startsWith(path) ? text : `${path}: ${text}`);
  // A file without tensors is already an error of its own (no-tensors), or is a vocabulary; bad
  // hyper-parameters are validateGguf's errors already, and the runtime's check would only restate them.
  const hyperParameters = errors.some((e) => e.code === 'hyper-parameter');
  if (runs && file.tensors.length > 0 && !hyperParameters) {
    const model = await BitNetBackend.validateModel(path);
    for (const name of model.missing) {
      errors.push({
        code: 'missing-tensor',
        message: `${path}: tensor "${name}" is missing; ${architecture} needs it${refused}`,
        tensor: name,
      });
    }
    // The tokenizer is checked below, with its key.
    for (const problem of model.problems.filter((p) => !p.startsWith('tokenizer: '))) {
      const first = problem.split(' ')[0] as string;
      const tensor = file.hasTensor(first) ? first : undefined;
      const offset = tensor === undefined ? undefined : file.tensor(tensor).fileOffset;
      errors.push({ code: 'unloadable', message: located(problem) + refused, tensor, offset });
    }
    for (const warning of model.warnings) warnings.push({ code: 'model', message: located(warning) });
    if (model.unused.length > 0) {
      const shown = model.unused.slice(0, 5).join(', ') + (model.unused.length > 5 ? ', …' : '');
      warnings.push({
        code: 'unused-tensors',
        message: `${path}: ${model.unused.length} tensors ${architecture} does not read (${shown}): trit ignores them, llama.cpp refuses the file`,
      });
    }
  }
  if (file.metadata.has('tokenizer.ggml.model')) {
    try {
      tokenizerFromGguf(file);
    } catch (error) {
      (runs ? errors : warnings).push({
        code: 'tokenizer',
        message: `${path}: tokenizer: ${(error as Error).message}${runs ? refused : ''}`,
        key: typeof (error as { key?: unknown }).key === 'string' ? (error as { key: string }).key : undefined,
      });
    }
  }
}

export function formatValidateReport(report: ValidateReport): string {
  const lines = [
    report.ok
      ? `${report.file}: valid${report.checkedData ? ' (tensor data checked)' : ' (structure and metadata; add --check-data to scan tensor data)'}`
      : `${report.file}: INVALID, ${report.errors.length} error${report.errors.length === 1 ? '' : 's'}`,
  ];
  for (const e of report.errors) lines.push(`  error [${e.code}] ${e.message}`);
  for (const w of report.warnings) lines.push(`  warning [${w.code}] ${w.message}`);
  return lines.join('\n');
}
