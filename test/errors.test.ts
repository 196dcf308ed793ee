/**
 * Errors are part of the API: bad input raises the documented error class with a message that
 * starts with the operation's name and names the shapes, axes, dtypes or values involved
 * (`matmul: contracting dims differ: [2,3] @ [4,5]`). Everything goes through the public API.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AxisError, DTypeError, IndexError, ShapeError, ValueError, lax, np, random, tree } from '../src/index.js';
import { assertThrows } from './helpers.js';

const x23 = () => np.ones([2, 3]);

// ---------------------------------------------------------------- shapes

test('broadcasting: np.add of incompatible shapes names the op and both shapes', () => {
  assertThrows(() => np.add(x23(), np.ones([4])), ShapeError, /^add: /, /\[2,3\]/, /\[4\]/, /broadcast/);
  assertThrows(() => np.add(x23(), np.ones([3, 2])), ShapeError, /^add: /, /\[2,3\]/, /\[3,2\]/);
  assertThrows(() => x23().add(np.ones([4])), ShapeError, /^add: .*\[2,3\].*\[4\]/);
});

test('matmul: a contracting mismatch names both shapes', () => {
  assertThrows(() => np.matmul(np.ones([2, 3]), np.ones([4, 5])), ShapeError, /^matmul: contracting dims differ: \[2,3\] @ \[4,5\]/);
  assertThrows(() => np.matmul(np.ones([3]), np.ones([4])), ShapeError, /^matmul: .*\[3\] @ \[4\]/);
});

test('reshape: a size mismatch names the shape, its size and the target', () => {
  const want = /^reshape: cannot reshape array of shape \[2,3\] \(size 6\) into shape \[4\]/;
  assertThrows(() => np.reshape(x23(), [4]), ShapeError, want);
  assertThrows(() => x23().reshape([4]), ShapeError, want);
  assertThrows(() => lax.reshape(x23(), [4]), ShapeError, want);
});

test('squeeze: a non-1 axis names the axis, its size and the shape', () => {
  assertThrows(() => np.squeeze(x23(), 1), ShapeError, /^squeeze: /, /axis 1/, /size 3/, /\[2,3\]/);
  assertThrows(() => np.squeeze(np.ones([2, 1, 3]), -1), ShapeError, /^squeeze: /, /size 3/, /\[2,1,3\]/);
});

test('concatenate: operands that differ off the axis name both shapes', () => {
  assertThrows(() => np.concatenate([x23(), np.ones([2, 4])], 0), ShapeError, /^concatenate: /, /\[2,3\]/, /\[2,4\]/);
  assertThrows(() => lax.concatenate([x23(), np.ones([2, 4])], 0), ShapeError, /^concatenate: /, /\[2,3\]/, /\[2,4\]/);
});

test('convGeneralDilated: a channel mismatch is a ShapeError naming both shapes', () => {
  const e = assertThrows(
    () => lax.convGeneralDilated(np.ones([1, 3, 5, 5]), np.ones([2, 4, 3, 3]), [1, 1], 'VALID'),
    ShapeError,
    /^conv(_general_dilated|GeneralDilated): /,
    /\[1,3,5,5\]/,
    /\[2,4,3,3\]/,
  );
  assert.match(e.message, /channel|feature/);
});

// ---------------------------------------------------------------- axes

/** [operation, call with an out-of-range axis, the axis, the rank reported]. */
const AXIS_CASES: [string, () => unknown, number, number][] = [
  ['sum', () => np.sum(x23(), 2), 2, 2],
  ['sum', () => np.sum(x23(), -3), -3, 2],
  ['sum', () => x23().sum({ axis: 2 }), 2, 2],
  ['mean', () => np.mean(x23(), 5), 5, 2],
  ['mean', () => np.mean(x23(), { axis: -4 }), -4, 2],
  ['argmax', () => np.argmax(x23(), { axis: 2 }), 2, 2],
  ['argmax', () => np.argmax(x23(), { axis: -3 }), -3, 2],
  ['argmax', () => lax.argmax(x23(), 2), 2, 2],
  ['concatenate', () => np.concatenate([x23(), x23()], 2), 2, 2],
  ['concatenate', () => np.concatenate([x23(), x23()], -3), -3, 2],
  ['concatenate', () => lax.concatenate([np.ones([2]), np.ones([2])], 1), 1, 1],
  ['expandDims', () => np.expandDims(x23(), 3), 3, 3],
  ['expandDims', () => np.expandDims(x23(), -4), -4, 3],
  ['moveaxis', () => np.moveaxis(x23(), 2, 0), 2, 2],
  ['moveaxis', () => np.moveaxis(x23(), 0, -3), -3, 2],
];

test('axis out of range: sum / mean / argmax / concatenate / expandDims / moveaxis, positive and negative', () => {
  for (const [op, fn, axis, rank] of AXIS_CASES)
    assertThrows(fn, AxisError, new RegExp(`^${op}: axis ${axis} is out of bounds for an array of rank ${rank}`));
});

test('repeated axes name the operation and the axes given', () => {
  assertThrows(() => np.sum(x23(), [0, 0]), AxisError, /^sum: repeated axis in \[0,0\]/);
  assertThrows(() => np.sum(x23(), [1, -1]), AxisError, /^sum: repeated axis in \[1,-1\]/);
  assertThrows(() => np.mean(x23(), [0, -2]), AxisError, /^mean: repeated axis in \[0,-2\]/);
  assertThrows(() => np.transpose(x23(), [0, 0]), AxisError, /^transpose: repeated axis in \[0,0\]/);
  assertThrows(() => np.moveaxis(x23(), [0, 0], [0, 1]), AxisError, /^moveaxis: repeated axis in source \[0,0\]/);
});

// ---------------------------------------------------------------- dtypes

test('dtype misuse: shifts of floats, mixed lax dtypes, bitcast of bool, float indices', () => {
  assertThrows(() => lax.shiftLeft(np.ones([2]), np.ones([2])), DTypeError, /^(shift_left|shiftLeft): /, /integer/, /f32\[2\]/);
  assertThrows(() => lax.add(np.ones([2]), np.ones([2], 'int32')), DTypeError, /^add: /, /float32/, /int32/);
  assertThrows(() => lax.bitcastConvertType(np.array([true, false]), 'int32'), DTypeError, /^(bitcast_convert_type|bitcastConvertType): /, /bool/);
  assertThrows(() => np.take(np.ones([3]), np.array([0.5, 1])), DTypeError, /^take: indices must be an integer array, got f32\[2\]/);
});

test('unknown dtype strings name the operation, the dtype and the choices', () => {
  assertThrows(() => np.array([1, 2], 'float16' as never), DTypeError, /^array: unknown dtype "float16"/, /float32, int32, uint32, bool/);
  assertThrows(() => np.zeros([2], 'float64' as never), DTypeError, /^(zeros|full): unknown dtype "float64"/);
  assertThrows(() => lax.convertElementType(np.ones([2]), 'int8' as never), DTypeError, /^convertElementType: unknown dtype "int8"/);
});

// ---------------------------------------------------------------- values and indices

test('np.array: ragged nesting and non-numeric elements name the element', () => {
  assertThrows(() => np.array([[1, 2], [3]]), ValueError, /^array: ragged nested array/, /\[1\]/, /length 1/, /expected length 2/);
  assertThrows(() => np.array([1, 'a'] as never), ValueError, /^array: element \[1\] is string/);
  assertThrows(() => np.array([[1, 2], [3, {}]] as never), ValueError, /^array: element \[1\]\[1\] is object/);
  assertThrows(() => np.array([1, undefined] as never), ValueError, /^array: element \[1\] is undefined/);
});

test('slices out of range name the index, the axis and its size', () => {
  assertThrows(() => np.arange(5).slice(7), IndexError, /^slice: index 7 is out of bounds for axis 0 with size 5/);
  assertThrows(() => np.arange(5).slice(-6), IndexError, /^slice: index -6 is out of bounds for axis 0 with size 5/);
  assertThrows(() => x23().slice(0, 3), IndexError, /^slice: index 3 is out of bounds for axis 1 with size 3/);
  assertThrows(() => lax.slice(np.arange(5), [2], [7]), ShapeError, /^slice: /, /\[7\]/, /\[5\]/);
});

test('quantile / percentile: q out of range names the range and the value', () => {
  const x = np.arange(5).astype('float32');
  assertThrows(() => np.quantile(x, 1.5), ValueError, /^quantile: q must be in the range \[0, 1\], got 1\.5/);
  assertThrows(() => np.quantile(x, [-0.1, 0.5]), ValueError, /^quantile: q must be in the range \[0, 1\], got -0\.1/);
  assertThrows(() => np.percentile(x, 101), ValueError, /^percentile: q must be in the range \[0, 100\], got 101/);
});

// ---------------------------------------------------------------- random and trees

test('random.split of a non-key names the function and what it got', () => {
  assertThrows(() => random.split(np.array([1, 2, 3])), DTypeError, /^random\.split: /, /uint32/, /f32\[3\]/);
  assertThrows(() => random.split(np.array([1, 2, 3], 'uint32')), ShapeError, /^random\.split: /, /shape \[3\]/);
  assertThrows(() => random.split(np.array(3, 'uint32')), ShapeError, /^random\.split: /, /shape \[\]/);
  assertThrows(() => random.split(5 as never), ValueError, /^random\.split: expected a PRNG key/, /number/);
});

test('tree.unflatten: a leaf count mismatch names both counts', () => {
  const def = tree.structure({ a: 1, b: [2, 3] });
  assertThrows(() => tree.unflatten(def, [1, 2]), Error, /^tree\.unflatten: expected 3 leaves, got 2/);
  assertThrows(() => tree.unflatten(def, [1, 2, 3, 4]), Error, /^tree\.unflatten: expected 3 leaves, got 4/);
});

test.run();
