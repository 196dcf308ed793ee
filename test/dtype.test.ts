import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { promote, type DType } from '../src/core/dtype.js';
import { np } from '../src/index.js';

// JAX's binary promotion table (docs: "Type promotion semantics"), restricted to vidax's dtypes,
// with int64 canonicalised to int32 (x64 disabled). '*' marks weak types.
const T = ['b1', 'i4', 'u4', 'f4', 'i*', 'f*'] as const;
const TABLE: Record<(typeof T)[number], string[]> = {
  b1: ['b1', 'i4', 'u4', 'f4', 'i*', 'f*'],
  i4: ['i4', 'i4', 'i4', 'f4', 'i4', 'f*'],
  u4: ['u4', 'i4', 'u4', 'f4', 'u4', 'f*'],
  f4: ['f4', 'f4', 'f4', 'f4', 'f4', 'f4'],
  'i*': ['i*', 'i4', 'u4', 'f4', 'i*', 'f*'],
  'f*': ['f*', 'f*', 'f*', 'f4', 'f*', 'f*'],
};
const decode = (c: string): [DType, boolean] =>
  ({ b1: ['bool', false], i4: ['int32', false], u4: ['uint32', false], f4: ['float32', false], 'i*': ['int32', true], 'f*': ['float32', true] })[c] as [DType, boolean];

test('promotion matches JAX table and is commutative', () => {
  for (const a of T)
    T.forEach((b, j) => {
      const [da, wa] = decode(a), [db, wb] = decode(b);
      const [want, wantWeak] = decode(TABLE[a][j]);
      const got = promote(da, wa, db, wb);
      assert.equal([got.dtype, got.weak], [want, wantWeak], `${a} ⊔ ${b}`);
      assert.equal(promote(db, wb, da, wa), got, `commutative ${a} ${b}`);
    });
});

test('weak scalars keep array dtypes', () => {
  const f = np.array([1, 2]);
  const i = np.array([1, 2], 'int32');
  assert.is(f.mul(2).dtype, 'float32');
  assert.is(i.mul(2).dtype, 'int32');
  assert.is(i.mul(0.5).dtype, 'float32');
  assert.is(np.array([true, false]).add(1).dtype, 'int32');
  assert.is(i.add(np.array([1], 'uint32')).dtype, 'int32');
  assert.ok(f.mul(2).weakType === false);
});
test.run();
