/**
 * The `lax` namespace: primitive-level operations with JAX-style, user-friendly parameters.
 * Each function binds one primitive (a few documented ones are short compositions).
 *
 * Unlike `np`, there is no implicit broadcasting or dtype promotion: array operands must
 * have equal shapes and dtypes (the primitive's error names both). A JS number or boolean
 * operand is the exception: it takes the dtype (and weak type) of the first array operand
 * and is broadcast to its shape, as JAX does for Python scalars (`lax.mul(x, 2)`).
 */
import { checkDType, type DType } from './dtype.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from './errors.js';
import { array, scalar, toValue, type ArrayLike } from './numpy/convert.js';
import { convert } from './numpy/elementwise.js';
import type { ConvDimensionNumbers } from './prims/contract.js';
import type { BinaryPrim, UnaryPrim } from './prims/elementwise.js';
import { normAxes, normAxis } from './shape.js';
import { bind, bind1 } from './trace/trace.js';
import { Value } from './trace/value.js';
import * as tree from './tree.js';

export type { ConvDimensionNumbers } from './prims/contract.js';

/** Padding of a windowed op: a JAX padding type or explicit `[low, high]` pairs per (spatial) dim. */
export type Padding = 'SAME' | 'VALID' | 'SAME_LOWER' | readonly (readonly [number, number])[];

// ------------------------------------------------------------------ operand conversion

const isScalarLiteral = (x: unknown): x is number | boolean => typeof x === 'number' || typeof x === 'boolean';

/** lax operand conversion: arrays pass through, JS scalars take the first array operand's dtype and shape. */
function laxOperands(op: string, xs: readonly ArrayLike[]): Value[] {
  const conv = xs.map((x) => (isScalarLiteral(x) ? null : toValue(op, x)));
  const ref = conv.find((v): v is Value => v !== null);
  return xs.map((x, i) => {
    const v = conv[i];
    if (v) return v;
    if (!ref) return toValue(op, x);
    const s = convert(scalar(x as number | boolean, ref.dtype), ref.dtype, ref.weakType);
    return ref.ndim === 0 ? s : bind1('broadcast_in_dim', [s], { shape: ref.shape, broadcastDimensions: [] });
  });
}

/** An int32 index operand (JS numbers and nested lists become int32; uint32 is cast). */
function intOperand(op: string, x: ArrayLike): Value {
  if (x instanceof Value) return x.dtype === 'uint32' ? convert(x, 'int32') : x;
  if (typeof x === 'boolean') throw new DTypeError(`${op}: indices must be integers, got a boolean`);
  return array(x as Exclude<ArrayLike, Value | boolean>, 'int32');
}

/** One int32 scalar start index per dim (numbers or int32 scalars). */
function startIndices(op: string, starts: readonly (number | Value)[]): Value[] {
  return starts.map((s) => {
    if (typeof s === 'number') {
      if (!Number.isInteger(s)) throw new ValueError(`${op}: start index ${s} is not an integer`);
      return scalar(s, 'int32');
    }
    return intOperand(op, s);
  });
}

const un = (prim: UnaryPrim) => (x: ArrayLike): Value => bind1(prim, [toValue(prim, x)], {});
const bin = (prim: BinaryPrim) => (x: ArrayLike, y: ArrayLike): Value => bind1(prim, laxOperands(prim, [x, y]), {});

// ------------------------------------------------------------------ elementwise

/** `-x`. */
export const neg = un('neg');
/** Sign (−1, 0, +1; keeps the sign of zero and NaN). */
export const sign = un('sign');
/** Round toward −∞ (float32). */
export const floor = un('floor');
/** Round toward +∞ (float32). */
export const ceil = un('ceil');
/** Round half to even (lax.RoundingMethod.TO_NEAREST_EVEN; float32). */
export const round = un('round');
/** Whether each element is finite (float32 → bool). */
export const isFinite = un('is_finite');
/** e^x. */
export const exp = un('exp');
/** e^x − 1, accurate near 0. */
export const expm1 = un('expm1');
/** Natural logarithm. */
export const log = un('log');
/** log(1 + x), accurate near 0. */
export const log1p = un('log1p');
/** Hyperbolic tangent. */
export const tanh = un('tanh');
/** The logistic sigmoid 1 / (1 + e^−x). */
export const logistic = un('logistic');
/** Sine. */
export const sin = un('sin');
/** Cosine. */
export const cos = un('cos');
/** Tangent. */
export const tan = un('tan');
/** Arc tangent. */
export const atan = un('atan');
/** Square root. */
export const sqrt = un('sqrt');
/** 1 / √x. */
export const rsqrt = un('rsqrt');
/** Absolute value. */
export const abs = un('abs');
/** The error function. */
export const erf = un('erf');
/** The inverse error function. */
export const erfInv = un('erf_inv');
/** Bitwise not (ints) / logical not (bool). */
export const not = un('not');
/** Alias of `not`. */
export const bitwiseNot = not;
/** x · x (a composition: one `mul`). */
export const square = (x: ArrayLike): Value => {
  const v = toValue('square', x);
  return bind1('mul', [v, v], {});
};

/** x + y (or for bool). */
export const add = bin('add');
/** x − y. */
export const sub = bin('sub');
/** x · y (and for bool). */
export const mul = bin('mul');
/** x / y; integer division truncates toward zero (C semantics). */
export const div = bin('div');
/** Remainder with the sign of the dividend (C fmod semantics). */
export const rem = bin('rem');
/** x^y. */
export const pow = bin('pow');
/** Elementwise maximum (NaN-propagating for floats). */
export const max = bin('max');
/** Elementwise minimum (NaN-propagating for floats). */
export const min = bin('min');
/** atan2(x, y) with C99 conventions (x is the numerator). */
export const atan2 = bin('atan2');
/** Bitwise and (ints) / logical and (bool). */
export const and = bin('and');
/** Bitwise or (ints) / logical or (bool). */
export const or = bin('or');
/** Bitwise xor (ints) / logical xor (bool). */
export const xor = bin('xor');
/** Alias of `and`. */
export const bitwiseAnd = and;
/** Alias of `or`. */
export const bitwiseOr = or;
/** Alias of `xor`. */
export const bitwiseXor = xor;
/** x << y (ints; shifts of 32 or more give 0). */
export const shiftLeft = bin('shift_left');
/** x >>> y (ints; zero-filling). */
export const shiftRightLogical = bin('shift_right_logical');
/** x >> y (ints; sign-extending). */
export const shiftRightArithmetic = bin('shift_right_arithmetic');
/** x == y (bool result). */
export const eq = bin('eq');
/** x != y (bool result). */
export const ne = bin('ne');
/** x < y (bool result). */
export const lt = bin('lt');
/** x <= y (bool result). */
export const le = bin('le');
/** x > y (bool result). */
export const gt = bin('gt');
/** x >= y (bool result). */
export const ge = bin('ge');
/** `clamp(lo, x, hi)` = min(max(x, lo), hi) (a composition of `max` and `min`, as jax.lax.clamp). */
export function clamp(lo: ArrayLike, x: ArrayLike, hi: ArrayLike): Value {
  const [l, v, h] = laxOperands('clamp', [lo, x, hi]);
  return bind1('min', [bind1('max', [v, l], {}), h], {});
}

/** `select(pred, onTrue, onFalse)`: onTrue where pred is true; pred is bool, scalar or of the cases' shape. */
export function select(pred: ArrayLike, onTrue: ArrayLike, onFalse: ArrayLike): Value {
  const p = toValue('select', pred);
  const [t, f] = laxOperands('select', [onTrue, onFalse]);
  return bind1('select_n', [p, f, t], {});
}
/** `selectN(which, ...cases)`: cases[which] per element; a bool `which` picks cases[0] for false. */
export function selectN(which: ArrayLike, ...cases: ArrayLike[]): Value {
  return bind1('select_n', [toValue('selectN', which), ...laxOperands('selectN', cases)], {});
}

/** Cast to `newDtype` (float → int truncates toward zero; to bool is `!= 0`). */
export function convertElementType(x: ArrayLike, newDtype: DType): Value {
  return bind1('convert_element_type', [toValue('convertElementType', x)], { newDtype: checkDType('convertElementType', newDtype), weakType: false });
}
/** Reinterpret the 32 bits of each element as `newDtype` (float32 ↔ int32 ↔ uint32). */
export function bitcastConvertType(x: ArrayLike, newDtype: DType): Value {
  return bind1('bitcast_convert_type', [toValue('bitcastConvertType', x)], { newDtype: checkDType('bitcastConvertType', newDtype) });
}

// ------------------------------------------------------------------ shapes and movement

/** `iota(dtype, size)`: [0, 1, …, size−1]. */
export function iota(dtype: DType, size: number): Value {
  return bind1('iota', [], { dtype: checkDType('iota', dtype), shape: [size], dimension: 0 });
}
/** `broadcastedIota(dtype, shape, dimension)`: each element's index along `dimension`. */
export function broadcastedIota(dtype: DType, shape: readonly number[], dimension: number): Value {
  return bind1('iota', [], { dtype: checkDType('broadcastedIota', dtype), shape: [...shape], dimension: normAxis('broadcastedIota', dimension, shape.length) });
}
/** Operand dim i becomes output dim `broadcastDimensions[i]` (its size must be 1 or equal). */
export function broadcastInDim(x: ArrayLike, shape: readonly number[], broadcastDimensions: readonly number[]): Value {
  return bind1('broadcast_in_dim', [toValue('broadcastInDim', x)], { shape: [...shape], broadcastDimensions: [...broadcastDimensions] });
}
/** `broadcast(x, sizes)`: prepend dims of the given sizes. */
export function broadcast(x: ArrayLike, sizes: readonly number[]): Value {
  const v = toValue('broadcast', x);
  return bind1('broadcast_in_dim', [v], { shape: [...sizes, ...v.shape], broadcastDimensions: v.shape.map((_, i) => i + sizes.length) });
}
/** `reshape(x, newSizes, dimensions?)`: row-major reshape, after transposing by `dimensions` when given. */
export function reshape(x: ArrayLike, newSizes: readonly number[], dimensions?: readonly number[]): Value {
  let v = toValue('reshape', x);
  if (dimensions) v = transpose(v, dimensions);
  return bind1('reshape', [v], { newSizes: [...newSizes] });
}
/** Permute the axes: output dim i is input dim `permutation[i]`. */
export function transpose(x: ArrayLike, permutation: readonly number[]): Value {
  return bind1('transpose', [toValue('transpose', x)], { permutation: [...permutation] });
}
/** Reverse the order of elements along `dimensions`. */
export function rev(x: ArrayLike, dimensions: readonly number[]): Value {
  const v = toValue('rev', x);
  return bind1('rev', [v], { dimensions: dimensions.map((d) => normAxis('rev', d, v.ndim)) });
}
/** Static slice `[start, limit)` with optional strides per dim. */
export function slice(x: ArrayLike, startIndices: readonly number[], limitIndices: readonly number[], strides?: readonly number[]): Value {
  const v = toValue('slice', x);
  return bind1('slice', [v], { startIndices: [...startIndices], limitIndices: [...limitIndices], strides: strides ? [...strides] : v.shape.map(() => 1) });
}
/** `pad(x, paddingValue, config)`: config is `[low, high, interior]` per dim (low/high may be negative). */
export function pad(x: ArrayLike, paddingValue: ArrayLike, config: readonly (readonly [number, number, number])[]): Value {
  const v = toValue('pad', x);
  const pv = isScalarLiteral(paddingValue) ? convert(scalar(paddingValue, v.dtype), v.dtype, v.weakType) : toValue('pad', paddingValue);
  return bind1('pad', [v, pv], { config: config.map(([lo, hi, int]) => [lo, hi, int] as const) });
}
/** Join arrays along `dimension` (all other dims and the dtypes must match). */
export function concatenate(xs: readonly ArrayLike[], dimension: number): Value {
  const vs = xs.map((x) => toValue('concatenate', x));
  if (vs.length === 0) throw new ShapeError('concatenate: needs at least one operand');
  return bind1('concatenate', vs, { dimension: normAxis('concatenate', dimension, vs[0].ndim) });
}

// ------------------------------------------------------------------ indexing

/** `dynamicSlice(x, startIndices, sliceSizes)`: starts (numbers or int32 scalars) are clamped so the slice fits. */
export function dynamicSlice(x: ArrayLike, starts: readonly (number | Value)[], sliceSizes: readonly number[]): Value {
  return bind1('dynamic_slice', [toValue('dynamicSlice', x), ...startIndices('dynamicSlice', starts)], { sliceSizes: [...sliceSizes] });
}
/** `dynamicUpdateSlice(x, update, startIndices)`: x with `update` written at the (clamped) starts. */
export function dynamicUpdateSlice(x: ArrayLike, update: ArrayLike, starts: readonly (number | Value)[]): Value {
  const [v, u] = laxOperands('dynamicUpdateSlice', [x, update]);
  return bind1('dynamic_update_slice', [v, u, ...startIndices('dynamicUpdateSlice', starts)], {});
}
/**
 * `gather(x, indices, axis)`, this project's take-style gather (not XLA's general form):
 * `out[pre…, j…, post…] = x[pre…, indices[j…], post…]` along `axis`, so the output shape is
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`. Negative indices count from the end;
 * out-of-range indices are clamped. Indices are int32 (JS numbers/lists are converted).
 */
export function gather(x: ArrayLike, indices: ArrayLike, axis: number): Value {
  const v = toValue('gather', x);
  return bind1('gather', [v, intOperand('gather', indices)], { axis: normAxis('gather', axis, v.ndim) });
}
/**
 * `scatterAdd(x, indices, updates, axis)`, the transpose of `gather`: adds each
 * `updates[pre…, j…, post…]` into `x[pre…, indices[j…], post…]` (repeated indices accumulate;
 * same index conventions as `gather`). `updates` has gather's output shape and x's dtype.
 */
export function scatterAdd(x: ArrayLike, indices: ArrayLike, updates: ArrayLike, axis: number): Value {
  const [v, u] = laxOperands('scatterAdd', [x, updates]);
  return bind1('scatter_add', [v, intOperand('scatterAdd', indices), u], { axis: normAxis('scatterAdd', axis, v.ndim) });
}

// ------------------------------------------------------------------ reductions, scans, sort

type ReduceName = 'reduce_sum' | 'reduce_max' | 'reduce_min' | 'reduce_prod';
const reducer = (prim: ReduceName, op: string) => (x: ArrayLike, axes: number | readonly number[]): Value => {
  const v = toValue(op, x);
  return bind1(prim, [v], { axes: normAxes(op, axes, v.ndim) });
};
/** Sum over `axes` (removed from the shape). */
export const reduceSum = reducer('reduce_sum', 'reduceSum');
/** Maximum over `axes` (NaN-propagating). */
export const reduceMax = reducer('reduce_max', 'reduceMax');
/** Minimum over `axes` (NaN-propagating). */
export const reduceMin = reducer('reduce_min', 'reduceMin');
/** Product over `axes`. */
export const reduceProd = reducer('reduce_prod', 'reduceProd');

/** Index of the maximum along `axis` (first occurrence wins ties; NaN counts as the maximum). */
export function argmax(x: ArrayLike, axis: number, indexDtype: DType = 'int32'): Value {
  const v = toValue('argmax', x);
  return bind1('argmax', [v], { axis: normAxis('argmax', axis, v.ndim), indexDtype });
}
/** Index of the minimum along `axis` (first occurrence wins ties; NaN counts as the minimum). */
export function argmin(x: ArrayLike, axis: number, indexDtype: DType = 'int32'): Value {
  const v = toValue('argmin', x);
  return bind1('argmin', [v], { axis: normAxis('argmin', axis, v.ndim), indexDtype });
}

type CumName = 'cumsum' | 'cumprod' | 'cummax' | 'cummin';
const cumulative = (prim: CumName) => (x: ArrayLike, axis = 0, reverse = false): Value => {
  const v = toValue(prim, x);
  return bind1(prim, [v], { axis: normAxis(prim, axis, v.ndim), reverse });
};
/** Inclusive cumulative sum along `axis` (from the end when `reverse`). */
export const cumsum = cumulative('cumsum');
/** Inclusive cumulative product along `axis`. */
export const cumprod = cumulative('cumprod');
/** Inclusive running maximum along `axis`. */
export const cummax = cumulative('cummax');
/** Inclusive running minimum along `axis`. */
export const cummin = cumulative('cummin');

/**
 * Stable ascending sort along `dimension` (NaNs last). With an array of operands, the first
 * is the key and the second (at most one) is carried along: `sort([x, iota])` is argsort.
 */
export function sort(operand: ArrayLike, dimension?: number): Value;
export function sort(operands: readonly ArrayLike[], dimension?: number): Value[];
export function sort(operands: ArrayLike | readonly ArrayLike[], dimension = -1): Value | Value[] {
  // A JS array holding arrays/tracers is a list of operands; anything else (nested numbers) is one operand.
  const single = !(Array.isArray(operands) && operands.some((x) => x instanceof Value));
  const vs = single ? [toValue('sort', operands as ArrayLike)] : (operands as readonly ArrayLike[]).map((x) => toValue('sort', x));
  if (vs.length === 0) throw new ShapeError('sort: needs at least one operand');
  const out = bind('sort', vs, { dimension: normAxis('sort', dimension, vs[0].ndim), numOperands: vs.length });
  return single ? out[0] : out;
}

// ------------------------------------------------------------------ windows: pooling

/** Output-preserving padding of a windowed op, exactly as jax.lax.padtype_to_pads. */
export function padtypeToPads(inShape: readonly number[], windowShape: readonly number[], windowStrides: readonly number[], padding: 'SAME' | 'VALID' | 'SAME_LOWER'): [number, number][] {
  const p = String(padding).toUpperCase();
  if (p === 'VALID') return inShape.map(() => [0, 0]);
  if (p !== 'SAME' && p !== 'SAME_LOWER') throw new ValueError(`padtypeToPads: unknown padding type '${padding}' (expected 'SAME', 'SAME_LOWER', 'VALID' or [low, high] pairs)`);
  return inShape.map((n, d) => {
    const out = Math.ceil(n / windowStrides[d]);
    const total = Math.max(0, (out - 1) * windowStrides[d] + windowShape[d] - n);
    const half = Math.floor(total / 2);
    return p === 'SAME' ? [half, total - half] : [total - half, half];
  });
}

function checkLen(op: string, what: string, xs: readonly unknown[], n: number, shape: readonly number[]): void {
  if (xs.length !== n) throw new ShapeError(`${op}: ${what} has ${xs.length} entries but ${n} are needed for an operand of shape ${fmtShape(shape)}`);
}

/** Options of `reduceWindow`. */
export interface WindowOptions {
  /** Dilation of the operand (holes read as the reduction's identity); default 1s. */
  baseDilation?: readonly number[];
  /** Dilation of the window (atrous pooling); default 1s. */
  windowDilation?: readonly number[];
}

/**
 * `reduceWindow(x, op, windowDimensions, windowStrides?, padding?, opts?)`: pooling with
 * 'sum' | 'max' | 'min' over every dim of `x` (padding reads as the identity: 0, −∞, +∞).
 * String padding follows jax.lax.reduce_window: pads computed from the undilated operand shape
 * and the dilated window. Average pooling is `reduceWindow(x, 'sum', …) / count`.
 */
export function reduceWindow(x: ArrayLike, op: 'sum' | 'max' | 'min', windowDimensions: readonly number[], windowStrides?: readonly number[], padding: Padding = 'VALID', opts: WindowOptions = {}): Value {
  const v = toValue('reduceWindow', x);
  const nd = v.ndim;
  const strides = windowStrides ? [...windowStrides] : v.shape.map(() => 1);
  const baseDilation = opts.baseDilation ? [...opts.baseDilation] : v.shape.map(() => 1);
  const windowDilation = opts.windowDilation ? [...opts.windowDilation] : v.shape.map(() => 1);
  checkLen('reduceWindow', 'windowDimensions', windowDimensions, nd, v.shape);
  checkLen('reduceWindow', 'windowStrides', strides, nd, v.shape);
  checkLen('reduceWindow', 'windowDilation', windowDilation, nd, v.shape);
  checkLen('reduceWindow', 'baseDilation', baseDilation, nd, v.shape);
  const pads = typeof padding === 'string'
    ? padtypeToPads(v.shape, windowDimensions.map((w, d) => (w - 1) * windowDilation[d] + 1), strides, padding)
    : padding.map(([lo, hi]) => [lo, hi] as [number, number]);
  checkLen('reduceWindow', 'padding', pads, nd, v.shape);
  const prim = op === 'sum' ? 'reduce_window_sum' : op === 'max' ? 'reduce_window_max' : op === 'min' ? 'reduce_window_min' : null;
  if (!prim) throw new ValueError(`reduceWindow: op must be 'sum', 'max' or 'min', got '${op}'`);
  return bind1(prim, [v], { windowDimensions: [...windowDimensions], windowStrides: strides, padding: pads, baseDilation, windowDilation });
}

// ------------------------------------------------------------------ contractions

/** `dotGeneral(lhs, rhs, [[lhsContract, rhsContract], [lhsBatch, rhsBatch]])` (JAX's tuple form; negative dims allowed). Output: batch, lhs free, rhs free. */
export function dotGeneral(lhs: ArrayLike, rhs: ArrayLike, dimensionNumbers: readonly [readonly [readonly number[], readonly number[]], readonly [readonly number[], readonly number[]]]): Value {
  const a = toValue('dotGeneral', lhs), b = toValue('dotGeneral', rhs);
  const [[lc, rc], [lb, rb] = [[], []]] = dimensionNumbers;
  const na = (ds: readonly number[]) => ds.map((d) => normAxis('dotGeneral', d, a.ndim));
  const nb = (ds: readonly number[]) => ds.map((d) => normAxis('dotGeneral', d, b.ndim));
  return bind1('dot_general', [a, b], { dimensionNumbers: { contracting: [na(lc), nb(rc)], batch: [na(lb), nb(rb)] } });
}

/** Convolution dimension numbers: JAX strings like `['NHWC', 'HWIO', 'NHWC']`, or axis lists. */
export type ConvDimensionSpec = readonly [string, string, string] | ConvDimensionNumbers;

/**
 * Resolve dimension numbers as jax.lax.conv_dimension_numbers: undefined gives the canonical
 * NC…/OI…/NC… layout; in the string form spatial dims are ordered as they appear in the rhs spec.
 */
export function convDimensionNumbers(lhsShape: readonly number[], rhsShape: readonly number[], dn?: ConvDimensionSpec): ConvDimensionNumbers {
  const nd = lhsShape.length;
  if (rhsShape.length !== nd) throw new ShapeError(`convGeneralDilated: lhs ${fmtShape(lhsShape)} and rhs ${fmtShape(rhsShape)} must have the same rank`);
  if (dn === undefined) {
    const canon = [...Array(nd).keys()];
    return { lhsSpec: canon, rhsSpec: canon, outSpec: canon };
  }
  if (!Array.isArray(dn)) return dn as ConvDimensionNumbers;
  const [ls, rs, os] = dn as readonly [string, string, string];
  const pairs: [string, string][] = [['N', 'C'], ['O', 'I'], ['N', 'C']];
  [ls, rs, os].forEach((s, i) => {
    const [a, b] = pairs[i];
    if (typeof s !== 'string' || s.split(a).length !== 2 || s.split(b).length !== 2)
      throw new ValueError(`convGeneralDilated: dimension_numbers[${i}] must contain '${a}' and '${b}' exactly once, got ${JSON.stringify(s)}`);
    if (new Set(s).size !== s.length) throw new ValueError(`convGeneralDilated: dimension_numbers[${i}] must not repeat characters, got '${s}'`);
    if (s.length !== nd) throw new ShapeError(`convGeneralDilated: dimension_numbers[${i}] '${s}' has ${s.length} dims but the operands have rank ${nd} (lhs ${fmtShape(lhsShape)}, rhs ${fmtShape(rhsShape)})`);
  });
  const spatial = (s: string, [a, b]: [string, string]) => [...s].filter((c) => c !== a && c !== b).sort().join('');
  if (spatial(ls, pairs[0]) !== spatial(rs, pairs[1]) || spatial(rs, pairs[1]) !== spatial(os, pairs[2]))
    throw new ValueError(`convGeneralDilated: dimension_numbers must use the same spatial characters, got ${JSON.stringify(dn)}`);
  const rhsSpatial = [...rs].filter((c) => c !== 'O' && c !== 'I');
  const perm = (s: string, [a, b]: [string, string]) => [s.indexOf(a), s.indexOf(b), ...rhsSpatial.map((c) => s.indexOf(c))];
  return { lhsSpec: perm(ls, pairs[0]), rhsSpec: perm(rs, pairs[1]), outSpec: perm(os, pairs[2]) };
}

/** Options of `convGeneralDilated`. */
export interface ConvOptions {
  /** Input dilation per spatial dim (transposed convolution); default 1s. */
  lhsDilation?: readonly number[];
  /** Kernel dilation per spatial dim (atrous convolution); default 1s. */
  rhsDilation?: readonly number[];
  /** Layouts, e.g. `['NHWC', 'HWIO', 'NHWC']`; default NC…, OI…, NC…. */
  dimensionNumbers?: ConvDimensionSpec;
  /** Grouped / depthwise convolution: lhs features split into this many groups; default 1. */
  featureGroupCount?: number;
  /** Batch groups (used by kernel gradients of grouped convolutions); default 1. */
  batchGroupCount?: number;
}

/**
 * `convGeneralDilated(lhs, rhs, windowStrides, padding, opts?)`, as jax.lax.conv_general_dilated
 * (cross-correlation, no kernel flip). String padding uses `padtypeToPads` on the lhs spatial
 * shape and the rhs-dilated kernel, and is rejected with lhs dilation (as in JAX: give explicit
 * pads or use `convTranspose`). Strides, padding and dilations follow the rhs spec's spatial order.
 */
export function convGeneralDilated(lhs: ArrayLike, rhs: ArrayLike, windowStrides: readonly number[] | undefined, padding: Padding, opts: ConvOptions = {}): Value {
  const l = toValue('convGeneralDilated', lhs), r = toValue('convGeneralDilated', rhs);
  const dn = convDimensionNumbers(l.shape, r.shape, opts.dimensionNumbers);
  const ns = l.ndim - 2;
  if (ns < 0) throw new ShapeError(`convGeneralDilated: operands must have rank >= 2, got lhs ${fmtShape(l.shape)}, rhs ${fmtShape(r.shape)}`);
  const ones = new Array<number>(ns).fill(1);
  const strides = windowStrides ? [...windowStrides] : ones;
  const lhsDilation = opts.lhsDilation ? [...opts.lhsDilation] : ones;
  const rhsDilation = opts.rhsDilation ? [...opts.rhsDilation] : ones;
  const desc = `lhs ${fmtShape(l.shape)}, rhs ${fmtShape(r.shape)}`;
  for (const [name, xs] of [['windowStrides', strides], ['lhsDilation', lhsDilation], ['rhsDilation', rhsDilation]] as const)
    if (xs.length !== ns) throw new ShapeError(`convGeneralDilated: ${name} has ${xs.length} entries but there are ${ns} spatial dims (${desc})`);
  let pads: [number, number][];
  if (typeof padding === 'string') {
    if (lhsDilation.some((d) => d !== 1))
      throw new ValueError(`convGeneralDilated: string padding '${padding}' is not supported with lhsDilation ${fmtShape(lhsDilation)}; give explicit [low, high] pads or use convTranspose`);
    const inSpatial = dn.lhsSpec.slice(2).map((d) => l.shape[d]);
    const kernel = dn.rhsSpec.slice(2).map((d, i) => (r.shape[d] - 1) * rhsDilation[i] + 1);
    pads = padtypeToPads(inSpatial, kernel, strides, padding);
  } else {
    pads = padding.map(([lo, hi]) => [lo, hi]);
    if (pads.length !== ns) throw new ShapeError(`convGeneralDilated: padding has ${pads.length} pairs but there are ${ns} spatial dims (${desc})`);
  }
  return bind1('conv_general_dilated', [l, r], {
    windowStrides: strides, padding: pads, lhsDilation, rhsDilation, dimensionNumbers: dn,
    featureGroupCount: opts.featureGroupCount ?? 1, batchGroupCount: opts.batchGroupCount ?? 1,
  });
}

/** `conv(lhs, rhs, windowStrides, padding)`: convGeneralDilated with NC…/OI…/NC… layouts (jax.lax.conv). */
export function conv(lhs: ArrayLike, rhs: ArrayLike, windowStrides: readonly number[], padding: Padding): Value {
  return convGeneralDilated(lhs, rhs, windowStrides, padding);
}

/** Options of `convTranspose`. */
export interface ConvTransposeOptions {
  rhsDilation?: readonly number[];
  /** Default as jax.lax.conv_transpose: ('NC','IO','NC'), ('NHC','HIO','NHC'), ('NHWC','HWIO','NHWC'), ('NHWDC','HWDIO','NHWDC'). */
  dimensionNumbers?: ConvDimensionSpec;
  /** Flip the kernel spatially and swap its I/O dims (the gradient of a forward conv); default false. */
  transposeKernel?: boolean;
}

const TRANSPOSE_DEFAULT: Record<number, readonly [string, string, string]> = {
  2: ['NC', 'IO', 'NC'], 3: ['NHC', 'HIO', 'NHC'], 4: ['NHWC', 'HWIO', 'NHWC'], 5: ['NHWDC', 'HWDIO', 'NHWDC'],
};

/**
 * `convTranspose(lhs, rhs, strides, padding, opts?)`, as jax.lax.conv_transpose: a convolution
 * with `lhsDilation = strides`; 'SAME' / 'VALID' pads come from the dilated kernel size.
 */
export function convTranspose(lhs: ArrayLike, rhs: ArrayLike, strides: readonly number[], padding: Padding, opts: ConvTransposeOptions = {}): Value {
  const l = toValue('convTranspose', lhs);
  let r = toValue('convTranspose', rhs);
  const spec = opts.dimensionNumbers ?? TRANSPOSE_DEFAULT[l.ndim];
  if (!spec) throw new ShapeError(`convTranspose: no default dimension numbers for rank ${l.ndim}; pass dimensionNumbers`);
  const dn = convDimensionNumbers(l.shape, r.shape, spec);
  const ns = l.ndim - 2;
  const rhsDilation = opts.rhsDilation ? [...opts.rhsDilation] : new Array<number>(ns).fill(1);
  if (strides.length !== ns || rhsDilation.length !== ns)
    throw new ShapeError(`convTranspose: strides ${fmtShape(strides)} and rhsDilation ${fmtShape(rhsDilation)} need ${ns} entries (lhs ${fmtShape(l.shape)}, rhs ${fmtShape(r.shape)})`);
  let pads: readonly (readonly [number, number])[];
  if (typeof padding === 'string') {
    const p = padding.toUpperCase();
    if (p !== 'SAME' && p !== 'VALID') throw new ValueError(`convTranspose: padding must be 'SAME', 'VALID' or [low, high] pairs, got '${padding}'`);
    pads = dn.rhsSpec.slice(2).map((d, i) => {
      const k = (r.shape[d] - 1) * rhsDilation[i] + 1, s = strides[i];
      const len = p === 'SAME' ? k + s - 2 : k + s - 2 + Math.max(k - s, 0);
      const lo = p === 'SAME' && s <= k - 1 ? Math.ceil(len / 2) : k - 1;
      return [lo, len - lo] as const;
    });
  } else pads = padding;
  if (opts.transposeKernel) {
    r = bind1('rev', [r], { dimensions: dn.rhsSpec.slice(2) });
    const perm = [...Array(r.ndim).keys()];
    [perm[dn.rhsSpec[0]], perm[dn.rhsSpec[1]]] = [perm[dn.rhsSpec[1]], perm[dn.rhsSpec[0]]];
    r = bind1('transpose', [r], { permutation: perm });
  }
  return convGeneralDilated(l, r, new Array<number>(ns).fill(1), pads, { lhsDilation: strides, rhsDilation, dimensionNumbers: dn });
}

// ------------------------------------------------------------------ random bits

/** The Threefry-2x32 block cipher on uint32 key words (k0, k1) and counter words (x0, x1); returns [y0, y1]. */
export function threefry2x32(k0: ArrayLike, k1: ArrayLike, x0: ArrayLike, x1: ArrayLike): [Value, Value] {
  const xs = [k0, k1, x0, x1];
  const ref = xs.find((x): x is Value => x instanceof Value);
  const vs = xs.map((x) => {
    if (x instanceof Value) return x;
    if (typeof x === 'number') {
      const s = scalar(x >>> 0, 'uint32');
      return ref && ref.ndim > 0 ? bind1('broadcast_in_dim', [s], { shape: ref.shape, broadcastDimensions: [] }) : s;
    }
    return array(x, 'uint32') as Value;
  });
  const [y0, y1] = bind('threefry2x32', vs, {});
  return [y0, y1];
}

/** `stopGradient(x)`: x itself, with a zero derivative (any pytree of arrays; non-float leaves pass through). */
export function stopGradient<T>(x: T): T {
  const one = (v: unknown) => {
    const a = toValue('stopGradient', v as ArrayLike);
    return a.dtype === 'float32' ? bind1('stop_gradient', [a], {}) : a;
  };
  return (x instanceof Value || typeof x === 'number' ? one(x) : tree.map(one, x as tree.PyTree<unknown>)) as T;
}
