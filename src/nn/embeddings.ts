/**
 * Embeddings of continuous scalars (diffusion time, log-SNR, guidance weight) and of
 * coordinates: fixed sinusoidal embeddings and random Fourier features.
 */
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import * as lax from '../core/lax_namespace.js';
import * as np from '../core/numpy/index.js';
import type { ArrayLike } from '../core/numpy/index.js';
import * as random from '../core/random.js';
import type { Value as Array } from '../core/trace/value.js';
import { checkPositiveInt, type Layer } from './module.js';

export interface SinusoidalEmbeddingOptions {
  /** The longest period (default 10000), as in the Transformer's positional encoding. */
  maxPeriod?: number;
  /** Put the cosines first (default false: [sin, cos], as DDPM; true: [cos, sin], as GLIDE/ADM). */
  flipSinToCos?: boolean;
  /**
   * Frequencies are maxPeriod^(−i/(half − shift)) for i < half = ⌊dim/2⌋. Default 1 (DDPM,
   * Imagen, VDM: the last frequency is exactly 1/maxPeriod); 0 gives GLIDE/ADM's `timestep_embedding`.
   */
  downscaleFreqShift?: number;
  /** Multiplies t before the sinusoids (default 1). */
  scale?: number;
}

/**
 * Sinusoidal embedding of t (..., ) → (..., dim) (Vaswani et al. 2017 §3.5, as used for the
 * diffusion time by Ho et al. 2020, DDPM's `get_timestep_embedding`, and by imagen-pytorch's
 * `SinusoidalPosEmb`): [sin(s·t·fᵢ), cos(s·t·fᵢ)] over i < ⌊dim/2⌋ with
 * fᵢ = exp(−ln(maxPeriod)·i/(⌊dim/2⌋ − downscaleFreqShift)); an odd `dim` gets a zero last
 * column. Matches diffusers' `get_timestep_embedding(t, dim, flip_sin_to_cos,
 * downscale_freq_shift, scale, max_period)`. t may be fractional (a continuous time or λ).
 */
export function sinusoidalEmbedding(t: ArrayLike, dim: number, opts: SinusoidalEmbeddingOptions = {}): Array {
  const fn = 'sinusoidalEmbedding';
  const { maxPeriod = 10000, flipSinToCos = false, downscaleFreqShift = 1, scale = 1 } = opts;
  checkPositiveInt(fn, 'dim', dim);
  const half = Math.floor(dim / 2);
  if (half === 0 || half - downscaleFreqShift <= 0)
    throw new ValueError(`${fn}: dim = ${dim} is too small for downscaleFreqShift = ${downscaleFreqShift} (need ⌊dim/2⌋ > downscaleFreqShift)`);
  if (!(maxPeriod > 0)) throw new ValueError(`${fn}: maxPeriod must be positive, got ${maxPeriod}`);
  const freqs = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(maxPeriod) * i) / (half - downscaleFreqShift)));
  const tv = np.astype(t, 'float32');
  const args = np.mul(np.expandDims(np.mul(tv, scale), -1), np.array(freqs, 'float32'));
  const [sin, cos] = [np.sin(args), np.cos(args)];
  const parts = flipSinToCos ? [cos, sin] : [sin, cos];
  if (dim % 2 === 1) parts.push(np.zeros([...tv.shape, 1]));
  return np.concatenate(parts, -1);
}

export interface GuidanceEmbeddingOptions {
  /** Multiplies w before the sinusoids (default 1000, as VDM's `get_timestep_embedding`). */
  scale?: number;
  /** The longest period (default 10000). */
  maxPeriod?: number;
}

/**
 * The Fourier (sinusoidal) embedding of a guidance weight w (..., ) → (..., dim), used to
 * condition a guided-distilled student on w (Meng et al. 2023, "On Distillation of Guided
 * Diffusion Models": w goes through a Fourier embedding and is added like the time embedding).
 * It is VDM's `get_timestep_embedding(w·1000, dim)` (Kingma et al. 2021), which diffusers ships as
 * `get_guidance_scale_embedding`: `sinusoidalEmbedding(w, dim, { scale: 1000 })`.
 */
export function guidanceEmbedding(w: ArrayLike, dim: number, { scale = 1000, maxPeriod = 10000 }: GuidanceEmbeddingOptions = {}): Array {
  return sinusoidalEmbedding(w, dim, { scale, maxPeriod });
}

export interface FourierFeaturesConfig {
  /** Size of the last axis of the input. */
  inFeatures: number;
  /** Output size (even): half sines, half cosines. */
  features: number;
  /** Standard deviation of the random frequencies (default 1; NCSN++ uses 16 for the noise level). */
  scale?: number;
}

/** Parameters of `fourierFeatures`: the frozen projection B (inFeatures, features/2). */
export type FourierFeaturesParams = {
  projection: Array;
};

/**
 * Random Fourier features (Tancik et al. 2020, eq. 5; the Gaussian Fourier projection of Song et
 * al. 2021's NCSN++ when inFeatures = 1): x (..., inFeatures) → [sin(2π·x·B), cos(2π·x·B)] of
 * shape (..., features), with B ~ N(0, scale²) drawn by `init`.
 *
 * B is frozen: `apply` stops its gradient, so the gradient with respect to `projection` is
 * exactly zero and gradient-based updates leave it unchanged. It lives in the params so that
 * checkpoints keep it; exclude it from weight decay.
 */
export function fourierFeatures(config: FourierFeaturesConfig): Layer<FourierFeaturesParams> {
  const fn = 'fourierFeatures';
  const inFeatures = checkPositiveInt(fn, 'inFeatures', config.inFeatures);
  const features = checkPositiveInt(fn, 'features', config.features);
  const scale = config.scale ?? 1;
  if (features % 2 !== 0) throw new ValueError(`${fn}: features must be even (half sines, half cosines), got ${features}`);
  if (!(scale > 0) || !Number.isFinite(scale)) throw new ValueError(`${fn}: scale must be a positive number, got ${scale}`);
  const shape = [inFeatures, features / 2];
  return {
    init: (key) => ({ projection: np.mul(random.normal(key, shape), scale) }),
    apply(params, x) {
      if (x.ndim < 1 || x.shape[x.ndim - 1] !== inFeatures) throw new ShapeError(`${fn}: x must be (..., ${inFeatures}), got ${fmtShape(x.shape)}`);
      const b = params.projection;
      if (b.ndim !== 2 || b.shape[0] !== shape[0] || b.shape[1] !== shape[1])
        throw new ShapeError(`${fn}: params.projection has shape ${fmtShape(b.shape)}, expected ${fmtShape(shape)}`);
      const args = np.mul(np.matmul(np.astype(x, 'float32'), lax.stopGradient(b)), 2 * Math.PI);
      return np.concatenate([np.sin(args), np.cos(args)], -1);
    },
  };
}
