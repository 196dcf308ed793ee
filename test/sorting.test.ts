/** np sorting and order statistics: sort, argsort, quantile, percentile. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AxisError, ValueError, np } from '../src/index.js';
import type { Array as VArray } from '../src/index.js';
import { assertValuesClose, reshapeTo, revView, shapeOf, transposeView, vals } from './helpers.js';

/** A deterministic pseudo-random float32 array (with a few ties: values on a 0.25 grid). */
function grid(shape: number[], seed = 1): VArray {
  const n = shape.reduce((a, b) => a * b, 1);
  let s = seed;
  const data = Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.round(((s / 2147483648) * 20 - 10) * 4) / 4;
  });
  return reshapeTo(np.array(Float32Array.from(data)), shape);
}

/** NumPy's 'linear' quantile of a JS list (float64), NaN if any NaN. */
function refQuantile(xs: number[], q: number): number {
  if (xs.some(Number.isNaN)) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const v = (s.length - 1) * q;
  const lo = Math.floor(v), hi = Math.min(lo + 1, s.length - 1), g = v - lo;
  const a = s[lo], b = s[hi], d = b - a;
  return g >= 0.5 ? b - d * (1 - g) : a + d * g;
}

// ---------- sort ----------

test('sort: last axis by default, other axes, negative axis', () => {
  const x = np.array([[3, 1, 2], [0, 5, -1]]);
  assertValuesClose(np.sort(x), [1, 2, 3, -1, 0, 5]);
  assertValuesClose(np.sort(x, 0), [0, 1, -1, 3, 5, 2]);
  assertValuesClose(np.sort(x, -2), [0, 1, -1, 3, 5, 2]);
  assertValuesClose(x.sort(), [1, 2, 3, -1, 0, 5]);
  assert.equal(shapeOf(np.sort(x, 0)), [2, 3]);
});

test('sort: axis null sorts the flattened array', () => {
  const s = np.sort(np.array([[3, 1], [2, 0]]), null);
  assert.equal(shapeOf(s), [4]);
  assertValuesClose(s, [0, 1, 2, 3]);
  assertValuesClose(np.sort(np.array(7), null), [7]);
});

test('sort: NaNs last, infinities in order, ±0 keep their order', () => {
  assertValuesClose(np.sort(np.array([NaN, 2, -Infinity, NaN, Infinity, -3])), [-Infinity, -3, 2, Infinity, NaN, NaN]);
  const z = vals(np.sort(np.array([0, -0, 1, -0, -1])));
  assert.equal(z.map((v) => (Object.is(v, -0) ? '-0' : String(v))), ['-1', '0', '-0', '-0', '1']);
});

test('sort: int32, uint32 and bool keep their dtype', () => {
  const i = np.sort(np.array([5, -2, 7, -2], 'int32'));
  assert.is(i.dtype, 'int32');
  assert.equal(vals(i), [-2, -2, 5, 7]);
  const u = np.sort(np.array([4000000000, 1, 3], 'uint32'));
  assert.equal(vals(u), [1, 3, 4000000000]);
  const b = np.sort(np.array([true, false, true, false]));
  assert.is(b.dtype, 'bool');
  assert.equal(vals(b), [0, 0, 1, 1]);
});

test('sort: empty and size-1 axes; 0-d needs axis null', () => {
  assert.equal(shapeOf(np.sort(np.zeros([2, 0]))), [2, 0]);
  assert.equal(shapeOf(np.sort(np.zeros([0, 3]), 0)), [0, 3]);
  assertValuesClose(np.sort(np.array([[4], [1]]), 1), [4, 1]);
  assertValuesClose(np.sort(np.array([[4], [1]]), 0), [1, 4]);
  assert.throws(() => np.sort(np.array(3)), (e: unknown) => e instanceof AxisError && /sort: axis -1 is out of bounds for an array of rank 0/.test((e as Error).message));
  assert.throws(() => np.sort(np.zeros([2, 2]), 2), /sort: axis 2 is out of bounds for an array of rank 2/);
});

test('sort: transposed and reversed views', () => {
  const t = transposeView(np.array([[3, 1, 2], [0, 5, -1]]), [1, 0]); // [[3,0],[1,5],[2,-1]]
  assertValuesClose(np.sort(t, 0), [1, -1, 2, 0, 3, 5]);
  assertValuesClose(np.sort(t), [0, 3, 1, 5, -1, 2]);
  const r = revView(np.array([1, 3, 2]), [0]);
  assertValuesClose(np.sort(r), [1, 2, 3]);
});

// ---------- argsort ----------

test('argsort: stable (ties keep their order), int32 output', () => {
  const a = np.argsort(np.array([2, 1, 2, 1, 0, 2]));
  assert.is(a.dtype, 'int32');
  assert.equal(vals(a), [4, 1, 3, 0, 2, 5]);
  assert.equal(vals(np.argsort(np.array([[1, 1, 0], [0, 0, 0]]))), [2, 0, 1, 0, 1, 2]);
});

test('argsort: NaNs last in their original order', () => {
  assert.equal(vals(np.argsort(np.array([NaN, 1, NaN, -1]))), [3, 1, 0, 2]);
});

test('argsort: axes, null flattens, ints and bools', () => {
  const x = np.array([[3, 1, 2], [0, 5, -1]], 'int32');
  assert.equal(vals(np.argsort(x, 0)), [1, 0, 1, 0, 1, 0]);
  assert.equal(vals(np.argsort(x, -1)), [1, 2, 0, 2, 0, 1]);
  const f = np.argsort(x, null);
  assert.equal(shapeOf(f), [6]);
  assert.equal(vals(f), [5, 3, 1, 2, 0, 4]);
  assert.equal(vals(np.argsort(np.array([true, false, true, false]))), [1, 3, 0, 2]);
  assert.equal(vals(x.argsort()), [1, 2, 0, 2, 0, 1]);
  assert.equal(shapeOf(np.argsort(np.zeros([0]))), [0]);
});

test('argsort: of a transposed view, and consistent with sort', () => {
  const x = grid([4, 5], 7);
  const t = transposeView(x, [1, 0]); // [5, 4]
  const idx = vals(np.argsort(t, 0));
  const sorted = vals(np.sort(t, 0));
  const tv = vals(t);
  for (let i = 0; i < 5; i++)
    for (let j = 0; j < 4; j++) assert.is(tv[idx[i * 4 + j] * 4 + j], sorted[i * 4 + j], `column ${j}, rank ${i}`);
  // Stability: equal keys appear with increasing indices.
  for (let j = 0; j < 4; j++)
    for (let i = 1; i < 5; i++) if (sorted[i * 4 + j] === sorted[(i - 1) * 4 + j]) assert.ok(idx[i * 4 + j] > idx[(i - 1) * 4 + j]);
});

// ---------- quantile / percentile ----------

test('quantile: medians and the linear method', () => {
  assertValuesClose(np.quantile(np.array([1, 2, 3, 4]), 0.5), [2.5]);
  assertValuesClose(np.quantile(np.array([5, 1, 3]), 0.5), [3]);
  assertValuesClose(np.quantile(np.array([1, 2, 3, 4]), [0, 0.25, 0.4, 1]), [1, 1.75, 2.2, 4]);
  assertValuesClose(np.quantile(np.array([10, 0]), 0.3), [3]);
  assert.equal(shapeOf(np.quantile(np.array([1, 2, 3, 4]), 0.5)), []);
});

test('quantile: q dims come first; axis None / int / negative / list; keepdims', () => {
  const x = grid([3, 4, 5]);
  assert.equal(shapeOf(np.quantile(x, [0.1, 0.5, 0.9])), [3]);
  assert.equal(shapeOf(np.quantile(x, [0.1, 0.5], 1)), [2, 3, 5]);
  assert.equal(shapeOf(np.quantile(x, [0.1, 0.5], -1)), [2, 3, 4]);
  assert.equal(shapeOf(np.quantile(x, 0.3, { axis: [0, 2] })), [4]);
  assert.equal(shapeOf(np.quantile(x, [0.3], { axis: [0, 2], keepdims: true })), [1, 1, 4, 1]);
  assert.equal(shapeOf(np.quantile(x, 0.3, { keepdims: true })), [1, 1, 1]);
  assert.equal(shapeOf(np.quantile(x, [[0.1, 0.2], [0.3, 0.4]], 2)), [2, 2, 3, 4]);
  assert.equal(shapeOf(np.quantile(x, 0.5, 1, true)), [3, 1, 5]);
});

test('quantile: matches a float64 reference over axes', () => {
  const shape = [3, 4, 5];
  const x = grid(shape, 3);
  const xs = vals(x);
  const at = (i: number, j: number, k: number) => xs[i * 20 + j * 5 + k];
  const qs = [0, 0.1, 0.37, 0.5, 0.9, 1];
  // axis [0, 2]: output (q, j)
  const exp02 = qs.flatMap((q) => [0, 1, 2, 3].map((j) => refQuantile([0, 1, 2].flatMap((i) => [0, 1, 2, 3, 4].map((k) => at(i, j, k))), q)));
  assertValuesClose(np.quantile(x, qs, { axis: [0, 2] }), exp02, 1e-6);
  // axis -1: output (q, i, j)
  const expLast = qs.flatMap((q) => [0, 1, 2].flatMap((i) => [0, 1, 2, 3].map((j) => refQuantile([0, 1, 2, 3, 4].map((k) => at(i, j, k)), q))));
  assertValuesClose(np.quantile(x, qs, -1), expLast, 1e-6);
  // axis null
  assertValuesClose(np.quantile(x, qs), qs.map((q) => refQuantile(xs, q)), 1e-6);
  // percentile == quantile(q / 100)
  assertValuesClose(np.percentile(x, [10, 37, 90], 1), vals(np.quantile(x, [0.1, 0.37, 0.9], 1)), 1e-6);
});

test('quantile: a NaN in a row makes that row NaN only', () => {
  const x = np.array([[1, NaN, 3], [1, 2, 3]]);
  assertValuesClose(np.quantile(x, [0, 0.5], 1), [NaN, 1, NaN, 2]);
  assertValuesClose(np.quantile(x, 0.5), [NaN]);
});

test('quantile: infinities; equal order statistics return exactly', () => {
  assertValuesClose(np.quantile(np.array([1, Infinity, Infinity]), [0, 0.5, 0.75, 1]), [1, Infinity, Infinity, Infinity]);
  assertValuesClose(np.quantile(np.array([-Infinity, -Infinity, 0]), [0, 0.25, 1]), [-Infinity, -Infinity, 0]);
  assertValuesClose(np.quantile(np.array([0.1, 0.1, 0.1]), [0.3, 0.7]), [Math.fround(0.1), Math.fround(0.1)], 0);
});

test('quantile: ints give float32; size-1 and empty axes', () => {
  const q = np.quantile(np.array([1, 2, 3, 4], 'int32'), 0.5);
  assert.is(q.dtype, 'float32');
  assertValuesClose(q, [2.5]);
  assertValuesClose(np.quantile(np.array([[4], [7]]), [0.2, 0.9], 1), [4, 7, 4, 7]);
  const e = np.quantile(np.zeros([0, 2]), [0.5, 0.7], 0);
  assert.equal(shapeOf(e), [2, 2]);
  assertValuesClose(e, [NaN, NaN, NaN, NaN]);
  assert.equal(shapeOf(np.quantile(np.zeros([2, 3]), [])), [0]);
});

test('quantile: array q (np.array) equals JS q', () => {
  const x = grid([4, 6], 11);
  assertValuesClose(np.quantile(x, np.array([0.25, 0.5, 1]), 1), vals(np.quantile(x, [0.25, 0.5, 1], 1)), 1e-6);
  assertValuesClose(np.percentile(x, np.array([25, 75]), 0), vals(np.percentile(x, [25, 75], 0)), 1e-6);
  assertValuesClose(np.quantile(x, np.array(0.5)), vals(np.quantile(x, 0.5)), 1e-6);
  // An array q cannot be validated while tracing: out-of-range entries give NaN.
  assertValuesClose(np.quantile(np.array([1, 2, 3]), np.array([-0.5, 0.5, 1.5, NaN])), [NaN, 2, NaN, NaN]);
  assertValuesClose(np.percentile(np.array([1, 2, 3]), np.array([-1, 100, 101])), [NaN, 3, NaN]);
});

test('quantile: lower / higher / midpoint methods', () => {
  const x = np.array([1, 2, 3, 4]);
  assertValuesClose(np.quantile(x, [0.4, 0.5, 1], { method: 'lower' }), [2, 2, 4]);
  assertValuesClose(np.quantile(x, [0.4, 0.5, 1], { method: 'higher' }), [3, 3, 4]);
  assertValuesClose(np.quantile(x, [0.4, 0.5, 1 / 3], { method: 'midpoint' }), [2.5, 2.5, 2]);
  assertValuesClose(np.quantile(x, [0.4], { method: 'linear' }), [2.2]);
  assert.throws(() => np.quantile(x, 0.5, { method: 'nearest' as never }), /quantile: unknown method "nearest"/);
});

test('quantile / percentile: q out of range and bad options are clear errors', () => {
  const x = np.array([1, 2, 3]);
  assert.throws(() => np.quantile(x, 1.5), (e: unknown) => e instanceof ValueError && /^quantile: q must be in the range \[0, 1\], got 1\.5$/.test((e as Error).message));
  assert.throws(() => np.quantile(x, [0.5, -0.1]), /quantile: q must be in the range \[0, 1\], got -0.1/);
  assert.throws(() => np.quantile(x, NaN), /quantile: q must be in the range \[0, 1\], got NaN/);
  assert.throws(() => np.percentile(x, 101), /percentile: q must be in the range \[0, 100\], got 101/);
  assert.throws(() => np.percentile(x, [50, -1]), /percentile: q must be in the range \[0, 100\], got -1/);
  assert.throws(() => np.quantile(x, 0.5, 1), (e: unknown) => e instanceof AxisError && /quantile: axis 1 is out of bounds/.test((e as Error).message));
  assert.throws(() => np.quantile(x, 0.5, { axes: 0 } as never), /quantile: unknown option "axes"/);
  assert.throws(() => np.quantile(x, 0.5, { axis: 0 }, true), /quantile: pass keepdims inside the options record/);
});

test('quantile: transposed input and methods', () => {
  const x = grid([5, 3], 5);
  const t = transposeView(x, [1, 0]);
  assertValuesClose(np.quantile(t, [0.2, 0.8], 1), vals(np.quantile(x, [0.2, 0.8], 0)), 1e-6);
  assertValuesClose(x.quantile(0.5, 0), vals(np.quantile(x, 0.5, 0)), 1e-6);
  assertValuesClose(x.percentile(50), vals(np.quantile(x, 0.5)), 1e-6);
});

test.run();
