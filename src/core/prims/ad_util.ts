/**
 * Building blocks of the transformation rules: symbolic-zero arithmetic and the
 * combinators (`linearJvp`, `zeroJvp`, `unaryJvp`, `vectorizedBatch`, …) that most
 * primitives' jvp and batching rules are written with.
 */
import type { ShapedArray } from '../aval.js';
import { isFloat } from '../dtype.js';
import { ShapeError, fmtShape } from '../errors.js';
import * as lax from '../lax.js';
import { scalar } from '../numpy/convert.js';
import type { Prim, PrimParams } from '../trace/primitive.js';
import { shapeEq, stridesOf } from '../shape.js';
import { bind, bind1 } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { Zero, type BatchDim, type Tangent, type TransformRules } from './rules.js';

/** An array of zeros of an aval (a broadcast scalar: no buffer of the full size eagerly). */
export function zerosOf(aval: ShapedArray): Value {
  const z = scalar(0, aval.dtype);
  return aval.ndim === 0 ? z : lax.broadcastInDim(z, aval.shape, []);
}
export function fullOf(aval: ShapedArray, v: number): Value {
  const s = scalar(v, aval.dtype);
  return aval.ndim === 0 ? s : lax.broadcastInDim(s, aval.shape, []);
}
export function instantiate(t: Tangent): Value {
  return t instanceof Zero ? zerosOf(t.aval) : t;
}
export const isZero = (t: Tangent | null | undefined): t is Zero => t instanceof Zero;
/** The tangent space of an aval: floats only; integer and bool values have zero tangents. */
export const hasTangent = (aval: ShapedArray): boolean => isFloat(aval.dtype);

export function addTangents(a: Tangent, b: Tangent): Tangent {
  if (a instanceof Zero) return b;
  if (b instanceof Zero) return a;
  return lax.add(a, b);
}
/** t · c (c a primal value), keeping symbolic zeros. */
export function scaleTangent(t: Tangent, c: Value): Tangent {
  return t instanceof Zero ? t : lax.mul(t, c);
}
export function negTangent(t: Tangent): Tangent {
  return t instanceof Zero ? t : lax.neg(t);
}

type Jvp<P extends Prim> = TransformRules<P>['jvp'];
type Batch<P extends Prim> = TransformRules<P>['batch'];

/** jvp of a primitive linear in all its operands: the tangent is the primitive applied to the tangents. */
export function linearJvp<P extends Prim>(prim: P): Jvp<P> {
  return (primals, tangents, params) => {
    const out = bind(prim, primals, params);
    if (!tangents.some((t) => !(t instanceof Zero))) return [out, out.map((o) => new Zero(o.aval))];
    return [out, bind(prim, tangents.map(instantiate), params)];
  };
}

/** jvp of a primitive whose outputs are locally constant (comparisons, rounding, integer ops). */
export function zeroJvp<P extends Prim>(prim: P): Jvp<P> {
  return (primals, _t, params) => {
    const out = bind(prim, primals, params);
    return [out, out.map((o) => new Zero(o.aval))];
  };
}

/** jvp of a unary primitive from its derivative `d(x, y)` (y the primal output): t_out = t · d. */
export function unaryJvp<P extends Prim>(prim: P, d: (x: Value, y: Value) => Value): Jvp<P> {
  return (primals, [t], params) => {
    const [y] = bind(prim, primals, params);
    return [[y], [t instanceof Zero ? new Zero(y.aval) : lax.mul(t, d(primals[0], y))]];
  };
}

/** jvp of a binary primitive from its partial derivatives (each may be omitted when its tangent is zero). */
export function binaryJvp<P extends Prim>(prim: P, da: (x: Value, y: Value, out: Value) => Value, db: (x: Value, y: Value, out: Value) => Value): Jvp<P> {
  return (primals, [ta, tb], params) => {
    const [out] = bind(prim, primals, params);
    const [x, y] = primals;
    const t = addTangents(
      ta instanceof Zero ? ta : lax.mul(ta, da(x, y, out)),
      tb instanceof Zero ? tb : lax.mul(tb, db(x, y, out)),
    );
    return [[out], [t instanceof Zero ? new Zero(out.aval) : t]];
  };
}

/**
 * jvp of a bilinear primitive f(a, b): ∂f = f(ȧ, b) + f(a, ḃ). Each term is linear in one
 * tangent with the other operand (a primal) as coefficient; symbolic zeros drop their term.
 */
export function bilinearJvp<P extends Prim>(prim: P): Jvp<P> {
  return ([a, b], [ta, tb], params) => {
    const out = bind1(prim, [a, b], params);
    const t = addTangents(
      isZero(ta) ? ta : bind1(prim, [ta, b], params),
      isZero(tb) ? tb : bind1(prim, [a, tb], params),
    );
    return [[out], [isZero(t) ? new Zero(out.aval) : t]];
  };
}

/**
 * `out[…, i, …] = x[…, idx[…, i, …], …]` along `axis` (numpy.take_along_axis), for int32
 * `idx` of x's shape with entries in range. Written as one take-style `gather` of the
 * flattened operand at row-major flat indices, so it is linear in `x` (transpose: scatter_add).
 */
export function takeAlongAxis(x: Value, idx: Value, axis: number): Value {
  if (!shapeEq(x.shape, idx.shape)) throw new ShapeError(`takeAlongAxis: indices shape ${fmtShape(idx.shape)} must equal the operand shape ${fmtShape(x.shape)}`);
  const strides = stridesOf(x.shape);
  let flat = strides[axis] === 1 ? idx : lax.mul(idx, strides[axis]);
  x.shape.forEach((n, d) => {
    if (d === axis || n === 1) return;
    const pos = lax.broadcastedIota('int32', x.shape, d);
    flat = lax.add(flat, strides[d] === 1 ? pos : lax.mul(pos, strides[d]));
  });
  return lax.gather(x.ndim === 1 ? x : lax.reshape(x, [x.size]), flat, 0);
}

// ------------------------------------------------------------------ batching

/** Move the batch dim of `x` (if any) to `to`; an unbatched value is broadcast to `size` there. */
export function moveBatchDim(x: Value, from: BatchDim, to: number, size: number): Value {
  if (from === null) {
    const shape = [...x.shape.slice(0, to), size, ...x.shape.slice(to)];
    return lax.broadcastInDim(x, shape, x.shape.map((_, i) => (i < to ? i : i + 1)));
  }
  if (from === to) return x;
  const perm = x.shape.map((_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return lax.transpose(x, perm);
}

/**
 * Batching rule of an elementwise primitive (operands of equal shapes): batch dims move to 0,
 * unbatched operands are broadcast (0-d operands that the primitive allows stay as they are).
 */
export function vectorizedBatch<P extends Prim>(prim: P): Batch<P> {
  return (args, dims, params, size) => {
    const moved = args.map((a, i) => moveBatchDim(a, dims[i], 0, size));
    const out = bind(prim, moved, params);
    return [out, out.map(() => 0)];
  };
}

export type { PrimParams };
