/**
 * nn layers, initializers and parameter utilities (src/nn/{init,linear,conv,sampling,params}.ts):
 * initializer statistics over large draws, algebraic laws (orthogonal QᵀQ = I and QᵀA upper
 * triangular; a Dirac convolution is the identity), linear/embedding/conv against naive JS
 * references, the space-time pair starting as the identity in time, the layers under jit, vmap
 * and grad (against finite differences), and dotted-path parameter trees.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grad, jit, np, random, ShapeError, tree, ValueError, vmap, type Array as VArray } from '../src/index.js';
import { conv, conv3dSpatial, conv3dTemporal, convFanAxes, spaceTimeConv, type ConvParams } from '../src/nn/conv.js';
import {
  computeFans, constant, dirac, glorotUniform, heNormal, heUniform, lecunNormal, ones, orthogonal, varianceScaling, zeros,
} from '../src/nn/init.js';
import { embedding, linear } from '../src/nn/linear.js';
import { cast, countParams, flattenWithPaths, globalNorm, mapWithPath, merge, partition } from '../src/nn/params.js';
import { avgPool, downsampleStridedConv, linearResizeWeights, maxPool, resizeBilinear, upsampleNearest } from '../src/nn/sampling.js';
import { assertClose, assertThrows, flatIndex, prod, refSampler, unravel, vals, type Ref } from './helpers.js';

const key = random.key(0);

// ---------------------------------------------------------------- statistics helpers

function moments(x: VArray): { mean: number; variance: number; min: number; max: number } {
  const v = vals(x);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
  return { mean, variance, min: Math.min(...v), max: Math.max(...v) };
}

/** Sample mean within 5 standard errors of 0 and sample variance within 4% of `variance`. */
function assertMoments(x: VArray, variance: number, what: string): void {
  const m = moments(x);
  const se = Math.sqrt(variance / x.size);
  assert.ok(Math.abs(m.mean) < 5 * se, `${what}: mean ${m.mean} (standard error ${se})`);
  assert.ok(Math.abs(m.variance / variance - 1) < 0.04, `${what}: variance ${m.variance}, want ${variance}`);
}

// ---------------------------------------------------------------- initializers

test('computeFans follows JAX: receptive field times the in/out axes', () => {
  assert.equal(computeFans([3, 5]), [3, 5]);
  assert.equal(computeFans([3, 3, 4, 8]), [36, 72]); // HWIO
  assert.equal(computeFans([8, 4, 3, 3], convFanAxes('channels-first')), [36, 72]); // OIHW
  assert.equal(computeFans([2, 3, 4, 5], { inAxis: -2, outAxis: -1, batchAxis: [0] }), [12, 15]);
  assertThrows(() => computeFans([5]), ShapeError, /computeFans/, /at least 2-D/);
});

test('varianceScaling: variance scale/fan for every mode and distribution (60k draws)', () => {
  const shape = [240, 250];
  const fans = { fanIn: 240, fanOut: 250, fanAvg: 245 };
  let k = random.key(1);
  for (const mode of ['fanIn', 'fanOut', 'fanAvg'] as const) {
    for (const dist of ['truncatedNormal', 'normal', 'uniform'] as const) {
      [k] = random.split(k);
      const scale = 2;
      const variance = scale / fans[mode];
      const x = varianceScaling(scale, mode, dist)(k, shape);
      assert.equal(x.shape, shape);
      assert.is(x.dtype, 'float32');
      assertMoments(x, variance, `${mode}/${dist}`);
      const m = moments(x);
      if (dist === 'uniform') {
        const limit = Math.sqrt(3 * variance);
        assert.ok(m.min >= -limit && m.max <= limit && m.max > 0.99 * limit, `uniform bounds ±${limit}: [${m.min}, ${m.max}]`);
      }
      if (dist === 'truncatedNormal') {
        const bound = (2 * Math.sqrt(variance)) / 0.87962566103423978;
        assert.ok(m.min >= -bound && m.max <= bound && m.max > 0.95 * bound, `truncated at ±${bound}: [${m.min}, ${m.max}]`);
      }
    }
  }
});

test('named initializers: glorot, he, lecun scalings; zeros, ones, constant', () => {
  const [k1, k2, k3, k4] = random.split(random.key(2), 4);
  const g = glorotUniform()(k1!, [200, 300]);
  const limit = Math.sqrt(6 / 500);
  assertMoments(g, limit ** 2 / 3, 'glorotUniform');
  assert.ok(moments(g).max <= limit);
  assertMoments(heNormal(convFanAxes())(k2!, [64, 16, 5, 5]), 2 / 400, 'heNormal on OIHW');
  assertMoments(lecunNormal()(k3!, [5, 5, 16, 64]), 1 / 400, 'lecunNormal on HWIO');
  assertMoments(heUniform()(k4!, [300, 200]), 2 / 300, 'heUniform');
  assert.equal(vals(zeros(key, [2, 2])), [0, 0, 0, 0]);
  assert.equal(vals(ones(key, [3])), [1, 1, 1]);
  assert.equal(vals(constant(0.5)(key, [2])), [0.5, 0.5]);
  // Same key, same values; different keys, different values.
  assert.equal(vals(heNormal()(k1!, [4, 4])), vals(heNormal()(k1!, [4, 4])));
  assert.not.equal(vals(heNormal()(k1!, [4, 4])), vals(heNormal()(k2!, [4, 4])));
  assertThrows(() => varianceScaling(1, 'fanIn', 'normal')(key, [4, 4], 'int32'), Error, /varianceScaling/, /int32/);
  assertThrows(() => varianceScaling(1, 'fanInn' as never, 'normal'), ValueError, /varianceScaling/, /fanInn/);
});

/** Max |Aᵀ A − I| of a matrix given as a vidax array. */
function gramError(a: VArray): number {
  const g = vals(np.matmul(np.transpose(a), a));
  const n = a.shape[1]!;
  return Math.max(...g.map((v, i) => Math.abs(v - (Math.floor(i / n) === i % n ? 1 : 0))));
}

test('orthogonal: orthonormal columns (tall), rows (wide), R = QᵀA upper triangular with a positive diagonal', () => {
  const tall = orthogonal()(key, [40, 24]);
  assert.ok(gramError(tall) < 2e-6, `QᵀQ = I (err ${gramError(tall)})`);
  const wide = orthogonal({ scale: 1 })(key, [7, 30]);
  assert.ok(gramError(np.transpose(wide)) < 2e-6, 'Q Qᵀ = I for a wide matrix');
  // Q is the QR factor of the normal matrix drawn from the same key: R = QᵀA is upper triangular.
  const a = random.normal(key, [40, 24]);
  const r = vals(np.matmul(np.transpose(tall), a));
  for (let i = 0; i < 24; i++) {
    assert.ok(r[i * 24 + i]! > 0, `R[${i},${i}] > 0`);
    for (let j = 0; j < i; j++) assert.ok(Math.abs(r[i * 24 + j]!) < 1e-4, `R[${i},${j}] = ${r[i * 24 + j]} should be 0`);
  }
  // A conv kernel (O, I, kh, kw) with the output channels as columns: the 8 filters are orthonormal.
  const k = orthogonal({ columnAxis: 0, scale: 2 })(key, [8, 3, 3, 3]);
  assert.equal(k.shape, [8, 3, 3, 3]);
  const filters = np.transpose(np.reshape(k, [8, 27]));
  assert.ok(gramError(filters.div(2)) < 2e-6, 'orthonormal filters, times scale');
  // Traceable: the same under jit.
  assertClose(vals(jit((kk: VArray) => orthogonal()(kk, [6, 4]))(key)), vals(orthogonal()(key, [6, 4])), { atol: 1e-6 }, 'jit(orthogonal)');
});

// ---------------------------------------------------------------- naive references

/** Channels-first N-d convolution, a direct sum over windows (stride, [lo, hi] pads, dilation, groups). */
function naiveConv(x: Ref, w: Ref, stride: number[], pads: [number, number][], dilation: number[], groups: number): Ref {
  const [n, , ...sp] = x.shape;
  const [o, cg, ...win] = w.shape;
  const outSp = sp.map((s, d) => Math.floor((s + pads[d]![0] + pads[d]![1] - dilation[d]! * (win[d]! - 1) - 1) / stride[d]!) + 1);
  const shape = [n!, o!, ...outSp];
  const data = new Array<number>(prod(shape)).fill(0);
  const og = o! / groups;
  for (let f = 0; f < data.length; f++) {
    const [b, oc, ...pos] = unravel(f, shape);
    const g = Math.floor(oc! / og);
    let acc = 0;
    for (let ci = 0; ci < cg!; ci++) {
      for (let wf = 0; wf < prod(win); wf++) {
        const wi = unravel(wf, win);
        const xi = pos.map((p, d) => p * stride[d]! - pads[d]![0] + wi[d]! * dilation[d]!);
        if (xi.some((v, d) => v < 0 || v >= sp[d]!)) continue;
        acc += x.data[flatIndex([b!, g * cg! + ci, ...xi], x.shape)]! * w.data[flatIndex([oc!, ci, ...wi], w.shape)]!;
      }
    }
    data[f] = acc;
  }
  return { shape, data };
}

const toRef = (a: VArray): Ref => ({ shape: [...a.shape], data: vals(a) });

test('linear matches x·w + b over the last axis, any leading dims; embedding gathers rows', () => {
  const sample = refSampler(11, 0);
  const layer = linear({ inFeatures: 4, outFeatures: 3 });
  const p = layer.init(key);
  assert.equal(p.w.shape, [4, 3]);
  assert.equal(vals(p.b!), [0, 0, 0]);
  const b = sample([3]).arr;
  const { ref: xr, arr: x } = sample([2, 5, 4]);
  const y = layer.apply({ w: p.w, b }, x);
  assert.equal(y.shape, [2, 5, 3]);
  const w = vals(p.w), bv = vals(b);
  const want = Array.from({ length: 30 }, (_, f) => {
    const [r, j] = [Math.floor(f / 3), f % 3];
    return bv[j]! + [0, 1, 2, 3].reduce((acc, i) => acc + xr.data[r * 4 + i]! * w[i * 3 + j]!, 0);
  });
  assertClose(vals(y), want, { rtol: 1e-5, atol: 1e-6 }, 'linear');
  const noBias = linear({ inFeatures: 4, outFeatures: 3, bias: false, kernelInit: ones });
  const pn = noBias.init(key);
  assert.equal(Object.keys(pn), ['w']);
  assert.equal(vals(noBias.apply(pn, np.array([1, 2, 3, 4]))), [10, 10, 10]);
  assertThrows(() => layer.apply(p, np.ones([2, 5])), ShapeError, /linear/, /\[2,5\]/, /inFeatures = 4/);
  assertThrows(() => linear({ inFeatures: 0, outFeatures: 2 }), ValueError, /linear/, /inFeatures/);

  const emb = embedding({ num: 10, features: 64 });
  const pe = emb.init(key);
  assert.equal(pe.w.shape, [10, 64]);
  assertMoments(embedding({ num: 500, features: 100 }).init(key).w, 1 / 100, 'embedding default init');
  const ids = np.array(Int32Array.from([3, 0, 9, 3]), 'int32').reshape([2, 2]);
  const rows = emb.apply(pe, ids);
  assert.equal(rows.shape, [2, 2, 64]);
  const table = vals(pe.w);
  assert.equal(vals(rows).slice(0, 64), table.slice(3 * 64, 4 * 64));
  assert.equal(vals(rows).slice(128, 192), table.slice(9 * 64, 10 * 64));
  assertThrows(() => emb.apply(pe, np.array([1.5])), Error, /embedding/, /int32/);
});

test('conv matches a naive N-d convolution: 1-D/2-D/3-D, stride, padding, dilation, groups', () => {
  const sample = refSampler(12, 0);
  const cases = [
    { dims: 1, x: [2, 3, 9], cin: 3, cout: 4, k: [3], stride: [2], pad: 'SAME', pads: [[1, 1]], dil: [1], groups: 1 },
    { dims: 2, x: [1, 4, 6, 7], cin: 4, cout: 6, k: [3, 2], stride: [1, 2], pad: 'VALID', pads: [[0, 0], [0, 0]], dil: [2, 1], groups: 2 },
    { dims: 2, x: [2, 2, 5, 5], cin: 2, cout: 2, k: [3, 3], stride: [2, 2], pad: 1, pads: [[1, 1], [1, 1]], dil: [1, 1], groups: 2 },
    { dims: 2, x: [1, 3, 6, 5], cin: 3, cout: 2, k: [4, 3], stride: [2, 1], pad: 'SAME', pads: [[1, 1], [1, 1]], dil: [1, 1], groups: 1 },
    { dims: 3, x: [1, 2, 4, 5, 3], cin: 2, cout: 3, k: [2, 3, 1], stride: [1, 2, 1], pad: [[1, 0], [0, 2], [0, 0]], pads: [[1, 0], [0, 2], [0, 0]], dil: [1, 1, 1], groups: 1 },
  ] as const;
  for (const c of cases) {
    const layer = conv({
      dims: c.dims, inChannels: c.cin, outChannels: c.cout, kernelSize: c.k as unknown as number[], stride: c.stride as unknown as number[],
      padding: c.pad as never, dilation: c.dil as unknown as number[], groups: c.groups,
    });
    const p = layer.init(key);
    assert.equal(p.w.shape, [c.cout, c.cin / c.groups, ...c.k]);
    const bias = sample([c.cout]);
    const x = sample([...c.x]);
    const y = layer.apply({ w: p.w, b: bias.arr }, x.arr);
    const ref = naiveConv(x.ref, toRef(p.w), [...c.stride], c.pads.map(([a, b]) => [a, b] as [number, number]), [...c.dil], c.groups);
    ref.data = ref.data.map((v, f) => v + bias.ref.data[unravel(f, ref.shape)[1]!]!);
    assert.equal(y.shape, ref.shape, `${c.dims}-D shape`);
    assertClose(vals(y), ref.data, { rtol: 1e-5, atol: 1e-5 }, `${c.dims}-D conv ${JSON.stringify(c.k)}`);
    // An unbatched input is one example.
    assertClose(vals(layer.apply({ w: p.w, b: bias.arr }, x.arr.slice(0))), vals(y.slice(0)), { atol: 1e-6 }, 'unbatched');
  }
});

test('conv: channels-last equals channels-first on transposed data; default init fans; errors', () => {
  const cf = conv({ dims: 2, inChannels: 3, outChannels: 5, kernelSize: 3, stride: 2 });
  const cl = conv({ dims: 2, inChannels: 3, outChannels: 5, kernelSize: 3, stride: 2, layout: 'channels-last' });
  const p = cf.init(key);
  const pl = { w: np.transpose(p.w, [2, 3, 1, 0]), b: random.normal(key, [5]) };
  const x = random.normal(random.key(3), [2, 3, 7, 6]);
  const yf = cf.apply({ w: p.w, b: pl.b }, x);
  const yl = cl.apply(pl, np.transpose(x, [0, 2, 3, 1]));
  assert.equal(cl.init(key).w.shape, [3, 3, 3, 5]);
  assertClose(vals(np.transpose(yl, [0, 3, 1, 2])), vals(yf), { atol: 1e-5 }, 'layouts agree');
  // LeCun normal over fanIn = I · kh · kw in both layouts.
  const big = conv({ dims: 2, inChannels: 32, outChannels: 200, kernelSize: 3 });
  assertMoments(big.init(key).w, 1 / (32 * 9), 'conv default init');
  assertMoments(conv({ dims: 2, inChannels: 32, outChannels: 200, kernelSize: 3, layout: 'channels-last' }).init(key).w, 1 / (32 * 9), 'channels-last init');
  assertThrows(() => cf.apply(p, np.ones([2, 4, 5, 5])), ShapeError, /conv/, /\[2,4,5,5\]/, /inChannels = 3/);
  assertThrows(() => cf.apply(p, np.ones([5, 5])), ShapeError, /conv/, /rank 4/);
  assertThrows(() => conv({ dims: 2, inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2 }), ValueError, /divisible by groups = 2/);
  assertThrows(() => conv({ dims: 2, inChannels: 3, outChannels: 4, kernelSize: [3, 3, 3] }), ValueError, /kernelSize/, /2 entries/);
});

test('dirac: a convolution with a Dirac kernel is the identity (groups, channels-last, causal tap)', () => {
  const x = random.normal(key, [2, 4, 5, 6]);
  const same = conv({ dims: 2, inChannels: 4, outChannels: 4, kernelSize: [3, 5], kernelInit: dirac(), bias: false });
  assert.equal(vals(same.apply(same.init(key), x)), vals(x));
  const grouped = conv({ dims: 2, inChannels: 4, outChannels: 4, kernelSize: 3, groups: 2, kernelInit: dirac({ groups: 2 }), bias: false });
  assert.equal(vals(grouped.apply(grouped.init(key), x)), vals(x));
  const last = conv({ dims: 2, inChannels: 4, outChannels: 4, kernelSize: 3, layout: 'channels-last', kernelInit: dirac(convFanAxes('channels-last')), bias: false });
  const xl = np.transpose(x, [0, 2, 3, 1]);
  assert.equal(vals(last.apply(last.init(key), xl)), vals(xl));
  const causal = conv({ dims: 1, inChannels: 4, outChannels: 4, kernelSize: 4, padding: [[3, 0]], kernelInit: dirac({ tap: 'last' }), bias: false });
  const x1 = random.normal(key, [2, 4, 7]);
  assert.equal(vals(causal.apply(causal.init(key), x1)), vals(x1));
  // torch.nn.init.dirac_ with more outputs than inputs: the extra output channels are zero.
  const wide = dirac()(key, [3, 2, 3]);
  assert.equal(vals(wide), [0, 1, 0, 0, 0, 0, /* */ 0, 0, 0, 0, 1, 0, /* */ 0, 0, 0, 0, 0, 0]);
});

// ---------------------------------------------------------------- space-time convolutions

test('conv3dTemporal starts as the identity in time (SAME, causal, dilated); later it mixes only past frames when causal', () => {
  const x = random.normal(key, [2, 3, 6, 4, 5]);
  for (const cfg of [{}, { causal: true }, { kernelSize: 5, dilation: 2 }, { causal: true, kernelSize: 2, dilation: 3 }]) {
    const t = conv3dTemporal({ channels: 3, ...cfg });
    const p = t.init(key);
    assert.equal(p.w.shape, [3, 3, cfg.kernelSize ?? 3, 1, 1]);
    assert.equal(vals(t.apply(p, x)), vals(x), `identity ${JSON.stringify(cfg)}`);
  }
  const t = conv3dTemporal({ channels: 3, causal: true });
  const p = { w: random.normal(key, [3, 3, 3, 1, 1]), b: random.normal(key, [3]) };
  const y = t.apply(p, x);
  // Changing frames 4 and 5 leaves frames 0..3 unchanged.
  const x2 = np.concatenate([x.slice(':', ':', ':4'), random.normal(random.key(9), [2, 3, 2, 4, 5])], 2);
  const y2 = t.apply(p, x2);
  assert.equal(vals(y2.slice(':', ':', ':4')), vals(y.slice(':', ':', ':4')));
  assert.not.equal(vals(y2.slice(':', ':', 4)), vals(y.slice(':', ':', 4)));
  assertThrows(() => conv3dTemporal({ channels: 3, kernelSize: 4 }), ValueError, /conv3dTemporal/, /odd/);
});

test('conv3dSpatial is a per-frame 2-D conv; spaceTimeConv starts as it; ignoreTime skips time', () => {
  const sp = conv3dSpatial({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2 });
  const p = sp.init(key);
  assert.equal(p.w.shape, [4, 3, 1, 3, 3]);
  const x = random.normal(key, [2, 3, 5, 6, 7]); // (N, C, T, H, W)
  const y = sp.apply(p, x);
  assert.equal(y.shape, [2, 4, 5, 3, 4]);
  const c2 = conv({ dims: 2, inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2 });
  const frames = np.reshape(np.transpose(x, [0, 2, 1, 3, 4]), [10, 3, 6, 7]);
  const y2 = c2.apply({ w: np.squeeze(p.w, 2), b: p.b }, frames);
  assertClose(vals(np.transpose(np.reshape(y2, [2, 5, 4, 3, 4]), [0, 2, 1, 3, 4])), vals(y), { atol: 1e-5 }, 'per-frame 2-D conv');

  const st = spaceTimeConv({ inChannels: 3, outChannels: 4 });
  const ps = st.init(key);
  const spatialOnly = conv3dSpatial({ inChannels: 3, outChannels: 4 }).apply(ps.spatial, x);
  assert.equal(vals(st.apply(ps, x)), vals(spatialOnly), 'identity in time at init');
  const trained = { ...ps, temporal: { w: random.normal(key, ps.temporal.w.shape), b: ps.temporal.b } };
  assert.not.equal(vals(st.apply(trained, x)), vals(spatialOnly));
  assert.equal(vals(st.apply(trained, x, { ignoreTime: true })), vals(spatialOnly));
  assert.equal(countParams(ps), 4 * 3 * 9 + 4 + 4 * 4 * 3 + 4);
});

// ---------------------------------------------------------------- sampling

test('sampling: nearest repeats frames in time only; bilinear keeps frames; strided-conv and pool shapes', () => {
  const v = random.normal(key, [1, 2, 3, 4, 4]);
  const up = upsampleNearest(v, 2, [2]);
  assert.equal(up.shape, [1, 2, 6, 4, 4]);
  assert.equal(vals(up.slice(':', ':', 2)), vals(v.slice(':', ':', 1)));
  assert.equal(vals(up.slice(':', ':', 3)), vals(v.slice(':', ':', 1)));
  assert.equal(upsampleNearest(np.ones([2, 3, 4, 5]), [2, 3]).shape, [2, 3, 8, 15]);
  assert.equal(resizeBilinear(v, [8, 6]).shape, [1, 2, 3, 8, 6]);
  assert.equal(vals(resizeBilinear(v, [4, 4])), vals(v), 'same size is the identity');
  // align_corners=True keeps the corner pixels exactly.
  const img = random.normal(key, [1, 1, 4, 5]);
  const big = resizeBilinear(img, [7, 9], { alignCorners: true });
  assert.equal([big.slice(0, 0, 0, 0), big.slice(0, 0, -1, -1)].map((a) => a.item()), [img.slice(0, 0, 0, 0).item(), img.slice(0, 0, -1, -1).item()]);
  assert.equal(linearResizeWeights(4, 8, false).i0, [0, 0, 0, 1, 1, 2, 2, 3]);
  assert.equal(linearResizeWeights(4, 8, false).i1, [1, 1, 1, 2, 2, 3, 3, 3]);
  assert.equal(linearResizeWeights(4, 8, false).w1, [0, 0.25, 0.75, 0.25, 0.75, 0.25, 0.75, 0.25]); // the last reads pixel 3 twice
  const down = downsampleStridedConv({ dims: 3, inChannels: 2, outChannels: 5, factor: [1, 2, 2] });
  const pd = down.init(key);
  assert.equal(pd.w.shape, [5, 2, 1, 3, 3]);
  assert.equal(down.apply(pd, v).shape, [1, 5, 3, 2, 2]);
  assert.equal(downsampleStridedConv({ dims: 2, inChannels: 2 }).apply(downsampleStridedConv({ dims: 2, inChannels: 2 }).init(key), np.ones([1, 2, 7, 8])).shape, [1, 2, 4, 4]);
  assert.equal(avgPool(v, [1, 2, 2]).shape, [1, 2, 3, 2, 2]);
  assert.equal(avgPool(np.ones([1, 1, 5, 5]), 3, { stride: 1, padding: 'SAME', countIncludePad: false }).shape, [1, 1, 5, 5]);
  assert.equal(vals(avgPool(np.ones([1, 1, 5, 5]), 3, { stride: 1, padding: 'SAME', countIncludePad: false })), new Array(25).fill(1));
  assert.equal(maxPool(np.array([[[1, 5, 2, 7]]]), 2).shape, [1, 1, 2]);
  assert.equal(vals(maxPool(np.array([[[1, 5, 2, 7]]]), 2)), [5, 7]);
  assertThrows(() => upsampleNearest(np.ones([4, 4]), 2), ShapeError, /upsampleNearest/, /pass axes/);
  assertThrows(() => avgPool(np.ones([1, 1, 2, 2]), 3), ShapeError, /avgPool/, /window 3/);
  assertThrows(() => resizeBilinear(np.ones([1, 1, 4, 4]), [2, 0]), ValueError, /resizeBilinear/, /size/);
});

// ---------------------------------------------------------------- transformations

/** ⟨∇f(p), t⟩ against the central difference of f along a random t (f in float32, so a loose tolerance). */
function checkDirectional<P>(f: (p: P) => VArray, p: P, h: number, what: string): void {
  const g = grad(f)(p);
  const t = tree.map((a: VArray) => random.normal(random.key(a.size), a.shape), p as tree.PyTree<VArray>) as P;
  const dot = tree.leaves<VArray>(tree.map((a: VArray, b: VArray) => np.sum(a.mul(b)), g as tree.PyTree<VArray>, t as tree.PyTree<VArray>)).reduce((s, v) => s + (v.item() as number), 0);
  const shift = (s: number) => tree.map((a: VArray, b: VArray) => a.add(b.mul(s)), p as tree.PyTree<VArray>, t as tree.PyTree<VArray>) as P;
  const fd = ((f(shift(h)).item() as number) - (f(shift(-h)).item() as number)) / (2 * h);
  assert.ok(Math.abs(dot - fd) <= 2e-3 * Math.max(1, Math.abs(fd)), `${what}: ⟨grad, t⟩ = ${dot}, finite difference ${fd}`);
}

test('layers under jit, vmap and grad: jit = eager, vmap over examples = batched, grad = finite differences', () => {
  const st = spaceTimeConv({ inChannels: 2, outChannels: 3, causal: true });
  const ps = st.init(key);
  const trained = { ...ps, temporal: { w: random.normal(key, ps.temporal.w.shape), b: ps.temporal.b } };
  const x = random.normal(key, [3, 2, 4, 5, 5]);
  const eager = st.apply(trained, x);
  assertClose(vals(jit((p: typeof ps, v: VArray) => st.apply(p, v))(trained, x)), vals(eager), { atol: 1e-5 }, 'jit(spaceTimeConv)');
  assertClose(vals(vmap((v: VArray) => st.apply(trained, v))(x)), vals(eager), { atol: 1e-5 }, 'vmap over unbatched examples');
  // Per-axis sizes default to the trailing axes, so resampling works per example under vmap.
  const perExample = (v: VArray) => maxPool(resizeBilinear(upsampleNearest(avgPool(v, [1, 2, 2]), [1, 2, 2]), [3, 3]), [1, 2, 2], { stride: [1, 1, 1] });
  assert.equal(perExample(x).shape, [3, 2, 4, 2, 2]);
  assertClose(vals(vmap(perExample)(x)), vals(perExample(x)), { atol: 1e-6 }, 'vmap of resampling');
  // vmap(init) builds a stack of independently initialised layers.
  const c = conv({ dims: 2, inChannels: 2, outChannels: 3, kernelSize: 3 });
  const stacked = vmap((k: VArray) => c.init(k))(random.split(key, 4)) as ConvParams;
  assert.equal(stacked.w.shape, [4, 3, 2, 3, 3]);
  assert.equal(vals(stacked.w.slice(2)), vals(c.init(random.split(key, 4).slice(2)).w));

  const img = random.normal(random.key(5), [2, 2, 6, 6]);
  const cp = { w: random.normal(key, [3, 2, 3, 3]).mul(0.3), b: random.normal(key, [3]) };
  const pipeline = (p: ConvParams) => np.sum(np.tanh(avgPool(resizeBilinear(c.apply(p, img), [4, 5]), 2, { padding: 1, countIncludePad: false })).square());
  checkDirectional(pipeline, cp, 1e-2, 'conv → bilinear → avgPool');
  // Max pooling is piecewise smooth: a small step along the input keeps every window's winner.
  checkDirectional((v: VArray) => np.sum(maxPool(upsampleNearest(c.apply(cp, v), 2), 3, { stride: 2, padding: 'SAME' }).square()), img, 1e-3, 'conv → nearest → maxPool');
  const g1 = grad(pipeline)(cp) as ConvParams;
  const g2 = jit(grad(pipeline))(cp) as ConvParams;
  assertClose(vals(g2.w), vals(g1.w), { rtol: 1e-4, atol: 1e-5 }, 'jit(grad) = grad');
});

test('a few SGD steps of a small conv net reduce its loss (the conv layer is trainable end to end)', () => {
  const c1 = conv({ dims: 2, inChannels: 1, outChannels: 4, kernelSize: 3 });
  const head = linear({ inFeatures: 4, outFeatures: 1 });
  const [k1, k2, k3] = random.split(key, 3);
  let params = { c1: c1.init(k1!), head: head.init(k2!) };
  const x = random.normal(k3!, [8, 1, 6, 6]);
  const target = np.mean(x, { axis: [1, 2, 3] }).reshape([8, 1]).mul(3);
  const loss = (p: typeof params) => np.mean(head.apply(p.head, np.mean(np.tanh(c1.apply(p.c1, x)), { axis: [2, 3] })).sub(target).square());
  const step = jit((p: typeof params) => tree.map((w: VArray, g: VArray) => w.sub(g.mul(0.5)), p as tree.PyTree<VArray>, grad(loss)(p)) as unknown as typeof params);
  const before = loss(params).item() as number;
  for (let i = 0; i < 30; i++) params = step(params);
  const after = loss(params).item() as number;
  assert.ok(after < 0.5 * before, `loss ${before} → ${after}`);
});

// ---------------------------------------------------------------- parameter trees

test('params: dotted paths in tree order, mapWithPath, countParams, cast, globalNorm', () => {
  const params = {
    down: [{ conv: { w: np.ones([2, 3]), b: np.zeros([2]) } }, { conv: { w: np.ones([4]) } }],
    head: { w: np.array([3, 4]) },
    step: np.array(Int32Array.from([7]), 'int32'),
    unused: null,
  };
  const flat = flattenWithPaths(params);
  assert.equal(flat.map(([p]) => p), ['down.0.conv.b', 'down.0.conv.w', 'down.1.conv.w', 'head.w', 'step']);
  assert.ok(flat.every(([, leaf], i) => leaf === tree.leaves(params)[i]), 'same order as tree.leaves');
  const shapes = mapWithPath((p, leaf: VArray) => `${p}:${leaf.shape.join('x')}`, params);
  assert.equal(shapes, { down: [{ conv: { b: 'down.0.conv.b:2', w: 'down.0.conv.w:2x3' } }, { conv: { w: 'down.1.conv.w:4' } }], head: { w: 'head.w:2' }, step: 'step:1', unused: null });
  assert.is(countParams(params), 6 + 2 + 4 + 2 + 1);
  assert.is(countParams(spaceTimeConv({ inChannels: 2, outChannels: 2 }).init(key)), 2 * 2 * 9 + 2 + 2 * 2 * 3 + 2);
  const casted = cast(params, 'int32') as typeof params;
  assert.is(casted.head.w.dtype, 'int32');
  assert.is(casted.step, params.step, 'non-float leaves untouched');
  assert.ok(Math.abs((globalNorm({ a: np.array([3, 4]), b: [np.array([[12]])] }).item() as number) - 13) < 1e-6);
  assert.is(globalNorm({}).item(), 0);
  assertThrows(() => flattenWithPaths({ 'a.b': np.ones([1]) }), ValueError, /flattenWithPaths/, /"a\.b"/);
});

test('params: partition excludes frozen leaves from grad; merge inverts partition', () => {
  const enc = linear({ inFeatures: 3, outFeatures: 3 });
  const dec = linear({ inFeatures: 3, outFeatures: 2 });
  const [k1, k2] = random.split(key);
  const params = { textEncoder: enc.init(k1!), decoder: dec.init(k2!) };
  const [train, frozen] = partition(params, (p) => !p.startsWith('textEncoder.'));
  assert.equal(flattenWithPaths(train).map(([p]) => p), ['decoder.b', 'decoder.w']);
  assert.equal(flattenWithPaths(frozen).map(([p]) => p), ['textEncoder.b', 'textEncoder.w']);
  const back = merge(train, frozen);
  assert.equal(flattenWithPaths(back).map(([p]) => p), flattenWithPaths(params).map(([p]) => p));
  assert.is(back.textEncoder.w, params.textEncoder.w);
  const x = random.normal(key, [4, 3]);
  const loss = (t: typeof train) => {
    const p = merge(t, frozen);
    return np.sum(dec.apply(p.decoder, np.tanh(enc.apply(p.textEncoder, x))).square());
  };
  const g = grad(loss)(train) as { decoder: { w: VArray; b: VArray }; textEncoder: { w: null; b: null } };
  assert.equal(flattenWithPaths(g).map(([p]) => p), ['decoder.b', 'decoder.w']);
  assert.is(g.textEncoder.w, null);
  const full = grad((p: typeof params) => np.sum(dec.apply(p.decoder, np.tanh(enc.apply(p.textEncoder, x))).square()))(params) as typeof params;
  assertClose(vals(g.decoder.w), vals(full.decoder.w), { atol: 1e-6 }, 'same decoder gradient as with everything trainable');
  assertThrows(() => merge(params, params), ValueError, /merge/, /present in 2 trees/);
  assertThrows(() => merge<object>(train, { decoder: null }), ValueError, /merge/, /layout/);
});

test.run();
