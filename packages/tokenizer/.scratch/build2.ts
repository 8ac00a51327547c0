import { ByteLevelBpe } from '../src/byte-level-bpe.js';
import { Vocabulary } from '../src/vocabulary.js';
import { splitLlama3 } from '../src/pre-tokenizers.js';
import { llama3Data } from '../src/test-vocabs.js';
const { tokens, merges } = llama3Data();
for (let r = 0; r < 4; r++) {
  let t = performance.now(); const v = new Vocabulary(tokens); const a = performance.now() - t;
  t = performance.now(); new ByteLevelBpe(v, { merges, splitter: splitLlama3, ignoreMerges: true }); const b = performance.now() - t;
  t = performance.now(); let n = 0; for (const m of merges) { const s = m.indexOf(' ', 1); n += m.slice(0, s).length + m.slice(s + 1).length; } const c = performance.now() - t;
  t = performance.now(); for (const m of merges) { const s = m.indexOf(' ', 1); n += (v as any).ids.get(m.slice(0, s)) ?? 0; n += (v as any).ids.get(m.slice(s+1)) ?? 0; } const d = performance.now() - t;
  t = performance.now(); for (const m of merges) { const s = m.indexOf(' ', 1); n += (v as any).ids.get(m.slice(0, s) + m.slice(s + 1)) ?? 0; } const e = performance.now() - t;
  console.log('vocab', a.toFixed(0), 'bpe', b.toFixed(0), 'slices', c.toFixed(0), 'lookups', d.toFixed(0), 'concat lookup', e.toFixed(0), n > 0);
}
