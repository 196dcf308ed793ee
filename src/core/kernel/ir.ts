/**
 * The kernel IR: one scalar expression per output element, over the output's index variables.
 *
 * A `Kernel` writes `outShape` elements in row-major order; its expression may load input
 * buffers at computed flat indices (strided/broadcast views, data-dependent gathers) and may
 * contain `reduce` nodes that loop over extra index variables. Elementwise chains, movement
 * ops and reductions all become one such expression, which is what fusion composes. This file
 * is plain data plus smart constructors; renderers turn it into source for each backend.
 */
import type { DType } from '../dtype.js';

export type UnOp =
  | 'neg' | 'abs' | 'sign' | 'floor' | 'ceil' | 'round' | 'exp' | 'expm1' | 'log' | 'log1p'
  | 'sin' | 'cos' | 'tan' | 'tanh' | 'atan' | 'sqrt' | 'rsqrt' | 'sigmoid' | 'erf' | 'erfinv'
  | 'not' | 'isfinite';
export type BinOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'rem' | 'pow' | 'max' | 'min' | 'atan2'
  | 'and' | 'or' | 'xor' | 'shl' | 'shrl' | 'shra'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type ReduceOp = 'sum' | 'prod' | 'max' | 'min' | 'argmax' | 'argmin';

export type Expr =
  | { readonly k: 'const'; readonly v: number; readonly dtype: DType }
  | { readonly k: 'var'; readonly name: string; readonly dtype: 'int32' }
  | { readonly k: 'load'; readonly buf: number; readonly index: Expr; readonly dtype: DType }
  | { readonly k: 'un'; readonly op: UnOp; readonly x: Expr; readonly dtype: DType }
  | { readonly k: 'bin'; readonly op: BinOp; readonly a: Expr; readonly b: Expr; readonly dtype: DType }
  | { readonly k: 'select'; readonly c: Expr; readonly t: Expr; readonly f: Expr; readonly dtype: DType }
  | { readonly k: 'cast'; readonly x: Expr; readonly dtype: DType }
  | { readonly k: 'bitcast'; readonly x: Expr; readonly dtype: DType }
  | {
      readonly k: 'reduce';
      readonly op: ReduceOp;
      /** Loop variables of the reduction, outermost first; argmax/argmin return the row-major flat index over them. */
      readonly vars: readonly { readonly name: string; readonly size: number }[];
      readonly body: Expr;
      readonly dtype: DType;
    };

export interface Kernel {
  /** dtypes of the input buffers, referenced by `load.buf`. */
  readonly inputs: readonly DType[];
  readonly outShape: readonly number[];
  readonly outDtype: DType;
  /** Uses index variables `i0 … i{n-1}` for the output dims. */
  readonly expr: Expr;
  /** A short label for debugging and profiles (the primitives it came from). */
  readonly label: string;
}

/** The identity element of a reduction for a dtype (argmax/argmin: that of max/min). */
export function reduceIdentity(op: ReduceOp, dtype: DType): number {
  const lo = dtype === 'float32' ? -Infinity : dtype === 'int32' ? -2147483648 : 0;
  const hi = dtype === 'float32' ? Infinity : dtype === 'int32' ? 2147483647 : dtype === 'uint32' ? 4294967295 : 1;
  switch (op) {
    case 'sum': return 0;
    case 'prod': return 1;
    case 'max': case 'argmax': return lo;
    case 'min': case 'argmin': return hi;
  }
}

// ---------- smart constructors (with the index-arithmetic simplifications that keep code readable) ----------

export const cnst = (v: number, dtype: DType): Expr => ({ k: 'const', v, dtype });
export const idx = (v: number): Expr => cnst(v, 'int32');
export const outVar = (axis: number): Expr => ({ k: 'var', name: `i${axis}`, dtype: 'int32' });

let varCounter = 0;
/** A fresh reduction variable name. */
export function freshVar(): string {
  return `r${varCounter++}`;
}
export const varRef = (name: string): Expr => ({ k: 'var', name, dtype: 'int32' });

const isConst = (e: Expr, v?: number): boolean => e.k === 'const' && (v === undefined || e.v === v);

const COMPARE: ReadonlySet<BinOp> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

export function bin(op: BinOp, a: Expr, b: Expr): Expr {
  const dtype: DType = COMPARE.has(op) ? 'bool' : a.dtype;
  if (a.dtype === 'int32' && b.dtype === 'int32' && a.k === 'const' && b.k === 'const') {
    const x = a.v, y = b.v;
    switch (op) {
      case 'add': return idx((x + y) | 0);
      case 'sub': return idx((x - y) | 0);
      case 'mul': return idx(Math.imul(x, y));
    }
  }
  if (a.dtype === 'int32') {
    if (op === 'add' && isConst(b, 0)) return a;
    if (op === 'add' && isConst(a, 0)) return b;
    if (op === 'sub' && isConst(b, 0)) return a;
    if (op === 'mul' && (isConst(b, 0) || isConst(a, 0))) return idx(0);
    if (op === 'mul' && isConst(b, 1)) return a;
    if (op === 'mul' && isConst(a, 1)) return b;
    if (op === 'div' && isConst(b, 1)) return a;
  }
  return { k: 'bin', op, a, b, dtype };
}
export const add = (a: Expr, b: Expr) => bin('add', a, b);
export const mul = (a: Expr, b: Expr) => bin('mul', a, b);
export const sub = (a: Expr, b: Expr) => bin('sub', a, b);

/** Logical and of booleans, dropping `true` constants. */
export function and(a: Expr | null, b: Expr | null): Expr | null {
  if (a === null) return b;
  if (b === null) return a;
  return bin('and', a, b);
}

export function un(op: UnOp, x: Expr): Expr {
  return { k: 'un', op, x, dtype: op === 'isfinite' ? 'bool' : x.dtype };
}
export function select(c: Expr, t: Expr, f: Expr): Expr {
  if (c.k === 'const') return c.v ? t : f;
  return { k: 'select', c, t, f, dtype: t.dtype };
}
export function cast(x: Expr, dtype: DType): Expr {
  if (x.dtype === dtype) return x;
  return { k: 'cast', x, dtype };
}
export function load(buf: number, index: Expr, dtype: DType): Expr {
  return { k: 'load', buf, index, dtype };
}

/** Flat row-major index of `idxs` in `shape`. */
export function flatIndex(idxs: readonly Expr[], shape: readonly number[]): Expr {
  let e = idx(0);
  for (let i = 0; i < shape.length; i++) e = add(mul(e, idx(shape[i])), idxs[i]);
  return e;
}
/** Inverse of `flatIndex`: unravel a flat index into one index per dim of `shape`. */
export function unravel(flat: Expr, shape: readonly number[]): Expr[] {
  const out: Expr[] = new Array(shape.length);
  let rest = flat;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (i === 0) out[i] = rest;
    else {
      out[i] = shape[i] === 1 ? idx(0) : bin('rem', rest, idx(shape[i]));
      rest = shape[i] === 1 ? rest : bin('div', rest, idx(shape[i]));
    }
  }
  return out;
}
