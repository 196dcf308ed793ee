/**
 * Laws of the diffusion math (src/diffusion: schedules, parameterization, forward, losses):
 *
 * - α² + σ² = 1 and α² = sigmoid(λ);
 * - every schedule is strictly decreasing, hits its stated endpoints, and t(λ(t)) = t; its
 *   derivative matches finite differences and d t/dλ · dλ/dt = 1 under `grad`;
 * - the six x/ε/v conversions round-trip, and (x, ε) → (z, v) is a rotation (norms preserved);
 * - at a fixed z, for any prediction x̂: ε-MSE = SNR·x-MSE, v-MSE = (1 + SNR)·x-MSE,
 *   truncated = max(SNR, 1)·x-MSE, Min-SNR-γ = min(SNR, γ)·x-MSE, and `denoisingLoss` equals
 *   the matching ε/v-space loss computed directly;
 * - the denoiser adapter recovers x̂ from any output kind ('both' mixes with weight σ²);
 * - the posterior is Bayes' rule for q(z_t | z_s) q(z_s | x), and transitions compose;
 * - VDM's continuous loss uses γ′(t) (checked by finite differences) and is the T → ∞ limit
 *   of the discrete loss;
 * - every function gives the same result under `jit` and `vmap` as eagerly.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grad, jit, np, vmap, ShapeError, ValueError, type Array as VArray } from '../src/index.js';
import * as S from '../src/diffusion/schedules.js';
import * as P from '../src/diffusion/parameterization.js';
import * as F from '../src/diffusion/forward.js';
import * as L from '../src/diffusion/losses.js';
import { assertClose, assertThrows, lcg, type Tolerance } from '../test/helpers.js';
import { propsOptions } from './options.js';

const N = 3;
const DATA: number[] = [N, 2, 4];
const TOL: Tolerance = { rtol: 1e-4, atol: 1e-4 };

/** Seeded uniform data in [lo, hi) as a float32 array of `shape`. */
function rand(seed: number, shape: number[], lo = -1, hi = 1): VArray {
  const r = lcg(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return np.array(Float32Array.from({ length: size }, () => lo + (hi - lo) * r())).reshape(shape);
}
const vals = (x: VArray): number[] => Array.from(x.dataSync());
const close = (got: VArray, want: VArray, what: string, tol = TOL): void => {
  assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  assertClose(got.dataSync(), want.dataSync(), tol, what);
};
/** Per-example sum of squares over the data axes. */
const sumSq = (x: VArray): VArray => np.sum(x.square(), x.shape.map((_, i) => i).slice(1));

const seedArb = fc.integer({ min: 0, max: 0x7fffffff });

interface ScheduleCase {
  make: () => S.Schedule;
  /** λ(0) and λ(1). */
  ends: [number, number];
}
const SCHEDULES: Record<string, ScheduleCase> = {
  'cosine ±20': { make: () => S.cosineSchedule(), ends: [20, -20] },
  'cosine unclipped': { make: () => S.cosineSchedule({ logSnrMin: -Infinity, logSnrMax: Infinity }), ends: [Infinity, -Infinity] },
  'cosine (-8, 11)': { make: () => S.cosineSchedule({ logSnrMin: -8, logSnrMax: 11 }), ends: [11, -8] },
  'iddpm cosine': { make: () => S.iddpmCosine(), ends: [Infinity, -Infinity] },
  'imagen alpha cosine': { make: () => S.iddpmCosine({ normalized: false }), ends: [-2 * Math.log(Math.tan((0.008 / 1.008) * (Math.PI / 2))), -Infinity] },
  'imagen linear': { make: () => S.linearLogSnr(), ends: [-Math.log(Math.expm1(1e-4)), -Math.log(Math.expm1(10.0001))] },
  'shifted 64/256': { make: () => S.shiftedCosine({ shift: 0.25 }), ends: [15 + 2 * Math.log(0.25), -15 + 2 * Math.log(0.25)] },
  'shifted bounded': { make: () => S.shiftedCosine({ shift: 0.25, preserveBounds: true }), ends: [15, -15] },
  'interpolated 32→256': { make: () => S.interpolatedCosine({ shiftLow: 0.125, shiftHigh: 1 }), ends: [15, -15 + 2 * Math.log(0.125)] },
  'vdm linear γ': { make: () => S.vdmLinearGamma(), ends: [13.3, -5] },
};

test('α² + σ² = 1 and α² = sigmoid(λ), SNR = α²/σ²', () => {
  fc.assert(
    fc.property(seedArb, (seed) => {
      const l = rand(seed, [16], -30, 30);
      const { alpha, sigma } = S.alphaSigma(l);
      close(alpha.square().add(sigma.square()), np.onesLike(l), 'α² + σ²', { rtol: 1e-6, atol: 1e-6 });
      close(alpha.square(), np.sigmoid(l), 'α² = sigmoid(λ)', { rtol: 1e-6, atol: 1e-7 });
      const inRange = rand(seed + 1, [16], -10, 10);
      const as = S.alphaSigma(inRange);
      close(S.snr(inRange), as.alpha.square().div(as.sigma.square()), 'SNR = α²/σ²', { rtol: 1e-5, atol: 0 });
    }),
    propsOptions(30),
  );
});

test('schedules: strictly decreasing, stated endpoints, t(λ(t)) = t', () => {
  for (const [name, { make, ends }] of Object.entries(SCHEDULES)) {
    const s = make();
    const endVals = vals(s.logSnr(np.array([0, 1])));
    assertClose(endVals, ends, { rtol: 1e-5, atol: 1e-5 }, `${name}: λ(0), λ(1)`);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 999 }), { minLength: 2, maxLength: 8 }), (ks) => {
        const ts = [...ks].sort((a, b) => a - b).map((k) => k / 1000);
        const t = np.array(ts);
        const l = s.logSnr(t);
        const lv = vals(l);
        for (let i = 1; i < lv.length; i++) assert.ok(lv[i] < lv[i - 1], `${name}: λ(${ts[i]}) = ${lv[i]} < λ(${ts[i - 1]}) = ${lv[i - 1]}`);
        assertClose(vals(s.t!(l)), vals(t), { rtol: 0, atol: 2e-5 }, `${name}: t(λ(t))`);
      }),
      propsOptions(10),
    );
  }
});

test('schedules under grad: λ′(t) matches finite differences and dt/dλ · dλ/dt = 1', () => {
  for (const [name, { make }] of Object.entries(SCHEDULES)) {
    const s = make();
    const dLogSnr = grad((t: VArray) => s.logSnr(t));
    const dT = grad((l: VArray) => s.t!(l));
    fc.assert(
      fc.property(fc.integer({ min: 50, max: 950 }), (k) => {
        const t0 = k / 1000;
        const h = 1e-3;
        const fd = (vals(s.logSnr(np.array([t0 + h])))[0] - vals(s.logSnr(np.array([t0 - h])))[0]) / (2 * h);
        const d = (dLogSnr(np.array(t0)) as VArray).item() as number;
        assert.ok(Math.abs(d - fd) <= 2e-2 * Math.abs(fd) + 1e-3, `${name}: λ′(${t0}) = ${d}, finite difference ${fd}`);
        const l0 = s.logSnr(np.array(t0));
        const inv = (dT(l0) as VArray).item() as number;
        assert.ok(Math.abs(inv * d - 1) < 1e-3, `${name}: dt/dλ · dλ/dt = ${inv * d} at t = ${t0}`);
      }),
      propsOptions(5),
    );
  }
});

test('conversions round-trip and (x, ε) → (z, v) preserves norms (a rotation)', () => {
  fc.assert(
    fc.property(seedArb, (seed) => {
      const x = rand(seed, DATA);
      const eps = rand(seed + 1, DATA, -2, 2);
      const l = rand(seed + 2, [N], -6, 6);
      const z = F.qSample(x, l, eps);
      const v = P.velocity(x, eps, l);
      close(P.xFromEps(z, eps, l), x, 'xFromEps');
      close(P.xFromV(z, v, l), x, 'xFromV');
      close(P.epsFromX(z, x, l), eps, 'epsFromX');
      close(P.epsFromV(z, v, l), eps, 'epsFromV');
      close(P.vFromX(z, x, l), v, 'vFromX');
      close(P.vFromEps(z, eps, l), v, 'vFromEps');
      // The six maps compose to identities at a fixed z, for arbitrary (not self-consistent) inputs.
      const y = rand(seed + 3, DATA, -3, 3);
      close(P.xFromEps(z, P.epsFromX(z, y, l), l), y, 'x → ε → x');
      close(P.xFromV(z, P.vFromX(z, y, l), l), y, 'x → v → x');
      close(P.epsFromV(z, P.vFromEps(z, y, l), l), y, 'ε → v → ε');
      close(sumSq(z).add(sumSq(v)), sumSq(x).add(sumSq(eps)), '‖z‖² + ‖v‖² = ‖x‖² + ‖ε‖²', { rtol: 1e-5, atol: 1e-5 });
      const { alpha, sigma } = S.alphaSigma(l.reshape([N, 1, 1]));
      close(alpha.mul(v).add(sigma.mul(z)), eps, 'inverse rotation: ε = σ z + α v');
    }),
    propsOptions(30),
  );
});

test('loss identities at fixed z for random predictions', () => {
  fc.assert(
    fc.property(seedArb, fc.double({ min: 0.5, max: 8, noNaN: true }), (seed, gamma) => {
      const x = rand(seed, DATA);
      const eps = rand(seed + 1, DATA, -2, 2);
      const l = rand(seed + 2, [N], -5, 5);
      const z = F.qSample(x, l, eps);
      const xHat = rand(seed + 3, DATA);
      const snr = S.snr(l);
      const mse = (a: VArray, b: VArray) => np.mean(a.sub(b).square(), [1, 2]);
      const xMse = mse(x, xHat);
      const epsMse = mse(eps, P.epsFromX(z, xHat, l));
      const vMse = mse(P.velocity(x, eps, l), P.vFromX(z, xHat, l));
      close(epsMse, snr.mul(xMse), 'ε-MSE = SNR·x-MSE');
      close(vMse, snr.add(1).mul(xMse), 'v-MSE = (1 + SNR)·x-MSE');
      const loss = (weighting: L.Weighting) => L.denoisingLoss({ xHat, x, logSnr: l, weighting, reduction: 'perExample' });
      close(loss('snr'), epsMse, "denoisingLoss 'snr' = ε-MSE");
      close(loss('snrPlusOne'), vMse, "denoisingLoss 'snrPlusOne' = v-MSE");
      close(loss('truncatedSnr'), np.maximum(xMse, epsMse), "denoisingLoss 'truncatedSnr' = max(x-MSE, ε-MSE)");
      close(loss('constant'), xMse, "denoisingLoss 'constant' = x-MSE");
      close(loss(L.minSnr(gamma)), np.minimum(snr, gamma).div(snr).mul(epsMse), 'minSnr(γ) = min(SNR, γ)/SNR · ε-MSE');
      close(loss(L.minSnr(gamma)), np.minimum(snr, gamma).div(snr.add(1)).mul(vMse), 'minSnr(γ) = min(SNR, γ)/(SNR + 1) · v-MSE');
      close(L.denoisingLoss({ xHat, x, logSnr: l, weighting: 'snr' }), np.mean(epsMse), "reduction 'mean' = mean of per-example");
      // ε errors are amplified by σ/α in x (PD §4): x̂ − x = −(σ/α)·(ε̂ − ε).
      const delta = rand(seed + 4, DATA, -0.1, 0.1);
      const { alpha, sigma } = S.alphaSigma(l.reshape([N, 1, 1]));
      close(P.xFromEps(z, eps.add(delta), l).sub(x), sigma.div(alpha).mul(delta).neg(), 'x̂ − x = −(σ/α)·δ');
    }),
    propsOptions(30),
  );
});

test('denoiser adapter: every output kind gives the same x̂, and the x & ε mixture weights σ²', () => {
  fc.assert(
    fc.property(seedArb, (seed) => {
      const x = rand(seed, DATA);
      const eps = rand(seed + 1, DATA, -2, 2);
      const l = rand(seed + 2, [N], -5, 5);
      const z = F.qSample(x, l, eps);
      const xHat = rand(seed + 3, DATA);
      const outputs: Record<P.PredictionKind, VArray | P.BothOutput> = {
        x: xHat,
        eps: P.epsFromX(z, xHat, l),
        v: P.vFromX(z, xHat, l),
        both: { x: xHat, eps: P.epsFromX(z, xHat, l) },
      };
      for (const kind of ['x', 'eps', 'v', 'both'] as const) {
        const den = P.makeDenoiser(() => outputs[kind], kind);
        close(den(z, l), xHat, `makeDenoiser '${kind}'`);
        const all = P.makePredictionDenoiser(() => outputs[kind], kind)(z, l);
        close(all.eps, P.epsFromX(z, xHat, l), `predictionToAll '${kind}' ε̂`);
        close(all.v, P.vFromX(z, xHat, l), `predictionToAll '${kind}' v̂`);
      }
      // 'both' with inconsistent heads: x̂ = σ² x̃ + α² x(ε̃); the same from one channel-stacked array.
      const xTilde = rand(seed + 5, DATA);
      const epsTilde = rand(seed + 6, DATA, -2, 2);
      const { alpha, sigma } = S.alphaSigma(l.reshape([N, 1, 1]));
      const want = sigma.square().mul(xTilde).add(alpha.square().mul(P.xFromEps(z, epsTilde, l)));
      close(P.predictionToX('both', { x: xTilde, eps: epsTilde }, z, l), want, "'both' mixture");
      close(P.predictionToX('both', np.concatenate([xTilde, epsTilde], 1), z, l), want, "'both' from a channel-stacked output");
    }),
    propsOptions(20),
  );
});

test('posterior is Bayes rule for q(z_t | z_s)·q(z_s | x), and forward transitions compose', () => {
  fc.assert(
    fc.property(seedArb, (seed) => {
      const lt = rand(seed, [N], -6, 4);
      const ls = lt.add(rand(seed + 1, [N], 0.05, 4));
      const zt = rand(seed + 2, DATA, -2, 2);
      const x = rand(seed + 3, DATA);
      const { alpha: at, sigma: st } = S.alphaSigma(lt);
      const { alpha: as, sigma: ss } = S.alphaSigma(ls);
      const ats = at.div(as);
      const varTs = F.transitionVariance(lt, ls);
      // Marginals compose: α_{t|s}² σ_s² + σ²_{t|s} = σ_t².
      close(ats.square().mul(ss.square()).add(varTs), st.square(), 'α_{t|s}² σ_s² + σ²_{t|s} = σ_t²', { rtol: 1e-5, atol: 1e-6 });
      // Precision and mean of the Gaussian product N(z_s; α_s x, σ_s²)·N(z_t; α_{t|s} z_s, σ²_{t|s}).
      const precision = np.div(1, ss.square()).add(ats.square().div(varTs));
      const { mean, variance } = F.posterior(zt, x, lt, ls);
      close(variance.reshape([N]), np.div(1, precision), 'σ̃² = 1/(1/σ_s² + α_{t|s}²/σ²_{t|s})', { rtol: 1e-4, atol: 1e-6 });
      const col = (a: VArray) => a.reshape([N, 1, 1]);
      const bayesMean = col(np.div(1, precision)).mul(col(as.div(ss.square())).mul(x).add(col(ats.div(varTs)).mul(zt)));
      close(mean, bayesMean, 'μ̃ = σ̃²·(α_s x/σ_s² + α_{t|s} z_t/σ²_{t|s})');
      // qSampleFromTo with ε = 0 is the mean α_{t|s} z_s; qSample then qSampleFromTo keeps the α_t x mean.
      const zero = np.zerosLike(zt);
      close(F.qSampleFromTo(F.qSample(x, ls, zero), ls, lt, zero), F.qSample(x, lt, zero), 'means compose: α_{t|s} α_s x = α_t x', { rtol: 1e-5, atol: 1e-6 });
    }),
    propsOptions(30),
  );
});

test("VDM losses: ½γ′(t)‖ε − ε̂‖² with γ′ from jvp; the discrete loss tends to it as T → ∞", () => {
  const gamma = (t: VArray): VArray => np.add(-10, t.mul(12)).add(t.mul(t).mul(t).mul(3));
  const gammaPrime = (t: number) => 12 + 9 * t * t;
  fc.assert(
    fc.property(seedArb, (seed) => {
      const t = rand(seed, [N], 0.05, 1);
      const eps = rand(seed + 1, DATA, -2, 2);
      const epsHat = rand(seed + 2, DATA, -2, 2);
      const sq = sumSq(eps.sub(epsHat));
      const want = np.array(vals(t).map(gammaPrime)).mul(0.5).mul(sq);
      close(L.vdmContinuousLoss({ gamma, t, eps, epsHat }), want, 'vdmContinuousLoss', { rtol: 1e-5, atol: 1e-5 });
      close(L.vdmDiscreteLoss({ gamma, t, eps, epsHat, steps: 2000 }), want, 'vdmDiscreteLoss, T = 2000', { rtol: 1e-2, atol: 1e-3 });
      // A linear γ: the vdmLinearGamma schedule's −λ, γ′ = γmax − γmin.
      const sched = S.vdmLinearGamma();
      close(L.vdmContinuousLoss({ gamma: (u) => sched.logSnr(u).neg(), t, eps, epsHat }), sq.mul(0.5 * 18.3), 'linear γ', { rtol: 1e-5, atol: 1e-5 });
    }),
    propsOptions(15),
  );
});

test('grad through a training loss (qSample → v-model → denoisingLoss) matches finite differences in λ and x̂', () => {
  fc.assert(
    fc.property(seedArb, (seed) => {
      const x = rand(seed, DATA);
      const eps = rand(seed + 1, DATA, -2, 2);
      const out = rand(seed + 2, DATA);
      const loss = (l: VArray, o: VArray): VArray => {
        const z = F.qSample(x, l, eps);
        return L.denoisingLoss({ xHat: P.predictionToX('v', o, z, l), x, logSnr: l, weighting: 'snrPlusOne' });
      };
      const l0 = rand(seed + 3, [N], -3, 3);
      const [gl, go] = grad(loss, { argnums: [0, 1] })(l0, out) as [VArray, VArray];
      const dl = rand(seed + 4, [N], -1, 1);
      const dOut = rand(seed + 5, DATA, -1, 1);
      const h = 1e-2;
      const at = (k: number) => loss(l0.add(dl.mul(k * h)), out.add(dOut.mul(k * h))).item() as number;
      const fd = (at(1) - at(-1)) / (2 * h);
      const analytic = (np.sum(gl.mul(dl)).item() as number) + (np.sum(go.mul(dOut)).item() as number);
      assert.ok(Math.abs(analytic - fd) <= 1e-2 * Math.abs(fd) + 1e-3, `directional derivative ${analytic}, finite difference ${fd}`);
    }),
    propsOptions(10),
  );
});

/** Each function with batched arguments (leading axis N); vmap over that axis and jit must match eager. */
interface Fn {
  name: string;
  args: (seed: number) => VArray[];
  f: (...a: VArray[]) => VArray;
}
const zpArgs = (seed: number): VArray[] => [rand(seed, DATA), rand(seed + 1, DATA), rand(seed + 2, [N], -5, 5)];
const tArg = (seed: number): VArray[] => [rand(seed, [N], 0.01, 0.99)];
const lArg = (seed: number): VArray[] => [rand(seed, [N], -8, 8)];
const FNS: Fn[] = [
  { name: 'alphaSigma', args: lArg, f: (l) => S.alphaSigma(l).alpha.sub(S.alphaSigma(l).sigma) },
  { name: 'snr', args: lArg, f: (l) => S.snr(l) },
  ...Object.entries(SCHEDULES).flatMap(([name, { make }]): Fn[] => [
    { name: `${name} logSnr`, args: tArg, f: (t) => make().logSnr(t) },
    { name: `${name} t`, args: (seed) => [make().logSnr(rand(seed, [N], 0.02, 0.98))], f: (l) => make().t!(l) },
  ]),
  ...(['xFromEps', 'xFromV', 'epsFromX', 'epsFromV', 'vFromX', 'vFromEps', 'velocity'] as const).map((k): Fn => ({ name: k, args: zpArgs, f: (a, b, l) => P[k](a, b, l) })),
  ...(['x', 'eps', 'v'] as const).map((k): Fn => ({ name: `predictionToX '${k}'`, args: zpArgs, f: (z, o, l) => P.predictionToX(k, o, z, l) })),
  { name: "predictionToX 'both'", args: (seed) => [rand(seed, DATA), rand(seed + 1, [N, 4, 4]), rand(seed + 2, [N], -5, 5)], f: (z, o, l) => P.predictionToX('both', o, z, l) },
  { name: 'qSample', args: zpArgs, f: (x, e, l) => F.qSample(x, l, e) },
  { name: 'qSampleFromTo', args: (seed) => [...zpArgs(seed), rand(seed + 3, [N], -9, -6)], f: (z, e, ls, lt) => F.qSampleFromTo(z, ls, lt, e) },
  { name: 'posterior mean', args: (seed) => [...zpArgs(seed), rand(seed + 3, [N], 6, 9)], f: (z, x, lt, ls) => F.posterior(z, x, lt, ls).mean },
  { name: 'posterior variance', args: (seed) => [...zpArgs(seed), rand(seed + 3, [N], 6, 9)], f: (z, x, lt, ls) => F.posterior(z, x, lt, ls).variance },
  { name: 'transitionVariance', args: (seed) => [rand(seed, [N], -5, 0), rand(seed + 1, [N], 0, 5)], f: (lt, ls) => F.transitionVariance(lt, ls) },
  ...(['snr', 'snrPlusOne', 'truncatedSnr', 'constant', L.minSnr(5)] as const).map((w): Fn => ({
    name: `denoisingLoss ${JSON.stringify(w)}`,
    args: zpArgs,
    f: (xHat, x, l) => L.denoisingLoss({ xHat, x, logSnr: l, weighting: w, reduction: xHat.ndim === DATA.length ? 'perExample' : 'mean' }),
  })),
  { name: 'vdmContinuousLoss', args: (seed) => [...tArg(seed), rand(seed + 1, DATA), rand(seed + 2, DATA)], f: (t, e, h) => L.vdmContinuousLoss({ gamma: (u) => u.square().mul(4).add(u.mul(3)), t, eps: e, epsHat: h }) },
  { name: 'vdmDiscreteLoss', args: (seed) => [...tArg(seed), rand(seed + 1, DATA), rand(seed + 2, DATA)], f: (t, e, h) => L.vdmDiscreteLoss({ gamma: (u) => u.mul(7).sub(3), t, eps: e, epsHat: h, steps: 10 }) },
];

test('every function gives the same result under jit and under vmap as eagerly', () => {
  for (const { name, args, f } of FNS) {
    const jitted = jit(f);
    const mapped = vmap(f);
    fc.assert(
      fc.property(seedArb, (seed) => {
        const a = args(seed);
        const eager = f(...a);
        close(jitted(...a), eager, `jit(${name})`, { rtol: 1e-5, atol: 1e-5 });
        const perExample = Array.from({ length: N }, (_, i) => f(...a.map((v) => v.slice(i))));
        close(mapped(...a), np.stack(perExample), `vmap(${name})`, { rtol: 1e-5, atol: 1e-5 });
        close(eager.reshape([-1]), np.stack(perExample).reshape([-1]), `${name}: batched = stacked per-example`, { rtol: 1e-5, atol: 1e-5 });
      }),
      propsOptions(3),
    );
  }
});

test('bad input: clear errors naming the function and the shapes', () => {
  const z = rand(1, DATA);
  assertThrows(() => P.xFromEps(z, rand(2, [N, 4, 2]), 0), ShapeError, /xFromEps/, /\[3,4,2\]/, /\[3,2,4\]/);
  assertThrows(() => F.qSample(z, np.zeros([4]), z), ShapeError, /qSample/, /logSnr of shape \[4\]/);
  assertThrows(() => P.predictionToX('both', rand(2, [N, 4, 8]), z, 0), ShapeError, /predictionToX/, /exactly one axis doubled/);
  assertThrows(() => P.predictionToX('eps' as P.PredictionKind, { x: z, eps: z }, z, 0), ValueError, /predictionToX/, /one array/);
  assertThrows(() => P.makeDenoiser(() => z, 'score' as P.PredictionKind), ValueError, /makeDenoiser/, /'score'/);
  assertThrows(() => S.cosineSchedule({ logSnrMin: 5, logSnrMax: -5 }), ValueError, /cosineSchedule/, /logSnrMin/);
  assertThrows(() => S.timesteps(0), ValueError, /timesteps/, /positive integer/);
  assertThrows(() => S.interpolatedCosine({ shiftLow: 1, shiftHigh: 0.5 }), ValueError, /interpolatedCosine/, /monotone/);
  assertThrows(() => L.denoisingLoss({ xHat: z, x: rand(2, [N, 2, 2]), logSnr: 0, weighting: 'snr' }), ShapeError, /denoisingLoss/);
  assertThrows(() => L.lossWeight('eps' as L.Weighting, 0), ValueError, /lossWeight/, /unknown weighting/);
  assertThrows(() => L.vdmContinuousLoss({ gamma: (t) => t, t: np.zeros([2]), eps: z, epsHat: z }), ShapeError, /vdmContinuousLoss/);
});

test.run();
