/**
 * The module worker of `wasm_browser.test.ts` (bundled by it with esbuild; started by
 * `wasm_page.ts`): runs the shared cases (`wasm_cases.ts`) at the large sizes with
 * `setThreads(2)` against the CPU oracle and a single-thread run. A worker may block in
 * `Atomics.wait`, so with SharedArrayBuffer the wasm backend's pool starts a nested Web
 * Worker; the browser starts it only once this thread yields, so the first pass (which
 * creates the pool) runs the workers' parts here, then this thread waits (yielding) until
 * the pool's worker has started and the second pass splits the large kernels and matmuls
 * over it. Posts each report (or the error) to the page, then `done`.
 */
import { getBackend } from '../../src/core/backends/backend.js';
import type { WasmBackend } from '../../src/core/backends/runtime/wasm.js';
import { runSuite, type WasmPageMessage } from './wasm_cases.js';

/** How long the pool's worker may take to start once this thread yields. */
const START_TIMEOUT_MS = 10_000;

const post = (m: WasmPageMessage) => (self as unknown as { postMessage(m: WasmPageMessage): void }).postMessage(m);

async function main(): Promise<void> {
  post({ kind: 'suite', suite: runSuite('worker, pool starting', 'large', 2, true) });
  const wasm = getBackend('wasm') as WasmBackend;
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (let s = wasm.threadStats(); s && s.started < s.threads - 1; s = wasm.threadStats()) {
    if (performance.now() > deadline) throw new Error(`the pool's ${s.threads - 1} worker(s) did not start within ${START_TIMEOUT_MS / 1000} s (${s.started} started)`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  post({ kind: 'suite', suite: runSuite('worker', 'large', 2, true) });
}

main()
  .catch((e: unknown) => post({ kind: 'error', error: e instanceof Error ? `worker: ${e.name}: ${e.message}\n${e.stack}` : `worker: ${String(e)}` }))
  .finally(() => post({ kind: 'done' }));
