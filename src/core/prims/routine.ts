/** Shared plumbing of routine primitives: contiguous operands in, fresh arrays out. */
import { ShapedArray } from '../aval.js';
import { NDArray } from '../array.js';
import type { RoutineName, RoutineParams } from '../backends/backend.js';
import { stridesOf } from '../shape.js';

/** Run a backend routine on the (made contiguous) operands, returning arrays of the given avals. */
export function runRoutine<R extends RoutineName>(name: R, args: readonly NDArray[], outs: readonly ShapedArray[], params: RoutineParams[R]): NDArray[] {
  const ins = args.map((a) => a.contiguous());
  const b = ins[0].backend;
  const bufs = outs.map((o) => b.alloc(o.dtype, o.size));
  if (outs.every((o) => o.size > 0)) b.routine(name, ins.map((a) => a.buffer), bufs, params);
  return outs.map((o, i) => NDArray.fromBuffer(b, bufs[i], o.shape, o.dtype, o.weakType));
}

/** A zero-copy transposed view (`out` axis k is `x` axis perm[k]). */
export function permuted(x: NDArray, perm: readonly number[]): NDArray {
  return x.view(new ShapedArray(perm.map((d) => x.shape[d]), x.dtype, x.weakType), perm.map((d) => x.strides[d]), x.offset);
}

/** A contiguous array reinterpreted as another aval of the same size and dtype. */
export function reshaped(x: NDArray, aval: ShapedArray): NDArray {
  return x.contiguous().view(aval, stridesOf(aval.shape), 0);
}

/** The inverse of a permutation. */
export function invertPerm(p: readonly number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((d, k) => (inv[d] = k));
  return inv;
}
