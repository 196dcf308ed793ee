/**
 * The forward (noising) process and its Gaussian posterior, in log-SNR form (Kingma et al.
 * 2021, "Variational Diffusion Models" (VDM), §3.2 and App. A; Salimans & Ho 2022,
 * "Progressive Distillation" (PD), §2). Time s < t means λ_s ≥ λ_t (s is cleaner).
 * Log-SNRs are scalars or per-example arrays broadcast over the data's trailing axes.
 *
 * In terms of λ: α_t/α_s = sqrt((1 + e^{−λ_s})/(1 + e^{−λ_t})), and the ratio of SNRs is
 * SNR_t/SNR_s = e^{λ_t − λ_s}; the factor 1 − e^{λ_t−λ_s} is computed as −expm1(λ_t − λ_s).
 */
import * as np from '../core/numpy/index.js';
import { toValue, type ArrayLike } from '../core/numpy/convert.js';
import { ShapeError, fmtShape } from '../core/errors.js';
import type { Value as Array } from '../core/trace/value.js';
import { alphaSigma, broadcastLogSnr } from './schedules.js';

function checkSameShape(op: string, a: [string, Array], b: [string, Array]): void {
  if (a[1].ndim !== b[1].ndim || a[1].shape.some((d, i) => d !== b[1].shape[i]))
    throw new ShapeError(`${op}: ${a[0]} has shape ${fmtShape(a[1].shape)} but ${b[0]} has shape ${fmtShape(b[1].shape)}; they must match`);
}

/** α_t/α_s for log-SNRs λ_t, λ_s: sqrt(sigmoid(λ_t)/sigmoid(λ_s)) in a form free of underflow. */
function alphaRatio(logSnrT: Array, logSnrS: Array): Array {
  return np.sqrt(np.add(1, np.exp(np.neg(logSnrS))).div(np.add(1, np.exp(np.neg(logSnrT)))));
}

/** z = α x + σ ε, a sample of q(z_t | x) = N(α_t x, σ_t² I) (VDM §2, eq. 1; PD §2). */
export function qSample(x: Array, logSnr: ArrayLike, eps: Array): Array {
  checkSameShape('qSample', ['x', x], ['eps', eps]);
  const { alpha, sigma } = alphaSigma(broadcastLogSnr('qSample', logSnr, x));
  return alpha.mul(x).add(sigma.mul(eps));
}

/**
 * The variance σ²_{t|s} = (1 − e^{λ_t−λ_s})·σ_t² of the forward transition
 * q(z_t | z_s) = N((α_t/α_s) z_s, σ²_{t|s} I) (VDM §3.2, σ²_{t|s} = σ_t² − α²_{t|s} σ_s²;
 * PD §2). Needs λ_t ≤ λ_s (otherwise the value is negative). Elementwise in the log-SNRs.
 */
export function transitionVariance(logSnrT: ArrayLike, logSnrS: ArrayLike): Array {
  const lt = toValue('transitionVariance', logSnrT);
  const ls = toValue('transitionVariance', logSnrS);
  return np.neg(np.expm1(lt.sub(ls))).mul(np.sigmoid(np.neg(lt)));
}

/**
 * A sample of the forward transition q(z_t | z_s): z_t = (α_t/α_s)·z_s + σ_{t|s}·ε
 * (VDM §3.2; PD §2), with λ_t ≤ λ_s. Composing qSample to s and this to t gives the same
 * distribution as qSample to t.
 */
export function qSampleFromTo(zs: Array, logSnrS: ArrayLike, logSnrT: ArrayLike, eps: Array): Array {
  checkSameShape('qSampleFromTo', ['zs', zs], ['eps', eps]);
  const ls = broadcastLogSnr('qSampleFromTo', logSnrS, zs);
  const lt = broadcastLogSnr('qSampleFromTo', logSnrT, zs);
  return alphaRatio(lt, ls).mul(zs).add(np.sqrt(transitionVariance(lt, ls)).mul(eps));
}

/** Mean and variance of a Gaussian posterior. The variance broadcasts against the mean. */
export interface GaussianPosterior {
  mean: Array;
  variance: Array;
}

/**
 * The posterior q(z_s | z_t, x) = N(μ̃, σ̃² I) for λ_s ≥ λ_t (VDM §3.2; PD §2):
 * μ̃ = e^{λ_t−λ_s}·(α_s/α_t)·z_t + (1 − e^{λ_t−λ_s})·α_s·x and σ̃² = (1 − e^{λ_t−λ_s})·σ_s².
 * With x = x̂(z_t) this is the ancestral ("small variance") sampler's step.
 */
export function posterior(zt: Array, x: Array, logSnrT: ArrayLike, logSnrS: ArrayLike): GaussianPosterior {
  checkSameShape('posterior', ['zt', zt], ['x', x]);
  const lt = broadcastLogSnr('posterior', logSnrT, zt);
  const ls = broadcastLogSnr('posterior', logSnrS, zt);
  const { alpha: alphaS, sigma: sigmaS } = alphaSigma(ls);
  const ratio = np.exp(lt.sub(ls));
  const c = np.neg(np.expm1(lt.sub(ls)));
  const mean = ratio.mul(alphaRatio(ls, lt)).mul(zt).add(c.mul(alphaS).mul(x));
  return { mean, variance: c.mul(sigmaS.square()) };
}
