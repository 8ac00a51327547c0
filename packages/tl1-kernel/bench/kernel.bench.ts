// pnpm bench: every kernel backend, weight type, shape, token count and thread
// count, with memory bandwidth and a JS float32 GEMV measured in the same run.
import { formatKernelBench, runKernelBench } from '@trit/tl1-kernel';

const quick = process.argv.includes('--quick');
const report = await runKernelBench({
  minMs: quick ? 100 : 300,
  onResult: (r) =>
    process.stderr.write(
      `  ${r.kernel} ${r.type} ${r.rows}×${r.cols} t${r.tokens} ×${r.threads}: ${r.microsPerCall.toFixed(0)} µs\n`,
    ),
});
console.log(formatKernelBench(report));
