import t from 'llama-tokenizer-js';

const v = t.vocabById;
console.log(v.length, v.slice(0, 5), v.slice(256, 265), v.slice(29860, 29880));
for (const s of ['</', 's>', '<s', '<', '▁<', '</s', '<unk', 'unk>', '<0', '0x', 'A>'])
  console.log(JSON.stringify(s), t.vocabByString.get(s));
const merges = [...t.merges.entries()];
console.log(merges.length, merges.slice(0, 5));
// are merges sorted by resulting token id?
let bad = 0,
  prev = -1;
const firstRank = new Map();
merges.forEach(([k, v], i) => {
  const r = k.replace(' ', '');
  const id = t.vocabByString.get(r);
  if (!firstRank.has(id)) firstRank.set(id, i);
  if (id < prev) bad++;
  prev = Math.max(prev, id);
});
console.log('non-monotone', bad, 'tokens produced', firstRank.size);
console.log(
  t.encode('</s> <s> <unk> <0x0A>'),
  t.encode('</s> <s> <unk> <0x0A>').map((i) => v[i]),
);
