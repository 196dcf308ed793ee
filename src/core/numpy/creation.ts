/** Array creation: constants, ranges and identity matrices (built from iota + broadcasts, so they trace). */
import { NDArray } from '../array.js';
import { checkDType, type DType } from '../dtype.js';
import { ValueError } from '../errors.js';
import { checkShape } from '../shape.js';
import { bind1 } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { scalar, toValue, type ArrayLike } from './convert.js';
import { add, broadcastTo, convert, equal, mul } from './elementwise.js';

/** `full(shape, value, dtype?)`; dtype defaults to float32 for numbers and bool for booleans. */
export function full(shape: number | readonly number[], value: number | boolean, dtype?: DType): Value {
  const s = checkShape('full', shape);
  const d = dtype === undefined ? (typeof value === 'boolean' ? 'bool' : 'float32') : checkDType('full', dtype);
  return broadcastTo(scalar(value, d), s);
}
export const zeros = (shape: number | readonly number[], dtype: DType = 'float32'): Value => full(shape, 0, dtype);
export const ones = (shape: number | readonly number[], dtype: DType = 'float32'): Value => full(shape, 1, dtype);
export const zerosLike = (x: ArrayLike, dtype?: DType): Value => {
  const v = toValue('zerosLike', x);
  return full(v.shape, 0, dtype ?? v.dtype);
};
export const onesLike = (x: ArrayLike, dtype?: DType): Value => {
  const v = toValue('onesLike', x);
  return full(v.shape, 1, dtype ?? v.dtype);
};

/** `iota(dtype, shape, dimension)`: indices along one dimension. */
export function iota(dtype: DType, shape: readonly number[], dimension = 0): Value {
  return bind1('iota', [], { dtype, shape, dimension });
}

/**
 * `arange(stop)`, `arange(start, stop, step?, dtype?)` like NumPy. The dtype defaults to
 * int32 when start, stop and step are all integers, else float32.
 */
export function arange(start: number, stop?: number, step = 1, dtype?: DType): Value {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new ValueError(`arange: step must be finite and non-zero, got ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const d = dtype !== undefined ? checkDType('arange', dtype) : [start, stop, step].every(Number.isInteger) ? 'int32' : 'float32';
  const i = iota(d === 'float32' ? 'float32' : 'int32', [n]);
  const v = start === 0 && step === 1 ? i : add(mul(i, scalar(step, i.dtype)), scalar(start, i.dtype));
  return convert(v, d);
}

/** `linspace(start, stop, num = 50, endpoint = true)`, float32. */
export function linspace(start: number, stop: number, num = 50, endpoint = true, dtype: DType = 'float32'): Value {
  if (!Number.isInteger(num) || num < 0) throw new ValueError(`linspace: num must be a non-negative integer, got ${num}`);
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  const i = iota('float32', [num]);
  const v = add(mul(i, scalar(step, 'float32')), scalar(start, 'float32'));
  // Pin the endpoint exactly, as NumPy does.
  const out = endpoint && num > 1 ? bind1('dynamic_update_slice', [v, broadcastTo(scalar(stop, 'float32'), [1]), scalar(num - 1, 'int32')], {}) : v;
  return convert(out, dtype);
}

/** `eye(n, m = n, k = 0)`: ones on the k-th diagonal. */
export function eye(n: number, m = n, k = 0, dtype: DType = 'float32'): Value {
  const r = iota('int32', [n, m], 0), c = iota('int32', [n, m], 1);
  return convert(equal(add(r, k), c), dtype);
}

export function isArray(x: unknown): x is NDArray {
  return x instanceof NDArray;
}
