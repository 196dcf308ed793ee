/**
 * Parameterizations of a diffusion model's output and the one denoiser contract every sampler
 * takes. With z = α x + σ ε and v = α ε − σ x (Salimans & Ho 2022, "Progressive Distillation
 * for Fast Sampling of Diffusion Models", §4 and App. D), any one of x, ε, v determines the
 * other two at a given z and log-SNR λ. All functions are elementwise in (z, prediction) with λ
 * a scalar or a per-example array broadcast over the data's trailing axes (see
 * `broadcastLogSnr`), and work under `jit`, `vmap` and `grad`.
 *
 * Argument order is always (z, prediction, logSnr).
 */
import * as np from '../core/numpy/index.js';
import type { ArrayLike } from '../core/numpy/convert.js';
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import type { Value as Array } from '../core/trace/value.js';
import { alphaSigma, broadcastLogSnr } from './schedules.js';

export { alphaSigma } from './schedules.js';

/** What a network predicts: the clean data, the noise, the velocity, or PD's x&ε mixture. */
export type PredictionKind = 'x' | 'eps' | 'v' | 'both';

/** The three equivalent predictions at one (z, λ). */
export interface Prediction {
  x: Array;
  eps: Array;
  v: Array;
}

/**
 * The denoiser contract shared by every sampler: given z_t and its log-SNR λ (scalar or per
 * example), return the clean-data estimate x̂. Conditioning and guidance are closed over.
 */
export type Denoiser = (z: Array, logSnr: Array) => Array;

/** A denoiser returning all of x̂, ε̂ and v̂ (each computed from the model's own output kind). */
export type PredictionDenoiser = (z: Array, logSnr: Array) => Prediction;

/**
 * A raw network at (z, λ). For kind 'both' it returns either `{ x, eps }` or one array with
 * twice z's size along exactly one axis (the channel axis), holding x̃ then ε̃.
 */
export type Model = (z: Array, logSnr: Array) => Array | BothOutput;

/** The two heads of a 'both' model (PD §4). */
export interface BothOutput {
  x: Array;
  eps: Array;
}

/** α and σ shaped to broadcast against `z`. */
function coefficients(op: string, z: Array, logSnr: ArrayLike): { l: Array; alpha: Array; sigma: Array } {
  const l = broadcastLogSnr(op, logSnr, z);
  return { l, ...alphaSigma(l) };
}

function checkSameShape(op: string, name: string, z: Array, p: Array): void {
  if (z.ndim !== p.ndim || z.shape.some((d, i) => d !== p.shape[i]))
    throw new ShapeError(`${op}: ${name} has shape ${fmtShape(p.shape)} but z has shape ${fmtShape(z.shape)}; they must match`);
}

/**
 * x from ε: x = (z − σ ε)/α (PD §2, z = α x + σ ε), computed as in Google's
 * `dpm.py::predict_x_from_eps`: sqrt(1 + e^{−λ})·(z − ε·rsqrt(1 + e^{λ})).
 */
export function xFromEps(z: Array, eps: Array, logSnr: ArrayLike): Array {
  checkSameShape('xFromEps', 'eps', z, eps);
  const l = broadcastLogSnr('xFromEps', logSnr, z);
  return np.sqrt(np.add(1, np.exp(np.neg(l)))).mul(z.sub(eps.mul(np.rsqrt(np.add(1, np.exp(l))))));
}

/** x from v: x = α z − σ v (PD App. D, eq. after (25)). */
export function xFromV(z: Array, v: Array, logSnr: ArrayLike): Array {
  checkSameShape('xFromV', 'v', z, v);
  const { alpha, sigma } = coefficients('xFromV', z, logSnr);
  return alpha.mul(z).sub(sigma.mul(v));
}

/**
 * ε from x: ε = (z − α x)/σ (PD §2), computed as in Google's `dpm.py::predict_eps_from_x`:
 * sqrt(1 + e^{λ})·(z − x·rsqrt(1 + e^{−λ})).
 */
export function epsFromX(z: Array, x: Array, logSnr: ArrayLike): Array {
  checkSameShape('epsFromX', 'x', z, x);
  const l = broadcastLogSnr('epsFromX', logSnr, z);
  return np.sqrt(np.add(1, np.exp(l))).mul(z.sub(x.mul(np.rsqrt(np.add(1, np.exp(np.neg(l)))))));
}

/** ε from v: ε = σ z + α v (PD App. D). */
export function epsFromV(z: Array, v: Array, logSnr: ArrayLike): Array {
  checkSameShape('epsFromV', 'v', z, v);
  const { alpha, sigma } = coefficients('epsFromV', z, logSnr);
  return sigma.mul(z).add(alpha.mul(v));
}

/** v from x: v = α ε − σ x with ε = (z − α x)/σ, i.e. v = (α z − x)/σ (PD §4, App. D). */
export function vFromX(z: Array, x: Array, logSnr: ArrayLike): Array {
  checkSameShape('vFromX', 'x', z, x);
  const { alpha, sigma } = coefficients('vFromX', z, logSnr);
  return alpha.mul(z).sub(x).div(sigma);
}

/** v from ε: v = α ε − σ x with x = (z − σ ε)/α, i.e. v = (ε − σ z)/α (PD §4, App. D). */
export function vFromEps(z: Array, eps: Array, logSnr: ArrayLike): Array {
  checkSameShape('vFromEps', 'eps', z, eps);
  const { alpha, sigma } = coefficients('vFromEps', z, logSnr);
  return eps.sub(sigma.mul(z)).div(alpha);
}

/** The velocity training target v = α ε − σ x for clean x and noise ε (PD §4, eq. after (9)). */
export function velocity(x: Array, eps: Array, logSnr: ArrayLike): Array {
  checkSameShape('velocity', 'eps', x, eps);
  const { alpha, sigma } = coefficients('velocity', x, logSnr);
  return alpha.mul(eps).sub(sigma.mul(x));
}

/** Split a 'both' output into its x̃ and ε̃ heads: along the one axis where it is twice z's size. */
function splitBoth(output: Array | BothOutput, z: Array): BothOutput {
  if (!isArrayValue(output)) {
    checkSameShape('predictionToX', "the 'both' output's x head", z, output.x);
    checkSameShape('predictionToX', "the 'both' output's eps head", z, output.eps);
    return output;
  }
  const axes = output.ndim === z.ndim ? output.shape.map((d, i) => (d === z.shape[i] ? -1 : d === 2 * z.shape[i] ? i : -2)) : [-2];
  const split = axes.filter((a) => a >= 0);
  if (axes.includes(-2) || split.length !== 1)
    throw new ShapeError(
      `predictionToX: a 'both' output of shape ${fmtShape(output.shape)} must be z's shape ${fmtShape(z.shape)} ` +
        'with exactly one axis doubled (x̃ then ε̃ along that axis), or an object { x, eps }',
    );
  const [x, eps] = np.split(output, 2, split[0]);
  return { x, eps };
}

function isArrayValue(o: Array | BothOutput): o is Array {
  return typeof (o as Array).ndim === 'number';
}

function asSingle(kind: PredictionKind, output: Array | BothOutput, z: Array): Array {
  if (!isArrayValue(output)) throw new ValueError(`predictionToX: kind '${kind}' expects one array, got an object with keys ${Object.keys(output).join(', ')}`);
  checkSameShape('predictionToX', `the '${kind}' output`, z, output);
  return output;
}

const KINDS: readonly PredictionKind[] = ['x', 'eps', 'v', 'both'];

function checkKind(op: string, kind: string): asserts kind is PredictionKind {
  if (!KINDS.includes(kind as PredictionKind)) throw new ValueError(`${op}: unknown prediction kind '${kind}'; expected one of ${KINDS.join(', ')}`);
}

/**
 * The denoiser adapter: x̂ from a model output of any kind at (z, λ).
 * - 'x': the output itself; 'eps': `xFromEps`; 'v': `xFromV` (PD §4).
 * - 'both': PD §4's "x & ε" output, x̂ = σ²·x̃ + (1 − σ²)·(z − σ ε̃)/α, as in Google's
 *   `diffusion_distillation/dpm.py` (mean_type 'both', weight wx = sigmoid(−λ) = σ²): the ε head
 *   dominates at high SNR, the x head at low SNR.
 */
export function predictionToX(kind: PredictionKind, output: Array | BothOutput, z: Array, logSnr: ArrayLike): Array {
  checkKind('predictionToX', kind);
  switch (kind) {
    case 'x':
      return asSingle(kind, output, z);
    case 'eps':
      return xFromEps(z, asSingle(kind, output, z), logSnr);
    case 'v':
      return xFromV(z, asSingle(kind, output, z), logSnr);
    case 'both': {
      const { x, eps } = splitBoth(output, z);
      const wx = np.sigmoid(np.neg(broadcastLogSnr('predictionToX', logSnr, z)));
      return wx.mul(x).add(np.sub(1, wx).mul(xFromEps(z, eps, logSnr)));
    }
  }
}

/**
 * All of x̂, ε̂, v̂ from a model output of any kind. The model's own kind is used directly and the
 * other two are derived from it with the conversions above (for 'v', ε̂ comes from v̂ without
 * passing through x̂, avoiding the 1/α amplification of PD §4).
 */
export function predictionToAll(kind: PredictionKind, output: Array | BothOutput, z: Array, logSnr: ArrayLike): Prediction {
  checkKind('predictionToAll', kind);
  if (kind === 'eps') {
    const eps = asSingle(kind, output, z);
    return { x: xFromEps(z, eps, logSnr), eps, v: vFromEps(z, eps, logSnr) };
  }
  if (kind === 'v') {
    const v = asSingle(kind, output, z);
    return { x: xFromV(z, v, logSnr), eps: epsFromV(z, v, logSnr), v };
  }
  return predictionsFromX(z, predictionToX(kind, output, z, logSnr), logSnr);
}

/** ε̂ and v̂ implied by a clean-data estimate x̂ at (z, λ), for samplers written against `Denoiser`. */
export function predictionsFromX(z: Array, xHat: Array, logSnr: ArrayLike): Prediction {
  return { x: xHat, eps: epsFromX(z, xHat, logSnr), v: vFromX(z, xHat, logSnr) };
}

/** Adapt a model predicting `kind` to the `Denoiser` contract (returns x̂). */
export function makeDenoiser(model: Model, kind: PredictionKind): Denoiser {
  checkKind('makeDenoiser', kind);
  return (z, logSnr) => predictionToX(kind, model(z, logSnr), z, logSnr);
}

/** Adapt a model predicting `kind` to a denoiser returning x̂, ε̂ and v̂ (see `predictionToAll`). */
export function makePredictionDenoiser(model: Model, kind: PredictionKind): PredictionDenoiser {
  checkKind('makePredictionDenoiser', kind);
  return (z, logSnr) => predictionToAll(kind, model(z, logSnr), z, logSnr);
}
