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
 * llvmpipe.
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
 * with smooth and edge data; every distinct shape compiles its own pipelines (~10 ms each on
 * llvmpipe), so the suite takes ~10 s there.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NDArray } from '../src/core/array.js';
import { defaultBackend, getBackend, setDefaultBackend, type BackendName } from '../src/core/backends/backend.js';
import type { WebGpuBackend } from '../src/core/backends/runtime/webgpu.js';
import { storageOf, type DType, type TypedArray } from '../src/core/dtype.js';
import { DeviceError } from '../src/core/errors.js';
import { bin, cast, cnst, load, outVar, un, type Expr, type Kernel } from '../src/core/kernel/ir.js';
import type { Prim } from '../src/core/trace/primitive.js';
import { bind } from '../src/core/trace/trace.js';
import type { Value } from '../src/core/trace/value.js';
import { devicePut, grad, initWebGpu, jit, np, scope, tree, vmap, type Array as VArray } from '../src/index.js';
import { CASES, applyPrim, describe, hashSeed, operands, type Operand, type PrimCase, type Spec } from '../props/prim_cases.js';
import { prod } from './helpers.js';
import {
  BINARY, EDGES, FLOAT_EDGES, INT_ONLY_OPS, JIT_CASES, KERNEL_BINARY, KERNEL_UNARY, SEED, TRANSFORM_CASES, UNARY, edgeOperands, f32, layerNorm, mlpLoss, softmax,
} from './parity_cases.js';

const ORACLE: BackendName = 'cpu';
const TARGET: BackendName = 'webgpu';
const RUNS = Number(process.env.PROPS_RUNS ?? 12);
const IN_CI = !!process.env.CI && process.env.CI !== 'false';
/** WEBGPU_PARITY_REPORT=1 prints the largest error seen per primitive (to set tolerances). */
const REPORT = !!process.env.WEBGPU_PARITY_REPORT;
/** WEBGPU_PARITY_KEEP_GOING=1 prints every mismatch instead of failing at the first (to survey a new adapter). */
const KEEP_GOING = !!process.env.WEBGPU_PARITY_KEEP_GOING;

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

// ------------------------------------------------------------------ comparison

type Tol =
  | { readonly kind: 'exact' }
  /** `ulpsAt`: a bound that depends on the operands (pow); `domain`: where the first operand is compared. */
  | {
      readonly kind: 'ulp';
      readonly ulps: number;
      readonly domain?: (x: number) => boolean;
      readonly ulpsAt?: (x: number, y: number) => number;
      /** An absolute error also accepted (for results near a zero of the function). */
      readonly atol?: (w: number) => number;
    }
  /** An f32 sum of `k` terms; `abs`: Σ|terms| per element (the oracle on absolute values). */
  | { readonly kind: 'sum'; readonly k: number; readonly abs: ArrayLike<number> }
  | { readonly kind: 'prod'; readonly k: number }
  | { readonly kind: 'close' };
const EXACT: Tol = { kind: 'exact' };
const CLOSE: Tol = { kind: 'close' };

const f32Bits = new Float32Array(1), u32Bits = new Uint32Array(f32Bits.buffer);
/** An integer whose order is that of the floats (±0 both 0), for ULP distances. */
function ordinal(x: number): number {
  f32Bits[0] = x;
  const b = u32Bits[0];
  return b >= 0x80000000 ? -(b - 0x80000000) : b;
}
const ulpDistance = (a: number, b: number) => Math.abs(ordinal(a) - ordinal(b));
/** Equal values; for float32, NaN matches any NaN and ±0 match (WGSL does not keep the sign of a zero: llvmpipe folds x + 0.0 to x). */
const sameValue = (g: number, w: number, dtype: DType): boolean => (dtype === 'float32' ? (Number.isNaN(w) ? Number.isNaN(g) : g === w) : Object.is(g, w));
/** WGSL may flush subnormal operands to zero: transcendentals are compared on normal operands only. */
const isSubnormal = (x: number) => x !== 0 && Math.abs(x) < 2 ** -126;

/** Largest error per primitive (REPORT mode). */
const worst = new Map<string, { ulps: number; ratio: number; at: string }>();

/** Whether `g` is acceptable for the oracle's `w` (element `i`; `input`: the operand value of an elementwise op). */
function within(g: number, w: number, dtype: DType, tol: Tol, i: number, scale: number, input?: number, key = '', other?: number): boolean {
  // A device may flush a subnormal result to zero (WGSL allows it).
  if (dtype === 'float32' && g === 0 && isSubnormal(w)) return true;
  if (dtype !== 'float32' || tol.kind === 'exact' || sameValue(g, w, dtype)) return sameValue(g, w, dtype);
  if (Number.isNaN(w) || Number.isNaN(g)) return false;
  if (!Number.isFinite(w) && tol.kind !== 'sum' && tol.kind !== 'prod') return false;
  const note = (ulps: number, ratio: number) => {
    if (!REPORT) return;
    const cur = worst.get(key);
    if (!cur || ulps > cur.ulps || ratio > cur.ratio)
      worst.set(key, { ulps: Math.max(ulps, cur?.ulps ?? 0), ratio: Math.max(ratio, cur?.ratio ?? 0), at: `x=${input} got ${g} want ${w}` });
  };
  switch (tol.kind) {
    case 'ulp': {
      if (input !== undefined && (isSubnormal(input) || (tol.domain && !tol.domain(input)))) return true;
      if (other !== undefined && isSubnormal(other)) return true;
      const d = ulpDistance(g, w);
      if (tol.atol && Math.abs(g - w) <= tol.atol(w)) return true;
      note(d, 0);
      return d <= (tol.ulpsAt && input !== undefined && other !== undefined ? tol.ulpsAt(input, other) : tol.ulps);
    }
    case 'sum': {
      const bound = (tol.k + 2) * 2 ** -24 * tol.abs[i];
      if (!Number.isFinite(bound)) return true;
      note(0, Math.abs(g - w) / bound);
      return Math.abs(g - w) <= bound;
    }
    case 'prod': {
      if (!Number.isFinite(w)) return Object.is(g, w);
      const bound = (tol.k + 2) * 2 ** -24 * Math.abs(w);
      note(0, Math.abs(g - w) / bound);
      return Math.abs(g - w) <= bound;
    }
    case 'close':
      note(0, Math.abs(g - w) / (1e-4 * Math.abs(w) + 1e-5 * scale));
      return Number.isFinite(w) ? Math.abs(g - w) <= 1e-4 * Math.abs(w) + 1e-5 * scale : false;
  }
}

/** Where an element is compared: its operands (elementwise ops), and the oracle's results on flushed operands. */
interface Context {
  /** The operand of each element of an elementwise op (for domains and bounds). */
  readonly inputs?: ArrayLike<number>;
  /** Its second operand (for operand-dependent bounds and subnormal checks). */
  readonly others?: ArrayLike<number>;
  /** The oracle's results with subnormal operands flushed to ±0: also accepted (a device may flush them). */
  readonly flushed?: ArrayLike<number>;
  /** Further accepted results (hand-built kernels: with only their constants flushed, as the renderer does). */
  readonly alts?: readonly ArrayLike<number>[];
  /** The primitive (REPORT mode). */
  readonly key?: string;
}

function compare(g: TypedArray, w: TypedArray, dtype: DType, what: string, tol: Tol, ctx: Context = {}): void {
  const { inputs, others, key } = ctx;
  const alts = [...(ctx.flushed ? [ctx.flushed] : []), ...(ctx.alts ?? [])];
  assert.is(g.length, w.length, `${what}: size`);
  let scale = 0;
  for (let i = 0; i < w.length; i++) if (Number.isFinite(w[i])) scale = Math.max(scale, Math.abs(w[i]));
  for (let i = 0; i < w.length; i++)
    if (
      !within(g[i], w[i], dtype, tol, i, scale, inputs?.[i], key, others?.[i]) &&
      // A flushing device may also pass a subnormal through a move (select, max) unflushed.
      !alts.some((alt) => within(dtype === 'float32' ? flushValue(g[i]) : g[i], alt[i], dtype, tol, i, scale, inputs?.[i], key, others?.[i]))
    ) {
      const msg = `${what}: element ${i}${inputs ? ` (operand ${inputs[i]})` : ''} is ${g[i]}, the oracle says ${w[i]} (${tol.kind}${tol.kind === 'ulp' ? ` ${tol.ulps}` : ''})`;
      if (KEEP_GOING) console.log(`MISMATCH ${msg}`);
      else assert.unreachable(msg);
    }
}

/** Same shape, dtype and weak type, and values within `tol` (the target array is read with `await data()`). */
/** Same shape, dtype and weak type, and values within `tol` (the target array is read with `await data()`); `flushedWant`: see `Context`. */
async function assertSame(got: VArray, want: VArray, what: string, tol: Tol = EXACT, ctx: Omit<Context, 'flushed'> = {}, flushedWant?: VArray): Promise<void> {
  assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  assert.is(got.dtype, want.dtype, `${what}: dtype`);
  assert.is(got.weakType, want.weakType, `${what}: weak type`);
  compare(await got.data(), want.dataSync(), want.dtype, what, tol, { ...ctx, flushed: flushedWant?.dataSync() });
}

async function assertSameTree(got: unknown, want: unknown, what: string, tol: Tol = CLOSE, flushedWant?: unknown): Promise<void> {
  const [gl, gd] = tree.flatten(got as tree.PyTree<VArray>);
  const [wl, wd] = tree.flatten(want as tree.PyTree<VArray>);
  const fl = flushedWant === undefined ? undefined : tree.leaves(flushedWant as tree.PyTree<VArray>);
  assert.ok(gd.equals(wd), `${what}: output structure ${gd} vs ${wd}`);
  for (const [i, w] of wl.entries()) {
    assert.is((gl[i] as NDArray).backend.name, TARGET, `${what}: output ${i} backend`);
    await assertSame(gl[i], w, `${what}: output ${i}`, tol, {}, fl?.[i]);
  }
}

/** A subnormal float32 value as the ±0 a flushing device sees. */
const flushValue = (x: number) => (isSubnormal(Math.fround(x)) ? (x < 0 ? -0 : 0) : x);
const hasSubnormals = (ops: readonly Operand[]) => ops.some((o) => o.dtype === 'float32' && o.data.some((v) => isSubnormal(Math.fround(v))));
/** The operands with subnormal floats flushed, or null if there are none. */
const flushedOps = (ops: readonly Operand[]): Operand[] | null =>
  hasSubnormals(ops) ? ops.map((o) => (o.dtype === 'float32' ? { ...o, data: o.data.map(flushValue) } : o)) : null;

/** Run `fn` with `name` as the default backend (constants and zero-operand primitives go there). */
function onBackend<T>(name: BackendName, fn: () => T): T {
  const saved = defaultBackend().name;
  setDefaultBackend(name);
  try {
    return fn();
  } finally {
    setDefaultBackend(saved);
  }
}

const put = (name: BackendName, o: Operand): NDArray => NDArray.fromData(getBackend(name), new (storageOf(o.dtype))(o.data), o.shape, o.dtype);

/** `fn` on the target inside a scope that keeps only its result's arrays, which the caller disposes. */
function onTarget<T>(fn: () => T): T {
  return onBackend(TARGET, () => scope(fn));
}
function disposeAll(x: unknown): void {
  for (const a of tree.leaves(x as tree.PyTree<unknown>)) if (a instanceof NDArray) a.dispose();
}

// ------------------------------------------------------------------ tolerances per primitive

/** sin/cos/tan reduce exactly up to |x| = 8192 (see `vx_sincos`); beyond, the device's builtins (WGSL promises nothing there). */
const trigDomain = (x: number) => Math.abs(x) <= 8192;
/** Near a zero of sin or cos the ULP is tiny: ≤ 2⁻²² absolute is also accepted (tan: scaled by its derivative 1 + tan²). */
const trigAtol = () => 2 ** -22;
const tanAtol = (w: number) => 2 ** -22 * (1 + w * w);
/**
 * ULP bounds, about twice the largest error llvmpipe shows (PROPS_RUNS=12 with WEBGPU_PARITY_REPORT=1:
 * exp 3, expm1 4, log 2, log1p 2, tanh 2, logistic 2, sin/cos 1, tan 2, atan/atan2 1, erf 3,
 * rsqrt 1, pow 10 at |y·log2 x| ≈ 50) and within what the helpers promise (`render/wgsl.ts`).
 * pow through exp2(y·log2|x|) loses about |y·log2 x| ULP (log2's error scaled by y).
 */
const ULPS: Partial<Record<Prim, Tol>> = {
  div: { kind: 'ulp', ulps: 3 },
  exp: { kind: 'ulp', ulps: 6 }, expm1: { kind: 'ulp', ulps: 8 }, log: { kind: 'ulp', ulps: 4 }, log1p: { kind: 'ulp', ulps: 4 },
  sqrt: { kind: 'ulp', ulps: 2 }, rsqrt: { kind: 'ulp', ulps: 3 }, tanh: { kind: 'ulp', ulps: 6 }, logistic: { kind: 'ulp', ulps: 6 },
  sin: { kind: 'ulp', ulps: 4, domain: trigDomain, atol: trigAtol }, cos: { kind: 'ulp', ulps: 4, domain: trigDomain, atol: trigAtol },
  tan: { kind: 'ulp', ulps: 8, domain: trigDomain, atol: tanAtol },
  atan: { kind: 'ulp', ulps: 4 }, atan2: { kind: 'ulp', ulps: 6 }, erf: { kind: 'ulp', ulps: 8 }, erf_inv: { kind: 'ulp', ulps: 8 },
  pow: { kind: 'ulp', ulps: 16, ulpsAt: (x, y) => 16 + Math.abs(y * Math.log2(Math.abs(x))) },
};
/** Primitives whose float results are f32 sums over `k` terms (k from the spec). */
const SUMS: Partial<Record<Prim, (spec: Spec) => number>> = {
  reduce_sum: (s) => prod((s.params.axes as number[]).map((a) => s.shapes[0][a])),
  cumsum: (s) => s.shapes[0][s.params.axis as number],
  reduce_window_sum: (s) => prod(s.params.windowDimensions as number[]),
  dot_general: (s) => prod((s.params as { dimensionNumbers: { contracting: number[][] } }).dimensionNumbers.contracting[0].map((d) => s.shapes[0][d])),
  conv_general_dilated: (s) => prod(s.shapes[1]) ,
};
const PRODS: Partial<Record<Prim, (spec: Spec) => number>> = {
  reduce_prod: (s) => prod((s.params.axes as number[]).map((a) => s.shapes[0][a])),
  cumprod: (s) => s.shapes[0][s.params.axis as number],
};
/** Edge values for accumulating primitives: no values whose f32 products or sums overflow or flush (see the file comment). */
const TAME_EDGES = FLOAT_EDGES.filter((v) => !(Math.abs(v) >= 1e9 || (v !== 0 && Math.abs(v) < 1e-30)));
const accumulates = (p: Prim) => p in SUMS || p in PRODS;

function primTol(c: PrimCase, spec: Spec, ops: Operand[]): Tol {
  if (!spec.dtypes.includes('float32') && c.prim !== 'iota') return EXACT;
  const u = ULPS[c.prim];
  if (u) return u;
  const k = SUMS[c.prim];
  if (k) {
    const abs = ops.map((o) => ({ ...o, data: o.dtype === 'float32' ? o.data.map(Math.abs) : o.data }));
    const sums = onBackend(ORACLE, () => (applyPrim(c, spec, abs.map((o) => put(ORACLE, o)))[0] as VArray).dataSync().slice());
    return { kind: 'sum', k: Math.max(1, k(spec)), abs: sums };
  }
  const kp = PRODS[c.prim];
  if (kp) return { kind: 'prod', k: Math.max(1, kp(spec)) };
  return EXACT;
}

async function checkPrim(c: PrimCase, spec: Spec, ops: Operand[], what: string): Promise<void> {
  if (process.env.WEBGPU_PARITY_TRACE) console.log(what);
  const tol = primTol(c, spec, ops);
  const want = onBackend(ORACLE, () => applyPrim(c, spec, ops.map((o) => put(ORACLE, o))));
  const fops = flushedOps(ops);
  const flushed = fops && onBackend(ORACLE, () => applyPrim(c, spec, fops.map((o) => put(ORACLE, o))));
  const got = onTarget(() => applyPrim(c, spec, ops.map((o) => put(TARGET, o))));
  try {
    assert.is(got.length, want.length, `${what}: number of outputs`);
    // Elementwise ulp-compared primitives: the operands of each element (for domains and operand-dependent bounds).
    const n = prod(want[0].shape);
    const elementwise = tol.kind === 'ulp' && ops.every((o) => o.data.length === n);
    const [inputs, others] = elementwise ? [ops[0]?.data.map(Math.fround), ops[1]?.data.map(Math.fround)] : [];
    for (const [k, w] of want.entries()) {
      assert.is((got[k] as NDArray).backend.name, TARGET, `${what}: output ${k} backend`);
      await assertSame(got[k] as VArray, w as VArray, `${what}: output ${k}`, tol, { inputs, others, key: c.prim }, flushed?.[k] as VArray | undefined);
    }
  } finally {
    disposeAll(got);
  }
}

/** `prim` on both backends, or where the oracle rejects the operands, the target must reject them too. */
async function bothOrNull(prim: Prim, ops: Operand[], params: object, what: string, tol: Tol): Promise<void> {
  let want: Value[];
  try {
    want = onBackend(ORACLE, () => bind(prim, ops.map((o) => put(ORACLE, o)), params as never));
  } catch {
    assert.throws(() => onTarget(() => bind(prim, ops.map((o) => put(TARGET, o)), params as never)), `${what}: the oracle rejects it`);
    return;
  }
  const fops = flushedOps(ops);
  const flushed = fops && onBackend(ORACLE, () => bind(prim, fops.map((o) => put(ORACLE, o)), params as never));
  const got = onTarget(() => bind(prim, ops.map((o) => put(TARGET, o)), params as never));
  try {
    const [inputs, others] = [ops[0]?.data.map(Math.fround), ops[1]?.data.map(Math.fround)];
    for (const [k, w] of want.entries())
      await assertSame(got[k] as VArray, w as VArray, `${what}: output ${k}`, tol, { inputs, others, key: prim }, flushed?.[k] as VArray | undefined);
  } finally {
    disposeAll(got);
  }
}

/** Run the oracle on a kernel (inputs uploaded), returning its output. */
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

  test('webgpu: every primitive equals the cpu oracle (eager, smooth and edge data)', async () => {
    for (const c of CASES) {
      const specs = fc.sample(c.spec, { seed: hashSeed(SEED, c.prim.length), numRuns: RUNS });
      for (const [k, spec] of specs.entries()) {
        const seed = hashSeed(SEED, k);
        await checkPrim(c, spec, operands(c, spec, seed), `${describe(c, spec)} (smooth data, run ${k})`);
        await checkPrim(c, spec, edgeOperands(spec, seed, accumulates(c.prim) ? TAME_EDGES : FLOAT_EDGES), `${describe(c, spec)} (edge data, run ${k})`);
      }
    }
  });

  test('webgpu: elementwise primitives on every pair of edge values of every dtype', async () => {
    for (const d of ['float32', 'int32', 'uint32', 'bool'] as DType[]) {
      const e = EDGES[d];
      const tolOf = (p: Prim) => (d === 'float32' ? (ULPS[p] ?? EXACT) : EXACT);
      for (const p of UNARY) await bothOrNull(p, [{ shape: [e.length], dtype: d, data: [...e] }], {}, `${p}(${d} edges)`, tolOf(p));
      const a = e.flatMap((v) => e.map(() => v)), b = e.flatMap(() => e);
      for (const p of BINARY) await bothOrNull(p, [{ shape: [a.length], dtype: d, data: a }, { shape: [b.length], dtype: d, data: b }], {}, `${p}(${d} edge pairs)`, tolOf(p));
      for (const to of ['float32', 'int32', 'uint32', 'bool'] as DType[]) {
        await bothOrNull('convert_element_type', [{ shape: [e.length], dtype: d, data: [...e] }], { newDtype: to, weakType: false }, `convert ${d} → ${to}`, EXACT);
        if (d !== 'bool' && to !== 'bool')
          await bothOrNull('bitcast_convert_type', [{ shape: [e.length], dtype: d, data: [...e] }], { newDtype: to }, `bitcast ${d} → ${to}`, EXACT);
      }
      const pred = { shape: [a.length], dtype: 'bool' as DType, data: a.map((_, i) => ((i * 7) % 3 === 0 ? 1 : 0)) };
      await bothOrNull('select_n', [pred, { shape: [a.length], dtype: d, data: a }, { shape: [b.length], dtype: d, data: b }], {}, `select_n(${d})`, EXACT);
    }
  });

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

  test('webgpu: jit-compiled fused functions (and the same functions eagerly) equal the oracle', async () => {
    for (const [name, f, ops] of JIT_CASES) {
      const want = onBackend(ORACLE, () => jit(f)(...ops.map((o) => put(ORACLE, o))));
      const fops = flushedOps(ops);
      const flushed = fops ? onBackend(ORACLE, () => f(...fops.map((o) => put(ORACLE, o)))) : undefined;
      const got = onTarget(() => jit(f)(...ops.map((o) => put(TARGET, o))));
      try {
        await assertSameTree(got, want, `jit ${name}`, CLOSE, flushed);
      } finally {
        disposeAll(got);
      }
      const eagerWant = onBackend(ORACLE, () => f(...ops.map((o) => put(ORACLE, o))));
      const eager = onTarget(() => f(...ops.map((o) => put(TARGET, o))));
      try {
        await assertSameTree(eager, eagerWant, `eager ${name}`, CLOSE, flushed);
      } finally {
        disposeAll(eager);
      }
    }
  });

  test('webgpu: grad, vmap and jvp compositions equal the oracle', async () => {
    for (const [name, run] of TRANSFORM_CASES) {
      const want = onBackend(ORACLE, () => run((o) => put(ORACLE, o)));
      const got = onTarget(() => run((o) => put(TARGET, o)));
      try {
        await assertSameTree(got, want, name);
      } finally {
        disposeAll(got);
      }
    }
  });

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
    assert.match(gpu.source(kernel), /gid\.y \* \d+u/);
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
