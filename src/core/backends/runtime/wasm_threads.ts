/**
 * The wasm backend's thread pool: worker threads (`worker_threads` in Node, Web Workers in a
 * browser) that share the backend's `WebAssembly.Memory` and run exports of the backend's
 * modules (the routines module, compiled kernels) on parts of a job while the calling thread
 * runs its own part and then blocks until all are done (`Atomics.wait`).
 *
 * Protocol: each worker gets the memory and a control block (a SharedArrayBuffer) once by
 * message, each module once (a `WebAssembly.Module` is posted and instantiated there against
 * the same memory), and the shared job area once (again when it grows). A job is written to
 * shared memory: the job area holds the module ids, the export's name and each worker's calls
 * (argument lists for one export — of one module, or of several, each argument list then
 * starting with the index of its module); the control block holds, per worker slot, where its
 * calls are and the job's sequence number; then the caller bumps the job sequence word. A
 * worker runs its calls, decrements the control block's counter and wakes the caller; an
 * exception sets the error word and records its message. After a part, a worker polls the
 * sequence word for `POLL_MS` (a spin, as native pools do: back-to-back jobs start without a
 * thread wake-up) and only then returns to its event loop, clearing its polling flag and
 * looking at the sequence word once more. The caller posts a wake-up message to each worker of
 * the job whose polling flag is clear, and to any worker it has just sent a module or a new job
 * area to: a polling worker that finds it lacks one of those returns to its event loop, where
 * messages on a port arrive in order, so the module precedes the wake-up. A worker tracks the
 * last job it has seen, so a wake-up for a job it already took while polling is ignored. The
 * caller, having run its own part, also polls the counter for `POLL_MS` before it blocks in
 * `Atomics.wait`. Workers are `unref`'d: they never keep a Node process alive (a poll window
 * ends within `POLL_MS` anyway). Blocking idle workers in `Atomics.wait` on the sequence word
 * (a futex wake instead of a message) was measured no better after an idle gap: the delay then
 * is the idle vCPU's wake-up and placement, whichever way the worker is woken.
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

/**
 * Control block words: jobs pending, a worker failed, the error's length, the job sequence
 * number; then per worker slot a ready flag, a polling flag (the worker is in its poll window,
 * not in its event loop) and its part of the current job (sequence number, job area
 * generation, offset and length of its calls); the error text from byte TEXT.
 */
const PENDING = 0, FAILED = 1, ERROR_LENGTH = 2, SEQ = 3, SLOTS = 256, READY = 16, POLLING = READY + SLOTS, PART = POLLING + SLOTS;
const TEXT = 4 * (PART + 4 * SLOTS), TEXT_BYTES = 4000;
/**
 * How long a worker polls the sequence word for the next job after finishing a part (and the
 * caller polls for the workers to finish) before going to sleep the normal way. Back-to-back
 * jobs then skip the thread wake-ups: on a 2-vCPU VM a 2-thread 256³ float32 matmul job took
 * ~320 µs instead of ~375 µs, the 8×64×32×32 3×3 conv 6.4 instead of 6.7 ms (1, 3 and 5 ms
 * measured alike). Bounded, so an idle pool keeps a core busy for at most this after each job.
 */
const POLL_MS = 3;
/** Initial size of the shared job area (float64 words); it grows when a job needs more. */
const JOB_AREA_WORDS = 1 << 14;
/** A worker that has not started after this long is taken as failed to start. */
const STARTUP_MS = 20 * 1000;
/** A job that takes longer than this is reported as hung (a worker died). */
const WATCHDOG_MS = 10 * 60 * 1000;

/** The pool cannot run jobs (a worker failed to start): the caller should run single-threaded. */
export class ThreadsUnavailable extends Error {}

/**
 * The worker's program (plain JavaScript: it runs as an eval'd script or from a Blob URL).
 * `take(seq)` runs this worker's part of job `seq` from the job area, or returns false when the
 * worker lacks something the job needs (a module, the current job area): those come by message,
 * so it then returns to its event loop, where they arrive before the job's wake-up message.
 */
const WORKER_SOURCE = `
'use strict';
const node = typeof require === 'function';
const port = node ? require('node:worker_threads').parentPort : self;
let memory = null, ctl = null, slot = 0, area = null, areaGen = -1, done = 0;
const instances = new Map();
function take(seq) {
  const at = ${PART} + 4 * slot;
  if (Atomics.load(ctl, at) !== seq) { done = seq; return true; }
  if (ctl[at + 1] !== areaGen) return false;
  const nMods = area[0], ids = [];
  for (let i = 0; i < nMods; i++) { if (!instances.has(area[1 + i])) return false; ids.push(area[1 + i]); }
  const indexed = area[1 + nMods] === 1, nameLength = area[2 + nMods];
  let name = '';
  for (let i = 0; i < nameLength; i++) name += String.fromCharCode(area[3 + nMods + i]);
  done = seq;
  try {
    const fs = ids.map((id) => instances.get(id)[name]);
    for (let p = ctl[at + 2], end = p + ctl[at + 3]; p < end; ) {
      const argc = area[p++];
      const args = Array.from(area.subarray(p, p + argc));
      p += argc;
      if (indexed) fs[args[0]](...args.slice(1));
      else fs[0](...args);
    }
  } catch (e) {
    const text = new TextEncoder().encode(String(e && e.stack || e)).subarray(0, ${TEXT_BYTES});
    new Uint8Array(ctl.buffer, ${TEXT}, ${TEXT_BYTES}).set(text);
    Atomics.store(ctl, ${ERROR_LENGTH}, text.length);
    Atomics.store(ctl, ${FAILED}, 1);
  }
  if (Atomics.sub(ctl, ${PENDING}, 1) === 1) Atomics.notify(ctl, ${PENDING});
  return true;
}
function poll() {
  Atomics.store(ctl, ${POLLING} + slot, 1);
  let end = performance.now() + ${POLL_MS};
  for (;;) {
    const seq = Atomics.load(ctl, ${SEQ});
    if (seq !== done) {
      if (!take(seq)) break;
      end = performance.now() + ${POLL_MS};
    } else if (performance.now() > end) {
      // Leave the window, then look once more: a job posted before the flag was cleared is seen here.
      Atomics.store(ctl, ${POLLING} + slot, 0);
      if (Atomics.load(ctl, ${SEQ}) === done) return;
      Atomics.store(ctl, ${POLLING} + slot, 1);
    }
  }
  Atomics.store(ctl, ${POLLING} + slot, 0);
}
function onMessage(msg) {
  if (msg.type === 'init') {
    memory = msg.memory;
    ctl = new Int32Array(msg.ctl);
    slot = msg.slot;
    done = Atomics.load(ctl, ${SEQ});
    Atomics.store(ctl, ${READY} + slot, 1);
    Atomics.notify(ctl, ${READY} + slot);
  } else if (msg.type === 'area') {
    area = new Float64Array(msg.area);
    areaGen = msg.gen;
  } else if (msg.type === 'module') {
    instances.set(msg.id, new WebAssembly.Instance(msg.module, { env: { memory } }).exports);
  } else if (msg.type === 'wake') {
    // Stale when the worker took that job while polling (jobs run one at a time: only the current one is new).
    if (msg.seq !== done && msg.seq === Atomics.load(ctl, ${SEQ}) && take(msg.seq)) poll();
  }
}
if (node) port.on('message', onMessage);
else port.onmessage = (e) => onMessage(e.data);
`;

export class ThreadPool {
  private workers: { worker: WorkerLike; modules: Set<number>; slot: number; ready: boolean; areaGen: number }[] = [];
  private readonly ctl = new Int32Array(new SharedArrayBuffer(TEXT + TEXT_BYTES));
  private area = new Float64Array(new SharedArrayBuffer(8 * JOB_AREA_WORDS));
  private areaGen = 0;
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
      Atomics.store(this.ctl, POLLING + slot, 0);
      Atomics.store(this.ctl, PART + 4 * slot, Atomics.load(this.ctl, SEQ));
      Atomics.store(this.ctl, PART + 4 * slot + 1, -1);
      worker.postMessage({ type: 'init', memory: this.memory, ctl: this.ctl.buffer, slot });
      this.workers.push({ worker, modules: new Set(), slot, ready: false, areaGen: -1 });
    }
    while (this.workers.length > Math.max(threads - 1, 0)) void this.workers.pop()!.worker.terminate();
  }

  /**
   * Write the job into the shared job area (growing it if needed): the module ids, whether
   * calls are indexed, the export's name, then per part its calls, each as its length and its
   * numbers; returns each part's [offset, length].
   */
  private writeJob(ids: readonly number[], indexed: boolean, name: string, parts: readonly (readonly number[][])[]): [number, number][] {
    const words = 3 + ids.length + name.length + parts.reduce((n, calls) => n + calls.reduce((m, args) => m + 1 + args.length, 0), 0);
    if (words > this.area.length) {
      this.area = new Float64Array(new SharedArrayBuffer(8 * 2 ** Math.ceil(Math.log2(words))));
      this.areaGen++;
    }
    const a = this.area;
    let p = 0;
    a[p++] = ids.length;
    for (const id of ids) a[p++] = id;
    a[p++] = indexed ? 1 : 0;
    a[p++] = name.length;
    for (let i = 0; i < name.length; i++) a[p++] = name.charCodeAt(i);
    return parts.map((calls) => {
      const start = p;
      for (const args of calls) {
        a[p++] = args.length;
        for (const x of args) a[p++] = x;
      }
      return [start, p - start];
    });
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
    if (busy.length > 0) {
      const seq = (Atomics.load(ctl, SEQ) + 1) | 0;
      const places = this.writeJob(mods.map((m) => m.id), indexed, name, busy.map((p) => p.calls));
      // Modules and a new job area go by message: a worker that lacks one leaves its poll window
      // for its event loop, so it also gets a wake-up message, posted after them.
      const byMessage = busy.map(({ w }, i) => {
        let send = false;
        if (w.areaGen !== this.areaGen) {
          w.worker.postMessage({ type: 'area', area: this.area.buffer, gen: this.areaGen });
          w.areaGen = this.areaGen;
          send = true;
        }
        for (const m of mods)
          if (!w.modules.has(m.id)) {
            w.worker.postMessage({ type: 'module', id: m.id, module: m.module });
            w.modules.add(m.id);
            send = true;
          }
        const at = PART + 4 * w.slot;
        Atomics.store(ctl, at + 1, w.areaGen);
        Atomics.store(ctl, at + 2, places[i][0]);
        Atomics.store(ctl, at + 3, places[i][1]);
        Atomics.store(ctl, at, seq);
        return send;
      });
      Atomics.store(ctl, SEQ, seq);
      // A worker in its event loop needs a message (one that took the job while polling ignores it).
      busy.forEach(({ w }, i) => {
        if (byMessage[i] || Atomics.load(ctl, POLLING + w.slot) === 0) w.worker.postMessage({ type: 'wake', seq });
      });
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
    // Poll first (the workers' parts usually end about when this one does: no sleep, no wake-up), then block.
    const pollEnd = performance.now() + POLL_MS;
    while (Atomics.load(ctl, PENDING) !== 0 && performance.now() < pollEnd);
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
