/**
 * Samplers for the variance-preserving process z = α x + σ ε in the log-SNR λ (α² = sigmoid(λ),
 * σ² = sigmoid(−λ)). Every single step has the same shape: it takes the current z at λ_t, the
 * denoiser's estimate x̂ = x̂(z, λ_t) and the target log-SNR λ_s (λ_s > λ_t: s is less noisy),
 * plus what that method needs (a key for noise, the previous x̂ for a multistep method, the
 * denoiser for a second evaluation), and returns z_s. `sample` is the loop over a grid of
 * log-SNRs that threads keys and the previous prediction through any such step, so a new
 * sampler is a function of a `StepContext`:
 *
 *   sample({ denoiser, shape: [16, 3, 8, 8], key, logSnrs, step: ddimStep })
 *   sample({ denoiser, z0, logSnrs, key, step: (c) => ancestralStep({ ...c, variance: 0.3 }) })
 *
 * λ may be a scalar or a per-example array (shape a prefix of z's, see `broadcastLogSnr`).
 * Noise ξ is `random.normal(key, z.shape, z.dtype)`, or the `noise` argument when given.
 * Everything works under `jit`, `vmap` and `grad`: no JavaScript control flow depends on
 * array values (λ = +∞ for t = 0 is handled with `where`).
 */
import * as np from '../core/numpy/index.js';
import { toValue, type ArrayLike } from '../core/numpy/convert.js';
import * as random from '../core/random.js';
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import type { Value as Array } from '../core/trace/value.js';
import { qSampleFromTo } from './forward.js';
import { epsFromX, type Denoiser } from './parameterization.js';
import { alphaSigma, broadcastLogSnr } from './schedules.js';

type Key = random.Key;

/**
 * What `sample` calls: a `Denoiser`, optionally also taking the step index (so a guidance
 * schedule can depend on it; see `guidedDenoiser`). Any plain `Denoiser` fits.
 */
export type SamplingDenoiser = (z: Array, logSnr: Array, step?: number) => Array;

// ---------------------------------------------------------------- shared pieces

function checkLike(op: string, name: string, z: Array, x: Array): void {
  if (z.ndim !== x.ndim || z.shape.some((d, i) => d !== x.shape[i]))
    throw new ShapeError(`${op}: ${name} has shape ${fmtShape(x.shape)} but z has shape ${fmtShape(z.shape)}; they must match`);
}

/** λ_t and λ_s shaped to broadcast against z. */
function logSnrPair(op: string, z: Array, logSnrT: ArrayLike, logSnrS: ArrayLike): [Array, Array] {
  return [broadcastLogSnr(op, logSnrT, z), broadcastLogSnr(op, logSnrS, z)];
}

/** ξ for a stochastic step: `noise` when given (shape checked), else normal(key, z.shape). */
function stepNoise(op: string, z: Array, key: Key | undefined, noise: Array | undefined, why: string): Array {
  if (noise !== undefined) {
    checkLike(op, 'noise', z, noise);
    return noise;
  }
  if (key === undefined) throw new ValueError(`${op}: a key (or noise) is required because ${why}`);
  return random.normal(key, z.shape, z.dtype);
}

/** 1 − e^{λ_t − λ_s} = 1 − SNR_t/SNR_s, as −expm1 (PD eq. 3–4). */
const oneMinusSnrRatio = (lt: Array, ls: Array): Array => np.neg(np.expm1(np.sub(lt, ls)));

/** The deterministic DDIM map z_s = α_s x̂ + σ_s ε̂ with ε̂ = (z_t − α_t x̂)/σ_t (PD eq. 7–8). */
function ddimMean(z: Array, xHat: Array, lt: Array, ls: Array): Array {
  const { alpha: aS, sigma: sS } = alphaSigma(ls);
  return aS.mul(xHat).add(sS.mul(epsFromX(z, xHat, lt)));
}

// ---------------------------------------------------------------- DDIM

export interface DdimArgs {
  z: Array;
  xHat: Array;
  logSnrT: ArrayLike;
  logSnrS: ArrayLike;
  /** η ∈ [0, 1] (default 0): 0 is deterministic DDIM, 1 the small-variance ancestral step. */
  eta?: number;
  /** Needed when η > 0 (unless `noise` is given). */
  key?: Key;
  /** ξ to use instead of drawing from `key` (same shape as z). */
  noise?: Array;
}

function checkEta(op: string, eta: unknown): asserts eta is number {
  if (typeof eta !== 'number' || !(eta >= 0 && eta <= 1))
    throw new ValueError(`${op}: eta must be a number in [0, 1] (0: deterministic DDIM, 1: ancestral with the posterior variance), got ${String(eta)}`);
}

/**
 * The noise variance c² of a generalized DDIM step (Song et al. 2021, "Denoising Diffusion
 * Implicit Models", eq. 16, as diffusers' `DDIMScheduler.step`):
 * c² = η²·(σ_s²/σ_t²)·(1 − α_t²/α_s²) = η²·(1 − e^{λ_t − λ_s})·σ_s², which at η = 1 is the
 * posterior variance σ̃²_{s|t} of q(z_s | z_t, x) (PD eq. 4). Elementwise in λ.
 */
export function ddimVariance(logSnrT: ArrayLike, logSnrS: ArrayLike, eta: number): Array {
  checkEta('ddimVariance', eta);
  const lt = toValue('ddimVariance', logSnrT);
  const ls = toValue('ddimVariance', logSnrS);
  return oneMinusSnrRatio(lt, ls).mul(np.sigmoid(np.neg(ls))).mul(eta * eta);
}

/**
 * One DDIM step from λ_t to λ_s (Song et al. 2021, eq. 12; in λ form PD eq. 7–8):
 *   z_s = α_s x̂ + sqrt(σ_s² − c²)·ε̂ + c·ξ,  ε̂ = (z_t − α_t x̂)/σ_t,  c² = `ddimVariance(λ_t, λ_s, η)`.
 * η = 0 (default) is the deterministic map; it needs no key, and with x̂ equal to the true x
 * it lands exactly on the forward trajectory α_s x + σ_s ε. η = 1 equals `ancestralStep` with
 * the 'small' variance for the same ξ. Written as α_s x̂ + σ_s·sqrt(1 − η²(1 − e^{λ_t−λ_s}))·ε̂ + c ξ.
 */
export function ddimStep({ z, xHat, logSnrT, logSnrS, eta = 0, key, noise }: DdimArgs): Array {
  checkEta('ddimStep', eta);
  checkLike('ddimStep', 'xHat', z, xHat);
  const [lt, ls] = logSnrPair('ddimStep', z, logSnrT, logSnrS);
  if (eta === 0) return ddimMean(z, xHat, lt, ls);
  const { alpha: aS, sigma: sS } = alphaSigma(ls);
  const frac = oneMinusSnrRatio(lt, ls).mul(eta * eta); // c²/σ_s²
  const xi = stepNoise('ddimStep', z, key, noise, `eta = ${eta} > 0 adds noise`);
  const eps = epsFromX(z, xHat, lt);
  return aS.mul(xHat).add(sS.mul(np.sqrt(np.sub(1, frac))).mul(eps)).add(sS.mul(np.sqrt(frac)).mul(xi));
}

// ---------------------------------------------------------------- ancestral

/**
 * The variance of an ancestral step: 'small' is the posterior variance σ̃²_{s|t} =
 * (1 − e^{λ_t−λ_s})σ_s², 'large' the forward-transition variance σ²_{t|s} = (1 − e^{λ_t−λ_s})σ_t²,
 * a number γ ∈ [0, 1] interpolates their logs, σ² = (σ̃²_{s|t})^{1−γ}·(σ²_{t|s})^γ (γ = 0 small,
 * γ = 1 large), and 'medium' is γ = 1/2 (the geometric mean).
 */
export type AncestralVariance = 'small' | 'large' | 'medium' | number;

const VARIANCE_NAMES = ['small', 'large', 'medium'];

/** γ of a variance spec (0 small, 1 large), checked. */
function gammaOf(op: string, variance: unknown): number {
  if (variance === 'small') return 0;
  if (variance === 'large') return 1;
  if (variance === 'medium') return 0.5;
  if (typeof variance === 'number' && variance >= 0 && variance <= 1) return variance;
  if (typeof variance === 'number')
    throw new ValueError(`${op}: the variance exponent γ must be in [0, 1] (0: small/posterior, 1: large/forward), got ${variance}`);
  throw new ValueError(`${op}: unknown variance ${JSON.stringify(variance)}; expected one of ${VARIANCE_NAMES.join(', ')} or an exponent γ in [0, 1]`);
}

/**
 * The variance of an ancestral step from λ_t to λ_s (PD eq. 3–5; Imagen Video eq. 3–4, where
 * the exponent is γ; PD calls it v; the interpolation of log-variances is Nichol & Dhariwal
 * 2021, "Improved DDPM", eq. 15, with our γ = their v):
 *   σ² = (1 − e^{λ_t−λ_s})·(σ_s²)^{1−γ}·(σ_t²)^γ.
 * This is Google's `diffusion_distillation/dpm.py::diffusion_reverse` with `x_logvar` =
 * 'small', 'large' or 'medium:γ' (there logvar = γ·logvar_large + (1 − γ)·logvar_small).
 * Elementwise in λ.
 */
export function ancestralVariance(logSnrT: ArrayLike, logSnrS: ArrayLike, variance: AncestralVariance = 'small'): Array {
  const gamma = gammaOf('ancestralVariance', variance);
  const lt = toValue('ancestralVariance', logSnrT);
  const ls = toValue('ancestralVariance', logSnrS);
  const small = np.sigmoid(np.neg(ls));
  const large = np.sigmoid(np.neg(lt));
  const mix = gamma === 0 ? small : gamma === 1 ? large : np.pow(small, 1 - gamma).mul(np.pow(large, gamma));
  return oneMinusSnrRatio(lt, ls).mul(mix);
}

export interface AncestralArgs {
  z: Array;
  xHat: Array;
  logSnrT: ArrayLike;
  logSnrS: ArrayLike;
  /** Required unless `noise` is given. */
  key?: Key;
  noise?: Array;
  /** Default 'small' (the exact posterior variance). */
  variance?: AncestralVariance;
}

/**
 * One ancestral (DDPM) step in continuous time (PD eq. 3–5; Ho et al. 2020, eq. 6–7):
 *   z_s = μ̃_{s|t}(z_t, x̂) + sqrt(σ²)·ξ,
 *   μ̃_{s|t} = e^{λ_t−λ_s}(α_s/α_t) z_t + (1 − e^{λ_t−λ_s}) α_s x̂,
 * with σ² from `ancestralVariance`. The mean is computed in the equal form
 * α_s x̂ + e^{(λ_t−λ_s)/2} σ_s ε̂ (ε̂ = (z_t − α_t x̂)/σ_t), which stays finite at α_t = 0.
 */
export function ancestralStep({ z, xHat, logSnrT, logSnrS, key, noise, variance = 'small' }: AncestralArgs): Array {
  gammaOf('ancestralStep', variance);
  checkLike('ancestralStep', 'xHat', z, xHat);
  const [lt, ls] = logSnrPair('ancestralStep', z, logSnrT, logSnrS);
  const { alpha: aS, sigma: sS } = alphaSigma(ls);
  const mean = aS.mul(xHat).add(np.exp(np.sub(lt, ls).mul(0.5)).mul(sS).mul(epsFromX(z, xHat, lt)));
  const xi = stepNoise('ancestralStep', z, key, noise, 'the ancestral step adds noise');
  return mean.add(np.sqrt(ancestralVariance(lt, ls, variance)).mul(xi));
}

// ---------------------------------------------------------------- Euler and Heun (EDM σ form)

/**
 * The variance-exploding view used by Karras et al. 2022 ("Elucidating the Design Space of
 * Diffusion-Based Generative Models", EDM) and k-diffusion: x_σ = z/α with σ_EDM = σ/α =
 * exp(−λ/2), so x_σ = x + σ_EDM ε and the probability-flow ODE is dx_σ/dσ_EDM = (x_σ − x̂)/σ_EDM
 * (EDM eq. 3 with s(t) = 1; DDIM paper eq. 14). z is recovered as α·x_σ.
 */
function veView(z: Array, lt: Array, ls: Array): { x: Array; kT: Array; kS: Array; aS: Array } {
  const { alpha: aT } = alphaSigma(lt);
  const { alpha: aS } = alphaSigma(ls);
  return { x: z.div(aT), kT: np.exp(lt.mul(-0.5)), kS: np.exp(ls.mul(-0.5)), aS };
}

export interface EulerArgs {
  z: Array;
  xHat: Array;
  logSnrT: ArrayLike;
  logSnrS: ArrayLike;
}

/**
 * One Euler step of the probability-flow ODE in the EDM σ form (Karras et al. 2022, Alg. 1
 * without the correction; k-diffusion `sample_euler` with s_churn = 0): with σ_EDM = exp(−λ/2)
 * and x_σ = z/α (see above), d = (x_σ − x̂)/σ_t, x_σ' = x_σ + (σ_s − σ_t)·d, z_s = α_s·x_σ'.
 * In exact arithmetic this is the DDIM step (DDIM paper §4.3, eq. 14: DDIM is Euler in these
 * coordinates). λ_t must be finite (σ_EDM,t < ∞); λ_s = +∞ (t = 0) is allowed.
 */
export function eulerStep({ z, xHat, logSnrT, logSnrS }: EulerArgs): Array {
  checkLike('eulerStep', 'xHat', z, xHat);
  const [lt, ls] = logSnrPair('eulerStep', z, logSnrT, logSnrS);
  const { x, kT, kS, aS } = veView(z, lt, ls);
  const d = x.sub(xHat).div(kT);
  return x.add(d.mul(kS.sub(kT))).mul(aS);
}

export interface HeunArgs extends EulerArgs {
  /** Evaluated once more, at (z_s of the Euler step, λ_s). */
  denoiser: Denoiser;
}

/**
 * One Heun (2nd-order) step of the probability-flow ODE in the EDM σ form (Karras et al. 2022,
 * Algorithm 1; k-diffusion `sample_heun` with s_churn = 0): Euler to x_σ', then
 * d' = (x_σ' − x̂(α_s x_σ', λ_s))/σ_s and x_σ'' = x_σ + (σ_s − σ_t)(d + d')/2; z_s = α_s·x_σ''.
 * When σ_s = 0 (λ_s = +∞) the step is the Euler step, as in EDM. Costs two denoiser calls.
 */
export function heunStep({ z, xHat, logSnrT, logSnrS, denoiser }: HeunArgs): Array {
  checkLike('heunStep', 'xHat', z, xHat);
  const [lt, ls] = logSnrPair('heunStep', z, logSnrT, logSnrS);
  const { x, kT, kS, aS } = veView(z, lt, ls);
  const dk = kS.sub(kT);
  const d = x.sub(xHat).div(kT);
  const xEuler = x.add(d.mul(dk));
  const xHat2 = denoiser(xEuler.mul(aS), toValue('heunStep', logSnrS));
  checkLike('heunStep', 'the denoiser output', z, xHat2);
  const positive = np.greater(kS, 0);
  const d2 = xEuler.sub(xHat2).div(np.where(positive, kS, 1));
  const xHeun = x.add(d.add(d2).mul(dk.mul(0.5)));
  return np.where(positive, xHeun, xEuler).mul(aS);
}

// ---------------------------------------------------------------- DPM-Solver++(2M)

export interface DpmSolverArgs {
  z: Array;
  xHat: Array;
  logSnrT: ArrayLike;
  logSnrS: ArrayLike;
  /** x̂ of the previous step (at λ_prev); absent on the first step, which is then first order. */
  prevXHat?: Array;
  /** λ of the previous step (where `prevXHat` was predicted); given together with it. */
  logSnrPrev?: ArrayLike;
}

/**
 * One step of DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling
 * of Diffusion Probabilistic Models", Algorithm 2, data prediction; k-diffusion
 * `sample_dpmpp_2m`). DPM-Solver's λ is log(α/σ), HALF our log-SNR, so h = (λ_s − λ_t)/2:
 *   D = (1 + 1/(2r))·x̂ − 1/(2r)·x̂_prev,  r = h_prev/h,  h_prev = (λ_t − λ_prev)/2,
 *   z_s = (σ_s/σ_t)·z_t − α_s·(e^{−h} − 1)·D.
 * Without a previous prediction D = x̂, which is exactly the DDIM step. When λ_s = +∞ the step
 * is first order (D = x̂), as in k-diffusion's final step to σ = 0.
 */
export function dpmSolverPP2MStep({ z, xHat, logSnrT, logSnrS, prevXHat, logSnrPrev }: DpmSolverArgs): Array {
  checkLike('dpmSolverPP2MStep', 'xHat', z, xHat);
  if ((prevXHat === undefined) !== (logSnrPrev === undefined))
    throw new ValueError('dpmSolverPP2MStep: prevXHat and logSnrPrev must be given together (both absent on the first step)');
  const [lt, ls] = logSnrPair('dpmSolverPP2MStep', z, logSnrT, logSnrS);
  const { alpha: aS, sigma: sS } = alphaSigma(ls);
  const { sigma: sT } = alphaSigma(lt);
  const h = np.sub(ls, lt).mul(0.5);
  let d = xHat;
  if (prevXHat !== undefined) {
    checkLike('dpmSolverPP2MStep', 'prevXHat', z, prevXHat);
    const lp = broadcastLogSnr('dpmSolverPP2MStep', logSnrPrev!, z);
    const hPrev = np.sub(lt, lp).mul(0.5);
    const coef = np.where(np.isfinite(h), h.div(hPrev.mul(2)), 0); // 1/(2r)
    d = xHat.add(coef.mul(xHat.sub(prevXHat)));
  }
  return sS.div(sT).mul(z).sub(aS.mul(np.expm1(np.neg(h))).mul(d));
}

// ---------------------------------------------------------------- Meng et al. stochastic step

export interface StochasticArgs {
  z: Array;
  xHat: Array;
  logSnrT: ArrayLike;
  logSnrS: ArrayLike;
  /** λ one grid step past s (at t − 2/N); absent on the last step, which is then plain DDIM. */
  logSnrNext?: ArrayLike;
  key?: Key;
  noise?: Array;
}

/**
 * One step of the N-step stochastic sampler of Meng et al. 2023 ("On Distillation of Guided
 * Diffusion Models", CVPR; N-step stochastic sampling, used by Imagen Video §2.7): a
 * deterministic DDIM step of twice the size, from t to k = t − 2/N, then a stochastic step back
 * to s = t − 1/N by the forward transition q(z_s | z_k) (PD eq. 3; `qSampleFromTo`):
 *   z_k = α_k x̂ + σ_k ε̂,   z_s = (α_s/α_k)·z_k + sqrt((1 − e^{λ_s−λ_k})·σ_s²)·ξ.
 * Without `logSnrNext` (the last step) it is the deterministic DDIM step to λ_s. This follows
 * Google's `new_two_nvidia_step` (`guided_diffusion` JAX code), whose variance
 * σ_s² − (α_s σ_k/α_k)² equals the one above.
 */
export function stochasticStep({ z, xHat, logSnrT, logSnrS, logSnrNext, key, noise }: StochasticArgs): Array {
  checkLike('stochasticStep', 'xHat', z, xHat);
  const [lt, ls] = logSnrPair('stochasticStep', z, logSnrT, logSnrS);
  if (logSnrNext === undefined) return ddimMean(z, xHat, lt, ls);
  const lk = broadcastLogSnr('stochasticStep', logSnrNext, z);
  const xi = stepNoise('stochasticStep', z, key, noise, 'the step back from t − 2/N to t − 1/N adds noise');
  return qSampleFromTo(ddimMean(z, xHat, lt, lk), lk, ls, xi);
}

// ---------------------------------------------------------------- the loop

/** Everything a step of `sample` may use; each built-in step reads the fields it needs. */
export interface StepContext {
  /** z at λ_t. */
  z: Array;
  /** x̂(z, λ_t). */
  xHat: Array;
  logSnrT: Array;
  logSnrS: Array;
  /** λ of the previous step and its x̂ (absent on the first step). */
  logSnrPrev?: Array;
  prevXHat?: Array;
  /** λ one grid step past s (absent on the last step). */
  logSnrNext?: Array;
  /** This step's key (absent when `sample` got none). */
  key?: Key;
  /** The denoiser, bound to this step index, for steps that evaluate it again (Heun). */
  denoiser: Denoiser;
  /** Step index i (0 for the noisiest) and the number of steps n. */
  index: number;
  numSteps: number;
}

/** A single sampler step as `sample` calls it: z_s from the context. */
export type SamplerStep = (ctx: StepContext) => Array;

export interface StepState {
  /** z after step i (at λ_s). */
  z: Array;
  /** The prediction x̂(z_t, λ_t) the step used. */
  xHat: Array;
  logSnrT: Array;
  logSnrS: Array;
}

export interface SampleOptions {
  denoiser: SamplingDenoiser;
  /** n + 1 log-SNRs from noisy to clean (shape [n+1] or [n+1, ...per-example]), e.g. from `timesteps`. */
  logSnrs: ArrayLike;
  /** The starting z at logSnrs[0]; or give `shape` (and `key`) to draw it from N(0, I). */
  z0?: Array;
  shape?: readonly number[];
  /** Split into one key per step (after drawing z0 when `shape` is given). */
  key?: Key;
  /** Default `ddimStep` (η = 0). */
  step?: SamplerStep;
  /** Called after each step with the step index; under `jit` the values are tracers. */
  onStep?: (index: number, state: StepState) => void;
}

/**
 * Run n = logSnrs.length − 1 steps of `step` from logSnrs[0] to logSnrs[n]: step i evaluates
 * x̂ = denoiser(z, λ_i, i) and maps z from λ_i to λ_{i+1}. Keys are split once into one per step
 * (`random.split(key, n)`; with `shape`, `[kz, ks] = random.split(key)` first and z0 =
 * normal(kz, shape)). Returns the final z (at logSnrs[n]) and the last prediction x̂(z, λ_{n−1}),
 * which is what Google's samplers return at their final step. The loop runs over a static
 * number of steps, so `sample` can be wrapped in `jit`.
 */
export function sample(opts: SampleOptions): { z: Array; xHat: Array } {
  const { denoiser, z0, shape, key, onStep } = opts;
  const step = opts.step ?? ddimStep;
  const lambdas = toValue('sample', opts.logSnrs);
  if (lambdas.ndim === 0 || lambdas.shape[0] < 2)
    throw new ValueError(`sample: logSnrs must hold at least two log-SNRs along its first axis (n + 1 for n steps), got shape ${fmtShape(lambdas.shape)}`);
  if ((z0 === undefined) === (shape === undefined)) throw new ValueError('sample: give exactly one of z0 (the starting z) or shape (with key)');
  const n = lambdas.shape[0] - 1;
  let z: Array;
  let stepKeys: Key[] | undefined;
  if (z0 === undefined) {
    if (key === undefined) throw new ValueError('sample: a key is required to draw z0 from shape');
    const [kz, ks] = random.split(key);
    z = random.normal(kz, shape!);
    stepKeys = random.unstackKeys(random.split(ks, n));
  } else {
    z = z0;
    stepKeys = key === undefined ? undefined : random.unstackKeys(random.split(key, n));
  }
  const rows = globalThis.Array.from({ length: n + 1 }, (_, i) => lambdas.slice(i));
  let prev: { xHat: Array; logSnr: Array } | undefined;
  for (let i = 0; i < n; i++) {
    const bound: Denoiser = (zz, l) => denoiser(zz, l, i);
    const xHat = bound(z, rows[i]);
    checkLike('sample', 'the denoiser output', z, xHat);
    const zNext = step({
      z,
      xHat,
      logSnrT: rows[i],
      logSnrS: rows[i + 1],
      logSnrPrev: prev?.logSnr,
      prevXHat: prev?.xHat,
      logSnrNext: i + 2 <= n ? rows[i + 2] : undefined,
      key: stepKeys?.[i],
      denoiser: bound,
      index: i,
      numSteps: n,
    });
    onStep?.(i, { z: zNext, xHat, logSnrT: rows[i], logSnrS: rows[i + 1] });
    prev = { xHat, logSnr: rows[i] };
    z = zNext;
  }
  return { z, xHat: prev!.xHat }; // n ≥ 1, so prev is set
}
