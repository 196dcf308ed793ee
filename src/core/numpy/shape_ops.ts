/**
 * NumPy-style shape manipulation: reshape, transpose, axis moves, joins and splits,
 * padding, take / repeat / tile and flips, all built on the movement and indexing
 * primitives. Eagerly, reshapes of row-major views, transposes, axis insertions and
 * removals, flips and split pieces are zero-copy views of their operand's buffer.
 */
import { promote, type DType } from '../dtype.js';
import { NDArray } from '../array.js';
import { AxisError, DeviceError, DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { broadcastShapes, normAxes, normAxis, prod, shapeEq } from '../shape.js';
import { bind1 } from '../trace/trace.js';
import { Value } from '../trace/value.js';
import { array, toValue, type ArrayLike } from './convert.js';
import { iota } from './creation.js';
import { add, broadcastTo, clip, convert, less, mod, mul, where } from './elementwise.js';

type Axes = number | readonly number[];

/** How `take` treats indices outside `[0, n)`. */
export type TakeMode = 'clamp' | 'wrap' | 'clip';
/** `pad` modes (NumPy names). */
export type PadMode = 'constant' | 'edge' | 'reflect' | 'symmetric' | 'wrap';
/** NumPy's `pad_width`: `n`, `[n]`, `[before, after]`, or one `[before, after]` (or `[n]`) per axis. */
export type PadWidth = number | readonly number[] | readonly (readonly number[])[];
export interface PadOptions {
  mode?: PadMode;
  /** The fill value of mode 'constant' (a scalar, cast to the array's dtype); default 0. */
  constantValue?: number | boolean | Value;
}

declare module '../trace/value.js' {
  interface Value {
    /** `x.reshape([2, 3])` or `x.reshape(2, 3)`; one -1 is inferred. */
    reshape(shape: number | readonly number[]): Value;
    reshape(...shape: number[]): Value;
    /** `x.transpose()` reverses the axes; `x.transpose([1, 0])` or `x.transpose(1, 0)` permutes them. */
    transpose(axes?: readonly number[] | null): Value;
    transpose(...axes: number[]): Value;
    swapaxes(axis1: number, axis2: number): Value;
    moveaxis(source: Axes, destination: Axes): Value;
    expandDims(axis: Axes): Value;
    squeeze(axis?: Axes | null): Value;
    ravel(): Value;
    flatten(): Value;
    take(indices: ArrayLike, axis?: number | null, mode?: TakeMode): Value;
    flip(axis?: Axes | null): Value;
    tile(reps: number | readonly number[]): Value;
    repeat(repeats: number | readonly number[] | Value, axis?: number | null): Value;
    pad(padWidth: PadWidth, options?: PadOptions): Value;
  }
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Insert/remove size-1 dims or re-split a row-major array (a view where possible). */
function reshapeTo(v: Value, shape: readonly number[]): Value {
  return shapeEq(v.shape, shape) ? v : bind1('reshape', [v], { newSizes: shape });
}

/** `reshape(x, shape)`: one entry may be -1 and is inferred from the size. */
export function reshape(x: ArrayLike, shape: number | readonly number[]): Value {
  const v = toValue('reshape', x);
  const s = typeof shape === 'number' ? [shape] : [...shape];
  const bad = (why: string) => new ShapeError(`reshape: cannot reshape array of shape ${fmtShape(v.shape)} (size ${v.size}) into shape ${fmtShape(s)}: ${why}`);
  if (!s.every((d) => isInt(d) && d >= -1)) throw bad('dims must be non-negative integers or a single -1');
  const unknown = s.filter((d) => d === -1).length;
  if (unknown > 1) throw bad('can only specify one unknown dimension (-1)');
  if (unknown === 1) {
    const known = prod(s.filter((d) => d !== -1));
    if (known === 0 || v.size % known !== 0) throw bad(known === 0 ? 'the unknown dimension (-1) is ambiguous for size-0 shapes' : `size ${v.size} is not a multiple of ${known}`);
    s[s.indexOf(-1)] = v.size / known;
  } else if (prod(s) !== v.size) throw bad(`sizes differ (${v.size} vs ${prod(s)})`);
  return reshapeTo(v, s);
}

/** `transpose(x, axes?)`: permute the axes (negative allowed); the default reverses them. */
export function transpose(x: ArrayLike, axes?: readonly number[] | null): Value {
  const v = toValue('transpose', x);
  if (axes === undefined || axes === null) axes = [...Array(v.ndim).keys()].reverse();
  if (axes.length !== v.ndim) throw new AxisError(`transpose: axes ${JSON.stringify(axes)} don't match an array of shape ${fmtShape(v.shape)} (expected ${v.ndim} axes)`);
  const perm = axes.map((a) => normAxis('transpose', a, v.ndim));
  if (new Set(perm).size !== perm.length) throw new AxisError(`transpose: repeated axis in ${JSON.stringify(axes)}`);
  return perm.every((p, i) => p === i) ? v : bind1('transpose', [v], { permutation: perm });
}

/** `swapaxes(x, axis1, axis2)`. */
export function swapaxes(x: ArrayLike, axis1: number, axis2: number): Value {
  const v = toValue('swapaxes', x);
  const a = normAxis('swapaxes', axis1, v.ndim), b = normAxis('swapaxes', axis2, v.ndim);
  const perm = [...Array(v.ndim).keys()];
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return transpose(v, perm);
}

/** `moveaxis(x, source, destination)`: move axes to new positions, the others keep their order. */
export function moveaxis(x: ArrayLike, source: Axes, destination: Axes): Value {
  const v = toValue('moveaxis', x);
  const norm = (a: Axes, what: string) => {
    const list = (typeof a === 'number' ? [a] : a).map((d) => normAxis('moveaxis', d, v.ndim));
    if (new Set(list).size !== list.length) throw new AxisError(`moveaxis: repeated axis in ${what} ${JSON.stringify(a)}`);
    return list;
  };
  const src = norm(source, 'source'), dst = norm(destination, 'destination');
  if (src.length !== dst.length)
    throw new AxisError(`moveaxis: source ${JSON.stringify(source)} and destination ${JSON.stringify(destination)} must have the same number of elements`);
  const order = [...Array(v.ndim).keys()].filter((d) => !src.includes(d));
  dst.map((d, i) => [d, src[i]] as const).sort((p, q) => p[0] - q[0]).forEach(([d, s]) => order.splice(d, 0, s));
  return transpose(v, order);
}

/** `expandDims(x, axis)`: insert size-1 dims at the given positions of the result. */
export function expandDims(x: ArrayLike, axis: Axes): Value {
  const v = toValue('expandDims', x);
  const outNdim = v.ndim + (typeof axis === 'number' ? 1 : axis.length);
  const axes = normAxes('expandDims', axis, outNdim);
  const rest = [...v.shape];
  return reshapeTo(v, Array.from({ length: outNdim }, (_, d) => (axes.includes(d) ? 1 : rest.shift()!)));
}

/** `squeeze(x, axis?)`: remove the given size-1 dims (all size-1 dims by default). */
export function squeeze(x: ArrayLike, axis?: Axes | null): Value {
  const v = toValue('squeeze', x);
  let axes: number[];
  if (axis === undefined || axis === null) axes = v.shape.flatMap((n, d) => (n === 1 ? [d] : []));
  else {
    axes = normAxes('squeeze', axis, v.ndim);
    for (const d of axes)
      if (v.shape[d] !== 1) throw new ShapeError(`squeeze: cannot squeeze axis ${d} of size ${v.shape[d]} in shape ${fmtShape(v.shape)} (only size-1 axes can be removed)`);
  }
  return reshapeTo(v, v.shape.filter((_, d) => !axes.includes(d)));
}

/** `ravel(x)`: the elements as a 1-D array in row-major order (a view when `x` is row-major). */
export function ravel(x: ArrayLike): Value {
  const v = toValue('ravel', x);
  return reshapeTo(v, [v.size]);
}
/** `flatten(x)`: same as `ravel` (arrays are immutable, so NumPy's copy/view distinction does not arise). */
export function flatten(x: ArrayLike): Value {
  return ravel(toValue('flatten', x));
}

/** Promote operands to one dtype (JAX's lattice, weak types included) without broadcasting. */
function promoteDTypes(op: string, xs: readonly ArrayLike[]): Value[] {
  if (!Array.isArray(xs) || xs.length === 0) throw new ValueError(`${op}: needs a non-empty list of arrays`);
  const vs = xs.map((x) => toValue(op, x));
  let t: { dtype: DType; weak: boolean } = { dtype: vs[0].dtype, weak: vs[0].weakType };
  for (const v of vs.slice(1)) t = promote(t.dtype, t.weak, v.dtype, v.weakType);
  return vs.map((v) => convert(v, t.dtype, t.weak));
}

/** `concatenate(xs, axis = 0)`: join along an existing axis (dtypes promoted); `axis = null` flattens first. */
export function concatenate(xs: readonly ArrayLike[], axis: number | null = 0): Value {
  let vs = promoteDTypes('concatenate', xs);
  if (axis === null) {
    vs = vs.map(ravel);
    axis = 0;
  }
  const r = vs[0];
  if (vs.some((v) => v.ndim === 0)) throw new ShapeError('concatenate: zero-dimensional arrays cannot be concatenated');
  const dim = normAxis('concatenate', axis, r.ndim);
  for (const v of vs)
    if (v.ndim !== r.ndim || v.shape.some((n, d) => d !== dim && n !== r.shape[d]))
      throw new ShapeError(`concatenate: shapes ${vs.map((a) => fmtShape(a.shape)).join(', ')} must match except along axis ${dim}`);
  const nonEmpty = vs.filter((v) => v.shape[dim] > 0);
  const parts = nonEmpty.length > 0 ? nonEmpty : [r];
  return parts.length === 1 ? parts[0] : bind1('concatenate', parts, { dimension: dim });
}

/** `stack(xs, axis = 0)`: join equally shaped arrays along a new axis. */
export function stack(xs: readonly ArrayLike[], axis = 0): Value {
  const vs = promoteDTypes('stack', xs);
  if (vs.some((v) => !shapeEq(v.shape, vs[0].shape)))
    throw new ShapeError(`stack: all input arrays must have the same shape, got ${vs.map((v) => fmtShape(v.shape)).join(', ')}`);
  const ax = normAxis('stack', axis, vs[0].ndim + 1);
  return concatenate(vs.map((v) => expandDims(v, ax)), ax);
}

/** The zero-copy slice `[start, stop)` of one axis (0 <= start <= stop <= n). */
function sliceAxis(v: Value, axis: number, start: number, stop: number): Value {
  if (start === 0 && stop === v.shape[axis]) return v;
  const startIndices = v.shape.map((_, d) => (d === axis ? start : 0));
  const limitIndices = v.shape.map((n, d) => (d === axis ? stop : n));
  return bind1('slice', [v], { startIndices, limitIndices, strides: v.shape.map(() => 1) });
}

/**
 * `split(x, indicesOrSections, axis = 0)` (NumPy): an integer k cuts the axis into k equal
 * parts and must divide it; a list of split points cuts before each point (points are
 * Python slice bounds: negative counts from the end, out of range clamps, a point before
 * its predecessor gives an empty piece). The pieces are zero-copy views.
 */
export function split(x: ArrayLike, indicesOrSections: number | readonly number[], axis = 0): Value[] {
  const v = toValue('split', x);
  if (v.ndim === 0) throw new ShapeError('split: cannot split a zero-dimensional array');
  const ax = normAxis('split', axis, v.ndim);
  const n = v.shape[ax];
  if (typeof indicesOrSections === 'number') {
    const k = indicesOrSections;
    if (!isInt(k) || k <= 0) throw new ValueError(`split: number of sections must be a positive integer, got ${k}`);
    if (n % k !== 0) throw new ShapeError(`split: array split does not result in an equal division: axis ${ax} of size ${n} into ${k} sections`);
    return Array.from({ length: k }, (_, i) => sliceAxis(v, ax, (i * n) / k, ((i + 1) * n) / k));
  }
  if (!indicesOrSections.every(isInt)) throw new ValueError(`split: split points must be integers, got ${JSON.stringify(indicesOrSections)}`);
  const clampPoint = (p: number) => Math.min(Math.max(p < 0 ? p + n : p, 0), n);
  const bounds = [0, ...indicesOrSections.map(clampPoint), n];
  return bounds.slice(1).map((stop, i) => sliceAxis(v, ax, bounds[i], Math.max(bounds[i], stop)));
}

/** Per-axis [before, after] widths from NumPy's pad_width forms. */
function padPairs(padWidth: PadWidth, ndim: number): [number, number][] {
  const bad = () => new ValueError(`pad: invalid padWidth ${JSON.stringify(padWidth)} for an array of rank ${ndim}; expected n, [before, after] or one [before, after] per axis, non-negative integers`);
  const pair = (p: unknown): [number, number] => {
    if (isInt(p)) return [p, p];
    if (Array.isArray(p) && p.length === 1 && isInt(p[0])) return [p[0], p[0]];
    if (Array.isArray(p) && p.length === 2 && isInt(p[0]) && isInt(p[1])) return [p[0], p[1]];
    throw bad();
  };
  let pairs: [number, number][];
  if (!Array.isArray(padWidth) || padWidth.every((p) => typeof p === 'number')) pairs = Array(ndim).fill(pair(padWidth));
  else if (padWidth.length === 1) pairs = Array(ndim).fill(pair(padWidth[0]));
  else if (padWidth.length === ndim) pairs = padWidth.map(pair);
  else throw bad();
  if (pairs.some(([a, b]) => a < 0 || b < 0)) throw bad();
  return pairs;
}

/** Source index of padded position p (relative to the original start) for the non-constant modes. */
function padSource(mode: Exclude<PadMode, 'constant'>, p: number, n: number): number {
  const m = (a: number, b: number) => ((a % b) + b) % b;
  switch (mode) {
    case 'edge': return Math.min(Math.max(p, 0), n - 1);
    case 'wrap': return m(p, n);
    case 'symmetric': {
      const r = m(p, 2 * n);
      return r < n ? r : 2 * n - 1 - r;
    }
    case 'reflect': {
      if (n === 1) return 0;
      const r = m(p, 2 * (n - 1));
      return r < n ? r : 2 * (n - 1) - r;
    }
  }
}

/**
 * `pad(x, padWidth, { mode, constantValue })` (NumPy's `np.pad`). Modes: 'constant' (the
 * default, with `constantValue`, default 0), 'edge' (repeat the border), 'reflect'
 * (mirror without repeating the border), 'symmetric' (mirror repeating it), 'wrap'
 * (periodic). Widths larger than the axis repeat the pattern as NumPy does.
 */
export function pad(x: ArrayLike, padWidth: PadWidth, options: PadOptions = {}): Value {
  const v = toValue('pad', x);
  const { mode = 'constant', constantValue = 0 } = options;
  const pairs = padPairs(padWidth, v.ndim);
  if (mode === 'constant') {
    const c = toValue('pad', constantValue);
    if (c.ndim !== 0) throw new ShapeError(`pad: constantValue must be a scalar, got shape ${fmtShape(c.shape)}`);
    if (pairs.every(([a, b]) => a === 0 && b === 0)) return v;
    return bind1('pad', [v, convert(c, v.dtype, v.weakType)], { config: pairs.map(([a, b]) => [a, b, 0] as const) });
  }
  if (!['edge', 'reflect', 'symmetric', 'wrap'].includes(mode))
    throw new ValueError(`pad: unknown mode ${JSON.stringify(mode)}; expected 'constant', 'edge', 'reflect', 'symmetric' or 'wrap'`);
  let out = v;
  pairs.forEach(([before, after], d) => {
    if (before === 0 && after === 0) return;
    const n = v.shape[d];
    if (n === 0) throw new ShapeError(`pad: can't extend empty axis ${d} of shape ${fmtShape(v.shape)} using mode '${mode}' (only 'constant' can)`);
    const src = Array.from({ length: before + n + after }, (_, i) => padSource(mode, i - before, n));
    out = bind1('gather', [out, array(Int32Array.from(src), 'int32')], { axis: d });
  });
  return out;
}

/** Walk JS index data, rejecting non-integers and booleans (NumPy's "arrays used as indices must be of integer type"). */
function checkIntData(op: string, data: unknown): void {
  if (typeof data === 'number') {
    if (!Number.isInteger(data)) throw new DTypeError(`${op}: indices must be integers, got ${data}`);
  } else if (Array.isArray(data)) data.forEach((d) => checkIntData(op, d));
  else if (ArrayBuffer.isView(data)) {
    for (const d of data as unknown as Iterable<number>) checkIntData(op, d);
  } else throw new DTypeError(`${op}: indices must be integers, got ${typeof data}`);
}

/** Indices as an int32 array: int32/uint32 arrays, JS integers, nested lists or typed arrays. */
function toIndexArray(op: string, indices: ArrayLike): Value {
  if (indices instanceof Value) {
    if (indices.dtype === 'int32') return indices;
    if (indices.dtype === 'uint32') return convert(indices, 'int32');
    throw new DTypeError(`${op}: indices must be an integer array, got ${indices.aval.str()}`);
  }
  checkIntData(op, indices);
  return array(indices, 'int32');
}

/**
 * `take(x, indices, axis?, mode = 'clamp')`: elements of `x` at `indices` along `axis`; the
 * result's shape is `x.shape[:axis] + indices.shape + x.shape[axis+1:]`. With `axis`
 * undefined or null, `x` is flattened first. Index modes for indices outside `[0, n)`:
 * - 'clamp' (default, the `gather` primitive's rule): a negative index counts from the end
 *   once (-1 is the last element), then anything still out of range is clamped to [0, n-1];
 * - 'wrap': indices are taken modulo n;
 * - 'clip': NumPy's `mode='clip'`: clamped to [0, n-1] (so negative indices give element 0).
 * Nothing raises for out-of-range indices (they may be traced values).
 */
export function take(x: ArrayLike, indices: ArrayLike, axis?: number | null, mode: TakeMode = 'clamp'): Value {
  let v = toValue('take', x);
  let ind = toIndexArray('take', indices);
  if (axis === undefined || axis === null) {
    v = ravel(v);
    axis = 0;
  }
  if (v.ndim === 0) throw new ShapeError('take: cannot take from a zero-dimensional array along an axis');
  const ax = normAxis('take', axis, v.ndim);
  const n = v.shape[ax];
  if (n === 0 && ind.size > 0) throw new ShapeError(`take: cannot take from an empty axis ${ax} of shape ${fmtShape(v.shape)}`);
  if (mode === 'wrap') ind = mod(ind, n);
  else if (mode === 'clip') ind = clip(ind, 0, Math.max(n - 1, 0));
  else if (mode !== 'clamp') throw new ValueError(`take: unknown mode ${JSON.stringify(mode)}; expected 'clamp', 'wrap' or 'clip'`);
  return bind1('gather', [v, ind], { axis: ax });
}

/**
 * `takeAlongAxis(x, indices, axis)` (NumPy's `take_along_axis`): `indices` has `x`'s rank;
 * the other axes broadcast, and `out[..., j, ...] = x[..., indices[..., j, ...], ...]`.
 * `axis = null` works on the flattened `x` with 1-D indices. Indices follow `take`'s
 * default 'clamp' rule.
 */
export function takeAlongAxis(x: ArrayLike, indices: ArrayLike, axis: number | null): Value {
  let v = toValue('takeAlongAxis', x);
  const ind = toIndexArray('takeAlongAxis', indices);
  if (axis === null) {
    if (ind.ndim !== 1) throw new ShapeError(`takeAlongAxis: with axis null the indices must be 1-D, got shape ${fmtShape(ind.shape)}`);
    v = ravel(v);
    axis = 0;
  }
  if (ind.ndim !== v.ndim)
    throw new ShapeError(`takeAlongAxis: indices ${fmtShape(ind.shape)} and array ${fmtShape(v.shape)} must have the same number of dimensions`);
  const ax = normAxis('takeAlongAxis', axis, v.ndim);
  const n = v.shape[ax], k = ind.shape[ax];
  const xm = moveaxis(v, ax, -1), im = moveaxis(ind, ax, -1);
  const batch = broadcastShapes('takeAlongAxis', xm.shape.slice(0, -1), im.shape.slice(0, -1));
  const rows = prod(batch);
  if (n === 0 && rows * k > 0) throw new ShapeError(`takeAlongAxis: cannot take from an empty axis ${ax} of shape ${fmtShape(v.shape)}`);
  // Normalise indices within a row, then offset each row into the flattened operand.
  const local = reshapeTo(broadcastTo(im, [...batch, k]), [rows, k]);
  const wrapped = clip(where(less(local, 0), add(local, n), local), 0, Math.max(n - 1, 0));
  const flat = add(mul(iota('int32', [rows, k], 0), n), wrapped);
  const src = reshapeTo(broadcastTo(xm, [...batch, n]), [rows * n]);
  const out = bind1('gather', [src, flat], { axis: 0 });
  return moveaxis(reshapeTo(out, [...batch, k]), -1, ax);
}

/** `tile(x, reps)`: repeat the whole array `reps[d]` times along each axis (NumPy's rank alignment). */
export function tile(x: ArrayLike, reps: number | readonly number[]): Value {
  const v = toValue('tile', x);
  const r = typeof reps === 'number' ? [reps] : [...reps];
  if (!r.every((k) => isInt(k) && k >= 0)) throw new ValueError(`tile: reps must be non-negative integers, got ${JSON.stringify(reps)}`);
  const nd = Math.max(v.ndim, r.length);
  const s = [...Array(nd - v.ndim).fill(1), ...v.shape];
  const rr = [...Array(nd - r.length).fill(1), ...r];
  if (rr.every((k) => k === 1)) return reshapeTo(v, s);
  const expanded = reshapeTo(v, s.flatMap((n) => [1, n]));
  const b = broadcastTo(expanded, s.flatMap((n, d) => [rr[d], n]));
  return reshapeTo(b, s.map((n, d) => n * rr[d]));
}

/**
 * `repeat(x, repeats, axis?)`: repeat each element `repeats` times along `axis` (flattened
 * when undefined or null). `repeats` is an integer or one count per element of the axis
 * (a JS array or a concrete array: output shapes must be known while tracing).
 */
export function repeat(x: ArrayLike, repeats: number | readonly number[] | Value, axis?: number | null): Value {
  let v = toValue('repeat', x);
  if (axis === undefined || axis === null) {
    v = ravel(v);
    axis = 0;
  }
  if (v.ndim === 0) throw new ShapeError('repeat: cannot repeat a zero-dimensional array along an axis');
  const ax = normAxis('repeat', axis, v.ndim);
  const n = v.shape[ax];
  let counts: number[] | number;
  if (repeats instanceof Value) {
    if (repeats.dtype === 'float32' || repeats.dtype === 'bool') throw new DTypeError(`repeat: repeats must be integers, got ${repeats.aval.str()}`);
    if (repeats instanceof NDArray && !repeats.backend.hostMemory)
      throw new DeviceError(`repeat: the output shape depends on the values of repeats ${repeats.aval.str()}, which live on the ${repeats.backend.name} backend and cannot be read synchronously; pass repeats as JS numbers (e.g. Array.from(await repeats.data()))`);
    counts = repeats.ndim === 0 ? Number(repeats.item()) : Array.from(repeats.dataSync());
  } else counts = typeof repeats === 'number' ? repeats : [...repeats];
  if (Array.isArray(counts) && counts.length === 1) counts = counts[0];
  const list = typeof counts === 'number' ? [counts] : counts;
  if (!list.every((c) => isInt(c) && c >= 0)) throw new ValueError(`repeat: repeats must be non-negative integers, got ${JSON.stringify(list)}`);
  if (typeof counts === 'number') {
    const r = counts;
    const expanded = reshapeTo(v, [...v.shape.slice(0, ax + 1), 1, ...v.shape.slice(ax + 1)]);
    const b = broadcastTo(expanded, [...v.shape.slice(0, ax + 1), r, ...v.shape.slice(ax + 1)]);
    return reshapeTo(b, v.shape.map((m, d) => (d === ax ? m * r : m)));
  }
  if (counts.length !== n) throw new ShapeError(`repeat: repeats has length ${counts.length} but axis ${ax} of shape ${fmtShape(v.shape)} has size ${n}`);
  const src = counts.flatMap((c, i) => Array<number>(c).fill(i));
  return bind1('gather', [v, array(Int32Array.from(src), 'int32')], { axis: ax });
}

/** `flip(x, axis?)`: reverse the order of elements along the given axes (all by default); a zero-copy view. */
export function flip(x: ArrayLike, axis?: Axes | null): Value {
  const v = toValue('flip', x);
  const dims = normAxes('flip', axis, v.ndim).filter((d) => v.shape[d] > 1);
  return dims.length === 0 ? v : bind1('rev', [v], { dimensions: dims });
}

/** Methods installed on every array and tracer (`x.reshape(2, 3)`); see `array_methods.ts`. */
export const shapeMethods = {
  reshape: (x: Value, ...shape: (number | readonly number[])[]): Value =>
    reshape(x, shape.length === 1 ? shape[0] : (shape as number[])),
  transpose: (x: Value, ...axes: (readonly number[] | null | undefined | number)[]): Value =>
    transpose(x, axes.length === 0 || (axes.length === 1 && typeof axes[0] !== 'number') ? (axes[0] as readonly number[] | null | undefined) : (axes as number[])),
  swapaxes, moveaxis, expandDims, squeeze, ravel, flatten, take, flip, tile, repeat, pad,
};
