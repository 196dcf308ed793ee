import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapedArray } from '../src/core/aval.js';
import { newTag, type Trace } from '../src/core/trace/trace.js';
import { Tracer } from '../src/core/trace/value.js';
import { defaultBackend } from '../src/core/backends/backend.js';
import { ConcretizationError, DisposedError, NDArray, TracerLeakError, ValueError, memoryStats, np, scope } from '../src/index.js';

/** Live buffers on the default backend (where `np.array` puts arrays). */
const liveBuffers = () => memoryStats()[defaultBackend().name]!.buffers;

test('np.array from nested arrays, typed arrays and scalars', () => {
  const x = np.array([[1, 2, 3], [4, 5, 6]]);
  assert.equal(x.shape, [2, 3]);
  assert.is(x.dtype, 'float32');
  assert.equal(x.toNested(), [[1, 2, 3], [4, 5, 6]]);
  assert.equal(np.array([true, false]).toNested(), [true, false]);
  assert.is(np.array(new Int32Array([1, -2])).dtype, 'int32');
  assert.equal(np.array([1.7, -1.7], 'int32').toNested(), [1, -1]);
  assert.equal(np.array([-1], 'uint32').toNested(), [4294967295]);
  assert.is(np.array(3.5).item(), 3.5);
  assert.equal(np.array([]).shape, [0]);
  assert.equal(np.array([[], []]).shape, [2, 0]);
});

test('ragged nested arrays are rejected with the offending path', () => {
  assert.throws(() => np.array([[1, 2], [3]]), (e: Error) => e instanceof ValueError && /ragged.*\[1\].*length 1.*expected length 2/.test(e.message));
  assert.throws(() => np.array([[1, 2], 3] as never), /ragged/);
  assert.throws(() => np.array([1, 'a'] as never), /element \[1\] is string/);
  assert.throws(() => np.array([1], 'float64' as never), /unknown dtype "float64"/);
});

test('data, dataSync, item and toString', async () => {
  const x = np.array([[1, 2], [3, 4]]);
  assert.equal([...(await x.data())], [1, 2, 3, 4]);
  const d = x.dataSync();
  d[0] = 100; // a copy: the array is immutable
  assert.equal(x.toNested(), [[1, 2], [3, 4]]);
  assert.throws(() => x.item(), /item: only size-1 arrays/);
  assert.is(String(x), 'Array([[1., 2.],\n       [3., 4.]], dtype=float32)');
  assert.is(+np.array(2.5), 2.5);
});

test('transposes are zero-copy views; reading a view materialises it', () => {
  const x = np.arange(6).reshape([2, 3]) as NDArray;
  const t = x.transpose() as NDArray;
  assert.ok(t.buffer === x.buffer);
  assert.not.ok(t.isContiguous);
  assert.equal(t.toNested(), [[0, 3], [1, 4], [2, 5]]);
  assert.equal(t.add(1).toNested(), [[1, 4], [2, 5], [3, 6]]);
  const f = x.slice(':', '::-1') as NDArray;
  assert.equal(f.toNested(), [[2, 1, 0], [5, 4, 3]]);
});

test('dispose, using and scope release buffers; memoryStats returns to baseline', () => {
  const base = liveBuffers();
  const x = np.array([1, 2, 3, 4]) as NDArray;
  assert.is(liveBuffers(), base + 1);
  x.dispose();
  x.dispose(); // idempotent
  assert.is(liveBuffers(), base);
  assert.throws(() => scope(() => x.add(1)), (e: Error) => e instanceof DisposedError && /used after dispose/.test(e.message));
  assert.is(liveBuffers(), base);
  {
    using y = np.array([1, 2, 3]);
    assert.is(y.size, 3);
  }
  assert.is(liveBuffers(), base);
  const kept = scope(() => {
    np.ones([4]);
    const a = np.arange(10);
    const b = a.mul(2).add(1);
    return { b, n: 3 };
  });
  assert.is(liveBuffers(), base + 1);
  assert.equal(kept.b.toNested(), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
  kept.b.dispose();
  assert.is(liveBuffers(), base);
});

test('views keep their buffer alive until the last view is disposed', () => {
  const base = liveBuffers();
  const x = np.array([[0, 1, 2], [3, 4, 5]]) as NDArray;
  const t = x.transpose() as NDArray;
  assert.is(liveBuffers(), base + 1);
  x.dispose();
  assert.is(liveBuffers(), base + 1);
  assert.equal(t.toNested(), [[0, 3], [1, 4], [2, 5]]);
  t.dispose();
  assert.is(liveBuffers(), base);
});

test('scope disposes everything on error too', () => {
  const base = liveBuffers();
  assert.throws(() => scope(() => {
    np.ones([2]);
    throw new Error('boom');
  }), /boom/);
  assert.is(liveBuffers(), base);
});

class FakeTrace implements Trace {
  tag = newTag();
  parent = null;
  process(): never {
    throw new Error('unused');
  }
  describe() {
    return `FakeTrace(tag=${this.tag})`;
  }
}
class FakeTracer extends Tracer {
  get aval() {
    return new ShapedArray([3], 'float32');
  }
}

test('tracers refuse concretization and leaked tracers are caught', () => {
  const t = new FakeTracer(new FakeTrace());
  assert.throws(() => Number(t), (e: Error) => e instanceof ConcretizationError && /lax\.cond/.test(e.message));
  assert.throws(() => (t as unknown as number) > 0, (e: Error) => e instanceof ConcretizationError);
  assert.throws(() => t.dataSync(), /dataSync\(\) was called.*f32\[3\]/);
  assert.throws(() => np.add(t, 1), (e: Error) => e instanceof TracerLeakError && /escaped/.test(e.message));
});

test.run();
