/**
 * NumPy basic indexing as `x.slice(...specs)`: integers, slices (`'1:5:2'`, `'::-1'`,
 * `{ start, stop, step }`), the ellipsis `'...'` and `null` (newaxis), with Python's exact
 * slice normalisation. One `rev` (for negative steps), one `slice` and one `reshape`, so
 * eagerly the result is always a zero-copy view of `x`.
 */
import { IndexError } from '../errors.js';
import { bind1 } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { toValue, type ArrayLike } from './convert.js';


/** A slice `start:stop:step`; missing or null fields take Python's defaults. */
export interface SliceSpec {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}
/**
 * One index of `x.slice(...)`: an integer (negative counts from the end; removes the axis),
 * a slice string (`'1:5'`, `'::2'`, `'::-1'`, `':'`, or an integer string like `'-1'`), the
 * ellipsis `'...'`, `null` (a new size-1 axis) or a `SliceSpec` object.
 */
export type IndexSpec = number | string | null | SliceSpec;

declare module '../trace/value.js' {
  interface Value {
    /** NumPy basic indexing: `x.slice(0, '1:3', null, '...', '::-1')` is `x[0, 1:3, None, ..., ::-1]`. */
    slice(...specs: IndexSpec[]): Value;
  }
}

type Parsed =
  | { kind: 'int'; index: number }
  | { kind: 'slice'; start: number | null; stop: number | null; step: number | null }
  | { kind: 'newaxis' }
  | { kind: 'ellipsis' };

const VALID = "only integers, slices ('1:5:2' or { start, stop, step }), ellipsis ('...') and null (newaxis) are valid indices";
const INT_RE = /^[+-]?\d+$/;

function parseField(spec: unknown, field: string, v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new IndexError(`slice: slice ${field} must be an integer or null in ${describe(spec)}; ${VALID}`);
}

function describe(spec: unknown): string {
  return typeof spec === 'string' ? `'${spec}'` : JSON.stringify(spec) ?? String(spec);
}

function parseSpec(spec: unknown): Parsed {
  if (spec === null) return { kind: 'newaxis' };
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec)) throw new IndexError(`slice: got index ${spec}; ${VALID}`);
    return { kind: 'int', index: spec };
  }
  if (typeof spec === 'string') {
    const s = spec.trim();
    if (s === '...') return { kind: 'ellipsis' };
    if (INT_RE.test(s)) return { kind: 'int', index: Number(s) };
    const parts = s.split(':').map((p) => p.trim());
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => p !== '' && !INT_RE.test(p)))
      throw new IndexError(`slice: cannot parse index string ${describe(spec)}; expected 'start:stop:step' with optional integers, '...' or an integer`);
    const [start, stop, step] = parts.map((p) => (p === undefined || p === '' ? null : Number(p)));
    return { kind: 'slice', start, stop, step: step ?? null };
  }
  if (typeof spec === 'object' && !Array.isArray(spec) && Object.getPrototypeOf(spec) === Object.prototype) {
    const extra = Object.keys(spec).filter((k) => !['start', 'stop', 'step'].includes(k));
    if (extra.length > 0) throw new IndexError(`slice: unknown slice field ${extra.map((k) => `'${k}'`).join(', ')} in ${describe(spec)}; expected start, stop, step`);
    const o = spec as SliceSpec;
    return { kind: 'slice', start: parseField(spec, 'start', o.start), stop: parseField(spec, 'stop', o.stop), step: parseField(spec, 'step', o.step) };
  }
  if (Array.isArray(spec) || ArrayBuffer.isView(spec) || typeof spec === 'object')
    throw new IndexError(`slice: array (advanced) indices are not supported by slice; use take, takeAlongAxis or where. ${VALID}`);
  throw new IndexError(`slice: got ${typeof spec} index ${String(spec)}; ${VALID}`);
}

/**
 * Python's `slice.indices(n)` followed by the length: the first index, the step and the
 * number of elements selected (PySlice_AdjustIndices).
 */
function normalizeSlice(start: number | null, stop: number | null, step: number | null, n: number): { start: number; step: number; length: number } {
  const st = step ?? 1;
  if (st === 0) throw new IndexError('slice: slice step cannot be zero');
  const adjust = (v: number | null, dflt: number): number => {
    if (v === null) return dflt;
    if (v < 0) {
      v += n;
      if (v < 0) v = st < 0 ? -1 : 0;
    } else if (v >= n) v = st < 0 ? n - 1 : n;
    return v;
  };
  const b = adjust(start, st < 0 ? n - 1 : 0);
  const e = adjust(stop, st < 0 ? -1 : n);
  const length = st < 0 ? (e < b ? Math.floor((b - e - 1) / -st) + 1 : 0) : b < e ? Math.floor((e - b - 1) / st) + 1 : 0;
  return { start: b, step: st, length };
}

/**
 * `slice(x, ...specs)` / `x.slice(...specs)`: NumPy basic indexing `x[specs]`.
 * Integers remove their axis (out of range raises IndexError naming the axis and size);
 * slices follow Python's rules (clamped bounds, empty results, negative steps); one
 * `'...'` stands for as many `':'` as needed; `null` inserts a size-1 axis; axes without
 * a spec are kept whole.
 */
export function slice(x: ArrayLike, ...specs: IndexSpec[]): Value {
  const v = toValue('slice', x);
  const parsed = specs.map(parseSpec);
  const ellipses = parsed.filter((p) => p.kind === 'ellipsis').length;
  if (ellipses > 1) throw new IndexError("slice: an index can only have a single ellipsis ('...')");
  const consumed = parsed.filter((p) => p.kind === 'int' || p.kind === 'slice').length;
  if (consumed > v.ndim)
    throw new IndexError(`slice: too many indices for array: array is ${v.ndim}-dimensional, but ${consumed} were indexed`);
  const full: Parsed = { kind: 'slice', start: null, stop: null, step: null };
  const fill = Array<Parsed>(v.ndim - consumed).fill(full);
  const at = parsed.findIndex((p) => p.kind === 'ellipsis');
  const items = at >= 0 ? [...parsed.slice(0, at), ...fill, ...parsed.slice(at + 1)] : [...parsed, ...fill];

  const starts: number[] = [], limits: number[] = [], strides: number[] = [], revDims: number[] = [];
  const outShape: number[] = [];
  let d = 0;
  for (const p of items) {
    if (p.kind === 'newaxis') {
      outShape.push(1);
      continue;
    }
    if (p.kind === 'ellipsis') continue;
    const n = v.shape[d];
    if (p.kind === 'int') {
      const i = p.index < 0 ? p.index + n : p.index;
      if (i < 0 || i >= n) throw new IndexError(`slice: index ${p.index} is out of bounds for axis ${d} with size ${n}`);
      starts.push(i);
      limits.push(i + 1);
      strides.push(1);
    } else {
      const { start, step, length } = normalizeSlice(p.start, p.stop, p.step, n);
      // A negative step reads the reversed axis r (r[j] = x[n-1-j]) with a positive stride.
      const s = length === 0 ? 0 : step < 0 ? n - 1 - start : start;
      const k = Math.abs(step);
      if (step < 0 && length > 1) revDims.push(d);
      starts.push(length === 1 ? start : s);
      limits.push(length === 0 ? 0 : (length === 1 ? start : s) + (length - 1) * k + 1);
      strides.push(length > 1 ? k : 1);
      outShape.push(length);
    }
    d++;
  }

  let out = v;
  if (revDims.length > 0) out = bind1('rev', [out], { dimensions: revDims });
  if (starts.some((s, i) => s !== 0 || limits[i] !== v.shape[i] || strides[i] !== 1))
    out = bind1('slice', [out], { startIndices: starts, limitIndices: limits, strides });
  if (out.ndim !== outShape.length || out.shape.some((n, i) => n !== outShape[i])) out = bind1('reshape', [out], { newSizes: outShape });
  return out;
}

/** Methods installed on every array and tracer (`x.slice(0, '::-1')`); see `array_methods.ts`. */
export const slicingMethods = { slice };
