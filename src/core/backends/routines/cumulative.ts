/**
 * Inclusive scans (lax.cumsum / cumprod / cummax / cummin) along the middle
 * axis of an (outer, n, inner) row-major layout.
 *
 * The running value for a whole inner row is kept in a carry buffer and
 * updated row by row, so the innermost loop is contiguous over `inner`.
 * Float scans carry in doubles and round on store; integer scans carry in the
 * output dtype and wrap (products use Math.imul). max / min propagate NaN.
 */

import type { TypedArray } from '../../dtype.js';

export type CumulativeOp = 'sum' | 'prod' | 'max' | 'min';

/**
 * out[o, i, j] = op over x[o, 0..i, j] (or x[o, i..n-1, j] when `reverse`).
 * `out` may alias `x`.
 */
export function cumulative(
  x: TypedArray,
  outer: number,
  n: number,
  inner: number,
  op: CumulativeOp,
  reverse: boolean,
  out: TypedArray,
): void {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  const isFloat = out instanceof Float32Array || (out as unknown) instanceof Float64Array;
  const Ctor = out.constructor as new (len: number) => TypedArray;
  const carry: Float64Array | TypedArray = isFloat ? new Float64Array(inner) : new Ctor(inner);
  const rowStride = reverse ? -inner : inner;
  for (let o = 0; o < outer; o++) {
    const first = o * n * inner + (reverse ? (n - 1) * inner : 0);
    for (let j = 0; j < inner; j++) {
      const v = x[first + j];
      carry[j] = v;
      out[first + j] = carry[j];
    }
    let off = first;
    for (let t = 1; t < n; t++) {
      off += rowStride;
      switch (op) {
        case 'sum': sumRow(carry, x, out, off, inner); break;
        case 'prod':
          if (isFloat) prodRowFloat(carry as Float64Array, x, out, off, inner);
          else prodRowInt(carry, x, out, off, inner);
          break;
        case 'max': maxRow(carry, x, out, off, inner); break;
        case 'min': minRow(carry, x, out, off, inner); break;
        default: throw new Error(`cumulative: unknown op ${String(op)}`);
      }
    }
  }
}

function sumRow(carry: Float64Array | TypedArray, x: TypedArray, out: TypedArray, off: number, inner: number): void {
  for (let j = 0; j < inner; j++) {
    carry[j] += x[off + j];
    out[off + j] = carry[j];
  }
}

function prodRowFloat(carry: Float64Array, x: TypedArray, out: TypedArray, off: number, inner: number): void {
  for (let j = 0; j < inner; j++) {
    carry[j] *= x[off + j];
    out[off + j] = carry[j];
  }
}

function prodRowInt(carry: Float64Array | TypedArray, x: TypedArray, out: TypedArray, off: number, inner: number): void {
  for (let j = 0; j < inner; j++) {
    carry[j] = Math.imul(carry[j], x[off + j]);
    out[off + j] = carry[j];
  }
}

function maxRow(carry: Float64Array | TypedArray, x: TypedArray, out: TypedArray, off: number, inner: number): void {
  for (let j = 0; j < inner; j++) {
    const v = x[off + j];
    if (v > carry[j] || v !== v) carry[j] = v;
    out[off + j] = carry[j];
  }
}

function minRow(carry: Float64Array | TypedArray, x: TypedArray, out: TypedArray, off: number, inner: number): void {
  for (let j = 0; j < inner; j++) {
    const v = x[off + j];
    if (v < carry[j] || v !== v) carry[j] = v;
    out[off + j] = carry[j];
  }
}
