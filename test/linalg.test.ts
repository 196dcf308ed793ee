/** np.matmul / dot / inner / outer / tensordot / einsum against naive references written here. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Prim, PrimParams } from '../src/core/trace/primitive.js';
import { currentTrace, newTag, withTrace, type Trace } from '../src/core/trace/trace.js';
import { ShapeError, ValueError, np, type Array as VArray } from '../src/index.js';
import { assertCloseToRef, at, prod, refSampler, unravel, type Ref } from './helpers.js';

// ---------------------------------------------------------------- helpers

const rand = refSampler(11, 5);

/** Naive einsum over explicit subscripts without ellipsis: loops over every label assignment. */
function einsumRef(subscripts: string, ...ops: Ref[]): Ref {
  const [lhs, out] = subscripts.split('->');
  const terms = lhs.split(',');
  const size = new Map<string, number>();
  terms.forEach((t, i) => [...t].forEach((c, d) => size.set(c, ops[i].shape[d])));
  const all = [...size.keys()];
  const outShape = [...out].map((c) => size.get(c)!);
  const data = new Array<number>(prod(outShape)).fill(0);
  const allShape = all.map((c) => size.get(c)!);
  for (let f = 0; f < prod(allShape); f++) {
    const idx = unravel(f, allShape);
    const val = (c: string) => idx[all.indexOf(c)];
    let p = 1;
    terms.forEach((t, i) => (p *= at(ops[i], [...t].map(val))));
    let o = 0;
    for (const c of out) o = o * size.get(c)! + val(c);
    data[o] += p;
  }
  return { shape: outShape, data };
}

/** NumPy matmul reference: promote 1-D, broadcast batch dims, squeeze. */
function matmulRef(a: Ref, b: Ref): Ref {
  const A = a.shape.length === 1 ? { ...a, shape: [1, a.shape[0]] } : a;
  const B = b.shape.length === 1 ? { ...b, shape: [b.shape[0], 1] } : b;
  const ab = A.shape.slice(0, -2), bb = B.shape.slice(0, -2);
  const nb = Math.max(ab.length, bb.length);
  const pa = [...new Array(nb - ab.length).fill(1), ...ab], pb = [...new Array(nb - bb.length).fill(1), ...bb];
  const batch = pa.map((s, i) => (s === 1 ? pb[i] : s));
  const [m, k] = A.shape.slice(-2), n = B.shape[B.shape.length - 1];
  const data: number[] = [];
  for (let f = 0; f < prod(batch); f++) {
    const bi = unravel(f, batch);
    const ia = bi.slice(nb - ab.length).map((v, i) => (ab[i] === 1 ? 0 : v));
    const ib = bi.slice(nb - bb.length).map((v, i) => (bb[i] === 1 ? 0 : v));
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += at(A, [...ia, i, q]) * at(B, [...ib, q, j]);
      data.push(s);
    }
  }
  const shape = [...batch, ...(a.shape.length === 1 ? [] : [m]), ...(b.shape.length === 1 ? [] : [n])];
  return { shape, data };
}

/** Run `fn` under a trace that counts the primitives bound, delegating to the eager trace. */
function countPrims<T>(fn: () => T): { out: T; counts: Record<string, number> } {
  const parent = currentTrace();
  const counts: Record<string, number> = {};
  const t: Trace = {
    tag: newTag(),
    parent,
    process<P extends Prim>(prim: P, args: readonly VArray[], params: PrimParams[P]) {
      counts[prim] = (counts[prim] ?? 0) + 1;
      return withTrace(parent, () => parent.process(prim, args, params));
    },
    describe: () => 'CountingTrace',
  };
  return { out: withTrace(t, fn), counts };
}

// ---------------------------------------------------------------- matmul

test('matmul: 2-D, 1-D promotion rules and the method form', () => {
  const a = rand([3, 4]), b = rand([4, 5]), v = rand([4]), w = rand([3]);
  assertCloseToRef(np.matmul(a.arr, b.arr), matmulRef(a.ref, b.ref), 'mat@mat');
  assertCloseToRef(a.arr.matmul(b.arr), matmulRef(a.ref, b.ref), 'method');
  assertCloseToRef(np.matmul(v.arr, b.arr), matmulRef(v.ref, b.ref), 'vec@mat');
  assertCloseToRef(np.matmul(a.arr, v.arr), matmulRef(a.ref, v.ref), 'mat@vec');
  const vv = np.matmul(v.arr, v.arr);
  assert.equal(vv.shape, []);
  assertCloseToRef(vv, matmulRef(v.ref, v.ref), 'vec@vec');
  assertCloseToRef(np.matmul(w.arr, a.arr), matmulRef(w.ref, a.ref), 'vec@mat 2');
  assert.equal(np.matmul([[1, 2], [3, 4]], [[5, 6], [7, 8]]).toNested(), [[19, 22], [43, 50]]);
});

test('matmul: batch dims broadcast (NumPy rules)', () => {
  const pairs: [number[], number[]][] = [
    [[2, 1, 3, 4], [5, 4, 2]], [[3, 2, 4], [4, 5]], [[4], [2, 4, 3]], [[2, 3, 4], [4]], [[1, 3, 4], [2, 4, 5]],
    [[2, 3, 4], [2, 4, 5]], [[2, 1, 3, 4], [1, 6, 4, 2]], [[1, 1, 2, 3], [3, 1]], [[0, 2, 3], [3, 4]], [[2, 3, 0], [0, 4]],
  ];
  for (const [sa, sb] of pairs) {
    const a = rand(sa), b = rand(sb);
    assertCloseToRef(np.matmul(a.arr, b.arr), matmulRef(a.ref, b.ref), `${sa} @ ${sb}`);
  }
  // A size-1 batch dim facing a larger one is not materialised: one dot_general, no broadcast.
  const a = rand([2, 1, 3, 4]), b = rand([5, 4, 2]);
  const { counts } = countPrims(() => np.matmul(a.arr, b.arr));
  assert.is(counts.dot_general, 1);
  assert.is(counts.broadcast_in_dim, undefined);
});

test('matmul: int32 is exact and stays int32; mixed dtypes promote; bool is logical', () => {
  const a = rand([3, 4], true), b = rand([4, 2], true);
  const r = np.matmul(a.arr, b.arr);
  assert.is(r.dtype, 'int32');
  assert.equal(Array.from(r.dataSync()), matmulRef(a.ref, b.ref).data);
  const big = np.matmul(np.array([[65536, 65536]], 'int32'), np.array([[32768], [32768]], 'int32'));
  assert.equal(big.toNested(), [[0]]); // 2^32 wraps like int32
  const m = np.matmul(a.arr, np.array([[0.5, 1], [1, 1], [1, 1], [1, 1]]));
  assert.is(m.dtype, 'float32');
  const u = np.matmul(np.array([1, 2], 'uint32'), np.array([[3], [4]], 'uint32'));
  assert.is(u.dtype, 'uint32');
  assert.equal(u.toNested(), [11]);
  const bm = np.matmul(np.array([[true, false], [false, false]]), np.array([[true], [true]]));
  assert.is(bm.dtype, 'bool');
  assert.equal(bm.toNested(), [[true], [false]]);
});

test('matmul: errors name the op and both shapes', () => {
  assert.throws(() => np.matmul(np.zeros([2, 3]), np.zeros([4, 5])), (e: Error) =>
    e instanceof ShapeError && e.message === 'matmul: contracting dims differ: [2,3] @ [4,5] (3 vs 4)');
  assert.throws(() => np.matmul(np.zeros([3]), np.zeros([4])), /^matmul: contracting dims differ: \[3\] @ \[4\]/);
  assert.throws(() => np.matmul(np.zeros([2, 3, 4]), np.zeros([3, 4, 5])), (e: Error) =>
    e instanceof ShapeError && e.message === 'matmul: batch dims cannot be broadcast: [2,3,4] @ [3,4,5]');
  assert.throws(() => np.matmul(np.zeros([3]), 2), /^matmul: operands must be at least 1-D \(use mul for scalars\), got \[3\] @ \[\]/);
});

// ---------------------------------------------------------------- dot, inner, outer, tensordot

test('dot: NumPy semantics for 0-D, 1-D, 2-D and N-D', () => {
  const v = rand([4]), u = rand([4]), a = rand([3, 4]), b = rand([4, 5]), t = rand([2, 3, 4]), s = rand([5, 4, 6]);
  assertCloseToRef(np.dot(v.arr, u.arr), einsumRef('i,i->', v.ref, u.ref), '1-D·1-D');
  assertCloseToRef(np.dot(a.arr, b.arr), einsumRef('ij,jk->ik', a.ref, b.ref), '2-D·2-D');
  assertCloseToRef(a.arr.dot(b.arr), einsumRef('ij,jk->ik', a.ref, b.ref), 'method');
  assertCloseToRef(np.dot(t.arr, v.arr), einsumRef('abi,i->ab', t.ref, v.ref), 'N-D·1-D');
  assertCloseToRef(np.dot(v.arr, b.arr), einsumRef('i,ij->j', v.ref, b.ref), '1-D·2-D');
  const nd = np.dot(t.arr, s.arr);
  assert.equal(nd.shape, [2, 3, 5, 6]);
  assertCloseToRef(nd, einsumRef('abi,cid->abcd', t.ref, s.ref), 'N-D·M-D');
  assert.equal(np.dot(2, np.array([1, 2])).toNested(), [2, 4]);
  assert.equal(np.dot(np.array([[1, 2]]), 3).toNested(), [[3, 6]]);
  assert.throws(() => np.dot(np.zeros([2, 3]), np.zeros([2, 3])), /^dot: contracting dims differ: \[2,3\] · \[2,3\] \(3 vs 2\)/);
});

test('inner, outer, tensordot', () => {
  const a = rand([2, 3]), b = rand([4, 3]), v = rand([3]), w = rand([5]);
  assertCloseToRef(np.inner(a.arr, b.arr), einsumRef('ij,kj->ik', a.ref, b.ref), 'inner');
  assertCloseToRef(np.inner(v.arr, v.arr), einsumRef('i,i->', v.ref, v.ref), 'inner 1-D');
  assert.throws(() => np.inner(np.zeros([2, 3]), np.zeros([3, 2])), /^inner: contracting dims differ/);
  assertCloseToRef(np.outer(v.arr, w.arr), einsumRef('i,j->ij', v.ref, w.ref), 'outer');
  assert.equal(np.outer(np.array([[1, 2], [3, 4]]), np.array([1, 10])).shape, [4, 2]);
  const x = rand([2, 3, 4]), y = rand([3, 4, 5]), z = rand([4, 3, 2]);
  assertCloseToRef(np.tensordot(x.arr, y.arr), einsumRef('ajk,jkb->ab', x.ref, y.ref), 'tensordot default 2');
  assertCloseToRef(np.tensordot(x.arr, z.arr, 1), einsumRef('abk,kcd->abcd', x.ref, z.ref), 'tensordot 1');
  assertCloseToRef(np.tensordot(x.arr, z.arr, [[1, 2], [1, 0]]), einsumRef('ajk,kjb->ab', x.ref, z.ref), 'tensordot pairs');
  assertCloseToRef(np.tensordot(x.arr, y.arr, [-2, 0]), einsumRef('ajc,jkb->ackb', x.ref, y.ref), 'tensordot negative');
  assertCloseToRef(np.tensordot(v.arr, w.arr, 0), einsumRef('i,j->ij', v.ref, w.ref), 'tensordot 0');
  assert.throws(() => np.tensordot(x.arr, y.arr, [[0], [0]]), /^tensordot: contracting dims differ/);
});

// ---------------------------------------------------------------- einsum

test('einsum: attention and U-Net style contractions', () => {
  const q = rand([2, 3, 4, 5]), k = rand([2, 3, 6, 5]), p = rand([2, 3, 4, 6]), vv = rand([2, 3, 6, 5]);
  const s = np.einsum('bhqd,bhkd->bhqk', q.arr, k.arr);
  assertCloseToRef(s, einsumRef('bhqd,bhkd->bhqk', q.ref, k.ref), 'scores');
  assertCloseToRef(np.einsum('bhqk,bhkd->bhqd', p.arr, vv.arr), einsumRef('bhqk,bhkd->bhqd', p.ref, vv.ref), 'weighted values');
  const x = rand([2, 3, 4, 5]), w = rand([6, 3]);
  assertCloseToRef(np.einsum('bchw,oc->bohw', x.arr, w.arr), einsumRef('bchw,oc->bohw', x.ref, w.ref), '1x1 conv');
  // Each lowers to exactly one dot_general and no reduce_sum.
  for (const [sub, a, b] of [['bhqd,bhkd->bhqk', q, k], ['bhqk,bhkd->bhqd', p, vv], ['bchw,oc->bohw', x, w]] as const) {
    const { counts } = countPrims(() => np.einsum(sub, a.arr, b.arr));
    assert.is(counts.dot_general, 1, sub);
    assert.is(counts.reduce_sum, undefined, sub);
  }
});

test('einsum: implicit output, sums, outer products, chains and diagonals', () => {
  const a = rand([3, 4]), b = rand([4, 5]), c = rand([5, 2]), v = rand([4]), m = rand([3, 3]), t = rand([2, 3, 3]);
  assertCloseToRef(np.einsum('ij,jk', a.arr, b.arr), einsumRef('ij,jk->ik', a.ref, b.ref), 'implicit matmul');
  assertCloseToRef(np.einsum('ba', a.arr), einsumRef('ba->ab', a.ref), 'implicit transpose (alphabetical)');
  assertCloseToRef(np.einsum('ij', a.arr), einsumRef('ij->ij', a.ref), 'implicit identity');
  assertCloseToRef(np.einsum('i,i', v.arr, v.arr), einsumRef('i,i->', v.ref, v.ref), 'implicit inner');
  assertCloseToRef(np.einsum('Ba,ac', a.arr, b.arr), einsumRef('Ba,ac->Bc', a.ref, b.ref), 'uppercase sorts first');
  assertCloseToRef(np.einsum('ij->', a.arr), einsumRef('ij->', a.ref), 'total sum');
  assertCloseToRef(np.einsum('ij->j', a.arr), einsumRef('ij->j', a.ref), 'column sum');
  assertCloseToRef(np.einsum('ij,jk->i', a.arr, b.arr), einsumRef('ij,jk->i', a.ref, b.ref), 'contract then sum');
  assertCloseToRef(np.einsum('ij,kl->ijkl', a.arr, c.arr), einsumRef('ij,kl->ijkl', a.ref, c.ref), 'outer');
  assertCloseToRef(np.einsum('ij,ij->ij', a.arr, a.arr), einsumRef('ij,ij->ij', a.ref, a.ref), 'hadamard');
  assertCloseToRef(np.einsum('ij,ij->', a.arr, a.arr), einsumRef('ij,ij->', a.ref, a.ref), 'frobenius');
  assertCloseToRef(np.einsum('ij,jk,kl->il', a.arr, b.arr, c.arr), einsumRef('ij,jk,kl->il', a.ref, b.ref, c.ref), 'chain');
  assertCloseToRef(np.einsum('ij,jk,kl', a.arr, b.arr, c.arr), einsumRef('ij,jk,kl->il', a.ref, b.ref, c.ref), 'implicit chain');
  assertCloseToRef(np.einsum('ij,j,jk->ik', a.arr, v.arr, b.arr), einsumRef('ij,j,jk->ik', a.ref, v.ref, b.ref), 'shared by three');
  assertCloseToRef(np.einsum(' i j , j k -> k i ', a.arr, b.arr), einsumRef('ij,jk->ki', a.ref, b.ref), 'spaces');
  assertCloseToRef(np.einsum('ii->i', m.arr), { shape: [3], data: [0, 1, 2].map((i) => at(m.ref, [i, i])) }, 'diagonal');
  assertCloseToRef(np.einsum('ii', m.arr), { shape: [], data: [[0, 1, 2].reduce((s, i) => s + at(m.ref, [i, i]), 0)] }, 'trace');
  assertCloseToRef(np.einsum('bii->b', t.arr), { shape: [2], data: [0, 1].map((bb) => [0, 1, 2].reduce((s, i) => s + at(t.ref, [bb, i, i]), 0)) }, 'batched trace');
  const ints = np.einsum('ij,jk->ik', np.array([[1, 2]], 'int32'), np.array([[3], [4]], 'int32'));
  assert.is(ints.dtype, 'int32');
  assert.equal(ints.toNested(), [[11]]);
  assert.is(np.einsum('i,i', np.array([1, 2], 'int32'), np.array([0.5, 0.5])).dtype, 'float32');
});

test('einsum: ellipsis (leading dims, broadcasting of size-1 dims)', () => {
  const a = rand([2, 3, 4, 5]), b = rand([2, 3, 5, 6]);
  assertCloseToRef(np.einsum('...ij,...jk->...ik', a.arr, b.arr), einsumRef('xyij,xyjk->xyik', a.ref, b.ref), 'batched matmul');
  assertCloseToRef(np.einsum('...ij,...jk', a.arr, b.arr), einsumRef('xyij,xyjk->xyik', a.ref, b.ref), 'implicit keeps the ellipsis first');
  assertCloseToRef(np.einsum('...ij->...ji', a.arr), einsumRef('xyij->xyji', a.ref), 'swap the last two');
  assertCloseToRef(np.einsum('i...->...', a.arr), einsumRef('ixyz->xyz', a.ref), 'sum the first');
  const c = rand([2, 1, 4, 5]), d = rand([3, 5, 6]);
  assertCloseToRef(np.einsum('...ij,...jk->...ik', c.arr, d.arr), matmulRef(c.ref, d.ref), 'broadcast like matmul');
  const e = rand([4, 5]);
  assertCloseToRef(np.einsum('...j,j->...', e.arr, np.ones([5])), einsumRef('ij->i', e.ref), 'matrix-vector via ...');
});

test('einsum: errors', () => {
  const a = np.zeros([2, 3]), b = np.zeros([4, 5]);
  assert.throws(() => np.einsum('ij,jk->ik', a, b), (e: Error) =>
    e instanceof ShapeError && e.message === "einsum: label 'j' has different sizes (3 vs 4) in 'ij,jk->ik' with operands [2,3], [4,5]");
  assert.throws(() => np.einsum('ij,jk->ik', a), (e: Error) =>
    e instanceof ValueError && e.message === "einsum: subscripts 'ij,jk->ik' name 2 operands but 1 was given");
  assert.throws(() => np.einsum('ijk->i', a), /^einsum: operand 0 has shape \[2,3\] \(rank 2\) but its term 'ijk' in 'ijk->i' names 3 dims$/);
  assert.throws(() => np.einsum('ij->iz', a), /^einsum: output label 'z' does not appear in any input of 'ij->iz'$/);
  assert.throws(() => np.einsum('ij->ii', a), /^einsum: output 'ii' repeats a label in 'ij->ii'$/);
  assert.throws(() => np.einsum('i1->i', a), /^einsum: invalid character '1' in subscripts 'i1->i'/);
  assert.throws(() => np.einsum('ij->i->j', a), /more than one '->'/);
  assert.throws(() => np.einsum('...ij->ij', np.zeros([5, 2, 3])), /^einsum: inputs of '...ij->ij' use '...' for 1 dim but the output has no '...'$/);
  assert.throws(() => np.einsum('...i,...i->...', np.zeros([2, 3]), np.zeros([4, 3])), /^einsum: '...' dims cannot be broadcast \(2 vs 4\)/);
  assert.throws(() => np.einsum('ii->i', np.zeros([2, 3])), /^einsum: label 'i' has different sizes \(2 vs 3\)/);
});

test.run();
