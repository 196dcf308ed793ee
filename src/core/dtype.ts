/**
 * Data types and JAX-style type promotion.
 *
 * vidax has four dtypes. Promotion follows JAX's lattice (jax.numpy.promote_types with
 * x64 disabled) restricted to them, including *weak types*: a JavaScript number is weakly
 * typed, so it adopts the dtype of the array it meets (`x.mul(2)` stays float32).
 * Integer-valued JS numbers are weak int32, others weak float32.
 */
import { DTypeError } from './errors.js';

export type DType = 'float32' | 'int32' | 'uint32' | 'bool';
export const DTYPES: readonly DType[] = ['float32', 'int32', 'uint32', 'bool'];

export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint8Array;

/** The typed-array constructor used to store a dtype (bool is stored as one byte). */
export function storageOf(dtype: DType): { new (n: number): TypedArray; new (data: ArrayLike<number>): TypedArray } {
  switch (dtype) {
    case 'float32': return Float32Array;
    case 'int32': return Int32Array;
    case 'uint32': return Uint32Array;
    case 'bool': return Uint8Array;
  }
}

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function checkDType(op: string, x: unknown): DType {
  if (!isDType(x)) throw new DTypeError(`${op}: unknown dtype ${JSON.stringify(x)}; expected one of ${DTYPES.join(', ')}`);
  return x;
}

export const isFloat = (d: DType): boolean => d === 'float32';
export const isInt = (d: DType): boolean => d === 'int32' || d === 'uint32';
export const isNumeric = (d: DType): boolean => d !== 'bool';

/**
 * Kinds on JAX's promotion lattice restricted to our dtypes: b1 < i* < {i32, u32} < (i64) < f* < f32.
 * (In JAX i32 and u32 meet at i64 below f*; with x64 disabled i64 is canonicalised to int32.)
 */
type Node = 'bool' | 'i*' | 'f*' | 'int32' | 'uint32' | 'float32';

function nodeOf(dtype: DType, weak: boolean): Node {
  if (weak && isInt(dtype)) return 'i*';
  if (weak && dtype === 'float32') return 'f*';
  return dtype;
}

// Upper sets of the lattice: every node that is >= the key.
const UP: Record<Node, readonly Node[]> = {
  bool: ['bool', 'i*', 'f*', 'int32', 'uint32', 'float32'],
  'i*': ['i*', 'f*', 'int32', 'uint32', 'float32'],
  int32: ['int32', 'f*', 'float32'],
  uint32: ['uint32', 'f*', 'float32'],
  'f*': ['f*', 'float32'],
  float32: ['float32'],
};
const ORDER: readonly Node[] = ['bool', 'i*', 'int32', 'uint32', 'f*', 'float32'];

/** Least upper bound of two (dtype, weak) pairs, JAX semantics with x64 disabled. */
export function promote(a: DType, aWeak: boolean, b: DType, bWeak: boolean): { dtype: DType; weak: boolean } {
  const na = nodeOf(a, aWeak), nb = nodeOf(b, bWeak);
  const common = UP[na].filter((n) => UP[nb].includes(n));
  // int32 ⊔ uint32 is int64 in JAX, canonicalised to int32 when x64 is disabled.
  if ((na === 'int32' && nb === 'uint32') || (na === 'uint32' && nb === 'int32')) return { dtype: 'int32', weak: false };
  const join = ORDER.find((n) => common.includes(n) && common.every((m) => UP[n].includes(m)))!;
  switch (join) {
    case 'i*': return { dtype: 'int32', weak: true };
    case 'f*': return { dtype: 'float32', weak: true };
    default: return { dtype: join, weak: false };
  }
}

/** The dtype of a bare JS scalar. */
export function scalarDType(x: number | boolean): DType {
  if (typeof x === 'boolean') return 'bool';
  return Number.isInteger(x) ? 'int32' : 'float32';
}

/** Convert a JS number to the value a dtype stores (float32 rounding, int wrap, bool). */
export function coerceScalar(x: number | boolean, dtype: DType): number {
  const v = Number(x);
  switch (dtype) {
    case 'float32': return Math.fround(v);
    case 'int32': return Number.isFinite(v) ? Math.trunc(v) | 0 : 0;
    case 'uint32': return Number.isFinite(v) ? Math.trunc(v) >>> 0 : 0;
    case 'bool': return v !== 0 && !Number.isNaN(v) ? 1 : 0;
  }
}

export function itemSize(dtype: DType): number {
  return dtype === 'bool' ? 1 : 4;
}
