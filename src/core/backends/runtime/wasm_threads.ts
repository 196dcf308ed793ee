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
 * Task jobs (`runTasks`): the parts are tasks that any thread may run, not one per thread. The
 * job word (64 bits: the job's sequence number, its task count and the next task's index)
 * hands tasks out by compare-and-swap: the caller starts taking tasks at once, each worker
 * joins when it wakes, and the job is done when the done counter reaches the task count. A
 * worker that wakes late (an idle vCPU can take milliseconds to come back) or is descheduled
 * (V8's garbage collector threads compete for the same cores) only takes fewer tasks, where a
 * fixed split would make the caller wait for its part. A claim names the job by its full
 * sequence number, so a worker still holding an older job claims nothing; a claimed task keeps
 * its job current (the caller waits for it), so the job area it then reads is that job's.
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
 * number; for task jobs the job word (64 bits at word 2·JOB: sequence number, task count,
 * next task), the tasks done, the task table's offset in the job area and the job area's
 * generation; then per worker slot a ready flag, a polling flag (the worker is in its poll
 * window, not in its event loop) and its part of the current job of parts (sequence number,
 * job area generation, offset and length of its calls); the error text from byte TEXT.
 */
const PENDING = 0, FAILED = 1, ERROR_LENGTH = 2, SEQ = 3, JOB = 3, DONE = 8, TABLE = 9, JOB_AREA = 10, SLOTS = 256, READY = 16, POLLING = READY + SLOTS, PART = POLLING + SLOTS;
/** Most tasks in one task job (the job word holds 16-bit counts). */
const MAX_TASKS = 0xffff;
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
let memory = null, ctl = null, ctl64 = null, slot = 0, area = null, areaGen = -1, done = 0;
const instances = new Map();
/** The job's functions (one per module) and whether calls are indexed, or null while a module is missing. */
function header() {
  // (A worker that took no task of a finished task job may read the area while the next job is
  // written: every value is read once and bounded, so such a read is short and throws nothing;
  // it then claims nothing.)
  const nMods = area[0], mods = [];
  if (!(nMods >= 1 && nMods <= 4096)) return null;
  for (let i = 0; i < nMods; i++) {
    const m = instances.get(area[1 + i]);
    if (!m) return null;
    mods.push(m);
  }
  const indexed = area[1 + nMods] === 1, nameLength = area[2 + nMods];
  if (!(nameLength >= 0 && nameLength <= 64)) return null;
  let name = '';
  for (let i = 0; i < nameLength; i++) name += String.fromCharCode(area[3 + nMods + i]);
  return { fs: mods.map((m) => m[name]), indexed };
}
function runCalls(h, p, end) {
  try {
    while (p < end) {
      const argc = area[p++];
      const args = Array.from(area.subarray(p, p + argc));
      p += argc;
      if (h.indexed) h.fs[args[0]](...args.slice(1));
      else h.fs[0](...args);
    }
  } catch (e) {
    const text = new TextEncoder().encode(String(e && e.stack || e)).subarray(0, ${TEXT_BYTES});
    new Uint8Array(ctl.buffer, ${TEXT}, ${TEXT_BYTES}).set(text);
    Atomics.store(ctl, ${ERROR_LENGTH}, text.length);
    Atomics.store(ctl, ${FAILED}, 1);
  }
}
function take(seq) {
  const v = Atomics.load(ctl64, ${JOB});
  if (Number(v >> 32n) === seq) {
    // A task job: claim its tasks until none is left. (Read while the job may already be over:
    // then the claim fails and nothing read is used.)
    const h = ctl[${JOB_AREA}] === areaGen ? header() : null;
    if (!h) {
      // Lacking the area or a module: they come by message (return to the event loop) — unless
      // the job is already over and this read the next job's area while it was written.
      const w = Atomics.load(ctl64, ${JOB});
      if (Number(w >> 32n) === seq && Number(w & 0xffffn) < Number((w >> 16n) & 0xffffn)) return false;
      done = seq;
      return true;
    }
    done = seq;
    for (;;) {
      const v = Atomics.load(ctl64, ${JOB});
      const n = Number((v >> 16n) & 0xffffn), i = Number(v & 0xffffn);
      if (Number(v >> 32n) !== seq || i >= n) return true;
      if (Atomics.compareExchange(ctl64, ${JOB}, v, v + 1n) !== v) continue;
      const t = ctl[${TABLE}] + 2 * i;
      runCalls(h, area[t], area[t] + area[t + 1]);
      if (Atomics.add(ctl, ${DONE}, 1) + 1 === n) Atomics.notify(ctl, ${DONE});
    }
  }
  // A job of parts: this worker's, if it has one (the caller waits for it, so its words hold).
  const at = ${PART} + 4 * slot;
  if (Atomics.load(ctl, at) !== seq) { done = seq; return true; }
  if (ctl[at + 1] !== areaGen) return false;
  const h = header();
  if (!h) return false;
  done = seq;
  runCalls(h, ctl[at + 2], ctl[at + 2] + ctl[at + 3]);
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
    ctl64 = new BigInt64Array(msg.ctl);
    slot = msg.slot;
    // The last job before it was created: jobs posted since (its wake-ups queued behind this message) are new to it.
    done = msg.seq;
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
  /** The control block as 64-bit words (the task jobs' job word). */
  private readonly ctl64 = new BigInt64Array(this.ctl.buffer);
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

  /** Jobs in which a worker ran a part or a task, completed (for tests that check work was split). */
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
      worker.postMessage({ type: 'init', memory: this.memory, ctl: this.ctl.buffer, slot, seq: Atomics.load(this.ctl, SEQ) });
      this.workers.push({ worker, modules: new Set(), slot, ready: false, areaGen: -1 });
    }
    while (this.workers.length > Math.max(threads - 1, 0)) void this.workers.pop()!.worker.terminate();
  }

  /**
   * Write the job into the shared job area (growing it if needed): the module ids, whether
   * calls are indexed, the export's name, then per part its calls, each as its length and its
   * numbers, and with `table` a task table (offset, length per part); returns each part's
   * [offset, length] and the table's offset.
   */
  private writeJob(ids: readonly number[], indexed: boolean, name: string, parts: readonly (readonly number[][])[], table: boolean): { places: [number, number][]; table: number } {
    const words = 3 + ids.length + name.length + parts.reduce((n, calls) => n + calls.reduce((m, args) => m + 1 + args.length, 0), 0) + (table ? 2 * parts.length : 0);
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
    const places = parts.map((calls): [number, number] => {
      const start = p;
      for (const args of calls) {
        a[p++] = args.length;
        for (const x of args) a[p++] = x;
      }
      return [start, p - start];
    });
    const at = p;
    if (table) for (const [start, length] of places) (a[p++] = start), (a[p++] = length);
    return { places, table: at };
  }

  /**
   * Run export `name` of `mod`: the calling thread makes the calls of `perThread[0]` with
   * `local` (its own instance), worker t − 1 those of `perThread[t]`; returns when all are done.
   * With a list of modules (and their local functions), each call's first number is the index
   * of the module whose export it calls, in order (a sequence of kernels per thread). In a
   * browser the parts of workers not yet started run on the calling thread (file comment).
   */
  run(mod: PoolModule | readonly PoolModule[], name: string, local: LocalCall | readonly LocalCall[], perThread: readonly (readonly number[][])[]): void {
    if (perThread.length > this.size) throw new Error(`thread pool: ${perThread.length} parts for ${this.size} threads`);
    const job = this.post(mod, name, local, perThread.slice(1).map((calls, i) => ({ calls, w: this.workers[i] })).filter((p) => p.calls.length > 0), null);
    let localError: unknown = null;
    try {
      for (const calls of [perThread[0] ?? [], ...job.late]) job.runLocal(calls);
    } catch (e) {
      localError = e;
    }
    this.waitUntil(name, () => Atomics.load(this.ctl, PENDING), PENDING);
    this.finish(name, localError, job.busy);
  }

  /**
   * Run export `name` of `mod` on every task of `tasks` (each a list of calls, as a part of
   * `run`), each task on whichever thread takes it first — the calling thread from the start,
   * the workers as they come (file comment); returns when all are done. Every task must
   * compute the same whichever thread runs it, and tasks must not depend on each other.
   */
  runTasks(mod: PoolModule | readonly PoolModule[], name: string, local: LocalCall | readonly LocalCall[], tasks: readonly (readonly number[][])[]): void {
    if (tasks.length > MAX_TASKS) throw new Error(`thread pool: ${tasks.length} tasks (at most ${MAX_TASKS})`);
    const n = tasks.length;
    const job = this.post(mod, name, local, this.workers.map((w) => ({ calls: [], w })), tasks);
    let localError: unknown = null;
    let own = 0;
    for (;;) {
      const v = Atomics.load(this.ctl64, JOB);
      const i = Number(v & 0xffffn);
      if (i >= n) break;
      if (Atomics.compareExchange(this.ctl64, JOB, v, v + 1n) !== v) continue;
      own++;
      try {
        job.runLocal(tasks[i]);
      } catch (e) {
        localError ??= e;
      }
      Atomics.add(this.ctl, DONE, 1);
    }
    this.waitUntil(name, () => n - Atomics.load(this.ctl, DONE), DONE);
    // Counted as split only where a worker ran a task.
    this.finish(name, localError, own < n ? 1 : 0);
  }

  /**
   * Post a job: `parts` name the workers taking part (with their calls, for a job of parts);
   * with `tasks`, a task job every one of them may help with. Returns the workers posted to,
   * the parts of workers that cannot start while this thread blocks (a browser's: run them
   * here) and the calling thread's way to make calls.
   */
  private post(mod: PoolModule | readonly PoolModule[], name: string, local: LocalCall | readonly LocalCall[], parts: { calls: readonly number[][]; w: ThreadPool['workers'][number] }[], tasks: readonly (readonly number[][])[] | null) {
    const indexed = !('module' in mod);
    const mods: readonly PoolModule[] = 'module' in mod ? [mod] : mod;
    const locals: readonly LocalCall[] = typeof local === 'function' ? [local] : local;
    const runLocal = (calls: readonly number[][]) => {
      if (indexed) for (const args of calls) locals[args[0]](...args.slice(1));
      else for (const args of calls) locals[0](...args);
    };
    const ctl = this.ctl;
    // Workers that have not yet started get a while to do so (a worker that cannot start never
    // answers), except where they cannot start while this thread blocks: their parts run here.
    // A task job waits for none: every worker is told, and one that starts in time joins.
    const late = this.startsWhileBlocked || tasks ? [] : parts.filter((p) => !this.isStarted(p.w));
    const busy = parts.filter((p) => !late.includes(p));
    for (const { w } of tasks ? [] : busy) {
      const deadline = Date.now() + this.startupMs;
      while (!this.isStarted(w)) {
        if (Date.now() > deadline) throw new ThreadsUnavailable(`wasm thread pool: a worker did not start within ${this.startupMs / 1000} s`);
        Atomics.wait(ctl, READY + w.slot, 0, 100);
      }
    }
    Atomics.store(ctl, FAILED, 0);
    Atomics.store(ctl, PENDING, tasks ? 0 : busy.length);
    const seq = (Atomics.load(ctl, SEQ) + 1) | 0;
    const { places, table } = this.writeJob(mods.map((m) => m.id), indexed, name, tasks ?? busy.map((p) => p.calls), tasks !== null);
    if (tasks) {
      Atomics.store(ctl, TABLE, table);
      Atomics.store(ctl, JOB_AREA, this.areaGen);
      Atomics.store(ctl, DONE, 0);
      Atomics.store(this.ctl64, JOB, (BigInt(seq) << 32n) | BigInt(tasks.length << 16));
    }
    if (busy.length > 0) {
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
        if (!tasks) {
          const at = PART + 4 * w.slot;
          Atomics.store(ctl, at + 1, w.areaGen);
          Atomics.store(ctl, at + 2, places[i][0]);
          Atomics.store(ctl, at + 3, places[i][1]);
          Atomics.store(ctl, at, seq);
        }
        return send;
      });
      Atomics.store(ctl, SEQ, seq);
      // A worker in its event loop needs a message (one that took the job while polling ignores it).
      busy.forEach(({ w }, i) => {
        if (byMessage[i] || Atomics.load(ctl, POLLING + w.slot) === 0) w.worker.postMessage({ type: 'wake', seq });
      });
    }
    return { busy: busy.length, late: late.map((p) => p.calls), runLocal };
  }

  /** Wait until `left()` is 0: poll first (the others usually finish about when this thread does: no sleep, no wake-up), then block on `word`. */
  private waitUntil(name: string, left: () => number, word: number): void {
    const ctl = this.ctl;
    const start = Date.now();
    const pollEnd = performance.now() + POLL_MS;
    while (left() !== 0 && performance.now() < pollEnd);
    for (;;) {
      if (left() === 0) break;
      Atomics.wait(ctl, word, Atomics.load(ctl, word), 1000);
      if (Date.now() - start > WATCHDOG_MS) throw new ValueError(`wasm thread pool: worker(s) did not finish '${name}' within ${WATCHDOG_MS / 1000} s`);
    }
  }

  /** Rethrow the calling thread's error or a worker's; count the job. */
  private finish(name: string, localError: unknown, busy: number): void {
    const ctl = this.ctl;
    if (localError) throw localError;
    if (Atomics.load(ctl, FAILED)) {
      const text = new TextDecoder().decode(new Uint8Array(ctl.buffer, TEXT, Atomics.load(ctl, ERROR_LENGTH)).slice());
      throw new ValueError(`wasm thread pool: '${name}' failed in a worker: ${text}`);
    }
    if (busy > 0) this.jobsRun++;
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
