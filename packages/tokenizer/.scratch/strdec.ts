import { tokenizerFromGguf } from '../src/index.js';
import { mixedCorpus } from '../src/test-corpus.js';
import { llama3GgufMetadata } from '../src/test-vocabs.js';
const text = mixedCorpus(1 << 20, 100);
const tok = tokenizerFromGguf(llama3GgufMetadata()) as any;
const ids = tok.encode(text, { addSpecial: false });
const td = new TextDecoder('utf-8', { ignoreBOM: true });
const strings: string[] = [];
const complete = new Uint8Array(tok.vocabSize);
for (let id = 0; id < tok.vocabSize; id++) {
  const b = tok.tokenToBytes(id);
  try { strings[id] = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b); complete[id] = 1; } catch { strings[id] = ''; }
}
let frac = 0; for (const id of ids) frac += complete[id]; console.log('complete fraction', frac / ids.length);
function run(name: string, f: () => string) { let best = 1e9; let r = ''; for (let i = 0; i < 30; i++) { const t = performance.now(); r = f(); best = Math.min(best, performance.now() - t); } console.log(name, (1.05 / best * 1000).toFixed(1), 'MB/s', r.length); }
run('current decode', () => tok.decode(ids));
run('string concat', () => { let s = ''; for (let i = 0; i < ids.length; i++) s += strings[ids[i]]; return s.length > 0 ? (s.charCodeAt(0), s) : s; });
run('array join', () => { const parts = new Array(ids.length); for (let i = 0; i < ids.length; i++) parts[i] = strings[ids[i]]; return parts.join(''); });
