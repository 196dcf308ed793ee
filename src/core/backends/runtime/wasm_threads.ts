/**
 * The wasm backend's thread pool: worker threads (`worker_threads` in Node, Web Workers in a
 * browser) that share the backend's `WebAssembly.Memory` and run exports of the backend's
 * modules (the routines module, compiled kernels) on parts of a job while the calling thread
 * runs its own part and then blocks until all are done (`Atomics.wait`).
 *
 * Protocol: each worker gets the memory and a control block (a SharedArrayBuffer) once, each
 * module once (a `WebAssembly.Module` is posted and instantiated there against the same
 * memory), and per job a list of argument lists for one export — of one module, or of several,
 * each argument list then starting with the index of its module. Messages on a port arrive in
 * order, so a module always precedes the jobs that use it. A worker runs its calls, then
 * decrements the control block's counter and wakes the caller; an exception sets the error
 * word and records its message. Workers are `unref`'d: they never keep a Node process alive.
 *
 * Availability: SharedArrayBuffer and a shared memory, a way to start workers, and a calling
 * thread that may block (`Atomics.wait` throws on a browser's main thread). Without them
 * `createThreadPool` returns null and the backend stays single-threaded.
 *
 * Start-up: a Node worker starts on its own, so a job waits (up to `startupMs`) for a worker
 * that has not started yet. A browser starts a Web Worker only once the creating thread
 * returns to its event loop, so waiting would block until the deadline; there the part of a
 * worker that has not started yet runs on the calling thread after its own (the same code,
 * so the same results), and the worker takes its parts from the first job after it started.
 */
import { ValueError } from '../../errors.js';

/** A module the pool can run: its id (unique per backend) and the compiled module. */
export interface PoolModule {
  readonly id: number;
  readonly module: WebAssembly.Module;
}

/** The calling thread's own instance of an export. */
export type LocalCall = (...args: number[]) => void;

export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** Control block words: jobs pending, a worker failed, the error's length, then one ready flag per worker slot; the error text from byte TEXT. */
const PENDING = 0, FAILED = 1, ERROR_LENGTH = 2, READY = 16, SLOTS = 256, TEXT = 4 * (READY + SLOTS), TEXT_BYTES = 4000;
/** A worker that has not started after this long is taken as failed to start. */
const STARTUP_MS = 20 * 1000;
/** A job that takes longer than this is reported as hung (a worker died). */
const WATCHDOG_MS = 10 * 60 * 1000;

/** The pool cannot run jobs (a worker failed to start): the caller should run single-threaded. */
export class ThreadsUnavailable extends Error {}

/** The worker's program (plain JavaScript: it runs as an eval'd script or from a Blob URL). */
const WORKER_SOURCE = `
'use strict';
const node = typeof require === 'function';
const port = node ? require('node:worker_threads').parentPort : self;
let memory = null, ctl = null;
const instances = new Map();
function onMessage(msg) {
  if (msg.type === 'init') {
    memory = msg.memory;
    ctl = new Int32Array(msg.ctl);
    Atomics.store(ctl, ${READY} + msg.slot, 1);
    Atomics.notify(ctl, ${READY} + msg.slot);
  } else if (msg.type === 'module') {
    instances.set(msg.id, new WebAssembly.Instance(msg.module, { env: { memory } }).exports);
  } else if (msg.type === 'run') {
    try {
      const fs = msg.ids.map((id) => instances.get(id)[msg.name]);
      if (msg.indexed) for (const args of msg.calls) fs[args[0]](...args.slice(1));
      else for (const args of msg.calls) fs[0](...args);
    } catch (e) {
      const text = new TextEncoder().encode(String(e && e.stack || e)).subarray(0, ${TEXT_BYTES});
      new Uint8Array(ctl.buffer, ${TEXT}, ${TEXT_BYTES}).set(text);
      Atomics.store(ctl, ${ERROR_LENGTH}, text.length);
      Atomics.store(ctl, ${FAILED}, 1);
    }
    if (Atomics.sub(ctl, ${PENDING}, 1) === 1) Atomics.notify(ctl, ${PENDING});
  }
}
if (node) port.on('message', onMessage);
else port.onmessage = (e) => onMessage(e.data);
`;

export class ThreadPool {
  private workers: { worker: WorkerLike; modules: Set<number>; slot: number; ready: boolean }[] = [];
  private readonly ctl = new Int32Array(new SharedArrayBuffer(TEXT + TEXT_BYTES));
  private nextSlot = 0;
  private jobsRun = 0;

  /**
   * `startupMs`: how long a job waits for a worker to start before the pool counts it as
   * failed; `startsWhileBlocked`: whether workers start while the calling thread blocks
   * (false in a browser: a job then runs the parts of workers not yet started itself).
   */
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly spawn: () => WorkerLike,
    private readonly startupMs = STARTUP_MS,
    private readonly startsWhileBlocked = true,
  ) {}

  /** Threads, counting the calling thread. */
  get size(): number {
    return this.workers.length + 1;
  }

  /** Jobs that handed a part to at least one worker and completed (for tests that check work was split). */
  get jobs(): number {
    return this.jobsRun;
  }

  /** Workers that have started (taken their memory and control block). */
  get started(): number {
    return this.workers.filter((w) => this.isStarted(w)).length;
  }

  private isStarted(w: { slot: number; ready: boolean }): boolean {
    return w.ready || (w.ready = Atomics.load(this.ctl, READY + w.slot) === 1);
  }

  /** Start or stop workers so that there are `threads` threads in all. */
  resize(threads: number): void {
    while (this.workers.length < threads - 1) {
      const worker = this.spawn();
      const slot = this.nextSlot++ % SLOTS;
      Atomics.store(this.ctl, READY + slot, 0);
      worker.postMessage({ type: 'init', memory: this.memory, ctl: this.ctl.buffer, slot });
      this.workers.push({ worker, modules: new Set(), slot, ready: false });
    }
    while (this.workers.length > Math.max(threads - 1, 0)) void this.workers.pop()!.worker.terminate();
  }

  /**
   * Run export `name` of `mod`: the calling thread makes the calls of `perThread[0]` with
   * `local` (its own instance), worker t − 1 those of `perThread[t]`; returns when all are done.
   * With a list of modules (and their local functions), each call's first number is the index
   * of the module whose export it calls, in order (a sequence of kernels per thread). In a
   * browser the parts of workers not yet started run on the calling thread (file comment).
   */
  run(mod: PoolModule | readonly PoolModule[], name: string, local: LocalCall | readonly LocalCall[], perThread: readonly (readonly number[][])[]): void {
    const indexed = !('module' in mod);
    const mods: readonly PoolModule[] = 'module' in mod ? [mod] : mod;
    const locals: readonly LocalCall[] = typeof local === 'function' ? [local] : local;
    if (perThread.length > this.size) throw new Error(`thread pool: ${perThread.length} parts for ${this.size} threads`);
    const parts = perThread.slice(1).map((calls, i) => ({ calls, w: this.workers[i] })).filter((p) => p.calls.length > 0);
    const ctl = this.ctl;
    // Workers that have not yet started get a while to do so (a worker that cannot start never
    // answers), except where they cannot start while this thread blocks: their parts run here.
    const late = this.startsWhileBlocked ? [] : parts.filter((p) => !this.isStarted(p.w));
    const busy = parts.filter((p) => !late.includes(p));
    for (const { w } of busy) {
      const deadline = Date.now() + this.startupMs;
      while (!this.isStarted(w)) {
        if (Date.now() > deadline) throw new ThreadsUnavailable(`wasm thread pool: a worker did not start within ${this.startupMs / 1000} s`);
        Atomics.wait(ctl, READY + w.slot, 0, 100);
      }
    }
    Atomics.store(ctl, FAILED, 0);
    Atomics.store(ctl, PENDING, busy.length);
    for (const { calls, w } of busy) {
      for (const m of mods)
        if (!w.modules.has(m.id)) {
          w.worker.postMessage({ type: 'module', id: m.id, module: m.module });
          w.modules.add(m.id);
        }
      w.worker.postMessage({ type: 'run', ids: mods.map((m) => m.id), indexed, name, calls });
    }
    let localError: unknown = null;
    try {
      for (const calls of [perThread[0] ?? [], ...late.map((p) => p.calls)])
        if (indexed) for (const args of calls) locals[args[0]](...args.slice(1));
        else for (const args of calls) locals[0](...args);
    } catch (e) {
      localError = e;
    }
    const start = Date.now();
    for (;;) {
      const pending = Atomics.load(ctl, PENDING);
      if (pending === 0) break;
      Atomics.wait(ctl, PENDING, pending, 1000);
      if (Date.now() - start > WATCHDOG_MS) throw new ValueError(`wasm thread pool: ${pending} worker(s) did not finish '${name}' within ${WATCHDOG_MS / 1000} s`);
    }
    if (localError) throw localError;
    if (Atomics.load(ctl, FAILED)) {
      const text = new TextDecoder().decode(new Uint8Array(ctl.buffer, TEXT, Atomics.load(ctl, ERROR_LENGTH)).slice());
      throw new ValueError(`wasm thread pool: '${name}' failed in a worker: ${text}`);
    }
    if (busy.length > 0) this.jobsRun++;
  }

  /** Stop every worker. */
  close(): void {
    this.resize(1);
  }
}

/** Whether the calling thread may block in `Atomics.wait` (not a browser's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

type NodeWorkerThreads = { Worker: new (src: string, opts: { eval: boolean; execArgv: string[] }) => WorkerLike & { unref(): void } };

/** How to start a worker here (and whether it starts while its creator blocks: Node yes, a browser no), or null. */
function workerFactory(): { spawn: () => WorkerLike; startsWhileBlocked: boolean } | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown; versions?: { node?: string } } }).process;
  if (proc?.versions?.node) {
    const wt = proc.getBuiltinModule?.('node:worker_threads') as NodeWorkerThreads | undefined;
    if (!wt) return null;
    const spawn = () => {
      // No inherited flags: the source is a plain CommonJS script (`--input-type=module` or loaders would change that).
      const w = new wt.Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
      w.unref();
      return w;
    };
    return { spawn, startsWhileBlocked: true };
  }
  const g = globalThis as { Worker?: new (url: string) => WorkerLike; Blob?: typeof Blob; URL?: typeof URL };
  if (typeof g.Worker !== 'function' || !g.Blob || !g.URL?.createObjectURL) return null;
  const url = g.URL.createObjectURL(new g.Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  return { spawn: () => new g.Worker!(url), startsWhileBlocked: false };
}

/** A pool over `memory`, or null where threads are unavailable (see the file comment). */
export function createThreadPool(memory: WebAssembly.Memory): ThreadPool | null {
  if (typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer) || !canBlock()) return null;
  const factory = workerFactory();
  return factory ? new ThreadPool(memory, factory.spawn, STARTUP_MS, factory.startsWhileBlocked) : null;
}

/** The number of hardware threads (for `config.threads = 0`). */
export function hardwareThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  const os = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:os') as
    | { availableParallelism?: () => number; cpus: () => unknown[] }
    | undefined;
  return os ? (os.availableParallelism?.() ?? os.cpus().length) : 1;
}
