/** The CPU backend's routine table: each routine of the backend interface, on typed arrays. */
import type { TypedArray } from '../../dtype.js';
import type { RoutineName, RoutineParams } from '../backend.js';
import { convGeneralDilated } from '../routines/conv.js';
import { cumulative } from '../routines/cumulative.js';
import { matmul } from '../routines/matmul.js';
import { scatterAdd } from '../routines/scatter.js';
import { sortKeyVal, sortRows } from '../routines/sort.js';
import { threefry2x32Keys } from '../routines/threefry.js';

type Impl<R extends RoutineName> = (ins: TypedArray[], outs: TypedArray[], p: RoutineParams[R]) => void;

export const cpuRoutines: { [R in RoutineName]: Impl<R> } = {
  matmul: ([a, b], [out], p) => matmul(a, b, out, p.batch, p.m, p.k, p.n, p.aBatchStride, p.bBatchStride),
  conv: ([lhs, rhs], [out], p) =>
    convGeneralDilated(lhs, p.lhsShape, rhs, p.rhsShape, {
      windowStrides: [...p.windowStrides],
      padding: p.padding.map(([lo, hi]) => [lo, hi]),
      lhsDilation: [...p.lhsDilation],
      rhsDilation: [...p.rhsDilation],
      featureGroupCount: p.featureGroupCount,
      batchGroupCount: p.batchGroupCount,
    }, out),
  sort: (ins, outs, p) => {
    if (ins.length === 1) sortRows(ins[0], p.rows, p.n, outs[0]);
    else sortKeyVal(ins[0], ins[1], p.rows, p.n, outs[0], outs[1]);
  },
  cumulative: ([x], [out], p) => cumulative(x, p.outer, p.n, p.inner, p.op, p.reverse, out),
  threefry: ([k0, k1, x0, x1], [y0, y1]) =>
    threefry2x32Keys(k0 as Uint32Array, k1 as Uint32Array, x0 as Uint32Array, x1 as Uint32Array, y0 as Uint32Array, y1 as Uint32Array),
  scatterAdd: ([operand, indices, updates], [out], p) => scatterAdd(operand, indices as Int32Array, updates, p.outer, p.n, p.m, p.inner, out),
};
