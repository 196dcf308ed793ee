/**
 * FiLM conditioning (Perez et al. 2018): a per-channel affine modulation x·(1 + scale) + shift,
 * with scale and shift predicted from a conditioning embedding (time, noise level, guidance).
 */
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import * as np from '../core/numpy/index.js';
import { broadcastShapes } from '../core/shape.js';
import type { Value as Array } from '../core/trace/value.js';
import { silu } from './activations.js';
import { zeros } from './init.js';
import { linear, type LinearParams } from './linear.js';
import { checkPositiveInt, type Layer } from './module.js';

/** A FiLM modulation: `scale` and `shift`, each (..., C) with the last axis over channels. */
export interface ScaleShift {
  scale: Array;
  shift: Array;
}

export interface FilmOptions {
  /**
   * The channel axis of x (default 1, for (N, C, *spatial)). scale and shift are (..., C): their
   * last axis lines up with this axis and their leading axes with x's leading axes (so (N, C)
   * modulates each example, and (C,) all of them); the axes after it are broadcast over.
   */
  channelAxis?: number;
}

/**
 * FiLM (Perez et al. 2018, eq. 1 with γ = 1 + scale, β = shift, the form of guided-diffusion's
 * `use_scale_shift_norm` and imagen-pytorch's `Block`): x·(1 + scale) + shift, per channel.
 * Zero scale and shift give x back.
 */
export function film(x: Array, { scale, shift }: ScaleShift, { channelAxis = 1 }: FilmOptions = {}): Array {
  const fn = 'film';
  if (!Number.isInteger(channelAxis) || channelAxis < 0 || channelAxis >= x.ndim)
    throw new ValueError(`${fn}: channelAxis ${channelAxis} is out of range for x of shape ${fmtShape(x.shape)}`);
  const channels = x.shape[channelAxis];
  const lift = (name: string, p: Array): Array => {
    if (p.ndim < 1 || p.ndim > channelAxis + 1 || p.shape[p.ndim - 1] !== channels)
      throw new ShapeError(`${fn}: ${name} must be (..., ${channels}) with at most ${channelAxis + 1} dims to match x ${fmtShape(x.shape)} on channel axis ${channelAxis}, got ${fmtShape(p.shape)}`);
    const lifted = np.reshape(p, [...p.shape, ...x.shape.slice(channelAxis + 1).map(() => 1)]);
    try {
      broadcastShapes(fn, lifted.shape, x.shape);
    } catch {
      throw new ShapeError(`${fn}: ${name} of shape ${fmtShape(p.shape)} does not broadcast against x ${fmtShape(x.shape)} (channel axis ${channelAxis})`);
    }
    return lifted;
  };
  return np.add(np.mul(x, np.add(lift('scale', scale), 1)), lift('shift', shift));
}

export interface FilmProjectionConfig {
  /** Size of the conditioning embedding's last axis. */
  embDim: number;
  /** Number of channels to modulate. */
  channels: number;
  /**
   * Initialise the projection to zero (default false), so that FiLM starts as the identity
   * (scale = shift = 0) whatever the embedding.
   */
  zeroInit?: boolean;
}

/**
 * The projection from an embedding (..., embDim) to a FiLM modulation, SiLU → linear →
 * split in two along the last axis: `scale` is the first `channels` outputs and `shift` the
 * rest (guided-diffusion's `ResBlock.emb_layers` and `th.chunk(emb_out, 2, dim=1)`;
 * imagen-pytorch's `ResnetBlock.time_mlp`). Parameters are those of one `linear`.
 */
export function filmProjection(config: FilmProjectionConfig): Layer<LinearParams, Array, ScaleShift> {
  const embDim = checkPositiveInt('filmProjection', 'embDim', config.embDim);
  const channels = checkPositiveInt('filmProjection', 'channels', config.channels);
  const proj = linear({ inFeatures: embDim, outFeatures: 2 * channels, ...(config.zeroInit ? { kernelInit: zeros } : {}) });
  return {
    init: (key) => proj.init(key),
    apply(params, emb) {
      const h = proj.apply(params, silu(emb));
      const [scale, shift] = np.split(h, 2, -1);
      return { scale, shift };
    },
  };
}
