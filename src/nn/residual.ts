/**
 * The residual block of diffusion U-Nets (Ho et al. 2020 after Zagoruyko & Komodakis 2016;
 * Dhariwal & Nichol 2021 `ResBlock` with `use_scale_shift_norm`; imagen-pytorch `ResnetBlock`),
 * for images (dims 2) and videos (dims 3), conditioned on an embedding through FiLM.
 */
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import * as np from '../core/numpy/index.js';
import * as random from '../core/random.js';
import type { Value as Array } from '../core/trace/value.js';
import { silu } from './activations.js';
import { conv, type ConvParams } from './conv.js';
import { dropout } from './dropout.js';
import { film, filmProjection } from './film.js';
import { zeros } from './init.js';
import type { LinearParams } from './linear.js';
import { checkPositiveInt, type Layer } from './module.js';
import { groupNorm, type GroupNormParams } from './norm.js';

export interface ResBlockConfig {
  inChannels: number;
  outChannels: number;
  /** Size of the conditioning embedding (time, noise level…); omit for an unconditioned block. */
  embDim?: number;
  /** GroupNorm groups (default 32); must divide inChannels and outChannels. */
  groups?: number;
  /** 2 for images (N, C, H, W), 3 for videos (N, C, T, H, W). */
  dims: 2 | 3;
  /** Dropout rate before the last convolution (default 0). */
  dropout?: number;
  /** Window of both convolutions (default 3 on every axis; e.g. [1, 3, 3] for per-frame video convs). */
  kernelSize?: number | readonly number[];
  /** GroupNorm eps (default 1e-5). */
  eps?: number;
}

/** Parameters of `resBlock`. `emb` is present with `embDim`, `skip` when the channel count changes. */
export type ResBlockParams = {
  norm1: GroupNormParams;
  conv1: ConvParams;
  emb?: LinearParams;
  norm2: GroupNormParams;
  conv2: ConvParams;
  skip?: ConvParams;
};

export interface ResBlockOptions {
  /** The conditioning embedding, (N, embDim) for a batch or (embDim,) for one example; required with `embDim`. */
  emb?: Array;
  /** Training step: enables dropout (default false). */
  train?: boolean;
  /** PRNG key for dropout; required when training with a positive rate. */
  key?: Array;
}

/**
 * `resBlock(config)`: x (N, C, *spatial) or one example (C, *spatial) →
 *
 *   h = conv1(SiLU(GroupNorm(x)))
 *   h = FiLM(GroupNorm(h), scale/shift from SiLU → linear of emb)      (no FiLM without embDim)
 *   h = conv2(dropout(SiLU(h)))
 *   out = skip(x) + h
 *
 * where skip is the identity when the channel count stays the same, else a 1×1 convolution.
 * The FiLM modulation acts on the normalised activations, after the second GroupNorm (as
 * `use_scale_shift_norm` in Dhariwal & Nichol 2021 and imagen-pytorch's `Block`); modulating
 * before the norm would let the norm undo it. conv2 is initialised to zero (kernel and bias),
 * so at initialisation the block is its skip path: the identity when channels are unchanged.
 * Convolutions use 'SAME' padding and stride 1, so the spatial shape is kept.
 */
export function resBlock(config: ResBlockConfig): Layer<ResBlockParams, Array, Array, ResBlockOptions> {
  const fn = 'resBlock';
  const inChannels = checkPositiveInt(fn, 'inChannels', config.inChannels);
  const outChannels = checkPositiveInt(fn, 'outChannels', config.outChannels);
  const groups = checkPositiveInt(fn, 'groups', config.groups ?? 32);
  const { dims, embDim, dropout: rate = 0, kernelSize = 3, eps = 1e-5 } = config;
  if (dims !== 2 && dims !== 3) throw new ValueError(`${fn}: dims must be 2 or 3, got ${String(dims)}`);
  if (inChannels % groups !== 0 || outChannels % groups !== 0)
    throw new ValueError(`${fn}: groups (${groups}) must divide inChannels (${inChannels}) and outChannels (${outChannels})`);
  if (embDim !== undefined) checkPositiveInt(fn, 'embDim', embDim);
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new ValueError(`${fn}: dropout must be a rate in [0, 1], got ${String(rate)}`);

  /** GroupNorm over `channels` on `channelAxis` (1 for a batch, 0 for one example); its params do not depend on the axis. */
  const norm = (channels: number, channelAxis: 0 | 1 = 1) => groupNorm({ groups, channels, eps, channelAxis });
  const conv1 = conv({ dims, inChannels, outChannels, kernelSize });
  const conv2 = conv({ dims, inChannels: outChannels, outChannels, kernelSize, kernelInit: zeros, biasInit: zeros });
  const skip = inChannels === outChannels ? null : conv({ dims, inChannels, outChannels, kernelSize: 1 });
  const emb = embDim === undefined ? null : filmProjection({ embDim, channels: outChannels });

  return {
    init(key: Array): ResBlockParams {
      const [k1, k2, kEmb, kSkip] = random.split(key, 4);
      return {
        norm1: norm(inChannels).init(key),
        conv1: conv1.init(k1),
        ...(emb ? { emb: emb.init(kEmb) } : {}),
        norm2: norm(outChannels).init(key),
        conv2: conv2.init(k2),
        ...(skip ? { skip: skip.init(kSkip) } : {}),
      };
    },
    apply(params, x, opts = {}) {
      const batched = x.ndim === dims + 2;
      if (!batched && x.ndim !== dims + 1) throw new ShapeError(`${fn}: expected x of rank ${dims + 2} (N, C, *spatial) or ${dims + 1}, got ${fmtShape(x.shape)}`);
      const channelAxis = batched ? 1 : 0;
      if (x.shape[channelAxis] !== inChannels) throw new ShapeError(`${fn}: x ${fmtShape(x.shape)} has ${x.shape[channelAxis]} channels, expected ${inChannels}`);
      let h = conv1.apply(params.conv1, silu(norm(inChannels, channelAxis).apply(params.norm1, x)));
      h = norm(outChannels, channelAxis).apply(params.norm2, h);
      if (emb) {
        if (opts.emb === undefined) throw new ValueError(`${fn}: the block was built with embDim = ${embDim}, so apply needs { emb }`);
        if (!params.emb) throw new ValueError(`${fn}: params has no 'emb' projection`);
        h = film(h, emb.apply(params.emb, opts.emb), { channelAxis });
      } else if (opts.emb !== undefined) throw new ValueError(`${fn}: got an embedding but the block was built without embDim`);
      h = conv2.apply(params.conv2, dropout(silu(h), rate, { train: opts.train, key: opts.key }));
      let residual = x;
      if (skip) {
        if (!params.skip) throw new ValueError(`${fn}: params has no 'skip' convolution (channels change ${inChannels} → ${outChannels})`);
        residual = skip.apply(params.skip, x);
      }
      return np.add(residual, h);
    },
  };
}
