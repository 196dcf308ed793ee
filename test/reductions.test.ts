/** np reductions: sum mean max min prod argmax argmin var std logsumexp cumsum cumprod all any. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AxisError, DTypeError, ShapeError, ValueError, np } from '../src/index.js';
import { assertValuesClose, reshapeTo, revView, shapeOf, transposeView, vals } from './helpers.js';

// x23 = [[0, 1, 2], [3, 4, 5]]
const x23 = () => np.array([[0, 1, 2], [3, 4, 5]]);
// x234[i, j, k] = 12 i + 4 j + k
const x234 = () => reshapeTo(np.arange(24).astype('float32'), [2, 3, 4]);

// ---------- sum ----------

test('sum: all axes, one axis, negative axis, axis list', () => {
  assertValuesClose(np.sum(x23()), [15]);
  assert.equal(shapeOf(np.sum(x23())), []);
  assertValuesClose(np.sum(x23(), 0), [3, 5, 7]);
  assertValuesClose(np.sum(x23(), -1), [3, 12]);
  assertValuesClose(np.sum(x23(), [0, 1]), [15]);
  assertValuesClose(np.sum(x23(), [-1, 0]), [15]);
  assertValuesClose(np.sum(x23(), null), [15]);
  assertValuesClose(np.sum(x234(), [0, 2]), [60, 92, 124]);
});

test('sum: the options record and bare axis forms agree', () => {
  assertValuesClose(np.sum(x23(), { axis: 1 }), [3, 12]);
  assert.equal(shapeOf(np.sum(x23(), { axis: 1, keepdims: true })), [2, 1]);
  assert.equal(shapeOf(np.sum(x23(), 1, true)), [2, 1]);
  assertValuesClose(x23().sum(0), [3, 5, 7]);
  assertValuesClose(x23().sum({ axis: -2, keepdims: true }), [3, 5, 7]);
});

test('sum: keepdims shapes', () => {
  assert.equal(shapeOf(np.sum(x234(), { keepdims: true })), [1, 1, 1]);
  assert.equal(shapeOf(np.sum(x234(), { axis: [0, 2], keepdims: true })), [1, 3, 1]);
  assert.equal(shapeOf(np.sum(x234(), { axis: -1, keepdims: true })), [2, 3, 1]);
  assertValuesClose(np.sum(x234(), { axis: [0, 2], keepdims: true }), [60, 92, 124]);
});

test('sum: empty axis list is the identity; empty arrays sum to 0', () => {
  assertValuesClose(np.sum(x23(), []), [0, 1, 2, 3, 4, 5]);
  assert.equal(shapeOf(np.sum(x23(), [])), [2, 3]);
  assertValuesClose(np.sum(np.zeros([0])), [0]);
  assertValuesClose(np.sum(np.zeros([2, 0]), 1), [0, 0]);
  assert.equal(shapeOf(np.sum(np.zeros([0, 3]), 1)), [0]);
  assertValuesClose(np.sum(np.zeros([0, 3]), 0), [0, 0, 0]);
});

test('sum: size-1 dims and 0-d inputs', () => {
  assertValuesClose(np.sum(np.array([[7]]), 0), [7]);
  assertValuesClose(np.sum(np.array(5)), [5]);
  const s = np.sum(3);
  assert.is(s.dtype, 'int32');
  assertValuesClose(s, [3]);
});

test('sum: dtypes follow JAX (bool → int32, ints stay ints)', () => {
  const b = np.sum(np.array([true, false, true, true]));
  assert.is(b.dtype, 'int32');
  assertValuesClose(b, [3]);
  const i = np.sum(np.array([[1, 2], [3, -4]], 'int32'), 0);
  assert.is(i.dtype, 'int32');
  assert.equal(vals(i), [4, -2]);
  const u = np.sum(np.array([1, 2], 'uint32'));
  assert.is(u.dtype, 'uint32');
  assert.is(np.sum(x23()).dtype, 'float32');
});

test('sum: dtype option casts before reducing', () => {
  const f = np.sum(np.array([1, 2], 'int32'), { dtype: 'float32' });
  assert.is(f.dtype, 'float32');
  const t = np.sum(np.array([1.7, 2.9]), { dtype: 'int32' });
  assert.is(t.dtype, 'int32');
  assert.equal(vals(t), [3]);
  const any = np.sum(np.array([[0, 2], [0, 0]]), { axis: 1, dtype: 'bool' });
  assert.is(any.dtype, 'bool');
  assert.equal(vals(any), [1, 0]);
});

// ---------- prod ----------

test('prod: values, bool → int32, empty → 1, int32 stays int32', () => {
  assertValuesClose(np.prod(np.array([[1, 2, 3], [4, 5, 6]]), 1), [6, 120]);
  assertValuesClose(np.prod(np.array([[1, 2, 3], [4, 5, 6]])), [720]);
  const b = np.prod(np.array([[true, false], [true, true]]), -1);
  assert.is(b.dtype, 'int32');
  assert.equal(vals(b), [0, 1]);
  assertValuesClose(np.prod(np.zeros([0])), [1]);
  const i = np.prod(np.array([2, -3, 4], 'int32'));
  assert.is(i.dtype, 'int32');
  assert.equal(vals(i), [-24]);
  assert.equal(shapeOf(np.prod(x234(), { axis: 1, keepdims: true })), [2, 1, 4]);
});

// ---------- mean ----------

test('mean: axes, keepdims, ints and bools give float32', () => {
  assertValuesClose(np.mean(x23()), [2.5]);
  assertValuesClose(np.mean(x23(), 0), [1.5, 2.5, 3.5]);
  assertValuesClose(np.mean(x234(), [0, 2]), [7.5, 11.5, 15.5]);
  assert.equal(shapeOf(np.mean(x234(), { axis: [0, 1], keepdims: true })), [1, 1, 4]);
  const i = np.mean(np.array([1, 2, 4], 'int32'));
  assert.is(i.dtype, 'float32');
  assertValuesClose(i, [7 / 3]);
  const b = np.mean(np.array([true, false, false, false]));
  assert.is(b.dtype, 'float32');
  assertValuesClose(b, [0.25]);
});

test('mean: empty selection is NaN; integer dtype divides as integers', () => {
  assertValuesClose(np.mean(np.zeros([0])), [NaN]);
  assertValuesClose(np.mean(np.zeros([2, 0]), 1), [NaN, NaN]);
  const m = np.mean(np.array([1, 2, 4], 'int32'), { dtype: 'int32' });
  assert.is(m.dtype, 'int32');
  assert.equal(vals(m), [2]);
  assert.throws(() => np.mean(x23(), { dtype: 'bool' }), (e: unknown) => e instanceof DTypeError && /mean: dtype bool/.test((e as Error).message));
});

// ---------- var / std ----------

test('var / std: ddof, axes, keepdims', () => {
  const x = np.array([[1, 2, 3, 4], [2, 4, 6, 8]]);
  assertValuesClose(np.var(x, 1), [1.25, 5]);
  assertValuesClose(np.var(x, { axis: 1, ddof: 1 }), [5 / 3, 20 / 3]);
  assertValuesClose(np.std(x, 1), [Math.sqrt(1.25), Math.sqrt(5)]);
  assertValuesClose(np.std(x, { axis: -1, ddof: 1 }), [Math.sqrt(5 / 3), Math.sqrt(20 / 3)]);
  assertValuesClose(np.var(x), [4.6875]);
  assert.equal(shapeOf(np.var(x, { axis: 0, keepdims: true })), [1, 4]);
  assert.equal(shapeOf(np.std(x234(), { axis: [0, 2], keepdims: true, ddof: 1 })), [1, 3, 1]);
  assertValuesClose(x.var({ ddof: 1, axis: 0 }), [0.5, 2, 4.5, 8]);
});

test('var: ints give float32; two-pass formula is stable for large offsets', () => {
  const v = np.var(np.array([1, 2, 3, 4], 'int32'));
  assert.is(v.dtype, 'float32');
  assertValuesClose(v, [1.25]);
  assertValuesClose(np.var(np.array([1e4 + 1, 1e4 + 2, 1e4 + 3])), [2 / 3], 1e-5);
});

test('var: n − ddof ≤ 0 divides by zero as NumPy (inf, or NaN for 0/0)', () => {
  assertValuesClose(np.var(np.array([1, 2, 3]), { ddof: 3 }), [Infinity]);
  assertValuesClose(np.var(np.array([5]), { ddof: 1 }), [NaN]);
  assertValuesClose(np.var(np.array([1, 2]), { ddof: 5 }), [Infinity]);
  assert.throws(() => np.var(x23(), { ddof: NaN }), (e: unknown) => e instanceof ValueError && /var: ddof must be a finite number/.test((e as Error).message));
});

// ---------- max / min ----------

test('max / min: axes, keepdims, negative axis', () => {
  assertValuesClose(np.max(x23()), [5]);
  assertValuesClose(np.max(x23(), 0), [3, 4, 5]);
  assertValuesClose(np.min(x23(), -1), [0, 3]);
  assertValuesClose(np.min(x234(), [0, 2]), [0, 4, 8]);
  assert.equal(shapeOf(np.max(x234(), { axis: 1, keepdims: true })), [2, 1, 4]);
  assertValuesClose(x23().max({ axis: 1 }), [2, 5]);
});

test('max / min: NaN propagates; ints and bools keep their dtype', () => {
  assertValuesClose(np.max(np.array([[1, NaN, 3], [1, 2, 3]]), 1), [NaN, 3]);
  assertValuesClose(np.min(np.array([[1, NaN, 3], [1, 2, 3]]), 1), [NaN, 1]);
  const i = np.max(np.array([[-5, -2], [-7, -9]], 'int32'), 1);
  assert.is(i.dtype, 'int32');
  assert.equal(vals(i), [-2, -7]);
  const b = np.min(np.array([[true, false], [true, true]]), 1);
  assert.is(b.dtype, 'bool');
  assert.equal(vals(b), [0, 1]);
  assertValuesClose(np.max(np.array([-Infinity, -Infinity])), [-Infinity]);
});

test('max / min of an empty axis is an error naming the op and the shape', () => {
  assert.throws(() => np.max(np.zeros([2, 0]), 1), (e: unknown) => e instanceof ShapeError && /^max: zero-size array .*\(axis 1 of shape \[2,0\]\)/.test((e as Error).message));
  assert.throws(() => np.min(np.zeros([0])), /min: zero-size array to reduction operation min which has no identity.*\[0\]/);
  // Reducing only non-empty axes of an empty array is fine.
  assert.equal(shapeOf(np.max(np.zeros([0, 3]), 1)), [0]);
});

// ---------- argmax / argmin ----------

test('argmax / argmin: per axis, ties give the first index', () => {
  const x = np.array([[1, 3, 3, 0], [7, 7, 2, 7]]);
  const a = np.argmax(x, 1);
  assert.is(a.dtype, 'int32');
  assert.equal(vals(a), [1, 0]);
  assert.equal(vals(np.argmin(x, 1)), [3, 2]);
  assert.equal(vals(np.argmax(x, 0)), [1, 1, 0, 1]);
  assert.equal(vals(np.argmin(x, -2)), [0, 0, 1, 0]);
  assert.equal(vals(x.argmax(-1)), [1, 0]);
});

test('argmax / argmin: no axis flattens first', () => {
  const x = np.array([[1, 9, 3], [9, 0, 0]]);
  const a = np.argmax(x);
  assert.equal(shapeOf(a), []);
  assert.equal(vals(a), [1]);
  assert.equal(vals(np.argmin(x, null)), [4]);
  assert.equal(vals(np.argmax(np.array(4))), [0]);
});

test('argmax / argmin: the first NaN wins', () => {
  const x = np.array([[1, NaN, 5, NaN], [0, 2, 1, 1]]);
  assert.equal(vals(np.argmax(x, 1)), [1, 1]);
  assert.equal(vals(np.argmin(x, 1)), [1, 0]);
  assert.equal(vals(np.argmax(x)), [1]);
});

test('argmax / argmin: keepdims, ints, bools', () => {
  const x = np.array([[1, 9, 3], [9, 0, 0]], 'int32');
  assert.equal(shapeOf(np.argmax(x, { axis: 1, keepdims: true })), [2, 1]);
  assert.equal(shapeOf(np.argmax(x, 0, true)), [1, 3]);
  assert.equal(shapeOf(np.argmin(x, { keepdims: true })), [1, 1]);
  assert.equal(vals(np.argmin(x, { keepdims: true })), [4]);
  assert.equal(vals(np.argmax(np.array([false, true, true]))), [1]);
  assert.equal(vals(np.argmin(np.array([3, 1, 1], 'uint32'))), [1]);
});

test('argmax / argmin: errors', () => {
  assert.throws(() => np.argmax(np.zeros([2, 0]), 1), (e: unknown) => e instanceof ShapeError && /argmax: .*empty axis 1 of shape \[2,0\]/.test((e as Error).message));
  assert.throws(() => np.argmin(np.zeros([0, 3])), /argmin: attempt to get argmin of an empty sequence \(shape \[0,3\]\)/);
  assert.throws(() => np.argmax(x23(), 2), (e: unknown) => e instanceof AxisError && /argmax: axis 2 is out of bounds for an array of rank 2/.test((e as Error).message));
  assert.throws(() => np.argmax(x23(), { axis: [0, 1] as unknown as number }), /argmax: axis must be a single integer or null/);
  // argmax over a non-empty axis of an array with another empty dim is fine.
  assert.equal(shapeOf(np.argmax(np.zeros([0, 3]), 1)), [0]);
});

// ---------- all / any ----------

test('all / any: truthiness (NaN is true), axes, keepdims, empty', () => {
  const x = np.array([[1, NaN, 2], [0, 1, 0]]);
  const a = np.all(x, 1);
  assert.is(a.dtype, 'bool');
  assert.equal(vals(a), [1, 0]);
  assert.equal(vals(np.any(x, 1)), [1, 1]);
  assert.equal(vals(np.any(np.array([[0, 0], [0, 0]], 'int32'), 0)), [0, 0]);
  assert.equal(vals(np.all(np.array([true, true]))), [1]);
  assert.equal(vals(np.all(np.zeros([0]))), [1]);
  assert.equal(vals(np.any(np.zeros([0]))), [0]);
  assert.equal(shapeOf(np.any(x234(), { axis: [1], keepdims: true })), [2, 1, 4]);
  assert.equal(vals(x.any()), [1]);
});

// ---------- logsumexp ----------

test('logsumexp: matches the direct formula for moderate values', () => {
  const data = [[0.5, -1, 2, 0], [3, 3, 3, 3]];
  const ref = data.map((r) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0)));
  assertValuesClose(np.logsumexp(np.array(data), 1), ref, 1e-6);
  assertValuesClose(np.logsumexp(np.array(data)), [Math.log(data.flat().reduce((s, v) => s + Math.exp(v), 0))], 1e-6);
  assert.equal(shapeOf(np.logsumexp(np.array(data), { axis: -1, keepdims: true })), [2, 1]);
  assert.equal(shapeOf(np.logsumexp(x234(), { axis: [0, 2], keepdims: true })), [1, 3, 1]);
});

test('logsumexp: stable for large magnitudes', () => {
  assertValuesClose(np.logsumexp(np.array([1000, 1000])), [1000 + Math.LN2], 1e-6);
  assertValuesClose(np.logsumexp(np.array([-1000, -1000])), [-1000 + Math.LN2], 1e-6);
  assertValuesClose(np.logsumexp(np.array([[1e30, 0], [-1e30, 0]]), 1), [1e30, 0]);
});

test('logsumexp: rows of −inf give −inf, a +inf gives +inf, NaN propagates', () => {
  const x = np.array([[-Infinity, -Infinity], [Infinity, 1], [Infinity, -Infinity], [NaN, 1], [-Infinity, 0]]);
  assertValuesClose(np.logsumexp(x, 1), [-Infinity, Infinity, Infinity, NaN, 0]);
});

test('logsumexp: empty reduction is −inf; ints give float32', () => {
  assertValuesClose(np.logsumexp(np.zeros([0])), [-Infinity]);
  const i = np.logsumexp(np.array([0, 0], 'int32'));
  assert.is(i.dtype, 'float32');
  assertValuesClose(i, [Math.LN2]);
});

test('logsumexp: weights b; b = 0 ignores the entry even when it is infinite', () => {
  assertValuesClose(np.logsumexp(np.array([1, 2, 3]), { b: np.array([2, 0, 0.5]) }), [Math.log(2 * Math.E + 0.5 * Math.exp(3))], 1e-6);
  assertValuesClose(np.logsumexp(np.array([1, Infinity]), { b: [1, 0] }), [1]);
  assertValuesClose(np.logsumexp(np.array([[0, 0], [1, 1]]), { axis: 1, b: [1, 3] }), [Math.log(4), 1 + Math.log(4)], 1e-6);
});

// ---------- cumsum / cumprod ----------

test('cumsum / cumprod: axes, negative axis, flattening', () => {
  assertValuesClose(np.cumsum(x23(), 1), [0, 1, 3, 3, 7, 12]);
  assertValuesClose(np.cumsum(x23(), 0), [0, 1, 2, 3, 5, 7]);
  assertValuesClose(np.cumsum(x23(), -1), [0, 1, 3, 3, 7, 12]);
  const flat = np.cumsum(x23());
  assert.equal(shapeOf(flat), [6]);
  assertValuesClose(flat, [0, 1, 3, 6, 10, 15]);
  assertValuesClose(np.cumsum(x23(), null), [0, 1, 3, 6, 10, 15]);
  assertValuesClose(np.cumprod(np.array([[1, 2, 3], [4, 5, 6]]), 1), [1, 2, 6, 4, 20, 120]);
  assertValuesClose(np.cumprod(np.array([[1, 2], [3, 4]])), [1, 2, 6, 24]);
  assertValuesClose(x23().cumsum({ axis: 0 }), [0, 1, 2, 3, 5, 7]);
  assert.equal(shapeOf(np.cumsum(np.array(3))), [1]);
});

test('cumsum / cumprod: dtypes (int stays int, bool → int32, dtype option), empty', () => {
  const i = np.cumsum(np.array([1, 2, 3], 'int32'));
  assert.is(i.dtype, 'int32');
  assert.equal(vals(i), [1, 3, 6]);
  const b = np.cumsum(np.array([true, true, false, true]));
  assert.is(b.dtype, 'int32');
  assert.equal(vals(b), [1, 2, 2, 3]);
  const f = np.cumsum(np.array([1, 2], 'int32'), 0, 'float32');
  assert.is(f.dtype, 'float32');
  assert.is(np.cumprod(np.array([1.5, 2]), { dtype: 'int32' }).dtype, 'int32');
  assert.equal(shapeOf(np.cumsum(np.zeros([2, 0]), 1)), [2, 0]);
  assert.throws(() => np.cumsum(x23(), 2), /cumsum: axis 2 is out of bounds for an array of rank 2/);
  assert.throws(() => np.cumsum(np.array(1), 0), (e: unknown) => e instanceof AxisError);
});

// ---------- strided (non-contiguous) inputs ----------

test('reductions of transposed, reversed and broadcast views', () => {
  const t = transposeView(x23(), [1, 0]); // [[0,3],[1,4],[2,5]]
  assertValuesClose(np.sum(t, 1), [3, 5, 7]);
  assertValuesClose(np.sum(t, 0), [3, 12]);
  assertValuesClose(np.mean(t, -1), [1.5, 2.5, 3.5]);
  assertValuesClose(np.max(t, 0), [2, 5]);
  assert.equal(vals(np.argmax(t, 0)), [2, 2]);
  assert.equal(vals(np.argmin(t)), [0]);
  assert.equal(vals(np.argmax(t)), [5]);
  assertValuesClose(np.cumsum(t, 0), [0, 3, 1, 7, 3, 12]);
  assertValuesClose(np.cumsum(t), [0, 3, 4, 8, 10, 15]);
  assertValuesClose(np.var(t, 1), [2.25, 2.25, 2.25]);
  const t3 = transposeView(x234(), [2, 0, 1]); // shape [4, 2, 3]
  assertValuesClose(np.sum(t3, [1, 2]), [60, 66, 72, 78]);
  const r = revView(x23(), [1]); // [[2,1,0],[5,4,3]]
  assert.equal(vals(np.argmin(r, 1)), [2, 2]);
  assertValuesClose(np.cumsum(r, 1), [2, 3, 3, 5, 9, 12]);
  const b = np.broadcastTo(np.array([1, 2, 3]), [4, 3]);
  assertValuesClose(np.sum(b, 0), [4, 8, 12]);
  assertValuesClose(np.prod(b, 1), [6, 6, 6, 6]);
  assertValuesClose(np.logsumexp(b, 0), [1, 2, 3].map((v) => v + Math.log(4)), 1e-6);
});

// ---------- argument validation ----------

test('axis errors come from normAxes with the op name', () => {
  assert.throws(() => np.sum(x23(), 2), (e: unknown) => e instanceof AxisError && /^sum: axis 2 is out of bounds for an array of rank 2$/.test((e as Error).message));
  assert.throws(() => np.mean(x23(), -3), /mean: axis -3 is out of bounds/);
  assert.throws(() => np.max(x23(), [0, -2]), (e: unknown) => e instanceof AxisError && /max: repeated axis/.test((e as Error).message));
  assert.throws(() => np.var(x23(), 0.5), /var: axis 0.5 is out of bounds/);
  assert.throws(() => np.logsumexp(x23(), 5), /logsumexp: axis 5/);
  assert.throws(() => np.all(x23(), 3), /all: axis 3/);
});

test('options: unknown names and keepdims given twice are errors', () => {
  assert.throws(() => np.sum(x23(), { axes: 0 } as never), (e: unknown) => e instanceof ValueError && /sum: unknown option "axes"; expected one of axis, keepdims, dtype/.test((e as Error).message));
  assert.throws(() => np.max(x23(), { ddof: 1 } as never), /max: unknown option "ddof"/);
  assert.throws(() => np.sum(x23(), { axis: 0 }, true), /sum: pass keepdims inside the options record/);
  assert.throws(() => np.cumsum(x23(), { axis: 0 }, 'int32'), /cumsum: pass dtype inside the options record/);
  assert.throws(() => np.sum(x23(), { dtype: 'float64' as never }), /sum: unknown dtype "float64"/);
});

test.run();
