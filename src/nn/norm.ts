/**
 * Normalisation layers: `layerNorm` (Ba et al. 2016), `groupNorm` (Wu & He 2018) and the
 * T5-style `rmsNorm` (Zhang & Sennrich 2019). Statistics are computed in two passes (centre,
 * then average the squares), so inputs with a large offset keep their precision.
 */
import * as np from '../core/numpy/index.js';
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import type { Value as Array } from '../core/trace/value.js';
import { checkPositiveInt, type Layer } from './module.js';

function checkEps(fn: string, eps: number): void {
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new ValueError(`${fn}: eps must be a finite number ≥ 0, got ${eps}`);
}

/** (x − mean) / √(var + eps) over `axis` (biased variance, as PyTorch's norms). */
function standardize(x: Array, axis: number, eps: number): Array {
  const centred = np.sub(x, np.mean(x, { axis, keepdims: true }));
  const variance = np.mean(np.square(centred), { axis, keepdims: true });
  return np.mul(centred, np.rsqrt(np.add(variance, eps)));
}

// ---------------------------------------------------------------- layer norm

export interface LayerNormConfig {
  /** Size of the last axis, which is normalised. */
  features: number;
  /** Added to the variance (default 1e-5, as `torch.nn.LayerNorm`). */
  eps?: number;
  /** Learn a per-feature scale (initialised to 1). Default true. */
  scale?: boolean;
  /** Learn a per-feature bias (initialised to 0). Default true. */
  bias?: boolean;
}

export type LayerNormParams = {
  scale?: Array;
  bias?: Array;
};

/**
 * Layer normalisation over the last axis: y = (x − μ)/√(σ² + eps) · scale + bias, with μ and σ²
 * the mean and biased variance of each vector (Ba, Kiros & Hinton 2016, eq. 4;
 * `torch.nn.LayerNorm(features)`). `apply` takes x of shape (..., features): every leading
 * axis is a batch axis.
 */
export function layerNorm(config: LayerNormConfig): Layer<LayerNormParams> {
  const { features, eps = 1e-5, scale = true, bias = true } = config;
  checkPositiveInt('layerNorm', 'features', features);
  checkEps('layerNorm', eps);
  return {
    init: () => ({ ...(scale ? { scale: np.ones([features]) } : {}), ...(bias ? { bias: np.zeros([features]) } : {}) }),
    apply(params, x) {
      if (x.ndim < 1 || x.shape[x.ndim - 1] !== features)
        throw new ShapeError(`layerNorm: expected x of shape [..., ${features}], got ${fmtShape(x.shape)}`);
      let y = standardize(np.astype(x, 'float32'), -1, eps);
      if (scale) y = np.mul(y, param('layerNorm', params.scale, 'scale', [features]));
      if (bias) y = np.add(y, param('layerNorm', params.bias, 'bias', [features]));
      return y;
    },
  };
}

/** The parameter `params.<name>`, checked to exist with the expected shape. */
function param(fn: string, p: Array | undefined, name: string, shape: readonly number[]): Array {
  if (p === undefined) throw new ValueError(`${fn}: params has no '${name}' (the layer was configured with one)`);
  if (p.shape.length !== shape.length || p.shape.some((d, i) => d !== shape[i]))
    throw new ShapeError(`${fn}: params.${name} has shape ${fmtShape(p.shape)}, expected ${fmtShape(shape)}`);
  return p;
}

// ---------------------------------------------------------------- group norm

export interface GroupNormConfig {
  /** Number of groups; must divide `channels`. */
  groups: number;
  channels: number;
  /** Added to the variance (default 1e-5, as `torch.nn.GroupNorm`). */
  eps?: number;
  /** Learn a per-channel scale (init 1) and bias (init 0). Default true. */
  affine?: boolean;
  /**
   * The channel axis of x (default 1, for (N, C, *spatial) as `torch.nn.GroupNorm`). Every axis
   * before it is a batch axis and every axis after it is spatial; use 0 for a single example
   * (C, *spatial).
   */
  channelAxis?: number;
}

export type GroupNormParams = {
  scale?: Array;
  bias?: Array;
};

/**
 * Group normalisation (Wu & He 2018, eq. 1 with Sᵢ = the channels of one group and all spatial
 * positions of one example): the channels are split into `groups` consecutive groups, each
 * group of each example is standardised over its channels and spatial positions (biased
 * variance), then scaled and shifted per channel. With the default `channelAxis: 1`, `apply`
 * on (N, C, *spatial) equals `torch.nn.GroupNorm(groups, channels, eps, affine)`.
 */
export function groupNorm(config: GroupNormConfig): Layer<GroupNormParams> {
  const { groups, channels, eps = 1e-5, affine = true, channelAxis = 1 } = config;
  checkPositiveInt('groupNorm', 'groups', groups);
  checkPositiveInt('groupNorm', 'channels', channels);
  checkEps('groupNorm', eps);
  if (channels % groups !== 0) throw new ValueError(`groupNorm: groups (${groups}) must divide channels (${channels})`);
  if (!Number.isInteger(channelAxis) || channelAxis < 0) throw new ValueError(`groupNorm: channelAxis must be an integer ≥ 0, got ${channelAxis}`);
  return {
    init: () => (affine ? { scale: np.ones([channels]), bias: np.zeros([channels]) } : {}),
    apply(params, x) {
      if (x.ndim <= channelAxis || x.shape[channelAxis] !== channels)
        throw new ShapeError(`groupNorm: expected x with ${channels} channels on axis ${channelAxis}, got ${fmtShape(x.shape)}`);
      const lead = x.shape.slice(0, channelAxis);
      const grouped = np.reshape(np.astype(x, 'float32'), [...lead, groups, -1]);
      let y = np.reshape(standardize(grouped, -1, eps), x.shape);
      if (affine) {
        const perChannel = [channels, ...x.shape.slice(channelAxis + 1).map(() => 1)];
        y = np.mul(y, np.reshape(param('groupNorm', params.scale, 'scale', [channels]), perChannel));
        y = np.add(y, np.reshape(param('groupNorm', params.bias, 'bias', [channels]), perChannel));
      }
      return y;
    },
  };
}

// ---------------------------------------------------------------- RMS norm

export interface RmsNormConfig {
  /** Size of the last axis, which is normalised. */
  features: number;
  /** Added to the mean square (default 1e-6, as T5's `T5LayerNorm`). */
  eps?: number;
}

export type RmsNormParams = {
  scale: Array;
};

/**
 * Root-mean-square norm as in T5: y = x / √(mean(x²) + eps) · scale over the last axis, with no
 * mean subtraction and no bias (Zhang & Sennrich 2019, eq. 4 with the gain only; T5's
 * `T5LayerNorm`). `scale` starts at 1. `apply` takes x of shape (..., features).
 */
export function rmsNorm(config: RmsNormConfig): Layer<RmsNormParams> {
  const { features, eps = 1e-6 } = config;
  checkPositiveInt('rmsNorm', 'features', features);
  checkEps('rmsNorm', eps);
  return {
    init: () => ({ scale: np.ones([features]) }),
    apply(params, x) {
      if (x.ndim < 1 || x.shape[x.ndim - 1] !== features)
        throw new ShapeError(`rmsNorm: expected x of shape [..., ${features}], got ${fmtShape(x.shape)}`);
      const v = np.astype(x, 'float32');
      const meanSquare = np.mean(np.square(v), { axis: -1, keepdims: true });
      return np.mul(np.mul(v, np.rsqrt(np.add(meanSquare, eps))), param('rmsNorm', params.scale, 'scale', [features]));
    },
  };
}
