/**
 * Laws of the samplers, guidance and thresholding (src/diffusion/samplers.ts, guidance.ts,
 * thresholding.ts), on random data and log-SNRs:
 *
 * - guidance: cfg in x, ε and v space gives the same x̂; w = 0 is the conditional prediction;
 *   cfg with w equals u + s(c − u) with s = guidanceScaleFromW(w), and the conversion round-trips;
 * - DDIM with the true x maps z_t = α_t x + σ_t ε exactly onto α_s x + σ_s ε; DDIM from λ to λ is
 *   the identity; Euler (EDM σ form) and first-order DPM-Solver++ equal DDIM;
 * - DDIM's η = 1 variance is the posterior variance, and the η = 1 step is the small-variance
 *   ancestral step (same ξ) = posterior mean + σ̃ ξ; γ = 0/1 are the posterior/transition variances;
 * - Meng et al.'s step is the forward transition from the 2/N DDIM point;
 * - dynamic thresholding: output in [−1, 1], identity when |x| ≤ 1, x / max(max|x|, 1) at p = 1,
 *   per sample (batch = each sample alone);
 * - sampling with no noise (DDIM η = 0) does not depend on the key; stochastic sampling with a
 *   fixed key is reproducible;
 * - every step, cfg, the thresholds and thresholdPrediction give the same values under `jit`
 *   and under `vmap` (per-example keys and log-SNRs) as eagerly.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jit, np, random, vmap, type Array as VArray } from '../src/index.js';
import { posterior, qSample, qSampleFromTo, transitionVariance } from '../src/diffusion/forward.js';
import { cfg, guidanceScaleFromW, guidedDenoiser, oscillatingGuidance, wFromGuidanceScale } from '../src/diffusion/guidance.js';
import { epsFromX, vFromX, xFromEps, xFromV, type Denoiser } from '../src/diffusion/parameterization.js';
import {
  ancestralStep, ancestralVariance, ddimStep, ddimVariance, dpmSolverPP2MStep, eulerStep, heunStep, sample, stochasticStep,
} from '../src/diffusion/samplers.js';
import { alphaSigma, broadcastLogSnr, timesteps } from '../src/diffusion/schedules.js';
import { dynamicThreshold, staticThreshold, thresholdPrediction } from '../src/diffusion/thresholding.js';
import { assertClose, lcg, scaledTol, type Tolerance } from '../test/helpers.js';
import { propsOptions } from './options.js';

const B = 3;
const D = 5;

/** Seeded float32 data of `shape`: N(0, scale²)-ish (sum of uniforms). */
function data(seed: number, shape: number[], scale = 1): VArray {
  const r = lcg(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Float32Array.from({ length: n }, () => (r() + r() + r() - 1.5) * 2 * scale);
  return np.reshape(np.array(v), shape);
}

const vals = (x: VArray): Float32Array => x.dataSync() as Float32Array;
const close = (got: VArray, want: VArray, tol: Tolerance, what: string): void => {
  assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  assertClose(vals(got), vals(want), tol, what);
};

const lambdaArb = fc.double({ min: -10, max: 8, noNaN: true });
const gapArb = fc.double({ min: 0.05, max: 6, noNaN: true });
/** Per-example (λ_t, λ_s) with λ_s > λ_t, plus a data seed. */
const stepArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  lt: fc.array(lambdaArb, { minLength: B, maxLength: B }),
  gap: fc.array(gapArb, { minLength: B, maxLength: B }),
});
const lambdas = (lt: number[], gap: number[]) => ({ lT: np.array(lt), lS: np.array(lt.map((l, i) => l + gap[i])) });

// ---------------------------------------------------------------- guidance

test('cfg: guiding x̂, ε̂ or v̂ gives the same x̂; w = 0 is the conditional prediction', () => {
  fc.assert(
    fc.property(stepArb, fc.double({ min: 0, max: 20, noNaN: true }), ({ seed, lt }, w) => {
      const z = data(seed, [B, D]);
      const c = data(seed + 1, [B, D]);
      const u = data(seed + 2, [B, D]);
      const l = np.array(lt);
      const viaX = cfg({ cond: c, uncond: u, w });
      const viaEps = xFromEps(z, cfg({ cond: epsFromX(z, c, l), uncond: epsFromX(z, u, l), w }), l);
      const viaV = xFromV(z, cfg({ cond: vFromX(z, c, l), uncond: vFromX(z, u, l), w }), l);
      // |x̂| ~ (1 + 2w)·3; the ε-space round trip amplifies rounding by σ/α and α/σ (|λ| ≤ 10).
      const tol = scaledTol(2e-3);
      close(viaEps, viaX, tol, `ε-space, w ${w}`);
      close(viaV, viaX, tol, `v-space, w ${w}`);
      close(cfg({ cond: c, uncond: u, w: 0 }), c, { atol: 0, rtol: 0 }, 'w = 0');
    }),
    propsOptions(30),
  );
});

test('cfg: (1 + w)c − w u equals u + s(c − u) with s = guidanceScaleFromW(w); the conversions invert', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e6 }), fc.double({ min: -2, max: 30, noNaN: true }), (seed, w) => {
      const c = data(seed, [B, D]);
      const u = data(seed + 1, [B, D]);
      const s = guidanceScaleFromW(w) as number;
      assert.ok(Math.abs((wFromGuidanceScale(s) as number) - w) <= 1e-12 * (1 + Math.abs(w)));
      close(cfg({ cond: c, uncond: u, w }), u.add(c.sub(u).mul(s)), scaledTol(1e-5), `w ${w}`);
      const wArr = np.array([w, 0, 1]);
      close(wFromGuidanceScale(guidanceScaleFromW(wArr)) as VArray, wArr, scaledTol(1e-6), 'array round trip');
    }),
    propsOptions(30),
  );
});

// ---------------------------------------------------------------- DDIM and friends

test('DDIM with the true x maps z_t exactly onto the forward trajectory α_s x + σ_s ε', () => {
  fc.assert(
    fc.property(stepArb, ({ seed, lt, gap }) => {
      const x = data(seed, [B, D]);
      const eps = data(seed + 1, [B, D]);
      const { lT, lS } = lambdas(lt, gap);
      const zT = qSample(x, lT, eps);
      close(ddimStep({ z: zT, xHat: x, logSnrT: lT, logSnrS: lS }), qSample(x, lS, eps), scaledTol(2e-5), 'z_s');
      close(ddimStep({ z: zT, xHat: x, logSnrT: lT, logSnrS: lT }), zT, scaledTol(2e-5), 'λ_s = λ_t is the identity');
    }),
    propsOptions(40),
  );
});

test('Euler (EDM σ form) and first-order DPM-Solver++ equal DDIM; DPM-Solver++ with x̂_prev = x̂ too', () => {
  fc.assert(
    fc.property(stepArb, ({ seed, lt, gap }) => {
      const z = data(seed, [B, D]);
      const xHat = data(seed + 1, [B, D], 0.5);
      const { lT, lS } = lambdas(lt, gap);
      const ddim = ddimStep({ z, xHat, logSnrT: lT, logSnrS: lS });
      // Euler goes through x_σ = z/α (up to e^5 at λ = −10), so it carries that much more rounding.
      close(eulerStep({ z, xHat, logSnrT: lT, logSnrS: lS }), ddim, scaledTol(5e-5), 'euler');
      close(dpmSolverPP2MStep({ z, xHat, logSnrT: lT, logSnrS: lS }), ddim, scaledTol(2e-5), 'dpm++ first order');
      const lP = lT.sub(1);
      close(dpmSolverPP2MStep({ z, xHat, logSnrT: lT, logSnrS: lS, prevXHat: xHat, logSnrPrev: lP }), ddim, scaledTol(2e-5), 'dpm++ with x̂_prev = x̂');
    }),
    propsOptions(40),
  );
});

test('DDIM η = 1: variance = posterior variance; the step = small-variance ancestral step = posterior mean + σ̃ξ', () => {
  fc.assert(
    fc.property(stepArb, ({ seed, lt, gap }) => {
      const z = data(seed, [B, D]);
      const xHat = data(seed + 1, [B, D], 0.5);
      const noise = data(seed + 2, [B, D]);
      const { lT, lS } = lambdas(lt, gap);
      const post = posterior(z, xHat, lT, lS);
      const lTb = np.reshape(lT, [B, 1]);
      const lSb = np.reshape(lS, [B, 1]);
      close(ddimVariance(lTb, lSb, 1), post.variance, scaledTol(1e-6), 'ddimVariance(η = 1)');
      close(ancestralVariance(lTb, lSb, 'small'), post.variance, scaledTol(1e-6), 'small = posterior');
      close(ancestralVariance(lTb, lSb, 0), post.variance, scaledTol(1e-6), 'γ = 0 = posterior');
      close(ancestralVariance(lT, lS, 'large'), transitionVariance(lT, lS), scaledTol(1e-6), 'large = transition');
      close(ancestralVariance(lT, lS, 1), transitionVariance(lT, lS), scaledTol(1e-6), 'γ = 1 = transition');
      const ddim1 = ddimStep({ z, xHat, logSnrT: lT, logSnrS: lS, eta: 1, noise });
      const anc = ancestralStep({ z, xHat, logSnrT: lT, logSnrS: lS, variance: 'small', noise });
      close(ddim1, anc, scaledTol(2e-5), 'DDIM η = 1 vs ancestral small');
      close(anc, post.mean.add(np.sqrt(post.variance).mul(noise)), scaledTol(2e-5), 'ancestral vs posterior');
      // Scaling ξ by k moves the DDIM step by k·c·ξ: its noise variance is c² = ddimVariance.
      const eta = 0.6;
      const zero = ddimStep({ z, xHat, logSnrT: lT, logSnrS: lS, eta, noise: np.zerosLike(noise) });
      const moved = ddimStep({ z, xHat, logSnrT: lT, logSnrS: lS, eta, noise }).sub(zero);
      close(moved, np.sqrt(ddimVariance(lTb, lSb, eta)).mul(noise), scaledTol(2e-5), 'c ξ');
    }),
    propsOptions(40),
  );
});

test('ancestral variance: log-linear in γ between small and large', () => {
  fc.assert(
    fc.property(stepArb, fc.double({ min: 0, max: 1, noNaN: true }), ({ lt, gap }, g) => {
      const { lT, lS } = lambdas(lt, gap);
      const logv = np.log(ancestralVariance(lT, lS, g));
      const want = np.log(ancestralVariance(lT, lS, 'small')).mul(1 - g).add(np.log(ancestralVariance(lT, lS, 'large')).mul(g));
      close(logv, want, scaledTol(2e-5), `γ ${g}`);
      close(ancestralVariance(lT, lS, 'medium'), ancestralVariance(lT, lS, 0.5), { rtol: 0, atol: 0 }, 'medium');
    }),
    propsOptions(30),
  );
});

test("Meng et al.'s step: DDIM to λ_next, then the forward transition to λ_s; the last step is DDIM", () => {
  fc.assert(
    fc.property(stepArb, ({ seed, lt, gap }) => {
      const z = data(seed, [B, D]);
      const xHat = data(seed + 1, [B, D], 0.5);
      const noise = data(seed + 2, [B, D]);
      const { lT, lS } = lambdas(lt, gap);
      const lK = lS.add(0.7);
      const zK = ddimStep({ z, xHat, logSnrT: lT, logSnrS: lK });
      close(stochasticStep({ z, xHat, logSnrT: lT, logSnrS: lS, logSnrNext: lK, noise }), qSampleFromTo(zK, lK, lS, noise), scaledTol(2e-5), 'two-step form');
      close(stochasticStep({ z, xHat, logSnrT: lT, logSnrS: lS }), ddimStep({ z, xHat, logSnrT: lT, logSnrS: lS }), { rtol: 0, atol: 0 }, 'last step');
    }),
    propsOptions(30),
  );
});

// ---------------------------------------------------------------- thresholding

const threshArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  scales: fc.array(fc.double({ min: 0.01, max: 20, noNaN: true }), { minLength: 4, maxLength: 4 }),
  p: fc.double({ min: 0, max: 1, noNaN: true }),
});

function scaledBatch(seed: number, scales: number[]): VArray {
  return data(seed, [scales.length, 2, 3, 3]).mul(np.reshape(np.array(scales), [scales.length, 1, 1, 1]));
}

test('dynamic thresholding: within [−1, 1]; identity when |x| ≤ 1; x / max(max|x|, 1) at p = 1; per sample', () => {
  fc.assert(
    fc.property(threshArb, ({ seed, scales, p }) => {
      const x = scaledBatch(seed, scales);
      const y = dynamicThreshold(x, { p });
      const maxAbs = Math.max(...vals(np.abs(y)));
      assert.ok(maxAbs <= 1, `max |y| = ${maxAbs}`);
      const inside = np.clip(x, -1, 1);
      close(dynamicThreshold(inside, { p }), inside, { rtol: 0, atol: 0 }, 'identity inside [−1, 1]');
      const perMax = np.maximum(np.max(np.abs(x), [1, 2, 3], true), 1);
      close(dynamicThreshold(x, { p: 1 }), x.div(perMax), scaledTol(1e-6), 'p = 1');
      [...x].forEach((xi, i) => close(dynamicThreshold(xi, { p, perSampleAxis: null }), y.slice(i), scaledTol(1e-6), `sample ${i} alone`));
      close(staticThreshold(x), np.clip(x, -1, 1), { rtol: 0, atol: 0 }, 'static');
    }),
    propsOptions(30),
  );
});

test('thresholdPrediction: ε̂ and v̂ are re-derived from the thresholded x̂ at the same z', () => {
  fc.assert(
    fc.property(stepArb, ({ seed, lt }) => {
      const z = data(seed, [B, D]);
      const xHat = data(seed + 1, [B, D], 3);
      const l = np.array(lt);
      const { x, eps, v } = thresholdPrediction({ xHat, z, logSnr: l, kind: 'dynamic', p: 0.9 });
      close(x, dynamicThreshold(xHat, { p: 0.9 }), { rtol: 0, atol: 0 }, 'x');
      const { alpha, sigma } = alphaSigma(np.reshape(l, [B, 1]));
      close(alpha.mul(x).add(sigma.mul(eps)), z, scaledTol(1e-4), 'z = α x̂ + σ ε̂');
      close(v, alpha.mul(eps).sub(sigma.mul(x)), scaledTol(1e-5), 'v = α ε̂ − σ x̂');
      const none = thresholdPrediction({ xHat, z, logSnr: l, kind: 'none' });
      close(none.x, xHat, { rtol: 0, atol: 0 }, 'none');
    }),
    propsOptions(30),
  );
});

// ---------------------------------------------------------------- sampling determinism

/** The exact denoiser E[x | z] for data N(0.4, 0.5²) per coordinate. */
const gaussian: Denoiser = (z, l) => {
  const { alpha, sigma } = alphaSigma(broadcastLogSnr('gaussian', l, z));
  return alpha.mul(0.25).div(alpha.square().mul(0.25).add(sigma.square())).mul(z.sub(alpha.mul(0.4))).add(0.4);
};

test('sampling: with zero noise (DDIM η = 0) the key is irrelevant; with noise a fixed key reproduces', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), (s1, s2) => {
      const z0 = data(s1, [4, 3]);
      const logSnrs = timesteps(6);
      const a = sample({ denoiser: gaussian, z0, logSnrs, key: random.key(s1) }).z;
      const b = sample({ denoiser: gaussian, z0, logSnrs, key: random.key(s2 + 7) }).z;
      const c = sample({ denoiser: gaussian, z0, logSnrs }).z;
      close(a, b, { rtol: 0, atol: 0 }, 'η = 0, two keys');
      close(a, c, { rtol: 0, atol: 0 }, 'η = 0, no key');
      const anc = (k: number) => sample({ denoiser: gaussian, shape: [4, 3], logSnrs, key: random.key(k), step: ancestralStep }).z;
      close(anc(s2), anc(s2), { rtol: 0, atol: 0 }, 'ancestral, same key');
    }),
    propsOptions(10),
  );
});

// ---------------------------------------------------------------- jit and vmap

type Args = { z: VArray; xHat: VArray; lT: VArray; lS: VArray; key: VArray; prev: VArray };
const STEPS: Record<string, (a: Args) => VArray> = {
  'ddim η = 0': (a) => ddimStep({ z: a.z, xHat: a.xHat, logSnrT: a.lT, logSnrS: a.lS }),
  'ddim η = 0.5': (a) => ddimStep({ z: a.z, xHat: a.xHat, logSnrT: a.lT, logSnrS: a.lS, eta: 0.5, key: a.key }),
  'ancestral small': (a) => ancestralStep({ z: a.z, xHat: a.xHat, logSnrT: a.lT, logSnrS: a.lS, key: a.key }),
  'ancestral large': (a) => ancestralStep({ z: a.z, xHat: a.xHat, logSnrT: a.lT, logSnrS: a.lS, key: a.key, variance: 'large' }),
  'ancestral γ = 0.3': (a) => ancestralStep({ z: a.z, xHat: a.xHat, logSnrT: a.lT, logSnrS: a.lS, key: a.key, variance: 0.3 }),
  euler: (a) => eulerStep({ z: a.z, xHat: a.xHat, logSnrT: a.lT, logSnrS: a.lS }),
  heun: (a) => heunStep({ z: a.z, xHat: a.xHat, logSnrT: a.lT, logSnrS: a.lS, denoiser: gaussian }),
  'dpm++ 2m': (a) => dpmSolverPP2MStep({ z: a.z, xHat: a.xHat, logSnrT: a.lT, logSnrS: a.lS, prevXHat: a.prev, logSnrPrev: a.lT.sub(0.8) }),
  stochastic: (a) => stochasticStep({ z: a.z, xHat: a.xHat, logSnrT: a.lT, logSnrS: a.lS, logSnrNext: a.lS.add(0.5), key: a.key }),
  cfg: (a) => cfg({ cond: a.xHat, uncond: a.prev, w: a.lT.abs() }),
  guidedDenoiser: (a) => guidedDenoiser(gaussian, (z) => z.mul(0.5), oscillatingGuidance({ high: 4, low: 1, highSteps: 1 }))(a.z, a.lT, 2),
  // In the batch the samples lie along axis 0; inside vmap each example is one sample.
  'dynamic threshold': (a) => dynamicThreshold(a.xHat.mul(3), { p: 0.9, perSampleAxis: a.xHat.ndim === 2 ? 0 : null }),
  'thresholdPrediction static': (a) => thresholdPrediction({ xHat: a.xHat.mul(2), z: a.z, logSnr: a.lT, kind: 'static' }).eps,
};
const ORDER = ['z', 'xHat', 'lT', 'lS', 'key', 'prev'] as const;
const argsOf = (a: Args): VArray[] => ORDER.map((k) => a[k]);
const pack = (f: (a: Args) => VArray) => (...xs: VArray[]): VArray => f({ z: xs[0], xHat: xs[1], lT: xs[2], lS: xs[3], key: xs[4], prev: xs[5] });
const example = (a: Args, i: number): Args => ({ z: a.z.slice(i), xHat: a.xHat.slice(i), lT: a.lT.slice(i), lS: a.lS.slice(i), key: a.key.slice(i), prev: a.prev.slice(i) });

test('every step, cfg and threshold: jit and vmap (per-example keys and λ) equal eager evaluation', () => {
  const jitted = Object.fromEntries(Object.entries(STEPS).map(([k, f]) => [k, jit(pack(f))]));
  fc.assert(
    fc.property(stepArb, ({ seed, lt, gap }) => {
      const { lT, lS } = lambdas(lt, gap);
      const batch: Args = { z: data(seed, [B, D]), xHat: data(seed + 1, [B, D], 0.5), lT, lS, key: random.split(random.key(seed), B), prev: data(seed + 2, [B, D], 0.5) };
      const oneKey: Args = { ...batch, key: random.key(seed) };
      for (const [name, f] of Object.entries(STEPS)) {
        close(jitted[name](...argsOf(oneKey)), f(oneKey), scaledTol(2e-5), `jit ${name}`);
        const stacked = np.stack([0, 1, 2].map((i) => f(example(batch, i))));
        close(vmap(pack(f))(...argsOf(batch)), stacked, scaledTol(2e-5), `vmap ${name}`);
      }
    }),
    propsOptions(8),
  );
});

test('sample: jit(sample) and vmap(sample) (per-example z0 and keys) equal eager sampling', () => {
  const logSnrs = timesteps(5);
  for (const [name, step] of [['heun', heunStep], ['dpm++', dpmSolverPP2MStep], ['ancestral', ancestralStep], ['stochastic', stochasticStep]] as const) {
    const run = (z0: VArray, key: VArray) => sample({ denoiser: gaussian, z0, logSnrs, key, step }).z;
    const z0 = data(11, [B, D]);
    const key = random.key(3);
    close(jit(run)(z0, key), run(z0, key), scaledTol(2e-5), `jit sample ${name}`);
    const keys = random.split(key, B);
    const stacked = np.stack([0, 1, 2].map((i) => run(z0.slice(i), keys.slice(i))));
    close(vmap(run)(z0, keys), stacked, scaledTol(2e-5), `vmap sample ${name}`);
  }
});

test.run();
