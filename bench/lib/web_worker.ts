/**
 * A Web Worker (`new Worker(blobUrl)`, `onmessage`, `postMessage`) on top of Node's
 * `worker_threads`, so that libraries which parallelize through Web Workers and a shared
 * WebAssembly.Memory (jax-js's wasm backend) can use more than one thread in Node 20, which
 * has no global `Worker`. Only what such a pool needs: a blob: URL of classic-script source,
 * structured-clone messages (SharedArrayBuffer, WebAssembly.Memory/Module included), and
 * `onmessage` / `onerror` handlers.
 *
 * Worker threads keep the process alive: call `terminateWebWorkers()` (or exit) when done.
 */
import { resolveObjectURL } from 'node:buffer';
import { Worker as NodeWorker } from 'node:worker_threads';

/** Runs inside the thread: the first message is the script source, later ones are events. */
const BOOTSTRAP = `
const { parentPort } = require('node:worker_threads');
globalThis.self = globalThis;
globalThis.postMessage = (data) => parentPort.postMessage(data);
let loaded = false;
parentPort.on('message', (data) => {
  if (!loaded) { loaded = true; (0, eval)(data); return; }
  if (typeof globalThis.onmessage === 'function') globalThis.onmessage({ data });
});
`;

const live = new Set<NodeWorker>();

export class NodeWebWorker {
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: { message: string }) => void) | null = null;
  readonly #worker: NodeWorker;
  /** Messages posted before the script source has been sent. */
  #queued: unknown[] | null = [];

  constructor(url: string | URL) {
    const blob = resolveObjectURL(String(url));
    if (!blob) throw new Error(`NodeWebWorker: only blob: URLs are supported, got ${String(url)}`);
    this.#worker = new NodeWorker(BOOTSTRAP, { eval: true });
    live.add(this.#worker);
    this.#worker.on('message', (data: unknown) => this.onmessage?.({ data }));
    this.#worker.on('error', (err: Error) => this.onerror?.({ message: err.message }));
    void blob.text().then((source) => {
      this.#worker.postMessage(source);
      for (const m of this.#queued ?? []) this.#worker.postMessage(m);
      this.#queued = null;
    });
  }

  postMessage(data: unknown): void {
    if (this.#queued) this.#queued.push(data);
    else this.#worker.postMessage(data);
  }

  terminate(): void {
    live.delete(this.#worker);
    void this.#worker.terminate();
  }
}

/** Install `NodeWebWorker` as the global `Worker` (only where none exists). */
export function installWebWorker(): void {
  const g = globalThis as { Worker?: unknown };
  if (g.Worker === undefined) g.Worker = NodeWebWorker;
}

export async function terminateWebWorkers(): Promise<void> {
  await Promise.all([...live].map((w) => w.terminate()));
  live.clear();
}
