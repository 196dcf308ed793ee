/**
 * The WebGPU backend equals the CPU oracle: the parity suite's cases (`parity_cases.ts`,
 * `props/prim_cases.ts`) run on WebGPU in Node (Dawn; on machines without a GPU its OpenGL
 * backend over Mesa's llvmpipe) and are compared with the oracle after `await x.data()`.
 *
 * - every first-order primitive eagerly, on the table's smooth operands and on edge values;
 *   every elementwise primitive on every pair of edge values of every dtype; hand-built
 *   kernels with constant operands (the WGSL renderer's constant-expression guards);
 * - jit-compiled fused functions (and the same functions eagerly), grad / vmap / jvp
 *   compositions, with WebGPU as the default backend;
 * - memory: `memoryStats` back at its starting point after eager and jit loops; pipelines
 *   are cached; synchronous reads fail with a clear error; `devicePut` round trips;
 * - the runtime: outputs past 65535 workgroups (a 2-D grid), a shader the device rejects and
 *   a lost device (a `DeviceError`, not a hang), requests beyond the device's limits.
 *
 * The same suite passes on an NVIDIA H100 (Dawn's Vulkan backend) run by hand; CI runs it on
 * llvmpipe. The comparison below and the case groups (the first two bullets' primitives, and
 * the jit and transform cases) are in `webgpu_checks.ts`, shared with the browser suite
 * (`webgpu_browser.test.ts`); the hand-built kernels, memory and runtime tests are here.
 *
 * Tolerances (float32 results only; integer and bool results are always exact; NaN matches
 * any NaN and infinities must match). Two freedoms WGSL gives every device are accepted
 * everywhere: the sign of a zero (llvmpipe folds x + 0.0 to x), and flushing subnormals to
 * zero (NVIDIA's Vulkan driver does) — a result also passes if it matches the oracle run on
 * the operands with subnormals flushed to ±0, or is ±0 where the oracle's is subnormal.
 * - exact (bit for bit): arithmetic (+ − ×), comparisons, select, casts, bitcasts, floor,
 *   ceil, round, abs, neg, sign, max/min, rem (an exact fmod), movement, gather, dynamic
 *   slices, sort, argmax/argmin, max/min reductions and scans, scatter-add (it adds in the
 *   oracle's order), threefry and everything integer.
 * - `ulp` (distance in units in the last place): division 3 (WGSL allows 2.5 ULP); the
 *   transcendentals by the accuracy of their WGSL builtin or helper (see `render/wgsl.ts`),
 *   set at about twice what llvmpipe and an NVIDIA H100 show. sin/cos/tan are compared on
 *   |x| ≤ 8192, where their reduction is exact, with 2⁻²² absolute also accepted near zeros.
 *   Operands that are subnormal are not compared (WGSL may flush them before the function).
 * - `sum` (reductions, cumulative sums, matmul, convolutions): the GPU sums in f32 where the
 *   oracle sums in f64, so each element is within the classical bound (k + 2)·2⁻²⁴·Σ|terms|
 *   for k terms, Σ|terms| being the oracle's result on the operands' absolute values.
 *   Products (reduce_prod, cumprod) are within (k + 2)·2⁻²⁴ relative. Their edge data leave
 *   out ±1e30, ±3e9 and subnormals: f32 intermediates overflow or flush where the oracle's
 *   f64 ones do not, which is the point of the f64 accumulator, not a defect.
 * - composites (jit, grad, vmap, jvp of chains of the above): |Δ| ≤ 1e-4·|w| + 1e-5·max|w|.
 *
 * If no WebGPU adapter can be created, the suite fails in CI (env CI set, not "false") and
 * is reported as skipped elsewhere. Runs: 12 specs per primitive (PROPS_RUNS overrides), each
 * with smooth and edge data; every distinct kernel structure compiles its own pipeline (~10 ms
 * each on llvmpipe; shapes are parameters), so the suite takes ~10–15 s there.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NDArray } from '../src/core/array.js';
import { getBackend, type BackendName } from '../src/core/backends/backend.js';
import type { WebGpuBackend } from '../src/core/backends/runtime/webgpu.js';
import { storageOf, type DType, type TypedArray } from '../src/core/dtype.js';
import { DeviceError } from '../src/core/errors.js';
import { bin, cast, cnst, load, outVar, un, type Expr, type Kernel } from '../src/core/kernel/ir.js';
import { devicePut, grad, initWebGpu, jit, np, vmap, type Array as VArray } from '../src/index.js';
import type { Operand } from '../props/prim_cases.js';
import { onBackend, prod, put } from './helpers.js';
import { EDGES, INT_ONLY_OPS, KERNEL_BINARY, KERNEL_UNARY, f32, layerNorm, mlpLoss, softmax } from './parity_cases.js';
import {
  EXACT, ORACLE, TARGET, ULPS, assertGroupPassed, compare, disposeAll, edgePairGroup, flushValue, flushedOps, isSubnormal, jitGroup, onTarget, primitiveGroup,
  transformGroup, worst, type Tol,
} from './webgpu_checks.js';

const RUNS = Number(process.env.PROPS_RUNS ?? 12);
const IN_CI = !!process.env.CI && process.env.CI !== 'false';
/** WEBGPU_PARITY_REPORT=1 prints the largest error seen per primitive (to set tolerances; `webgpu_checks.ts` collects them). */
const REPORT = !!process.env.WEBGPU_PARITY_REPORT;

// ------------------------------------------------------------------ the device

async function setUp(): Promise<WebGpuBackend | Error> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('initWebGpu() did not finish within 60 s')), 60_000);
  });
  try {
    await Promise.race([initWebGpu(), timeout]);
    return getBackend(TARGET) as WebGpuBackend;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  } finally {
    clearTimeout(timer);
  }
}
const gpu = await setUp();

// ------------------------------------------------------------------ hand-built kernels

/** Run a kernel on backend `name` (inputs uploaded), returning its output. */
async function runOn(name: BackendName, kernel: Kernel, inputs: Operand[]): Promise<TypedArray> {
  const b = getBackend(name);
  const bufs = inputs.map((o) => b.upload(o.dtype, new (storageOf(o.dtype))(o.data)));
  const out = b.alloc(kernel.outDtype, prod(kernel.outShape));
  try {
    b.run(kernel, bufs, out);
    return new (storageOf(kernel.outDtype))(await b.read(out));
  } finally {
    [...bufs, out].forEach((x) => b.free(x));
  }
}

/**
 * Run a hand-built kernel on both backends and compare. `make(v)` builds it with constant
 * operand(s) mapped by `v` (identity, or flushing subnormals for the flushed oracle).
 */
async function checkKernel(make: (v: (c: number) => number) => Kernel, inputs: Operand[], what: string, tol: Tol, constant?: number): Promise<void> {
  const kernel = make((c) => c);
  const want = await runOn(ORACLE, kernel, inputs);
  const got = await runOn(TARGET, kernel, inputs);
  const fops = flushedOps(inputs);
  const subnormalConstant = constant !== undefined && isSubnormal(Math.fround(constant));
  const flushed = fops || subnormalConstant ? await runOn(ORACLE, make(flushValue), fops ?? inputs) : undefined;
  // The renderer flushes subnormal constants while a device that keeps subnormals keeps the data's.
  const alts = subnormalConstant ? [await runOn(ORACLE, make(flushValue), inputs)] : [];
  const n = want.length;
  const others = constant === undefined ? undefined : Array<number>(n).fill(Math.fround(constant));
  compare(got, want, kernel.outDtype, what, tol, { inputs: inputs.length === 1 ? inputs[0].data.map(Math.fround) : undefined, others, flushed, alts, key: kernel.label });
}
const kernelOf = (expr: Expr, n: number, inputs: DType[], label: string): Kernel => ({ inputs, outShape: [n], outDtype: expr.dtype, expr, label });

/** The tolerance of a kernel op on float32 (by the primitive it implements). */
const KERNEL_TOL: Partial<Record<string, Tol>> = {
  div: ULPS.div, exp: ULPS.exp, expm1: ULPS.expm1, log: ULPS.log, log1p: ULPS.log1p, sqrt: ULPS.sqrt, rsqrt: ULPS.rsqrt, tanh: ULPS.tanh,
  sigmoid: ULPS.logistic, sin: ULPS.sin, cos: ULPS.cos, tan: ULPS.tan, atan: ULPS.atan, atan2: ULPS.atan2, erf: ULPS.erf, erfinv: ULPS.erf_inv, pow: ULPS.pow,
};
/** Float functions whose results on integers (then wrapped to integers) depend on every ULP: compared on float32 only. */
const INEXACT_UNARY = new Set(['exp', 'expm1', 'log', 'log1p', 'sin', 'cos', 'tan', 'tanh', 'atan', 'sqrt', 'rsqrt', 'sigmoid', 'erf', 'erfinv']);

// ------------------------------------------------------------------ the tests

if (gpu instanceof Error) {
  if (IN_CI) test('a WebGPU adapter is available (the parity suite must run in CI)', () => assert.unreachable(`no WebGPU device: ${gpu.message}`));
  else test.skip(`webgpu parity suite (no WebGPU device here: ${gpu.message})`, () => {});
} else {
  const info = gpu.describe();
  console.log(`webgpu: ${info.adapter} via ${info.via}; workgroups of ${info.workgroupSize}`);

  // The case groups of `webgpu_checks.ts` (the browser suite runs them too); each test fails with every element that differs.
  test('webgpu: every primitive equals the cpu oracle (eager, smooth and edge data)', async () => assertGroupPassed(await primitiveGroup(RUNS)));

  test('webgpu: elementwise primitives on every pair of edge values of every dtype', async () => assertGroupPassed(await edgePairGroup()));

  test('webgpu: kernels with constant operands (WGSL constant expressions stay valid)', async () => {
    for (const d of ['float32', 'int32', 'uint32', 'bool'] as DType[]) {
      const e = EDGES[d];
      const x = load(0, outVar(0), d);
      const input = [{ shape: [e.length], dtype: d, data: [...e] }];
      const tolOf = (op: string) => (d === 'float32' ? (KERNEL_TOL[op] ?? EXACT) : EXACT);
      for (const op of KERNEL_BINARY) {
        if (d === 'float32' && INT_ONLY_OPS.has(op)) continue;
        if (d !== 'float32' && op === 'atan2') continue;
        for (const c of e) {
          await checkKernel((v) => kernelOf(bin(op, x, cnst(v(c), d)), e.length, [d], op), input, `${op}(${d} x, ${c})`, tolOf(op), c);
          await checkKernel((v) => kernelOf(bin(op, cnst(v(c), d), x), e.length, [d], op), input, `${op}(${c}, ${d} x)`, tolOf(op), c);
        }
        // Both operands constant: a WGSL constant expression unless the renderer breaks it up.
        for (const [i, c] of e.entries()) {
          const c2 = e[(i * 7 + 3) % e.length];
          if (!isSubnormal(c) && !isSubnormal(c2))
            await checkKernel(() => kernelOf(bin(op, cnst(c, d), cnst(c2, d)), 1, [], op), [], `${op}(${d} constants ${c}, ${c2})`, tolOf(op));
        }
      }
      for (const op of KERNEL_UNARY) {
        if (d !== 'float32' && INEXACT_UNARY.has(op)) continue;
        await checkKernel(() => kernelOf(un(op, x), e.length, [d], op), input, `${op}(${d} x)`, tolOf(op));
        for (const c of e) await checkKernel((v) => kernelOf(un(op, cnst(v(c), d)), 1, [], op), [], `${op}(${d} constant ${c})`, tolOf(op), c);
      }
      for (const to of ['float32', 'int32', 'uint32', 'bool'] as DType[]) {
        await checkKernel(() => kernelOf(cast(x, to), e.length, [d], 'cast'), input, `cast ${d} → ${to}`, EXACT);
        for (const c of e) await checkKernel((v) => kernelOf(cast(cnst(v(c), d), to), 1, [], 'cast'), [], `cast ${d} constant ${c} → ${to}`, EXACT, c);
      }
    }
  });

  test('webgpu: jit-compiled fused functions (and the same functions eagerly) equal the oracle', async () => assertGroupPassed(await jitGroup()));

  test('webgpu: grad, vmap and jvp compositions equal the oracle', async () => assertGroupPassed(await transformGroup()));

  test('webgpu: memoryStats returns to its starting point after eager and jit loops', async () => {
    const ops = [f32([6, 10]), f32([10, 4])];
    // Jitted functions are made once: a compiled program keeps its constants (on the device) for its next calls.
    const step = jit((x: VArray, y: VArray) => softmax(np.matmul(x, y)));
    const trainGrad = jit(grad(mlpLoss));
    const loop = async () => {
      const outs = onTarget(() => {
        const [a, w] = ops.map((o) => put(TARGET, o));
        const s = step(a, w);
        const g = grad(mlpLoss)({ w1: w, w2: np.ones([4, 2]) }, a);
        vmap(layerNorm)(a);
        np.sort(np.concatenate([a, a], 0), 0);
        np.cumsum(a, 1);
        const tg = trainGrad({ w1: w, w2: np.ones([4, 2]) }, a);
        return [s, g.w1, tg.w2];
      });
      // Reading waits for the work; the arrays read are then disposed.
      for (const o of outs) await o.data();
      disposeAll(outs);
    };
    await loop();
    const before = gpu.memoryStats();
    for (let rep = 0; rep < 3; rep++) await loop();
    assert.equal(gpu.memoryStats(), before);
  });

  test('webgpu: pipelines are cached, buffers pooled', async () => {
    const x = put(TARGET, f32([4, 5]));
    const y = onBackend(TARGET, () => np.add(np.mul(x, 2), 1));
    await y.data();
    const { pipelines, created } = gpu.poolStats();
    for (let i = 0; i < 5; i++) onTarget(() => np.add(np.mul(x, 2), 1)).dispose();
    await y.data();
    assert.is(gpu.poolStats().pipelines, pipelines, 'the same kernels are not compiled again');
    assert.ok(gpu.poolStats().created <= created + 1, 'freed buffers are reused');
    x.dispose();
    y.dispose();
  });

  test('webgpu: synchronous reads fail clearly; await data() and devicePut work', async () => {
    const x = await devicePut(np.array([[1.5, -2], [3, 4]]), TARGET);
    assert.is((x as NDArray).backend.name, TARGET);
    const y = onBackend(TARGET, () => np.mul(x, 2));
    assert.equal(Array.from(await y.data()), [3, -4, 6, 8]);
    const one = onBackend(TARGET, () => np.sum(y));
    for (const read of [() => y.dataSync(), () => one.item(), () => Number(one), () => y.toNested(), () => String(y)])
      assert.throws(read, (e: Error) => e instanceof DeviceError && /await x\.data\(\)/.test(e.message));
    const back = await devicePut({ y, n: 3 }, ORACLE);
    assert.is((back.y as NDArray).backend.name, ORACLE);
    assert.equal(back.y.toNested(), [[3, -4], [6, 8]]);
    assert.is(back.n, 3);
    assert.throws(() => np.add(y, back.y), /different backends|devicePut/);
    [x, y, one].forEach((a) => a.dispose());
  });

  test('webgpu: an output with more workgroups than one dispatch dimension allows runs as a 2-D grid', async () => {
    const n = 65535 * gpu.describe().workgroupSize + 77;
    const kernel: Kernel = { inputs: [], outShape: [n], outDtype: 'int32', expr: bin('mul', outVar(0), cnst(3, 'int32')), label: 'iota3' };
    // The row stride (workgroups per row × workgroup size) is a parameter of the shader.
    assert.match(gpu.source(kernel), /gid\.y \* u32\(vx_dims\[\d\]\.[xyzw]\)/);
    assert.ok(gpu.kernelParams(kernel).includes(65535 * gpu.describe().workgroupSize));
    const out = gpu.alloc('int32', n);
    try {
      gpu.run(kernel, [], out);
      const got = await gpu.read(out);
      let bad = -1;
      for (let i = 0; i < n && bad < 0; i++) if (got[i] !== Math.imul(i, 3)) bad = i;
      assert.is(bad, -1, `element ${bad} is ${got[bad]}`);
    } finally {
      gpu.free(out);
    }
  });

  test('webgpu: requests beyond the device limits throw at once', () => {
    const limit = gpu.describe().maxStorageBufferBindingSize;
    assert.throws(() => gpu.alloc('float32', limit / 4 + 1), (e: Error) => e instanceof DeviceError && /maxStorageBufferBindingSize/.test(e.message));
  });

  test('webgpu: a shader the device rejects surfaces as a DeviceError at the next read, not a hang', async () => {
    const out = gpu.alloc('float32', 4);
    try {
      // The backend's own dispatch path with WGSL that does not compile.
      (gpu as unknown as { dispatch(src: string, label: string, outs: unknown[], ins: unknown[], groups: [number, number]): void })
        .dispatch('@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }', 'broken', [out], [], [1, 1]);
      let error: unknown = null;
      await gpu.read(out).catch((e) => (error = e));
      assert.ok(error instanceof DeviceError && /'broken' does not compile/.test((error as Error).message), String(error));
      // Reported once; the backend goes on working.
      const y = onTarget(() => np.add(put(TARGET, f32([3])), 1));
      assert.is((await y.data()).length, 3);
      y.dispose();
    } finally {
      gpu.free(out);
    }
  });

  test('webgpu: a lost device fails every later call clearly', async () => {
    const { createWebGpuBackend } = await import('../src/core/backends/runtime/webgpu.js');
    const b = await createWebGpuBackend();
    const buf = b.upload('float32', new Float32Array([1, 2]));
    b.destroy();
    await b.device.lost;
    assert.ok(b.isLost);
    assert.throws(() => b.alloc('float32', 2), (e: Error) => e instanceof DeviceError && /lost/.test(e.message));
    let error: unknown = null;
    await b.read(buf).catch((e) => (error = e));
    assert.ok(error instanceof DeviceError && /lost/.test((error as Error).message), String(error));
    b.free(buf);
  });

  if (REPORT)
    test('webgpu: error report', () => {
      for (const [k, v] of [...worst].sort()) console.log(`${k.padEnd(24)} ulps ${v.ulps}  bound ratio ${v.ratio.toFixed(3)}  (${v.at})`);
    });
}

test.run();
