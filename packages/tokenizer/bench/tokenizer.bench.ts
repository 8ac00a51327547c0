// Encode and decode throughput (MB/s of UTF-8 text) of @trit/tokenizer against
// the JavaScript tokenizers that ship the same vocabularies, in the same run:
// GPT-2 (r50k_base) vs gpt-tokenizer and js-tiktoken, Llama-3 vs
// llama3-tokenizer-js, Llama-2 (SentencePiece) vs llama-tokenizer-js.
// Every case encodes a rotation of eight different ~1 MB mixed corpora, so no
// cache can hold a whole input. `pnpm bench -- --json` prints JSON instead.

import { type BenchResult, type BenchRow, formatTable, keep, measure } from '@trit/testkit';
import { decode as gptTokenizerDecode, encode as gptTokenizerEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { getEncoding } from 'js-tiktoken';
import llamaTokenizer from 'llama-tokenizer-js';
import llama3Tokenizer from 'llama3-tokenizer-js';
import { tokenizerFromGguf } from '../src/index.js';
import { mixedCorpus } from '../src/test-corpus.js';
import { gpt2GgufMetadata, llama2GgufMetadata, llama3GgufMetadata } from '../src/test-vocabs.js';

const json = process.argv.includes('--json');
const CORPUS_BYTES = 1 << 20;
const corpora = Array.from({ length: 8 }, (_, i) => mixedCorpus(CORPUS_BYTES, 100 + i));
const utf8 = new TextEncoder();
const bytes = corpora.map((c) => utf8.encode(c).length);
const meanBytes = bytes.reduce((a, b) => a + b, 0) / bytes.length;
// SentencePiece merges a whole text at once; llama-tokenizer-js needs seconds per megabyte,
// so the SentencePiece cases use the first 256 KB of each corpus.
const spmCorpora = corpora.map((c) => c.slice(0, 256 * 1024));
const spmBytes = spmCorpora.reduce((a, c) => a + utf8.encode(c).length, 0) / spmCorpora.length;

/** Calls fn on the corpora in turn. */
function rotating<T, R>(inputs: T[], fn: (input: T) => R): () => R {
  let i = 0;
  return () => fn(inputs[i++ % inputs.length]);
}

const gpt2 = tokenizerFromGguf(gpt2GgufMetadata());
const llama3 = tokenizerFromGguf(llama3GgufMetadata());
const llama2 = tokenizerFromGguf(llama2GgufMetadata());
const tiktoken = getEncoding('r50k_base');

// Same ids before timing anything: a benchmark of wrong answers is worthless.
for (const text of corpora.slice(0, 2)) {
  const ours = Array.from(gpt2.encode(text)).join();
  if (ours !== gptTokenizerEncode(text, { disallowedSpecial: new Set() }).join())
    throw new Error('gpt-tokenizer disagrees');
  if (ours !== tiktoken.encode(text, [], []).join()) throw new Error('js-tiktoken disagrees');
  const ours3 = Array.from(llama3.encode(text, { parseSpecial: true })).join();
  if (ours3 !== llama3Tokenizer.encode(text, { bos: true, eos: false }).join())
    throw new Error('llama3-tokenizer-js disagrees');
}
if (Array.from(llama2.encode(spmCorpora[0])).join() !== llamaTokenizer.encode(spmCorpora[0]).join()) {
  throw new Error('llama-tokenizer-js disagrees');
}

interface Pair {
  group: string;
  operation: 'encode' | 'decode';
  reference: BenchResult;
  ours: BenchResult;
}
const pairs: Pair[] = [];
const options = (units: number) => ({ units, minMs: 1000, warmupMs: 300 });

function compare(
  group: string,
  operation: 'encode' | 'decode',
  units: number,
  theirs: [string, () => unknown],
  ours: () => unknown,
) {
  const reference = measure(theirs[0], theirs[1], options(units));
  const result = measure(`@trit/tokenizer ${group} ${operation}`, ours, options(units));
  pairs.push({ group, operation, reference, ours: result });
}

// Encode.
compare(
  'GPT-2',
  'encode',
  meanBytes,
  ['gpt-tokenizer r50k encode', rotating(corpora, (t) => gptTokenizerEncode(t, { disallowedSpecial: new Set() }))],
  rotating(corpora, (t) => gpt2.encode(t)),
);
compare(
  'GPT-2',
  'encode',
  meanBytes,
  ['js-tiktoken r50k encode', rotating(corpora, (t) => tiktoken.encode(t, [], []))],
  rotating(corpora, (t) => gpt2.encode(t)),
);
compare(
  'Llama-3',
  'encode',
  meanBytes,
  ['llama3-tokenizer-js encode', rotating(corpora, (t) => llama3Tokenizer.encode(t, { bos: true, eos: false }))],
  rotating(corpora, (t) => llama3.encode(t, { parseSpecial: true })),
);
compare(
  'Llama-2',
  'encode',
  spmBytes,
  ['llama-tokenizer-js encode', rotating(spmCorpora, (t) => llamaTokenizer.encode(t))],
  rotating(spmCorpora, (t) => llama2.encode(t)),
);

// Decode: each library decodes its own ids of the same texts.
const gpt2Ids = corpora.map((t) => gpt2.encode(t));
const gpt2IdArrays = gpt2Ids.map((ids) => Array.from(ids));
const llama3Ids = corpora.map((t) => llama3.encode(t, { parseSpecial: true }));
const llama3IdArrays = llama3Ids.map((ids) => Array.from(ids));
const llama2Ids = spmCorpora.map((t) => llama2.encode(t));
const llama2IdArrays = llama2Ids.map((ids) => Array.from(ids));
compare(
  'GPT-2',
  'decode',
  meanBytes,
  ['gpt-tokenizer r50k decode', rotating(gpt2IdArrays, (ids) => gptTokenizerDecode(ids))],
  rotating(gpt2Ids, (ids) => gpt2.decode(ids)),
);
compare(
  'GPT-2',
  'decode',
  meanBytes,
  ['js-tiktoken r50k decode', rotating(gpt2IdArrays, (ids) => tiktoken.decode(ids))],
  rotating(gpt2Ids, (ids) => gpt2.decode(ids)),
);
compare(
  'Llama-3',
  'decode',
  meanBytes,
  ['llama3-tokenizer-js decode', rotating(llama3IdArrays, (ids) => llama3Tokenizer.decode(ids))],
  rotating(llama3Ids, (ids) => llama3.decode(ids, { skipSpecial: false })),
);
compare(
  'Llama-2',
  'decode',
  spmBytes,
  ['llama-tokenizer-js decode', rotating(llama2IdArrays, (ids) => llamaTokenizer.decode(ids))],
  rotating(llama2Ids, (ids) => llama2.decode(ids)),
);
keep(pairs);

if (json) {
  console.log(
    JSON.stringify(
      pairs.map(({ group, operation, reference, ours }) => ({
        group,
        operation,
        reference: reference.name,
        referenceMBps: reference.unitsPerSecond / 1e6,
        oursMBps: ours.unitsPerSecond / 1e6,
        ratio: ours.unitsPerSecond / reference.unitsPerSecond,
      })),
      null,
      2,
    ),
  );
} else {
  const rows: BenchRow[] = pairs.flatMap(({ reference, ours }) => [
    { result: reference },
    { result: ours, baseline: reference },
  ]);
  const title = `@trit/tokenizer vs JavaScript tokenizers on the same vocabularies (${(meanBytes / 1e6).toFixed(2)} MB mixed corpora; SentencePiece ${(spmBytes / 1e6).toFixed(2)} MB), one core`;
  console.log(formatTable(title, 'bytes', rows));
}
