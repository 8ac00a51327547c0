// The wasm kernel in a real browser: a page served on localhost runs known-answer
// cases through the wasm implementation in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core), and its outputs must equal Node's bit for bit. Chromium has
// relaxed SIMD, so the page runs that build and Node the plain SIMD128 one.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TernaryTensor } from '@trit/ternary';
import { canonicalFloat32Bytes } from '@trit/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadKernel } from './select.js';
import { caseActivations, caseDense, caseTernary, vectorCases } from './vectors.js';

const CHROMIUM = process.env.TRIT_CHROMIUM ?? '/usr/bin/chromium';
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const ternaryRoot = dirname(dirname(createRequire(import.meta.url).resolve('@trit/ternary')));
const float16Root = dirname(dirname(createRequire(join(ternaryRoot, 'package.json')).resolve('@petamoriken/float16')));

const roots: Record<string, string> = {
  '/tl1-kernel/': packageRoot,
  '/ternary/': ternaryRoot,
  '/float16/': float16Root,
};
const types: Record<string, string> = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html',
};

const page = `<!doctype html><meta charset="utf-8"><title>trit wasm kernel</title>
<script type="importmap">{"imports":{"@trit/ternary":"/ternary/dist/index.js","@petamoriken/float16":"/float16/src/index.mjs"}}</script>
<script type="module">
import { loadKernel } from '/tl1-kernel/dist/index.js';
import { TernaryTensor } from '@trit/ternary';
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
window.tritRun = async (cases) => {
  const kernel = await loadKernel({ implementation: 'wasm', threads: 1 });
  const out = [];
  for (const c of cases) {
    const x = new Float32Array(bytes(c.x).buffer);
    let m;
    if (c.tensor) m = kernel.prepare(new TernaryTensor({ packed: bytes(c.tensor.packed), scales: new Float32Array(bytes(c.tensor.scales).buffer), shape: [c.rows, c.cols], blockSize: c.tensor.blockSize }));
    else if (c.format) m = kernel.prepare({ format: c.format, data: bytes(c.data), rows: c.rows, cols: c.cols });
    else m = kernel.prepareDense({ type: c.type, data: bytes(c.data), rows: c.rows, cols: c.cols });
    const y = kernel.gemm(m, x, c.nTokens);
    out.push(btoa(String.fromCharCode(...new Uint8Array(y.buffer))));
  }
  return { name: kernel.name, threads: kernel.threads, out };
};
window.tritReady = true;
</script>`;

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname === '/') {
    response.writeHead(200, { 'content-type': 'text/html' }).end(page);
    return;
  }
  const prefix = Object.keys(roots).find((p) => url.pathname.startsWith(p));
  const file = prefix ? normalize(join(roots[prefix], url.pathname.slice(prefix.length))) : '';
  if (!prefix || !file.startsWith(roots[prefix]) || !existsSync(file)) {
    response.writeHead(404).end();
    return;
  }
  response
    .writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' })
    .end(readFileSync(file));
});

let browser: { close(): Promise<void>; newPage(): Promise<unknown> } | undefined;
let base = '';
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) or set TRIT_CHROMIUM`);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server.close();
});

const b64 = (view: ArrayBufferView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
const canonical = (y: Float32Array) => Buffer.from(canonicalFloat32Bytes(y));

it('runs the known-answer cases in headless Chromium with results equal to Node', async () => {
  const cases = vectorCases().filter((c) => c.rows * c.cols <= 300_000);
  const payload = cases.map((c) => {
    const x = b64(caseActivations(c.activations, c.nTokens, c.cols, c.seed));
    const common = { rows: c.rows, cols: c.cols, nTokens: c.nTokens, x };
    if (c.kind === 'dense') return { ...common, type: c.type, data: b64(caseDense(c)) };
    const { input } = caseTernary(c);
    if (input instanceof TernaryTensor) {
      return {
        ...common,
        tensor: { packed: b64(input.packed), scales: b64(input.scales), blockSize: input.blockSize },
      };
    }
    return { ...common, format: input.format, data: b64(input.data) };
  });
  const node = await loadKernel({ implementation: 'wasm', threads: 1, wasmSimd: 'simd128' });
  const tab = (await browser?.newPage()) as {
    goto(url: string): Promise<unknown>;
    waitForFunction(fn: string): Promise<unknown>;
    evaluate<T>(fn: (arg: unknown) => Promise<T>, arg: unknown): Promise<T>;
  };
  await tab.goto(base);
  await tab.waitForFunction('window.tritReady === true');
  const result = await tab.evaluate(
    (arg) =>
      (window as unknown as { tritRun(c: unknown): Promise<{ name: string; threads: number; out: string[] }> }).tritRun(
        arg,
      ),
    payload,
  );
  expect([result.name, result.threads, node.name]).toEqual(['wasm-relaxed-simd', 1, 'wasm-simd128']);
  expect(result.out.length).toBe(cases.length);
  cases.forEach((c, i) => {
    const x = caseActivations(c.activations, c.nTokens, c.cols, c.seed);
    const m =
      c.kind === 'ternary'
        ? node.prepare(caseTernary(c).input)
        : node.prepareDense({ type: c.type, data: caseDense(c), rows: c.rows, cols: c.cols });
    const expected = canonical(node.gemm(m, x, c.nTokens));
    const got = canonical(new Float32Array(new Uint8Array(Buffer.from(result.out[i], 'base64')).buffer));
    expect([c.id, got.equals(expected)]).toEqual([c.id, true]);
  });
}, 120_000);
