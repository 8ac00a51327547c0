const { classTable } = await import('../src/unicode.js');
const t = performance.now();
const tab = classTable();
console.log('classTable ms', (performance.now() - t).toFixed(1), tab.blocks.length);
