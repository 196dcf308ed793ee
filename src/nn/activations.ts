/**
 * Activation functions and the normalised exponentials, as compositions of core ops that are
 * stable in float32 and differentiable everywhere they are finite (no JS branching on values,
 * so they work under `jit`, `vmap` and `grad`).
 */
import * as lax from '../core/lax_namespace.js';
import * as np from '../core/numpy/index.js';
import type { ArrayLike } from '../core/numpy/index.js';
import type { Value as Array } from '../core/trace/value.js';

export { sigmoid } from '../core/numpy/index.js';

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** `max(x, 0)`, with derivative 0 at x = 0 (as `jax.nn.relu`). */
export function relu(x: ArrayLike): Array {
  const v = np.astype(x, 'float32');
  return np.where(np.greater(v, 0), v, 0);
}

export interface GeluOptions {
  /**
   * `false` (default, `torch.nn.GELU()`): the exact x·Φ(x) = ½x(1 + erf(x/√2)).
   * `true` (`torch.nn.GELU(approximate='tanh')`, `jax.nn.gelu`'s default):
   * ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (Hendrycks & Gimpel 2016, eq. for the tanh form).
   */
  approximate?: boolean;
}

/** GELU (Hendrycks & Gimpel 2016). The default is the exact erf form, as in PyTorch. */
export function gelu(x: ArrayLike, { approximate = false }: GeluOptions = {}): Array {
  const v = np.astype(x, 'float32');
  if (approximate) {
    const inner = np.mul(np.add(v, np.mul(np.mul(np.mul(v, v), v), 0.044715)), SQRT_2_OVER_PI);
    return np.mul(np.mul(v, 0.5), np.add(np.tanh(inner), 1));
  }
  return np.mul(np.mul(v, 0.5), np.add(np.erf(np.mul(v, SQRT_HALF)), 1));
}

/** SiLU / swish: x·sigmoid(x) (Elfwing et al. 2017; `torch.nn.SiLU`). */
export function silu(x: ArrayLike): Array {
  const v = np.astype(x, 'float32');
  return np.mul(v, np.sigmoid(v));
}

/**
 * softplus(x) = log(1 + eˣ), computed as max(x, 0) + log1p(e^(−|x|)): no overflow for large x,
 * no loss to 0 for very negative x, and the derivative is sigmoid(x) everywhere (½ at 0).
 */
export function softplus(x: ArrayLike): Array {
  const v = np.astype(x, 'float32');
  const positive = np.greater(v, 0);
  // Both pieces are selected with `where` so that the derivative at 0 comes out as ½, not 0.
  const pos = np.where(positive, v, 0);
  const negAbs = np.where(positive, np.neg(v), v);
  return np.add(pos, np.log1p(np.exp(negAbs)));
}

/** The maximum along `axis` (kept), with non-finite maxima replaced by 0 and no gradient. */
function stableShift(x: Array, axis: number): Array {
  const m = np.max(x, { axis, keepdims: true });
  return lax.stopGradient(np.where(np.isfinite(m), m, 0));
}

/**
 * softmax along `axis` (default −1): exp(x − m) / Σ exp(x − m) with m the (gradient-free)
 * maximum, so large logits do not overflow. Entries of −∞ get weight exactly 0, and a slice
 * that is −∞ everywhere (e.g. a fully masked attention row) gives all zeros, not NaN.
 */
export function softmax(x: ArrayLike, axis = -1): Array {
  const v = np.astype(x, 'float32');
  const e = np.exp(np.sub(v, stableShift(v, axis)));
  const s = np.sum(e, { axis, keepdims: true });
  return np.div(e, np.where(np.equal(s, 0), 1, s));
}

/**
 * log-softmax along `axis` (default −1): (x − m) − log Σ exp(x − m), stable for large logits.
 * Entries of −∞ give −∞; a slice that is −∞ everywhere gives NaN (there is no distribution).
 */
export function logSoftmax(x: ArrayLike, axis = -1): Array {
  const v = np.astype(x, 'float32');
  const shifted = np.sub(v, stableShift(v, axis));
  return np.sub(shifted, np.log(np.sum(np.exp(shifted), { axis, keepdims: true })));
}
