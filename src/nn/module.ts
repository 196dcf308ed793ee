/**
 * The layer contract shared by every file under `src/nn`.
 *
 * A layer is a pair of pure functions over plain pytrees: `init(key, ...)` builds the
 * parameters from an explicit PRNG key, and `apply(params, x, opts?)` computes the output.
 * Static configuration (sizes, strides, initializers) lives in the closure that built the
 * layer; nothing is mutable and no randomness is global, so `apply` works unchanged under
 * `jit`, `vmap` and `grad`.
 */
import { ValueError } from '../core/errors.js';
import type * as tree from '../core/tree.js';
import type { DType } from '../core/dtype.js';
import type { Value as Array } from '../core/trace/value.js';

/** A pytree of parameters: nested plain objects and JS arrays whose leaves are arrays. */
export type Params = tree.PyTree<Array>;

/**
 * A layer: `init(key, ...)` returns its parameters `P`; `apply(params, x, opts?)` maps an input
 * `X` to an output `Y`, with per-call options `O` (e.g. `{ train: true }`).
 */
export interface Layer<P, X = Array, Y = Array, O = undefined> {
  init(key: Array, ...rest: never[]): P;
  apply(params: P, x: X, opts?: O): Y;
}

/** An initializer in JAX's convention: `(key, shape, dtype) => array`. */
export type Initializer = (key: Array, shape: readonly number[], dtype?: DType) => Array;

/** A positive integer config value, or a ValueError naming the layer and the field. */
export function checkPositiveInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ValueError(`${op}: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}
