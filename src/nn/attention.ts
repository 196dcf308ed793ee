/**
 * Attention: the scaled dot-product kernel (one function, the unit a backend may specialise),
 * the multi-head attention layer built on it (self and cross attention), causal masks, and
 * T5's bucketed relative position bias.
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../core/errors.js';
import * as lax from '../core/lax_namespace.js';
import * as np from '../core/numpy/index.js';
import * as random from '../core/random.js';
import { broadcastShapes } from '../core/shape.js';
import type { Value as Array } from '../core/trace/value.js';
import { softmax } from './activations.js';
import { varianceScaling } from './init.js';
import { linear, type LinearParams } from './linear.js';
import { checkPositiveInt, type Layer } from './module.js';

// ---------------------------------------------------------------- the kernel

export interface AttentionOptions {
  /**
   * Boolean, broadcastable to (..., Tq, Tk): true where query i may attend to key j. Masked
   * logits become −∞, so they get weight exactly 0; a query with every key masked gets all-zero
   * weights (and a zero output) rather than NaN.
   */
  mask?: Array;
  /** Float, broadcastable to (..., Tq, Tk), added to the scaled logits (e.g. a relative position bias). */
  bias?: Array;
  /** Multiplies q·k (default 1/√D). */
  scale?: number;
}

function checkOperands(fn: string, q: Array, k: Array, v?: Array): number[] {
  const shapes = `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}${v ? `, v ${fmtShape(v.shape)}` : ''}`;
  if (q.ndim < 2 || k.ndim < 2 || (v && v.ndim < 2)) throw new ShapeError(`${fn}: q, k and v must be at least 2-D (..., T, D), got ${shapes}`);
  if (q.shape[q.ndim - 1] !== k.shape[k.ndim - 1]) throw new ShapeError(`${fn}: q and k must have the same feature size D, got ${shapes}`);
  if (v && v.shape[v.ndim - 2] !== k.shape[k.ndim - 2]) throw new ShapeError(`${fn}: k and v must have the same length Tk, got ${shapes}`);
  const leads = [q, k, ...(v ? [v] : [])].map((a) => a.shape.slice(0, -2));
  try {
    return broadcastShapes(fn, ...leads);
  } catch {
    throw new ShapeError(`${fn}: the leading (batch, head) dims do not broadcast: ${shapes}`);
  }
}

/**
 * The attention weights softmax(q·kᵀ·scale + bias, masked) over the key axis, for q (..., Tq, D)
 * and k (..., Tk, D): shape (..., Tq, Tk). See `scaledDotProductAttention`.
 */
export function attentionWeights(q: Array, k: Array, { mask, bias, scale }: AttentionOptions = {}): Array {
  const fn = 'attentionWeights';
  const lead = checkOperands(fn, q, k);
  const d = q.shape[q.ndim - 1];
  const target = [...lead, q.shape[q.ndim - 2], k.shape[k.ndim - 2]];
  let logits = np.mul(np.einsum('...qd,...kd->...qk', q, k), scale ?? 1 / Math.sqrt(d));
  if (bias !== undefined) {
    checkBroadcast(fn, 'bias', bias, target);
    logits = np.add(logits, bias);
  }
  if (mask !== undefined) {
    if (mask.dtype !== 'bool') throw new DTypeError(`${fn}: mask must be boolean (true = attend), got ${mask.aval.str()}; pass additive float masks as bias`);
    checkBroadcast(fn, 'mask', mask, target);
    logits = np.where(mask, logits, -Infinity);
  }
  return softmax(logits, -1);
}

function checkBroadcast(fn: string, name: string, x: Array, target: readonly number[]): void {
  const out = x.ndim <= target.length ? broadcastShapesOrNull(x.shape, target) : null;
  if (!out || out.some((s, i) => s !== target[i])) throw new ShapeError(`${fn}: ${name} of shape ${fmtShape(x.shape)} does not broadcast to the logits' shape ${fmtShape(target)}`);
}

function broadcastShapesOrNull(a: readonly number[], b: readonly number[]): number[] | null {
  try {
    return broadcastShapes('attention', a, b);
  } catch {
    return null;
  }
}

/**
 * Scaled dot-product attention (Vaswani et al. 2017, eq. 1):
 * softmax(q·kᵀ·scale + bias, masked)·v over q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv),
 * giving (..., Tq, Dv). The leading dims (typically batch and heads) broadcast. This is the
 * single attention kernel of vidax: layers call it, so a backend can replace it as one unit.
 */
export function scaledDotProductAttention(q: Array, k: Array, v: Array, opts: AttentionOptions = {}): Array {
  checkOperands('scaledDotProductAttention', q, k, v);
  return np.einsum('...qk,...kd->...qd', attentionWeights(q, k, opts), v);
}

/**
 * A causal mask of shape (Tq, Tk): query i sees key j iff j ≤ i + (Tk − Tq), i.e. the queries
 * are the last Tq positions of the Tk keys (Tq = Tk gives the lower triangle).
 */
export function causalMask(queryLength: number, keyLength = queryLength): Array {
  checkPositiveInt('causalMask', 'queryLength', queryLength);
  checkPositiveInt('causalMask', 'keyLength', keyLength);
  const i = np.iota('int32', [queryLength, keyLength], 0);
  const j = np.iota('int32', [queryLength, keyLength], 1);
  return np.lessEqual(j, np.add(i, keyLength - queryLength));
}

// ---------------------------------------------------------------- multi-head attention

export interface MultiHeadAttentionConfig {
  /** Feature size of the queries' input x (..., Tq, features). */
  features: number;
  heads: number;
  /** Per-head size of queries and keys and of values (default features / heads, which must divide). */
  headDim?: number;
  /** Feature size of the context for cross attention (default `features`). */
  kvFeatures?: number;
  /** Output feature size (default `features`). */
  outFeatures?: number;
  /** Biases on the four projections (default true). */
  bias?: boolean;
}

/**
 * Parameters of `multiHeadAttention`: four `linear` layers. `query`, `key`, `value` map to
 * heads·headDim features with head h in columns [h·headDim, (h+1)·headDim); `out` maps the
 * concatenated heads back. In PyTorch terms (`nn.MultiheadAttention`):
 * `query.w = in_proj_weight[:E].T`, `key.w = in_proj_weight[E:2E].T`,
 * `value.w = in_proj_weight[2E:].T` (or `q/k/v_proj_weight.T` with kdim/vdim), the biases are
 * the matching thirds of `in_proj_bias`, `out.w = out_proj.weight.T`, `out.b = out_proj.bias`.
 */
export type MultiHeadAttentionParams = {
  query: LinearParams;
  key: LinearParams;
  value: LinearParams;
  out: LinearParams;
};

export interface MultiHeadAttentionOptions {
  /** Keys and values come from here, (..., Tk, kvFeatures) (cross attention); default x (self attention). */
  context?: Array;
  /** Boolean, broadcastable to (..., heads, Tq, Tk); true = attend (e.g. `causalMask(T)` or (B, 1, 1, Tk) padding). */
  mask?: Array;
  /** Additive logit bias, broadcastable to (..., heads, Tq, Tk) (e.g. `relativePositionBias`). */
  bias?: Array;
}

/**
 * Multi-head attention (Vaswani et al. 2017, §3.2.2): x (..., Tq, features) and an optional
 * context (..., Tk, kvFeatures) → (..., Tq, outFeatures). Queries, keys and values are projected,
 * split into heads, combined by `scaledDotProductAttention` (scale 1/√headDim) and projected
 * out. Any leading dims are batch dims. Kernels are Glorot-uniform (as PyTorch's in-projection),
 * biases zero.
 */
export function multiHeadAttention(config: MultiHeadAttentionConfig): Layer<MultiHeadAttentionParams, Array, Array, MultiHeadAttentionOptions> {
  const fn = 'multiHeadAttention';
  const features = checkPositiveInt(fn, 'features', config.features);
  const heads = checkPositiveInt(fn, 'heads', config.heads);
  if (config.headDim === undefined && features % heads !== 0)
    throw new ValueError(`${fn}: heads (${heads}) must divide features (${features}) unless headDim is given`);
  const headDim = checkPositiveInt(fn, 'headDim', config.headDim ?? features / heads);
  const kvFeatures = checkPositiveInt(fn, 'kvFeatures', config.kvFeatures ?? features);
  const outFeatures = checkPositiveInt(fn, 'outFeatures', config.outFeatures ?? features);
  const inner = heads * headDim;
  const bias = config.bias ?? true;
  const kernelInit = varianceScaling(1, 'fanAvg', 'uniform');
  const proj = (inFeatures: number, out: number) => linear({ inFeatures, outFeatures: out, bias, kernelInit });
  const [query, key, value, out] = [proj(features, inner), proj(kvFeatures, inner), proj(kvFeatures, inner), proj(inner, outFeatures)];

  /** (..., T, heads·headDim) → (..., heads, T, headDim). */
  const splitHeads = (h: Array): Array => np.swapaxes(np.reshape(h, [...h.shape.slice(0, -1), heads, headDim]), -2, -3);

  return {
    init(k: Array): MultiHeadAttentionParams {
      const [kq, kk, kv, ko] = random.split(k, 4);
      return { query: query.init(kq), key: key.init(kk), value: value.init(kv), out: out.init(ko) };
    },
    apply(params, x, opts = {}) {
      const context = opts.context ?? x;
      if (x.ndim < 2 || x.shape[x.ndim - 1] !== features) throw new ShapeError(`${fn}: x must be (..., Tq, ${features}), got ${fmtShape(x.shape)}`);
      if (context.ndim < 2 || context.shape[context.ndim - 1] !== kvFeatures)
        throw new ShapeError(`${fn}: context must be (..., Tk, ${kvFeatures}), got ${fmtShape(context.shape)}`);
      const q = splitHeads(query.apply(params.query, x));
      const k = splitHeads(key.apply(params.key, context));
      const v = splitHeads(value.apply(params.value, context));
      const o = scaledDotProductAttention(q, k, v, { mask: opts.mask, bias: opts.bias });
      const merged = np.swapaxes(o, -2, -3);
      return out.apply(params.out, np.reshape(merged, [...merged.shape.slice(0, -2), inner]));
    },
  };
}

// ---------------------------------------------------------------- relative position bias

export interface RelativePositionBucketOptions {
  /** Keys before and after the query get separate buckets (default true; false for causal attention). */
  bidirectional?: boolean;
  /** Number of buckets (default 32). */
  numBuckets?: number;
  /** Distances from here on share the last bucket (default 128). */
  maxDistance?: number;
}

/**
 * T5's bucket of a relative position `key − query` (Raffel et al. 2020, §2.1; HF transformers'
 * `T5Attention._relative_position_bucket`). Bidirectional: half the buckets are for keys after
 * the query. Within a half, distances below maxExact = half/2 have a bucket each; larger ones are
 * spaced logarithmically up to `maxDistance`, beyond which they share the last bucket. Computed
 * in float64 on the host (positions are static), which agrees with T5's float32 formula.
 */
export function relativePositionBucket(relativePosition: number, opts: RelativePositionBucketOptions = {}): number {
  const { bidirectional, numBuckets, maxDistance } = bucketOptions('relativePositionBucket', opts);
  if (!Number.isInteger(relativePosition)) throw new ValueError(`relativePositionBucket: relativePosition must be an integer, got ${relativePosition}`);
  let buckets = numBuckets;
  let bucket = 0;
  let n: number;
  if (bidirectional) {
    buckets = Math.floor(buckets / 2);
    if (relativePosition > 0) bucket += buckets;
    n = Math.abs(relativePosition);
  } else n = Math.max(-relativePosition, 0);
  const maxExact = Math.floor(buckets / 2);
  if (n < maxExact) return bucket + n;
  const large = maxExact + Math.trunc((Math.log(n / maxExact) / Math.log(maxDistance / maxExact)) * (buckets - maxExact));
  return bucket + Math.min(large, buckets - 1);
}

/** The bucket options with defaults, checked: enough buckets for an exact range, and maxDistance beyond it. */
function bucketOptions(fn: string, opts: RelativePositionBucketOptions): Required<RelativePositionBucketOptions> {
  const numBuckets = checkPositiveInt(fn, 'numBuckets', opts.numBuckets ?? 32);
  const maxDistance = checkPositiveInt(fn, 'maxDistance', opts.maxDistance ?? 128);
  const bidirectional = opts.bidirectional ?? true;
  const half = bidirectional ? Math.floor(numBuckets / 2) : numBuckets;
  if (half < 2) throw new ValueError(`${fn}: numBuckets (${numBuckets}) is too small: need at least ${bidirectional ? 4 : 2}`);
  if (maxDistance <= Math.floor(half / 2)) throw new ValueError(`${fn}: maxDistance (${maxDistance}) must exceed the exact range ${Math.floor(half / 2)}`);
  return { bidirectional, numBuckets, maxDistance };
}

export interface RelativePositionBiasConfig extends RelativePositionBucketOptions {
  heads: number;
}

/** Parameters of `relativePositionBias`: one learned scalar per (bucket, head). */
export type RelativePositionBiasParams = {
  embedding: Array;
};

export interface RelativePositionBiasOptions {
  /** Number of keys Tk (default: the query length). */
  keyLength?: number;
}

/**
 * T5 relative position bias (Raffel et al. 2020, §2.1): `apply(params, queryLength,
 * { keyLength })` returns (heads, Tq, Tk) with entry [h, i, j] = embedding[bucket(j − i), h],
 * to be passed as the `bias` of attention. The table (numBuckets, heads) starts as
 * N(0, 1/numBuckets) samples.
 */
export function relativePositionBias(config: RelativePositionBiasConfig): Layer<RelativePositionBiasParams, number, Array, RelativePositionBiasOptions> {
  const fn = 'relativePositionBias';
  const heads = checkPositiveInt(fn, 'heads', config.heads);
  const opts = bucketOptions(fn, config);
  const { numBuckets } = opts;
  const init = varianceScaling(1, 'fanIn', 'normal', { inAxis: 0, outAxis: 1 });
  return {
    init: (key) => ({ embedding: init(key, [numBuckets, heads]) }),
    apply(params, queryLength, { keyLength = queryLength } = {}) {
      checkPositiveInt(fn, 'queryLength', queryLength);
      checkPositiveInt(fn, 'keyLength', keyLength);
      const table = params.embedding;
      if (table.ndim !== 2 || table.shape[0] !== numBuckets || table.shape[1] !== heads)
        throw new ShapeError(`${fn}: params.embedding has shape ${fmtShape(table.shape)}, expected [${numBuckets},${heads}]`);
      const buckets = new Int32Array(queryLength * keyLength);
      for (let i = 0; i < queryLength; i++) for (let j = 0; j < keyLength; j++) buckets[i * keyLength + j] = relativePositionBucket(j - i, opts);
      const ids = lax.reshape(np.array(buckets, 'int32'), [queryLength, keyLength]);
      return np.transpose(np.take(table, ids, 0), [2, 0, 1]);
    },
  };
}
