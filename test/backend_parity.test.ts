/**
 * Every backend equals the CPU oracle. One suite, parametrised over the registered
 * non-oracle backends (now `wasm`):
 *
 * - every first-order primitive of `props/prim_cases.ts`, run eagerly on inputs created on the
 *   backend, on the table's smooth operands and on edge values (±0, ±∞, NaN, denormals,
 *   halves for rounding, int32/uint32 extremes, zero divisors, shifts ≥ 32, out-of-range
 *   indices);
 * - jit-compiled fused functions, and grad / vmap / jvp compositions run with the backend as
 *   the default backend;
 * - memory: `memoryStats` returns to its starting point, kernels are cached.
 *
 * Results must be identical bit for bit (NaN matching any NaN) wherever the backend computes
 * with the oracle's own operations: the WebAssembly kernels mirror the oracle's semantics
 * (f32 arithmetic, f64 accumulation of float sums and products, the oracle's JavaScript
 * functions for the transcendentals it does not compute natively), and the routines other than
 * float32 matmul run the same code. The documented exceptions (`Tol`):
 *
 * - float32 matmul (`dot_general`) runs the SIMD routine, which sums in f32: each element is
 *   within the classical bound (K + 3)·2⁻²⁴·Σ|a||b| of the oracle's f64 sum (K terms; the
 *   extra terms cover the oracle's own final rounding and that of the bound), and NaN where
 *   the oracle is NaN. Where Σ|a||b| overflows float32 the f32 sum may overflow where the
 *   f64 one does not, and any value is accepted.
 * - float32 convolution (`conv_general_dilated`) on wasm runs the implicit-GEMM routine
 *   (`wasm/conv.ts`), the same f32 summation with K = (rhs size / output features) terms
 *   (padding terms add exact zeros): the same bound, computed the same way.
 * - float32 sums in wasm kernels (`reduce_sum`, `reduce_window_sum`; `render/wasm.ts`) add four
 *   lanes' partial sums in f64 and combine them in a fixed order: each f64 result is within
 *   γ_k·Σ|x| of the exact sum (k terms, γ_k = k·2⁻⁵³/(1 − k·2⁻⁵³)), as the oracle's sequential
 *   f64 sum is, so the two f32 results differ by at most 2γ_k·Σ|x| + 2 ulps of the oracle's
 *   value (the two f32 roundings, one binade apart at worst). Where every partial sum is exact
 *   in f64 (inputs spanning fewer than 29 − log₂k binades, as in the fused cases below) the
 *   results are identical.
 * - exp, log, tanh and logistic of float32 run native f32 code (`render/wasm_math.ts`): within
 *   `NATIVE_MATH[op].ulps` ulps of the oracle's f64-rounded value (±∞ counting as ±2¹²⁸),
 *   NaN where it is NaN.
 * - compositions through either (softmax, logsumexp, the tanh·sigmoid chain, MLP gradients…)
 *   compare with |Δ| ≤ 1e-4·|w| + 1e-5·max|w|, and NaN where the oracle is NaN.
 *
 * The wasm backend runs the suite twice: on the calling thread, and with two threads and
 * every kernel and matmul split between them (results must not depend on the split).
 *
 * Runs: 12 specs per primitive, each with smooth and edge data (PROPS_RUNS overrides).
 */
import fc from 'fast-check';
import { test, test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { NDArray } from '../src/core/array.js';
import { backends, getBackend, type BackendName } from '../src/core/backends/backend.js';
import { WasmBackend } from '../src/core/backends/runtime/wasm.js';
import { isNativeMath, NATIVE_MATH, type MathFn } from '../src/core/backends/render/wasm_math.js';
import { storageOf, type DType, type TypedArray } from '../src/core/dtype.js';
import { bin, cast, cnst, freshVar, load, outVar, select, un, varRef, type Expr, type Kernel } from '../src/core/kernel/ir.js';
import type { Value } from '../src/core/trace/value.js';
import { config, grad, jit, jvp, np, scope, tree, vmap, type Array as VArray } from '../src/index.js';
import { bind } from '../src/core/trace/trace.js';
import type { Prim } from '../src/core/trace/primitive.js';
import { CASES, applyPrim, describe, hashSeed, operands, type Operand, type PrimCase, type Spec } from '../props/prim_cases.js';
import { onBackend, prod, put } from './helpers.js';
import { BINARY, EDGES, edgeOperands, f32, JIT_CASES, KERNEL_BINARY, KERNEL_UNARY, INT_ONLY_OPS, layerNorm, mlpLoss, softmax, UNARY } from './parity_cases.js';

const ORACLE: BackendName = 'cpu';
const TARGETS = backends().filter((b) => b !== ORACLE);
const RUNS = Number(process.env.PROPS_RUNS ?? 12);
const SEED = Number(process.env.PROPS_SEED ?? 42);

const sameValue = (g: number, w: number, dtype: DType): boolean => (dtype === 'float32' && Number.isNaN(w) ? Number.isNaN(g) : Object.is(g, w));

/** How far a float32 result may be from the oracle's (see the file comment); integer and bool results are always exact. */
type Tol =
  | { readonly kind: 'exact' }
  /** An f32 sum of `k` products; `abs`: the oracle's result on |a|, |b| (Σ|a||b| per element). */
  | { readonly kind: 'sum'; readonly k: number; readonly abs: ArrayLike<number> }
  | { readonly kind: 'ulps'; readonly n: number }
  /** An f64-accumulated sum of at most `k` float32 terms in another order; `abs`: the oracle's Σ|x| per element. */
  | { readonly kind: 'fsum'; readonly k: number; readonly abs: ArrayLike<number> }
  | { readonly kind: 'close' };
const EXACT: Tol = { kind: 'exact' };
const CLOSE: Tol = { kind: 'close' };
/** The native functions' tolerance on the wasm backend (other targets would be exact). */
const ulpsOf = (target: BackendName, op: string): Tol =>
  target === 'wasm' && isNativeMath(op) ? { kind: 'ulps', n: NATIVE_MATH[op as MathFn].ulps } : EXACT;
const PRIM_MATH: Partial<Record<Prim, MathFn>> = { exp: 'exp', log: 'log', tanh: 'tanh', logistic: 'sigmoid' };

/** The spacing of float32 values at |w| (2⁻¹⁴⁹ among subnormals); ±∞ counts as ±2¹²⁸. */
function ulpOf(w: number): number {
  const a = Math.min(Math.abs(w), 2 ** 128);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}
const finite = (x: number) => (Number.isFinite(x) ? x : Math.sign(x) * 2 ** 128);

/** Whether `g` is acceptable for the oracle's `w` (element `i`; `scale`: max |w| over the output). */
function within(g: number, w: number, dtype: DType, tol: Tol, i: number, scale: number): boolean {
  if (dtype !== 'float32' || tol.kind === 'exact' || sameValue(g, w, dtype)) return sameValue(g, w, dtype);
  if (Number.isNaN(w)) return false;
  switch (tol.kind) {
    case 'sum': {
      const bound = (tol.k + 3) * 2 ** -24 * tol.abs[i];
      return !Number.isFinite(bound) || Math.abs(g - w) <= bound;
    }
    case 'ulps':
      return !Number.isNaN(g) && Math.abs(finite(g) - finite(w)) <= tol.n * ulpOf(w);
    case 'fsum': {
      const u = 2 ** -53;
      const delta = ((2 * tol.k * u) / (1 - tol.k * u)) * tol.abs[i];
      return !Number.isNaN(g) && Math.abs(finite(g) - finite(w)) <= delta + 2 * ulpOf(w);
    }
    case 'close':
      return Number.isFinite(w) ? Math.abs(g - w) <= 1e-4 * Math.abs(w) + 1e-5 * scale : false;
  }
}

/** Same shape and dtype, and equal values: bit for bit (NaN matches NaN) or within `tol`. */
function assertSame(got: VArray, want: VArray, what: string, tol: Tol = EXACT): void {
  assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  assert.is(got.dtype, want.dtype, `${what}: dtype`);
  assert.is(got.weakType, want.weakType, `${what}: weak type`);
  const g: TypedArray = got.dataSync(), w: TypedArray = want.dataSync();
  assert.is(g.length, w.length, `${what}: size`);
  let scale = 0;
  for (let i = 0; i < w.length; i++) if (Number.isFinite(w[i])) scale = Math.max(scale, Math.abs(w[i]));
  for (let i = 0; i < w.length; i++)
    if (!within(g[i], w[i], want.dtype, tol, i, scale)) assert.unreachable(`${what}: element ${i} is ${g[i]}, the oracle says ${w[i]} (${tol.kind})`);
}

function assertSameTree(got: unknown, want: unknown, what: string, tol: Tol = EXACT): void {
  const [gl, gd] = tree.flatten(got as tree.PyTree<VArray>);
  const [wl, wd] = tree.flatten(want as tree.PyTree<VArray>);
  assert.ok(gd.equals(wd), `${what}: output structure ${gd} vs ${wd}`);
  wl.forEach((w, i) => assertSame(gl[i], w, `${what}: output ${i}`, tol));
}

// ------------------------------------------------------------------ edge values

/** The tolerance of a primitive's results (`ops`: its operands, for the matmul bound). */
function primTol(target: BackendName, c: PrimCase, spec: Spec, ops: Operand[]): Tol {
  const fn = PRIM_MATH[c.prim];
  if (fn && spec.dtypes[0] === 'float32') return ulpsOf(target, fn);
  if (c.prim === 'dot_general' && spec.dtypes[0] === 'float32') {
    const [lc] = (spec.params as { dimensionNumbers: { contracting: number[][] } }).dimensionNumbers.contracting;
    const abs = ops.map((o) => ({ ...o, data: o.data.map(Math.abs) }));
    const sums = scope(() => onBackend(ORACLE, () => (applyPrim(c, spec, abs.map((o) => put(ORACLE, o)))[0] as VArray).dataSync().slice()));
    return { kind: 'sum', k: prod(lc.map((d) => spec.shapes[0][d])), abs: sums };
  }
  if ((c.prim === 'reduce_sum' || c.prim === 'reduce_window_sum') && spec.dtypes[0] === 'float32' && target === 'wasm') {
    // k ≤ the operand's size terms per output element; Σ|x| is the oracle's sum of |x|.
    const abs = ops.map((o) => ({ ...o, data: o.data.map(Math.abs) }));
    const sums = scope(() => onBackend(ORACLE, () => (applyPrim(c, spec, abs.map((o) => put(ORACLE, o)))[0] as VArray).dataSync().slice()));
    return { kind: 'fsum', k: Math.max(1, prod(spec.shapes[0])), abs: sums };
  }
  if (c.prim === 'conv_general_dilated' && spec.dtypes[0] === 'float32' && target === 'wasm') {
    // An f32 sum over k = (input channel of the group, window tap): rhs size / output features terms.
    const { rhsSpec } = (spec.params as { dimensionNumbers: { rhsSpec: number[] } }).dimensionNumbers;
    const abs = ops.map((o) => ({ ...o, data: o.data.map(Math.abs) }));
    const sums = scope(() => onBackend(ORACLE, () => (applyPrim(c, spec, abs.map((o) => put(ORACLE, o)))[0] as VArray).dataSync().slice()));
    return { kind: 'sum', k: prod(spec.shapes[1]) / Math.max(1, spec.shapes[1][rhsSpec[0]]), abs: sums };
  }
  return EXACT;
}

function checkPrim(target: BackendName, c: PrimCase, spec: Spec, ops: Operand[], what: string): void {
  const tol = primTol(target, c, spec, ops);
  scope(() => {
    const want = onBackend(ORACLE, () => applyPrim(c, spec, ops.map((o) => put(ORACLE, o))));
    const got = onBackend(target, () => applyPrim(c, spec, ops.map((o) => put(target, o))));
    assert.is(got.length, want.length, `${what}: number of outputs`);
    want.forEach((w, k) => {
      assert.is((got[k] as NDArray).backend.name, target, `${what}: output ${k} backend`);
      assertSame(got[k] as VArray, w as VArray, `${what}: output ${k}`, tol);
    });
  });
}

/** Every edge value of a dtype as a 1-D operand. */
/** `prim` on both backends, or null where the oracle rejects the operands (the target must reject them too). */
function bothOrNull(target: BackendName, prim: Prim, ops: Operand[], params: object, what: string): void {
  const fn = PRIM_MATH[prim];
  const tol = fn && ops[0].dtype === 'float32' ? ulpsOf(target, fn) : EXACT;
  scope(() => {
    let want: Value[];
    try {
      want = onBackend(ORACLE, () => bind(prim, ops.map((o) => put(ORACLE, o)), params as never));
    } catch {
      assert.throws(() => onBackend(target, () => bind(prim, ops.map((o) => put(target, o)), params as never)), `${what}: the oracle rejects it`);
      return;
    }
    const got = onBackend(target, () => bind(prim, ops.map((o) => put(target, o)), params as never));
    want.forEach((w, k) => assertSame(got[k] as VArray, w as VArray, `${what}: output ${k}`, tol));
  });
}

// ------------------------------------------------------------------ hand-built kernels

/** Run a kernel on both backends (inputs uploaded to each) and compare the outputs' bits (or within `tol`). */
function checkKernel(target: BackendName, kernel: Kernel, inputs: Operand[], what: string, tol: Tol = EXACT): void {
  const outs = [ORACLE, target].map((name) => {
    const b = getBackend(name);
    const bufs = inputs.map((o) => b.upload(o.dtype, new (storageOf(o.dtype))(o.data)));
    const out = b.alloc(kernel.outDtype, prod(kernel.outShape));
    b.run(kernel, bufs, out);
    const data = new (storageOf(kernel.outDtype))(b.readSync(out));
    [...bufs, out].forEach((x) => b.free(x));
    return data;
  });
  for (let i = 0; i < outs[1].length; i++)
    if (!within(outs[1][i], outs[0][i], kernel.outDtype, tol, i, 0)) assert.unreachable(`${what}: element ${i} is ${outs[1][i]}, the oracle says ${outs[0][i]} (${tol.kind})`);
}

const kernelOf = (expr: Expr, n: number, inputs: DType[], label: string): Kernel => ({ inputs, outShape: [n], outDtype: expr.dtype, expr, label });

// ------------------------------------------------------------------ composite functions

/**
 * The shared fused cases (test/parity_cases.ts) with this suite's tolerances: these accumulate
 * or use native transcendentals, so they are compared with `CLOSE`; the rest must be exact.
 */
const CLOSE_JIT_CASES: ReadonlySet<string> = new Set([
  'elementwise chain', 'tanh·sigmoid chain', 'softmax', 'logsumexp', 'a reduction of a reduction',
  'gather with negative indices', 'matmul mix', 'bool logic and where',
]);

/**
 * Each target as is, and the wasm backend once more with two threads and every kernel and
 * matmul split over them however small (`minParallel*` = 0).
 */
type Variant = { target: BackendName; label: string; threads: number };
const VARIANTS = TARGETS.flatMap((target): Variant[] =>
  target === 'wasm' ? [{ target, label: 'wasm', threads: 1 }, { target, label: 'wasm (2 threads)', threads: 2 }] : [{ target, label: target, threads: 1 }]);

function withThreads<T>(target: BackendName, threads: number, fn: () => T): T {
  const b = getBackend(target);
  const saved = { threads: config.threads, flops: 0, elements: 0 };
  if (b instanceof WasmBackend) {
    [saved.flops, saved.elements] = [b.minParallelFlops, b.minParallelWork];
    if (threads > 1) [b.minParallelFlops, b.minParallelWork] = [0, 0];
  }
  config.threads = threads;
  const restore = () => {
    config.threads = saved.threads;
    if (b instanceof WasmBackend) [b.minParallelFlops, b.minParallelWork] = [saved.flops, saved.elements];
  };
  try {
    const r = fn();
    if (r instanceof Promise) return r.finally(restore) as T;
    restore();
    return r;
  } catch (e) {
    restore();
    throw e;
  }
}

for (const { target, label, threads } of VARIANTS) {
  const test = (name: string, fn: () => void | Promise<void>) => uvuTest(name.replace(`${target}:`, `${label}:`), () => withThreads(target, threads, fn));
  for (const c of CASES) {
    test(`${target}: ${c.prim} equals the ${ORACLE} oracle bit for bit`, () => {
      const specs = fc.sample(c.spec, { seed: hashSeed(SEED, c.prim.length), numRuns: RUNS });
      specs.forEach((spec, k) => {
        const seed = hashSeed(SEED, k);
        checkPrim(target, c, spec, operands(c, spec, seed), `${describe(c, spec)} (smooth data, run ${k})`);
        checkPrim(target, c, spec, edgeOperands(spec, seed), `${describe(c, spec)} (edge data, run ${k})`);
      });
    });
  }

  test(`${target}: elementwise primitives on every pair of edge values of every dtype`, () => {
    for (const d of ['float32', 'int32', 'uint32', 'bool'] as DType[]) {
      const e = EDGES[d];
      for (const p of UNARY) bothOrNull(target, p, [{ shape: [e.length], dtype: d, data: [...e] }], {}, `${p}(${d} edges)`);
      const a = e.flatMap((v) => e.map(() => v)), b = e.flatMap(() => e);
      for (const p of BINARY) bothOrNull(target, p, [{ shape: [a.length], dtype: d, data: a }, { shape: [b.length], dtype: d, data: b }], {}, `${p}(${d} edge pairs)`);
      for (const to of ['float32', 'int32', 'uint32', 'bool'] as DType[]) {
        bothOrNull(target, 'convert_element_type', [{ shape: [e.length], dtype: d, data: [...e] }], { newDtype: to, weakType: false }, `convert ${d} → ${to}`);
        if (d !== 'bool' && to !== 'bool') bothOrNull(target, 'bitcast_convert_type', [{ shape: [e.length], dtype: d, data: [...e] }], { newDtype: to }, `bitcast ${d} → ${to}`);
      }
      const pred = { shape: [a.length], dtype: 'bool' as DType, data: a.map((_, i) => (i * 7) % 3 === 0 ? 1 : 0) };
      bothOrNull(target, 'select_n', [pred, { shape: [a.length], dtype: d, data: a }, { shape: [b.length], dtype: d, data: b }], {}, `select_n(${d})`);
    }
  });

  test(`${target}: kernels with constant operands, float functions of integers and f64 accumulators`, () => {
    for (const d of ['float32', 'int32', 'uint32', 'bool'] as DType[]) {
      const e = EDGES[d];
      const x = load(0, outVar(0), d);
      const input = [{ shape: [e.length], dtype: d, data: [...e] }];
      for (const op of KERNEL_BINARY) {
        if (d === 'float32' && INT_ONLY_OPS.has(op)) continue;
        // atan2 is float-only (the oracle does not even wrap an integer atan2).
        if (d !== 'float32' && op === 'atan2') continue;
        for (const c of e) {
          checkKernel(target, kernelOf(bin(op, x, cnst(c, d)), e.length, [d], op), input, `${op}(${d} x, ${c})`);
          checkKernel(target, kernelOf(bin(op, cnst(c, d), x), e.length, [d], op), input, `${op}(${c}, ${d} x)`);
        }
      }
      for (const op of KERNEL_UNARY) checkKernel(target, kernelOf(un(op, x), e.length, [d], op), input, `${op}(${d} x)`, d === 'float32' ? ulpsOf(target, op) : EXACT);
      for (const to of ['float32', 'int32', 'uint32', 'bool'] as DType[]) checkKernel(target, kernelOf(cast(x, to), e.length, [d], 'cast'), input, `cast ${d} → ${to}`);
    }
    // f64 accumulators (the oracle sums in f64) flowing into further ops: max of sums, argmax of sums, selects, casts.
    const [J, K] = [5, 7];
    const data = f32([3 * J * K], -1e3, 1e3);
    const at = (j: Expr, k: Expr) => load(0, bin('add', bin('add', bin('mul', outVar(0), cnst(J * K, 'int32')), bin('mul', j, cnst(K, 'int32'))), k), 'float32');
    const sumOver = (j: Expr): Expr => {
      const k = freshVar();
      // A positive body without native transcendentals (those are not bit-exact): (x/100)².
      const t = bin('mul', at(j, varRef(k)), cnst(0.01, 'float32'));
      return { k: 'reduce', op: 'sum', vars: [{ name: k, size: K }], body: bin('mul', t, t), dtype: 'float32' };
    };
    const over = (op: 'max' | 'argmax' | 'prod'): Expr => {
      const j = freshVar();
      return { k: 'reduce', op, vars: [{ name: j, size: J }], body: sumOver(varRef(j)), dtype: op === 'argmax' ? 'int32' : 'float32' };
    };
    const wide: [string, Expr][] = [
      ['max of sums, times 3', bin('mul', over('max'), cnst(3, 'float32'))],
      ['product of sums, minus 1', bin('sub', over('prod'), cnst(1, 'float32'))],
      ['argmax of sums', over('argmax')],
      ['sum selected against a float', select(bin('gt', sumOver(cnst(1, 'int32')), cnst(7, 'float32')), sumOver(cnst(2, 'int32')), cnst(0.1, 'float32'))],
      ['sum cast to int32', cast(bin('mul', sumOver(cnst(0, 'int32')), cnst(1e3, 'float32')), 'int32')],
      ['sqrt, rsqrt and neg of a sum', bin('add', un('sqrt', sumOver(cnst(3, 'int32'))), un('neg', un('rsqrt', sumOver(cnst(4, 'int32')))))],
    ];
    for (const [name, expr] of wide) checkKernel(target, kernelOf(expr, 3, ['float32'], name), [data], name);
  });

  test(`${target}: jit-compiled fused functions equal the oracle`, () => {
    for (const [name, f, ops] of JIT_CASES)
      scope(() => {
        const tol = CLOSE_JIT_CASES.has(name) ? CLOSE : EXACT;
        const want = onBackend(ORACLE, () => jit(f)(...ops.map((o) => put(ORACLE, o))));
        const got = onBackend(target, () => jit(f)(...ops.map((o) => put(target, o))));
        assertSameTree(got, want, `jit ${name}`, tol);
        // Eager (one kernel per primitive) agrees too.
        const eagerWant = onBackend(ORACLE, () => f(...ops.map((o) => put(ORACLE, o))));
        assertSameTree(onBackend(target, () => f(...ops.map((o) => put(target, o)))), eagerWant, `eager ${name}`, tol);
      });
  });

  test(`${target}: grad, vmap and jvp compositions equal the oracle`, () => {
    const params = { w1: f32([8, 16]), w2: f32([16, 3]) };
    const x = f32([5, 8]);
    const t = f32([5, 8]);
    const cases: [string, (b: BackendName) => unknown, Tol?][] = [
      ['grad of an MLP loss', (b) => grad(mlpLoss)({ w1: put(b, params.w1), w2: put(b, params.w2) }, put(b, x)), CLOSE],
      ['jit(grad) of an MLP loss', (b) => jit(grad(mlpLoss))({ w1: put(b, params.w1), w2: put(b, params.w2) }, put(b, x)), CLOSE],
      ['vmap of softmax over rows', (b) => vmap((r: VArray) => softmax(r))(put(b, x)), CLOSE],
      ['vmap(grad) per example', (b) => vmap((xi: VArray) => grad((v: VArray) => np.sum(np.tanh(layerNorm(v))))(xi))(put(b, x)), CLOSE],
      ['jvp of layer norm', (b) => jvp(layerNorm, [put(b, x)], [put(b, t)])],
      ['jit(vmap(grad)) of a loss with an integer argument', (b) =>
        jit(vmap((xi: VArray, i: VArray) => grad((v: VArray) => np.sum(np.take(np.exp(v), i, 0)))(xi), { inAxes: [0, null] }))(put(b, x), put(b, { shape: [3], dtype: 'int32', data: [7, 0, -2] })), CLOSE],
    ];
    for (const [name, run, tol] of cases)
      scope(() => assertSameTree(onBackend(target, () => run(target)), onBackend(ORACLE, () => run(ORACLE)), name, tol));
  });

  test(`${target}: memoryStats returns to its starting point`, () => {
    const b = getBackend(target);
    const before = b.memoryStats();
    const ops = [f32([6, 10]), f32([10, 4])];
    for (let rep = 0; rep < 3; rep++)
      scope(() => {
        const [a, w] = ops.map((o) => put(target, o));
        onBackend(target, () => {
          jit((x: VArray, y: VArray) => softmax(np.matmul(x, y)))(a, w);
          grad(mlpLoss)({ w1: w, w2: np.ones([4, 2]) }, a);
          vmap(layerNorm)(a);
          np.sort(np.concatenate([a, a], 0), 0);
        });
      });
    assert.equal(b.memoryStats(), before);
  });

  test(`${target}: reading back, dispose and the kernel cache`, async () => {
    const b = getBackend(target);
    const x = put(target, f32([4, 5]));
    const y = onBackend(target, () => np.add(np.mul(x, 2), 1));
    assert.equal(await y.data(), y.dataSync());
    assert.is((y as NDArray).backend.name, target);
    if (b instanceof WasmBackend) {
      const compiled = b.compiledKernels;
      const z = onBackend(target, () => np.add(np.mul(x, 2), 1));
      assert.is(b.compiledKernels, compiled, 'the same kernels are not compiled again');
      const top = b.heapStats().top;
      for (let i = 0; i < 20; i++) onBackend(target, () => np.exp(x)).dispose();
      assert.ok(b.heapStats().top <= top + 128, 'freed blocks are reused');
      z.dispose();
    }
    x.dispose();
    y.dispose();
    assert.throws(() => y.dataSync(), /dispose/);
  });
}

test('the parity suite covers at least one backend where WebAssembly exists', () => {
  if (typeof WebAssembly === 'object') assert.ok(TARGETS.includes('wasm'), `targets: ${TARGETS.join(', ')}`);
});

test.run();
