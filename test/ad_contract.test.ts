/**
 * Transformation rules of the contractions (dot_general, conv_general_dilated): jvp against
 * central finite differences, vjp against jvp through the inner-product identity
 * ⟨J t, c⟩ = ⟨t, Jᵀ c⟩, and vmap against a loop + stack, with dimension numbers, strides,
 * paddings, dilations and groups in unusual combinations.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jvp, lax, np, vjp, vmap, type Array as VArray } from '../src/index.js';
import type { ConvOptions, Padding } from '../src/core/lax.js';
import { assertClose, lcg, scaledTol } from './helpers.js';

const rng = lcg(20240611);
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** Random float32 array with entries in [-1, 1). */
const rand = (shape: number[]): VArray => lax.reshape(np.array(Float32Array.from({ length: prod(shape) }, () => rng() * 2 - 1)), shape);
const vals = (x: VArray): number[] => Array.from(x.dataSync());
const dotF64 = (a: VArray, b: VArray): number => {
  const x = vals(a), y = vals(b);
  return x.reduce((s, v, i) => s + v * y[i], 0);
};
const axpy = (x: VArray, t: VArray, eps: number): VArray => np.add(x, np.mul(t, eps));

type F = (...xs: VArray[]) => VArray;

/**
 * The laws every bilinear/linear rule must satisfy at `primals`:
 * - jvp equals the central difference (f(x + εt) − f(x − εt)) / 2ε along random t;
 * - ⟨J t, c⟩ = ⟨t, Jᵀ c⟩ for random c, with Jᵀ c from vjp (one cotangent per argument).
 */
function checkAd(f: F, primals: VArray[], what: string, eps = 1e-2): void {
  const tangents = primals.map((p) => rand([...p.shape]));
  const [out, tOut] = jvp(f, primals, tangents) as [VArray, VArray];
  const ref = f(...primals);
  assertClose(vals(out), vals(ref), scaledTol(1e-5), `${what}: jvp primal`);
  const plus = f(...primals.map((p, i) => axpy(p, tangents[i], eps)));
  const minus = f(...primals.map((p, i) => axpy(p, tangents[i], -eps)));
  const fd = np.div(np.sub(plus, minus), 2 * eps);
  assertClose(vals(tOut), vals(fd), scaledTol(2e-3), `${what}: jvp vs finite differences`);
  const ct = rand([...out.shape]);
  const [, back] = vjp(f, ...primals);
  const cts = back(ct) as VArray[];
  cts.forEach((c, i) => {
    assert.equal([...c.shape], [...primals[i].shape], `${what}: cotangent ${i} shape`);
    assert.is(c.dtype, primals[i].dtype, `${what}: cotangent ${i} dtype`);
  });
  const lhs = dotF64(tOut, ct);
  const rhs = cts.reduce((s, c, i) => s + dotF64(tangents[i], c), 0);
  assert.ok(Math.abs(lhs - rhs) <= 1e-4 * (1 + Math.abs(lhs)), `${what}: <J t, c> = ${lhs} but <t, J^T c> = ${rhs}`);
  // Each operand alone (the other a constant): the transpose of one side only.
  primals.forEach((_, i) => {
    const g = (x: VArray) => f(...primals.map((p, j) => (j === i ? x : p)));
    const [, ti] = jvp(g, [primals[i]], [tangents[i]]) as [VArray, VArray];
    const [ci] = vjp(g, primals[i])[1](ct) as VArray[];
    const l = dotF64(ti, ct), r = dotF64(tangents[i], ci);
    assert.ok(Math.abs(l - r) <= 1e-4 * (1 + Math.abs(l)), `${what}: operand ${i} alone: <J t, c> = ${l} but <t, J^T c> = ${r}`);
  });
}

// ------------------------------------------------------------------ dot_general

type DotDims = Parameters<typeof lax.dotGeneral>[2];
const dotCases: [string, number[], number[], DotDims][] = [
  ['matmul', [3, 4], [4, 5], [[[1], [0]], [[], []]]],
  ['contract first dims (aᵀb)', [4, 3], [4, 5], [[[0], [0]], [[], []]]],
  ['batch and contracting dims in unusual positions', [4, 3, 2, 5], [6, 5, 3, 4], [[[0, 3], [3, 1]], [[1], [2]]]],
  ['contracting order differs from rhs order', [4, 5, 2], [5, 3, 4], [[[1, 0], [0, 2]], [[], []]]],
  ['two batch dims in swapped order', [2, 3, 4, 5], [5, 4, 6, 2], [[[3], [0]], [[0, 2], [3, 1]]]],
  ['inner product to a scalar', [3, 4], [3, 4], [[[0, 1], [0, 1]], [[], []]]],
  ['outer product (no contraction)', [3], [2, 2], [[[], []], [[], []]]],
  ['batch only (elementwise product)', [3, 2], [2, 3], [[[], []], [[1, 0], [0, 1]]]],
];
for (const [name, sa, sb, dims] of dotCases) {
  test(`dot_general ad: ${name}`, () => {
    checkAd((a, b) => lax.dotGeneral(a, b, dims), [rand(sa), rand(sb)], `dot_general ${name}`);
  });
}

test('dot_general jvp: a symbolic zero tangent on either side drops its term', () => {
  const a = rand([3, 4]), b = rand([4, 2]), ta = rand([3, 4]), tb = rand([4, 2]);
  const [, t1] = jvp((x: VArray) => lax.dotGeneral(x, b, [[[1], [0]], [[], []]]), [a], [ta]) as [VArray, VArray];
  assertClose(vals(t1), vals(np.matmul(ta, b)), scaledTol(1e-5), 'lhs tangent only');
  const [, t2] = jvp((y: VArray) => lax.dotGeneral(a, y, [[[1], [0]], [[], []]]), [b], [tb]) as [VArray, VArray];
  assertClose(vals(t2), vals(np.matmul(a, tb)), scaledTol(1e-5), 'rhs tangent only');
  // d(x·x) = ẋ·x + x·ẋ
  const [, t3] = jvp((x: VArray) => lax.dotGeneral(x, x, [[[0], [0]], [[], []]]), [lax.reshape(a, [12])], [lax.reshape(ta, [12])]) as [VArray, VArray];
  assert.ok(Math.abs(vals(t3)[0] - 2 * dotF64(a, ta)) < 1e-4, 'x·x');
});

test('np.matmul / dot / einsum gradients', () => {
  checkAd((a, b) => np.matmul(a, b), [rand([3, 4]), rand([4, 2])], 'matmul 2-D');
  checkAd((a, b) => np.matmul(a, b), [rand([4]), rand([2, 4, 3])], 'matmul vector @ batched');
  checkAd((a, b) => np.matmul(a, b), [rand([2, 1, 3, 4]), rand([5, 4, 2])], 'matmul broadcast batch');
  checkAd((a, b) => np.dot(a, b), [rand([2, 3, 4]), rand([5, 4, 2])], 'dot N-D');
  checkAd((a, b) => np.einsum('ij,jk->ik', a, b), [rand([3, 4]), rand([4, 2])], 'einsum ij,jk->ik');
  checkAd((a, b) => np.einsum('bij,bjk->bki', a, b), [rand([2, 3, 4]), rand([2, 4, 5])], 'einsum bij,bjk->bki');
  checkAd((a, b) => np.einsum('ijk,kj->i', a, b), [rand([3, 4, 2]), rand([2, 4])], 'einsum ijk,kj->i');
  checkAd((a, b, c) => np.einsum('ab,bc,cd->da', a, b, c), [rand([2, 3]), rand([3, 4]), rand([4, 2])], 'einsum chain');
});

// ------------------------------------------------------------------ conv_general_dilated

interface ConvCase {
  name: string;
  lhs: number[];
  rhs: number[];
  strides?: number[];
  padding: Padding;
  opts?: ConvOptions;
}
const convCases: ConvCase[] = [
  { name: '1-D stride 2, asymmetric padding', lhs: [2, 3, 9], rhs: [4, 3, 3], strides: [2], padding: [[1, 2]] },
  { name: '1-D stride not dividing, negative padding', lhs: [2, 2, 10], rhs: [3, 2, 3], strides: [3], padding: [[-1, 1]] },
  { name: '1-D lhs and rhs dilation', lhs: [1, 2, 5], rhs: [2, 2, 3], strides: [2], padding: [[2, 1]], opts: { lhsDilation: [3], rhsDilation: [2] } },
  { name: '2-D NCHW strides, asymmetric padding, rhs dilation', lhs: [2, 3, 7, 6], rhs: [4, 3, 3, 2], strides: [2, 1], padding: [[2, 0], [1, 3]], opts: { rhsDilation: [1, 2] } },
  { name: '2-D NHWC/HWIO SAME', lhs: [2, 5, 6, 3], rhs: [3, 3, 3, 4], strides: [2, 2], padding: 'SAME', opts: { dimensionNumbers: ['NHWC', 'HWIO', 'NHWC'] } },
  { name: '2-D lhs dilation (transposed conv)', lhs: [1, 2, 4, 3], rhs: [3, 2, 3, 3], strides: [1, 2], padding: [[2, 2], [1, 0]], opts: { lhsDilation: [2, 3] } },
  { name: '2-D unusual layouts', lhs: [5, 2, 3, 6], rhs: [2, 3, 4, 3], strides: [1, 2], padding: [[1, 1], [0, 2]], opts: { dimensionNumbers: ['HNCW', 'WIHO', 'CWNH'] } },
  { name: '3-D strides and padding', lhs: [1, 2, 4, 5, 3], rhs: [2, 2, 2, 3, 2], strides: [1, 2, 1], padding: [[1, 0], [1, 1], [0, 1]] },
  { name: '3-D NDHWC, all dilations', lhs: [1, 3, 4, 3, 2], rhs: [2, 2, 2, 2, 3], strides: [2, 1, 1], padding: [[1, 1], [0, 2], [1, 0]], opts: { dimensionNumbers: ['NDHWC', 'DHWIO', 'NDHWC'], lhsDilation: [1, 2, 1], rhsDilation: [2, 1, 1] } },
  { name: 'feature groups', lhs: [2, 4, 7], rhs: [6, 2, 3], strides: [2], padding: [[1, 1]], opts: { featureGroupCount: 2 } },
  { name: 'depthwise 2-D (multiplier 2)', lhs: [2, 3, 5, 5], rhs: [6, 1, 3, 3], strides: [2, 1], padding: [[1, 1], [0, 2]], opts: { featureGroupCount: 3 } },
  { name: 'feature groups, NHWC with dilations', lhs: [1, 5, 4, 4], rhs: [2, 2, 2, 6], strides: [1, 1], padding: [[1, 0], [0, 1]], opts: { dimensionNumbers: ['NHWC', 'HWIO', 'NHWC'], featureGroupCount: 2, rhsDilation: [2, 1], lhsDilation: [1, 2] } },
  { name: 'batch groups', lhs: [4, 3, 6], rhs: [4, 3, 2], strides: [2], padding: [[0, 1]], opts: { batchGroupCount: 2 } },
  { name: 'batch groups 2-D, unusual layouts', lhs: [4, 6, 2, 5], rhs: [3, 2, 2, 2], strides: [2, 1], padding: [[1, 0], [1, 1]], opts: { batchGroupCount: 3, dimensionNumbers: ['HNCW', 'OHIW', 'NHWC'], rhsDilation: [1, 2] } },
];

const convOf = (c: ConvCase) => (l: VArray, r: VArray) => lax.convGeneralDilated(l, r, c.strides, c.padding, c.opts);

for (const c of convCases) {
  test(`conv_general_dilated ad: ${c.name}`, () => {
    checkAd(convOf(c), [rand(c.lhs), rand(c.rhs)], `conv ${c.name}`);
  });
}

test('second order: the conv cotangent maps are themselves differentiable and transposable', () => {
  for (const c of [convCases[1], convCases[2], convCases[5], convCases[10], convCases[12], convCases[13]]) {
    const x = rand(c.lhs), w = rand(c.rhs);
    const outShape = [...convOf(c)(x, w).shape];
    // (w, ct) ↦ lhs cotangent and (x, ct) ↦ rhs cotangent are bilinear: the conv transposes' own rules.
    const lhsCt = (wv: VArray, ct: VArray) => (vjp((l: VArray) => convOf(c)(l, wv), x)[1](ct) as VArray[])[0];
    const rhsCt = (xv: VArray, ct: VArray) => (vjp((r: VArray) => convOf(c)(xv, r), w)[1](ct) as VArray[])[0];
    checkAd(lhsCt, [w, rand(outShape)], `conv ${c.name}: lhs cotangent map`);
    checkAd(rhsCt, [x, rand(outShape)], `conv ${c.name}: rhs cotangent map`);
  }
});

test('second order: the dot_general cotangent maps', () => {
  const dims: DotDims = [[[0, 3], [3, 1]], [[1], [2]]];
  const a = rand([4, 3, 2, 5]), b = rand([6, 5, 3, 4]), ct = rand([3, 2, 6]);
  checkAd((bv, c) => (vjp((x: VArray) => lax.dotGeneral(x, bv, dims), a)[1](c) as VArray[])[0], [b, ct], 'dot lhs cotangent map');
  checkAd((av, c) => (vjp((y: VArray) => lax.dotGeneral(av, y, dims), b)[1](c) as VArray[])[0], [a, ct], 'dot rhs cotangent map');
});

// ------------------------------------------------------------------ vmap

/** Slice index i along `axis` (dropping it). */
const at = (x: VArray, axis: number, i: number): VArray => {
  const start = x.shape.map((_, d) => (d === axis ? i : 0));
  const limit = x.shape.map((s, d) => (d === axis ? i + 1 : s));
  return lax.reshape(lax.slice(x, start, limit), x.shape.filter((_, d) => d !== axis));
};

/** vmap(f, inAxes) equals stacking f over the mapped axis (null: unmapped). */
function checkVmap(f: F, args: VArray[], inAxes: (number | null)[], what: string): void {
  const size = args[inAxes.findIndex((a) => a !== null)].shape[inAxes.find((a) => a !== null)!];
  const got = vmap(f, { inAxes })(...args) as VArray;
  const want = np.stack(Array.from({ length: size }, (_, i) => f(...args.map((a, k) => (inAxes[k] === null ? a : at(a, inAxes[k]!, i))))));
  assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  assertClose(vals(got), vals(want), scaledTol(1e-5), what);
}

/** Insert a batch axis of size `n` at `axis` into `shape`. */
const withAxis = (shape: number[], axis: number | null, n: number) => (axis === null ? shape : [...shape.slice(0, axis), n, ...shape.slice(axis)]);

test('vmap dot_general: batch dims in every position, one or both operands', () => {
  const dims: DotDims = [[[0, 3], [3, 1]], [[1], [2]]];
  const f = (a: VArray, b: VArray) => lax.dotGeneral(a, b, dims);
  const sa = [4, 3, 2, 5], sb = [6, 5, 3, 4];
  for (const [da, db] of [[0, 0], [2, 4], [4, 1], [1, null], [3, null], [4, null], [null, 0], [null, 2], [null, 4]] as [number | null, number | null][])
    checkVmap(f, [rand(withAxis(sa, da, 3)), rand(withAxis(sb, db, 3))], [da, db], `dot_general vmap ${da},${db}`);
  const mm = (a: VArray, b: VArray) => np.matmul(a, b);
  checkVmap(mm, [rand([3, 4, 2]), rand([2, 5])], [1, null], 'matmul vmap lhs axis 1');
  checkVmap(mm, [rand([3, 4]), rand([4, 5, 2])], [null, 2], 'matmul vmap rhs axis 2');
  checkVmap(mm, [rand([2, 3, 4]), rand([4, 2, 5])], [0, 1], 'matmul vmap both');
  checkVmap((a, b) => np.einsum('ij,jk->ik', a, b), [rand([3, 4, 2]), rand([4, 5])], [2, null], 'einsum vmap');
});

const convVmapCases: ConvCase[] = [
  convCases[0], convCases[3], convCases[4], convCases[6], convCases[7], convCases[9], convCases[10], convCases[12], convCases[13],
];
for (const c of convVmapCases) {
  test(`vmap conv_general_dilated: ${c.name}`, () => {
    const f = convOf(c);
    const n = 3;
    const axesList: [number | null, number | null][] = [[0, null], [c.lhs.length, null], [null, 0], [null, 2], [0, 0], [1, c.rhs.length], [2, 1]];
    for (const [dl, dr] of axesList)
      checkVmap(f, [rand(withAxis(c.lhs, dl, n)), rand(withAxis(c.rhs, dr, n))], [dl, dr], `conv ${c.name} vmap ${dl},${dr}`);
  });
}

test('vmap of a conv gradient over the kernel only (per-example kernels)', () => {
  const c = convCases[10];
  const x = rand(c.lhs), ws = rand([2, ...c.rhs]);
  const f = (w: VArray) => convOf(c)(x, w);
  checkVmap(f, [ws], [0], 'vmap conv over kernel');
  const ct = rand([...f(at(ws, 0, 0)).shape]);
  const gradW = (w: VArray) => (vjp(f, w)[1](ct) as VArray[])[0];
  checkVmap(gradW, [ws], [0], 'vmap of the kernel cotangent');
});

test.run();
