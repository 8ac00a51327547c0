const td = new TextDecoder('utf-8', { ignoreBOM: true });
// random bytes validity comparison
let mism = 0;
for (let t = 0; t < 200000; t++) {
  const n = Math.floor(Math.random() * 12);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = Math.random();
    b[i] = r < 0.3 ? Math.random() * 128 : r < 0.6 ? 0x80 + Math.random() * 64 : 0xc0 + Math.random() * 64;
  }
  const a = td.decode(b);
  const c = Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8');
  if (a !== c) {
    mism++;
    if (mism < 5)
      console.log(
        [...b].map((x) => x.toString(16)),
        JSON.stringify(a),
        JSON.stringify(c),
      );
  }
}
console.log('mismatches', mism);
const big = new TextEncoder().encode('héllo wörld 中文 😀 '.repeat(60000) + 'plain ascii text '.repeat(30000));
let t = performance.now();
for (let i = 0; i < 20; i++) td.decode(big);
console.log('TextDecoder', (performance.now() - t) / 20);
t = performance.now();
for (let i = 0; i < 20; i++) Buffer.from(big.buffer, big.byteOffset, big.length).toString('utf8');
console.log('Buffer', (performance.now() - t) / 20);
console.log(
  big.length,
  td.decode(big) === Buffer.from(big.buffer).toString('utf8'),
  '\ufeffx' === Buffer.from([0xef, 0xbb, 0xbf, 0x78]).toString('utf8'),
);
