/**
 * Classifier-free guidance (Ho & Salimans 2021, "Classifier-Free Diffusion Guidance", eq. 6) in
 * the convention of Imagen Video (Ho et al. 2022, eq. 5) and Meng et al. 2023:
 *
 *   x̃ = (1 + w)·x̂_c − w·x̂_u        (w = 0: the conditional model alone)
 *
 * The combination is affine with weights summing to one, and at a fixed z the maps between x, ε
 * and v are affine too (PD §4), so guiding x̂, ε̂ or v̂ gives the same result: `cfg` applies to any
 * of them. imagen-pytorch (`cond_scale`) and diffusers (`guidance_scale`) write u + s·(c − u),
 * i.e. s = 1 + w; Imagen Video's "w = 15" is s = 16 there (`guidanceScaleFromW`).
 *
 * Guidance weights may vary over the sampling steps: a schedule is any `(step) => w`
 * (`constantGuidance`, `oscillatingGuidance`, `linearGuidance`), and `guidedDenoiser` reads the
 * step index that `sample` passes to its denoiser.
 */
import * as np from '../core/numpy/index.js';
import { toValue, type ArrayLike } from '../core/numpy/convert.js';
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import type { Value as Array } from '../core/trace/value.js';
import type { Denoiser } from './parameterization.js';
import type { SamplingDenoiser } from './samplers.js';

/** A guidance weight: a number, a scalar array or a per-example array (a prefix of the data shape). */
export type GuidanceWeight = number | Array;

/** A guidance weight per sampling step (step 0 is the noisiest). */
export type GuidanceSchedule = (step: number) => GuidanceWeight;

/** `w` shaped to broadcast against `like`: a per-example (N,) becomes (N, 1, …, 1). */
function perExample(op: string, name: string, w: ArrayLike, like: Array): Array {
  const v = toValue(op, w);
  if (v.ndim === 0) return v;
  if (v.ndim > like.ndim || v.shape.some((d, i) => d !== like.shape[i] && d !== 1))
    throw new ShapeError(`${op}: ${name} of shape ${fmtShape(v.shape)} does not broadcast against data of shape ${fmtShape(like.shape)}; expected a scalar or a per-example array whose shape is a prefix of the data shape`);
  return np.reshape(v, [...v.shape, ...like.shape.slice(v.ndim).map(() => 1)]);
}

/**
 * Classifier-free guidance, x̃ = (1 + w)·cond − w·uncond (Imagen Video eq. 5), computed as
 * cond + w·(cond − uncond). `cond`/`uncond` are both x̂, both ε̂ or both v̂ predictions; the
 * result is the same prediction in every space. `w` is a number or a per-example array.
 */
export function cfg({ cond, uncond, w }: { cond: Array; uncond: Array; w: GuidanceWeight }): Array {
  if (cond.ndim !== uncond.ndim || cond.shape.some((d, i) => d !== uncond.shape[i]))
    throw new ShapeError(`cfg: cond has shape ${fmtShape(cond.shape)} but uncond has shape ${fmtShape(uncond.shape)}; they must match`);
  if (typeof w === 'number' && !Number.isFinite(w)) throw new ValueError(`cfg: the guidance weight w must be finite, got ${w}`);
  return cond.add(cond.sub(uncond).mul(perExample('cfg', 'w', w, cond)));
}

/** The u + s·(c − u) scale (imagen-pytorch `cond_scale`, diffusers `guidance_scale`) of a paper weight w: s = 1 + w. */
export function guidanceScaleFromW(w: GuidanceWeight): GuidanceWeight {
  return typeof w === 'number' ? 1 + w : np.add(w, 1);
}

/** The paper's weight w of a u + s·(c − u) scale s: w = s − 1 (s = 1 is no guidance). */
export function wFromGuidanceScale(s: GuidanceWeight): GuidanceWeight {
  return typeof s === 'number' ? s - 1 : np.sub(s, 1);
}

function checkStep(op: string, step: number): void {
  if (!Number.isInteger(step) || step < 0) throw new ValueError(`${op}: the step must be a non-negative integer, got ${String(step)}`);
}

function checkFinite(op: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValueError(`${op}: ${name} must be a finite number, got ${String(v)}`);
}

/** The same weight at every step. */
export function constantGuidance(w: GuidanceWeight): GuidanceSchedule {
  if (typeof w === 'number') checkFinite('constantGuidance', 'w', w);
  return () => w;
}

/**
 * Oscillating guidance (Imagen Video, Ho et al. 2022, §2.6.2: "a constant high guidance weight for a certain
 * number of initial sampling steps, followed by oscillation between high and low guidance
 * weights", e.g. 15 and 1): `high` for steps 0 … highSteps − 1, then low, high, low, … starting
 * with `low` at step `highSteps`. The paper gives no length for the initial phase;
 * `highSteps` is that choice (one third-party implementation uses 10% of the steps).
 */
export function oscillatingGuidance({ high, low, highSteps }: { high: number; low: number; highSteps: number }): GuidanceSchedule {
  checkFinite('oscillatingGuidance', 'high', high);
  checkFinite('oscillatingGuidance', 'low', low);
  if (!Number.isInteger(highSteps) || highSteps < 0)
    throw new ValueError(`oscillatingGuidance: highSteps must be a non-negative integer, got ${String(highSteps)}`);
  return (step) => {
    checkStep('oscillatingGuidance', step);
    return step < highSteps || (step - highSteps) % 2 === 1 ? high : low;
  };
}

/**
 * A linear ramp from `from` at step 0 to `to` at step n − 1 (constant `to` after that; n = 1
 * gives `from`), e.g. n = the number of sampling steps.
 */
export function linearGuidance(from: number, to: number, n: number): GuidanceSchedule {
  checkFinite('linearGuidance', 'from', from);
  checkFinite('linearGuidance', 'to', to);
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`linearGuidance: n must be a positive integer (the number of steps), got ${String(n)}`);
  return (step) => {
    checkStep('linearGuidance', step);
    return n === 1 ? from : from + ((to - from) * Math.min(step, n - 1)) / (n - 1);
  };
}

/**
 * A denoiser applying classifier-free guidance to two denoisers (conditioning closed over, e.g.
 * the same network with and without its text embedding): x̃ = cfg(x̂_c, x̂_u, w). `w` is a
 * weight or a schedule over the step index; a schedule needs the step, which `sample` passes
 * (calling the result as a plain two-argument `Denoiser` with a schedule is an error). The two
 * predictions are combined in x-space, which equals combining ε̂ or v̂ (see `cfg`); to clip or
 * threshold the guided x̂, wrap the result with `thresholdedDenoiser`.
 */
export function guidedDenoiser(cond: Denoiser, uncond: Denoiser, w: GuidanceWeight | GuidanceSchedule): SamplingDenoiser {
  if (typeof w === 'number') checkFinite('guidedDenoiser', 'w', w);
  return (z, logSnr, step) => {
    let weight: GuidanceWeight;
    if (typeof w === 'function') {
      if (step === undefined)
        throw new ValueError('guidedDenoiser: this guidance schedule depends on the sampling step; call it through sample() (which passes the step index) or pass the step as the third argument');
      weight = w(step);
    } else weight = w;
    return cfg({ cond: cond(z, logSnr), uncond: uncond(z, logSnr), w: weight });
  };
}
