/** formatArray / formatScalar against outputs of NumPy 2.4 (`repr`, JAX-style dtype suffix). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatArray, formatScalar } from '../src/core/format';

const range = (n: number, scale = 1): number[] => Array.from({ length: n }, (_, i) => i * scale);

test('2-D float32', () => {
  assert.is(formatArray([1, 2, 3, 4], [2, 2], 'float32'), 'Array([[1., 2.],\n       [3., 4.]], dtype=float32)');
});

test('0-d arrays', () => {
  assert.is(formatArray([3], [], 'int32'), 'Array(3, dtype=int32)');
  assert.is(formatArray([2.5], [], 'float32'), 'Array(2.5, dtype=float32)');
  assert.is(formatArray([1e-5], [], 'float32'), 'Array(1.e-05, dtype=float32)');
  assert.is(formatArray([1], [], 'bool'), 'Array(True, dtype=bool)');
  assert.is(formatArray([NaN], [], 'float32'), 'Array(nan, dtype=float32)');
});

test('bool pads True to the width of False', () => {
  assert.is(formatArray([1, 0], [2], 'bool'), 'Array([ True, False], dtype=bool)');
  assert.is(formatArray([1, 1, 0, 1], [2, 2], 'bool'), 'Array([[ True,  True],\n       [False,  True]], dtype=bool)');
});

test('empty arrays show their shape', () => {
  assert.is(formatArray([], [0], 'float32'), 'Array([], shape=(0,), dtype=float32)');
  assert.is(formatArray([], [2, 0], 'int32'), 'Array([], shape=(2, 0), dtype=int32)');
});

test('integers are right-aligned', () => {
  assert.is(formatArray([-5, 120, 7], [3], 'int32'), 'Array([ -5, 120,   7], dtype=int32)');
  assert.is(formatArray([4000000000, 1], [2], 'uint32'), 'Array([4000000000,          1], dtype=uint32)');
});

test('positional floats use shortest float32 digits', () => {
  assert.is(formatArray([0.1, 0.25, -3.5], [3], 'float32'), 'Array([ 0.1 ,  0.25, -3.5 ], dtype=float32)');
  assert.is(formatArray([1 / 3, 100], [2], 'float32'), 'Array([  0.33333334, 100.        ], dtype=float32)');
  // 0.001953125 rounds half-to-even at 8 decimals.
  assert.is(formatArray([0.001953125], [1], 'float32'), 'Array([0.00195312], dtype=float32)');
});

test('scientific notation for wide ranges and large values', () => {
  assert.is(formatArray([1e-5, 1e5], [2], 'float32'), 'Array([1.e-05, 1.e+05], dtype=float32)');
  assert.is(formatArray([1.5e-5, 2e6, -3.25], [3], 'float32'), 'Array([ 1.50e-05,  2.00e+06, -3.25e+00], dtype=float32)');
  assert.is(formatArray([1e7], [1], 'float32'), 'Array([1.e+07], dtype=float32)');
});

test('nan and inf', () => {
  assert.is(formatArray([NaN, -Infinity, 1.5], [3], 'float32'), 'Array([ nan, -inf,  1.5], dtype=float32)');
});

test('3-D nesting adds blank lines between blocks', () => {
  assert.is(
    formatArray(range(8), [2, 2, 2], 'int32'),
    'Array([[[0, 1],\n        [2, 3]],\n\n       [[4, 5],\n        [6, 7]]], dtype=int32)',
  );
});

test('long rows wrap at 75 columns', () => {
  assert.is(
    formatArray(range(20), [20], 'float32'),
    'Array([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12.,\n' +
      '       13., 14., 15., 16., 17., 18., 19.], dtype=float32)',
  );
});

test('summarisation above 1000 elements', () => {
  assert.is(
    formatArray(range(2000), [2000], 'float32'),
    'Array([0.000e+00, 1.000e+00, 2.000e+00, ..., 1.997e+03, 1.998e+03,\n' +
      '       1.999e+03], shape=(2000,), dtype=float32)',
  );
  assert.is(
    formatArray(range(3000), [3, 1000], 'int32'),
    'Array([[   0,    1,    2, ...,  997,  998,  999],\n' +
      '       [1000, 1001, 1002, ..., 1997, 1998, 1999],\n' +
      '       [2000, 2001, 2002, ..., 2997, 2998, 2999]],\n' +
      '      shape=(3, 1000), dtype=int32)',
  );
});

test('formatScalar matches 0-d bodies', () => {
  assert.is(formatScalar(3, 'float32'), '3.');
  assert.is(formatScalar(0.1, 'float32'), '0.1');
  assert.is(formatScalar(-7, 'int32'), '-7');
  assert.is(formatScalar(0, 'bool'), 'False');
  assert.is(formatScalar(-Infinity, 'float32'), '-inf');
  assert.is(formatScalar(1e-5, 'float32'), '1.e-05');
});

test('too little data throws', () => {
  assert.throws(() => formatArray([1, 2], [3], 'float32'), /needs 3 elements/);
});

test.run();
