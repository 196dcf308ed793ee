/** NumPy basic indexing `x.slice(...)` against hand-checked NumPy 2.4 results, error messages and zero-copy views. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IndexError, np, NDArray, type Array as Value } from '../src/index.js';

const ar = (n: number) => np.arange(n, undefined, 1, 'int32');
const rec = (y: Value) => ({ shape: [...y.shape], dtype: y.dtype, v: y.toNested() });
const eq = (y: Value, shape: number[], v: unknown, dtype = 'int32') => assert.equal(rec(y), { shape, dtype, v });
const shares = (y: Value, x: Value) => (y as NDArray).buffer === (x as NDArray).buffer;
const x1 = ar(10);
const x3 = ar(24).reshape(2, 3, 4);

test('integers: positive, negative, remove the axis', () => {
  eq(x1.slice(3), [], 3);
  eq(x1.slice(-1), [], 9);
  eq(x1.slice(-10), [], 0);
  eq(x3.slice(1), [3, 4], [[12, 13, 14, 15], [16, 17, 18, 19], [20, 21, 22, 23]]);
  eq(x3.slice(1, -1), [4], [20, 21, 22, 23]);
  eq(x3.slice(0, 2, 3), [], 11);
  eq(x3.slice('-1', '0'), [4], [12, 13, 14, 15]); // integer strings are integers
});

test('string slices: start:stop:step with Python defaults', () => {
  eq(x1.slice('2:5'), [3], [2, 3, 4]);
  eq(x1.slice('1:8:2'), [4], [1, 3, 5, 7]);
  eq(x1.slice(':3'), [3], [0, 1, 2]);
  eq(x1.slice('7:'), [3], [7, 8, 9]);
  eq(x1.slice('::3'), [4], [0, 3, 6, 9]);
  eq(x1.slice(':'), [10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  eq(x1.slice('::'), [10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  eq(x1.slice(' 1 : 3 '), [2], [1, 2]);
  eq(x1.slice('-3:'), [3], [7, 8, 9]);
  eq(x1.slice(':-7'), [3], [0, 1, 2]);
  eq(x1.slice('-4:-1:2'), [2], [6, 8]);
});

test('negative steps (NumPy values)', () => {
  eq(x1.slice('::-1'), [10], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  eq(x1.slice('::-3'), [4], [9, 6, 3, 0]);
  eq(x1.slice('7:2:-2'), [3], [7, 5, 3]);
  eq(x1.slice('8::-3'), [3], [8, 5, 2]);
  eq(x1.slice(':4:-1'), [5], [9, 8, 7, 6, 5]);
  eq(x1.slice('-2:-5:-1'), [3], [8, 7, 6]);
  eq(x1.slice('100:-100:-4'), [3], [9, 5, 1]);
  eq(x1.slice('3:2:-1'), [1], [3]);
  eq(x1.slice('0::-1'), [1], [0]);
  eq(x1.slice('-100::-1'), [0], []);
  eq(x1.slice('2:5:-1'), [0], []);
  eq(x3.slice('::-1', '::-2', '1::-1'), [2, 2, 2], [[[21, 20], [13, 12]], [[9, 8], [1, 0]]]);
});

test('clamping and empty results', () => {
  eq(x1.slice('5:100'), [5], [5, 6, 7, 8, 9]);
  eq(x1.slice('-100:2'), [2], [0, 1]);
  eq(x1.slice('8:3'), [0], []);
  eq(x1.slice('20:30'), [0], []);
  eq(x1.slice('3:3'), [0], []);
  eq(x1.slice('-1:-2'), [0], []);
  eq(x3.slice(':', '2:1'), [2, 0, 4], [[], []]);
  eq(x3.slice('5:', 0), [0, 4], []);
});

test('object slices { start, stop, step } with null and missing fields', () => {
  eq(x1.slice({ start: 2, stop: 8, step: 3 }), [2], [2, 5]);
  eq(x1.slice({ step: -4 }), [3], [9, 5, 1]);
  eq(x1.slice({ start: -2 }), [2], [8, 9]);
  eq(x1.slice({ stop: 2 }), [2], [0, 1]);
  eq(x1.slice({ start: null, stop: null, step: null }), [10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  eq(x1.slice({}), [10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('ellipsis and trailing axes', () => {
  eq(x3.slice('...', 1), [2, 3], [[1, 5, 9], [13, 17, 21]]);
  eq(x3.slice(1, '...'), [3, 4], [[12, 13, 14, 15], [16, 17, 18, 19], [20, 21, 22, 23]]);
  eq(x3.slice(0, '...', '::3'), [3, 2], [[0, 3], [4, 7], [8, 11]]);
  eq(x3.slice(0, 1, 2, '...'), [], 6);
  eq(x3.slice('...'), [2, 3, 4], x3.toNested());
  eq(x3.slice(-1, '1:'), [2, 4], [[16, 17, 18, 19], [20, 21, 22, 23]]);
  eq(x3.slice(), [2, 3, 4], x3.toNested());
});

test('null inserts new axes anywhere', () => {
  eq(x1.slice(null), [1, 10], [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  eq(x1.slice('2:4', null), [2, 1], [[2], [3]]);
  assert.equal(x1.slice(null, '...', null).shape, [1, 10, 1]);
  assert.equal(x3.slice(null, 0, null, '...', null, 1).shape, [1, 1, 3, 1]);
  assert.equal(x3.slice('...', null).shape, [2, 3, 4, 1]);
  eq(np.array(5, 'int32').slice(null, null), [1, 1], [[5]]);
  eq(np.array(5, 'int32').slice('...'), [], 5);
  eq(np.array(5, 'int32').slice(), [], 5);
});

test('size-1 and empty dims', () => {
  const s = ar(3).reshape(1, 3, 1);
  eq(s.slice(0, '::-1', 0), [3], [2, 1, 0]);
  eq(s.slice('::-1', 1, '...'), [1, 1], [[1]]);
  eq(s.slice(-1, ':', -1), [3], [0, 1, 2]);
  const e = np.zeros([0, 3], 'int32');
  eq(e.slice(':', 1), [0], []);
  eq(e.slice('::-1', '::-1'), [0, 3], []);
  eq(e.slice('1:5'), [0, 3], []);
});

test('int, bool and float dtypes', () => {
  eq(np.array([true, false, true]).slice('::-1'), [3], [true, false, true], 'bool');
  eq(np.array([true, false, false]).slice(0), [], true, 'bool');
  eq(np.array([0.5, 1.5, 2.5]).slice('1:'), [2], [1.5, 2.5], 'float32');
  eq(np.array([1, 2, 3], 'uint32').slice(-1), [], 3, 'uint32');
});

test('non-contiguous inputs: slice of a transpose, slice of a flip, slice of a slice', () => {
  const x = ar(12).reshape(3, 4);
  const t = x.transpose(); // [[0,4,8],[1,5,9],[2,6,10],[3,7,11]]
  eq(t.slice('1:3', '::-1'), [2, 3], [[9, 5, 1], [10, 6, 2]]);
  eq(t.slice(-1), [3], [3, 7, 11]);
  const f = x.flip(1); // [[3,2,1,0],[7,6,5,4],[11,10,9,8]]
  eq(f.slice(':', '1::2'), [3, 2], [[2, 0], [6, 4], [10, 8]]);
  eq(f.slice('::-2', '::-1'), [2, 4], [[8, 9, 10, 11], [0, 1, 2, 3]]);
  const s = x.slice('::2', '1:');
  eq(s.slice(':', '::-2'), [2, 2], [[3, 1], [11, 9]]);
  eq(np.broadcastTo(ar(3), [4, 3]).slice('1:3', '::-1'), [2, 3], [[2, 1, 0], [2, 1, 0]]);
});

test('results are zero-copy views of the operand', () => {
  const x = ar(24).reshape(2, 3, 4);
  for (const y of [x.slice(1), x.slice('::-1', 2), x.slice(null, '...', '1:3'), x.slice(0, 1, 2), x.slice('5:'), x.transpose().slice('1:3', null)])
    assert.ok(shares(y, x));
  assert.is(x.slice(':', '...', '::1'), x); // nothing to do: the same value
  const t = x.transpose();
  assert.ok(shares(t.slice('::-1').slice(0, '1:'), x));
});

test('np.slice is the same function', () => {
  eq(np.slice(ar(10), '::4'), [3], [0, 4, 8]);
  eq(np.slice([[1, 2], [3, 4]], ':', -1), [2], [2, 4], 'float32');
});

test('integer index out of range names axis, index and size', () => {
  assert.throws(() => x1.slice(10), /slice: index 10 is out of bounds for axis 0 with size 10/);
  assert.throws(() => x1.slice(-11), /slice: index -11 is out of bounds for axis 0 with size 10/);
  assert.throws(() => x3.slice(0, 3), /slice: index 3 is out of bounds for axis 1 with size 3/);
  assert.throws(() => x3.slice('...', -5), /slice: index -5 is out of bounds for axis 2 with size 4/);
  assert.throws(() => np.zeros([0]).slice(0), /slice: index 0 is out of bounds for axis 0 with size 0/);
  try {
    x1.slice(10);
  } catch (e) {
    assert.is((e as Error).name, 'IndexError');
    assert.instance(e, IndexError);
  }
});

test('malformed indices', () => {
  assert.throws(() => x3.slice(0, 0, 0, 0), /slice: too many indices for array: array is 3-dimensional, but 4 were indexed/);
  assert.throws(() => np.array(1).slice(0), /slice: too many indices for array: array is 0-dimensional, but 1 were indexed/);
  assert.throws(() => x3.slice('...', 0, '...'), /slice: an index can only have a single ellipsis/);
  assert.throws(() => x1.slice('::0'), /slice: slice step cannot be zero/);
  assert.throws(() => x1.slice({ step: 0 }), /slice: slice step cannot be zero/);
  assert.throws(() => x1.slice('a:b'), /slice: cannot parse index string 'a:b'/);
  assert.throws(() => x1.slice('1:2:3:4'), /slice: cannot parse index string '1:2:3:4'/);
  assert.throws(() => x1.slice('1.5:'), /slice: cannot parse index string/);
  assert.throws(() => x1.slice(''), /slice: cannot parse index string ''/);
  assert.throws(() => x1.slice(1.5), /slice: got index 1.5; only integers, slices/);
  assert.throws(() => x1.slice([0, 1] as unknown as number), /slice: array \(advanced\) indices are not supported by slice; use take/);
  assert.throws(() => x1.slice(ar(2) as unknown as number), /slice: array \(advanced\) indices are not supported/);
  assert.throws(() => x1.slice({ begin: 1 } as unknown as number), /slice: unknown slice field 'begin'/);
  assert.throws(() => x1.slice({ start: 0.5 }), /slice: slice start must be an integer or null in \{"start":0.5\}/);
  assert.throws(() => x1.slice(true as unknown as number), /slice: got boolean index true; only integers/);
  assert.throws(() => x1.slice(undefined as unknown as number), /slice: got undefined index undefined/);
});

test.run();
