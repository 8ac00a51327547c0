// `auto` says once per process, in one line, why it passed over the native addon.
// Its own file: the warning is once per process, and vitest runs each file in its own.
import { afterEach, expect, it, vi } from 'vitest';
import { loadKernel } from './select.js';

afterEach(() => {
  delete process.env.TRIT_KERNEL;
  vi.restoreAllMocks();
});

const missingAddon = { threads: 1, nativeAddonPath: '/nonexistent/trit' } as const;

it('says nothing when an implementation is forced', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  await loadKernel({ ...missingAddon, implementation: 'js' });
  process.env.TRIT_KERNEL = 'wasm';
  await loadKernel({ ...missingAddon, implementation: 'auto' });
  expect(warn).not.toHaveBeenCalled();
});

it('says once why auto passed over the native addon, and what it uses instead', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const first = await loadKernel({ ...missingAddon, implementation: 'auto' });
  const second = await loadKernel({ ...missingAddon, implementation: 'auto' });
  expect([first.skipped[0]?.implementation, second.skipped[0]?.implementation]).toEqual(['native', 'native']);
  expect(warn.mock.calls).toEqual([
    [`@trit/tl1-kernel: native addon unavailable (${first.skipped[0]?.reason}); using ${first.name}`],
  ]);
  expect(warn.mock.calls[0]?.[0]).toMatch(
    /^@trit\/tl1-kernel: native addon unavailable \(.+\); using wasm-(simd128|relaxed-simd)$/,
  );
  expect(warn.mock.calls[0]?.[0]).not.toContain('\n');
});
