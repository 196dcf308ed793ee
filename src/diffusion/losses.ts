/**
 * Diffusion training losses. Every weighting is written as a weight w(λ) on the x-space error
 * ‖x − x̂‖² (Salimans & Ho 2022, "Progressive Distillation" (PD), eq. 9 and §4): at a fixed
 * z, ε − ε̂ = −(α/σ)(x − x̂) and v − v̂ = −(x − x̂)/σ, so an ε-, v- or x-space MSE is the x-space
 * MSE times SNR, 1 + SNR or 1. The VDM losses are in ε-space (Kingma et al. 2021).
 */
import * as np from '../core/numpy/index.js';
import { toValue, type ArrayLike } from '../core/numpy/convert.js';
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import { jvp } from '../core/transforms/ad.js';
import type { Value as Array } from '../core/trace/value.js';
import { broadcastLogSnr } from './schedules.js';

/** Min-SNR-γ weighting (Hang et al. 2023, "Efficient Diffusion Training via Min-SNR Weighting"). */
export interface MinSnrWeighting {
  kind: 'minSnr';
  gamma: number;
}

/**
 * A loss weighting on ‖x − x̂‖², with its equivalent loss in PD's terms:
 * - 'snr': SNR = e^λ, i.e. the ε-MSE ‖ε − ε̂‖² (PD eq. 9; `mean_loss_weight_type='snr'`);
 * - 'snrPlusOne': 1 + SNR, i.e. the v-MSE ‖v − v̂‖² (PD §4, `'v_mse'`);
 * - 'truncatedSnr': max(SNR, 1), i.e. max(‖x − x̂‖², ‖ε − ε̂‖²) (PD §4, `'snr_trunc'`, the default
 *   of every PD config; with an ε-output model it diverges, PD Table 1);
 * - 'constant': 1, the plain x-MSE (`'constant'`);
 * - `minSnr(γ)`: min(SNR, γ), which is min(SNR, γ)/SNR on the ε-MSE and min(SNR, γ)/(1 + SNR) on
 *   the v-MSE (Hang et al. 2023, eq. 7; imagen-pytorch's default γ = 5).
 */
export type Weighting = 'snr' | 'snrPlusOne' | 'truncatedSnr' | 'constant' | MinSnrWeighting;

/** The Min-SNR-γ weighting min(SNR, γ) on ‖x − x̂‖². */
export function minSnr(gamma: number): MinSnrWeighting {
  if (!(gamma > 0)) throw new ValueError(`minSnr: gamma must be positive, got ${gamma}`);
  return { kind: 'minSnr', gamma };
}

/** The weight w(λ) of `weighting` on ‖x − x̂‖², elementwise in λ (see `Weighting`). */
export function lossWeight(weighting: Weighting, logSnr: ArrayLike): Array {
  const l = toValue('lossWeight', logSnr);
  if (typeof weighting === 'object' && weighting.kind === 'minSnr') return np.exp(np.minimum(l, Math.log(weighting.gamma)));
  switch (weighting) {
    case 'snr':
      return np.exp(l);
    case 'snrPlusOne':
      return np.add(1, np.exp(l));
    case 'truncatedSnr':
      return np.exp(np.maximum(l, 0));
    case 'constant':
      return np.onesLike(l);
  }
  throw new ValueError(`lossWeight: unknown weighting ${JSON.stringify(weighting)}; expected 'snr', 'snrPlusOne', 'truncatedSnr', 'constant' or minSnr(γ)`);
}

/** How `denoisingLoss` reduces: one scalar, or one value per example (mean over axes ≥ 1). */
export type Reduction = 'mean' | 'perExample';

/** Arguments of `denoisingLoss`. */
export interface DenoisingLossArgs {
  /** The model's clean-data estimate (convert other outputs with `predictionToX`). */
  xHat: Array;
  x: Array;
  /** Scalar or per-example (N,) log-SNR of each example of (N, ...) data. */
  logSnr: ArrayLike;
  weighting: Weighting;
  /** Default 'mean'. */
  reduction?: Reduction;
}

/**
 * The weighted denoising loss w(λ)·‖x − x̂‖², averaged over data dimensions as PD's
 * `dpm.py::training_losses` (meanflat), then over examples unless `reduction` is 'perExample'
 * (PD eq. 9; see `Weighting` for each weight's ε/v-space equivalent).
 */
export function denoisingLoss({ xHat, x, logSnr, weighting, reduction = 'mean' }: DenoisingLossArgs): Array {
  if (x.ndim !== xHat.ndim || x.shape.some((d, i) => d !== xHat.shape[i]))
    throw new ShapeError(`denoisingLoss: xHat has shape ${fmtShape(xHat.shape)} but x has shape ${fmtShape(x.shape)}; they must match`);
  const weighted = lossWeight(weighting, broadcastLogSnr('denoisingLoss', logSnr, x)).mul(x.sub(xHat).square());
  if (reduction === 'mean') return np.mean(weighted);
  if (reduction !== 'perExample') throw new ValueError(`denoisingLoss: unknown reduction '${reduction}'; expected 'mean' or 'perExample'`);
  if (x.ndim === 0) throw new ShapeError("denoisingLoss: reduction 'perExample' needs data with a leading batch axis, got a scalar");
  return x.ndim === 1 ? weighted : np.mean(weighted, x.shape.map((_, i) => i).slice(1));
}

/** Arguments of the VDM losses. */
export interface VdmLossArgs {
  /** γ(t) = −λ(t), elementwise in t (VDM's noise schedule, possibly learnable). */
  gamma: (t: Array) => Array;
  /** Scalar or per-example (N,) times in [0, 1]. */
  t: ArrayLike;
  eps: Array;
  epsHat: Array;
}

/** Σ over the data axes not covered by t of (ε − ε̂)², shaped like t. */
function sumSquaredError(op: string, t: Array, eps: Array, epsHat: Array): Array {
  if (eps.ndim !== epsHat.ndim || eps.shape.some((d, i) => d !== epsHat.shape[i]))
    throw new ShapeError(`${op}: epsHat has shape ${fmtShape(epsHat.shape)} but eps has shape ${fmtShape(eps.shape)}; they must match`);
  if (t.ndim > eps.ndim || t.shape.some((d, i) => d !== eps.shape[i]))
    throw new ShapeError(`${op}: t of shape ${fmtShape(t.shape)} must be a scalar or match the leading axes of eps ${fmtShape(eps.shape)}`);
  const sq = eps.sub(epsHat).square();
  return t.ndim === eps.ndim ? sq : np.sum(sq, eps.shape.map((_, i) => i).slice(t.ndim));
}

/**
 * VDM's continuous-time diffusion loss (Kingma et al. 2021, eq. 17 in γ form):
 * L∞ = ½·γ′(t)·‖ε − ε̂‖², with γ′(t) from forward-mode differentiation (`jvp`), as in
 * google-research/vdm `VDM.__call__`. Returns one value per example (shaped like t): the
 * squared error is summed over the data axes, as in VDM.
 */
export function vdmContinuousLoss({ gamma, t, eps, epsHat }: VdmLossArgs): Array {
  const tv = toValue('vdmContinuousLoss', t);
  const [, gammaPrime] = jvp(gamma, [tv], [np.onesLike(tv)]) as [Array, Array];
  return gammaPrime.mul(0.5).mul(sumSquaredError('vdmContinuousLoss', tv, eps, epsHat));
}

/**
 * VDM's discrete-time diffusion loss L_T with T steps (Kingma et al. 2021, §4, in the ε/γ form
 * of google-research/vdm `VDM.__call__`):
 * L_T = ½·T·expm1(γ(t) − γ(s))·‖ε − ε̂‖² with s = t − 1/T, for t on the grid {1/T, …, 1}.
 * Per example, like `vdmContinuousLoss`; it tends to that loss as T → ∞.
 */
export function vdmDiscreteLoss({ gamma, t, eps, epsHat, steps }: VdmLossArgs & { steps: number }): Array {
  if (!Number.isInteger(steps) || steps < 1) throw new ValueError(`vdmDiscreteLoss: steps must be a positive integer, got ${steps}`);
  const tv = toValue('vdmDiscreteLoss', t);
  const factor = np.expm1(gamma(tv).sub(gamma(tv.sub(1 / steps)))).mul(0.5 * steps);
  return factor.mul(sumSquaredError('vdmDiscreteLoss', tv, eps, epsHat));
}
