/** Primitive-level tests (lax semantics, bound directly): edge cases of each family. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scalar } from '../src/core/numpy/convert.js';
import { bind, bind1 } from '../src/core/trace/trace.js';
import { np } from '../src/index.js';

const f = (v: unknown, shape?: number[]) => (shape ? np.array(v as number[]).reshape(shape) : np.array(v as number[]));
const i32 = (v: number[] | number) => (typeof v === 'number' ? scalar(v, 'int32') : np.array(v, 'int32'));

test('pad: low/high/interior and negative (cropping) padding', () => {
  const x = f([1, 2, 3]);
  const pad = (config: [number, number, number][]) => bind1('pad', [x, scalar(0, 'float32')], { config }).toNested();
  assert.equal(pad([[1, 2, 0]]), [0, 1, 2, 3, 0, 0]);
  assert.equal(pad([[0, 0, 1]]), [1, 0, 2, 0, 3]);
  assert.equal(pad([[-1, 1, 1]]), [0, 2, 0, 3, 0]);
  assert.equal(pad([[-1, -2, 0]]), []);
  assert.throws(() => pad([[-3, -1, 0]]), /pad: negative output shape \[-1\]/);
  const m = bind1('pad', [f([1, 2, 3, 4], [2, 2]), scalar(9, 'float32')], { config: [[1, 0, 0], [0, 1, 1]] });
  assert.equal(m.toNested(), [[9, 9, 9, 9], [1, 9, 2, 9], [3, 9, 4, 9]]);
});

test('concatenate with empty operands and bool dtype', () => {
  const c = bind1('concatenate', [f([1, 2]), np.zeros([0]), f([3])], { dimension: 0 });
  assert.equal(c.toNested(), [1, 2, 3]);
  const b = bind1('concatenate', [np.array([true]), np.array([false, true])], { dimension: 0 });
  assert.equal(b.toNested(), [true, false, true]);
  assert.throws(() => bind1('concatenate', [f([1]), np.array([1], 'int32')], { dimension: 0 }), /concatenate: operand dtypes differ: float32, int32/);
  assert.throws(() => bind1('concatenate', [f([1, 2], [1, 2]), f([1, 2, 3], [1, 3])], { dimension: 0 }), /differ outside dimension 0/);
});

test('gather wraps negative indices and clamps out-of-range ones; scatter_add accumulates duplicates', () => {
  const x = f([10, 20, 30, 40, 50, 60], [2, 3]);
  assert.equal(bind1('gather', [x, i32([2, -1, 7, 0])], { axis: 1 }).toNested(), [[30, 30, 30, 10], [60, 60, 60, 40]]);
  assert.equal(bind1('gather', [x, np.array([[1], [0]], 'int32')], { axis: 0 }).toNested(), [[[40, 50, 60]], [[10, 20, 30]]]);
  const s = bind1('scatter_add', [np.zeros([4]), i32([1, 1, 3, -1]), f([1, 2, 3, 4])], { axis: 0 });
  assert.equal(s.toNested(), [0, 3, 0, 7]);
  assert.throws(() => bind1('gather', [x, f([0])], { axis: 0 }), /gather: indices must be int32, got f32\[1\]/);
  assert.throws(() => bind1('scatter_add', [np.zeros([4]), i32([1]), f([1, 2])], { axis: 0 }), /updates shape \[2\] must be \[1\]/);
});

test('dynamic_slice clamps starts so the slice fits; dynamic_update_slice likewise', () => {
  const x = np.arange(10).astype('float32');
  assert.equal(bind1('dynamic_slice', [x, i32(8)], { sliceSizes: [3] }).toNested(), [7, 8, 9]);
  assert.equal(bind1('dynamic_slice', [x, i32(-4)], { sliceSizes: [2] }).toNested(), [0, 1]);
  const u = bind1('dynamic_update_slice', [np.zeros([2, 4]), f([1, 2], [1, 2]), i32(5), i32(1)], {});
  assert.equal(u.toNested(), [[0, 0, 0, 0], [0, 1, 2, 0]]);
  assert.throws(() => bind1('dynamic_slice', [x, f(1 as never)], { sliceSizes: [3] }), /start indices must be int32 scalars/);
  assert.throws(() => bind1('dynamic_slice', [x, i32(0)], { sliceSizes: [11] }), /slice sizes \[11\] do not fit operand \[10\]/);
});

test('select_n with bool and int32 predicates; iota; bitcast', () => {
  const a = f([1, 2, 3]), b = f([10, 20, 30]), c = f([100, 200, 300]);
  assert.equal(bind1('select_n', [np.array([true, false, true]), a, b], {}).toNested(), [10, 2, 30]);
  assert.equal(bind1('select_n', [i32([2, 0, 1]), a, b, c], {}).toNested(), [100, 2, 30]);
  assert.equal(bind1('iota', [], { dtype: 'int32', shape: [2, 3], dimension: 1 }).toNested(), [[0, 1, 2], [0, 1, 2]]);
  assert.equal(bind1('bitcast_convert_type', [f([1, -2])], { newDtype: 'uint32' }).toNested(), [0x3f800000, 0xc0000000]);
  assert.throws(() => bind1('select_n', [np.array([true, false]), a, b], {}), /predicate shape \[2\] must be scalar or equal/);
});

test('zero-size operands flow through elementwise, reductions and movement', () => {
  const e = np.zeros([0, 3]);
  assert.equal(e.add(1).shape, [0, 3]);
  assert.equal(bind1('reduce_sum', [e], { axes: [0] }).toNested(), [0, 0, 0]);
  assert.equal(bind1('reduce_max', [e], { axes: [0] }).toNested(), [-Infinity, -Infinity, -Infinity]);
  assert.equal(bind1('transpose', [e], { permutation: [1, 0] }).shape, [3, 0]);
  assert.equal(bind1('rev', [e], { dimensions: [0] }).shape, [0, 3]);
  assert.throws(() => bind1('argmax', [e], { axis: 0, indexDtype: 'int32' }), /argmax: attempt to get argmax of an empty axis 0/);
});

test('slice with strides, rev and broadcast_in_dim on non-contiguous views', () => {
  const x = np.arange(12).astype('float32').reshape([3, 4]);
  const t = bind1('transpose', [x], { permutation: [1, 0] }); // [4,3] view
  const s = bind1('slice', [t, ], { startIndices: [1, 0], limitIndices: [4, 3], strides: [2, 2] });
  assert.equal(s.toNested(), [[1, 9], [3, 11]]);
  const r = bind1('rev', [s], { dimensions: [0, 1] });
  assert.equal(r.toNested(), [[11, 3], [9, 1]]);
  assert.equal(r.mul(2).toNested(), [[22, 6], [18, 2]]);
  const bc = bind1('broadcast_in_dim', [r], { shape: [2, 2, 2], broadcastDimensions: [0, 2] });
  assert.equal(bc.toNested(), [[[11, 3], [11, 3]], [[9, 1], [9, 1]]]);
  assert.throws(() => bind1('broadcast_in_dim', [x], { shape: [3, 5], broadcastDimensions: [0, 1] }), /broadcast_in_dim: cannot broadcast \[3,4\] to \[3,5\]/);
  assert.throws(() => bind1('slice', [x], { startIndices: [0, 0], limitIndices: [4, 4], strides: [1, 1] }), /slice: invalid start \[0,0\], limit \[4,4\]/);
  assert.throws(() => bind1('transpose', [x], { permutation: [0, 0] }), /transpose: permutation \[0,0\] is not a permutation/);
});

test('elementwise ops check dtypes and shapes at the lax level', () => {
  assert.throws(() => bind1('add', [f([1, 2]), f([1, 2, 3])], {}), /add: operand shapes must be equal, got \[2\] and \[3\]/);
  assert.throws(() => bind1('add', [f([1]), i32([1])], {}), /add: operand dtypes must be equal, got float32 and int32/);
  assert.throws(() => bind1('exp', [i32([1])], {}), /exp: expected a float32 array, got i32\[1\]/);
  assert.throws(() => bind1('shift_left', [f([1]), f([1])], {}), /shift_left: expected an integer array/);
});

test('cumulative scans, sort and threefry through the primitive table', () => {
  const x = f([3, 1, 2, 5], [2, 2]);
  assert.equal(bind1('cumsum', [x], { axis: 0, reverse: false }).toNested(), [[3, 1], [5, 6]]);
  assert.equal(bind1('cummax', [x], { axis: 1, reverse: true }).toNested(), [[3, 1], [5, 5]]);
  const [k, v] = bind('sort', [f([3, NaN, 1, 1]), i32([0, 1, 2, 3])], { dimension: 0, numOperands: 2 });
  assert.equal(k.toNested(), [1, 1, 3, NaN]);
  assert.equal(v.toNested(), [2, 3, 0, 1]);
  const u = (n: number) => np.array([n], 'uint32');
  // Random123 known-answer vector (all zeros)
  const [y0, y1] = bind('threefry2x32', [u(0), u(0), u(0), u(0)], {});
  assert.equal([y0.item(), y1.item()], [0x6b200159, 0x99ba4efe]);
});

test.run();
