/**
 * The WebGPU runtime's own machinery on Dawn (llvmpipe in CI), each result against the CPU
 * oracle: shape parameters (one pipeline serves a jit function at several shapes),
 * workgroup (tree) reductions, kernels with more inputs than the device binds (packed),
 * pipelines compiled ahead asynchronously (`prepare`), the limits' errors, and the core paths
 * that would read synchronously (eager cond, whileLoop, debugNans, np.repeat, np.array casts,
 * foriLoop bounds), and a lost device. Skipped where no adapter can be created (fails in CI, as
 * the parity suite). The same file passes on an NVIDIA H200 (Dawn on Vulkan).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NDArray } from '../src/core/array.js';
import { getBackend, setDefaultBackend, type BackendName } from '../src/core/backends/backend.js';
import type { WebGpuBackend } from '../src/core/backends/runtime/webgpu.js';
import { config } from '../src/core/config.js';
import { storageOf, type DType } from '../src/core/dtype.js';
import { DeviceError, FloatingPointError } from '../src/core/errors.js';
import type { Kernel } from '../src/core/kernel/ir.js';
import { lowerJaxpr } from '../src/core/kernel/lower.js';
import { compileJaxpr } from '../src/core/kernel/program.js';
import { initWebGpu, jit, lax, makeJaxpr, np, type Array as VArray } from '../src/index.js';
import { lcg, prod } from './helpers.js';

const IN_CI = !!process.env.CI && process.env.CI !== 'false';
let gpu: WebGpuBackend | Error;
try {
  await initWebGpu();
  gpu = getBackend('webgpu') as WebGpuBackend;
} catch (e) {
  gpu = e instanceof Error ? e : new Error(String(e));
}

/** An array of random values (integers in [-50, 50) for int dtypes) on a backend. */
function rand(name: BackendName, shape: number[], seed: number, dtype: DType = 'float32', fill?: (r: () => number, i: number) => number): NDArray {
  const r = lcg(seed);
  const data = new (storageOf(dtype))(prod(shape));
  for (let i = 0; i < data.length; i++) data[i] = fill ? fill(r, i) : dtype === 'float32' ? r() * 2 - 1 : Math.floor(r() * 100) - 50;
  return NDArray.fromData(getBackend(name), data, shape, dtype);
}
const both = (shape: number[], seed: number, dtype: DType = 'float32', fill?: (r: () => number, i: number) => number) =>
  [rand('webgpu', shape, seed, dtype, fill), rand('cpu', shape, seed, dtype, fill)] as const;
function on<T>(name: BackendName, fn: () => T): T {
  setDefaultBackend(name);
  try {
    return fn();
  } finally {
    setDefaultBackend('cpu');
  }
}
async function exact(got: VArray, want: VArray, what: string): Promise<void> {
  assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  const g = await got.data(), w = want.dataSync();
  for (let i = 0; i < w.length; i++) if (!Object.is(g[i], w[i]) && !(Number.isNaN(g[i]) && Number.isNaN(w[i]))) assert.unreachable(`${what}: element ${i} is ${g[i]}, the oracle says ${w[i]}`);
}
/**
 * f32 sums: each element within (k + 2)·2⁻²⁴·Σ|terms| of the oracle's f64 sum (the classical
 * bound for any summation order of k terms in f32 — the pairwise tree is within it, with room).
 */
async function closeSum(got: VArray, want: VArray, absSum: VArray, k: number, what: string): Promise<void> {
  const g = await got.data(), w = want.dataSync(), a = absSum.dataSync();
  for (let i = 0; i < w.length; i++) {
    const bound = (k + 2) * 2 ** -24 * a[i];
    if (!(Math.abs(g[i] - w[i]) <= bound)) assert.unreachable(`${what}: element ${i} is ${g[i]}, the oracle says ${w[i]} (bound ${bound})`);
  }
}
const kernelsOf = (f: (...a: VArray[]) => VArray, ...args: VArray[]): Kernel[] =>
  lowerJaxpr(compileJaxpr(makeJaxpr(f)(...args).jaxpr).jaxpr).steps.flatMap((s) => (s.kind === 'kernel' ? [s.kernel] : []));

if (gpu instanceof Error) {
  if (IN_CI) test('a WebGPU adapter is available', () => assert.unreachable(`no WebGPU device: ${(gpu as Error).message}`));
  else console.log(`webgpu_runtime: skipped (${gpu.message})`);
} else {
  const b = gpu;

  test('shape parameters: one jit function on three shapes compiles its pipelines once', async () => {
    // Shapes chosen with no coincidences between dims (equal constants could share a node).
    // One jit per backend: a jit's traced constants live on the backend it was first called on.
    const fn = (x: VArray, y: VArray) => np.sum(np.mul(np.add(np.mul(x, 2), y), np.tanh(x)), 1);
    const fg = jit(fn), fc = jit(fn);
    const shapes = [[3, 5], [4, 7], [6, 9]];
    let misses = -1;
    for (const [k, [m, n]] of shapes.entries()) {
      const [xg, xc] = both([m, n], 10 + k), [yg, yc] = both([n], 20 + k);
      const before = b.poolStats().pipelineMisses;
      const got = on('webgpu', () => fg(xg, yg));
      await got.data();
      const compiled = b.poolStats().pipelineMisses - before;
      if (k === 0) misses = compiled;
      else assert.is(compiled, 0, `shape ${m}×${n} compiled ${compiled} new pipelines`);
      const want = fc(xc, yc);
      const absW = np.sum(np.abs(np.mul(np.add(np.mul(xc, 2), yc), np.tanh(xc))), 1);
      // tanh differs from the oracle by a few ULP (render/wgsl.ts): compare with the sum bound plus 1e-6·Σ|terms|.
      const g = await got.data(), w = want.dataSync(), a = (absW as NDArray).dataSync();
      for (let i = 0; i < w.length; i++) assert.ok(Math.abs(g[i] - w[i]) <= (n + 2) * 2 ** -24 * a[i] + 1e-6 * a[i], `${m}×${n} element ${i}: ${g[i]} vs ${w[i]}`);
    }
    assert.ok(misses >= 1);
    // The same source serves all three: the kernel's parameters differ, its source does not.
    const srcs = shapes.map(([m, n]) => kernelsOf((x, y) => np.add(np.mul(x, 2), y), np.ones([m, n]), np.ones([n])).map((k) => b.source(k)).join('\n'));
    assert.is(new Set(srcs).size, 1);
    const params = shapes.map(([m, n]) => Array.from(b.kernelParams(kernelsOf((x, y) => np.add(np.mul(x, 2), y), np.ones([m, n]), np.ones([n]))[0])));
    assert.ok(params[0].includes(15) && params[1].includes(28) && params[2].includes(54), JSON.stringify(params));
  });

  test('shape parameters: strides of 0 and 1 are structure (a broadcast and a transpose get their own source)', () => {
    const plain = kernelsOf((x, y) => np.add(x, y), np.ones([4, 5]), np.ones([4, 5]))[0];
    const bcast = kernelsOf((x, y) => np.add(x, y), np.ones([4, 5]), np.ones([5]))[0];
    assert.is.not(b.source(plain), b.source(bcast));
  });

  test('tree reductions: long sums, max, min, prod, argmax/argmin and mean equal the oracle', async () => {
    for (const [shape, axis] of [[[3, 5000], 1], [[70000], 0], [[700, 3], 0], [[2, 300, 2], 1]] as [number[], number][]) {
      const [xg, xc] = both(shape, 7 + shape.length);
      const k = shape[axis];
      for (const kernel of kernelsOf((x) => np.sum(x, axis), xc)) assert.match(b.source(kernel), 'workgroup reduction');
      await closeSum(on('webgpu', () => np.sum(xg, axis)), np.sum(xc, axis), np.sum(np.abs(xc), axis), k, `sum ${shape}`);
      await closeSum(on('webgpu', () => np.mul(np.mean(xg, axis), k)), np.mul(np.mean(xc, axis), k), np.sum(np.abs(xc), axis), k + 2, `mean ${shape}`);
      for (const op of ['max', 'min', 'argmax', 'argmin'] as const) await exact(on('webgpu', () => np[op](xg, axis)), np[op](xc, axis), `${op} ${shape}`);
    }
    // Products of values near 1 (no overflow): within (k + 2)·2⁻²⁴ relative.
    const [pg, pc] = both([2, 4096], 3, 'float32', (r) => 1 + (r() - 0.5) / 512);
    const g = await on('webgpu', () => np.prod(pg, 1)).data(), w = np.prod(pc, 1).dataSync();
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(g[i] - w[i]) <= 4098 * 2 ** -24 * Math.abs(w[i]), `prod ${g[i]} vs ${w[i]}`);
  });

  test('tree reductions: ties, NaNs, integers and bools follow the oracle exactly; results are deterministic', async () => {
    // Few distinct values (many ties), NaNs at some positions, ±0.
    const fill = (r: () => number, i: number) => (i % 997 === 500 ? NaN : [0, -0, 1, 3, 3, -2][Math.floor(r() * 6)]);
    const [xg, xc] = both([4, 3000], 11, 'float32', fill);
    for (const op of ['max', 'min', 'argmax', 'argmin'] as const) await exact(on('webgpu', () => np[op](xg, 1)), np[op](xc, 1), `${op} with NaN/ties`);
    const [tg, tc] = both([4, 3000], 12, 'float32', (r) => [1, 3, 3, -2][Math.floor(r() * 4)]);
    for (const op of ['argmax', 'argmin'] as const) await exact(on('webgpu', () => np[op](tg, 1)), np[op](tc, 1), `${op} ties`);
    const [ig, ic] = both([3, 4000], 13, 'int32', (r) => Math.floor(r() * 2 ** 31) - 2 ** 30);
    for (const op of ['sum', 'max', 'argmin'] as const) await exact(on('webgpu', () => np[op](ig, 1)), np[op](ic, 1), `int32 ${op} (wrapping)`);
    const [bg, bc] = both([3, 4000], 14, 'bool', (r, i) => (i < 4000 ? 0 : r() < 0.001 ? 1 : 0));
    for (const op of ['any', 'all'] as const) await exact(on('webgpu', () => np[op](bg, 1)), np[op](bc, 1), `bool ${op}`);
    const [sg] = both([5, 6000], 15);
    const s1 = await on('webgpu', () => np.sum(sg, 1)).data(), s2 = await on('webgpu', () => np.sum(sg, 1)).data();
    assert.equal(Array.from(s1), Array.from(s2), 'the same sum twice is bit-identical');
  });

  test('tree reductions: a fused epilogue and two reductions in one kernel (softmax denominator, variance)', async () => {
    const [xg, xc] = both([3, 2000], 21);
    const fn = (x: VArray) => np.div(np.sum(np.exp(np.sub(x, np.max(x, 1, true))), 1), np.add(np.max(x, 1), 2));
    const g = await on('webgpu', () => jit(fn)(xg)).data(), w = (jit(fn)(xc) as NDArray).dataSync();
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(g[i] - w[i]) <= 1e-5 * Math.abs(w[i]), `softmax-like ${g[i]} vs ${w[i]}`);
    const v = (x: VArray) => np.var(x, 1);
    const gv = await on('webgpu', () => jit(v)(xg)).data(), wv = (jit(v)(xc) as NDArray).dataSync();
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(gv[i] - wv[i]) <= 1e-5 * Math.abs(wv[i]), `var ${gv[i]} vs ${wv[i]}`);
  });

  test('more inputs than storage bindings: a jit sum of 20 arrays (f32, i32, u32, bool) runs packed', async () => {
    const n = 20;
    // Every dtype among the direct inputs and among the packed ones (the last six on a 16-binding device).
    const dtypeOf = (k: number): DType => (k % 5 === 4 ? 'int32' : k === 6 || k === 15 ? 'bool' : k === 8 || k === 17 ? 'uint32' : 'float32');
    const ins = Array.from({ length: n }, (_, k) => both([7, 9], 100 + k, dtypeOf(k), dtypeOf(k) === 'float32' ? undefined : (r) => Math.floor(r() * (dtypeOf(k) === 'bool' ? 2 : 7))));
    const fn = (...xs: VArray[]) => xs.reduce((a, x) => np.add(a, np.astype(x, 'float32')));
    const kernels = kernelsOf(fn, ...ins.map(([, c]) => c));
    assert.ok(kernels.some((k) => k.inputs.length + 1 > b.describe().maxStorageBuffersPerShaderStage), 'the fused kernel has more inputs than bindings');
    assert.match(kernels.map((k) => b.source(k)).join('\n'), 'vx_pk');
    const before = b.memoryStats();
    const got = on('webgpu', () => jit(fn)(...ins.map(([g]) => g)));
    // Both sides add in the jaxpr's order in f32, so the results are bit-identical.
    await exact(got, jit(fn)(...ins.map(([, c]) => c)), 'sum of 20');
    got.dispose();
    assert.equal(b.memoryStats(), before, 'the packed buffer is released');
  });

  test('prepare: pipelines compile asynchronously ahead of the first dispatch, which then compiles nothing', async () => {
    // No constants (a constant would be staged by an eager op of its own, outside the program)
    // and no a·b + c (a device may fuse it into an fma: NVIDIA's does, 1 ULP off the oracle).
    const f = (x: VArray) => np.sub(np.maximum(x, np.abs(np.flip(x, 1))), np.max(x, 1, true));
    const [xg, xc] = both([17, 3], 31);
    const kernels = kernelsOf(f, xc);
    const before = b.poolStats();
    await b.prepare(kernels);
    const mid = b.poolStats();
    assert.is(mid.pipelinesPrepared - before.pipelinesPrepared, kernels.length);
    const got = on('webgpu', () => jit(f)(xg));
    assert.is(b.poolStats().pipelineMisses, mid.pipelineMisses, 'no pipeline compiled at dispatch');
    await exact(got, jit(f)(xc), 'prepared kernel');
  });

  test('jit(f).lower(x).compile() creates the pipelines ahead, so the first call compiles none', async () => {
    const f = jit((x: VArray) => np.sub(np.minimum(x, np.abs(np.flip(x, 0))), np.min(x, 0, true)));
    const [xg, xc] = both([5, 11], 37);
    const lowered = f.lower(xg);
    const before = b.poolStats();
    await lowered.compile();
    const mid = b.poolStats();
    assert.ok(mid.pipelinesPrepared > before.pipelinesPrepared, 'pipelines prepared');
    const got = f(xg);
    assert.is(b.poolStats().pipelineMisses, mid.pipelineMisses, 'no pipeline compiled at the first call');
    await exact(got, on('cpu', () => f(xc)), 'compiled ahead');
  });

  test('describe() reports shader-f16 availability (vidax has no float16 dtype)', () => {
    const d = b.describe();
    assert.type(d.shaderF16, 'boolean');
    assert.is(d.shaderF16, b.device.features.has('shader-f16'));
  });

  test('limits: errors name the operation, the shape and the limit', () => {
    const limit = b.describe().maxStorageBufferBindingSize;
    assert.throws(() => b.alloc('float32', limit / 4 + 1), (e: Error) => e instanceof DeviceError && /float32\[\d+\]/.test(e.message) && /maxStorageBufferBindingSize/.test(e.message));
    // Packed inputs past the binding size: the kernel, its shape and the limit are named.
    const maxGroups = b.device.limits.maxComputeWorkgroupsPerDimension, wg = b.describe().workgroupSize;
    const huge: Kernel = { inputs: [], outShape: [maxGroups, maxGroups, wg, 2], outDtype: 'int32', expr: { k: 'var', name: 'i0', dtype: 'int32' }, label: 'too_big' };
    assert.throws(() => b.source(huge), (e: Error) => e instanceof DeviceError && /too_big/.test(e.message) && /int32\[/.test(e.message) && /maxComputeWorkgroupsPerDimension/.test(e.message));
  });

  test('a lost device: run, upload, routine and read throw a DeviceError naming the loss', async () => {
    const { createWebGpuBackend } = await import('../src/core/backends/runtime/webgpu.js');
    const lost = await createWebGpuBackend();
    const x = lost.upload('float32', new Float32Array([1, 2, 3]));
    const out = lost.alloc('float32', 3);
    const kernel = kernelsOf((v) => np.mul(v, v), np.ones([3]))[0];
    lost.destroy();
    await lost.device.lost;
    const isLost = (e: Error) => e instanceof DeviceError && /lost/.test(e.message);
    assert.throws(() => lost.run(kernel, [x], out), isLost);
    assert.throws(() => lost.upload('float32', new Float32Array(2)), isLost);
    assert.throws(() => lost.routine('threefry', [x], [out], { size: 3 } as never), isLost);
    let error: unknown = null;
    await lost.read(out).catch((e) => (error = e));
    assert.ok(error instanceof DeviceError && /lost/.test((error as Error).message), String(error));
  });

  test('eager lax.cond/switch with a device predicate runs every branch and selects', async () => {
    for (const k of [0, 1, 2, 7, -3]) {
      const [xg, xc] = both([3, 4], 40 + (k & 7));
      const branches = [(x: VArray) => np.mul(x, 2), (x: VArray) => np.sin(x), (x: VArray) => np.sub(x, 1)];
      const idx = (name: BackendName) => NDArray.fromData(getBackend(name), new Int32Array([k]), [], 'int32');
      const got = on('webgpu', () => lax.switch(idx('webgpu'), branches, xg));
      const want = lax.switch(idx('cpu'), branches, xc);
      const g = await (got as VArray).data(), w = (want as VArray).dataSync();
      for (let i = 0; i < w.length; i++) assert.ok(Math.abs(g[i] - w[i]) <= 2 ** -20 * Math.max(1, Math.abs(w[i])), `switch(${k}) element ${i}: ${g[i]} vs ${w[i]}`);
      const p = (name: BackendName) => NDArray.fromData(getBackend(name), new Uint8Array([k > 0 ? 1 : 0]), [], 'bool');
      await exact(on('webgpu', () => lax.cond(p('webgpu'), (x: VArray) => np.add(x, 1), (x: VArray) => np.mul(x, 3), xg)) as VArray,
        lax.cond(p('cpu'), (x: VArray) => np.add(x, 1), (x: VArray) => np.mul(x, 3), xc) as VArray, `cond(${k > 0})`);
    }
  });

  test('lax.cond under jit with the predicate computed on the device selects per call', async () => {
    const fn = (x: VArray) => lax.cond(np.greater(np.sum(x), 0), (v: VArray) => np.mul(v, 2), (v: VArray) => np.sub(v, 3), x);
    const jg = jit(fn), jc = jit(fn);
    for (const seed of [1, 2, 3, 4]) {
      const [xg, xc] = both([6], 50 + seed, 'float32', (r) => r() - (seed % 2 ? 0.9 : 0.1));
      await exact(on('webgpu', () => jg(xg)) as VArray, jc(xc) as VArray, `jit cond (seed ${seed})`);
    }
  });

  test('paths that must read synchronously throw a DeviceError naming the operation and the alternative', () => {
    const x = rand('webgpu', [4], 1);
    const reps = rand('webgpu', [4], 2, 'int32', () => 2);
    on('webgpu', () => {
      const loop = (c0: VArray) => lax.whileLoop((c: VArray) => np.less(c, 10), (c: VArray) => np.add(c, 1), c0);
      const isWhileError = (e: Error) => e instanceof DeviceError && /whileLoop/.test(e.message) && /foriLoop|scan/.test(e.message);
      assert.throws(() => loop(np.zeros([])), isWhileError);
      assert.throws(() => jit(loop)(np.zeros([])), isWhileError, 'under jit the loop is interpreted too');
      assert.throws(() => np.repeat(x, reps), (e: Error) => e instanceof DeviceError && /repeat/.test(e.message) && /await repeats\.data\(\)/.test(e.message));
      assert.throws(() => np.array(x, 'int32'), (e: Error) => e instanceof DeviceError && /np\.astype/.test(e.message));
      const bound = NDArray.fromData(getBackend('webgpu'), new Int32Array([3]), [], 'int32');
      assert.throws(() => lax.foriLoop(0, bound, (_i: VArray, c: VArray) => np.add(c, 1), x), (e: Error) => e instanceof DeviceError && /foriLoop/.test(e.message) && /JS number/.test(e.message));
      // foriLoop with JS-number bounds works (a scan).
      const y = lax.foriLoop(0, 3, (_i: VArray, c: VArray) => np.add(c, 1), x) as VArray;
      assert.is((y as NDArray).backend.name, 'webgpu');
    });
  });

  test('debugNans on WebGPU: checked when the value arrives, thrown at the next read (eager and jit)', async () => {
    const x = rand('webgpu', [5], 3, 'float32', (_r, i) => i - 2); // -2 … 2
    config.debugNans = true;
    try {
      const y = on('webgpu', () => np.sqrt(x)); // NaN at 0 and 1
      let error: unknown = null;
      await y.data().catch((e) => (error = e));
      assert.ok(error instanceof FloatingPointError && /sqrt/.test((error as Error).message) && /flat index 0/.test((error as Error).message), String(error));
      const j = jit((v: VArray) => np.log(np.add(v, 1)));
      const z = on('webgpu', () => j(x)); // log(-1): NaN at 0
      error = null;
      await z.data().catch((e) => (error = e));
      assert.ok(error instanceof FloatingPointError && /jit kernel/.test((error as Error).message), String(error));
      const ok = on('webgpu', () => np.add(x, 1));
      assert.equal(Array.from(await ok.data()), [-1, 0, 1, 2, 3], 'no NaN: no error, and the earlier one was reported once');
    } finally {
      config.debugNans = false;
    }
  });
}

test.run();
