/**
 * Distillation targets: progressive distillation (Salimans & Ho 2022, "Progressive
 * Distillation for Fast Sampling of Diffusion Models", Algorithm 2), guided distillation
 * (Meng et al. 2023, "On Distillation of Guided Diffusion Models", CVPR: stage-one and stage-two
 * distillation), and the training target of Meng et al.'s stochastic N-step sampler (their
 * Algorithm 3). Formulas and sources: reference/imagen-video-and-diffusion-math.md §2.8–2.9.
 *
 * Every target is a clean-data regression target x̃ for the student at (z_t, λ_t), returned with
 * its equivalent ε̃ = (z_t − α_t x̃)/σ_t and ṽ = α_t ε̃ − σ_t x̃ (PD §4), so a student of any
 * parameterization can be trained against it. Log-SNRs are scalars or per-example arrays
 * broadcast over the data's trailing axes; masks (`lastStep`, `singleStep`) likewise. All
 * functions are pure and work under `jit`, `vmap` and `grad`; the per-example special cases are
 * `np.where` selections, never JavaScript branches on values.
 */
import * as np from '../core/numpy/index.js';
import { toValue, type ArrayLike } from '../core/numpy/convert.js';
import { stopGradient } from '../core/lax.js';
import * as random from '../core/random.js';
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import { Value, type Value as Array } from '../core/trace/value.js';
import { epsFromX, velocity, type Denoiser, type Prediction } from './parameterization.js';
import { cfg } from './guidance.js';
import { denoisingLoss, type Reduction, type Weighting } from './losses.js';
import { ddimStep } from './samplers.js';
import { alphaSigma, broadcastLogSnr } from './schedules.js';
import { guidanceEmbedding } from '../nn/embeddings.js';

/**
 * A per-example mask (booleans or 0/1 numbers; scalar or shape a prefix of `like.shape`) as a
 * boolean array broadcasting against `like`.
 */
function maskFor(op: string, name: string, mask: ArrayLike, like: Array): Array {
  const m = toValue(op, mask);
  if (m.ndim > like.ndim || m.shape.some((d, i) => d !== like.shape[i] && d !== 1))
    throw new ShapeError(
      `${op}: ${name} of shape ${fmtShape(m.shape)} does not broadcast against data of shape ${fmtShape(like.shape)}; ` +
        'expected a scalar or a per-example array whose shape is a prefix of the data shape',
    );
  const b = m.dtype === 'bool' ? m : np.notEqual(m, 0);
  return m.ndim === 0 || m.ndim === like.ndim ? b : np.reshape(b, [...m.shape, ...like.shape.slice(m.ndim).map(() => 1)]);
}

/** softplus(x) = log(1 + eˣ), stable for large |x| and exact at ±∞. */
function softplus(x: Array): Array {
  return np.maximum(x, 0).add(np.log1p(np.exp(np.neg(np.abs(x)))));
}

/** Run a denoiser and check that it returns an array of z's shape. */
function denoise(op: string, name: string, model: Denoiser, z: Array, logSnr: Array): Array {
  const x = model(z, logSnr);
  if (x.ndim !== z.ndim || x.shape.some((d, i) => d !== z.shape[i]))
    throw new ShapeError(`${op}: ${name} returned shape ${fmtShape(x.shape)} for z of shape ${fmtShape(z.shape)}; a denoiser returns x̂ of z's shape`);
  return x;
}

/** The teacher's x̂ at (z_t, λ_t) and its deterministic DDIM step to λ_s (PD eq. 7–8, `ddimStep` with η = 0). */
function teacherStep(op: string, teacher: Denoiser, z: Array, logSnrT: Array, logSnrS: Array): { xHat: Array; zS: Array } {
  const xHat = denoise(op, 'teacher', teacher, z, logSnrT);
  return { xHat, zS: ddimStep({ z, xHat, logSnrT, logSnrS }) };
}

export interface InvertDdimArgs {
  /** z_t, the point the student steps from. */
  z: Array;
  /** The point the student step must land on (the teacher's z_s). */
  zS: Array;
  /** λ_t (scalar or per example). */
  logSnrT: ArrayLike;
  /** λ_s (scalar or per example), with λ_s > λ_t. */
  logSnrS: ArrayLike;
}

/**
 * The x̂ for which one DDIM step from (z_t, λ_t) to λ_s lands exactly on z_s (PD Algorithm 2,
 * line "x̃ = (z_t″ − (σ_t″/σ_t) z_t) / (α_t″ − (σ_t″/σ_t) α_t)"). The ratio σ_s/σ_t is computed
 * as exp(½(softplus(λ_t) − softplus(λ_s))), as Google's `dpm.py` does (`stdv_frac`), which is
 * accurate at high SNR and exactly 0 at λ_s = +∞ (then x̃ = z_s).
 */
export function invertDdimStep({ z, zS, logSnrT, logSnrS }: InvertDdimArgs): Array {
  const op = 'invertDdimStep';
  if (zS.ndim !== z.ndim || zS.shape.some((d, i) => d !== z.shape[i]))
    throw new ShapeError(`${op}: zS has shape ${fmtShape(zS.shape)} but z has shape ${fmtShape(z.shape)}; they must match`);
  const lT = broadcastLogSnr(op, logSnrT, z);
  const lS = broadcastLogSnr(op, logSnrS, z);
  const ratio = np.exp(softplus(lT).sub(softplus(lS)).mul(0.5));
  const { alpha: aT } = alphaSigma(lT);
  const { alpha: aS } = alphaSigma(lS);
  return zS.sub(ratio.mul(z)).div(aS.sub(ratio.mul(aT)));
}

/** x̃ with its ε̃ and ṽ at (z_t, λ_t) (PD §4: ε = (z − α x)/σ, v = α ε − σ x). */
function targetForms(z: Array, x: Array, logSnrT: ArrayLike): Prediction {
  const eps = epsFromX(z, x, logSnrT);
  return { x, eps, v: velocity(x, eps, logSnrT) };
}

export interface DistillationTargetArgs {
  /** z_t, the student's input (N, ...). */
  z: Array;
  /** λ_t of z_t, scalar or per example. */
  logSnrT: ArrayLike;
  /** λ_t′ of the teacher's intermediate point (t′ = t − 0.5/N in Algorithm 2). */
  logSnrMid: ArrayLike;
  /** λ_t″ the student step reaches (t″ = t − 1/N). */
  logSnrS: ArrayLike;
  /** The teacher, a `Denoiser` (z, λ) → x̂. */
  teacher: Denoiser;
  /**
   * Where t″ is the end of the sampling grid (i = 1 in Algorithm 2), scalar or per example
   * (booleans or 0/1). There x̃ is the teacher's x̂(z_t′), as in Google's code
   * (`jnp.where(i == 0, x_pred, x_target)`; their i counts from 0): the last sampling step
   * returns x̂ rather than a DDIM step to the schedule's λ_max. Default: no example is last.
   */
  lastStep?: ArrayLike;
}

/**
 * Two teacher DDIM steps z_t → z_t′ → z_t″ and the x̃ for which one student DDIM step t → t″
 * lands on z_t″ (the inversion shared by PD Algorithm 2 and Meng et al.'s Algorithm 3).
 */
function twoTeacherSteps(op: string, teacher: Denoiser, z: Array, logSnrT: ArrayLike, logSnrMid: ArrayLike, logSnrS: ArrayLike) {
  const lT = toValue(op, logSnrT);
  const lMid = toValue(op, logSnrMid);
  const first = teacherStep(op, teacher, z, lT, lMid);
  const step2 = teacherStep(op, teacher, first.zS, lMid, toValue(op, logSnrS));
  const second = { ...step2, xTilde: invertDdimStep({ z, zS: step2.zS, logSnrT: lT, logSnrS }) };
  return { lT, lMid, first, second };
}

/**
 * The progressive-distillation target (PD Algorithm 2). Two teacher DDIM steps
 * z_t → z_t′ → z_t″, then the x̃ for which one student DDIM step t → t″ lands on z_t″:
 *
 *   x̃ = (z_t″ − (σ_t″/σ_t) z_t) / (α_t″ − (σ_t″/σ_t) α_t),
 *
 * with ε̃ = (z_t − α_t x̃)/σ_t and ṽ = α_t ε̃ − σ_t x̃. Where `lastStep` holds, x̃ = x̂(z_t′).
 * With an unclipped schedule (λ_t″ = +∞ at t″ = 0, σ_t″ = 0) the formula itself gives x̂(z_t′).
 * For guided distillation stage two (Meng et al.) pass a w-conditioned teacher closed over
 * the example's w (`withGuidanceWeight`).
 */
export function distillationTarget({ z, logSnrT, logSnrMid, logSnrS, teacher, lastStep }: DistillationTargetArgs): Prediction {
  const op = 'distillationTarget';
  const { lT, second } = twoTeacherSteps(op, teacher, z, logSnrT, logSnrMid, logSnrS);
  let x = second.xTilde;
  if (lastStep !== undefined) x = np.where(maskFor(op, 'lastStep', lastStep, z), second.xHat, x);
  return targetForms(z, x, lT);
}

export interface StochasticSamplerTargetArgs {
  /** z_t, the student's input (N, ...), at a grid time t = i/N. */
  z: Array;
  /** λ_t, scalar or per example. */
  logSnrT: ArrayLike;
  /** λ at t − 1/N, the teacher's intermediate point. */
  logSnrMid: ArrayLike;
  /** λ at t − 2/N, where the student's step lands (ignored where `singleStep` holds). */
  logSnrS: ArrayLike;
  /** The teacher (z, λ) → x̂, taking steps of 1/N. */
  teacher: Denoiser;
  /**
   * Where t < 2/N (i = 1), scalar or per example (booleans or 0/1): there is no room for a 2/N
   * step, and the target is the single teacher step t → t − 1/N, inverted (Meng et al.'s
   * `two_nvidia_training_losses`: `x_target_init`). Default: no example.
   */
  singleStep?: ArrayLike;
}

/**
 * The training target of Meng et al.'s stochastic N-step sampler (2023, Algorithm 3; Google's
 * `two_nvidia_training_losses`). The sampler moves each step from t by a deterministic
 * DDIM step of size 2/N to t − 2/N and then re-noises forward to t − 1/N, so the student must
 * take 2/N steps from every grid point t = i/N (odd and even i). The target is the x̃ for which
 * one student DDIM step t → t − 2/N lands on the teacher's two DDIM steps t → t − 1/N → t − 2/N
 * (the inversion of PD Algorithm 2, with teacher steps of 1/N instead of 0.5/N). Where
 * `singleStep` holds (t = 1/N) it is the inversion of the single teacher step t → t − 1/N; unlike
 * `distillationTarget` there is no x̂ special case, as in Meng et al.'s code.
 */
export function stochasticSamplerTarget({ z, logSnrT, logSnrMid, logSnrS, teacher, singleStep }: StochasticSamplerTargetArgs): Prediction {
  const op = 'stochasticSamplerTarget';
  const { lT, lMid, first, second } = twoTeacherSteps(op, teacher, z, logSnrT, logSnrMid, logSnrS);
  let x = second.xTilde;
  if (singleStep !== undefined) {
    const one = invertDdimStep({ z, zS: first.zS, logSnrT: lT, logSnrS: lMid });
    x = np.where(maskFor(op, 'singleStep', singleStep, z), one, x);
  }
  return targetForms(z, x, lT);
}

export interface StudentLossArgs {
  /** The student (z, λ) → x̂ (a w-conditioned student closed over w with `withGuidanceWeight`). */
  student: Denoiser;
  /** z_t (N, ...), the point the target was computed at. */
  z: Array;
  /** λ_t, scalar or per example. */
  logSnr: ArrayLike;
  /** The target (`distillationTarget`, `stochasticSamplerTarget`, `guidedDistillationTarget`) or its x̃. */
  target: Prediction | Array;
  /** Default 'truncatedSnr', max(SNR, 1), the weighting of every PD config. */
  weighting?: Weighting;
  /** Default 'mean'; 'perExample' gives one value per example. */
  reduction?: Reduction;
}

/**
 * The student's loss w(λ_t)·‖x̃ − x̂_η(z_t)‖² (PD Algorithm 2, last line; eq. 9 weightings), by
 * default with PD's truncated-SNR weight max(SNR, 1) = max(‖x̃ − x̂‖², ‖ε̃ − ε̂‖²)/‖x̃ − x̂‖²
 * (`snr_trunc`). The target is held constant (`stopGradient`): gradients reach the student only.
 */
export function studentLoss({ student, z, logSnr, target, weighting = 'truncatedSnr', reduction = 'mean' }: StudentLossArgs): Array {
  const l = toValue('studentLoss', logSnr);
  const x = stopGradient(target instanceof Value ? target : target.x);
  return denoisingLoss({ xHat: denoise('studentLoss', 'student', student, z, l), x, logSnr: l, weighting, reduction });
}

// ------------------------------------------------------------------ guided distillation

/** A w-conditioned denoiser (z, λ, w) → x̂, the student of guided distillation. */
export type GuidedDenoiser = (z: Array, logSnr: Array, w: Array) => Array;

/**
 * The classifier-free guided teacher at guidance weight w (Meng et al. 2023; Imagen Video
 * eq. 5): x̂^w = (1 + w)·x̂_c − w·x̂_u, w ≥ 0, scalar or per example. w = 0 is the conditional
 * model. This is the paper's convention; imagen-pytorch's and diffusers' scale s is 1 + w.
 * Guidance is affine in the prediction at fixed z, so combining in x-space equals Meng et al.'s
 * ε-space `(1+w)·eps_c − w·eps_u` (`cfg` of guidance.ts). Clip or threshold by composing, if wanted.
 */
export function guidedTeacher(teacherCond: Denoiser, teacherUncond: Denoiser, w: ArrayLike): Denoiser {
  const op = 'guidedTeacher';
  const ww = toValue(op, w);
  return (z, logSnr) => cfg({ cond: denoise(op, 'teacherCond', teacherCond, z, logSnr), uncond: denoise(op, 'teacherUncond', teacherUncond, z, logSnr), w: ww });
}

export interface GuidedDistillationTargetArgs {
  /** z_t (N, ...). */
  z: Array;
  /** λ_t, scalar or per example. */
  logSnr: ArrayLike;
  /** The guidance weight the student is conditioned on, scalar or per example (sampled U[w_min, w_max]). */
  w: ArrayLike;
  /** The teacher's conditional denoiser. */
  teacherCond: Denoiser;
  /** The teacher's unconditional denoiser. */
  teacherUncond: Denoiser;
}

/**
 * Guided distillation stage one (Meng et al. 2023): the target of the w-conditioned student
 * x̂_η(z_t, w) is the guided teacher's x̂^w(z_t) = (1 + w)·x̂_c − w·x̂_u at the same (z_t, λ_t),
 * with its ε̃ and ṽ, for w ~ U[w_min, w_max] (`sampleGuidanceWeights`). The student starts from
 * the teacher's conditional model and sees w through `wEmbedding`, added like the time embedding.
 */
export function guidedDistillationTarget({ z, logSnr, w, teacherCond, teacherUncond }: GuidedDistillationTargetArgs): Prediction {
  const l = toValue('guidedDistillationTarget', logSnr);
  return targetForms(z, guidedTeacher(teacherCond, teacherUncond, w)(z, l), l);
}

/**
 * A w-conditioned denoiser closed over w, as a plain `Denoiser`: guided distillation stage two
 * (Meng et al. 2023) runs `distillationTarget` with `withGuidanceWeight(teacher, w)` and trains
 * `withGuidanceWeight(student, w)` on the same sampled w.
 */
export function withGuidanceWeight(model: GuidedDenoiser, w: ArrayLike): Denoiser {
  const ww = toValue('withGuidanceWeight', w);
  return (z, logSnr) => model(z, logSnr, ww);
}

/**
 * The Fourier embedding of the guidance weight w (..., ) → (..., dim) that conditions the
 * guided-distilled student (Meng et al. 2023: w is embedded like the time and added to it):
 * `guidanceEmbedding` of `src/nn/embeddings.ts`, sinusoids of 1000·w.
 */
export const wEmbedding = guidanceEmbedding;

export interface GuidanceWeightRange {
  /** Lower end (default 0). */
  min?: number;
  /** Upper end (default 4, Meng et al.'s CIFAR-10 `train_w_schedule`). */
  max?: number;
}

/** Per-example guidance weights w ~ U[min, max] of shape (n,), for guided distillation stages one and two. */
export function sampleGuidanceWeights(key: random.Key, n: number, { min = 0, max = 4 }: GuidanceWeightRange = {}): Array {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`sampleGuidanceWeights: n must be a positive integer, got ${String(n)}`);
  if (!(Number.isFinite(min) && Number.isFinite(max) && min >= 0 && min <= max))
    throw new ValueError(`sampleGuidanceWeights: need finite 0 ≤ min ≤ max, got [${min}, ${max}]`);
  return random.uniform(key, [n], { minval: min, maxval: max });
}
