/**
 * Noise schedules over the canonical time variable of vidax, the log-SNR λ = log(α²/σ²), for
 * the variance-preserving process z = α x + σ ε (α² + σ² = 1), with t ∈ [0, 1], t = 0 clean
 * and t = 1 noise, so λ(t) decreases (Kingma et al. 2021, "Variational Diffusion Models"
 * (VDM), §2; Salimans & Ho 2022, "Progressive Distillation" (PD), §2).
 *
 * A `Schedule` maps t to λ elementwise (scalars or per-example arrays) and, where it has one,
 * back. Every function here is a composition of array ops, so it works under `jit`, `vmap`
 * and `grad`. `timesteps` discretises a schedule (or Karras σ-spacing) into N sampler steps.
 */
import * as np from '../core/numpy/index.js';
import { toValue, type ArrayLike } from '../core/numpy/convert.js';
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import { stopGradient } from '../core/lax.js';
import { jvp } from '../core/transforms/ad.js';
import type { Value as Array } from '../core/trace/value.js';

/** A noise schedule: t ∈ [0, 1] → λ (strictly decreasing) and, where available, its inverse. */
export interface Schedule {
  readonly name: string;
  logSnr(t: ArrayLike): Array;
  t?(logSnr: ArrayLike): Array;
}

/**
 * α and σ of the VP process at log-SNR λ: α² = sigmoid(λ), σ² = sigmoid(−λ)
 * (PD §2: λ = log(α²/σ²) with α² + σ² = 1). Elementwise; λ may be a scalar or per-example.
 */
export function alphaSigma(logSnr: ArrayLike): { alpha: Array; sigma: Array } {
  const l = toValue('alphaSigma', logSnr);
  return { alpha: np.sqrt(np.sigmoid(l)), sigma: np.sqrt(np.sigmoid(np.neg(l))) };
}

/** The signal-to-noise ratio SNR = α²/σ² = exp(λ) (VDM eq. 2). */
export function snr(logSnr: ArrayLike): Array {
  return np.exp(toValue('snr', logSnr));
}

/**
 * Reshape a scalar or per-example log-SNR (shape a prefix of `like.shape`, each dimension equal
 * or 1) to broadcast against data `like` of shape (N, ...): (N,) becomes (N, 1, …, 1).
 * `op` names the calling function in the error.
 */
export function broadcastLogSnr(op: string, logSnr: ArrayLike, like: Array): Array {
  const l = toValue(op, logSnr);
  if (l.ndim === 0) return l;
  const ok = l.ndim <= like.ndim && l.shape.every((d, i) => d === like.shape[i] || d === 1);
  if (!ok)
    throw new ShapeError(
      `${op}: logSnr of shape ${fmtShape(l.shape)} does not broadcast against data of shape ${fmtShape(like.shape)}; ` +
        'expected a scalar or a per-example array whose shape is a prefix of the data shape',
    );
  if (l.ndim === like.ndim) return l;
  return np.reshape(l, [...l.shape, ...like.shape.slice(l.ndim).map(() => 1)]);
}

const HALF_PI = Math.PI / 2;

function checkRange(op: string, logSnrMin: number, logSnrMax: number): void {
  if (!(logSnrMin < logSnrMax) || Number.isNaN(logSnrMin) || Number.isNaN(logSnrMax))
    throw new ValueError(`${op}: logSnrMin (${logSnrMin}) must be less than logSnrMax (${logSnrMax})`);
}

/** Options of the clipped cosine schedule. */
export interface CosineOptions {
  /** λ(1); −20 in every PD config. −Infinity gives the unclipped cosine. */
  logSnrMin?: number;
  /** λ(0); +20 in every PD config. +Infinity gives the unclipped cosine. */
  logSnrMax?: number;
}

/**
 * The cosine schedule with log-SNR clipping (PD §4; Google's
 * `diffusion_distillation/schedules.py::_logsnr_schedule_cosine`). Convention: clipping is done
 * by restricting the angle, not by clamping λ: with b = atan(e^{−λmax/2}) and
 * a = atan(e^{−λmin/2}) − b, λ(t) = −2 log tan(a t + b), so λ(0) = λmax, λ(1) = λmin and λ is
 * smooth and strictly decreasing on [0, 1]. Unclipped (±∞) it is α = cos(πt/2), σ = sin(πt/2),
 * λ(t) = −2 log tan(πt/2). Exact inverse: t(λ) = (atan(e^{−λ/2}) − b)/a, for λ ∈ [λmin, λmax].
 *
 * For float32 accuracy near t = 1 (where a t + b is close to π/2), λ is evaluated there as
 * 2 log tan(bc + a(1 − t)) with bc = atan(e^{λmin/2}) = π/2 − b − a.
 */
export function cosineSchedule({ logSnrMin = -20, logSnrMax = 20 }: CosineOptions = {}): Schedule {
  checkRange('cosineSchedule', logSnrMin, logSnrMax);
  const b = Math.atan(Math.exp(-logSnrMax / 2));
  const bc = Math.atan(Math.exp(logSnrMin / 2));
  const a = HALF_PI - b - bc;
  return {
    name: `cosine(${logSnrMin}, ${logSnrMax})`,
    logSnr(tIn) {
      const t = toValue('cosineSchedule.logSnr', tIn);
      // Each branch sees t clamped to its own half, so the unused one stays finite (no NaN in
      // values or gradients, e.g. tan(π/2) for the unclipped schedule).
      const head = np.mul(-2, np.log(np.tan(np.minimum(t, 0.5).mul(a).add(b))));
      const tail = np.mul(2, np.log(np.tan(np.sub(1, np.maximum(t, 0.5)).mul(a).add(bc))));
      return np.where(t.less(0.5), head, tail);
    },
    t(logSnrIn) {
      const l = toValue('cosineSchedule.t', logSnrIn);
      const head = np.arctan(np.exp(l.mul(-0.5))).sub(b).div(a);
      const tail = np.sub(1, np.arctan(np.exp(l.mul(0.5))).sub(bc).div(a));
      return np.where(l.greater(0), head, tail);
    },
  };
}

/** Options of the iDDPM offset cosine. */
export interface IddpmCosineOptions {
  /** The offset s (0.008 in iDDPM and imagen-pytorch). */
  s?: number;
  /**
   * Divide ᾱ by ᾱ(0) as iDDPM does (default): λ(0) = +∞. `false` gives imagen-pytorch's
   * `alpha_cosine_log_snr` (ᾱ = cos²θ, λ(0) = −2 log tan(s/(1+s)·π/2) ≈ 8.77 for s = 0.008).
   */
  normalized?: boolean;
}

/**
 * The offset cosine of iDDPM (Nichol & Dhariwal 2021, eq. 17) in continuous time:
 * ᾱ(t) = cos²(θ(t))/cos²(θ(0)), θ(t) = ((t + s)/(1 + s))·π/2, as a log-SNR λ = log(ᾱ/(1 − ᾱ)).
 * With `normalized: false` it is ᾱ = cos²θ, i.e. λ = −log(cos⁻²θ − 1), imagen-pytorch's
 * `alpha_cosine_log_snr` (`imagen_pytorch.py`, whose clamp of cos⁻²θ − 1 at 1e-5 never binds for
 * s = 0.008). λ(1) = −∞ (α = 0) in both forms; imagen-pytorch's float32 cos(π/2) ≈ −4.4e−8 makes
 * its λ(1) ≈ −33.9 instead. Discrete iDDPM clips β at 0.999; compose with `clampLogSnr` to bound λ.
 *
 * Evaluated without cancellation as λ = 2 log sin((1 − t)c) − log sin((t + s + s₀)c) − log sin((t + s − s₀)c)
 * with c = π/(2(1 + s)) and s₀ = s (normalized) or 0, using cos²A − cos²B = sin(B + A) sin(B − A).
 * Exact inverse: cos θ = cos θ₀·sqrt(sigmoid(λ)), θ = atan2(sqrt(sin²θ₀ + cos²θ₀·sigmoid(−λ)), cos θ₀·sqrt(sigmoid(λ))).
 */
export function iddpmCosine({ s = 0.008, normalized = true }: IddpmCosineOptions = {}): Schedule {
  if (!(s >= 0 && s < 1)) throw new ValueError(`iddpmCosine: s must be in [0, 1), got ${s}`);
  const c = HALF_PI / (1 + s);
  const s0 = normalized ? s : 0;
  const theta0 = s0 * c;
  const [sin0, cos0] = [Math.sin(theta0), Math.cos(theta0)];
  return {
    name: `iddpm-cosine(s=${s}${normalized ? '' : ', unnormalized'})`,
    logSnr(tIn) {
      const t = toValue('iddpmCosine.logSnr', tIn);
      const logCos = np.log(np.sin(np.sub(1, t).mul(c))).mul(2);
      return logCos.sub(np.log(np.sin(t.add(s + s0).mul(c)))).sub(np.log(np.sin(t.add(s - s0).mul(c))));
    },
    t(logSnrIn) {
      const l = toValue('iddpmCosine.t', logSnrIn);
      const cosTheta = np.sqrt(np.sigmoid(l)).mul(cos0);
      const sinTheta = np.sqrt(np.sigmoid(np.neg(l)).mul(cos0 * cos0).add(sin0 * sin0));
      return np.arctan2(sinTheta, cosTheta).div(c).sub(s);
    },
  };
}

/**
 * imagen-pytorch's "linear" log-SNR (`beta_linear_log_snr`, the continuous-time limit of DDPM's
 * linear β schedule; VDM App. I): λ(t) = −log(expm1(1e−4 + 10 t²)), from λ(0) ≈ 9.21 to
 * λ(1) ≈ −10.0. Its default for SR U-Nets and for noise-conditioning augmentation. Exact inverse:
 * t = sqrt((softplus(−λ) − 1e−4)/10), softplus(u) = log(1 + e^u).
 */
export function linearLogSnr(): Schedule {
  return {
    name: 'linear-log-snr',
    logSnr(tIn) {
      const t = toValue('linearLogSnr.logSnr', tIn);
      return np.neg(np.log(np.expm1(t.square().mul(10).add(1e-4))));
    },
    t(logSnrIn) {
      const u = np.neg(toValue('linearLogSnr.t', logSnrIn));
      const softplus = np.maximum(u, 0).add(np.log1p(np.exp(np.neg(np.abs(u)))));
      return np.sqrt(np.maximum(softplus.sub(1e-4).div(10), 0));
    },
  };
}

/** Options of the simple-diffusion shifted cosine. */
export interface ShiftedCosineOptions extends CosineOptions {
  /**
   * The resolution ratio noise_d/image_d, e.g. 64/256 for a 256-pixel model with the paper's
   * 64-pixel reference: λ moves by 2·log(shift) (a 2× resolution needs 4× lower SNR).
   */
  shift: number;
  /**
   * Keep λ within [logSnrMin, logSnrMax] as k-diffusion's `rand_cosine_interpolated` does (the
   * cosine is taken on [λmin − 2 log shift, λmax − 2 log shift] and then shifted). Default
   * false: the paper's listing, λ ∈ [λmin + 2 log shift, λmax + 2 log shift].
   */
  preserveBounds?: boolean;
}

/**
 * The shifted cosine of simple diffusion (Hoogeboom, Heek & Salimans 2023, §3.1):
 * λ_shift(t) = λ_cos(t) + 2·log(noise_d/image_d), with λ_cos the clipped `cosineSchedule`
 * (defaults ±15 as in the paper's listing). Exact inverse: t = λ_cos⁻¹(λ − 2 log shift).
 */
export function shiftedCosine({ shift, logSnrMin = -15, logSnrMax = 15, preserveBounds = false }: ShiftedCosineOptions): Schedule {
  if (!(shift > 0) || !Number.isFinite(shift)) throw new ValueError(`shiftedCosine: shift (noise_d/image_d) must be a positive number, got ${shift}`);
  const offset = 2 * Math.log(shift);
  const base = preserveBounds ? cosineSchedule({ logSnrMin: logSnrMin - offset, logSnrMax: logSnrMax - offset }) : cosineSchedule({ logSnrMin, logSnrMax });
  const inverse = base.t as (l: ArrayLike) => Array;
  return {
    name: `shifted-cosine(shift=${shift}, ${logSnrMin}, ${logSnrMax}${preserveBounds ? ', bounded' : ''})`,
    logSnr: (t) => base.logSnr(t).add(offset),
    t: (l) => inverse(toValue('shiftedCosine.t', l).sub(offset)),
  };
}

/** Options of the simple-diffusion interpolated cosine. */
export interface InterpolatedCosineOptions extends CosineOptions {
  /** noise_d_low/image_d: the shift weighted by t (dominant near t = 1), e.g. 32/512. */
  shiftLow: number;
  /** noise_d_high/image_d: the shift weighted by 1 − t (dominant near t = 0), e.g. 1. */
  shiftHigh: number;
  preserveBounds?: boolean;
}

/**
 * The interpolated cosine of simple diffusion (Hoogeboom et al. 2023, §3.1 and its code
 * listing): λ(t) = t·λ_shift(t; noise_d_low) + (1 − t)·λ_shift(t; noise_d_high). Beware:
 * k-diffusion's `rand_cosine_interpolated` uses `torch.lerp(low, high, t)`, the opposite
 * weights; vidax follows the paper. λ is strictly decreasing when shiftLow ≤ shiftHigh; the
 * inverse has no closed form and is computed by bisection plus one Newton step (so its value
 * is exact to float32 and its derivative is 1/λ′(t)).
 */
export function interpolatedCosine({ shiftLow, shiftHigh, logSnrMin = -15, logSnrMax = 15, preserveBounds = false }: InterpolatedCosineOptions): Schedule {
  if (!(shiftLow <= shiftHigh)) throw new ValueError(`interpolatedCosine: shiftLow (${shiftLow}) must not exceed shiftHigh (${shiftHigh}) for λ(t) to be monotone`);
  const low = shiftedCosine({ shift: shiftLow, logSnrMin, logSnrMax, preserveBounds });
  const high = shiftedCosine({ shift: shiftHigh, logSnrMin, logSnrMax, preserveBounds });
  const logSnr = (tIn: ArrayLike): Array => {
    const t = toValue('interpolatedCosine.logSnr', tIn);
    return t.mul(low.logSnr(t)).add(np.sub(1, t).mul(high.logSnr(t)));
  };
  return {
    name: `interpolated-cosine(low=${shiftLow}, high=${shiftHigh}, ${logSnrMin}, ${logSnrMax}${preserveBounds ? ', bounded' : ''})`,
    logSnr,
    t: (l) => invertDecreasing(logSnr, toValue('interpolatedCosine.t', l)),
  };
}

/**
 * t with logSnr(t) = λ for a strictly decreasing elementwise schedule on [0, 1]: 40 bisection
 * steps (below float32 resolution), then one Newton step t − (λ(t) − λ)/λ′(t) from the
 * (gradient-stopped) bisection point, which carries the implicit-function derivative 1/λ′(t).
 */
function invertDecreasing(logSnr: (t: Array) => Array, l: Array): Array {
  let lo = np.zerosLike(l);
  let hi = np.onesLike(l);
  const target = stopGradient(l);
  for (let i = 0; i < 40; i++) {
    const mid = lo.add(hi).mul(0.5);
    const above = logSnr(mid).greater(target);
    lo = np.where(above, mid, lo);
    hi = np.where(above, hi, mid);
  }
  const t0 = stopGradient(lo.add(hi).mul(0.5));
  const [value, slope] = jvp(logSnr, [t0], [np.onesLike(t0)]) as [Array, Array];
  return np.clip(t0.sub(value.sub(l).div(slope)), 0, 1);
}

/** Options of VDM's fixed linear γ. */
export interface VdmLinearGammaOptions {
  /** γ(0) = −λ(0); −13.3 in VDM's CIFAR-10 config. */
  gammaMin?: number;
  /** γ(1) = −λ(1); 5 in VDM's CIFAR-10 config. */
  gammaMax?: number;
}

/**
 * VDM's fixed linear schedule (Kingma et al. 2021, `NoiseSchedule_FixedLinear` in
 * google-research/vdm): γ(t) = γmin + (γmax − γmin)·t with γ = −λ (σ² = sigmoid(γ)), so
 * λ(t) = −γ(t). Exact inverse t = (−λ − γmin)/(γmax − γmin).
 */
export function vdmLinearGamma({ gammaMin = -13.3, gammaMax = 5 }: VdmLinearGammaOptions = {}): Schedule {
  checkRange('vdmLinearGamma', gammaMin, gammaMax);
  const span = gammaMax - gammaMin;
  return {
    name: `vdm-linear-gamma(${gammaMin}, ${gammaMax})`,
    logSnr: (t) => np.neg(toValue('vdmLinearGamma.logSnr', t).mul(span).add(gammaMin)),
    t: (l) => np.neg(toValue('vdmLinearGamma.t', l)).sub(gammaMin).div(span),
  };
}

/** Bounds for `clampLogSnr`. */
export interface LogSnrBounds {
  logSnrMin?: number;
  logSnrMax?: number;
}

/**
 * A schedule with λ clamped to [logSnrMin, logSnrMax] (e.g. iDDPM's cosine, whose λ(1) = −∞;
 * compare iDDPM's clipping of β at 0.999, Nichol & Dhariwal 2021 §3.2). The inverse clamps λ
 * into the range first, so t(λ(t)) = t only where the clamp does not bind.
 */
export function clampLogSnr(schedule: Schedule, { logSnrMin = -Infinity, logSnrMax = Infinity }: LogSnrBounds): Schedule {
  checkRange('clampLogSnr', logSnrMin, logSnrMax);
  const inverse = schedule.t;
  const clamp = (l: Array): Array => np.clip(l, Number.isFinite(logSnrMin) ? logSnrMin : null, Number.isFinite(logSnrMax) ? logSnrMax : null);
  return {
    name: `${schedule.name} clamped to [${logSnrMin}, ${logSnrMax}]`,
    logSnr: (t) => clamp(schedule.logSnr(t)),
    ...(inverse ? { t: (l: ArrayLike) => inverse(clamp(toValue('clampLogSnr.t', l))) } : {}),
  };
}

/** Options of `timesteps`. */
export type TimestepOptions =
  | {
      /** N + 1 log-SNRs at t = 1, 1 − 1/N, …, 0 of `schedule` (default `cosineSchedule()`). */
      kind: 'uniform';
      schedule?: Schedule;
    }
  | {
      /**
       * Karras et al. 2022 ("Elucidating the Design Space…", eq. 5) σ-spacing:
       * σ_i = (σmax^{1/ρ} + i/(N−1)·(σmin^{1/ρ} − σmax^{1/ρ}))^ρ for i < N, then σ_N = 0
       * (as k-diffusion's `get_sigmas_karras`). σ is the variance-exploding σ = σ_VP/α_VP, so
       * λ_i = −2 log σ_i, and the final λ_N is +∞ (clean data).
       */
      kind: 'karras';
      rho?: number;
      sigmaMin?: number;
      sigmaMax?: number;
    };

/**
 * A discretisation of the reverse process into `n` steps: N + 1 log-SNRs in increasing order
 * (from noise towards data), as a float32 array of shape [N + 1]. Step i goes from λ[i] to λ[i+1].
 */
export function timesteps(n: number, options: TimestepOptions = { kind: 'uniform' }): Array {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`timesteps: n must be a positive integer, got ${n}`);
  if (options.kind === 'uniform') {
    const schedule = options.schedule ?? cosineSchedule();
    return schedule.logSnr(np.linspace(1, 0, n + 1));
  }
  if (options.kind !== 'karras') throw new ValueError(`timesteps: unknown kind '${(options as { kind: string }).kind}'; expected 'uniform' or 'karras'`);
  const { rho = 7, sigmaMin = 0.002, sigmaMax = 80 } = options;
  if (!(sigmaMin > 0 && sigmaMin < sigmaMax)) throw new ValueError(`timesteps: need 0 < sigmaMin < sigmaMax, got sigmaMin ${sigmaMin}, sigmaMax ${sigmaMax}`);
  if (!(rho > 0)) throw new ValueError(`timesteps: rho must be positive, got ${rho}`);
  const [hi, lo] = [sigmaMax ** (1 / rho), sigmaMin ** (1 / rho)];
  const lambdas = Float32Array.from({ length: n + 1 }, (_, i) => {
    if (i === n) return Infinity;
    const ramp = n === 1 ? 0 : i / (n - 1);
    return -2 * rho * Math.log(hi + ramp * (lo - hi));
  });
  return np.array(lambdas);
}
