/** Laws of the tensor core: broadcasting, promotion, views and reductions against naive JS. */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { promote, type DType } from '../src/core/dtype.js';
import { bind1 } from '../src/core/trace/trace.js';
import { np } from '../src/index.js';
import { propsOptions } from './options.js';

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 });
/** Two shapes that broadcast together: each dim of the second is the first's or 1, and the rank may be shorter. */
const broadcastPair = shapeArb.chain((s) =>
  fc.tuple(fc.constant(s), fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.integer({ min: 0, max: s.length })).map(([a, ones, drop]) => [a, a.map((d, i) => (ones[i] ? 1 : d)).slice(drop)] as const),
);

function strides(shape: readonly number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}
function naiveBroadcast(data: number[], from: readonly number[], to: readonly number[]): number[] {
  const size = to.reduce((a, b) => a * b, 1);
  const st = strides(from), lead = to.length - from.length;
  return Array.from({ length: size }, (_, flat) => {
    let rest = flat, off = 0;
    for (let d = to.length - 1; d >= 0; d--) {
      const i = rest % to[d];
      rest = Math.floor(rest / to[d]);
      const fd = d - lead;
      if (fd >= 0 && from[fd] !== 1) off += i * st[fd];
    }
    return data[off];
  });
}

const OPS: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => Math.fround(a + b),
  sub: (a, b) => Math.fround(a - b),
  mul: (a, b) => Math.fround(a * b),
  maximum: (a, b) => Math.max(a, b),
  minimum: (a, b) => Math.min(a, b),
};

test('binary ops with broadcasting equal a naive element loop', () => {
  fc.assert(
    fc.property(broadcastPair, fc.constantFrom(...Object.keys(OPS)), fc.integer(), ([sa, sb], op, seed) => {
      const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
      const rnd = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed + i * 7.3 + k) * 10));
      const a = rnd(size(sa), 1), b = rnd(size(sb), 2);
      const x = np.array(a).reshape(sa), y = np.array(b).reshape(sb);
      const got = [...(np as unknown as Record<string, (p: unknown, q: unknown) => { dataSync(): Float32Array }>)[op](x, y).dataSync()];
      const bb = naiveBroadcast(b, sb, sa);
      assert.equal(got, a.map((v, i) => OPS[op](v, bb[i])));
    }),
    propsOptions(),
  );
});

const NODES: [DType, boolean][] = [['bool', false], ['int32', false], ['uint32', false], ['float32', false], ['int32', true], ['float32', true]];
test('promotion is commutative, idempotent and associative', () => {
  fc.assert(
    fc.property(fc.constantFrom(...NODES), fc.constantFrom(...NODES), fc.constantFrom(...NODES), (a, b, c) => {
      const p = (x: [DType, boolean], y: [DType, boolean]): [DType, boolean] => {
        const r = promote(x[0], x[1], y[0], y[1]);
        return [r.dtype, r.weak];
      };
      assert.equal(p(a, b), p(b, a));
      assert.equal(p(a, a), a);
      // JAX's table is associative except where int32 ⊔ uint32 (int64) is canonicalised to int32.
      const ints = [a, b, c].filter(([d, w]) => !w && (d === 'int32' || d === 'uint32')).length;
      if (ints < 2) assert.equal(p(p(a, b), c), p(a, p(b, c)));
    }),
    propsOptions(),
  );
});

test('transposed views read back as the naive transpose and reduce like it', () => {
  fc.assert(
    fc.property(shapeArb.filter((s) => s.length > 0), fc.integer(), (shape, seed) => {
      const perm = shape.map((_, i) => i).sort((i, j) => Math.sin(seed + i * 3) - Math.sin(seed + j * 3));
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Array.from({ length: n }, (_, i) => i);
      const x = np.array(data).reshape(shape);
      const t = bind1('transpose', [x], { permutation: perm });
      const outShape = perm.map((d) => shape[d]);
      const st = strides(shape), ost = strides(outShape);
      const want = Array.from({ length: n }, (_, flat) => perm.reduce((off, d, k) => off + (Math.floor(flat / ost[k]) % outShape[k]) * st[d], 0));
      assert.equal([...t.dataSync()], want);
      assert.equal([...t.add(0).dataSync()], want);
      assert.is(t.sum().item(), want.reduce((a, b) => a + b, 0));
    }),
    propsOptions(),
  );
});

test.run();
