/**
 * Deterministic mixed text for parity tests and the benchmark: English prose
 * with contractions in all cases, code, numbers, whitespace runs with \r\n and
 * tabs, CJK / Arabic / Hindi / Cyrillic, emoji with ZWJ sequences and skin
 * tones, combining marks. Not part of the package's public surface.
 */
import { createRng, type Rng } from '@trit/testkit';

const WORDS = (
  'the of and to a in is it you that he was for on are with as I his they be at one have this from or had by ' +
  'word but what some we can out other were all there when up use your how said an each she which do their time ' +
  'if will way about many then them write would like so these her long make thing see him two has look more day ' +
  'could go come did number sound no most people my over know water than call first who may down side been now ' +
  'find any new work part take get place made live where after back little only round man year came show every ' +
  'good me give our under name very through just form sentence great think say help low line differ turn cause ' +
  'tokenizer llama ternary quantization inference benchmark throughput gradient transformer attention'
).split(' ');
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D"];
const PUNCTUATION = ['.', ',', '!', '?', ';', ':', '...', ' -', ' —', '"', ')', '('];
const CODE_SYMBOLS = [
  '=',
  '==',
  '===',
  '=>',
  '+=',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  ';',
  ',',
  '.',
  '<',
  '>',
  '&&',
  '||',
  '!',
  '/',
  '*',
  '%',
];
const SYLLABLES = [
  'get',
  'set',
  'data',
  'buf',
  'len',
  'idx',
  'Token',
  'Map',
  'node',
  'value',
  'size',
  'count',
  'tmp',
  'x',
  'y',
];
const SCRIPTS = [
  '中文分词器的速度非常快，我们测试了很多不同的句子。',
  '日本語のテキストも含まれています。',
  'العربية لغة جميلة ومهمة في العالم',
  'हिन्दी भाषा में लिखा गया वाक्य',
  'Русский текст для проверки токенизатора',
  'Ελληνικά γράμματα και λέξεις',
  '한국어 문장도 포함됩니다',
  'café naïve résumé Ångström façade',
  'e\u0301 a\u0308 n\u0303 (combining marks)',
];
const EMOJI = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🦙', '🇺🇸', '❤️', '👩🏿‍💻', '✨'];
const SPACES = [' ', '  ', '\n', '\n\n', '\r\n', '\t', '\t\t', '   \n', ' \r\n  ', '\u00a0', '\u3000'];

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.nextInt(list.length)];
}

function number(rng: Rng): string {
  const digits = 1 + rng.nextInt(rng.nextFloat() < 0.1 ? 40 : 8);
  let s = String(1 + rng.nextInt(9));
  for (let i = 1; i < digits; i++) s += String(rng.nextInt(10));
  return rng.nextFloat() < 0.2 ? `${s}.${rng.nextInt(1000)}` : s;
}

function sentence(rng: Rng): string {
  const n = 4 + rng.nextInt(14);
  const words: string[] = [];
  for (let i = 0; i < n; i++) {
    let w = pick(rng, WORDS);
    const r = rng.nextFloat();
    if (r < 0.05) w = w.toUpperCase();
    else if (i === 0 || r < 0.1) w = w[0].toUpperCase() + w.slice(1);
    if (rng.nextFloat() < 0.06) w += pick(rng, CONTRACTIONS);
    if (rng.nextFloat() < 0.04) w = number(rng);
    words.push(w);
    if (rng.nextFloat() < 0.08) words.push(pick(rng, PUNCTUATION));
  }
  return `${words.join(' ')}${pick(rng, ['.', '!', '?', '.'])}`;
}

function identifier(rng: Rng): string {
  let s = pick(rng, SYLLABLES);
  const parts = rng.nextInt(3);
  for (let i = 0; i < parts; i++) {
    const p = pick(rng, SYLLABLES);
    s += p[0].toUpperCase() + p.slice(1);
  }
  return rng.nextFloat() < 0.2 ? `${s}_${rng.nextInt(100)}` : s;
}

function codeLine(rng: Rng): string {
  const indent = '  '.repeat(rng.nextInt(5));
  const parts = [identifier(rng)];
  const n = 2 + rng.nextInt(8);
  for (let i = 0; i < n; i++) {
    const r = rng.nextFloat();
    parts.push(
      r < 0.4 ? pick(rng, CODE_SYMBOLS) : r < 0.7 ? identifier(rng) : r < 0.9 ? number(rng) : `'${pick(rng, WORDS)}'`,
    );
  }
  const trailing = rng.nextFloat() < 0.1 ? '  ' : '';
  return `${indent}${parts.join(rng.nextFloat() < 0.7 ? ' ' : '')}${trailing}`;
}

/** About `targetBytes` of UTF-8 text, the same for the same seed. */
export function mixedCorpus(targetBytes: number, seed = 1): string {
  const rng = createRng(seed);
  const encoder = new TextEncoder();
  const parts: string[] = [];
  let bytes = 0;
  while (bytes < targetBytes) {
    const r = rng.nextFloat();
    let chunk: string;
    if (r < 0.5) chunk = sentence(rng) + (rng.nextFloat() < 0.3 ? '\n\n' : ' ');
    else if (r < 0.75) chunk = `${codeLine(rng)}${rng.nextFloat() < 0.2 ? '\r\n' : '\n'}`;
    else if (r < 0.85) chunk = `${pick(rng, SCRIPTS)} `;
    else if (r < 0.9) chunk = `${pick(rng, EMOJI)}${pick(rng, EMOJI)} `;
    else if (r < 0.95) chunk = `${number(rng)}${pick(rng, SPACES)}`;
    else chunk = pick(rng, SPACES);
    parts.push(chunk);
    bytes += encoder.encode(chunk).length;
  }
  return parts.join('');
}

/** Hand-picked strings for the parity tests, one per tricky case. */
export const PARITY_STRINGS: readonly string[] = [
  'Hello world! This is a test of the tokenizer.',
  "I'M here, don't worry; THEY'LL come. We've, you'd, she's, it'S, I'Ll, WE'RE, they'Ve, I'd.",
  "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'VE 'M 'LL 'D 'x '",
  'function add(a, b) {\n  return a + b; // sum\n}\n\nconst x = add(1, 2);\r\n',
  'if (x >= 10 && y != null) { arr[i++] = `$' + '{name}_$' + '{id}`; }',
  '    grabbed',
  'trailing spaces   \nand tabs\t\t\tand\r\nCRLF\r\n\r\n  \n',
  '   ',
  '\n',
  '\n\n\n',
  ' \n',
  '\t',
  'a  b   c    d',
  '1 12 123 1234 12345 123456 1234567 3.14159265358979 1e10 0x1F -42',
  '9876543210987654321098765432109876543210',
  '中文分词器的速度非常快，我们测试了很多不同的句子。',
  '日本語のテキストとカタカナ、ひらがな。',
  'العربية لغة جميلة',
  'हिन्दी भाषा में लिखा गया वाक्य',
  'Русский текст, Ελληνικά, 한국어',
  '👨‍👩‍👧‍👦 family, 👍🏽 thumbs, 🏳️‍🌈 flag, 🇺🇸🇩🇪 flags, 🦙 llama',
  'e\u0301 a\u0308 n\u0303 Z\u0351\u0352\u0353 combining',
  'café naïve résumé Ångström',
  'lone \ud800 high and \udc00 low surrogates, \udbff\ud800 reversed',
  'special <|begin_of_text|> and <|eot_id|> and <|endoftext|> inside',
  '<s> and </s> and <unk> as text',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>',
  'nbsp\u00a0here, ideographic\u3000space, line\u2028separator',
  'zero\u200bwidth\u200djoiner\ufeffbom',
  '¿Qué? ¡Sí! «quotes» “curly” ‘single’ — dash … ellipsis',
  'ᵃ ⁿ ½ ² ③ Ⅻ ١٢٣ ۴ 𝟘 𝑨𝑩',
  '\u0000\u0001\u007f control chars',
  '▁ leading mark ▁▁ and ▁x',
  'x',
  // Pre-tokens longer than the cache takes (256 code units).
  `${'7'.repeat(700)} ${' '.repeat(300)}x ${'ab'.repeat(200)} ${'\u4e2d'.repeat(300)}`,
  'The llama (/ˈlɑːmə/; 🦙Spanish pronunciation: [ˈʎama]) (Lama glama) is a domesticated South American camelid.',
];
