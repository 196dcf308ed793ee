/**
 * The browser side of `webgpu_browser.test.ts` (bundled by it with esbuild; not a test file
 * itself): initialise vidax's WebGPU backend on the page's `navigator.gpu`, run the parity case
 * groups of `webgpu_checks.ts` against the CPU oracle in the same page, and report each group
 * to Node through the `vidaxReport` function the test exposes on the page. Query parameter
 * `runs`: specs per primitive.
 */
import { initWebGpu } from '../../src/index.js';
import { edgePairGroup, jitGroup, primitiveGroup, transformGroup, type GroupResult } from '../webgpu_checks.js';

/** What the page sends to Node: the adapter first (or why there is none), then each group, then the end. */
export type PageMessage =
  | { readonly kind: 'adapter'; readonly adapter: string; readonly via: string; readonly workgroupSize: number }
  | { readonly kind: 'no-adapter'; readonly error: string }
  | { readonly kind: 'group'; readonly result: GroupResult }
  | { readonly kind: 'error'; readonly error: string }
  | { readonly kind: 'done' };

const report = (m: PageMessage) => (globalThis as unknown as { vidaxReport(m: PageMessage): Promise<void> }).vidaxReport(m);

async function main(): Promise<void> {
  const runs = Number(new URLSearchParams(location.search).get('runs') ?? 1);
  let info;
  try {
    info = await initWebGpu();
  } catch (e) {
    await report({ kind: 'no-adapter', error: e instanceof Error ? e.message : String(e) });
    return;
  }
  await report({ kind: 'adapter', adapter: info.adapter, via: info.via, workgroupSize: info.workgroupSize });
  for (const group of [() => primitiveGroup(runs), edgePairGroup, jitGroup, transformGroup]) await report({ kind: 'group', result: await group() });
}

main()
  .catch((e: unknown) => report({ kind: 'error', error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e) }))
  .finally(() => report({ kind: 'done' }));
