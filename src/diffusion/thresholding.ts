/**
 * Keeping the clean-data estimate x̂ inside the data range [−1, 1] while sampling: static
 * clipping, and the dynamic thresholding of Imagen (Saharia et al. 2022, "Photorealistic
 * Text-to-Image Diffusion Models with Deep Language Understanding", §2.3): "at each sampling
 * step we set s to a certain percentile absolute pixel value in x̂₀ᵗ, and if s > 1, then we
 * threshold x̂₀ᵗ to the range [−s, s] and then divide by s".
 *
 * After thresholding x̂, the ε̂ and v̂ a sampler uses must be re-derived from the thresholded x̂
 * at the same z (`thresholdPrediction`; Google's `dpm.py::_run_model(clip_x=True)`). The
 * samplers of `samplers.ts` derive ε̂ from x̂ themselves, so thresholding the denoiser's output
 * (`thresholdedDenoiser`) is enough for them.
 */
import * as np from '../core/numpy/index.js';
import type { ArrayLike } from '../core/numpy/convert.js';
import { AxisError, ValueError } from '../core/errors.js';
import type { Value as Array } from '../core/trace/value.js';
import { predictionsFromX, type Prediction } from './parameterization.js';
import type { SamplingDenoiser } from './samplers.js';

/** Static thresholding: clip x̂ to [−1, 1] (DDPM's `clip_denoised`; Imagen §2.3). */
export function staticThreshold(x: Array): Array {
  return np.clip(x, -1, 1);
}

export interface DynamicThresholdOptions {
  /**
   * The quantile of |x̂| in [0, 1], as `np.quantile` (default 0.995, diffusers'
   * `dynamic_thresholding_ratio`; imagen-pytorch uses 0.95). Not a percentile: 99.5 is an error.
   */
  p?: number;
  /**
   * The batch axis: the quantile is taken per entry along it, over all other axes (default 0).
   * `null` treats the whole array as one sample (e.g. inside `vmap`).
   */
  perSampleAxis?: number | null;
}

function checkQuantile(op: string, p: unknown): asserts p is number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    const hint = typeof p === 'number' && p > 1 && p <= 100 ? ` (p is a quantile as in np.quantile, not a percentile: did you mean ${p / 100}?)` : '';
    throw new ValueError(`${op}: p must be a number in [0, 1], got ${String(p)}${hint}`);
  }
}

/**
 * Imagen's dynamic thresholding (Saharia et al. 2022, §2.3), per sample:
 * s = max(quantile_p(|x|), 1) over the non-batch axes, then clip(x, −s, s)/s. The output lies in
 * [−1, 1]; samples with |x| ≤ 1 everywhere are unchanged; p = 1 gives x/max(max|x|, 1).
 * The lower bound 1 is `maximum`, not `max` (a common transcription slip), and there is no upper
 * bound (diffusers' default `sample_max_value = 1` would reduce this to static clipping).
 */
export function dynamicThreshold(x: Array, { p = 0.995, perSampleAxis = 0 }: DynamicThresholdOptions = {}): Array {
  checkQuantile('dynamicThreshold', p);
  let axes: number[] | null = null;
  if (perSampleAxis !== null) {
    if (!Number.isInteger(perSampleAxis) || perSampleAxis < -x.ndim || perSampleAxis >= x.ndim)
      throw new AxisError(`dynamicThreshold: perSampleAxis ${String(perSampleAxis)} is out of range for x of shape ${x.aval.str()} (use null for a single sample)`);
    const batch = perSampleAxis < 0 ? perSampleAxis + x.ndim : perSampleAxis;
    axes = [...globalThis.Array(x.ndim).keys()].filter((d) => d !== batch);
  }
  const s = np.maximum(np.quantile(np.abs(x), p, { axis: axes, keepdims: true }), 1);
  return np.clip(x, np.neg(s), s).div(s);
}

/** How to threshold x̂: not at all, static clipping, or dynamic thresholding (with its options). */
export type ThresholdKind = 'none' | 'static' | 'dynamic';

export interface ThresholdOptions extends DynamicThresholdOptions {
  kind: ThresholdKind;
}

const KINDS: readonly ThresholdKind[] = ['none', 'static', 'dynamic'];

function checkOptions(op: string, { kind, p }: ThresholdOptions): void {
  if (!KINDS.includes(kind)) throw new ValueError(`${op}: unknown threshold kind ${JSON.stringify(kind)}; expected one of ${KINDS.join(', ')}`);
  if (p !== undefined) checkQuantile(op, p);
}

function threshold(op: string, x: Array, options: ThresholdOptions): Array {
  checkOptions(op, options);
  const { kind, ...dynamic } = options;
  if (kind === 'dynamic') return dynamicThreshold(x, dynamic);
  return kind === 'static' ? staticThreshold(x) : x;
}

/**
 * Threshold a clean-data estimate and re-derive the other predictions from it at the same z:
 * x̂' = threshold(x̂), ε̂' = (z − α x̂')/σ, v̂' = α ε̂' − σ x̂' (PD §4; Google's
 * `_run_model(clip_x=True)`, which clips x̂ and recomputes ε̂ and v̂ from it).
 */
export function thresholdPrediction({ xHat, z, logSnr, ...options }: { xHat: Array; z: Array; logSnr: ArrayLike } & ThresholdOptions): Prediction {
  return predictionsFromX(z, threshold('thresholdPrediction', xHat, options), logSnr);
}

/** A denoiser whose x̂ is thresholded (e.g. after guidance, as Imagen Video does); passes the step index through. */
export function thresholdedDenoiser(denoiser: SamplingDenoiser, options: ThresholdOptions): SamplingDenoiser {
  checkOptions('thresholdedDenoiser', options);
  return (z, logSnr, step) => threshold('thresholdedDenoiser', denoiser(z, logSnr, step), options);
}
