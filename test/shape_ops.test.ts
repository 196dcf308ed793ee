/** np shape manipulation (reshape … flip) against hand-checked NumPy 2.4 results, error messages and zero-copy views. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { np, NDArray, type Array as Value } from '../src/index.js';

const ar = (n: number, dtype: 'int32' | 'float32' = 'int32') => np.arange(n, undefined, 1, dtype);
/** Shape, dtype and nested values in one comparable record. */
const rec = (y: Value) => ({ shape: [...y.shape], dtype: y.dtype, v: y.toNested() });
const eq = (y: Value, shape: number[], v: unknown, dtype = 'int32') => assert.equal(rec(y), { shape, dtype, v });
const shares = (y: Value, x: Value) => (y as NDArray).buffer === (x as NDArray).buffer;

// ---------------------------------------------------------------- reshape / ravel

test('reshape: explicit shape, -1 inference, method varargs and arrays', () => {
  const x = ar(6);
  eq(np.reshape(x, [2, 3]), [2, 3], [[0, 1, 2], [3, 4, 5]]);
  eq(x.reshape(3, -1), [3, 2], [[0, 1], [2, 3], [4, 5]]);
  eq(x.reshape([-1, 1, 2]), [3, 1, 2], [[[0, 1]], [[2, 3]], [[4, 5]]]);
  eq(x.reshape(6), [6], [0, 1, 2, 3, 4, 5]);
  eq(np.reshape(np.array(7, 'int32'), [1, 1]), [1, 1], [[7]]);
  eq(np.array([7], 'int32').reshape([]), [], 7);
  eq(np.reshape(x.slice('2:3'), [1, 1, -1]), [1, 1, 1], [[[2]]]);
});

test('reshape: empty arrays', () => {
  const e = np.zeros([0, 3], 'int32');
  eq(e.reshape(3, 0), [3, 0], [[], [], []]);
  eq(e.reshape(-1, 3, 1), [0, 3, 1], []);
  eq(np.reshape(e, [0]), [0], []);
});

test('reshape errors', () => {
  const x = ar(6);
  assert.throws(() => x.reshape(-1, -1), /reshape: cannot reshape array of shape \[6\] \(size 6\) into shape \[-1,-1\]: can only specify one unknown dimension/);
  assert.throws(() => x.reshape(4, -1), /reshape: .*\[4,-1\]: size 6 is not a multiple of 4/);
  assert.throws(() => x.reshape(4, 2), /reshape: cannot reshape array of shape \[6\] \(size 6\) into shape \[4,2\]: sizes differ/);
  assert.throws(() => x.reshape(-2, -3), /reshape: .*non-negative integers or a single -1/);
  assert.throws(() => x.reshape(1.5, 4), /reshape: .*non-negative integers/);
  assert.throws(() => np.zeros([0]).reshape(0, -1), /reshape: .*ambiguous/);
  try {
    x.reshape(5);
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).name, 'ShapeError');
  }
});

test('reshape, ravel, flatten are views of row-major arrays and copy otherwise', () => {
  const x = ar(12).reshape(3, 4);
  assert.ok(shares(x.reshape(2, 6), x));
  assert.ok(shares(x.ravel(), x));
  assert.ok(shares(np.flatten(x), x));
  const t = x.transpose();
  eq(t.ravel(), [12], [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  assert.not.ok(shares(t.ravel(), x)); // a transposed view is not row-major: the data is copied
  eq(t.reshape(2, 6), [2, 6], [[0, 4, 8, 1, 5, 9], [2, 6, 10, 3, 7, 11]]);
  eq(np.ravel(np.array(3, 'int32')), [1], [3]);
  eq(np.ravel([[1, 2], [3, 4]]), [4], [1, 2, 3, 4], 'float32');
});

// ---------------------------------------------------------------- transpose / swapaxes / moveaxis

test('transpose: default reverses, explicit and negative axes, method forms', () => {
  const x = ar(24).reshape(2, 3, 4);
  const t = x.transpose();
  assert.equal(t.shape, [4, 3, 2]);
  eq(t.slice(1), [3, 2], [[1, 13], [5, 17], [9, 21]]);
  eq(np.transpose(x, [1, -1, 0]).slice(2), [4, 2], [[8, 20], [9, 21], [10, 22], [11, 23]]);
  eq(x.transpose(2, 0, 1).slice(':', 1, 2), [4], [20, 21, 22, 23]);
  eq(x.transpose([0, 2, 1]).slice(0), [4, 3], [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]);
  assert.is(x.transpose([0, 1, 2]), x); // identity permutation is a no-op
  eq(np.array(5, 'int32').transpose(), [], 5);
  eq(ar(3).transpose(), [3], [0, 1, 2]);
});

test('transpose, swapaxes and moveaxis share the buffer', () => {
  const x = ar(24).reshape(2, 3, 4);
  assert.ok(shares(x.transpose(), x));
  assert.ok(shares(x.swapaxes(0, 2), x));
  assert.ok(shares(x.moveaxis(0, -1), x));
});

test('transpose errors', () => {
  const x = ar(6).reshape(2, 3);
  assert.throws(() => x.transpose([0]), /transpose: axes \[0\] don't match an array of shape \[2,3\] \(expected 2 axes\)/);
  assert.throws(() => x.transpose([0, 0]), /transpose: repeated axis in \[0,0\]/);
  assert.throws(() => x.transpose([0, 2]), /transpose: axis 2 is out of bounds for an array of rank 2/);
  try {
    x.transpose([1, 1]);
  } catch (e) {
    assert.is((e as Error).name, 'AxisError');
  }
});

test('swapaxes', () => {
  const x = ar(6).reshape(1, 2, 3);
  eq(np.swapaxes(x, 0, 2), [3, 2, 1], [[[0], [3]], [[1], [4]], [[2], [5]]]);
  eq(x.swapaxes(-1, -2), [1, 3, 2], [[[0, 3], [1, 4], [2, 5]]]);
  assert.is(x.swapaxes(1, 1), x);
  assert.throws(() => x.swapaxes(0, 3), /swapaxes: axis 3 is out of bounds for an array of rank 3/);
});

test('moveaxis: single axes, lists, negative positions (NumPy)', () => {
  const x = np.zeros([3, 4, 5]);
  assert.equal(np.moveaxis(x, 0, -1).shape, [4, 5, 3]);
  assert.equal(np.moveaxis(x, -1, 0).shape, [5, 3, 4]);
  assert.equal(np.moveaxis(x, [0, 1], [-1, -2]).shape, [5, 4, 3]);
  assert.equal(np.moveaxis(x, [0, 2], [2, 0]).shape, [5, 4, 3]);
  assert.equal(np.moveaxis(x, [1, 0], [0, 2]).shape, [4, 5, 3]);
  const y = ar(6).reshape(2, 3);
  eq(y.moveaxis(1, 0), [3, 2], [[0, 3], [1, 4], [2, 5]]);
});

test('moveaxis errors', () => {
  const x = np.zeros([3, 4, 5]);
  assert.throws(() => np.moveaxis(x, [0, 1], [0]), /moveaxis: source \[0,1\] and destination \[0\] must have the same number of elements/);
  assert.throws(() => np.moveaxis(x, [0, 0], [1, 2]), /moveaxis: repeated axis in source \[0,0\]/);
  assert.throws(() => np.moveaxis(x, [0, 1], [2, -1]), /moveaxis: repeated axis in destination \[2,-1\]/);
  assert.throws(() => np.moveaxis(x, 3, 0), /moveaxis: axis 3 is out of bounds for an array of rank 3/);
});

// ---------------------------------------------------------------- expandDims / squeeze

test('expandDims: positions in the result, negative, several', () => {
  const x = ar(6).reshape(2, 3);
  assert.equal(np.expandDims(x, 0).shape, [1, 2, 3]);
  assert.equal(np.expandDims(x, -1).shape, [2, 3, 1]);
  assert.equal(np.expandDims(x, 1).shape, [2, 1, 3]);
  assert.equal(x.expandDims([0, -1]).shape, [1, 2, 3, 1]);
  assert.equal(x.expandDims([3, 0]).shape, [1, 2, 3, 1]);
  assert.equal(x.expandDims([1, 2]).shape, [2, 1, 1, 3]);
  eq(np.expandDims(np.array(4, 'int32'), 0), [1], [4]);
  eq(x.expandDims(1), [2, 1, 3], [[[0, 1, 2]], [[3, 4, 5]]]);
  assert.throws(() => x.expandDims(3), /expandDims: axis 3 is out of bounds for an array of rank 3/);
  assert.throws(() => x.expandDims([0, -4]), /expandDims: repeated axis in \[0,-4\]/);
});

test('squeeze: all size-1 dims, selected dims, errors', () => {
  const x = ar(6).reshape(1, 2, 1, 3, 1);
  assert.equal(np.squeeze(x).shape, [2, 3]);
  assert.equal(x.squeeze(0).shape, [2, 1, 3, 1]);
  assert.equal(x.squeeze([-1, 2]).shape, [1, 2, 3]);
  eq(x.squeeze(), [2, 3], [[0, 1, 2], [3, 4, 5]]);
  eq(np.squeeze(np.array([[[5]]], 'int32')), [], 5);
  eq(np.squeeze(np.array(5, 'int32')), [], 5);
  const y = ar(3);
  assert.is(y.squeeze(), y); // nothing to squeeze: the same value
  assert.throws(() => x.squeeze(1), /squeeze: cannot squeeze axis 1 of size 2 in shape \[1,2,1,3,1\]/);
  assert.throws(() => x.squeeze(5), /squeeze: axis 5 is out of bounds for an array of rank 5/);
  assert.throws(() => x.squeeze([0, 0]), /squeeze: repeated axis/);
});

test('expandDims and squeeze are views, also of non-contiguous arrays', () => {
  const x = ar(6).reshape(2, 3);
  const t = x.transpose();
  const e = t.expandDims(1);
  assert.ok(shares(e, x));
  eq(e, [3, 1, 2], [[[0, 3]], [[1, 4]], [[2, 5]]]);
  assert.ok(shares(e.squeeze(), x));
  eq(e.squeeze(), [3, 2], [[0, 3], [1, 4], [2, 5]]);
});

// ---------------------------------------------------------------- concatenate / stack

test('concatenate: axes, negative axis, axis null', () => {
  const a = ar(4).reshape(2, 2), b = np.array([[5, 6]], 'int32');
  eq(np.concatenate([a, b]), [3, 2], [[0, 1], [2, 3], [5, 6]]);
  eq(np.concatenate([a, b.transpose()], 1), [2, 3], [[0, 1, 5], [2, 3, 6]]);
  eq(np.concatenate([a, b.transpose()], -1), [2, 3], [[0, 1, 5], [2, 3, 6]]);
  eq(np.concatenate([a, b], null), [6], [0, 1, 2, 3, 5, 6]);
  eq(np.concatenate([np.array(1, 'int32'), np.array(2, 'int32')], null), [2], [1, 2]);
  eq(np.concatenate([a]), [2, 2], [[0, 1], [2, 3]]);
});

test('concatenate promotes dtypes (JAX lattice)', () => {
  const i = np.array([1, 2], 'int32'), f = np.array([0.5]), bo = np.array([true, false]), u = np.array([7], 'uint32');
  eq(np.concatenate([i, f]), [3], [1, 2, 0.5], 'float32');
  eq(np.concatenate([bo, i]), [4], [1, 0, 1, 2]);
  eq(np.concatenate([bo, bo]), [4], [true, false, true, false], 'bool');
  eq(np.concatenate([i, u]), [3], [1, 2, 7]);
  eq(np.concatenate([u, u]), [2], [7, 7], 'uint32');
  eq(np.concatenate([[1, 2], i]), [4], [1, 2, 1, 2], 'float32'); // nested JS lists are float32 arrays
});

test('concatenate with empty operands', () => {
  const e = np.zeros([0, 2], 'int32'), a = ar(4).reshape(2, 2);
  eq(np.concatenate([e, a, e]), [2, 2], [[0, 1], [2, 3]]);
  eq(np.concatenate([e, e]), [0, 2], []);
  eq(np.concatenate([a, np.zeros([2, 0], 'int32')], 1), [2, 2], [[0, 1], [2, 3]]);
  eq(np.concatenate([np.zeros([2, 0], 'int32'), a, np.zeros([2, 0], 'int32'), a], 1), [2, 4], [[0, 1, 0, 1], [2, 3, 2, 3]]);
});

test('concatenate of non-contiguous views (slice of a transpose, flips)', () => {
  const x = ar(6).reshape(2, 3);
  const v = x.transpose().slice('1:');
  eq(np.concatenate([v, x.flip(0).transpose().slice(':1')]), [3, 2], [[1, 4], [2, 5], [3, 0]]);
});

test('concatenate errors', () => {
  const a = ar(4).reshape(2, 2);
  assert.throws(() => np.concatenate([]), /concatenate: needs a non-empty list of arrays/);
  assert.throws(() => np.concatenate([np.array(1, 'int32'), np.array(2, 'int32')]), /concatenate: zero-dimensional arrays cannot be concatenated/);
  assert.throws(() => np.concatenate([a, ar(3).reshape(1, 3)]), /concatenate: shapes \[2,2\], \[1,3\] must match except along axis 0/);
  assert.throws(() => np.concatenate([a, ar(2)]), /concatenate: shapes \[2,2\], \[2\] must match except along axis 0/);
  assert.throws(() => np.concatenate([a, a], 2), /concatenate: axis 2 is out of bounds for an array of rank 2/);
});

test('stack: new axis at any position, promotion, 0-d inputs', () => {
  const a = ar(3), b = np.array([3, 4, 5], 'int32');
  eq(np.stack([a, b]), [2, 3], [[0, 1, 2], [3, 4, 5]]);
  eq(np.stack([a, b], 1), [3, 2], [[0, 3], [1, 4], [2, 5]]);
  eq(np.stack([a, b], -1), [3, 2], [[0, 3], [1, 4], [2, 5]]);
  eq(np.stack([np.array(1, 'int32'), np.array(2, 'int32')]), [2], [1, 2]);
  eq(np.stack([a, np.array([0.5, 1, 2])]), [2, 3], [[0, 1, 2], [0.5, 1, 2]], 'float32');
  eq(np.stack([np.zeros([0], 'int32'), np.zeros([0], 'int32')], 1), [0, 2], []);
});

test('stack errors', () => {
  assert.throws(() => np.stack([]), /stack: needs a non-empty list of arrays/);
  assert.throws(() => np.stack([ar(3), ar(4)]), /stack: all input arrays must have the same shape, got \[3\], \[4\]/);
  assert.throws(() => np.stack([ar(3), ar(3)], 2), /stack: axis 2 is out of bounds for an array of rank 2/);
});

// ---------------------------------------------------------------- split

test('split: equal sections along axes, views', () => {
  const x = ar(12).reshape(3, 4);
  const [a, b] = np.split(x, 2, 1);
  eq(a, [3, 2], [[0, 1], [4, 5], [8, 9]]);
  eq(b, [3, 2], [[2, 3], [6, 7], [10, 11]]);
  assert.ok(shares(a, x) && shares(b, x));
  const rows = np.split(x, 3);
  assert.is(rows.length, 3);
  eq(rows[2], [1, 4], [[8, 9, 10, 11]]);
  eq(np.split(x, 1, -1)[0], [3, 4], x.toNested());
  const es = np.split(np.zeros([0, 2], 'int32'), 3);
  assert.equal(es.map((e) => e.shape), [[0, 2], [0, 2], [0, 2]]);
});

test('split: split points (NumPy slice-bound semantics)', () => {
  const x = ar(5);
  assert.equal(np.split(x, [2, 3]).map((p) => p.toNested()), [[0, 1], [2], [3, 4]]);
  assert.equal(np.split(x, [-2]).map((p) => p.toNested()), [[0, 1, 2], [3, 4]]);
  assert.equal(np.split(x, [3, 1, 7]).map((p) => p.toNested()), [[0, 1, 2], [], [1, 2, 3, 4], []]);
  assert.equal(np.split(x, []).map((p) => p.toNested()), [[0, 1, 2, 3, 4]]);
  assert.equal(np.split(x, [0, 5]).map((p) => p.toNested()), [[], [0, 1, 2, 3, 4], []]);
  const y = ar(6).reshape(2, 3);
  assert.equal(np.split(y.transpose(), [1], 1).map((p) => p.toNested()), [[[0], [1], [2]], [[3], [4], [5]]]);
});

test('split errors', () => {
  assert.throws(() => np.split(ar(5), 2), /split: array split does not result in an equal division: axis 0 of size 5 into 2 sections/);
  assert.throws(() => np.split(ar(4), 0), /split: number of sections must be a positive integer, got 0/);
  assert.throws(() => np.split(ar(4), [1.5]), /split: split points must be integers/);
  assert.throws(() => np.split(np.array(1, 'int32'), 1), /split: cannot split a zero-dimensional array/);
  assert.throws(() => np.split(ar(4), 2, 1), /split: axis 1 is out of bounds for an array of rank 1/);
});

// ---------------------------------------------------------------- pad

test('pad constant: widths forms and constant values', () => {
  const x = ar(6).reshape(2, 3);
  eq(np.pad(ar(3), 1), [5], [0, 0, 1, 2, 0]);
  eq(np.pad(ar(3), [2, 1], { constantValue: 9 }), [6], [9, 9, 0, 1, 2, 9]);
  eq(np.pad(ar(3), [[1, 0]]), [4], [0, 0, 1, 2]);
  eq(np.pad(ar(3), [1]), [5], [0, 0, 1, 2, 0]);
  eq(x.pad([[1, 0], [0, 2]], { constantValue: -1 }), [3, 5], [[-1, -1, -1, -1, -1], [0, 1, 2, -1, -1], [3, 4, 5, -1, -1]]);
  eq(x.pad([1, 0]), [3, 4], [[0, 0, 0, 0], [0, 0, 1, 2], [0, 3, 4, 5]]);
  eq(np.pad(np.array([true, false]), 2, { constantValue: true }), [6], [true, true, true, false, true, true], 'bool');
  eq(np.pad(ar(2), 1, { constantValue: 2.7 }), [4], [2, 0, 1, 2]); // cast to the array's dtype
  eq(np.pad(np.array([1.5]), 1, { constantValue: np.array(-2) }), [3], [-2, 1.5, -2], 'float32');
  eq(np.pad(np.zeros([0], 'int32'), 2, { constantValue: 4 }), [4], [4, 4, 4, 4]);
  assert.is(x.pad(0), x);
});

test('pad edge, reflect, symmetric, wrap (NumPy values, widths beyond the axis)', () => {
  const x = ar(6).reshape(2, 3);
  eq(x.pad([[1, 0], [0, 2]], { mode: 'edge' }), [3, 5], [[0, 1, 2, 2, 2], [0, 1, 2, 2, 2], [3, 4, 5, 5, 5]]);
  eq(x.pad(1, { mode: 'reflect' }), [4, 5], [[4, 3, 4, 5, 4], [1, 0, 1, 2, 1], [4, 3, 4, 5, 4], [1, 0, 1, 2, 1]]);
  eq(x.pad([[0, 0], [2, 1]], { mode: 'wrap' }), [2, 6], [[1, 2, 0, 1, 2, 0], [4, 5, 3, 4, 5, 3]]);
  const a = np.array([1, 2, 3], 'int32');
  eq(a.pad([5, 6], { mode: 'reflect' }), [14], [2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1]);
  eq(a.pad([5, 6], { mode: 'symmetric' }), [14], [2, 3, 3, 2, 1, 1, 2, 3, 3, 2, 1, 1, 2, 3]);
  eq(a.pad([5, 6], { mode: 'wrap' }), [14], [2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
  eq(a.pad([5, 6], { mode: 'edge' }), [14], [1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3]);
  eq(np.array([7], 'int32').pad([2, 3], { mode: 'reflect' }), [6], [7, 7, 7, 7, 7, 7]);
  eq(np.array([7, 8], 'int32').pad([3, 4], { mode: 'reflect' }), [9], [8, 7, 8, 7, 8, 7, 8, 7, 8]);
  eq(np.array([true, false]).pad(1, { mode: 'edge' }), [4], [true, true, false, false], 'bool');
  eq(x.transpose().pad([[0, 0], [1, 0]], { mode: 'reflect' }), [3, 3], [[3, 0, 3], [4, 1, 4], [5, 2, 5]]);
  eq(np.zeros([0, 2], 'int32').pad([[0, 0], [1, 1]], { mode: 'edge' }), [0, 4], []);
});

test('pad errors', () => {
  const x = ar(6).reshape(2, 3);
  assert.throws(() => x.pad(-1), /pad: invalid padWidth -1 for an array of rank 2/);
  assert.throws(() => x.pad([[1, 1], [1, 1], [1, 1]]), /pad: invalid padWidth \[\[1,1\],\[1,1\],\[1,1\]\] for an array of rank 2/);
  assert.throws(() => x.pad([1, 2, 3]), /pad: invalid padWidth \[1,2,3\]/);
  assert.throws(() => x.pad([[1, 0.5], [0, 0]]), /pad: invalid padWidth/);
  assert.throws(() => x.pad(1, { mode: 'mean' as 'edge' }), /pad: unknown mode "mean"; expected 'constant', 'edge', 'reflect', 'symmetric' or 'wrap'/);
  assert.throws(() => np.zeros([0], 'int32').pad(1, { mode: 'reflect' }), /pad: can't extend empty axis 0 of shape \[0\] using mode 'reflect'/);
  assert.throws(() => x.pad(1, { constantValue: np.array([1, 2]) }), /pad: constantValue must be a scalar, got shape \[2\]/);
});

// ---------------------------------------------------------------- take / takeAlongAxis

test('take: flattened by default, axes, nested JS indices, index modes', () => {
  const x = ar(12).reshape(3, 4);
  eq(np.take(x, [0, 5, 11]), [3], [0, 5, 11]);
  eq(np.take(x, 7), [], 7);
  eq(x.take([[2, 0]], 0), [1, 2, 4], [[[8, 9, 10, 11], [0, 1, 2, 3]]]);
  eq(x.take(np.array([3, 1], 'int32'), -1), [3, 2], [[3, 1], [7, 5], [11, 9]]);
  eq(x.take(1, 1), [3], [1, 5, 9]);
  eq(x.take(Int32Array.from([1]), 0), [1, 4], [[4, 5, 6, 7]]);
  eq(x.take(np.array([2], 'uint32'), 0), [1, 4], [[8, 9, 10, 11]]);
  eq(x.take([], 1), [3, 0], [[], [], []]);
  // 'clamp' (default): negative counts from the end once, then clamp into range.
  eq(ar(5).take([-1, -5, -7, 5, 9]), [5], [4, 0, 0, 4, 4]);
  eq(ar(5).take([-1, -7, 7, 12], 0, 'wrap'), [4], [4, 3, 2, 2]);
  eq(ar(5).take([-1, -7, 7, 2], 0, 'clip'), [4], [0, 0, 4, 2]);
  eq(np.array([true, false]).take([1, 1, 0]), [3], [false, false, true], 'bool');
});

test('take of non-contiguous views', () => {
  const x = ar(6).reshape(2, 3).transpose(); // [[0,3],[1,4],[2,5]]
  eq(x.take([1], 1), [3, 1], [[3], [4], [5]]);
  eq(x.take([0, 5]), [2], [0, 5]); // flattening follows the logical (row-major) order
  eq(x.flip(0).take([0], 0), [1, 2], [[2, 5]]);
});

test('take errors', () => {
  const x = ar(6).reshape(2, 3);
  assert.throws(() => x.take(np.array([0.0, 1.0]), 0), /take: indices must be an integer array, got f32\[2\]/);
  assert.throws(() => x.take(np.array([true]), 0), /take: indices must be an integer array, got bool\[1\]/);
  assert.throws(() => x.take([0, 1.5], 0), /take: indices must be integers, got 1.5/);
  assert.throws(() => x.take([true] as unknown as number[], 0), /take: indices must be integers, got boolean/);
  assert.throws(() => x.take(0, 2), /take: axis 2 is out of bounds for an array of rank 2/);
  assert.throws(() => np.zeros([2, 0]).take([0], 1), /take: cannot take from an empty axis 1 of shape \[2,0\]/);
  assert.throws(() => x.take(0, 0, 'raise' as 'clip'), /take: unknown mode "raise"; expected 'clamp', 'wrap' or 'clip'/);
  try {
    x.take([0.5]);
  } catch (e) {
    assert.is((e as Error).name, 'DTypeError');
  }
});

test('takeAlongAxis: NumPy semantics with broadcasting and axis null', () => {
  const a = np.array([[10, 30, 20], [60, 40, 50]], 'int32');
  eq(np.takeAlongAxis(a, np.array([[0, 2, 1], [1, 2, 0]], 'int32'), 1), [2, 3], [[10, 20, 30], [40, 50, 60]]);
  eq(np.takeAlongAxis(a, [[1], [0]], 0), [2, 3], [[60, 40, 50], [10, 30, 20]]);
  eq(np.takeAlongAxis(a, [[-1, 0]], 1), [2, 2], [[20, 10], [50, 60]]); // the indices' size-1 row dim broadcasts
  eq(np.takeAlongAxis(np.array([[1, 2, 3]], 'int32'), [[0], [2], [1]], 1), [3, 1], [[1], [3], [2]]);
  eq(np.takeAlongAxis(a, [5, 0, -1], null), [3], [50, 10, 50]);
  eq(np.takeAlongAxis(a, np.zeros([2, 0], 'int32'), 1), [2, 0], [[], []]);
  eq(np.takeAlongAxis(a.transpose(), [[1, 0, 1]], 1), [3, 3], [[60, 10, 60], [40, 30, 40], [50, 20, 50]]);
  const x = ar(24).reshape(2, 3, 4);
  eq(np.takeAlongAxis(x, np.array([[[2]], [[0]]], 'int32'), 1), [2, 1, 4], [[[8, 9, 10, 11]], [[12, 13, 14, 15]]]);
});

test('takeAlongAxis errors', () => {
  const a = ar(6).reshape(2, 3);
  assert.throws(() => np.takeAlongAxis(a, [0, 1], 1), /takeAlongAxis: indices \[2\] and array \[2,3\] must have the same number of dimensions/);
  assert.throws(() => np.takeAlongAxis(a, [[0, 1]], null), /takeAlongAxis: with axis null the indices must be 1-D, got shape \[1,2\]/);
  assert.throws(() => np.takeAlongAxis(a, np.zeros([3, 1], 'int32'), 1), /takeAlongAxis: shapes \[2\], \[3\] cannot be broadcast together/);
  assert.throws(() => np.takeAlongAxis(a, np.zeros([2, 1]), 1), /takeAlongAxis: indices must be an integer array, got f32\[2,1\]/);
  assert.throws(() => np.takeAlongAxis(a, [[0]], 2), /takeAlongAxis: axis 2 is out of bounds for an array of rank 2/);
  assert.throws(() => np.takeAlongAxis(np.zeros([2, 0]), [[0], [0]], 1), /takeAlongAxis: cannot take from an empty axis 1 of shape \[2,0\]/);
});

// ---------------------------------------------------------------- tile / repeat / flip

test('tile: NumPy rank alignment', () => {
  eq(np.tile(ar(3), 2), [6], [0, 1, 2, 0, 1, 2]);
  eq(np.tile(ar(3), [2, 2]), [2, 6], [[0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 2]]);
  eq(np.tile(np.array([[1, 2]], 'int32'), [2, 1, 2]), [2, 1, 4], [[[1, 2, 1, 2]], [[1, 2, 1, 2]]]);
  eq(ar(4).reshape(2, 2).tile(2), [2, 4], [[0, 1, 0, 1], [2, 3, 2, 3]]);
  eq(ar(4).reshape(2, 2).tile([1, 1]), [2, 2], [[0, 1], [2, 3]]);
  eq(np.tile(ar(3), 0), [0], []);
  eq(np.tile(np.array(5, 'int32'), [2]), [2], [5, 5]);
  eq(np.tile(np.array([true, false]), 2), [4], [true, false, true, false], 'bool');
  eq(np.tile(ar(6).reshape(2, 3).transpose(), [1, 2]), [3, 4], [[0, 3, 0, 3], [1, 4, 1, 4], [2, 5, 2, 5]]);
  assert.throws(() => np.tile(ar(3), [-1]), /tile: reps must be non-negative integers, got \[-1\]/);
});

test('repeat: int and per-element counts, axes', () => {
  eq(np.repeat(ar(3), 2), [6], [0, 0, 1, 1, 2, 2]);
  eq(np.repeat(ar(4).reshape(2, 2), 2), [8], [0, 0, 1, 1, 2, 2, 3, 3]);
  eq(ar(4).reshape(2, 2).repeat(2, 1), [2, 4], [[0, 0, 1, 1], [2, 2, 3, 3]]);
  eq(np.repeat(np.array([[1, 2], [3, 4]], 'int32'), [1, 2], 0), [3, 2], [[1, 2], [3, 4], [3, 4]]);
  eq(np.repeat(ar(3), [1, 0, 2]), [3], [0, 2, 2]);
  eq(np.repeat(ar(3), [2]), [6], [0, 0, 1, 1, 2, 2]);
  eq(np.repeat(ar(3), np.array([0, 1, 2], 'int32')), [3], [1, 2, 2]);
  eq(np.repeat(ar(3), np.array(1, 'int32')), [3], [0, 1, 2]);
  eq(np.repeat(ar(3), 0), [0], []);
  eq(np.repeat(ar(4).reshape(2, 2), 3, -2), [6, 2], [[0, 1], [0, 1], [0, 1], [2, 3], [2, 3], [2, 3]]);
  eq(np.repeat(np.array(5, 'int32'), 2), [2], [5, 5]);
  eq(ar(6).reshape(2, 3).transpose().repeat([2, 0, 1], 0), [3, 2], [[0, 3], [0, 3], [2, 5]]);
});

test('repeat errors', () => {
  assert.throws(() => np.repeat(ar(3), [1, 2]), /repeat: repeats has length 2 but axis 0 of shape \[3\] has size 3/);
  assert.throws(() => np.repeat(ar(3), -1), /repeat: repeats must be non-negative integers, got \[-1\]/);
  assert.throws(() => np.repeat(ar(3), [1, -1, 0]), /repeat: repeats must be non-negative integers, got \[1,-1,0\]/);
  assert.throws(() => np.repeat(ar(3), np.array([1, 1, 1])), /repeat: repeats must be integers, got f32\[3\]/);
  assert.throws(() => np.repeat(ar(3), 1, 1), /repeat: axis 1 is out of bounds for an array of rank 1/);
});

test('flip: all axes, some axes, views', () => {
  const x = ar(6).reshape(2, 3);
  eq(np.flip(x), [2, 3], [[5, 4, 3], [2, 1, 0]]);
  eq(x.flip(1), [2, 3], [[2, 1, 0], [5, 4, 3]]);
  eq(x.flip(-2), [2, 3], [[3, 4, 5], [0, 1, 2]]);
  eq(x.flip([0, 1]), [2, 3], [[5, 4, 3], [2, 1, 0]]);
  assert.ok(shares(x.flip(), x));
  const s = x.slice(':', '1:');
  const fs = s.flip(1); // flip of a slice: still a view
  assert.ok(shares(fs, x));
  eq(fs, [2, 2], [[2, 1], [5, 4]]);
  eq(np.flip(np.zeros([0, 2], 'int32'), 0), [0, 2], []);
  eq(np.flip(np.array(3, 'int32')), [], 3);
  eq(np.array([true, false, false]).flip(), [3], [false, false, true], 'bool');
  assert.throws(() => x.flip(2), /flip: axis 2 is out of bounds for an array of rank 2/);
  assert.throws(() => x.flip([1, -1]), /flip: repeated axis in \[1,-1\]/);
});

test('the methods record installs every shape method', () => {
  const x = ar(6);
  for (const m of ['reshape', 'transpose', 'swapaxes', 'moveaxis', 'expandDims', 'squeeze', 'ravel', 'flatten', 'take', 'flip', 'tile', 'repeat', 'pad'])
    assert.type((x as unknown as Record<string, unknown>)[m], 'function', m);
  eq(x.reshape(2, 3).transpose(1, 0).flip(0).ravel(), [6], [2, 5, 1, 4, 0, 3]);
});

test.run();
