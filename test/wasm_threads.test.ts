/**
 * The wasm backend's threads (`runtime/wasm_threads.ts`, `config.threads`):
 *
 * - determinism: matmuls (single, batched, broadcast, odd shapes) and fused kernels (vector
 *   loops, scalar tails, reductions, bool outputs, 1-D and n-D) give the same bits run after
 *   run with a fixed thread count, and the same bits as on one thread;
 * - the split covers every case: fewer rows than threads, one row, workspaces per thread;
 * - an error in a worker is reported to the caller, and the pool keeps working;
 * - task jobs (`runTasks`): every task runs exactly once, on whichever thread takes it, workers
 *   join (a job of long tasks is shared), an error in a task is reported, and a worker that
 *   never starts neither blocks a job nor takes a task;
 * - `setThreads` validates its argument, 0 means one thread per core;
 * - workers do not keep a Node process alive.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WasmBackend } from '../src/core/backends/runtime/wasm.js';
import { createThreadPool, hardwareThreads, ThreadPool, ThreadsUnavailable } from '../src/core/backends/runtime/wasm_threads.js';
import { FunctionBuilder, ModuleBuilder } from '../src/core/backends/wasm/encoder.js';
import { storageOf, type DType } from '../src/core/dtype.js';
import { bin, cnst, freshVar, idx, load, outVar, un, varRef, type Expr, type Kernel } from '../src/core/kernel/ir.js';
import { config, setThreads } from '../src/index.js';
import { lcg } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wasm = new WasmBackend();
const rng = lcg(5);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng() * 2 - 1);

function withThreads<T>(n: number, fn: () => T, minimal = true): T {
  const saved = [config.threads, wasm.minParallelFlops, wasm.minParallelWork] as const;
  config.threads = n;
  if (minimal) [wasm.minParallelFlops, wasm.minParallelWork] = [0, 0];
  try {
    return fn();
  } finally {
    [config.threads, wasm.minParallelFlops, wasm.minParallelWork] = saved;
  }
}

function matmul(a: Float32Array, b: Float32Array, p: { batch: number; m: number; k: number; n: number; aBatchStride: number; bBatchStride: number }): Float32Array {
  const x = wasm.upload('float32', a), y = wasm.upload('float32', b), out = wasm.alloc('float32', p.batch * p.m * p.n);
  wasm.routine('matmul', [x, y], [out], p);
  const r = new Float32Array(wasm.readSync(out));
  [x, y, out].forEach((t) => wasm.free(t));
  return r;
}

function kernel(k: Kernel, inputs: { dtype: DType; data: ArrayLike<number> }[]): ArrayLike<number> {
  const bufs = inputs.map((o) => wasm.upload(o.dtype, new (storageOf(o.dtype))(o.data as ArrayLike<number> & number[])));
  const out = wasm.alloc(k.outDtype, k.outShape.reduce((x, y) => x * y, 1));
  wasm.run(k, bufs, out);
  const r = new (storageOf(k.outDtype))(wasm.readSync(out));
  [...bufs, out].forEach((t) => wasm.free(t));
  return r;
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i])));

test('setThreads: integers ≥ 0; 0 is one thread per core', () => {
  const saved = config.threads;
  setThreads(3);
  assert.is(config.threads, 3);
  assert.throws(() => setThreads(-1), /integer ≥ 0/);
  assert.throws(() => setThreads(1.5), /integer ≥ 0/);
  setThreads(saved);
  assert.ok(hardwareThreads() >= 1);
});

test('matmul: the same bits on 1, 2 and 3 threads, and run after run', () => {
  const shapes: [number, number, number, number, number, number][] = [
    // batch, m, k, n, aBatchStride factor (0 = broadcast), bBatchStride factor
    [1, 1, 7, 9, 1, 1], [1, 3, 5, 4, 1, 1], [1, 37, 300, 45, 1, 1], [1, 256, 64, 128, 1, 1], [3, 11, 13, 17, 1, 1], [5, 6, 20, 9, 1, 0], [4, 9, 10, 11, 0, 1], [2, 128, 257, 33, 1, 1],
  ];
  for (const [batch, m, k, n, fa, fb] of shapes) {
    const p = { batch, m, k, n, aBatchStride: fa * m * k, bBatchStride: fb * k * n };
    const a = rand(fa ? batch * m * k : m * k), b = rand(fb ? batch * k * n : k * n);
    const one = withThreads(1, () => matmul(a, b, p));
    for (const t of [2, 3]) {
      const runs = [0, 1, 2].map(() => withThreads(t, () => matmul(a, b, p)));
      for (const r of runs) assert.ok(same(r, one), `batch ${batch} ${m}×${k}·${k}×${n} on ${t} threads`);
    }
  }
  assert.equal(wasm.memoryStats(), { buffers: 0, bytes: 0 }, 'workspaces are freed');
});

test('fused kernels: the same bits on 1, 2 and 3 threads, and run after run', () => {
  const i0 = outVar(0), i1 = outVar(1);
  const x2 = (cols: number) => load(0, bin('add', bin('mul', i0, idx(cols)), i1), 'float32');
  const rowSum = (cols: number): Expr => {
    const r = freshVar();
    return { k: 'reduce', op: 'sum', vars: [{ name: r, size: cols }], body: un('exp', load(0, bin('add', bin('mul', i0, idx(cols)), varRef(r)), 'float32')), dtype: 'float32' };
  };
  const cases: [string, Kernel, number][] = [
    ['1-D tanh·sigmoid', { inputs: ['float32'], outShape: [1003], outDtype: 'float32', expr: bin('mul', un('tanh', load(0, i0, 'float32')), un('sigmoid', load(0, i0, 'float32'))), label: 'chain' }, 1003],
    ['softmax rows', { inputs: ['float32'], outShape: [7, 33], outDtype: 'float32', expr: bin('div', un('exp', x2(33)), rowSum(33)), label: 'softmax' }, 7 * 33],
    ['one row', { inputs: ['float32'], outShape: [1, 50], outDtype: 'float32', expr: un('log', x2(50)), label: 'row' }, 50],
    ['a leading dimension of 1 (split on the next)', { inputs: ['float32'], outShape: [1, 6, 40], outDtype: 'float32', expr: un('exp', load(0, bin('add', bin('mul', outVar(1), idx(40)), outVar(2)), 'float32')), label: 'lead1' }, 240],
    ['two rows of three (scalar)', { inputs: ['float32'], outShape: [2, 3], outDtype: 'float32', expr: un('exp', x2(3)), label: 'small' }, 6],
    ['bool output', { inputs: ['float32'], outShape: [5, 9], outDtype: 'bool', expr: bin('gt', x2(9), cnst(0, 'float32')), label: 'gt' }, 45],
    ['a JavaScript call (stays on the calling thread)', { inputs: ['float32'], outShape: [4, 8], outDtype: 'float32', expr: un('sin', x2(8)), label: 'sin' }, 32],
  ];
  for (const [what, k, n] of cases) {
    const input = [{ dtype: 'float32' as DType, data: rand(n) }];
    const one = withThreads(1, () => kernel(k, input));
    for (const t of [2, 3]) for (let run = 0; run < 3; run++) assert.ok(same(withThreads(t, () => kernel(k, input)), one), `${what} on ${t} threads, run ${run}`);
  }
  // With the default thresholds a small kernel stays on the calling thread and a large one is split: same bits either way.
  const big: Kernel = { inputs: ['float32'], outShape: [300, 1000], outDtype: 'float32', expr: un('tanh', x2(1000)), label: 'big' };
  const input = [{ dtype: 'float32' as DType, data: rand(300000) }];
  assert.ok(same(withThreads(2, () => kernel(big, input), false), withThreads(1, () => kernel(big, input))));
});

/** A module exporting `f` as `name` over the backend's memory, and the calling thread's instance of it. */
function onHeap(name: string, f: FunctionBuilder): { module: WebAssembly.Module; local: (...args: number[]) => void } {
  const m = new ModuleBuilder();
  m.importMemory('env', 'memory', wasm.heap.limits);
  m.exportFunction(name, m.addFunction(f));
  const module = new WebAssembly.Module(m.build());
  return { module, local: new WebAssembly.Instance(module, { env: { memory: wasm.heap.memory } }).exports[name] as (...args: number[]) => void };
}

test('an error in a worker reaches the caller; the pool keeps working', () => {
  const memory = wasm.heap.memory;
  const pool = createThreadPool(memory);
  if (!pool) return; // no threads on this platform
  const f = new FunctionBuilder(['i32'], []);
  // f(x): traps when x is 0, else stores x at address 0
  f.body.localGet(0).op('i32.eqz').if().op('unreachable').end().i32Const(0).localGet(0).mem('i32.store');
  const { module, local } = onHeap('f', f);
  pool.resize(2);
  try {
    assert.throws(() => pool.run({ id: 0, module }, 'f', local, [[[5]], [[0]]]), /failed in a worker: .*unreachable/);
    pool.run({ id: 0, module }, 'f', local, [[], [[7]]]);
    assert.is(new Int32Array(memory.buffer, 0, 1)[0], 7, 'the worker wrote');
  } finally {
    pool.close();
  }
  assert.is(pool.size, 1);
});

test('a worker that never starts: the pool reports it instead of waiting forever', () => {
  const silent = { postMessage() {}, terminate() {} };
  const pool = new ThreadPool(wasm.heap.memory, () => silent, 200);
  pool.resize(2);
  const module = new WebAssembly.Module(new ModuleBuilder().build());
  const t0 = Date.now();
  assert.throws(() => pool.run({ id: 0, module }, 'f', () => {}, [[], [[1]]]), (e: unknown) => e instanceof ThreadsUnavailable);
  assert.ok(Date.now() - t0 < 5000);
});

test('a worker that has not started where workers start only once the caller yields (a browser): its parts run on the caller', () => {
  const silent = { postMessage() {}, terminate() {} };
  const pool = new ThreadPool(wasm.heap.memory, () => silent, 200, false);
  pool.resize(3);
  const module = new WebAssembly.Module(new ModuleBuilder().build());
  const calls: number[] = [];
  pool.run({ id: 0, module }, 'f', (x) => calls.push(x), [[[1]], [[2], [3]], [[4]]]);
  assert.equal(calls, [1, 2, 3, 4]);
  assert.is(pool.started, 0);
  assert.is(pool.jobs, 0, 'no part was handed to a worker');
});

test('task jobs: each task runs once, workers join a job of long tasks, errors reach the caller', () => {
  const memory = wasm.heap.memory;
  const pool = createThreadPool(memory);
  if (!pool) return; // no threads on this platform
  // task(i, spins): counts to `spins` (work), traps when spins < 0, then increments word 16 + i
  const f = new FunctionBuilder(['i32', 'i32'], []);
  const k = f.local('i32');
  f.body.localGet(1).i32Const(0).op('i32.lt_s').if().op('unreachable').end();
  f.body.block().loop().localGet(k).localGet(1).op('i32.ge_s').brIf(1).localGet(k).i32Const(1).op('i32.add').localSet(k).br(0).end().end();
  f.body.localGet(0).i32Const(2).op('i32.shl').localGet(0).i32Const(2).op('i32.shl').mem('i32.load', 64).i32Const(1).op('i32.add').mem('i32.store', 64);
  const { module, local } = onHeap('task', f);
  const counts = () => Array.from(new Int32Array(memory.buffer, 64, 64));
  pool.resize(2);
  try {
    for (const spins of [0, 3e5, 3e6]) {
      new Int32Array(memory.buffer, 64, 64).fill(0);
      const jobs = pool.jobs;
      pool.runTasks({ id: 0, module }, 'task', local, Array.from({ length: 64 }, (_, i) => [[i, spins]]));
      assert.equal(counts(), new Array(64).fill(1), `every task once (${spins} spins each)`);
      if (spins === 3e6) assert.ok(pool.jobs > jobs, 'a worker took tasks of a long job');
    }
    // Tasks of several calls each, run in order within a task.
    new Int32Array(memory.buffer, 64, 64).fill(0);
    pool.runTasks({ id: 0, module }, 'task', local, [[[1, 0], [1, 0]], [[2, 0]], [], [[3, 0], [3, 0], [3, 0]]]);
    assert.equal(counts().slice(0, 4), [0, 2, 1, 3]);
    // A trapping task anywhere: the job still completes and the error is reported.
    assert.throws(() => pool.runTasks({ id: 0, module }, 'task', local, Array.from({ length: 16 }, (_, i) => [[i, i === 9 ? -1 : 1e5]])), /unreachable/);
    new Int32Array(memory.buffer, 64, 64).fill(0);
    pool.runTasks({ id: 0, module }, 'task', local, [[[0, 0]], [[1, 0]]]);
    assert.equal(counts().slice(0, 3), [1, 1, 0], 'the pool keeps working');
  } finally {
    pool.close();
  }
});

test('task jobs: a worker that never starts takes nothing and blocks nothing', () => {
  const silent = { postMessage() {}, terminate() {} };
  for (const startsWhileBlocked of [true, false]) {
    const pool = new ThreadPool(wasm.heap.memory, () => silent, 200, startsWhileBlocked);
    pool.resize(3);
    const module = new WebAssembly.Module(new ModuleBuilder().build());
    const calls: number[] = [];
    const t0 = Date.now();
    pool.runTasks({ id: 0, module }, 'f', (x) => calls.push(x), [[[1]], [[2], [3]], [[4]]]);
    assert.ok(Date.now() - t0 < 150, 'no wait for the start-up deadline');
    assert.equal(calls, [1, 2, 3, 4]);
    assert.is(pool.jobs, 0, 'no task ran on a worker');
  }
});

test('workers do not keep the process alive', () => {
  const script = [
    "import { config, np, setDefaultBackend } from './src/index.ts';",
    "setDefaultBackend('wasm'); config.threads = 2;",
    'const a = np.ones([300, 300]);',
    'console.log(np.sum(np.matmul(a, a)).item());',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60000 });
  assert.is(r.signal, null, 'exited by itself (not killed by the timeout)');
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), String(300 ** 3));
});

test.run();
