/**
 * Transformation rules of the reduction, window, scan, sort and random primitives: jvp
 * against central finite differences, vjp against jvp by the inner-product identity
 * ⟨J t, c⟩ = ⟨t, Jᵀ c⟩ (and `grad` of ⟨f(x), c⟩ against the vjp), vmap against a loop and
 * stack (batch dims not at 0 included), ties / NaN / zero cases, end-to-end gradients of the
 * np reductions, and pooling gradients against naive references.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rulesOf } from '../src/core/trace/rule_table.js';
import { Zero } from '../src/core/prims/rules.js';
import { grad, jit, jvp, lax, np, random, vjp, vmap, type Array as VArray } from '../src/index.js';
import { assertClose, flatIndex, lcg, prod, scaledTol, unravel, vals } from './helpers.js';

// ---------------------------------------------------------------- data

const rng = lcg(20240611);
const range = (n: number): number[] => [...Array(n).keys()];
const arr = (data: readonly number[], shape: number[]): VArray => lax.reshape(np.array(Float32Array.from(data), 'float32'), shape);
/** Uniform values in [lo, hi). */
const rand = (shape: number[], lo = -1, hi = 1): VArray => arr(range(prod(shape)).map(() => lo + (hi - lo) * rng()), shape);
/** Well-separated values (a shuffled ramp with gaps of 0.1): no ties, so max / sort are smooth there. */
function distinct(shape: number[]): VArray {
  const n = prod(shape);
  const v = range(n).map((i) => (i - n / 2) * 0.1 + 0.01 * rng());
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return arr(v, shape);
}
const dot = (a: VArray, b: VArray): number => vals(a).reduce((s, v, i) => s + v * vals(b)[i], 0);
const axpy = (x: VArray, t: VArray, e: number): VArray => arr(vals(x).map((v, i) => v + e * vals(t)[i]), [...x.shape]);

type F = (x: VArray) => VArray;

// ---------------------------------------------------------------- laws

/** jvp along a random direction against central differences (float32: eps ~1e-3, tol ~1e-2). */
function checkFd(f: F, x: VArray, what: string, eps = 1e-3, tol = 1e-2): void {
  const t = rand([...x.shape]);
  const [, jt] = jvp(f, [x], [t]) as unknown as [VArray, VArray];
  const fp = vals(f(axpy(x, t, eps))), fm = vals(f(axpy(x, t, -eps)));
  // Outputs that do not move (e.g. a window of padding only, −inf) have zero differences, not NaN.
  const fd = fp.map((v, i) => (v === fm[i] ? 0 : (v - fm[i]) / (2 * eps)));
  assertClose(jt.dataSync(), fd, scaledTol(tol), `${what}: jvp vs finite differences`);
}

/** ⟨J t, c⟩ = ⟨t, Jᵀ c⟩ with the vjp, and grad of ⟨f(x), c⟩ equal to that vjp. */
function checkVjp(f: F, x: VArray, what: string, tol = 1e-4): void {
  const [y, back] = vjp(f, x);
  const t = rand([...x.shape]), c = rand([...(y as VArray).shape]);
  const [, jt] = jvp(f, [x], [t]) as unknown as [VArray, VArray];
  const [jc] = back(c as never) as unknown as [VArray];
  assert.equal([...jc.shape], [...x.shape], `${what}: cotangent shape`);
  const lhs = dot(jt, c), rhs = dot(t, jc);
  assert.ok(Math.abs(lhs - rhs) <= tol * Math.max(1, Math.abs(lhs), Math.abs(rhs)), `${what}: <J t, c> = ${lhs} but <t, J^T c> = ${rhs}`);
  const g = grad((v: VArray) => np.sum(np.mul(f(v), c)))(x) as VArray;
  assertClose(g.dataSync(), jc.dataSync(), scaledTol(1e-5), `${what}: grad vs vjp`);
}

/** A linear f: its jvp is f of the tangent. */
function checkLinearJvp(f: F, x: VArray, what: string): void {
  const t = rand([...x.shape]);
  const [, jt] = jvp(f, [x], [t]) as unknown as [VArray, VArray];
  assertClose(jt.dataSync(), f(t).dataSync(), scaledTol(1e-6), `${what}: jvp of a linear map`);
}

/** Entry i along `axis`, the axis removed. */
const indexAxis = (x: VArray, i: number, axis: number): VArray => {
  const start = x.shape.map((_, d) => (d === axis ? i : 0));
  const s = lax.slice(x, start, x.shape.map((n, d) => (d === axis ? i + 1 : n)));
  return lax.reshape(s, x.shape.filter((_, d) => d !== axis));
};

/** vmap(f, { inAxes: axis }) against f on each entry along `axis`, stacked at 0. */
function checkVmap(f: F, xs: VArray, axis: number, what: string): void {
  const got = vmap(f, { inAxes: axis })(xs) as VArray;
  const want = np.stack(range(xs.shape[axis]).map((i) => f(indexAxis(xs, i, axis))), 0);
  assert.equal([...got.shape], [...want.shape], `${what}: vmap shape`);
  assert.is(got.dtype, want.dtype, `${what}: vmap dtype`);
  assertClose(got.dataSync(), want.dataSync(), scaledTol(1e-6), `${what}: vmap (inAxes ${axis}) vs loop`);
}

// ---------------------------------------------------------------- reduce_max / reduce_min

for (const [name, red] of [['reduce_max', lax.reduceMax], ['reduce_min', lax.reduceMin]] as const) {
  test(`${name}: jvp vs finite differences, over one, several and all axes`, () => {
    const x = distinct([3, 4, 5]);
    checkFd((v) => red(v, [1]), x, `${name} [1]`);
    checkFd((v) => red(v, [0, 2]), x, `${name} [0,2]`);
    checkFd((v) => red(v, [0, 1, 2]), x, `${name} all`);
  });

  test(`${name}: vjp / grad vs jvp`, () => {
    checkVjp((v) => red(v, [2]), distinct([3, 4, 5]), name);
    checkVjp((v) => red(v, [0, 1]), distinct([3, 4, 5]), `${name} [0,1]`);
  });

  test(`${name}: vmap vs loop (batch dim 0 and 1)`, () => {
    const x = distinct([3, 4, 5]);
    checkVmap((v) => red(v, [1]), x, 0, name);
    checkVmap((v) => red(v, [0]), x, 1, name);
    checkVmap((v) => red(v, [0, 1]), x, 2, name);
  });
}

test('reduce_max / reduce_min: ties share the tangent equally (as JAX)', () => {
  const x = arr([1, 3, 3, 2, 2, 2], [2, 3]);
  const t = arr([1, 2, 4, 1, 2, 6], [2, 3]);
  const [, jt] = jvp((v: VArray) => lax.reduceMax(v, [1]), [x], [t]) as unknown as [VArray, VArray];
  assertClose(jt.dataSync(), [3, 3], scaledTol(1e-6), 'max ties jvp');
  const g = grad((v: VArray) => np.sum(lax.reduceMax(v, [1])))(x) as VArray;
  assertClose(g.dataSync(), [0, 0.5, 0.5, 1 / 3, 1 / 3, 1 / 3], scaledTol(1e-6), 'max ties grad');
  const gmin = grad((v: VArray) => np.sum(lax.reduceMin(v, [1])))(arr([1, 1, 3, 2, 5, 4], [2, 3])) as VArray;
  assertClose(gmin.dataSync(), [0.5, 0.5, 0, 1, 0, 0], scaledTol(1e-6), 'min ties grad');
});

test('reduce_max / reduce_min: a NaN result has a NaN tangent (0/0, as JAX); NaN-free rows are unaffected', () => {
  const x = arr([1, NaN, 3, 4, 0, 2], [2, 3]);
  for (const red of [lax.reduceMax, lax.reduceMin]) {
    const [y, jt] = jvp((v: VArray) => red(v, [1]), [x], [np.onesLike(x)]) as unknown as [VArray, VArray];
    assert.ok(Number.isNaN(vals(y)[0]) && Number.isNaN(vals(jt)[0]), 'NaN row');
    assert.is(vals(jt)[1], 1, 'finite row');
    const g = vals(grad((v: VArray) => np.sum(red(v, [1])))(x) as VArray);
    assert.ok(g.slice(0, 3).every(Number.isNaN), `NaN row grad ${g}`);
    assert.equal(g.slice(3), red === lax.reduceMax ? [1, 0, 0] : [0, 1, 0]);
  }
});

// ---------------------------------------------------------------- argmax / argmin

test('argmax / argmin: zero (integer) tangents; grad through the selected index', () => {
  const x = distinct([4, 5]);
  for (const f of [lax.argmax, lax.argmin]) {
    const [y, jt] = jvp((v: VArray) => f(v, 1), [x], [rand([4, 5])]) as unknown as [VArray, VArray];
    assert.is(jt.dtype, 'int32');
    assert.equal([...jt.shape], [...y.shape]);
    assert.ok(vals(jt).every((v) => v === 0));
  }
  // d/dx x[argmax x] is one-hot at the argmax (the index itself is locally constant).
  const v = distinct([6]);
  const g = vals(grad((u: VArray) => np.sum(np.mul(u, np.astype(np.equal(np.arange(6), lax.argmax(u, 0)), 'float32'))))(v) as VArray);
  const am = vals(v).indexOf(Math.max(...vals(v)));
  assert.equal(g, range(6).map((i) => (i === am ? 1 : 0)));
});

test('argmax / argmin: vmap vs loop, with ties (first wins) and NaN (wins), batch dim 0 and 1', () => {
  const x = arr([1, 3, 3, 0, NaN, 2, 5, 5, 5, -1, NaN, NaN], [3, 4]);
  for (const f of [lax.argmax, lax.argmin]) {
    checkVmap((v) => f(v, 0), x, 0, 'arg over rows');
    checkVmap((v) => f(v, 0), x, 1, 'arg over columns');
  }
  assert.equal(vals(vmap((v: VArray) => lax.argmax(v, 0))(x) as VArray), [1, 0, 2]);
  assert.equal(vals(vmap((v: VArray) => lax.argmin(v, 0))(x) as VArray), [3, 0, 2]);
  checkVmap((v) => lax.argmax(v, 1), distinct([3, 4, 5]), 2, 'argmax 3d');
});

// ---------------------------------------------------------------- reduce_prod

/** ∂(∏ over each row)/∂x by brute force: the product of the other entries. */
const othersRef = (row: number[]): number[] => row.map((_, j) => row.reduce((p, v, i) => (i === j ? p : p * v), 1));

test('reduce_prod: jvp vs finite differences', () => {
  const x = rand([3, 4, 2], 0.5, 1.5);
  checkFd((v) => lax.reduceProd(v, [1]), x, 'prod [1]');
  checkFd((v) => lax.reduceProd(v, [0, 2]), x, 'prod [0,2]');
  checkFd((v) => lax.reduceProd(v, [0, 1, 2]), x, 'prod all');
  checkFd((v) => lax.reduceProd(v, []), x, 'prod none');
});

test('reduce_prod: exact gradients with one zero, two zeros and none', () => {
  const rows = [[2, 0, 3, 4], [0, 2, 0, 3], [2, 3, 4, 0.5], [0, 0, 0, 0]];
  const x = arr(rows.flat(), [4, 4]);
  const g = grad((v: VArray) => np.sum(lax.reduceProd(v, [1])))(x) as VArray;
  assertClose(g.dataSync(), rows.flatMap(othersRef), scaledTol(1e-6), 'prod grad with zeros');
  // Over axes that are not last or contiguous: (2, 3, 2) reduced over [0, 2], with a zero.
  const data = [1.5, 2, 0, 3, 1, 2, 0.5, 1, 2, 4, 3, 2];
  const x3 = arr(data, [2, 3, 2]);
  const g3 = vals(grad((v: VArray) => np.sum(np.mul(lax.reduceProd(v, [0, 2]), arr([1, 2, 3], [3]))))(x3) as VArray);
  const want = data.map(() => 0);
  for (let j = 0; j < 3; j++) {
    const ids = [0, 1].flatMap((i) => [0, 1].map((k) => flatIndex([i, j, k], [2, 3, 2])));
    othersRef(ids.map((f) => data[f])).forEach((o, q) => (want[ids[q]] = o * (j + 1)));
  }
  assertClose(g3, want, scaledTol(1e-6), 'prod [0,2] grad with a zero');
  const [, jt] = jvp((v: VArray) => lax.reduceProd(v, [1]), [x], [np.onesLike(x)]) as unknown as [VArray, VArray];
  assertClose(jt.dataSync(), rows.map((r) => othersRef(r).reduce((a, b) => a + b, 0)), scaledTol(1e-6), 'prod jvp with zeros');
});

test('reduce_prod: vjp vs jvp, vmap vs loop', () => {
  checkVjp((v) => lax.reduceProd(v, [1, 2]), rand([3, 4, 2], 0.5, 1.5), 'prod');
  const x = rand([3, 4, 2], 0.5, 1.5);
  checkVmap((v) => lax.reduceProd(v, [0]), x, 1, 'prod');
  checkVmap((v) => lax.reduceProd(v, [1]), x, 0, 'prod');
});

// ---------------------------------------------------------------- reduce_window_*

type Win = { dims: number[]; strides?: number[]; padding?: 'SAME' | 'VALID' | [number, number][]; base?: number[]; wdil?: number[] };
const WINDOWS: [string, number[], Win][] = [
  ['2x2 valid', [4, 5], { dims: [2, 2] }],
  ['3x3 stride 2 SAME', [5, 6], { dims: [3, 3], strides: [2, 2], padding: 'SAME' }],
  ['window dilation', [6, 5], { dims: [2, 3], wdil: [2, 1], padding: [[1, 2], [0, 1]] }],
  ['base dilation + stride', [4, 5], { dims: [2, 2], strides: [1, 2], base: [2, 1], padding: [[1, 0], [2, 1]] }],
  ['1d stride > window, pad > window', [9], { dims: [2], strides: [3], padding: [[3, 1]] }],
  ['3d channels', [2, 4, 4], { dims: [1, 2, 2], strides: [1, 2, 2] }],
];
const windowFn = (op: 'sum' | 'max' | 'min', w: Win): F => (v) =>
  lax.reduceWindow(v, op, w.dims, w.strides, w.padding ?? 'VALID', { baseDilation: w.base, windowDilation: w.wdil });

test('reduce_window_sum: linear jvp, vjp vs jvp (transpose with strides, padding, dilations)', () => {
  for (const [name, shape, w] of WINDOWS) {
    checkLinearJvp(windowFn('sum', w), rand(shape), `window sum ${name}`);
    checkVjp(windowFn('sum', w), rand(shape), `window sum ${name}`);
  }
});

for (const op of ['max', 'min'] as const) {
  test(`reduce_window_${op}: jvp vs finite differences and vjp vs jvp`, () => {
    for (const [name, shape, w] of WINDOWS) {
      checkFd(windowFn(op, w), distinct(shape), `window ${op} ${name}`);
      checkVjp(windowFn(op, w), distinct(shape), `window ${op} ${name}`);
    }
  });
}

test('reduce_window_*: vmap vs loop (batch dim 0 and 1)', () => {
  const x = distinct([3, 4, 5]);
  for (const op of ['sum', 'max', 'min'] as const) {
    checkVmap(windowFn(op, { dims: [2, 2], strides: [1, 2], padding: 'SAME' }), x, 0, `window ${op}`);
    checkVmap(windowFn(op, { dims: [2, 3], padding: [[1, 0], [0, 1]], wdil: [1, 2] }), x, 1, `window ${op}`);
  }
});

test('reduce_window_max: ties pass the tangent to the first maximal element of each window', () => {
  const x = arr([1, 2, 2, 1, 0, 3, 3, 3], [8]);
  const t = arr([1, 2, 4, 8, 16, 32, 64, 128], [8]);
  const [, jt] = jvp(windowFn('max', { dims: [3] }), [x], [t]) as unknown as [VArray, VArray];
  // windows [1,2,2] [2,2,1] [2,1,0] [1,0,3] [0,3,3] [3,3,3]
  assert.equal(vals(jt), [2, 2, 4, 32, 32, 32]);
});

/** Naive pooling gradient: each output's cotangent goes to the first max of its window (max), or spreads over its valid entries / count (avg). */
function poolGradRef(x: number[], shape: number[], k: number, s: number, pad: [number, number], kind: 'max' | 'avg'): number[] {
  const [H, W] = shape;
  const out = (n: number) => Math.floor((n + pad[0] + pad[1] - k) / s) + 1;
  const g = x.map(() => 0);
  for (let i = 0; i < out(H); i++)
    for (let j = 0; j < out(W); j++) {
      const cells: number[] = [];
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          const r = i * s + a - pad[0], c = j * s + b - pad[0];
          if (r >= 0 && r < H && c >= 0 && c < W) cells.push(r * W + c);
        }
      const ct = 1 + i + 2 * j; // the cotangent used by the test
      if (kind === 'avg') for (const f of cells) g[f] += ct / (k * k);
      else g[cells.reduce((m, f) => (x[f] > x[m] ? f : m), cells[0])] += ct;
    }
  return g;
}

test('max-pool and avg-pool gradients through lax.reduceWindow match a naive reference', () => {
  for (const [shape, k, s, pad] of [[[6, 6], 2, 2, [0, 0]], [[5, 7], 3, 2, [1, 1]], [[4, 4], 3, 1, [1, 1]]] as [number[], number, number, [number, number]][]) {
    const x = distinct(shape);
    const pads: [number, number][] = [pad, pad];
    const oh = Math.floor((shape[0] + 2 * pad[0] - k) / s) + 1, ow = Math.floor((shape[1] + 2 * pad[0] - k) / s) + 1;
    const ct = arr(range(oh * ow).map((f) => 1 + unravel(f, [oh, ow])[0] + 2 * unravel(f, [oh, ow])[1]), [oh, ow]);
    const maxPool = (v: VArray) => lax.reduceWindow(v, 'max', [k, k], [s, s], pads);
    const avgPool = (v: VArray) => np.div(lax.reduceWindow(v, 'sum', [k, k], [s, s], pads), k * k);
    const gm = grad((v: VArray) => np.sum(np.mul(maxPool(v), ct)))(x) as VArray;
    assertClose(gm.dataSync(), poolGradRef(vals(x), shape, k, s, pad, 'max'), scaledTol(1e-6), `max-pool grad ${shape} k${k} s${s}`);
    const ga = grad((v: VArray) => np.sum(np.mul(avgPool(v), ct)))(x) as VArray;
    assertClose(ga.dataSync(), poolGradRef(vals(x), shape, k, s, pad, 'avg'), scaledTol(1e-5), `avg-pool grad ${shape} k${k} s${s}`);
  }
});

// ---------------------------------------------------------------- cumulative scans

test('cumsum: linear jvp, vjp vs jvp (forward and reverse), vmap vs loop', () => {
  const x = rand([3, 5, 2]);
  for (const reverse of [false, true])
    for (const axis of [0, 1, 2]) {
      const f: F = (v) => lax.cumsum(v, axis, reverse);
      checkLinearJvp(f, x, `cumsum axis ${axis} reverse ${reverse}`);
      checkVjp(f, x, `cumsum axis ${axis} reverse ${reverse}`);
    }
  checkVmap((v) => lax.cumsum(v, 0), x, 1, 'cumsum');
  checkVmap((v) => lax.cumsum(v, 1, true), x, 0, 'cumsum reverse');
});

test('cumprod: jvp vs finite differences, vjp vs jvp, vmap vs loop', () => {
  const x = rand([3, 7, 2], 0.5, 1.5);
  for (const reverse of [false, true]) {
    checkFd((v) => lax.cumprod(v, 1, reverse), x, `cumprod reverse ${reverse}`);
    checkVjp((v) => lax.cumprod(v, 1, reverse), x, `cumprod reverse ${reverse}`);
  }
  checkFd((v) => lax.cumprod(v, 0), x, 'cumprod axis 0');
  checkVmap((v) => lax.cumprod(v, 0), x, 1, 'cumprod');
  checkVmap((v) => lax.cumprod(v, 1, true), x, 2, 'cumprod reverse');
});

test('cumprod: exact derivatives through zeros (no division)', () => {
  const data = [2, 0, 3, 0.5, 0, 5];
  const c = [1, 2, 3, 4, 5, 6];
  const g = vals(grad((v: VArray) => np.sum(np.mul(lax.cumprod(v, 0), arr(c, [6]))))(arr(data, [6])) as VArray);
  // ∂/∂x_j Σ_i c_i ∏_{k≤i} x_k = Σ_{i≥j} c_i ∏_{k≤i, k≠j} x_k
  const want = data.map((_, j) => range(6).filter((i) => i >= j).reduce((s, i) => s + c[i] * range(i + 1).reduce((p, k) => (k === j ? p : p * data[k]), 1), 0));
  assertClose(g, want, scaledTol(1e-6), 'cumprod grad with zeros');
});

for (const [name, cum] of [['cummax', lax.cummax], ['cummin', lax.cummin]] as const) {
  test(`${name}: jvp vs finite differences, vjp vs jvp, vmap vs loop`, () => {
    const x = distinct([3, 8, 2]);
    for (const reverse of [false, true]) {
      checkFd((v) => cum(v, 1, reverse), x, `${name} reverse ${reverse}`);
      checkVjp((v) => cum(v, 1, reverse), x, `${name} reverse ${reverse}`);
    }
    checkFd((v) => cum(v, 0), x, `${name} axis 0`);
    checkVmap((v) => cum(v, 0), x, 1, name);
    checkVmap((v) => cum(v, 1, true), x, 2, `${name} reverse`);
  });
}

test('cummax: the tangent follows the running maximum (latest tie) and NaN', () => {
  const t = arr([1, 2, 4, 8, 16, 32], [6]);
  const [, jt] = jvp((v: VArray) => lax.cummax(v, 0), [arr([1, 3, 2, 3, 5, 0], [6])], [t]) as unknown as [VArray, VArray];
  assert.equal(vals(jt), [1, 2, 2, 8, 16, 16]);
  const [, jr] = jvp((v: VArray) => lax.cummin(v, 0, true), [arr([1, 3, 2, 3, 5, 0], [6])], [t]) as unknown as [VArray, VArray];
  assert.equal(vals(jr), [32, 32, 32, 32, 32, 32]);
  const [y, jn] = jvp((v: VArray) => lax.cummax(v, 0), [arr([1, NaN, 2, 3, 5, 0], [6])], [t]) as unknown as [VArray, VArray];
  assert.ok(vals(y).slice(1).every(Number.isNaN));
  assert.equal(vals(jn), [1, 2, 2, 2, 2, 2]);
});

// ---------------------------------------------------------------- sort

test('sort: jvp vs finite differences (one operand, and a carried operand), vjp vs jvp', () => {
  const x = distinct([3, 6]);
  checkFd((v) => lax.sort(v, 1), x, 'sort axis 1');
  checkFd((v) => lax.sort(v, 0), x, 'sort axis 0');
  checkVjp((v) => lax.sort(v, 1), x, 'sort');
  // Two differentiable operands: the key and a carried value depending on x.
  const both: F = (v) => np.concatenate(lax.sort([v, np.sin(np.mul(v, 3))], 1), 0);
  checkFd(both, x, 'sort key + carried');
  checkVjp(both, x, 'sort key + carried');
  // An integer key carrying a float operand.
  const keys = np.array([[2, 0, 1, 0, 2, 1], [1, 1, 0, 0, 2, 2], [5, 4, 3, 2, 1, 0]], 'int32');
  const carried: F = (v) => lax.sort([keys, v], 1)[1];
  checkFd(carried, x, 'int key, carried float');
  checkVjp(carried, x, 'int key, carried float');
});

test('sort: jvp of a carried iota (argsort) is exact; tie order is stable', () => {
  const x = arr([3, 1, 2, 1, NaN, 0], [6]);
  const [outs, touts] = jvp((v: VArray) => lax.sort([v, np.arange(6)], 0), [x], [arr([1, 2, 3, 4, 5, 6], [6])]) as unknown as [VArray[], VArray[]];
  assert.equal(vals(outs[1]), [5, 1, 3, 2, 0, 4]);
  assert.equal(vals(touts[0]), [6, 2, 4, 3, 1, 5]);
  assert.ok(vals(touts[1]).every((v) => v === 0));
});

test('sort: vmap vs loop (batch dim 0 and 1, one and two operands)', () => {
  const x = distinct([3, 4, 5]);
  checkVmap((v) => lax.sort(v, 1), x, 0, 'sort');
  checkVmap((v) => lax.sort(v, 0), x, 1, 'sort');
  checkVmap((v) => lax.sort([v, np.mul(v, -1)], 1)[1], x, 2, 'sort two operands');
  checkVmap((v) => np.argsort(v, 0), x, 1, 'argsort');
});

// ---------------------------------------------------------------- threefry2x32

test('threefry2x32: zero jvp rule; vmap vs loop (batched and unbatched operands)', () => {
  const u = (data: number[], shape: number[]) => lax.reshape(np.array(Uint32Array.from(data), 'uint32'), shape);
  const ctr = u(range(12).map((i) => i * 2654435761), [3, 4]);
  const fk: F = (kk) => np.concatenate(lax.threefry2x32(lax.broadcastInDim(lax.slice(kk, [0], [1]), [4], [0]), lax.broadcastInDim(lax.slice(kk, [1], [2]), [4], [0]), indexAxis(ctr, 0, 0), indexAxis(ctr, 1, 0)), 0);
  checkVmap((x) => np.concatenate(lax.threefry2x32(x, x, lax.add(x, 1), 3), 0), ctr, 0, 'threefry');
  checkVmap((x) => np.concatenate(lax.threefry2x32(9, x, 5, x), 0), ctr, 1, 'threefry');
  checkVmap(fk, u([1, 2, 3, 4, 5, 6], [2, 3]), 1, 'threefry batched key');
  const rule = rulesOf('threefry2x32').jvp!;
  const [outs, tans] = rule([ctr, ctr, ctr, ctr], [ctr, ctr, ctr, ctr].map((c) => new Zero(c.aval)), {});
  assert.is(outs.length, 2);
  assert.ok(tans.every((t) => t instanceof Zero));
  // Random draws under vmap over a batch of keys equal the per-key draws.
  const keys = random.split(random.key(0), 4);
  const got = vmap((kk: VArray) => random.uniform(kk, [3]))(keys) as VArray;
  const want = np.stack(random.unstackKeys(keys).map((kk) => random.uniform(kk, [3])), 0);
  assertClose(got.dataSync(), want.dataSync(), scaledTol(0), 'vmap random.uniform');
});

// ---------------------------------------------------------------- composed transformations

/** Scalar losses built on each differentiated primitive (on well-separated inputs). */
const LOSSES: [string, number[], F][] = [
  ['reduce_max', [4, 5], (v) => np.sum(np.mul(lax.reduceMax(v, [1]), arr([1, 2, 3, 4], [4])))],
  ['reduce_prod', [4, 5], (v) => np.sum(lax.reduceProd(np.add(np.mul(v, 0.1), 1), [0]))],
  ['max-pool', [4, 5], (v) => np.sum(np.square(lax.reduceWindow(v, 'max', [2, 2], [1, 2], 'SAME')))],
  ['avg-pool', [4, 5], (v) => np.sum(np.square(lax.reduceWindow(v, 'sum', [3, 2], [1, 1], [[1, 1], [0, 1]])))],
  ['cumprod', [4, 5], (v) => np.sum(lax.cumprod(np.add(np.mul(v, 0.1), 1), 1))],
  ['cummin', [4, 5], (v) => np.sum(np.square(lax.cummin(v, 0, true)))],
  ['cumsum', [4, 5], (v) => np.sum(np.square(lax.cumsum(v, 1)))],
  ['sort', [4, 5], (v) => np.sum(np.mul(np.sort(v, 1), arr([1, 2, 3, 4, 5], [5])))],
];

test('vmap(grad(f)) equals the loop of grads (jvp rules under a batch trace)', () => {
  for (const [name, shape, f] of LOSSES) {
    const xs = distinct([3, ...shape]);
    checkVmap(grad(f) as F, xs, 0, `vmap(grad) ${name}`);
    checkVmap(grad(f) as F, lax.transpose(xs, [1, 0, 2]), 1, `vmap(grad) ${name}`);
  }
});

test('jit(grad(f)) equals grad(f); grad(jit(f)) equals grad(f)', () => {
  for (const [name, shape, f] of LOSSES) {
    const x = distinct(shape);
    const want = (grad(f)(x) as VArray).dataSync();
    assertClose((jit(grad(f))(x) as VArray).dataSync(), want, scaledTol(1e-5), `jit(grad) ${name}`);
    assertClose((grad(jit(f))(x) as VArray).dataSync(), want, scaledTol(1e-5), `grad(jit) ${name}`);
  }
});

test('second order: jvp of grad (Hessian-vector products) vs finite differences of grad', () => {
  for (const [name, shape, f] of LOSSES) checkFd(grad(f) as F, distinct(shape), `hvp ${name}`, 1e-3, 2e-2);
});

// ---------------------------------------------------------------- end to end (public np API)

test('grad of np.max / np.mean / np.var / np.logsumexp', () => {
  const xs = [0.3, -1.2, 2.5, 0.7, 2.5, -0.4];
  const x = arr(xs, [6]);
  assert.equal(vals(grad((v: VArray) => np.max(v))(x) as VArray), [0, 0, 0.5, 0, 0.5, 0]);
  assert.equal(vals(grad((v: VArray) => np.min(v))(x) as VArray), [0, 1, 0, 0, 0, 0]);
  assertClose((grad((v: VArray) => np.mean(v))(x) as VArray).dataSync(), xs.map(() => 1 / 6), scaledTol(1e-7), 'mean');
  const m = xs.reduce((a, b) => a + b) / 6;
  assertClose((grad((v: VArray) => np.var(v))(x) as VArray).dataSync(), xs.map((v) => (2 * (v - m)) / 6), scaledTol(1e-6), 'var');
  const z = xs.reduce((a, v) => a + Math.exp(v), 0);
  assertClose((grad((v: VArray) => np.logsumexp(v))(x) as VArray).dataSync(), xs.map((v) => Math.exp(v) / z), scaledTol(1e-6), 'logsumexp = softmax');
  // Row-wise, with keepdims, against jvp.
  const x2 = distinct([3, 4]);
  checkVjp((v) => np.max(v, 1, true), x2, 'np.max keepdims');
  checkVjp((v) => np.logsumexp(v, 0), x2, 'np.logsumexp axis 0');
  checkVjp((v) => np.var(v, 1), x2, 'np.var axis 1');
});

test('grad of np.sort / np.quantile / np.cumsum', () => {
  const xs = [0.3, -1.2, 2.5, 0.7, 1.9];
  const x = arr(xs, [5]);
  const w = [1, 2, 3, 4, 5];
  const rank = xs.map((v) => xs.filter((u) => u < v).length);
  assert.equal(vals(grad((v: VArray) => np.sum(np.mul(np.sort(v), arr(w, [5]))))(x) as VArray), rank.map((r) => w[r]));
  // quantile 0.3 of 5 values: position 1.2 → 0.8 · sorted[1] + 0.2 · sorted[2].
  const gq = vals(grad((v: VArray) => np.quantile(v, 0.3))(x) as VArray);
  assertClose(gq, rank.map((r) => (r === 1 ? 0.8 : r === 2 ? 0.2 : 0)), scaledTol(1e-6), 'quantile');
  checkVjp((v) => np.quantile(v, arr([0.1, 0.5, 0.95], [3]), 1), distinct([3, 6]), 'np.quantile axis 1');
  // d/dx Σ w·cumsum(x) = reverse cumsum of w.
  assertClose((grad((v: VArray) => np.sum(np.mul(np.cumsum(v), arr(w, [5]))))(x) as VArray).dataSync(), [15, 14, 12, 9, 5], scaledTol(0), 'cumsum');
  checkVjp((v) => np.cumprod(v, 1), rand([2, 5], 0.5, 1.5), 'np.cumprod');
});

test.run();
