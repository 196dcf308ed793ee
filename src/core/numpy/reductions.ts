/**
 * NumPy-style reductions: sum, mean, max, min, prod, argmax, argmin, var, std, logsumexp,
 * all, any, and the cumulative cumsum / cumprod. They bind the lax-level reduce primitives
 * (`reduce_sum/max/min/prod`, `argmax/argmin`, `cumsum/cumprod`), so they trace and fuse.
 *
 * Calling conventions (every reduction accepts both):
 *
 *   np.sum(x)                              // all axes
 *   np.sum(x, 0)  np.sum(x, [0, -1], true) // axis (number, array, or null = all), keepdims
 *   np.sum(x, { axis: -1, keepdims: true, dtype: 'float32' })
 *   x.sum({ axis: 1 })                     // the same as methods on every array
 *
 * Axes may be negative; an out-of-range or repeated axis is an `AxisError`. Unknown option
 * names are an error (a typo never silently reduces over all axes).
 *
 * Dtypes follow JAX (x64 disabled): sum/prod of bool give int32, ints stay ints; mean, var,
 * std and logsumexp of ints or bools give float32; max/min keep the dtype (max propagates
 * NaN); argmax/argmin give int32; all/any give bool.
 */
import { checkDType, type DType } from '../dtype.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { normAxes, normAxis, prod as shapeProd } from '../shape.js';
import { bind1 } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { scalar, toValue, type ArrayLike } from './convert.js';
import { add, convert, div, exp, isfinite, log, mul, notEqual, promoteArgs, sqrt, sub, where } from './elementwise.js';

/** An axis selection: a number, a list of numbers, or null / undefined for all axes. */
export type Axis = number | readonly number[] | null;

export interface ReduceOptions {
  axis?: Axis;
  keepdims?: boolean;
}
/** Options of sum, prod and mean: `dtype` is the dtype the input is cast to before reducing. */
export interface SumOptions extends ReduceOptions {
  dtype?: DType;
}
/** Options of var and std: `ddof` is the delta degrees of freedom (divide by n − ddof). */
export interface VarOptions extends SumOptions {
  ddof?: number;
}
/** Options of logsumexp: `b` are weights (log Σ b·exp(x)); entries with b = 0 are ignored. */
export interface LogsumexpOptions extends ReduceOptions {
  b?: ArrayLike;
}
/** Options of argmax / argmin: one axis, or null / undefined for the flattened array. */
export interface ArgOptions {
  axis?: number | null;
  keepdims?: boolean;
}
/** Options of cumsum / cumprod: one axis, or null / undefined for the flattened array. */
export interface CumOptions {
  axis?: number | null;
  dtype?: DType;
}

/** Second argument of a reduction: an axis selection or an options record. */
export type AxisOrOptions<O> = Axis | O | undefined;

const isOptions = (a: unknown): a is Record<string, unknown> => typeof a === 'object' && a !== null && !Array.isArray(a) && !ArrayBuffer.isView(a);

/** Normalise `(axisOrOptions, keepdims)` into an options record, rejecting unknown option names. */
function parseOptions<O extends { axis?: unknown; keepdims?: boolean }>(op: string, arg: unknown, keepdims: boolean | undefined, allowed: readonly string[]): O {
  if (!isOptions(arg)) return { axis: arg, keepdims } as O;
  for (const k of Object.keys(arg))
    if (!allowed.includes(k)) throw new ValueError(`${op}: unknown option ${JSON.stringify(k)}; expected one of ${allowed.join(', ')}`);
  if (keepdims !== undefined) throw new ValueError(`${op}: pass keepdims inside the options record, not as a third argument`);
  return arg as O;
}

const REDUCE_KEYS = ['axis', 'keepdims'] as const;
const SUM_KEYS = [...REDUCE_KEYS, 'dtype'] as const;

/** The shape of a reduction with keepdims: reduced axes become 1. */
function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reshape(x: Value, shape: readonly number[]): Value {
  return bind1('reshape', [x], { newSizes: shape });
}

type ReducePrim = 'reduce_sum' | 'reduce_max' | 'reduce_min' | 'reduce_prod';

/** Bind a reduce primitive over normalised `axes`, then restore the reduced dims as 1 for keepdims. */
function reduceAxes(prim: ReducePrim, v: Value, axes: readonly number[], keepdims: boolean | undefined): Value {
  const r = bind1(prim, [v], { axes });
  return keepdims ? reshape(r, keptShape(v.shape, axes)) : r;
}

/** Ints and bools become float32 (weakness kept), as JAX's `to_inexact_dtype`. */
function toFloat(v: Value): Value {
  return v.dtype === 'float32' ? v : convert(v, 'float32', v.weakType && v.dtype !== 'bool');
}

function toBool(op: string, x: ArrayLike): Value {
  const v = toValue(op, x);
  return v.dtype === 'bool' ? v : notEqual(v, 0);
}

/**
 * Cast the input of sum / prod / cumsum / cumprod: to `dtype` when given (strongly typed),
 * else bool → int32 and everything else unchanged.
 */
function accumulateInput(op: string, v: Value, dtype: DType | undefined): Value {
  if (dtype !== undefined) return convert(v, checkDType(op, dtype));
  return v.dtype === 'bool' ? convert(v, 'int32') : v;
}

function sumLike(op: 'sum' | 'prod', x: ArrayLike, axis: AxisOrOptions<SumOptions>, keepdims?: boolean): Value {
  const o = parseOptions<SumOptions>(op, axis, keepdims, SUM_KEYS);
  const v0 = toValue(op, x);
  const axes = normAxes(op, o.axis, v0.ndim);
  if (o.dtype === 'bool') {
    // A bool accumulator is a logical or (sum) / and (prod), as NumPy.
    return reduceAxes(op === 'sum' ? 'reduce_max' : 'reduce_min', toBool(op, v0), axes, o.keepdims);
  }
  const v = accumulateInput(op, v0, o.dtype);
  return reduceAxes(op === 'sum' ? 'reduce_sum' : 'reduce_prod', v, axes, o.keepdims);
}

/** Sum over `axis` (all axes by default). bool → int32; `dtype` casts the input first. */
export function sum(x: ArrayLike, axis?: AxisOrOptions<SumOptions>, keepdims?: boolean): Value {
  return sumLike('sum', x, axis, keepdims);
}

/** Product over `axis` (all axes by default). bool → int32; `dtype` casts the input first. */
export function prod(x: ArrayLike, axis?: AxisOrOptions<SumOptions>, keepdims?: boolean): Value {
  return sumLike('prod', x, axis, keepdims);
}

/** Number of elements a reduction over `axes` combines. */
const countOf = (shape: readonly number[], axes: readonly number[]): number => shapeProd(axes.map((a) => shape[a]));

/**
 * Arithmetic mean over `axis`. Ints and bools give float32; the mean of an empty selection
 * is NaN. With an integer `dtype`, the sum and the division are done in that dtype (JAX).
 */
export function mean(x: ArrayLike, axis?: AxisOrOptions<SumOptions>, keepdims?: boolean): Value {
  const o = parseOptions<SumOptions>('mean', axis, keepdims, SUM_KEYS);
  const v = toValue('mean', x);
  const axes = normAxes('mean', o.axis, v.ndim);
  const n = countOf(v.shape, axes);
  const dtype = o.dtype === undefined ? undefined : checkDType('mean', o.dtype);
  if (dtype === undefined || dtype === 'float32') {
    const s = reduceAxes('reduce_sum', dtype ? convert(v, 'float32') : toFloat(v), axes, o.keepdims);
    return div(s, n);
  }
  if (dtype === 'bool') throw new DTypeError(`mean: dtype bool is not supported; use any/all, got ${v.aval.str()}`);
  const s = reduceAxes('reduce_sum', convert(v, dtype), axes, o.keepdims);
  return bind1('div', [s, scalar(n, dtype)], {});
}

/**
 * Variance over `axis`: mean(|x − mean(x)|²) · n / (n − ddof), computed in float32 by the
 * two-pass formula. n − ddof ≤ 0 divides by zero (inf, or NaN for 0/0), as NumPy.
 * A `dtype` casts the float32 result.
 */
function variance(x: ArrayLike, axis?: AxisOrOptions<VarOptions>, keepdims?: boolean): Value {
  return varianceImpl('var', x, axis, keepdims);
}

function varianceImpl(op: 'var' | 'std', x: ArrayLike, axis: AxisOrOptions<VarOptions>, keepdims: boolean | undefined): Value {
  const o = parseOptions<VarOptions>(op, axis, keepdims, [...SUM_KEYS, 'ddof']);
  const ddof = o.ddof ?? 0;
  if (typeof ddof !== 'number' || !Number.isFinite(ddof)) throw new ValueError(`${op}: ddof must be a finite number, got ${String(ddof)}`);
  const v = toFloat(toValue(op, x));
  const axes = normAxes(op, o.axis, v.ndim);
  const n = countOf(v.shape, axes);
  const centered = sub(v, mean(v, { axis: axes, keepdims: true }));
  const ss = reduceAxes('reduce_sum', mul(centered, centered), axes, o.keepdims);
  const denom = Math.max(n - ddof, 0);
  let out = div(ss, denom);
  if (op === 'std') out = sqrt(out);
  return o.dtype === undefined ? out : convert(out, checkDType(op, o.dtype));
}

/** Standard deviation: sqrt(var(x, …)), same options as `var`. */
export function std(x: ArrayLike, axis?: AxisOrOptions<VarOptions>, keepdims?: boolean): Value {
  return varianceImpl('std', x, axis, keepdims);
}

export { variance as var };

function extremum(op: 'max' | 'min', x: ArrayLike, axis: AxisOrOptions<ReduceOptions>, keepdims: boolean | undefined): Value {
  const o = parseOptions<ReduceOptions>(op, axis, keepdims, REDUCE_KEYS);
  const v = toValue(op, x);
  const axes = normAxes(op, o.axis, v.ndim);
  const empty = axes.find((a) => v.shape[a] === 0);
  if (empty !== undefined)
    throw new ShapeError(`${op}: zero-size array to reduction operation ${op} which has no identity (axis ${empty} of shape ${fmtShape(v.shape)})`);
  return reduceAxes(op === 'max' ? 'reduce_max' : 'reduce_min', v, axes, o.keepdims);
}

/** Maximum over `axis`; NaN propagates. Reducing an empty axis is a ShapeError. */
export function max(x: ArrayLike, axis?: AxisOrOptions<ReduceOptions>, keepdims?: boolean): Value {
  return extremum('max', x, axis, keepdims);
}

/** Minimum over `axis`; NaN propagates. Reducing an empty axis is a ShapeError. */
export function min(x: ArrayLike, axis?: AxisOrOptions<ReduceOptions>, keepdims?: boolean): Value {
  return extremum('min', x, axis, keepdims);
}

function argExtremum(op: 'argmax' | 'argmin', x: ArrayLike, axis: number | null | ArgOptions | undefined, keepdims: boolean | undefined): Value {
  const o = parseOptions<ArgOptions>(op, axis, keepdims, REDUCE_KEYS);
  const v = toValue(op, x);
  if (o.axis !== undefined && o.axis !== null && typeof o.axis !== 'number')
    throw new ValueError(`${op}: axis must be a single integer or null, got ${JSON.stringify(o.axis)}`);
  if (o.axis === undefined || o.axis === null) {
    if (v.size === 0) throw new ShapeError(`${op}: attempt to get ${op} of an empty sequence (shape ${fmtShape(v.shape)})`);
    const r = bind1(op, [reshape(v, [v.size])], { axis: 0, indexDtype: 'int32' });
    return o.keepdims ? reshape(r, v.shape.map(() => 1)) : r;
  }
  const a = normAxis(op, o.axis, v.ndim);
  if (v.shape[a] === 0) throw new ShapeError(`${op}: attempt to get ${op} of an empty axis ${a} of shape ${fmtShape(v.shape)}`);
  const r = bind1(op, [v], { axis: a, indexDtype: 'int32' });
  return o.keepdims ? reshape(r, keptShape(v.shape, [a])) : r;
}

/**
 * Index (int32) of the maximum along `axis`; with no axis, the index into the flattened
 * array. Ties give the first index; a NaN counts as the maximum (the first NaN wins).
 */
export function argmax(x: ArrayLike, axis?: number | null | ArgOptions, keepdims?: boolean): Value {
  return argExtremum('argmax', x, axis, keepdims);
}

/** Index (int32) of the minimum along `axis`; ties and NaNs as `argmax`. */
export function argmin(x: ArrayLike, axis?: number | null | ArgOptions, keepdims?: boolean): Value {
  return argExtremum('argmin', x, axis, keepdims);
}

/** Whether every element is true (non-zero; NaN counts as true). Empty → true. */
export function all(x: ArrayLike, axis?: AxisOrOptions<ReduceOptions>, keepdims?: boolean): Value {
  const o = parseOptions<ReduceOptions>('all', axis, keepdims, REDUCE_KEYS);
  const v = toBool('all', x);
  return reduceAxes('reduce_min', v, normAxes('all', o.axis, v.ndim), o.keepdims);
}

/** Whether any element is true (non-zero; NaN counts as true). Empty → false. */
export function any(x: ArrayLike, axis?: AxisOrOptions<ReduceOptions>, keepdims?: boolean): Value {
  const o = parseOptions<ReduceOptions>('any', axis, keepdims, REDUCE_KEYS);
  const v = toBool('any', x);
  return reduceAxes('reduce_max', v, normAxes('any', o.axis, v.ndim), o.keepdims);
}

/**
 * log(Σ exp(x)) over `axis`, computed stably as m + log Σ exp(x − m) with m the maximum
 * (replaced by 0 where it is not finite, so rows of −inf give −inf and a +inf gives +inf).
 * Optional weights `b` give log Σ b·exp(x) (scipy.special.logsumexp); entries with b = 0
 * are ignored even where x is infinite. An empty reduction gives −inf. Output is float32.
 */
export function logsumexp(x: ArrayLike, axis?: AxisOrOptions<LogsumexpOptions>, keepdims?: boolean): Value {
  const o = parseOptions<LogsumexpOptions>('logsumexp', axis, keepdims, [...REDUCE_KEYS, 'b']);
  let v = toFloat(toValue('logsumexp', x));
  let b: Value | undefined;
  if (o.b !== undefined) {
    [v, b] = promoteArgs('logsumexp', v, toFloat(toValue('logsumexp', o.b)));
    v = where(notEqual(b, 0), v, -Infinity);
  }
  const axes = normAxes('logsumexp', o.axis, v.ndim);
  // reduce_max of an empty selection is −inf, which the finite guard maps to 0.
  const m = reduceAxes('reduce_max', v, axes, true);
  const shift = where(isfinite(m), m, 0);
  let e = exp(sub(v, shift));
  if (b !== undefined) e = mul(e, b);
  const out = add(log(reduceAxes('reduce_sum', e, axes, true)), shift);
  return o.keepdims ? out : reshape(out, v.shape.filter((_, i) => !axes.includes(i)));
}

function cumulative(op: 'cumsum' | 'cumprod', x: ArrayLike, axis: number | null | CumOptions | undefined, dtype: DType | undefined): Value {
  let o: CumOptions;
  if (isOptions(axis)) {
    o = parseOptions<CumOptions>(op, axis, undefined, ['axis', 'dtype']);
    if (dtype !== undefined) throw new ValueError(`${op}: pass dtype inside the options record, not as a third argument`);
  } else o = { axis: axis as number | null | undefined, dtype };
  let v = accumulateInput(op, toValue(op, x), o.dtype);
  if (v.dtype === 'bool') throw new DTypeError(`${op}: dtype bool is not supported; use int32`);
  let a: number;
  if (o.axis === undefined || o.axis === null) {
    v = reshape(v, [v.size]);
    a = 0;
  } else {
    if (typeof o.axis !== 'number') throw new ValueError(`${op}: axis must be a single integer or null, got ${JSON.stringify(o.axis)}`);
    a = normAxis(op, o.axis, v.ndim);
  }
  return bind1(op, [v], { axis: a, reverse: false });
}

/** Inclusive cumulative sum along `axis` (flattened when axis is null / undefined). bool → int32. */
export function cumsum(x: ArrayLike, axis?: number | null | CumOptions, dtype?: DType): Value {
  return cumulative('cumsum', x, axis, dtype);
}

/** Inclusive cumulative product along `axis` (flattened when axis is null / undefined). bool → int32. */
export function cumprod(x: ArrayLike, axis?: number | null | CumOptions, dtype?: DType): Value {
  return cumulative('cumprod', x, axis, dtype);
}

/** Methods installed on every array and tracer (`x.sum({ axis: 0 })`); see `array_methods.ts`. */
export const reductionMethods = {
  sum, mean, max, min, prod, argmax, argmin, var: variance, std, logsumexp, cumsum, cumprod, all, any,
};

declare module '../trace/value.js' {
  interface Value {
    sum(axis?: AxisOrOptions<SumOptions>, keepdims?: boolean): Value;
    prod(axis?: AxisOrOptions<SumOptions>, keepdims?: boolean): Value;
    mean(axis?: AxisOrOptions<SumOptions>, keepdims?: boolean): Value;
    var(axis?: AxisOrOptions<VarOptions>, keepdims?: boolean): Value;
    std(axis?: AxisOrOptions<VarOptions>, keepdims?: boolean): Value;
    max(axis?: AxisOrOptions<ReduceOptions>, keepdims?: boolean): Value;
    min(axis?: AxisOrOptions<ReduceOptions>, keepdims?: boolean): Value;
    all(axis?: AxisOrOptions<ReduceOptions>, keepdims?: boolean): Value;
    any(axis?: AxisOrOptions<ReduceOptions>, keepdims?: boolean): Value;
    argmax(axis?: number | null | ArgOptions, keepdims?: boolean): Value;
    argmin(axis?: number | null | ArgOptions, keepdims?: boolean): Value;
    logsumexp(axis?: AxisOrOptions<LogsumexpOptions>, keepdims?: boolean): Value;
    cumsum(axis?: number | null | CumOptions, dtype?: DType): Value;
    cumprod(axis?: number | null | CumOptions, dtype?: DType): Value;
  }
}
