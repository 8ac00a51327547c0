const src = new Uint32Array(1 << 20); for (let i = 0; i < src.length; i++) src[i] = i;
let t = performance.now(); let x;
for (let i = 0; i < 100; i++) x = src.slice(0, 300000);
console.log('slice', (performance.now() - t) / 100);
t = performance.now();
for (let i = 0; i < 100; i++) { x = new Uint32Array(300000); x.set(src.subarray(0, 300000)); }
console.log('new+set', (performance.now() - t) / 100);
t = performance.now();
for (let i = 0; i < 100; i++) { x = new Uint32Array(300000); }
console.log('new only', (performance.now() - t) / 100);
