/**
 * Transformation rules of the movement and indexing primitives (reshape, transpose, slice,
 * pad, concatenate, rev, gather, scatter_add, dynamic_slice, dynamic_update_slice), checked
 * by JAX's laws: jvp against central finite differences, vjp against jvp through the
 * inner-product identity ⟨J t, c⟩ = ⟨t, Jᵀ c⟩, and vmap against a loop over the batch + stack
 * (batch dims not at 0, batched indices and starts included); then end-to-end gradients
 * through the np / lax / method APIs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grad, jit, jvp, lax, np, vjp, vmap, type Array as VArray } from '../src/index.js';

// ---------------------------------------------------------------- data and comparison

type Fn = (...args: VArray[]) => VArray;

let seed = 12345;
/** Deterministic float32 values in [-1, 1). */
function rand(shape: number[]): VArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    data[i] = (seed / 4294967296) * 2 - 1;
  }
  return lax.reshape(np.array(data, 'float32'), shape);
}
const ints = (data: number[], shape: number[] = [data.length]): VArray => lax.reshape(np.array(Int32Array.from(data), 'int32'), shape);
const scalarF = (v: number): VArray => np.array(v, 'float32');
const vals = (x: VArray): number[] => Array.from(x.dataSync(), Number);
const dot = (a: VArray, b: VArray): number => vals(a).reduce((s, v, i) => s + v * vals(b)[i], 0);
const isFloatArg = (x: VArray) => x.dtype === 'float32';

function close(got: VArray, want: VArray, tol: number, what: string): void {
  assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  const g = vals(got), w = vals(want);
  const bad = g.map((v, i) => [i, v, w[i]]).filter(([, v, u]) => !(Math.abs(v - u) <= tol * Math.max(1, Math.abs(u))));
  assert.ok(bad.length === 0, `${what}: ${bad.length}/${g.length} mismatches, e.g. ${JSON.stringify(bad.slice(0, 4))}`);
}
const closeNum = (got: number, want: number, tol: number, what: string) =>
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want}`);

// ---------------------------------------------------------------- the three laws

/** Tangents: random for float arguments, zeros for integer ones (indices, starts). */
const tangentsFor = (args: VArray[]) => args.map((a) => (isFloatArg(a) ? rand([...a.shape]) : np.zerosLike(a)));

/** jvp of `f` at `args` along random tangents equals the central difference (f(x + h t) − f(x − h t)) / 2h. */
function checkJvp(f: Fn, args: VArray[], what: string, h = 1e-2, tol = 2e-3): void {
  const ts = tangentsFor(args);
  const [y, jt] = jvp(f, args, ts) as unknown as [VArray, VArray];
  close(y, f(...args), 1e-6, `${what}: jvp primal`);
  const shifted = (s: number) => f(...args.map((a, i) => (isFloatArg(a) ? np.add(a, np.mul(ts[i], s)) : a)));
  const fd = np.div(np.sub(shifted(h), shifted(-h)), 2 * h);
  close(jt, fd, tol, `${what}: jvp vs finite differences`);
}

/** ⟨J t, c⟩ = Σ_i ⟨t_i, (Jᵀ c)_i⟩ over the float arguments, for random t and c. */
function checkVjp(f: Fn, args: VArray[], what: string, tol = 1e-4): void {
  const ts = tangentsFor(args);
  const [, jt] = jvp(f, args, ts) as unknown as [VArray, VArray];
  const [y, pullback] = vjp(f, ...args);
  const c = rand([...(y as VArray).shape]);
  const cts = (pullback as (c: VArray) => VArray[])(c);
  let rhs = 0;
  args.forEach((a, i) => {
    assert.equal([...cts[i].shape], [...a.shape], `${what}: cotangent ${i} shape`);
    assert.is(cts[i].dtype, a.dtype, `${what}: cotangent ${i} dtype`);
    if (isFloatArg(a)) rhs += dot(ts[i], cts[i]);
  });
  closeNum(dot(jt, c), rhs, tol, `${what}: <J t, c> vs <t, J^T c>`);
}

/** Slice `x` at `b` along `axis` (removing it); `axis` null means x is shared. */
const at = (x: VArray, axis: number | null, b: number): VArray => (axis === null ? x : np.take(x, b, axis));

/** vmap(f, { inAxes }) equals stacking f over the batch. */
function checkVmap(f: Fn, args: VArray[], inAxes: (number | null)[], what: string): void {
  const size = args[inAxes.findIndex((d) => d !== null)].shape[inAxes.find((d) => d !== null)!];
  const got = vmap(f, { inAxes })(...args) as VArray;
  const want = np.stack(Array.from({ length: size }, (_, b) => f(...args.map((a, i) => at(a, inAxes[i], b)))));
  close(got, want, 1e-6, `${what}: vmap inAxes ${JSON.stringify(inAxes)}`);
}

/** jvp, vjp and (for each given inAxes) vmap of f. */
function laws(what: string, f: Fn, args: VArray[], vmaps: { axes: (number | null)[]; args: VArray[] }[] = []): void {
  checkJvp(f, args, what);
  checkVjp(f, args, what);
  for (const v of vmaps) checkVmap(f, v.args, v.axes, what);
}

// ---------------------------------------------------------------- reshape, transpose, rev

test('reshape: jvp, vjp, vmap (batch dim at 0 and 1)', () => {
  const f: Fn = (x) => lax.reshape(x, [4, 6]);
  laws('reshape', f, [rand([2, 3, 4])], [{ axes: [0], args: [rand([3, 2, 3, 4])] }, { axes: [1], args: [rand([2, 5, 3, 4])] }]);
  laws('reshape to scalar', (x) => lax.reshape(x, []), [rand([1, 1])], [{ axes: [2], args: [rand([1, 1, 3])] }]);
});

test('transpose: jvp, vjp, vmap (batch dims at 0, 1, 2)', () => {
  const f: Fn = (x) => lax.transpose(x, [2, 0, 1]);
  laws('transpose', f, [rand([2, 3, 4])], [
    { axes: [0], args: [rand([5, 2, 3, 4])] },
    { axes: [1], args: [rand([2, 5, 3, 4])] },
    { axes: [3], args: [rand([2, 3, 4, 5])] },
  ]);
});

test('rev: jvp, vjp, vmap', () => {
  const f: Fn = (x) => lax.rev(x, [0, 2]);
  laws('rev', f, [rand([2, 3, 4])], [{ axes: [1], args: [rand([2, 5, 3, 4])] }, { axes: [3], args: [rand([2, 3, 4, 5])] }]);
});

// ---------------------------------------------------------------- slice

test('slice: strided, jvp, vjp, vmap', () => {
  const f: Fn = (x) => lax.slice(x, [1, 0], [7, 5], [2, 2]);
  laws('strided slice', f, [rand([7, 6])], [{ axes: [1], args: [rand([7, 3, 6])] }, { axes: [0], args: [rand([3, 7, 6])] }]);
  laws('slice to the end, stride 3', (x) => lax.slice(x, [0, 2], [3, 9], [1, 3]), [rand([4, 9])]);
});

test('slice: the transpose of a strided slice is a pad with interior zeros', () => {
  const x = rand([7]);
  const [, pullback] = vjp((x: VArray) => lax.slice(x, [1], [6], [2]), x);
  const [ct] = (pullback as (c: VArray) => VArray[])(np.array(Float32Array.from([1, 2, 3]), 'float32'));
  assert.equal(vals(ct), [0, 1, 0, 2, 0, 3, 0]);
});

test('slice: empty result has a zero cotangent', () => {
  const x = rand([3, 4]);
  const [, pullback] = vjp((x: VArray) => lax.slice(x, [1, 2], [1, 4]), x);
  const [ct] = (pullback as (c: VArray) => VArray[])(np.zeros([0, 2]));
  assert.equal([...ct.shape], [3, 4]);
  assert.ok(vals(ct).every((v) => v === 0));
});

// ---------------------------------------------------------------- pad

const PADS: [string, [number, number, number][]][] = [
  ['low/high', [[1, 2, 0], [0, 1, 0]]],
  ['interior', [[1, 0, 2], [0, 1, 1]]],
  ['negative low/high', [[-1, 2, 1], [2, -2, 0]]],
  ['cropping into the interior', [[-2, -1, 2], [-1, 0, 1]]],
];

for (const [name, config] of PADS) {
  test(`pad (${name}): jvp, vjp in operand and padding value, vmap`, () => {
    const f: Fn = (x, v) => lax.pad(x, v, config);
    laws(`pad ${name}`, f, [rand([3, 4]), scalarF(0.7)], [
      { axes: [1, null], args: [rand([3, 2, 4]), scalarF(0.7)] },
      { axes: [null, 0], args: [rand([3, 4]), rand([2])] },
      { axes: [2, 0], args: [rand([3, 4, 2]), rand([2])] },
    ]);
  });
}

test('pad: padding-value cotangent counts the padded positions', () => {
  const x = rand([3, 2]);
  const g = grad((v: VArray) => np.sum(lax.pad(x, v, [[1, 1, 1], [0, -1, 0]])))(scalarF(0)) as VArray;
  // Output 7×1: rows are pad, x0, pad, x1, pad, x2, pad; the last column is cropped.
  assert.equal(vals(g), [4]);
});

// ---------------------------------------------------------------- concatenate

test('concatenate: jvp, vjp for every operand, vmap with mixed batch dims', () => {
  const f: Fn = (a, b, c) => lax.concatenate([a, b, c], 1);
  laws('concatenate', f, [rand([2, 3]), rand([2, 1]), rand([2, 2])], [
    { axes: [0, 1, null], args: [rand([4, 2, 3]), rand([2, 4, 1]), rand([2, 2])] },
    { axes: [null, null, 2], args: [rand([2, 3]), rand([2, 1]), rand([2, 2, 4])] },
  ]);
  laws('concatenate with an empty operand', (a, b) => lax.concatenate([a, b], 0), [rand([0, 3]), rand([2, 3])]);
});

// ---------------------------------------------------------------- gather and scatter_add

const IND = ints([2, -1, 7, 0, 2, 1], [2, 3]); // negative and out-of-range (clamped) and repeated indices

test('gather: jvp, vjp (repeated indices accumulate), vmap of the operand, the indices, both', () => {
  const f: Fn = (x, i) => lax.gather(x, i, 1);
  laws('gather', f, [rand([4, 5, 3]), IND], [
    { axes: [1, null], args: [rand([4, 2, 5, 3]), IND] },
    { axes: [null, 0], args: [rand([4, 5, 3]), ints([0, 1, 2, 3, -2, 9, 4, 4], [2, 4])] },
    { axes: [null, 1], args: [rand([4, 5, 3]), ints([0, 1, 2, 3, -2, 9, 4, 4], [4, 2])] },
    { axes: [3, 1], args: [rand([4, 5, 3, 2]), ints([0, 1, 2, 3, -2, 9, 4, 4], [4, 2])] },
    { axes: [0, 0], args: [rand([2, 4, 5, 3]), ints([0, 1, 2, 3, -2, 9, 4, 4], [2, 4])] },
  ]);
  laws('gather axis 0', (x, i) => lax.gather(x, i, 0), [rand([5, 2]), ints([4, 4, -5])], [
    { axes: [1, 0], args: [rand([5, 3, 2]), ints([4, 0, -1, 2, 8, -9], [3, 2])] },
  ]);
  laws('gather last axis, scalar index', (x, i) => lax.gather(x, i, 1), [rand([3, 4]), ints([-1], [])], [
    { axes: [0, 0], args: [rand([2, 3, 4]), ints([3, -4])] },
  ]);
});

test('scatter_add: jvp, vjp in operand and updates, vmap of every combination', () => {
  const f: Fn = (x, i, u) => lax.scatterAdd(x, i, u, 1);
  const x = rand([4, 5, 3]), u = rand([4, 2, 3, 3]);
  laws('scatter_add', f, [x, IND, u], [
    { axes: [0, null, null], args: [rand([2, 4, 5, 3]), IND, u] },
    { axes: [null, null, 2], args: [x, IND, rand([4, 2, 2, 3, 3])] },
    { axes: [null, 0, null], args: [x, ints([0, 1, -1, 9, 2, 2], [2, 3]), rand([4, 3, 3])] },
    { axes: [1, 1, 0], args: [rand([4, 2, 5, 3]), ints([0, 1, -1, 9, 2, 2], [3, 2]), rand([2, 4, 3, 3])] },
  ]);
});

// ---------------------------------------------------------------- dynamic_slice / dynamic_update_slice

const ds = (s0: VArray, s1: VArray): Fn => (x) => lax.dynamicSlice(x, [s0, s1], [2, 3]);
const i0 = (v: number) => ints([v], []);

test('dynamic_slice: jvp, vjp (clamped starts), vmap of the operand, the starts, both', () => {
  for (const [a, b] of [[1, 2], [3, -4], [9, 1]]) laws(`dynamic_slice at ${a},${b}`, ds(i0(a), i0(b)), [rand([4, 5])]);
  const f: Fn = (x, s0, s1) => lax.dynamicSlice(x, [s0, s1], [2, 3]);
  laws('dynamic_slice with traced starts', f, [rand([4, 5]), i0(1), i0(2)], [
    { axes: [1, null, null], args: [rand([4, 3, 5]), i0(1), i0(2)] },
    { axes: [null, 0, null], args: [rand([4, 5]), ints([0, 1, 2, 7]), i0(1)] },
    { axes: [null, 0, 0], args: [rand([4, 5]), ints([0, 3, -1, 2]), ints([2, 0, 9, 1])] },
    { axes: [2, null, 0], args: [rand([4, 5, 3]), i0(2), ints([-2, 1, 4])] },
  ]);
});

test('dynamic_update_slice: jvp, vjp in operand and update, vmap of every combination', () => {
  const f: Fn = (x, u, s0, s1) => lax.dynamicUpdateSlice(x, u, [s0, s1]);
  const x = rand([4, 5]), u = rand([2, 3]);
  for (const [a, b] of [[1, 2], [3, -1], [9, 9]]) laws(`dynamic_update_slice at ${a},${b}`, (x, u) => f(x, u, i0(a), i0(b)), [x, u]);
  laws('dynamic_update_slice', f, [x, u, i0(1), i0(1)], [
    { axes: [1, null, null, null], args: [rand([4, 3, 5]), u, i0(1), i0(1)] },
    { axes: [null, 2, null, null], args: [x, rand([2, 3, 3]), i0(0), i0(2)] },
    { axes: [null, null, 0, null], args: [x, u, ints([0, 3, -1]), i0(1)] },
    { axes: [1, 0, 0, 0], args: [rand([4, 3, 5]), rand([3, 2, 3]), ints([0, 3, 2]), ints([5, 1, 0])] },
  ]);
});

// ---------------------------------------------------------------- transforms of transforms

test('vmap of grad and grad of vmap through the transposes (pad, scatter_add, dynamic_update_slice)', () => {
  const loss = (x: VArray, i: VArray, s: VArray) =>
    np.sum(np.sin(np.add(np.take(lax.pad(x, 0.5, [[1, -1, 1]]), i), lax.dynamicSlice(x, [s], [3]).sum())));
  const xs = rand([3, 4]), is = ints([0, 2, -1, 5, 1, 1], [3, 2]), ss = ints([0, 2, 9]);
  const got = vmap(grad(loss))(xs, is, ss) as VArray;
  const want = np.stack([0, 1, 2].map((b) => grad(loss)(np.take(xs, b, 0), np.take(is, b, 0), np.take(ss, b, 0)) as VArray));
  close(got, want, 1e-5, 'vmap(grad)');
  const total = (x: VArray) => np.sum(vmap(loss)(x, is, ss) as VArray);
  close(grad(total)(xs) as VArray, want, 1e-5, 'grad(vmap)');
});

test('second order: jvp of grad (the rules of the transposes differentiate)', () => {
  const x = rand([5]);
  const f = (x: VArray) => np.sum(np.mul(np.sin(lax.dynamicUpdateSlice(np.pad(x, [[2, 1]]), np.flip(x.slice('1:4')), [3])), 1.5));
  const t = rand([5]);
  const [, hvp] = jvp(grad(f), [x], [t]) as unknown as [VArray, VArray];
  const h = 1e-2;
  const fd = np.div(np.sub(grad(f)(np.add(x, np.mul(t, h))) as VArray, grad(f)(np.sub(x, np.mul(t, h))) as VArray), 2 * h);
  close(hvp, fd, 5e-3, 'Hessian-vector product');
});

// ---------------------------------------------------------------- end-to-end gradients

/** grad(loss) at x against central differences along a random direction. */
function checkGrad(what: string, loss: (x: VArray) => VArray, x: VArray): void {
  const g = grad(loss)(x) as VArray;
  assert.equal([...g.shape], [...x.shape], `${what}: grad shape`);
  const t = rand([...x.shape]), h = 1e-2;
  const fd = (vals(loss(np.add(x, np.mul(t, h))))[0] - vals(loss(np.sub(x, np.mul(t, h))))[0]) / (2 * h);
  closeNum(dot(g, t), fd, 2e-3, `${what}: <grad, t> vs finite differences`);
}
const smooth = (y: VArray) => np.sum(np.mul(np.sin(y), np.cos(y)));

test('grad through np.take counts repeated indices', () => {
  const g = grad((x: VArray) => np.sum(np.take(x, [0, 0, -1, 7], 0)))(rand([4])) as VArray;
  assert.equal(vals(g), [2, 0, 0, 2]);
  checkGrad('np.take axis 1', (x) => smooth(np.take(x, ints([2, 0, 2, -1], [2, 2]), 1)), rand([3, 4]));
  checkGrad('np.take flattened', (x) => smooth(np.take(x, [5, 1, 1])), rand([2, 3]));
});

test('grad through x.slice(...) (NumPy slicing)', () => {
  checkGrad('x.slice', (x) => smooth(x.slice('1:', '::2')), rand([4, 5]));
  checkGrad('x.slice negative step', (x) => smooth(x.slice('::-2', 1)), rand([5, 3]));
  const g = grad((x: VArray) => np.sum(x.slice('1:5:2')))(rand([6])) as VArray;
  assert.equal(vals(g), [0, 1, 0, 1, 0, 0]);
});

test('grad through np.concatenate, np.pad, np.flip, np.reshape, np.transpose', () => {
  checkGrad('np.concatenate', (x) => smooth(np.concatenate([x, np.mul(x, 2), x.slice('0:1')], 0)), rand([3, 2]));
  checkGrad('np.pad constant', (x) => smooth(np.pad(x, [[1, 2], [0, 3]], { constantValue: 0.25 })), rand([2, 3]));
  checkGrad('np.pad reflect', (x) => smooth(np.pad(x, [[2, 1]], { mode: 'reflect' })), rand([4]));
  const w23 = rand([2, 3]), w32 = rand([3, 2]), w432 = rand([4, 3, 2]);
  checkGrad('np.flip', (x) => smooth(np.mul(np.flip(x, 1), w23)), rand([2, 3]));
  checkGrad('np.reshape', (x) => smooth(np.mul(np.reshape(x, [3, 2]), w32)), rand([2, 3]));
  checkGrad('np.transpose', (x) => smooth(np.mul(np.transpose(x), w432)), rand([2, 3, 4]));
  const x22 = rand([2, 2]);
  const gc = grad((v: VArray) => np.sum(np.pad(x22, [[1, 0], [0, 1]], { constantValue: v })))(scalarF(0.5)) as VArray;
  assert.equal(vals(gc), [5]);
});

test('grad through lax.dynamicSlice / lax.dynamicUpdateSlice with traced starts', () => {
  const s = i0(3);
  const g = grad((x: VArray, s: VArray) => np.sum(lax.dynamicSlice(x, [s], [2])))(rand([4]), s) as VArray;
  assert.equal(vals(g), [0, 0, 1, 1]); // start 3 is clamped to 2
  checkGrad('dynamicSlice', (x) => smooth(lax.dynamicSlice(x, [i0(1), s], [2, 2])), rand([3, 4]));
  const u = rand([2]);
  const [gx, gu] = grad((x: VArray, u: VArray) => np.sum(np.mul(lax.dynamicUpdateSlice(x, u, [i0(1)]), np.arange(5))), { argnums: [0, 1] })(rand([5]), u) as VArray[];
  assert.equal(vals(gx), [0, 0, 0, 3, 4]);
  assert.equal(vals(gu), [1, 2]);
  checkGrad('dynamicUpdateSlice', (x) => smooth(lax.dynamicUpdateSlice(x, np.mul(x.slice('0:2'), 3), [i0(1), i0(2)])), rand([3, 4]));
});

test('jit(grad) through movement and indexing equals grad', () => {
  const loss = (x: VArray) => smooth(np.concatenate([np.take(np.flip(x, 0), [1, 1, 0]), lax.dynamicSlice(np.pad(x, [[1, 1]]), [i0(2)], [3])]));
  const x = rand([4]);
  close(jit(grad(loss))(x) as VArray, grad(loss)(x) as VArray, 1e-5, 'jit(grad)');
});

test.run();
