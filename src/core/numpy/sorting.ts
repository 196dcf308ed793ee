/**
 * Sorting and order statistics: `sort`, `argsort`, `quantile`, `percentile`. All are built
 * on the `sort` primitive (stable, ascending, NaNs last) plus movement and gather, so they
 * trace like any other op.
 *
 *   np.sort(x)                 // along the last axis; np.sort(x, null) sorts the flattened array
 *   np.argsort(x, 0)           // stable int32 permutation along axis 0
 *   np.quantile(x, [0.1, 0.9], { axis: [0, 2], keepdims: true })
 *   np.percentile(x, 90, -1)   // q in [0, 100]; axis may also be passed bare
 */
import { ValueError } from '../errors.js';
import { normAxes, normAxis, prod } from '../shape.js';
import { bind, bind1 } from '../trace/trace.js';
import { Value } from '../trace/value.js';
import { array, toValue, type ArrayLike } from './convert.js';
import { full, iota } from './creation.js';
import { add, ceil, clip, convert, div, equal, floor, greaterEqual, isnan, lessEqual, logicalAnd, mul, sub, where } from './elementwise.js';
import type { Axis } from './reductions.js';

function reshape(x: Value, shape: readonly number[]): Value {
  return bind1('reshape', [x], { newSizes: shape });
}

/** Resolve a sort axis: null flattens `v` and sorts along its only dim. */
function sortAxis(op: string, v: Value, axis: number | null): [Value, number] {
  if (axis === null) return [reshape(v, [v.size]), 0];
  if (typeof axis !== 'number') throw new ValueError(`${op}: axis must be a single integer or null, got ${JSON.stringify(axis)}`);
  return [v, normAxis(op, axis, v.ndim)];
}

/**
 * Sorted copy along `axis` (default −1, the last). `axis = null` sorts the flattened array.
 * Ascending and stable; NaNs sort last and −0 equals +0 (NumPy / JAX order).
 */
export function sort(x: ArrayLike, axis: number | null = -1): Value {
  const [v, a] = sortAxis('sort', toValue('sort', x), axis);
  return bind1('sort', [v], { dimension: a, numOperands: 1 });
}

/**
 * Indices (int32) that sort `x` along `axis` (default −1; null: indices into the flattened
 * array). Stable: equal elements keep their order; NaNs go last.
 */
export function argsort(x: ArrayLike, axis: number | null = -1): Value {
  const [v, a] = sortAxis('argsort', toValue('argsort', x), axis);
  const ids = iota('int32', v.shape, a);
  return bind('sort', [v, ids], { dimension: a, numOperands: 2 })[1];
}

/**
 * How a quantile between two order statistics i < j (fraction g) is chosen, as NumPy's
 * `method`: 'linear' (default) interpolates, 'lower' takes i, 'higher' takes j, 'midpoint'
 * averages them.
 */
export type QuantileMethod = 'linear' | 'lower' | 'higher' | 'midpoint';

export interface QuantileOptions {
  axis?: Axis;
  keepdims?: boolean;
  method?: QuantileMethod;
}

const METHODS: readonly QuantileMethod[] = ['linear', 'lower', 'higher', 'midpoint'];
const isOptions = (a: unknown): a is QuantileOptions => typeof a === 'object' && a !== null && !Array.isArray(a) && !ArrayBuffer.isView(a);

function parseOptions(op: string, arg: Axis | QuantileOptions | undefined, keepdims: boolean | undefined): QuantileOptions {
  if (!isOptions(arg)) return { axis: arg, keepdims };
  for (const k of Object.keys(arg))
    if (!['axis', 'keepdims', 'method'].includes(k)) throw new ValueError(`${op}: unknown option ${JSON.stringify(k)}; expected one of axis, keepdims, method`);
  if (keepdims !== undefined) throw new ValueError(`${op}: pass keepdims inside the options record, not as a third argument`);
  return arg;
}

/** Flat numbers and shape of a JS `q` (number, nested arrays, typed array); null for array values. */
function jsQuantiles(op: string, q: ArrayLike): { shape: number[]; values: number[] } | null {
  if (q instanceof Value) return null;
  if (typeof q === 'number') return { shape: [], values: [q] };
  if (typeof q === 'boolean') throw new ValueError(`${op}: q must be a number or an array of numbers, got a boolean`);
  if (ArrayBuffer.isView(q)) return { shape: [q.length], values: Array.from(q) };
  // Nested arrays: let np.array check raggedness, reading the values back in float64.
  const shape = [...array(q).shape];
  const values = (q as unknown[]).flat(Infinity) as unknown[];
  if (!values.every((v) => typeof v === 'number')) throw new ValueError(`${op}: q must contain numbers only`);
  return { shape, values: values as number[] };
}

/**
 * Positions in a sorted axis of length n for each quantile, as NumPy's 'linear' method:
 * virtual index v = (n − 1)·q, lo = floor(v), hi = ceil(v), weight g = v − lo. From JS
 * numbers, v and g are computed in float64 (g then rounded to float32) and q is checked;
 * from an array q (possibly traced), in float32, and `valid` marks the q inside the range.
 */
function positions(op: string, q: ArrayLike, scale: number, n: number): { qShape: number[]; lo: Value; hi: Value; g: Value; valid?: Value } {
  const hiBound = scale === 1 ? 1 : 100;
  const js = jsQuantiles(op, q);
  if (js) {
    for (const p of js.values)
      if (!(p >= 0 && p <= hiBound)) throw new ValueError(`${op}: q must be in the range [0, ${hiBound}], got ${p}`);
    const vi = js.values.map((p) => (n - 1) * (scale === 1 ? p : p / scale));
    const lo = vi.map((v) => Math.min(Math.floor(v), n - 1));
    const hi = vi.map((v) => Math.min(Math.ceil(v), n - 1));
    const g = vi.map((v, i) => v - lo[i]);
    return {
      qShape: js.shape,
      lo: array(Int32Array.from(lo), 'int32'),
      hi: array(Int32Array.from(hi), 'int32'),
      g: array(Float32Array.from(g), 'float32'),
    };
  }
  const qv = toValue(op, q);
  const qf = qv.dtype === 'float32' ? qv : convert(qv, 'float32');
  const flat = reshape(qf, [qf.size]);
  const vi = mul(scale === 1 ? flat : div(flat, scale), n - 1);
  const loF = floor(vi);
  const toIndex = (f: Value) => convert(clip(f, 0, Math.max(n - 1, 0)), 'int32');
  const valid = logicalAnd(greaterEqual(flat, 0), lessEqual(flat, hiBound));
  return { qShape: [...qv.shape], lo: toIndex(loF), hi: toIndex(ceil(vi)), g: sub(vi, loF), valid };
}

/**
 * Interpolate between the order statistics a ≤ b with weight g ∈ [0, 1] as NumPy's `_lerp`:
 * a + (b − a)·g below g = 0.5, b − (b − a)·(1 − g) from 0.5 on; equal a and b (including
 * equal infinities) give a exactly.
 */
function lerp(a: Value, b: Value, g: Value): Value {
  const d = sub(b, a);
  const v = where(greaterEqual(g, 0.5), sub(b, mul(d, sub(1, g))), add(a, mul(d, g)));
  return where(equal(a, b), a, v);
}

function quantileImpl(op: 'quantile' | 'percentile', x: ArrayLike, q: ArrayLike, axis: Axis | QuantileOptions | undefined, keepdims: boolean | undefined): Value {
  const o = parseOptions(op, axis, keepdims);
  const method = o.method ?? 'linear';
  if (!METHODS.includes(method)) throw new ValueError(`${op}: unknown method ${JSON.stringify(method)}; expected one of ${METHODS.join(', ')}`);
  const v0 = toValue(op, x);
  const v = v0.dtype === 'float32' ? v0 : convert(v0, 'float32');
  const axes = normAxes(op, o.axis, v.ndim);
  const kept = [...Array(v.ndim).keys()].filter((d) => !axes.includes(d));
  const keptShape = kept.map((d) => v.shape[d]);
  const n = prod(axes.map((d) => v.shape[d]));
  const pos = positions(op, q, op === 'quantile' ? 1 : 100, n);
  const k = prod(pos.qShape);
  const restShape = o.keepdims ? v.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : keptShape;
  const outShape = [...pos.qShape, ...restShape];
  // An empty selection has no order statistics: NaN, as the mean of nothing.
  if (n === 0 || k === 0) return full(outShape, NaN, 'float32');

  // Move the reduced axes last and flatten them: (…kept, n), then sort that axis.
  const perm = [...kept, ...axes];
  const moved = perm.every((d, i) => d === i) ? v : bind1('transpose', [v], { permutation: perm });
  const rows = reshape(moved, [...keptShape, n]);
  const last = keptShape.length;
  const sorted = bind1('sort', [rows], { dimension: last, numOperands: 1 });
  const take = (i: Value) => bind1('gather', [sorted, i], { axis: last }); // (…kept, k)
  let res: Value;
  if (method === 'lower') res = take(pos.lo);
  else if (method === 'higher') res = take(pos.hi);
  else {
    const g = method === 'midpoint' ? where(equal(pos.lo, pos.hi), 0, 0.5) : pos.g;
    res = lerp(take(pos.lo), take(pos.hi), g);
  }
  // A NaN anywhere in a row sorts last and makes that row's quantiles NaN (np.quantile).
  const start = [...keptShape.map(() => 0), n - 1];
  const lastVal = bind1('slice', [sorted], { startIndices: start, limitIndices: [...keptShape, n], strides: start.map(() => 1) });
  res = where(isnan(lastVal), NaN, res);
  if (pos.valid) res = where(pos.valid, res, NaN);
  // q dims first: (k, …kept), then the caller's shape.
  if (last > 0) res = bind1('transpose', [res], { permutation: [last, ...kept.map((_, i) => i)] });
  return reshape(res, outShape);
}

/**
 * The q-th quantiles of `x` over `axis` (all axes by default), NumPy's default 'linear'
 * method. `q` is a number in [0, 1] or an array of them; the dims of q come first in the
 * result. Several axes are reduced together. Ints give float32; a NaN in a reduced row
 * gives NaN; an empty selection gives NaN. A JS q outside [0, 1] (or NaN) is a ValueError;
 * an array-valued q may be traced, so it is not checked: out-of-range entries give NaN.
 */
export function quantile(x: ArrayLike, q: ArrayLike, axis?: Axis | QuantileOptions, keepdims?: boolean): Value {
  return quantileImpl('quantile', x, q, axis, keepdims);
}

/** `quantile` with q in percent ([0, 100]), as np.percentile. */
export function percentile(x: ArrayLike, q: ArrayLike, axis?: Axis | QuantileOptions, keepdims?: boolean): Value {
  return quantileImpl('percentile', x, q, axis, keepdims);
}

/** Methods installed on every array and tracer (`x.sort()`, `x.quantile(0.5)`); see `array_methods.ts`. */
export const sortingMethods = { sort, argsort, quantile, percentile };

declare module '../trace/value.js' {
  interface Value {
    sort(axis?: number | null): Value;
    argsort(axis?: number | null): Value;
    quantile(q: ArrayLike, axis?: Axis | QuantileOptions, keepdims?: boolean): Value;
    percentile(q: ArrayLike, axis?: Axis | QuantileOptions, keepdims?: boolean): Value;
  }
}
