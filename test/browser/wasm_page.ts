/**
 * The page of `wasm_browser.test.ts` (bundled by it with esbuild; not a test file itself):
 * (a) on the main thread, runs the shared cases (`wasm_cases.ts`) at the small sizes with
 * `config.threads = 0` — the main thread may not block, so the wasm backend must stay
 * single-threaded without an error; (b) starts the module worker `wasm_worker.js`, which runs
 * them at the large sizes on 2 threads, and forwards its reports. Each report goes to Node
 * through the `vidaxReport` function the test exposes, then `done`.
 */
import { runSuite, type WasmPageMessage } from './wasm_cases.js';

const report = (m: WasmPageMessage) => (globalThis as unknown as { vidaxReport(m: WasmPageMessage): Promise<void> }).vidaxReport(m);

/** Start the worker and forward its messages until it is done (an uncaught error in it becomes an `error` message). */
function runWorker(): Promise<void> {
  const worker = new Worker(new URL('./wasm_worker.js', import.meta.url), { type: 'module' });
  let forwarded = Promise.resolve();
  const forward = (m: WasmPageMessage) => (forwarded = forwarded.then(() => report(m)));
  return new Promise<void>((resolve) => {
    worker.onmessage = (e: MessageEvent<WasmPageMessage>) => {
      if (e.data.kind === 'done') resolve();
      else forward(e.data);
    };
    worker.onerror = (e: ErrorEvent) => {
      forward({ kind: 'error', error: `worker: uncaught ${e.message || 'error (the script failed to load?)'}` });
      resolve();
    };
  })
    .then(() => forwarded)
    .finally(() => worker.terminate());
}

async function main(): Promise<void> {
  await report({ kind: 'suite', suite: runSuite('main thread', 'small', 0, false) });
  await runWorker();
}

main()
  .catch((e: unknown) => report({ kind: 'error', error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e) }))
  .finally(() => report({ kind: 'done' }));
