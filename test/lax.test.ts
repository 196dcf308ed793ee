/** lax: parameter handling (padding types, dimension numbers, windows, dynamic slices) against hand computations and naive references. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DTypeError, ShapeError, ValueError, lax, np } from '../src/index.js';
import { assertCloseToRef, flatIndex, prod, refSampler, unravel, type Ref } from './helpers.js';

// ---------------------------------------------------------------- helpers

const rand = refSampler(21, 10);

/** Transpose a reference array: output dim i is input dim perm[i]. */
function permute(r: Ref, perm: readonly number[]): Ref {
  const shape = perm.map((p) => r.shape[p]);
  const data = Array.from({ length: r.data.length }, (_, f) => {
    const o = unravel(f, shape);
    const src = new Array<number>(perm.length);
    perm.forEach((p, i) => (src[p] = o[i]));
    return r.data[flatIndex(src, r.shape)];
  });
  return { shape, data };
}

interface ConvP {
  strides: number[];
  pads: [number, number][];
  lhsDil?: number[];
  rhsDil?: number[];
  groups?: number;
}
/** Naive conv_general_dilated in canonical layout: lhs (N, C, …), rhs (O, C/groups, …), out (N, O, …). */
function convRef(lhs: Ref, rhs: Ref, p: ConvP): Ref {
  const nd = lhs.shape.length - 2;
  const ld = p.lhsDil ?? new Array(nd).fill(1), rd = p.rhsDil ?? new Array(nd).fill(1), G = p.groups ?? 1;
  const [N] = lhs.shape, [O, I] = rhs.shape;
  const sp = lhs.shape.slice(2).map((s, d) => {
    const padded = (s - 1) * ld[d] + 1 + p.pads[d][0] + p.pads[d][1];
    const w = (rhs.shape[d + 2] - 1) * rd[d] + 1;
    return padded < w ? 0 : Math.floor((padded - w) / p.strides[d]) + 1;
  });
  const shape = [N, O, ...sp];
  const win = rhs.shape.slice(2);
  const data = Array.from({ length: prod(shape) }, (_, f) => {
    const [n, o, ...op] = unravel(f, shape);
    const g = Math.floor(o / (O / G));
    let s = 0;
    for (let ci = 0; ci < I; ci++)
      for (let wf = 0; wf < prod(win); wf++) {
        const w = unravel(wf, win);
        const li = [n, g * I + ci];
        let ok = true;
        for (let d = 0; d < nd; d++) {
          const q = op[d] * p.strides[d] - p.pads[d][0] + w[d] * rd[d];
          const i = q / ld[d];
          ok = ok && q >= 0 && Number.isInteger(i) && i < lhs.shape[d + 2];
          li.push(i);
        }
        if (ok) s += lhs.data[flatIndex(li, lhs.shape)] * rhs.data[flatIndex([o, ci, ...w], rhs.shape)];
      }
    return s;
  });
  return { shape, data };
}

// ---------------------------------------------------------------- padding types

test('padtypeToPads: SAME / SAME_LOWER / VALID by hand', () => {
  assert.equal(lax.padtypeToPads([5], [3], [1], 'SAME'), [[1, 1]]);
  assert.equal(lax.padtypeToPads([6, 6], [3, 3], [2, 2], 'SAME'), [[0, 1], [0, 1]]);
  assert.equal(lax.padtypeToPads([6, 6], [3, 3], [2, 2], 'SAME_LOWER'), [[1, 0], [1, 0]]);
  assert.equal(lax.padtypeToPads([7], [4], [3], 'SAME'), [[1, 2]]); // out 3: total 2*3 + 4 - 7 = 3
  assert.equal(lax.padtypeToPads([2], [1], [4], 'SAME'), [[0, 0]]); // never negative
  assert.equal(lax.padtypeToPads([8, 3], [3, 2], [1, 1], 'VALID'), [[0, 0], [0, 0]]);
  assert.throws(() => lax.padtypeToPads([3], [1], [1], 'FULL' as 'SAME'), /^padtypeToPads: unknown padding type 'FULL'/);
});

test('convGeneralDilated: SAME / VALID pads equal the hand-computed explicit pads', () => {
  const x = rand([2, 3, 7, 6]), w = rand([4, 3, 3, 2]);
  const same = lax.convGeneralDilated(x.arr, w.arr, [1, 1], 'SAME');
  assert.equal(same.shape, [2, 4, 7, 6]);
  // H: total 3 - 1 = 2 → [1, 1]; W: total 2 - 1 = 1 → [0, 1].
  assertCloseToRef(same, convRef(x.ref, w.ref, { strides: [1, 1], pads: [[1, 1], [0, 1]] }), 'SAME');
  assertCloseToRef(lax.convGeneralDilated(x.arr, w.arr, [1, 1], 'SAME_LOWER'), convRef(x.ref, w.ref, { strides: [1, 1], pads: [[1, 1], [1, 0]] }), 'SAME_LOWER');
  const valid = lax.convGeneralDilated(x.arr, w.arr, [2, 1], 'VALID');
  assertCloseToRef(valid, convRef(x.ref, w.ref, { strides: [2, 1], pads: [[0, 0], [0, 0]] }), 'VALID strided');
  assert.equal(valid.shape, [2, 4, 3, 5]);
  // Strided SAME: out = ceil(in / stride). H: out 4, total 3*2 + 3 - 7 = 2 → [1, 1]; W: out 2, total 1*3 + 2 - 6 < 0 → [0, 0].
  const ss = lax.convGeneralDilated(x.arr, w.arr, [2, 3], 'SAME');
  assert.equal(ss.shape, [2, 4, 4, 2]);
  assertCloseToRef(ss, convRef(x.ref, w.ref, { strides: [2, 3], pads: [[1, 1], [0, 0]] }), 'SAME strided');
  // rhs dilation enlarges the effective kernel: H 3 → 5 (total 4 → [2, 2]), W 2 → 4 (total 3 → [1, 2]).
  const sd = lax.convGeneralDilated(x.arr, w.arr, [1, 1], 'SAME', { rhsDilation: [2, 3] });
  assert.equal(sd.shape, [2, 4, 7, 6]);
  assertCloseToRef(sd, convRef(x.ref, w.ref, { strides: [1, 1], pads: [[2, 2], [1, 2]], rhsDil: [2, 3] }), 'SAME dilated');
  // Explicit pads, lhs dilation and feature groups together.
  const xg = rand([1, 4, 5, 4]), wg = rand([6, 2, 2, 3]);
  const p: ConvP = { strides: [1, 2], pads: [[1, 0], [2, -1]], lhsDil: [2, 1], rhsDil: [1, 2], groups: 2 };
  assertCloseToRef(lax.convGeneralDilated(xg.arr, wg.arr, p.strides, p.pads, { lhsDilation: p.lhsDil, rhsDilation: p.rhsDil, featureGroupCount: 2 }), convRef(xg.ref, wg.ref, p), 'general');
  // conv is the NCHW/OIHW short form.
  assertCloseToRef(lax.conv(x.arr, w.arr, [1, 1], 'SAME'), convRef(x.ref, w.ref, { strides: [1, 1], pads: [[1, 1], [0, 1]] }), 'conv');
});

test('convGeneralDilated: dimension-number strings', () => {
  assert.equal(lax.convDimensionNumbers([1, 5, 5, 3], [3, 3, 3, 8], ['NHWC', 'HWIO', 'NHWC']), { lhsSpec: [0, 3, 1, 2], rhsSpec: [3, 2, 0, 1], outSpec: [0, 3, 1, 2] });
  assert.equal(lax.convDimensionNumbers([1, 3, 5], [2, 3, 1], undefined), { lhsSpec: [0, 1, 2], rhsSpec: [0, 1, 2], outSpec: [0, 1, 2] });
  // Spatial dims are ordered as in the rhs spec.
  assert.equal(lax.convDimensionNumbers([1, 5, 5, 3], [3, 3, 3, 8], ['NWHC', 'HWIO', 'NHWC']).lhsSpec, [0, 3, 2, 1]);

  const x = rand([2, 3, 7, 6]), w = rand([4, 3, 3, 2]);
  const strides = [2, 1], pads: [number, number][] = [[1, 0], [0, 2]];
  const ref = convRef(x.ref, w.ref, { strides, pads, rhsDil: [1, 2] });
  const xNHWC = lax.transpose(x.arr, [0, 2, 3, 1]), wHWIO = lax.transpose(w.arr, [2, 3, 1, 0]);
  const nhwc = lax.convGeneralDilated(xNHWC, wHWIO, strides, pads, { rhsDilation: [1, 2], dimensionNumbers: ['NHWC', 'HWIO', 'NHWC'] });
  assertCloseToRef(nhwc, permute(ref, [0, 2, 3, 1]), 'NHWC/HWIO/NHWC');
  assertCloseToRef(lax.transpose(nhwc, [0, 3, 1, 2]), ref, 'NHWC result transposed back');
  const mixed = lax.convGeneralDilated(x.arr, wHWIO, strides, pads, { rhsDilation: [1, 2], dimensionNumbers: ['NCHW', 'HWIO', 'NHWC'] });
  assertCloseToRef(mixed, permute(ref, [0, 2, 3, 1]), 'NCHW/HWIO/NHWC');
  assertCloseToRef(lax.convGeneralDilated(x.arr, w.arr, strides, pads, { rhsDilation: [1, 2], dimensionNumbers: ['NCHW', 'OIHW', 'NCHW'] }), ref, 'explicit canonical');
  // SAME with NHWC pads the spatial dims, not the channels.
  const sameNHWC = lax.convGeneralDilated(xNHWC, wHWIO, [1, 1], 'SAME', { dimensionNumbers: ['NHWC', 'HWIO', 'NHWC'] });
  assertCloseToRef(sameNHWC, permute(convRef(x.ref, w.ref, { strides: [1, 1], pads: [[1, 1], [0, 1]] }), [0, 2, 3, 1]), 'SAME NHWC');

  // 1-D and 3-D layouts.
  const x1 = rand([2, 3, 9]), w1 = rand([4, 3, 3]);
  const r1 = convRef(x1.ref, w1.ref, { strides: [2], pads: [[1, 1]] });
  assertCloseToRef(lax.convGeneralDilated(x1.arr, w1.arr, [2], 'SAME', { dimensionNumbers: ['NCH', 'OIH', 'NCH'] }), r1, 'NCH');
  assertCloseToRef(lax.convGeneralDilated(lax.transpose(x1.arr, [0, 2, 1]), lax.transpose(w1.arr, [2, 1, 0]), [2], [[1, 1]], { dimensionNumbers: ['NHC', 'HIO', 'NHC'] }), permute(r1, [0, 2, 1]), 'NHC');
  const x3 = rand([1, 2, 4, 5, 3]), w3 = rand([3, 2, 2, 3, 2]);
  const r3 = convRef(x3.ref, w3.ref, { strides: [1, 2, 1], pads: [[0, 1], [1, 1], [0, 0]] });
  assertCloseToRef(lax.convGeneralDilated(x3.arr, w3.arr, [1, 2, 1], [[0, 1], [1, 1], [0, 0]], { dimensionNumbers: ['NCDHW', 'OIDHW', 'NCDHW'] }), r3, 'NCDHW');
  assertCloseToRef(lax.convGeneralDilated(lax.transpose(x3.arr, [0, 2, 3, 4, 1]), lax.transpose(w3.arr, [2, 3, 4, 1, 0]), [1, 2, 1], [[0, 1], [1, 1], [0, 0]], { dimensionNumbers: ['NDHWC', 'DHWIO', 'NDHWC'] }), permute(r3, [0, 2, 3, 4, 1]), 'NDHWC');
});

test('convGeneralDilated: errors', () => {
  const x = np.zeros([1, 3, 5, 5]), w = np.zeros([2, 3, 3, 3]);
  assert.throws(() => lax.convGeneralDilated(x, w, [1, 1], 'SAME', { lhsDilation: [2, 2] }), (e: Error) =>
    e instanceof ValueError && e.message === "convGeneralDilated: string padding 'SAME' is not supported with lhsDilation [2,2]; give explicit [low, high] pads or use convTranspose");
  assert.throws(() => lax.convGeneralDilated(x, w, [1], 'VALID'), /^convGeneralDilated: windowStrides has 1 entries but there are 2 spatial dims \(lhs \[1,3,5,5\], rhs \[2,3,3,3\]\)$/);
  assert.throws(() => lax.convGeneralDilated(x, w, [1, 1], [[0, 0]]), /^convGeneralDilated: padding has 1 pairs but there are 2 spatial dims/);
  assert.throws(() => lax.convGeneralDilated(x, w, [1, 1], 'FULL' as 'SAME'), /unknown padding type 'FULL'/);
  assert.throws(() => lax.convGeneralDilated(x, w, [1, 1], 'VALID', { dimensionNumbers: ['NCHW', 'XIHW', 'NCHW'] }), /^convGeneralDilated: dimension_numbers\[1\] must contain 'O' and 'I' exactly once/);
  assert.throws(() => lax.convGeneralDilated(x, w, [1, 1], 'VALID', { dimensionNumbers: ['NCH', 'OIH', 'NCH'] }), /^convGeneralDilated: dimension_numbers\[0\] 'NCH' has 3 dims but the operands have rank 4/);
  assert.throws(() => lax.convGeneralDilated(x, w, [1, 1], 'VALID', { dimensionNumbers: ['NCHW', 'OIHD', 'NCHW'] }), /same spatial characters/);
  assert.throws(() => lax.convGeneralDilated(x, np.zeros([2, 3, 3]), [1, 1], 'VALID'), /^convGeneralDilated: lhs \[1,3,5,5\] and rhs \[2,3,3\] must have the same rank/);
  assert.throws(() => lax.convGeneralDilated(x, np.zeros([2, 3, 3, 3], 'int32'), [1, 1], 'VALID'), (e: Error) => e instanceof DTypeError && /^conv_general_dilated: operand dtypes must be equal, got float32 and int32/.test(e.message));
  assert.throws(() => lax.convGeneralDilated(x, np.zeros([2, 4, 3, 3]), [1, 1], 'VALID'), /conv_general_dilated/);
});

test('convTranspose: matches the scatter definition of a transposed convolution', () => {
  const N = 2, L = 5, Ci = 3, Co = 2, K = 3, s = 2;
  const x = rand([N, L, Ci]); // NHC
  const w = rand([K, Ci, Co]); // HIO
  const outL = (L - 1) * s + K;
  // transposeKernel = false: the kernel is used as-is on the dilated input, i.e. scattered flipped.
  const want: Ref = { shape: [N, outL, Co], data: new Array(N * outL * Co).fill(0) };
  for (let n = 0; n < N; n++) for (let i = 0; i < L; i++) for (let k = 0; k < K; k++) for (let c = 0; c < Ci; c++) for (let o = 0; o < Co; o++)
    want.data[flatIndex([n, s * i + (K - 1 - k), o], want.shape)] += x.ref.data[flatIndex([n, i, c], x.ref.shape)] * w.ref.data[flatIndex([k, c, o], w.ref.shape)];
  assertCloseToRef(lax.convTranspose(x.arr, w.arr, [s], 'VALID'), want, 'VALID');
  assert.equal(lax.convTranspose(x.arr, w.arr, [s], 'SAME').shape, [N, L * s, Co]);
  // transposeKernel = true: w is a forward conv's HIO kernel (I = Co here); the result is that conv's input gradient.
  const wf = rand([K, Co, Ci]);
  const want2: Ref = { shape: [N, outL, Co], data: new Array(N * outL * Co).fill(0) };
  for (let n = 0; n < N; n++) for (let i = 0; i < L; i++) for (let k = 0; k < K; k++) for (let c = 0; c < Ci; c++) for (let o = 0; o < Co; o++)
    want2.data[flatIndex([n, s * i + k, o], want2.shape)] += x.ref.data[flatIndex([n, i, c], x.ref.shape)] * wf.ref.data[flatIndex([k, o, c], wf.ref.shape)];
  assertCloseToRef(lax.convTranspose(x.arr, wf.arr, [s], 'VALID', { transposeKernel: true }), want2, 'VALID transposed kernel');
});

// ---------------------------------------------------------------- reduceWindow

type Op = 'sum' | 'max' | 'min';
/** Naive reduce_window: padding and base-dilation holes hold the identity. */
function reduceWindowRef(x: Ref, op: Op, win: number[], st: number[], pad: [number, number][], bd: number[], wd: number[]): Ref {
  const shape = x.shape.map((s, d) => {
    const padded = (s === 0 ? 0 : (s - 1) * bd[d] + 1) + pad[d][0] + pad[d][1];
    const w = (win[d] - 1) * wd[d] + 1;
    return padded < w ? 0 : Math.floor((padded - w) / st[d]) + 1;
  });
  const init = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
  const data = Array.from({ length: prod(shape) }, (_, f) => {
    const o = unravel(f, shape);
    let acc = init;
    for (let wf = 0; wf < prod(win); wf++) {
      const w = unravel(wf, win);
      const idx = o.map((v, d) => (v * st[d] - pad[d][0] + w[d] * wd[d]) / bd[d]);
      if (!idx.every((i, d) => Number.isInteger(i) && i >= 0 && i < x.shape[d])) continue;
      const v = x.data[flatIndex(idx, x.shape)];
      acc = op === 'sum' ? acc + v : op === 'max' ? Math.max(acc, v) : Math.min(acc, v);
    }
    return acc;
  });
  return { shape, data };
}

test('reduceWindow: max and average pooling with padding, strides and dilations', () => {
  const x = rand([2, 3, 7, 6]);
  const ones4 = [1, 1], zp: [number, number][] = [[0, 0], [0, 0]];
  // 2×2 stride-2 max pool (VALID).
  assertCloseToRef(lax.reduceWindow(x.arr, 'max', [1, 1, 2, 2], [1, 1, 2, 2], 'VALID'), reduceWindowRef(x.ref, 'max', [1, 1, 2, 2], [1, 1, 2, 2], [...zp, ...zp], [1, 1, ...ones4], [1, 1, ...ones4]), 'max 2x2');
  // 3×3 stride-1 SAME max pool keeps the shape; padding reads as −∞.
  const m = lax.reduceWindow(x.arr, 'max', [1, 1, 3, 3], [1, 1, 1, 1], 'SAME');
  assert.equal(m.shape, [2, 3, 7, 6]);
  assertCloseToRef(m, reduceWindowRef(x.ref, 'max', [1, 1, 3, 3], [1, 1, 1, 1], [[0, 0], [0, 0], [1, 1], [1, 1]], [1, 1, 1, 1], [1, 1, 1, 1]), 'max SAME');
  // Average pooling: sum / count of valid elements (count from a pooled ones array) and count-including-padding.
  const sum = lax.reduceWindow(x.arr, 'sum', [1, 1, 3, 3], [1, 1, 2, 2], 'SAME');
  const count = lax.reduceWindow(np.onesLike(x.arr), 'sum', [1, 1, 3, 3], [1, 1, 2, 2], 'SAME');
  const pads = lax.padtypeToPads([2, 3, 7, 6], [1, 1, 3, 3], [1, 1, 2, 2], 'SAME');
  assert.equal(pads, [[0, 0], [0, 0], [1, 1], [0, 1]]);
  const sRef = reduceWindowRef(x.ref, 'sum', [1, 1, 3, 3], [1, 1, 2, 2], pads, [1, 1, 1, 1], [1, 1, 1, 1]);
  const cRef = reduceWindowRef({ shape: x.ref.shape, data: x.ref.data.map(() => 1) }, 'sum', [1, 1, 3, 3], [1, 1, 2, 2], pads, [1, 1, 1, 1], [1, 1, 1, 1]);
  assertCloseToRef(sum.div(count), { shape: sRef.shape, data: sRef.data.map((v, i) => v / cRef.data[i]) }, 'avg (exclude pad)');
  assertCloseToRef(sum.div(9), { shape: sRef.shape, data: sRef.data.map((v) => v / 9) }, 'avg (include pad)');
  // Window dilation: SAME pads come from the dilated window (3 → 5 along H).
  const wdil = lax.reduceWindow(x.arr, 'max', [1, 1, 3, 2], [1, 1, 1, 1], 'SAME', { windowDilation: [1, 1, 2, 2] });
  assert.equal(wdil.shape, [2, 3, 7, 6]);
  assertCloseToRef(wdil, reduceWindowRef(x.ref, 'max', [1, 1, 3, 2], [1, 1, 1, 1], [[0, 0], [0, 0], [2, 2], [1, 1]], [1, 1, 1, 1], [1, 1, 2, 2]), 'max window-dilated');
  // Base dilation and explicit (also negative) padding, min and sum, float and int.
  const cases: [number[], number[], number[], [number, number][], number[], number[]][] = [
    [[4, 5], [2, 2], [1, 1], [[0, 0], [0, 0]], [1, 1], [1, 1]],
    [[3, 7, 6], [2, 3, 2], [2, 1, 3], [[1, 0], [0, 2], [-1, 1]], [1, 2, 1], [2, 1, 1]],
    [[9], [3], [2], [[2, 1]], [2], [1]],
    [[2, 33], [1, 4], [1, 3], [[0, 0], [-2, 5]], [1, 1], [1, 1]],
  ];
  for (const [shape, win, st, pad, bd, wd] of cases)
    for (const op of ['sum', 'max', 'min'] as const) {
      const xf = rand(shape);
      assertCloseToRef(lax.reduceWindow(xf.arr, op, win, st, pad, { baseDilation: bd, windowDilation: wd }), reduceWindowRef(xf.ref, op, win, st, pad, bd, wd), `${op} ${shape}`);
    }
});

test('reduceWindow: defaults and errors', () => {
  const x = np.array([[1, 5, 2], [4, 3, 6]]);
  assert.equal(lax.reduceWindow(x, 'max', [1, 2]).toNested(), [[5, 5], [4, 6]]);
  assert.throws(() => lax.reduceWindow(x, 'max', [2]), /^reduceWindow: windowDimensions has 1 entries but 2 are needed for an operand of shape \[2,3\]$/);
  assert.throws(() => lax.reduceWindow(x, 'max', [1, 1], [1]), /^reduceWindow: windowStrides has 1 entries/);
  assert.throws(() => lax.reduceWindow(x, 'max', [1, 1], [1, 1], [[0, 0]]), /^reduceWindow: padding has 1 entries/);
  assert.throws(() => lax.reduceWindow(x, 'mean' as 'sum', [1, 1]), /^reduceWindow: op must be 'sum', 'max' or 'min', got 'mean'$/);
});

// ---------------------------------------------------------------- dynamic slices, gather, scatter

test('dynamicSlice / dynamicUpdateSlice clamp their starts like jax.lax', () => {
  const x = lax.reshape(np.arange(20, undefined, undefined, 'int32'), [4, 5]);
  assert.equal(lax.dynamicSlice(x, [1, 2], [2, 2]).toNested(), [[7, 8], [12, 13]]);
  assert.equal(lax.dynamicSlice(x, [3, 4], [2, 3]).toNested(), [[12, 13, 14], [17, 18, 19]]); // clamped to [2, 2]
  assert.equal(lax.dynamicSlice(x, [-3, -1], [1, 2]).toNested(), [[0, 1]]); // clamped to [0, 0]
  const i = np.array(1, 'int32'), j = np.array(9, 'int32');
  assert.equal(lax.dynamicSlice(x, [i, j], [1, 1]).toNested(), [[9]]);
  assert.equal(lax.dynamicSlice(x, [i, np.array(2, 'uint32')], [1, 1]).toNested(), [[7]]);
  const u = lax.dynamicUpdateSlice(np.zeros([3, 4], 'int32'), np.array([[1, 2], [3, 4]], 'int32'), [2, 3]); // clamped to [1, 2]
  assert.equal(u.toNested(), [[0, 0, 0, 0], [0, 0, 1, 2], [0, 0, 3, 4]]);
  assert.equal(lax.dynamicUpdateSlice(np.zeros([4]), np.ones([2]), [np.array(-5, 'int32')]).toNested(), [1, 1, 0, 0]);
  assert.throws(() => lax.dynamicSlice(x, [1], [1, 1]), /^dynamic_slice: expected 2 start indices for operand \[4,5\], got 1$/);
  assert.throws(() => lax.dynamicSlice(x, [0, 0], [5, 1]), /^dynamic_slice: slice sizes \[5,1\] do not fit operand \[4,5\]$/);
  assert.throws(() => lax.dynamicSlice(x, [0, np.array(1.5)], [1, 1]), /^dynamic_slice: start indices must be int32 scalars/);
  assert.throws(() => lax.dynamicSlice(x, [0.5, 0], [1, 1]), /^dynamicSlice: start index 0.5 is not an integer$/);
  assert.throws(() => lax.dynamicUpdateSlice(np.zeros([2]), np.zeros([3]), [0]), /^dynamic_update_slice: update \[3\] does not fit operand \[2\]$/);
});

test('gather / scatterAdd (take-style along one axis)', () => {
  const x = np.array([[10, 20, 30], [40, 50, 60]]);
  assert.equal(lax.gather(x, [2, -1, 0], 1).toNested(), [[30, 30, 10], [60, 60, 40]]);
  assert.equal(lax.gather(x, [[1], [0]], 0).shape, [2, 1, 3]);
  assert.equal(lax.gather(x, np.array([5], 'int32'), -1).toNested(), [[30], [60]]); // clamped
  assert.equal(lax.scatterAdd(np.zeros([4]), [1, 1, 3], [1, 2, 3], 0).toNested(), [0, 3, 0, 3]);
  assert.equal(lax.scatterAdd(np.zeros([2, 2]), [1], [[5], [7]], 1).toNested(), [[0, 5], [0, 7]]);
  assert.throws(() => lax.gather(x, np.array([0.5]), 0), /^gather: indices must be int32/);
  assert.throws(() => lax.gather(x, [0], 2), /^gather: axis 2 is out of bounds for an array of rank 2$/);
});

// ---------------------------------------------------------------- elementwise (lax semantics) and the rest

test('elementwise: no implicit broadcasting or promotion; JS scalars take the operand dtype', () => {
  const i = np.array([7, -7, 5], 'int32');
  const a = lax.add(i, 2);
  assert.is(a.dtype, 'int32');
  assert.equal(a.toNested(), [9, -5, 7]);
  assert.equal(lax.div(i, 2).toNested(), [3, -3, 2]); // truncation
  assert.equal(lax.rem(i, 3).toNested(), [1, -1, 2]); // sign of the dividend
  assert.equal(lax.mul(2, np.array([1.5])).toNested(), [3]);
  assert.equal(lax.max(np.array([1, 5]), np.array([3, 2])).toNested(), [3, 5]);
  assert.throws(() => lax.add(i, np.array([1, 2, 3])), (e: Error) => e instanceof DTypeError && e.message === 'add: operand dtypes must be equal, got int32 and float32');
  assert.throws(() => lax.add(np.zeros([3]), np.zeros([1])), (e: Error) => e instanceof ShapeError && e.message === 'add: operand shapes must be equal, got [3] and [1]');
  assert.throws(() => lax.exp(i), /^exp: expected a float32 array/);
  const u = np.array([0x80000000, 1], 'uint32');
  assert.equal(lax.shiftRightLogical(u, 31).toNested(), [1, 0]);
  assert.equal(lax.shiftLeft(np.array([1, 3], 'int32'), np.array([4, 1], 'int32')).toNested(), [16, 6]);
  assert.equal(lax.shiftRightArithmetic(np.array([-16], 'int32'), 2).toNested(), [-4]);
  assert.equal(lax.and(np.array([true, false]), true).toNested(), [true, false]);
  assert.equal(lax.xor(np.array([6], 'int32'), 3).toNested(), [5]);
  assert.equal(lax.not(np.array([0], 'int32')).toNested(), [-1]);
  assert.equal(lax.lt(np.array([1, 3]), 2).toNested(), [true, false]);
  assert.equal(lax.clamp(0, np.array([-1, 0.5, 2]), 1).toNested(), [0, 0.5, 1]);
  assert.equal(lax.square(np.array([3], 'int32')).toNested(), [9]);
  assert.equal(lax.round(np.array([0.5, 1.5, -2.5])).toNested(), [0, 2, -2]);
});

test('select, casts, iota and movement', () => {
  const p = np.array([true, false, true]);
  assert.equal(lax.select(p, np.array([1, 2, 3]), np.array([9, 8, 7])).toNested(), [1, 8, 3]);
  assert.equal(lax.select(p, 1, np.array([9, 8, 7])).toNested(), [1, 8, 1]);
  assert.equal(lax.selectN(np.array([2, 0, 1], 'int32'), np.array([1, 1, 1]), np.array([2, 2, 2]), np.array([3, 3, 3])).toNested(), [3, 1, 2]);
  assert.throws(() => lax.select(np.array([true]), np.zeros([3]), np.zeros([3])), /^select_n: predicate shape \[1\] must be scalar or equal to the case shape \[3\]$/);
  assert.equal(lax.convertElementType(np.array([1.7, -1.7]), 'int32').toNested(), [1, -1]);
  assert.equal(lax.bitcastConvertType(np.array([1]), 'uint32').toNested(), [0x3f800000]);
  assert.equal(lax.iota('int32', 4).toNested(), [0, 1, 2, 3]);
  assert.equal(lax.broadcastedIota('int32', [2, 3], 1).toNested(), [[0, 1, 2], [0, 1, 2]]);
  assert.equal(lax.broadcastInDim(np.array([1, 2]), [2, 3], [0]).toNested(), [[1, 1, 1], [2, 2, 2]]);
  assert.equal(lax.broadcast(np.array([1, 2]), [2]).toNested(), [[1, 2], [1, 2]]);
  const m = np.array([[1, 2, 3], [4, 5, 6]]);
  assert.equal(lax.reshape(m, [3, 2]).toNested(), [[1, 2], [3, 4], [5, 6]]);
  assert.equal(lax.reshape(m, [6], [1, 0]).toNested(), [1, 4, 2, 5, 3, 6]);
  assert.equal(lax.transpose(m, [1, 0]).toNested(), [[1, 4], [2, 5], [3, 6]]);
  assert.equal(lax.rev(m, [-1]).toNested(), [[3, 2, 1], [6, 5, 4]]);
  assert.equal(lax.slice(m, [0, 0], [2, 3], [1, 2]).toNested(), [[1, 3], [4, 6]]);
  assert.equal(lax.pad(np.array([1, 2]), 0, [[1, 2, 1]]).toNested(), [0, 1, 0, 2, 0, 0]);
  assert.equal(lax.concatenate([np.array([1]), np.array([2, 3])], 0).toNested(), [1, 2, 3]);
});

test('reductions, scans, sort, dotGeneral, threefry', () => {
  const m = np.array([[3, 1, 2], [0, 5, 4]]);
  assert.equal(lax.reduceSum(m, [-1]).toNested(), [6, 9]);
  assert.equal(lax.reduceMax(m, [0, 1]).toNested(), 5);
  assert.equal(lax.reduceMin(m, 0).toNested(), [0, 1, 2]);
  assert.equal(lax.reduceProd(m, [1]).toNested(), [6, 0]);
  assert.equal(lax.argmax(m, 1).toNested(), [0, 1]);
  assert.equal(lax.argmin(m, 0).toNested(), [1, 0, 0]);
  assert.equal(lax.cumsum(np.array([1, 2, 3])).toNested(), [1, 3, 6]);
  assert.equal(lax.cumsum(np.array([1, 2, 3]), 0, true).toNested(), [6, 5, 3]);
  assert.equal(lax.cummax(m, 1).toNested(), [[3, 3, 3], [0, 5, 5]]);
  assert.equal(lax.cumprod(m, -1).toNested(), [[3, 3, 6], [0, 0, 0]]);
  assert.equal(lax.cummin(m, 0).toNested(), [[3, 1, 2], [0, 1, 2]]);
  assert.equal(lax.sort(m).toNested(), [[1, 2, 3], [0, 4, 5]]);
  assert.equal(lax.sort(m, 0).toNested(), [[0, 1, 2], [3, 5, 4]]);
  const [k, idx] = lax.sort([m, lax.broadcastedIota('int32', [2, 3], 1)], 1);
  assert.equal(k.toNested(), [[1, 2, 3], [0, 4, 5]]);
  assert.equal(idx.toNested(), [[1, 2, 0], [0, 2, 1]]);
  // dotGeneral in JAX's tuple form: batched matmul and a plain contraction.
  const a = lax.reshape(np.arange(12), [2, 2, 3]), b = lax.reshape(np.arange(12), [2, 3, 2]);
  const bm = lax.dotGeneral(a, b, [[[2], [1]], [[0], [0]]]);
  assert.equal(bm.toNested(), np.matmul(a, b).toNested());
  assert.equal(lax.dotGeneral(np.array([1, 2]), np.array([3, 4]), [[[-1], [0]], [[], []]]).toNested(), 11);
  assert.throws(() => lax.dotGeneral(np.zeros([2]), np.zeros([3]), [[[0], [0]], [[], []]]), /^dot_general: contracting dims differ/);
  // Threefry-2x32 known answer (Random123 kat_vectors: zero key and counter).
  const [y0, y1] = lax.threefry2x32(0, 0, np.array([0], 'uint32'), np.array([0], 'uint32'));
  assert.equal([y0.toNested(), y1.toNested()], [[0x6b200159], [0x99ba4efe]]);
});

test.run();
