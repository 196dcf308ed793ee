/**
 * Noise conditioning augmentation for cascaded (super-resolution) stages (Ho et al. 2021,
 * "Cascaded Diffusion Models for High Fidelity Image Generation", §3; Imagen Video, Ho et al.
 * 2022, §2.5): the upsampled low-resolution conditioning is itself noised,
 * z_c = α_a·x_lowres + σ_a·ξ, at an augmentation level a drawn at random during training and
 * fixed at sampling time, and the model is told the level (here its log-SNR λ_a) as an extra
 * embedding. Resizing the conditioning to the stage's resolution is done before, by the caller.
 */
import * as np from '../core/numpy/index.js';
import { toValue, type ArrayLike } from '../core/numpy/convert.js';
import * as random from '../core/random.js';
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import type { Value as Array } from '../core/trace/value.js';
import { qSample } from './forward.js';
import type { Schedule } from './schedules.js';

interface AugmentBase {
  /** The conditioning, already resized to the stage's resolution: (N, ...). */
  x: Array;
  /** PRNG key for the level (when sampled) and the noise ξ. */
  key: random.Key;
}

/**
 * Training: draw the level. Either a time t ~ U[timeRange] mapped through `schedule` (as
 * imagen-pytorch does, with its own `lowres_noise_schedule = 'linear'`, vidax's `linearLogSnr()`,
 * and t ~ U[0, 0.999)), or λ ~ U[logSnrRange] directly.
 */
export interface AugmentTrainArgs extends AugmentBase {
  train: true;
  /** The augmentation's own schedule t → λ; give this or `logSnrRange`. */
  schedule?: Schedule;
  /** The range of t drawn uniformly (default [0, 1]); only with `schedule`. */
  timeRange?: readonly [number, number];
  /** Draw λ uniformly in [lo, hi] instead of drawing a time. */
  logSnrRange?: readonly [number, number];
  /**
   * One level per example (true) or one level shared by the whole batch (false, the default,
   * as imagen-pytorch's `per_sample_random_aug_noise_level = False`).
   */
  perSample?: boolean;
}

/**
 * Sampling: a fixed level, given as a log-SNR (`logSnr`, scalar or per example; +∞ means no
 * augmentation) or as a time `t` through `schedule`. imagen-pytorch's default
 * `lowres_sample_noise_level = 0.2` under its linear schedule is λ ≈ 0.71 (SNR ≈ 2.0); Imagen
 * Video's "SNR 3 or 5" is read here as SNR, i.e. λ = log 3 or log 5.
 */
export interface AugmentSampleArgs extends AugmentBase {
  train: false;
  logSnr?: ArrayLike;
  t?: ArrayLike;
  schedule?: Schedule;
}

export interface AugmentedConditioning {
  /** The noised conditioning z_c = α·x + σ·ξ, of x's shape. */
  z: Array;
  /** The augmentation log-SNR λ_a per example, shape (N,): what the model is conditioned on. */
  logSnr: Array;
  /** The noise ξ ~ N(0, I) that was applied, of x's shape. */
  noise: Array;
}

const OP = 'augmentConditioning';

function checkRange(name: string, r: readonly [number, number] | undefined, bounds?: readonly [number, number]): void {
  if (r === undefined) return;
  const ok = r.length === 2 && Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] <= r[1];
  const inBounds = bounds === undefined || (r[0] >= bounds[0] && r[1] <= bounds[1]);
  if (!ok || !inBounds)
    throw new ValueError(`${OP}: ${name} must be [lo, hi] with finite lo ≤ hi${bounds ? ` inside [${bounds[0]}, ${bounds[1]}]` : ''}, got ${JSON.stringify(r)}`);
}

/** The training level: λ of shape (N,), shared by the batch unless `perSample`. */
function sampleLevel(args: AugmentTrainArgs, key: random.Key, n: number): Array {
  const { schedule, timeRange, logSnrRange, perSample = false } = args;
  if ((schedule === undefined) === (logSnrRange === undefined))
    throw new ValueError(`${OP}: training needs exactly one of schedule (with timeRange) or logSnrRange`);
  if (logSnrRange !== undefined && timeRange !== undefined) throw new ValueError(`${OP}: timeRange applies with schedule, not with logSnrRange`);
  checkRange('timeRange', timeRange, [0, 1]);
  checkRange('logSnrRange', logSnrRange);
  const [lo, hi] = logSnrRange ?? timeRange ?? [0, 1];
  const u = random.uniform(key, perSample ? [n] : [], { minval: lo, maxval: hi });
  const level = schedule === undefined ? u : schedule.logSnr(u);
  return np.broadcastTo(level, [n]);
}

/** The fixed sampling level: λ of shape (N,). */
function fixedLevel(args: AugmentSampleArgs, n: number): Array {
  const { logSnr, t, schedule } = args;
  if ((logSnr === undefined) === (t === undefined))
    throw new ValueError(`${OP}: sampling needs exactly one of logSnr or t (with schedule)`);
  if (t !== undefined && schedule === undefined) throw new ValueError(`${OP}: a sampling time t needs the augmentation schedule`);
  const level = logSnr !== undefined ? toValue(OP, logSnr) : (schedule as Schedule).logSnr(t as ArrayLike);
  if (level.ndim > 1 || (level.ndim === 1 && level.shape[0] !== n && level.shape[0] !== 1))
    throw new ShapeError(`${OP}: the sampling level has shape ${fmtShape(level.shape)}; expected a scalar or (${n},) for a batch of ${n}`);
  return np.broadcastTo(np.astype(level, 'float32'), [n]);
}

/**
 * Noise the low-resolution conditioning at an augmentation level and return the level to feed
 * the model (CDM §3; Imagen Video §2.5): z = α_λ·x + σ_λ·ξ with α² = sigmoid(λ),
 * σ² = sigmoid(−λ), ξ ~ N(0, I). With `train: true` the level is drawn (see `AugmentTrainArgs`);
 * with `train: false` it is fixed (see `AugmentSampleArgs`). The returned `logSnr` has one entry
 * per example either way.
 */
export function augmentConditioning(args: AugmentTrainArgs | AugmentSampleArgs): AugmentedConditioning {
  const { x, key } = args;
  if (x.ndim < 1) throw new ShapeError(`${OP}: x must have a batch axis (N, ...), got shape ${fmtShape(x.shape)}`);
  const n = x.shape[0];
  const [levelKey, noiseKey] = random.split(key);
  const logSnr = args.train ? sampleLevel(args, levelKey, n) : fixedLevel(args, n);
  const noise = random.normal(noiseKey, x.shape);
  return { z: qSample(x, logSnr, noise), logSnr, noise };
}
