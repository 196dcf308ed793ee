/**
 * The nn building blocks (src/nn: activations, norm, dropout, attention, embeddings, film,
 * residual): shapes, masks, numerical stability, dropout statistics, hand-computed formulas and
 * tables, errors, and for every layer that jit(f) = f, vmap(f) = f stacked over a batch, and that
 * grad agrees with central finite differences along a random direction. Values against PyTorch
 * are in golden_nn_layers.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grad, jit, np, random, tree, vmap, ShapeError, DTypeError, ValueError, type Array as VArray } from '../src/index.js';
import { gelu, logSoftmax, relu, sigmoid, silu, softmax, softplus } from '../src/nn/activations.js';
import {
  attentionWeights, causalMask, multiHeadAttention, relativePositionBias, relativePositionBucket, scaledDotProductAttention,
  type MultiHeadAttentionParams, type RelativePositionBiasParams,
} from '../src/nn/attention.js';
import { dropout } from '../src/nn/dropout.js';
import { fourierFeatures, guidanceEmbedding, sinusoidalEmbedding } from '../src/nn/embeddings.js';
import { film, filmProjection } from '../src/nn/film.js';
import { groupNorm, layerNorm, rmsNorm } from '../src/nn/norm.js';
import type { LinearParams } from '../src/nn/linear.js';
import { resBlock, type ResBlockParams } from '../src/nn/residual.js';
import { assertClose, assertThrows, vals } from './helpers.js';

type Tree = tree.PyTree<VArray>;
const key = (seed: number): VArray => random.key(seed);
const randn = (seed: number, shape: number[]): VArray => random.normal(key(seed), shape);
const close = (got: VArray, want: VArray | number[], tol: number, what: string): void => {
  const w = Array.isArray(want) ? want : vals(want);
  if (!Array.isArray(want)) assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  assertClose(got.dataSync(), w, { rtol: tol, atol: tol }, what);
};

// ---------------------------------------------------------------- transformation harness

/** ⟨a, b⟩ over two trees of the same structure, as a JS number. */
const treeDot = (a: Tree, b: Tree): number =>
  tree.leaves(a).reduce((s, l, i) => s + vals(np.sum(np.mul(l, tree.leaves(b)[i]))).reduce((p, q) => p + q, 0), 0);
const treeAxpy = (a: Tree, h: number, t: Tree): Tree => tree.map((l: VArray, d: VArray) => np.add(l, np.mul(d, h)), a, t);

/**
 * jit(f)(p, x) = f(p, x); vmap over a stack of two inputs (of x, or of p with `vmapParams`)
 * equals f applied to each; and grad of L = sum(f · ct) with respect to (p, x) matches the
 * central difference (L(θ + h·t) − L(θ − h·t)) / 2h along a random direction t, to 1e-3 of
 * Σ|∂L·t| (the float32 differences land near 1e-5; a gradient off by 1% fails).
 */
function checkTransforms<P>(name: string, fp: (p: P, x: VArray) => VArray, params: P, x: VArray, { vmapParams = false, h = 1e-2 } = {}): void {
  const f = fp as unknown as (p: Tree, x: VArray) => VArray;
  const p = params as unknown as Tree;
  const y = f(p, x);
  close(jit(f)(p, x), y, 1e-5, `${name}: jit`);

  if (vmapParams) {
    const p2 = tree.map((l: VArray) => np.add(np.mul(l, 0.5), 0.1), p);
    const ys = vmap(f, { inAxes: [0, null] })(tree.map((a: VArray, b: VArray) => np.stack([a, b]), p, p2), x);
    close(np.slice(ys, 0), y, 1e-5, `${name}: vmap[0]`);
    close(np.slice(ys, 1), f(p2, x), 1e-5, `${name}: vmap[1]`);
  } else {
    const x2 = np.add(np.mul(x, -0.5), 0.25);
    const ys = vmap(f, { inAxes: [null, 0] })(p, np.stack([x, x2]));
    close(np.slice(ys, 0), y, 1e-5, `${name}: vmap[0]`);
    close(np.slice(ys, 1), f(p, x2), 1e-5, `${name}: vmap[1]`);
  }

  const ct = randn(901, [...y.shape]);
  const loss = (pp: Tree, xx: VArray) => np.sum(np.mul(f(pp, xx), ct));
  const [gp, gx] = grad(loss, { argnums: [0, 1] })(p, x) as [Tree, VArray];
  const tp = tree.unflatten(tree.structure(p), tree.leaves(p).map((l, i) => randn(1000 + i, [...l.shape]))) as Tree;
  const tx = randn(999, [...x.shape]);
  const fd = (vals(loss(treeAxpy(p, h, tp), np.add(x, np.mul(tx, h))))[0] - vals(loss(treeAxpy(p, -h, tp), np.sub(x, np.mul(tx, h))))[0]) / (2 * h);
  const ip = treeDot(gp, tp) + treeDot(gx, tx);
  const scale = Math.abs(treeDot(tree.map((g: VArray) => np.abs(g), gp), tree.map((t: VArray) => np.abs(t), tp))) + vals(np.sum(np.abs(np.mul(gx, tx))))[0];
  assert.ok(Number.isFinite(ip), `${name}: gradient is finite`);
  assert.ok(Math.abs(fd - ip) <= 1e-3 * scale + 1e-4, `${name}: grad·t = ${ip}, finite difference ${fd} (scale ${scale})`);
}

/** The params with normal noise added to every leaf (so unit scales and zero biases are exercised). */
const perturb = <P>(p: P, seed: number): P => tree.map((l: VArray) => np.add(l, randn(seed, [...l.shape])), p as unknown as Tree) as unknown as P;

// ---------------------------------------------------------------- activations

test('activations: values at hand-picked points, relu/softplus derivatives at 0, no overflow', () => {
  const x = np.array([-100, -2, 0, 0.5, 3, 100]);
  close(relu(x), [0, 0, 0, 0.5, 3, 100], 0, 'relu');
  close(silu(x), [-100 / (1 + Math.exp(100)), -2 / (1 + Math.exp(2)), 0, 0.5 / (1 + Math.exp(-0.5)), 3 / (1 + Math.exp(-3)), 100], 1e-6, 'silu');
  close(sigmoid(np.array([0])), [0.5], 0, 'sigmoid');
  const sp = vals(softplus(x));
  assert.is(sp[5], 100);
  assert.is(sp[0], Math.fround(Math.exp(-100)), 'softplus(-100) = e⁻¹⁰⁰ rounded to a float32 subnormal, not 0');
  assertClose(sp.slice(1, 5), [Math.log1p(Math.exp(-2)), Math.LN2, Math.log1p(Math.exp(0.5)), Math.log1p(Math.exp(3))], { rtol: 1e-6 }, 'softplus');
  // GELU: exact Φ form and the tanh form differ by < 1e-3 but not by 0
  const g = vals(gelu(np.array([1]))), gt = vals(gelu(np.array([1]), { approximate: true }));
  assertClose(g, [0.8413447460685429], { rtol: 1e-6 }, 'gelu(1)');
  assertClose(gt, [0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715))], { rtol: 1e-6 }, 'gelu tanh(1)');
  const d = (f: (v: VArray) => VArray) => vals(grad((v: VArray) => np.sum(f(v)))(np.array([0])))[0];
  assert.is(d(relu), 0);
  assert.is(d(softplus), 0.5);
  assert.is(d(silu), 0.5);
  assert.is(d((v) => gelu(v)), 0.5);
});

test('softmax / logSoftmax: stable for huge logits, −∞ entries get weight 0, all −∞ gives zeros', () => {
  const big = np.array([[1e4, 1e4 + 1, 1e4 - 2], [-1e4, -1e4 + 1, -1e4 - 2]]);
  const e = [1, Math.E, Math.exp(-2)];
  const z = e.reduce((a, b) => a + b);
  const want = [...e, ...e].map((v) => v / z);
  close(softmax(big), want, 1e-6, 'softmax');
  close(logSoftmax(big), want.map(Math.log), 1e-5, 'logSoftmax');
  close(softmax(np.array([[0, -Infinity, 1]]), -1), [1 / (1 + Math.E), 0, Math.E / (1 + Math.E)], 1e-6, 'softmax with −∞');
  close(softmax(np.array([[-Infinity, -Infinity]])), [0, 0], 0, 'all −∞ row');
  // along axis 0, and the gradient of a stable softmax is finite
  close(np.sum(softmax(big, 0), 0), [1, 1, 1], 1e-6, 'softmax axis 0 sums to 1');
  const g = grad((v: VArray) => np.sum(np.mul(softmax(v), np.array([[1, 2, 3], [4, 5, 6]]))))(big);
  assert.ok(vals(g).every(Number.isFinite), 'finite softmax gradient');
});

// ---------------------------------------------------------------- norms

test('rmsNorm: x / √(mean(x²) + eps) · scale, no mean subtraction', () => {
  const layer = rmsNorm({ features: 2, eps: 1e-6 });
  const p = { scale: np.array([2, -1]) };
  const r = Math.sqrt((9 + 16) / 2 + 1e-6);
  close(layer.apply(p, np.array([[3, 4], [5, 5]])), [(3 / r) * 2, (4 / r) * -1, 2, -1], 1e-6, 'rmsNorm');
  // a constant vector is not zeroed (layer norm would give 0)
  close(rmsNorm({ features: 3 }).apply({ scale: np.ones([3]) }, np.full([3], 7)), [1, 1, 1], 1e-6, 'rmsNorm constant');
});

test('layerNorm and groupNorm: zero mean and unit variance per group; options and errors', () => {
  const x = np.add(np.mul(randn(1, [2, 6, 3, 2]), 4), 10);
  const gn = groupNorm({ groups: 3, channels: 6 });
  const y = gn.apply(gn.init(key(0)), x);
  const yg = np.reshape(y, [2, 3, -1]);
  close(np.mean(yg, -1), new Array(6).fill(0), 1e-5, 'group mean');
  close(np.var(yg, -1), new Array(6).fill(1), 1e-4, 'group variance');
  // channelAxis 0 on one example equals the batched layer on a batch of one
  const one = groupNorm({ groups: 3, channels: 6, channelAxis: 0 });
  close(one.apply(one.init(key(0)), np.slice(x, 0)), np.slice(y, 0), 1e-6, 'channelAxis 0');
  assert.equal(gn.init(key(0)).scale!.shape, [6]);
  assert.equal(groupNorm({ groups: 2, channels: 4, affine: false }).init(key(0)), {});

  const ln = layerNorm({ features: 4, scale: false });
  const p = ln.init(key(0));
  assert.equal(Object.keys(p), ['bias']);
  const yl = ln.apply(p, np.array([[1, 2, 3, 4], [10, 10, 10, 10]]));
  const s = Math.sqrt(1.25 + 1e-5);
  close(yl, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s, 0, 0, 0, 0], 1e-5, 'layerNorm');

  assertThrows(() => ln.apply(p, np.zeros([2, 3])), ShapeError, /layerNorm/, /\[2,3\]/);
  assertThrows(() => groupNorm({ groups: 4, channels: 6 }), ValueError, /groupNorm/, /groups \(4\) must divide channels \(6\)/);
  assertThrows(() => gn.apply(gn.init(key(0)), np.zeros([2, 5, 3])), ShapeError, /groupNorm/, /6 channels on axis 1/);
  assertThrows(() => rmsNorm({ features: 0 }), ValueError, /rmsNorm: features/);
});

// ---------------------------------------------------------------- dropout

test('dropout: identity at eval, inverted scaling and keep rate when training, keys, validation', () => {
  const x = np.ones([200, 100]);
  assert.is(dropout(x, 0.3), x, 'eval is the identity (same array)');
  assert.is(dropout(x, 0.3, { train: false, key: key(1) }), x);
  assert.is(dropout(x, 0, { train: true }), x, 'rate 0 needs no key');
  const y = vals(dropout(x, 0.3, { train: true, key: key(7) }));
  const kept = y.filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6), 'kept values are x / (1 − rate)');
  const dropRate = 1 - kept.length / y.length;
  const sigma = Math.sqrt((0.3 * 0.7) / y.length);
  assert.ok(Math.abs(dropRate - 0.3) < 4 * sigma, `dropped fraction ${dropRate} ≈ 0.3 (±${4 * sigma})`);
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  assert.ok(Math.abs(mean - 1) < 4 * sigma / 0.7, `mean ${mean} ≈ 1: the expectation is kept`);
  // same key → same mask, different key → different mask; jit with the key as an argument
  assert.equal(vals(dropout(x, 0.3, { train: true, key: key(7) })), y);
  assert.not.equal(vals(dropout(x, 0.3, { train: true, key: key(8) })), y);
  assert.equal(vals(jit((v: VArray, k: VArray) => dropout(v, 0.3, { train: true, key: k }))(x, key(7))), y);
  // gradient: the mask scaled by 1/(1 − rate)
  const g = vals(grad((v: VArray) => np.sum(dropout(v, 0.3, { train: true, key: key(7) })))(x));
  assert.equal(g, y);
  close(dropout(x, 1, { train: true, key: key(1) }), new Array(20000).fill(0), 0, 'rate 1');
  for (const bad of [-0.1, 1.5, NaN]) assertThrows(() => dropout(x, bad, { train: true, key: key(1) }), ValueError, /dropout: rate must be a number in \[0, 1\]/);
  assertThrows(() => dropout(x, 0.5, { train: true }), ValueError, /dropout: training with rate 0.5 needs a PRNG key/);
});

// ---------------------------------------------------------------- attention

test('attention: masked keys get zero weight, fully masked rows give zeros (no NaN), causal masks', () => {
  const q = randn(1, [2, 4, 3]), k = randn(2, [2, 5, 3]), v = randn(3, [2, 5, 2]);
  // key 1 masked for every query; query 2 of head 0 sees nothing
  const m = np.array([[[1, 0, 1, 1, 1], [1, 0, 1, 1, 1], [0, 0, 0, 0, 0], [1, 0, 1, 1, 1]], [[1, 0, 1, 1, 1], [1, 0, 1, 1, 1], [1, 0, 1, 1, 1], [1, 0, 1, 1, 1]]]);
  const mask = np.notEqual(m, 0);
  const w = attentionWeights(q, k, { mask });
  const wv = vals(w);
  for (let h = 0; h < 2; h++) for (let i = 0; i < 4; i++) {
    const row = wv.slice((h * 4 + i) * 5, (h * 4 + i + 1) * 5);
    assert.is(row[1], 0, 'masked key has weight exactly 0');
    const sum = row.reduce((a, b) => a + b, 0);
    if (h === 0 && i === 2) assert.equal(row, [0, 0, 0, 0, 0]);
    else assert.ok(Math.abs(sum - 1) < 1e-6, `row sums to 1 (${sum})`);
  }
  const out = scaledDotProductAttention(q, k, v, { mask });
  assert.equal(out.shape, [2, 4, 2]);
  assert.equal(vals(np.slice(out, 0, 2)), [0, 0]);
  // the masked key's value has no influence, and gradients stay finite
  const gv = grad((vv: VArray) => np.sum(scaledDotProductAttention(q, k, vv, { mask })))(v);
  assert.equal(vals(np.slice(gv, ':', 1)), [0, 0, 0, 0]);
  const gq = grad((qq: VArray) => np.sum(scaledDotProductAttention(qq, k, v, { mask })))(q);
  assert.ok(vals(gq).every(Number.isFinite), 'finite gradient with a fully masked row');

  assert.equal(vals(causalMask(3)), [1, 0, 0, 1, 1, 0, 1, 1, 1]);
  assert.equal(vals(causalMask(2, 4)), [1, 1, 1, 0, 1, 1, 1, 1]);
  // causal self-attention: outputs up to t do not depend on inputs after t
  const mha = multiHeadAttention({ features: 6, heads: 2 });
  const p = mha.init(key(4));
  const x = randn(5, [1, 5, 6]);
  const x2 = np.concatenate([np.slice(x, ':', { stop: 3 }), randn(6, [1, 2, 6])], 1);
  const y1 = mha.apply(p, x, { mask: causalMask(5) }), y2 = mha.apply(p, x2, { mask: causalMask(5) });
  close(np.slice(y2, ':', { stop: 3 }), np.slice(y1, ':', { stop: 3 }), 1e-6, 'causal prefix');
  assert.ok(Math.abs(vals(np.sum(np.abs(np.sub(y2, y1))))[0]) > 1e-3, 'later outputs do change');
});

test('attention: default scale 1/√D, additive bias, broadcasting leading dims, errors', () => {
  const q = randn(1, [3, 4]), k = randn(2, [5, 4]);
  const manual = softmax(np.mul(np.matmul(q, np.transpose(k)), 0.5));
  close(attentionWeights(q, k), manual, 1e-6, 'scale 1/√4');
  const bias = randn(3, [3, 5]);
  close(attentionWeights(q, k, { bias, scale: 1 }), softmax(np.add(np.matmul(q, np.transpose(k)), bias)), 1e-6, 'bias, scale 1');
  // k and v shared across heads (leading dim 1) broadcast against 2 heads of q
  const qh = randn(4, [2, 3, 4]), v = randn(5, [1, 5, 2]);
  const o = scaledDotProductAttention(qh, np.expandDims(k, 0), v);
  assert.equal(o.shape, [2, 3, 2]);
  close(np.slice(o, 1), scaledDotProductAttention(np.slice(qh, 1), k, np.slice(v, 0)), 1e-6, 'broadcast heads');
  assertThrows(() => attentionWeights(q, randn(1, [5, 3])), ShapeError, /attentionWeights: q and k must have the same feature size/);
  assertThrows(() => scaledDotProductAttention(q, k, randn(1, [4, 2])), ShapeError, /same length Tk/);
  assertThrows(() => attentionWeights(q, k, { mask: np.ones([3, 5]) }), DTypeError, /mask must be boolean/);
  assertThrows(() => attentionWeights(q, k, { bias: np.ones([4, 5]) }), ShapeError, /bias of shape \[4,5\] does not broadcast to the logits' shape \[3,5\]/);
});

test('multiHeadAttention: shapes (self, cross, headDim, outFeatures), token permutation equivariance, errors', () => {
  const layer = multiHeadAttention({ features: 8, heads: 2, headDim: 3, kvFeatures: 5, outFeatures: 7 });
  const p = layer.init(key(1));
  assert.equal(p.query.w.shape, [8, 6]);
  assert.equal(p.key.w.shape, [5, 6]);
  assert.equal(p.out.w.shape, [6, 7]);
  const x = randn(2, [2, 4, 8]), ctx = randn(3, [2, 6, 5]);
  assert.equal(layer.apply(p, x, { context: ctx }).shape, [2, 4, 7]);
  assert.equal(layer.apply(p, np.slice(x, 0), { context: np.slice(ctx, 0) }).shape, [4, 7], 'one example');
  // masked context positions do not matter
  const keep = np.notEqual(np.array([1, 1, 1, 0, 0, 1]), 0);
  const ctx2 = np.where(np.reshape(keep, [1, 6, 1]), ctx, 100);
  close(layer.apply(p, x, { context: ctx2, mask: keep }), layer.apply(p, x, { context: ctx, mask: keep }), 1e-5, 'masked context');
  // self-attention without a mask commutes with permuting the tokens
  const self = multiHeadAttention({ features: 4, heads: 2, bias: false });
  const ps = self.init(key(2));
  assert.equal(Object.keys(ps.query), ['w']);
  const xs = randn(4, [5, 4]);
  const perm = np.array([3, 0, 4, 1, 2], 'int32');
  close(self.apply(ps, np.take(xs, perm, 0)), np.take(self.apply(ps, xs), perm, 0), 1e-5, 'permutation equivariance');
  assertThrows(() => layer.apply(p, x), ShapeError, /multiHeadAttention: context must be \(\.\.\., Tk, 5\)/);
  assertThrows(() => multiHeadAttention({ features: 6, heads: 4 }), ValueError, /heads \(4\) must divide features \(6\)/);
});

test('relative position buckets: hand-computed tables (T5 formula)', () => {
  const row = (opts: Parameters<typeof relativePositionBucket>[1], rs: number[]) => rs.map((r) => relativePositionBucket(r, opts));
  // bidirectional, 8 buckets (4 per side, exact below 2), maxDistance 8
  assert.equal(row({ numBuckets: 8, maxDistance: 8 }, [-6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6]), [3, 3, 3, 2, 2, 1, 0, 5, 6, 6, 7, 7, 7]);
  // unidirectional (causal), 8 buckets (exact below 4), maxDistance 16; future keys share bucket 0
  assert.equal(
    row({ bidirectional: false, numBuckets: 8, maxDistance: 16 }, [3, 0, -1, -3, -4, -5, -6, -7, -8, -10, -12, -16, -100]),
    [0, 0, 1, 3, 4, 4, 5, 5, 6, 6, 7, 7, 7],
  );
  // T5's defaults (32 buckets, 128): exact below 8, log-spaced to 128
  assert.equal(row({}, [-7, -8, -16, -127, -128, -1000, 7, 8, 16, 127, 1000]), [7, 8, 10, 15, 15, 15, 23, 24, 26, 31, 31]);

  const layer = relativePositionBias({ heads: 2, numBuckets: 8, maxDistance: 8 });
  const table = np.reshape(np.arange(16, undefined, 1, 'float32'), [8, 2]);
  const bias = layer.apply({ embedding: table }, 3, { keyLength: 4 });
  assert.equal(bias.shape, [2, 3, 4]);
  // [h, i, j] = table[bucket(j − i), h] = 2·bucket + h
  const want: number[] = [];
  for (let h = 0; h < 2; h++) for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) want.push(2 * relativePositionBucket(j - i, { numBuckets: 8, maxDistance: 8 }) + h);
  assert.equal(vals(bias), want);
  assert.equal(vals(np.slice(bias, 0, 0)), [0, 10, 12, 12]);
  assertThrows(() => relativePositionBias({ heads: 2, numBuckets: 2 }), ValueError, /relativePositionBias: numBuckets \(2\) is too small/);
  assertThrows(() => relativePositionBucket(3, { numBuckets: 8, maxDistance: 2 }), ValueError, /relativePositionBucket: maxDistance \(2\) must exceed the exact range 2/);
});

// ---------------------------------------------------------------- embeddings and FiLM

test('sinusoidal and guidance embeddings: t = 0, odd dims, layouts, the w·1000 scaling', () => {
  close(sinusoidalEmbedding(np.array([0]), 6), [0, 0, 0, 1, 1, 1], 0, 't = 0');
  const e = sinusoidalEmbedding(np.array([[2, 3]]), 7);
  assert.equal(e.shape, [1, 2, 7]);
  const f = [1, Math.exp(-Math.log(10000) / 2), 1e-4];
  close(np.slice(e, 0, 0), [...f.map((v) => Math.sin(2 * v)), ...f.map((v) => Math.cos(2 * v)), 0], 1e-6, 'DDPM, odd dim');
  const glide = sinusoidalEmbedding(np.array([2]), 4, { flipSinToCos: true, downscaleFreqShift: 0 });
  close(glide, [Math.cos(2), Math.cos(2e-2), Math.sin(2), Math.sin(2e-2)], 1e-6, 'GLIDE layout');
  close(guidanceEmbedding(np.array([0.5, 2]), 8), sinusoidalEmbedding(np.array([500, 2000]), 8), 0, 'guidance = sinusoidal(1000·w)');
  assertThrows(() => sinusoidalEmbedding(np.array([1]), 2), ValueError, /sinusoidalEmbedding: dim = 2 is too small/);
});

test('fourierFeatures: shape, sin² + cos² = 1, frozen projection; film and filmProjection', () => {
  const ff = fourierFeatures({ inFeatures: 2, features: 6, scale: 3 });
  const p = ff.init(key(1));
  assert.equal(p.projection.shape, [2, 3]);
  const y = ff.apply(p, randn(2, [4, 2]));
  assert.equal(y.shape, [4, 6]);
  const [s, c] = np.split(y, 2, -1);
  close(np.add(np.square(s), np.square(c)), new Array(12).fill(1), 1e-6, 'sin² + cos²');
  assertThrows(() => fourierFeatures({ inFeatures: 1, features: 5 }), ValueError, /features must be even/);

  const x = randn(3, [2, 3, 4, 4]);
  const zero = { scale: np.zeros([2, 3]), shift: np.zeros([2, 3]) };
  close(film(x, zero), x, 0, 'zero FiLM is the identity');
  const scale = np.array([[1, 0, -1], [0.5, 2, 0]]), shift = np.array([[0, 1, 2], [3, 4, 5]]);
  const y2 = film(x, { scale, shift });
  close(np.slice(y2, 1, 2), np.add(np.mul(np.slice(x, 1, 2), 1), 5), 1e-6, 'per-example, per-channel');
  close(np.slice(y2, 0, 0), np.mul(np.slice(x, 0, 0), 2), 1e-6, 'scale 1 doubles');
  // a (C,) modulation broadcasts over the batch; channelAxis 0 for one example
  close(film(x, { scale: np.slice(scale, 0), shift: np.slice(shift, 0) }), np.stack([np.slice(y2, 0), film(np.slice(x, 1), { scale: np.slice(scale, 0), shift: np.slice(shift, 0) }, { channelAxis: 0 })]), 1e-6, 'broadcast (C,)');
  assertThrows(() => film(x, { scale: np.zeros([2, 4]), shift: np.zeros([2, 4]) }), ShapeError, /film: scale must be \(\.\.\., 3\)/);

  const proj = filmProjection({ embDim: 5, channels: 3 });
  const ss = proj.apply(proj.init(key(4)), randn(5, [2, 5]));
  assert.equal([ss.scale.shape, ss.shift.shape], [[2, 3], [2, 3]]);
  const zp = filmProjection({ embDim: 5, channels: 3, zeroInit: true });
  close(film(x, zp.apply(zp.init(key(4)), randn(5, [2, 5]))), x, 0, 'zero-initialised projection is the identity');
});

// ---------------------------------------------------------------- residual block

test('resBlock: identity at init (zero last conv), skip conv when channels change, 3-D, options', () => {
  const block = resBlock({ inChannels: 4, outChannels: 4, embDim: 6, groups: 2, dims: 2, dropout: 0.5 });
  const p = block.init(key(1));
  assert.equal(Object.keys(p).sort(), ['conv1', 'conv2', 'emb', 'norm1', 'norm2']);
  assert.ok(vals(p.conv2.w).every((v) => v === 0) && vals(p.conv2.b!).every((v) => v === 0), 'conv2 starts at zero');
  const x = randn(2, [2, 4, 5, 5]), emb = randn(3, [2, 6]);
  close(block.apply(p, x, { emb }), x, 0, 'identity at init');
  close(block.apply(p, x, { emb, train: true, key: key(9) }), x, 0, 'identity at init, training');
  close(block.apply(p, np.slice(x, 0), { emb: np.slice(emb, 0) }), np.slice(x, 0), 0, 'one example');

  const up = resBlock({ inChannels: 2, outChannels: 4, groups: 2, dims: 3, kernelSize: [1, 3, 3] });
  const pu = up.init(key(2));
  assert.equal(pu.skip!.w.shape, [4, 2, 1, 1, 1]);
  assert.equal(pu.conv1.w.shape, [4, 2, 1, 3, 3]);
  const v = randn(4, [1, 2, 3, 4, 4]);
  const yu = up.apply(pu, v);
  assert.equal(yu.shape, [1, 4, 3, 4, 4]);
  const skipOnly = np.add(np.einsum('oi,nithw->nothw', np.reshape(pu.skip!.w, [4, 2]), v), np.reshape(pu.skip!.b!, [1, 4, 1, 1, 1]));
  close(yu, skipOnly, 1e-5, 'at init the block is its 1×1 skip');

  // once conv2 is non-zero, dropout makes training steps differ by key and from eval
  const p2 = { ...p, conv2: { w: randn(5, [4, 4, 3, 3]), b: np.zeros([4]) } };
  const t1 = block.apply(p2, x, { emb, train: true, key: key(1) });
  const t2 = block.apply(p2, x, { emb, train: true, key: key(2) });
  assert.ok(vals(np.sum(np.abs(np.sub(t1, t2))))[0] > 1e-3, 'different dropout keys');
  close(block.apply(p2, x, { emb }), block.apply(p2, x, { emb, train: false, key: key(1) }), 0, 'eval ignores the key');

  assertThrows(() => block.apply(p, x), ValueError, /resBlock: the block was built with embDim = 6, so apply needs \{ emb \}/);
  assertThrows(() => block.apply(p2, x, { emb, train: true }), ValueError, /dropout: training with rate 0.5 needs a PRNG key/);
  assertThrows(() => resBlock({ inChannels: 6, outChannels: 8, groups: 4, dims: 2 }), ValueError, /groups \(4\) must divide inChannels \(6\)/);
  assertThrows(() => block.apply(p, randn(1, [2, 3, 5, 5]), { emb }), ShapeError, /resBlock: .* has 3 channels, expected 4/);
});

// ---------------------------------------------------------------- jit / vmap / grad through every layer

test('jit, vmap and grad through every layer', () => {
  const x8 = randn(11, [3, 8]);
  const act = (f: (v: VArray) => VArray) => (_p: Tree, v: VArray) => f(v);
  checkTransforms('gelu', act((v) => gelu(v)), {}, x8);
  checkTransforms('gelu tanh', act((v) => gelu(v, { approximate: true })), {}, x8);
  checkTransforms('silu', act(silu), {}, x8);
  checkTransforms('softplus', act(softplus), {}, x8);
  checkTransforms('softmax', act((v) => softmax(v, 0)), {}, x8);
  checkTransforms('logSoftmax', act((v) => logSoftmax(v)), {}, x8);
  checkTransforms('dropout (fixed key)', act((v) => dropout(v, 0.25, { train: true, key: key(3) })), {}, x8);

  const ln = layerNorm({ features: 8 });
  checkTransforms('layerNorm', (p, v) => ln.apply(p, v), perturb(ln.init(key(0)), 12), x8);
  const rn = rmsNorm({ features: 8 });
  checkTransforms('rmsNorm', (p, v) => rn.apply(p, v), rn.init(key(0)), x8);
  const gn = groupNorm({ groups: 2, channels: 4 });
  checkTransforms('groupNorm', (p, v) => gn.apply(p, v), perturb(gn.init(key(0)), 13), randn(14, [2, 4, 3]));

  const mha = multiHeadAttention({ features: 8, heads: 2, kvFeatures: 4 });
  const ctx = randn(15, [5, 4]);
  const mask = np.notEqual(np.array([1, 1, 0, 1, 1]), 0);
  checkTransforms('multiHeadAttention (cross, masked)', (p, v) => mha.apply(p, v, { context: ctx, mask }), mha.init(key(5)), x8);
  const self = multiHeadAttention({ features: 8, heads: 4 });
  const rel = relativePositionBias({ heads: 4, numBuckets: 8, maxDistance: 16 });
  checkTransforms(
    'multiHeadAttention (causal, relative bias)',
    (p: { mha: MultiHeadAttentionParams; rel: RelativePositionBiasParams }, v) => self.apply(p.mha, v, { mask: causalMask(3), bias: rel.apply(p.rel, 3) }),
    { mha: self.init(key(6)), rel: rel.init(key(7)) },
    x8,
  );
  checkTransforms('scaledDotProductAttention', (p: { k: VArray; v: VArray }, q) => scaledDotProductAttention(q, p.k, p.v, { mask: causalMask(3, 5) }), { k: randn(16, [5, 8]), v: randn(17, [5, 2]) }, x8);
  checkTransforms('relativePositionBias (vmap over params)', (p: RelativePositionBiasParams) => rel.apply(p, 4, { keyLength: 6 }), rel.init(key(8)), x8, { vmapParams: true });

  checkTransforms('sinusoidalEmbedding', act((t) => sinusoidalEmbedding(t, 8)), {}, randn(18, [4]));
  checkTransforms('guidanceEmbedding', act((w) => guidanceEmbedding(np.mul(w, 1e-3), 8)), {}, randn(19, [3]));
  const ff = fourierFeatures({ inFeatures: 8, features: 6 });
  // the projection is frozen (zero gradient, see golden_nn_layers), so only x is differentiated here
  const ffp = ff.init(key(9));
  checkTransforms('fourierFeatures', act((v) => ff.apply(ffp, v)), {}, np.mul(x8, 0.1), { h: 1e-3 });
  const fp = filmProjection({ embDim: 8, channels: 3 });
  const feat = randn(20, [3, 3, 4]);
  checkTransforms('filmProjection + film', (p: LinearParams, e) => film(feat, fp.apply(p, e)), fp.init(key(10)), x8);

  const block = resBlock({ inChannels: 2, outChannels: 4, embDim: 8, groups: 2, dims: 2 });
  const bp = block.init(key(11));
  const withConv2 = { ...bp, conv2: { w: np.mul(randn(21, [4, 4, 3, 3]), 0.2), b: np.zeros([4]) } };
  const img = randn(22, [3, 2, 4, 4]);
  checkTransforms('resBlock (emb)', (p: ResBlockParams, e) => block.apply(p, img, { emb: e }), withConv2, x8);
  checkTransforms('resBlock (input)', (p: ResBlockParams, v) => block.apply(p, v, { emb: np.slice(x8, 0) }), withConv2, np.slice(img, 0));
});

test.run();
