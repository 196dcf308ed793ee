/**
 * Dense layers: `linear` (an affine map over the last axis) and `embedding` (a lookup table).
 * Parameters follow flax's layout and defaults: the kernel is `(in, out)`, LeCun-normal, and
 * the bias starts at zero.
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../core/errors.js';
import * as lax from '../core/lax_namespace.js';
import * as np from '../core/numpy/index.js';
import * as random from '../core/random.js';
import type { Value as Array } from '../core/trace/value.js';
import { lecunNormal, varianceScaling, zeros } from './init.js';
import { checkPositiveInt, type Initializer, type Layer } from './module.js';

/** Parameters of `linear`: kernel `w` (in, out) and, with a bias, `b` (out). */
export type LinearParams = {
  w: Array;
  b?: Array;
};

export interface LinearConfig {
  inFeatures: number;
  outFeatures: number;
  /** Add a bias (default true). */
  bias?: boolean;
  /** Kernel initializer for the `(in, out)` kernel (default `lecunNormal()`). */
  kernelInit?: Initializer;
  /** Bias initializer (default `zeros`). */
  biasInit?: Initializer;
}

/**
 * `linear(config)`: `y = x · w + b` over the last axis. `apply` accepts any leading dims,
 * `(..., inFeatures) → (..., outFeatures)`, so it works on one example or a batch alike.
 */
export function linear(config: LinearConfig): Layer<LinearParams> {
  const inF = checkPositiveInt('linear', 'inFeatures', config.inFeatures);
  const outF = checkPositiveInt('linear', 'outFeatures', config.outFeatures);
  const useBias = config.bias ?? true;
  const kernelInit = config.kernelInit ?? lecunNormal();
  const biasInit = config.biasInit ?? zeros;
  return {
    init(key: Array): LinearParams {
      const [kw, kb] = random.split(key);
      return useBias ? { w: kernelInit(kw, [inF, outF]), b: biasInit(kb, [outF]) } : { w: kernelInit(kw, [inF, outF]) };
    },
    apply(params: LinearParams, x: Array): Array {
      if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF)
        throw new ShapeError(`linear: input of shape ${fmtShape(x.shape)} must end in inFeatures = ${inF}`);
      if (params.w.shape.length !== 2 || params.w.shape[0] !== inF || params.w.shape[1] !== outF)
        throw new ShapeError(`linear: kernel w has shape ${fmtShape(params.w.shape)}, expected [${inF},${outF}]`);
      const y = lax.dotGeneral(x, params.w, [[[x.ndim - 1], [0]], [[], []]]);
      if (!useBias) return y;
      if (!params.b) throw new ValueError('linear: the layer has a bias but params.b is missing');
      return y.add(params.b);
    },
  };
}

/** Parameters of `embedding`: the table `w` (num, features). */
export type EmbeddingParams = {
  w: Array;
};

export interface EmbeddingConfig {
  /** Number of rows (vocabulary size). */
  num: number;
  /** Width of each row. */
  features: number;
  /** Table initializer (default: normal with standard deviation 1/√features, flax's `Embed` default). */
  init?: Initializer;
}

/**
 * `embedding(config)`: `apply(params, ids)` returns the rows of the table at the int32 `ids`, of
 * shape `ids.shape + [features]`. Indices outside [0, num) follow `np.take`'s 'clamp' rule (a
 * negative index counts from the end once, then indices are clamped); nothing raises, since
 * ids may be traced.
 */
export function embedding(config: EmbeddingConfig): Layer<EmbeddingParams> {
  const num = checkPositiveInt('embedding', 'num', config.num);
  const features = checkPositiveInt('embedding', 'features', config.features);
  const init = config.init ?? varianceScaling(1, 'fanIn', 'normal', { inAxis: 1, outAxis: 0 });
  return {
    init(key: Array): EmbeddingParams {
      return { w: init(key, [num, features]) };
    },
    apply(params: EmbeddingParams, ids: Array): Array {
      if (ids.dtype !== 'int32' && ids.dtype !== 'uint32') throw new DTypeError(`embedding: ids must be int32 or uint32, got ${ids.dtype} of shape ${fmtShape(ids.shape)}`);
      if (params.w.shape.length !== 2 || params.w.shape[0] !== num || params.w.shape[1] !== features)
        throw new ShapeError(`embedding: table w has shape ${fmtShape(params.w.shape)}, expected [${num},${features}]`);
      return np.take(params.w, ids, 0);
    },
  };
}
