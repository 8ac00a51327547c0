import { readFile } from 'node:fs/promises';
import { readGguf } from '@trit/gguf';
import { type GgufTokenizer, tokenizerFromGguf, tokenizerFromHf } from '@trit/tokenizer';

export interface TokenizeReport {
  source: string;
  model: string;
  vocabSize: number;
  text: string;
  ids: number[];
  pieces: string[];
  /** decode(ids) equals the input (special tokens excluded). */
  roundTrip: boolean;
}

/** A tokenizer from a GGUF's `tokenizer.ggml.*` keys, or from a Hugging Face tokenizer.json. */
export async function loadTokenizer(path: string): Promise<GgufTokenizer> {
  const head = new Uint8Array(4);
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (String.fromCharCode(...head) === 'GGUF') return tokenizerFromGguf(await readGguf(path));
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: neither a GGUF file nor JSON (${(error as Error).message})`);
  }
  // BOS/EOS and add_bos live in tokenizer_config.json beside tokenizer.json, as in a Hugging Face checkpoint.
  const { dirname, join } = await import('node:path');
  const configText = await readFile(join(dirname(path), 'tokenizer_config.json'), 'utf8').catch(() => undefined);
  let config: Parameters<typeof tokenizerFromHf>[1] = {};
  if (configText !== undefined) {
    try {
      config = JSON.parse(configText);
    } catch (error) {
      throw new Error(`${join(dirname(path), 'tokenizer_config.json')}: not valid JSON (${(error as Error).message})`);
    }
  }
  return tokenizerFromHf(json as Parameters<typeof tokenizerFromHf>[0], config);
}

export function tokenize(
  tokenizer: GgufTokenizer,
  source: string,
  text: string,
  options: { addSpecial: boolean; parseSpecial: boolean },
): TokenizeReport {
  const ids = Array.from(tokenizer.encode(text, options));
  return {
    source,
    model: tokenizer.model,
    vocabSize: tokenizer.vocabSize,
    text,
    ids,
    pieces: ids.map((id) => tokenizer.tokenToPiece(id)),
    roundTrip: tokenizer.decode(ids, { skipSpecial: !options.parseSpecial }) === text,
  };
}

export function formatTokenizeReport(report: TokenizeReport): string {
  const width = Math.max(2, ...report.ids.map((id) => String(id).length));
  const lines = [`${report.source}: ${report.model} tokenizer, ${report.vocabSize} tokens; ${report.ids.length} ids`];
  report.ids.forEach((id, i) => {
    lines.push(`  ${String(id).padStart(width)}  ${JSON.stringify(report.pieces[i])}`);
  });
  if (!report.roundTrip) lines.push('note: decoding these ids does not give back the exact input text');
  return lines.join('\n');
}
