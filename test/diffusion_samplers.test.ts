/**
 * Unit tests of the samplers, the loop driver, guidance schedules and thresholding, with a 1-D
 * Gaussian data distribution N(μ, s²) whose optimal denoiser E[x | z] and probability-flow ODE
 * solution are known in closed form:
 *
 *   E[x | z_t] = μ + α s²/(α² s² + σ²)·(z − α μ),
 *   ODE map z_t → z_s: α_s μ + sqrt((α_s² s² + σ_s²)/(α_t² s² + σ_t²))·(z_t − α_t μ).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AxisError, grad, jit, np, random, ShapeError, ValueError, type Array as VArray } from '../src/index.js';
import { constantGuidance, guidedDenoiser, linearGuidance, oscillatingGuidance } from '../src/diffusion/guidance.js';
import type { Denoiser } from '../src/diffusion/parameterization.js';
import {
  ancestralStep, ddimStep, dpmSolverPP2MStep, eulerStep, heunStep, sample, stochasticStep, type SamplerStep, type StepContext,
} from '../src/diffusion/samplers.js';
import { alphaSigma, timesteps } from '../src/diffusion/schedules.js';
import { dynamicThreshold, thresholdedDenoiser, thresholdPrediction } from '../src/diffusion/thresholding.js';
import { assertClose, assertThrows } from './helpers.js';

const MU = 0.5;
const S = 0.3;

/** The exact denoiser for data N(MU, S²) (scalar λ). */
const gaussian: Denoiser = (z, l) => {
  const { alpha, sigma } = alphaSigma(l);
  return alpha.mul(S * S).div(alpha.square().mul(S * S).add(sigma.square())).mul(z.sub(alpha.mul(MU))).add(MU);
};

/** The exact probability-flow ODE map from λ_t to λ_s for that data. */
function exactFlow(z: VArray, lt: number, ls: number): VArray {
  const a = (l: number) => Math.sqrt(1 / (1 + Math.exp(-l)));
  const v = (l: number) => a(l) ** 2 * S * S + 1 - a(l) ** 2;
  return z.sub(a(lt) * MU).mul(Math.sqrt(v(ls) / v(lt))).add(a(ls) * MU);
}

const num = (x: VArray): number => x.dataSync()[0];
const maxAbsDiff = (a: VArray, b: VArray): number => num(np.max(np.abs(a.sub(b))));
const withKey = (step: SamplerStep, extra: object): SamplerStep => (c) => step({ ...c, ...extra } as StepContext);

// ---------------------------------------------------------------- recovering the data distribution

/**
 * The exact law of a sampler's output for z0 ~ N(0, 1): with the Gaussian denoiser every step is
 * affine in (z, ξ), z_s = A z + b + c ξ, so mean and variance propagate exactly (m' = A m + b,
 * v' = A² v + c²). A, b, c are read off one call of the step on z = [0, 1, 0], ξ = [0, 0, 1].
 */
function exactLaw(step: SamplerStep, logSnrs: VArray): { mean: number; std: number } {
  const n = logSnrs.shape[0] - 1;
  const rows = [...Array(n + 1).keys()].map((i) => logSnrs.slice(i));
  const z = np.array([0, 1, 0]);
  const noise = np.array([0, 0, 1]);
  let m = 0;
  let v = 1;
  for (let i = 0; i < n; i++) {
    const ctx = { z, xHat: gaussian(z, rows[i]), logSnrT: rows[i], logSnrS: rows[i + 1], logSnrNext: rows[i + 2], denoiser: gaussian, index: i, numSteps: n, noise };
    const [b, a1, c1] = step(ctx).dataSync();
    m = (a1 - b) * m + b;
    v = (a1 - b) ** 2 * v + (c1 - b) ** 2;
  }
  return { mean: m, std: Math.sqrt(v) };
}

const N = 2000;
const stats = (z: VArray) => ({ mean: num(z.mean()), std: Math.sqrt(num(z.var())) });

const STOCHASTIC: [string, SamplerStep][] = [
  ['ancestral (small)', ancestralStep],
  ['ancestral (large)', withKey(ancestralStep, { variance: 'large' })],
  ['ancestral (γ = 0.3)', withKey(ancestralStep, { variance: 0.3 })],
  ['DDIM η = 0.5', withKey(ddimStep, { eta: 0.5 })],
  ["Meng et al.'s stochastic step", stochasticStep],
];

for (const [name, step] of [['DDIM', ddimStep], ...STOCHASTIC] as [string, SamplerStep][]) {
  test(`${name}: the sampled law of N(${MU}, ${S}²) converges to it as the steps grow (exact moments of the chain)`, () => {
    const errs = [100, 200, 400].map((n) => {
      const { mean, std } = exactLaw(step, timesteps(n));
      return Math.max(Math.abs(mean - MU) / S, Math.abs(std / S - 1));
    });
    // First order in the step size: the error halves with the step (DDIM: far smaller).
    assert.ok(errs[2] < 0.02, `${name}: errors ${errs.join(', ')}`);
    assert.ok(errs[2] < errs[0] * 0.6 || errs[0] < 2e-3, `${name}: errors ${errs.join(', ')}`);
  });
}

for (const [name, step] of [['DDIM', ddimStep], ['DPM-Solver++(2M)', dpmSolverPP2MStep], ['Heun', heunStep], ...STOCHASTIC] as [string, SamplerStep][]) {
  test(`${name}: ${N} samples from sample() match the exact law of the same chain and recover N(${MU}, ${S}²)`, () => {
    const logSnrs = timesteps(100);
    const { z } = sample({ denoiser: gaussian, shape: [N], key: random.key(7), logSnrs, step });
    const { mean, std } = stats(z);
    const law = name === 'DPM-Solver++(2M)' || name === 'Heun' ? { mean: MU, std: S } : exactLaw(step, logSnrs);
    // Monte Carlo error of 2000 samples: 0.3/√2000 ≈ 0.0067 on the mean, ≈ 1.6% on the std.
    assert.ok(Math.abs(mean - law.mean) < 0.025, `mean ${mean}, law ${law.mean}`);
    assert.ok(Math.abs(std / law.std - 1) < 0.06, `std ${std}, law ${law.std}`);
    assert.ok(Math.abs(mean - MU) < 0.03 && Math.abs(std / S - 1) < 0.1, `mean ${mean}, std ${std}`);
  });
}

// ---------------------------------------------------------------- convergence order

/** Max error against the exact ODE endpoint on a λ grid uniform on [−8, 8] with n steps. */
function odeError(step: SamplerStep, n: number): number {
  const z0 = np.linspace(-2.5, 2.5, 11);
  const grid = np.linspace(-8, 8, n + 1);
  const { z } = sample({ denoiser: gaussian, z0, logSnrs: grid, step });
  return maxAbsDiff(z, exactFlow(z0, -8, 8));
}

for (const [name, step, order] of [
  ['DDIM', ddimStep, 1],
  ['Euler', eulerStep, 1],
  ['Heun', heunStep, 2],
  ['DPM-Solver++(2M)', dpmSolverPP2MStep, 2],
] as [string, SamplerStep, number][]) {
  test(`${name}: converges to the exact ODE endpoint with order ${order} (error ratio when halving the step)`, () => {
    const errs = [16, 32, 64].map((n) => odeError(step, n));
    const ratios = [errs[0] / errs[1], errs[1] / errs[2]];
    const want = 2 ** order;
    for (const r of ratios) assert.ok(r > want * 0.8 && r < want * 1.25, `${name}: errors ${errs.join(', ')}, ratios ${ratios.join(', ')}`);
  });
}

test('Euler, Heun and DPM-Solver++ reach the same endpoint as DDIM with many steps', () => {
  const z0 = np.linspace(-2, 2, 9);
  const grid = (n: number) => np.linspace(-8, 8, n + 1);
  const ddim = sample({ denoiser: gaussian, z0, logSnrs: grid(2048), step: ddimStep }).z;
  for (const [name, step] of [['euler', eulerStep], ['heun', heunStep], ['dpm++', dpmSolverPP2MStep]] as const) {
    const z = sample({ denoiser: gaussian, z0, logSnrs: grid(name === 'euler' ? 2048 : 256), step }).z;
    assert.ok(maxAbsDiff(z, ddim) < 2e-3, `${name} vs DDIM: ${maxAbsDiff(z, ddim)}`);
  }
});

// ---------------------------------------------------------------- the loop driver

test('sample: onStep gets every index with z after the step and the x̂ it used; Heun calls the denoiser twice per step', () => {
  const n = 5;
  const logSnrs = timesteps(n);
  const seen: { i: number; z: VArray; xHat: VArray }[] = [];
  const calls: (number | undefined)[] = [];
  const counting = (z: VArray, l: VArray, step?: number) => {
    calls.push(step);
    return gaussian(z, l);
  };
  const out = sample({ denoiser: counting, z0: np.linspace(-1, 1, 4), logSnrs, step: heunStep, onStep: (i, s) => seen.push({ i, z: s.z, xHat: s.xHat }) });
  assert.equal(seen.map((s) => s.i), [0, 1, 2, 3, 4]);
  assert.equal(calls, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  assert.is(out.z, seen[n - 1].z);
  assert.is(out.xHat, seen[n - 1].xHat);
  // x̂ of step i is the denoiser at (z after step i − 1, λ_i).
  assertClose(seen[2].xHat.dataSync(), gaussian(seen[1].z, logSnrs.slice(2)).dataSync(), { rtol: 1e-6, atol: 1e-6 }, 'x̂ of step 2');
});

test('sample: the context carries the previous x̂ and λ, the next λ and one key per step', () => {
  const n = 4;
  const logSnrs = np.array([-6, -2, 1, 3, 9]);
  const ctxs: StepContext[] = [];
  const key = random.key(5);
  sample({ denoiser: gaussian, z0: np.ones([2]), logSnrs, key, step: (c) => (ctxs.push(c), ddimStep(c)) });
  assert.equal(ctxs.map((c) => c.index), [0, 1, 2, 3]);
  assert.equal(ctxs.map((c) => c.numSteps), [4, 4, 4, 4]);
  assert.equal(ctxs.map((c) => num(c.logSnrT)), [-6, -2, 1, 3]);
  assert.equal(ctxs.map((c) => (c.logSnrNext ? num(c.logSnrNext) : null)), [1, 3, 9, null]);
  assert.equal(ctxs.map((c) => (c.logSnrPrev ? num(c.logSnrPrev) : null)), [null, -6, -2, 1]);
  assert.is(ctxs[0].prevXHat, undefined);
  assert.is(ctxs[2].prevXHat, ctxs[1].xHat);
  const keys = random.split(key, n);
  ctxs.forEach((c, i) => assert.equal([...c.key!.dataSync()], [...keys.slice(i).dataSync()], `key ${i}`));
});

test('sample: shape + key draws z0 from the first half of split(key) and steps with the second', () => {
  const key = random.key(11);
  const logSnrs = timesteps(4);
  const a = sample({ denoiser: gaussian, shape: [6], key, logSnrs, step: ancestralStep }).z;
  const [kz, ks] = random.split(key);
  const b = sample({ denoiser: gaussian, z0: random.normal(kz, [6]), key: ks, logSnrs, step: ancestralStep }).z;
  assert.equal([...a.dataSync()], [...b.dataSync()]);
});

test('every step is finite down to λ = +∞ (Karras σ = 0); DDIM then returns x̂ exactly', () => {
  const logSnrs = timesteps(6, { kind: 'karras' });
  for (const [name, step] of [
    ['ddim', ddimStep], ['ddim η', withKey(ddimStep, { eta: 1 })], ['ancestral', ancestralStep], ['ancestral large', withKey(ancestralStep, { variance: 'large' })],
    ['ancestral γ', withKey(ancestralStep, { variance: 0.3 })], ['euler', eulerStep], ['heun', heunStep], ['dpm++', dpmSolverPP2MStep], ['stochastic', stochasticStep],
  ] as [string, SamplerStep][]) {
    const out = sample({ denoiser: gaussian, shape: [5], key: random.key(1), logSnrs, step });
    assert.ok([...out.z.dataSync()].every(Number.isFinite), `${name}: ${out.z.dataSync()}`);
    if (name === 'ddim') assertClose(out.z.dataSync(), out.xHat.dataSync(), { rtol: 1e-6, atol: 1e-6 }, 'z_N = x̂');
  }
});

test('grad through sample (Heun, 24 steps) matches the exact flow derivative and finite differences', () => {
  const grid = np.linspace(-6, 6, 25);
  const f = (z0: VArray) => sample({ denoiser: gaussian, z0, logSnrs: grid, step: heunStep }).z.sum();
  const z0 = np.array([0.3, -1.2]);
  const g = grad(f)(z0).dataSync();
  const h = 1e-2;
  const fd = (num(f(z0.add(h))) - num(f(z0.sub(h)))) / (2 * h) / 2; // both entries move together
  const exact = num(exactFlow(np.array([1]), -6, 6).sub(exactFlow(np.array([0]), -6, 6)));
  assertClose(g, [fd, fd], { rtol: 2e-3, atol: 0 }, 'grad vs finite differences');
  assertClose(g, [exact, exact], { rtol: 2e-2, atol: 0 }, 'grad vs the exact flow');
  assertClose(jit(grad(f))(z0).dataSync(), g, { rtol: 1e-5, atol: 1e-6 }, 'jit(grad)');
});

// ---------------------------------------------------------------- guidance

test('guidance schedules: constant, oscillating (high phase, then low/high), linear ramp, any function', () => {
  const steps = [...Array(9).keys()];
  assert.equal(steps.map(constantGuidance(7)), Array(9).fill(7));
  assert.equal(steps.map(oscillatingGuidance({ high: 15, low: 1, highSteps: 3 })), [15, 15, 15, 1, 15, 1, 15, 1, 15]);
  assert.equal(steps.map(oscillatingGuidance({ high: 15, low: 1, highSteps: 0 })), [1, 15, 1, 15, 1, 15, 1, 15, 1]);
  assert.equal(steps.slice(0, 6).map(linearGuidance(1, 7, 4)), [1, 3, 5, 7, 7, 7]);
  assert.equal([0, 5].map(linearGuidance(2, 9, 1)), [2, 2]);
  const seen: number[] = [];
  const uncond: Denoiser = (z) => z.mul(0);
  const guided = guidedDenoiser(gaussian, uncond, (i) => (seen.push(i), i));
  const z0 = np.array([0.5]);
  const logSnrs = np.array([-2, 0, 2, 4]);
  const ctxs: VArray[] = [];
  sample({ denoiser: guided, z0, logSnrs, onStep: (_, s) => ctxs.push(s.xHat) });
  assert.equal(seen, [0, 1, 2]);
  // x̃ = (1 + w) x̂_c − w·0 with w = the step index.
  const zs: VArray[] = [z0];
  for (let i = 0; i < 3; i++) {
    const want = gaussian(zs[i], logSnrs.slice(i)).mul(1 + i);
    assertClose(ctxs[i].dataSync(), want.dataSync(), { rtol: 1e-6, atol: 1e-6 }, `step ${i}`);
    zs.push(ddimStep({ z: zs[i], xHat: want, logSnrT: logSnrs.slice(i), logSnrS: logSnrs.slice(i + 1) }));
  }
  assertClose(guidedDenoiser(gaussian, uncond, 2)(z0, np.array(0)).dataSync(), gaussian(z0, np.array(0)).mul(3).dataSync(), { rtol: 1e-6, atol: 0 }, 'constant w as a plain denoiser');
});

test('thresholdedDenoiser: thresholds the (guided) x̂ and passes the step through', () => {
  const big: Denoiser = (z) => z.mul(10);
  const steps: (number | undefined)[] = [];
  const d = thresholdedDenoiser((z, l, step) => (steps.push(step), big(z, l)), { kind: 'dynamic', p: 1 });
  const z = np.array([[0.05, -0.2], [0.01, 0.02]]);
  // Sample 0: x̂ = [0.5, −2], divided by 2; sample 1: x̂ = [0.1, 0.2] is inside [−1, 1] and kept.
  assertClose(d(z, np.array([0, 0]), 4).dataSync(), [0.25, -1, 0.1, 0.2], { rtol: 1e-6, atol: 1e-7 }, 'x̂ / max(max|x̂|, 1) per sample');
  assert.equal(steps, [4]);
  const clipped = thresholdedDenoiser(big, { kind: 'static' })(z, np.array(0));
  assertClose(clipped.dataSync(), [0.5, -1, 0.1, 0.2], { rtol: 1e-6, atol: 1e-7 }, 'static');
});

// ---------------------------------------------------------------- errors

test('errors name the function, the argument and the value', () => {
  const z = np.zeros([2, 3]);
  const args = { z, xHat: z, logSnrT: 0, logSnrS: 1 };
  for (const eta of [-0.1, 1.5, NaN]) assertThrows(() => ddimStep({ ...args, eta }), ValueError, /ddimStep: eta must be a number in \[0, 1\]/, new RegExp(String(eta)));
  assertThrows(() => ddimStep({ ...args, eta: 0.5 }), ValueError, /ddimStep: a key \(or noise\) is required/);
  assertThrows(() => ddimStep({ ...args, xHat: np.zeros([3]) }), ShapeError, /ddimStep: xHat has shape \[3\] but z has shape \[2,3\]/);
  assertThrows(() => ddimStep({ ...args, logSnrT: np.zeros([3]) }), ShapeError, /ddimStep: logSnr of shape \[3\]/);
  assertThrows(() => ancestralStep({ ...args, key: random.key(0), variance: 'tiny' as 'small' }), ValueError, /ancestralStep: unknown variance "tiny"; expected one of small, large, medium/);
  assertThrows(() => ancestralStep({ ...args, key: random.key(0), variance: 1.5 }), ValueError, /ancestralStep: the variance exponent γ must be in \[0, 1\].*1\.5/);
  assertThrows(() => ancestralStep(args), ValueError, /ancestralStep: a key \(or noise\) is required/);
  assertThrows(() => ancestralStep({ ...args, noise: np.zeros([2]) }), ShapeError, /ancestralStep: noise has shape \[2\]/);
  assertThrows(() => stochasticStep({ ...args, logSnrNext: 2 }), ValueError, /stochasticStep: a key \(or noise\) is required/);
  assertThrows(() => dpmSolverPP2MStep({ ...args, prevXHat: z }), ValueError, /dpmSolverPP2MStep: prevXHat and logSnrPrev must be given together/);
  assertThrows(() => dynamicThreshold(z, { p: 99.5 }), ValueError, /dynamicThreshold: p must be a number in \[0, 1\], got 99\.5 \(p is a quantile.*0\.995/);
  assertThrows(() => dynamicThreshold(z, { p: -0.1 }), ValueError, /dynamicThreshold: p must be a number in \[0, 1\]/);
  assertThrows(() => dynamicThreshold(z, { perSampleAxis: 2 }), AxisError, /dynamicThreshold: perSampleAxis 2 is out of range/);
  assertThrows(() => thresholdPrediction({ xHat: z, z, logSnr: 0, kind: 'soft' as 'static' }), ValueError, /thresholdPrediction: unknown threshold kind "soft"/);
  assertThrows(() => thresholdedDenoiser(gaussian, { kind: 'dynamic', p: 2 }), ValueError, /thresholdedDenoiser: p must be/);
  const grid = timesteps(2);
  assertThrows(() => sample({ denoiser: gaussian, logSnrs: grid }), ValueError, /sample: give exactly one of z0.*or shape/);
  assertThrows(() => sample({ denoiser: gaussian, z0: z, shape: [2, 3], logSnrs: grid }), ValueError, /sample: give exactly one of z0/);
  assertThrows(() => sample({ denoiser: gaussian, shape: [2], logSnrs: grid }), ValueError, /sample: a key is required to draw z0/);
  assertThrows(() => sample({ denoiser: gaussian, z0: z, logSnrs: [1] }), ValueError, /sample: logSnrs must hold at least two log-SNRs.*\[1\]/);
  assertThrows(() => sample({ denoiser: gaussian, z0: z, logSnrs: grid, step: ancestralStep }), ValueError, /ancestralStep: a key \(or noise\) is required/);
  assertThrows(() => sample({ denoiser: (x) => x.sum(1), z0: z, logSnrs: grid }), ShapeError, /sample: the denoiser output has shape \[2\] but z has shape \[2,3\]/);
  assertThrows(() => guidedDenoiser(gaussian, gaussian, linearGuidance(0, 1, 3))(z, np.array(0)), ValueError, /guidedDenoiser: this guidance schedule depends on the sampling step/);
  assertThrows(() => guidedDenoiser(gaussian, gaussian, Infinity), ValueError, /guidedDenoiser: w must be a finite number/);
  assertThrows(() => oscillatingGuidance({ high: 15, low: 1, highSteps: 1.5 }), ValueError, /oscillatingGuidance: highSteps must be a non-negative integer, got 1\.5/);
  assertThrows(() => oscillatingGuidance({ high: 15, low: 1, highSteps: 2 })(-1), ValueError, /oscillatingGuidance: the step must be a non-negative integer/);
  assertThrows(() => linearGuidance(1, 2, 0), ValueError, /linearGuidance: n must be a positive integer/);
});

test.run();
