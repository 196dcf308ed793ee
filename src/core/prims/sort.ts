/**
 * `sort`: stable ascending sort along one dimension (NaNs last, as NumPy and JAX), of one
 * operand or of a key operand carrying a second operand along (argsort = sort(x, iota)).
 *
 * Differentiation follows JAX's `_sort_jvp`: the key is sorted together with an int32 iota,
 * which yields the permutation; every tangent (and the carried operand) is then gathered with
 * it along the sorted dimension, so the tangent map is a `gather`, linear in the tangents.
 */
import type { ShapedArray } from '../aval.js';
import { ShapeError, fmtShape } from '../errors.js';
import * as lax from '../lax.js';
import { shapeEq } from '../shape.js';
import { bind } from '../trace/trace.js';
import { isZero, moveBatchDim, takeAlongAxis } from './ad_util.js';
import { Zero, type RuleTable } from './rules.js';
import { invertPerm, permuted, runRoutine } from './routine.js';

declare module '../trace/primitive.js' {
  interface PrimParams {
    sort: { dimension: number; numOperands: number };
  }
}

export const sortRules: RuleTable<'sort'> = {
  sort: {
    kind: 'routine',
    abstractEval: (avals: readonly ShapedArray[], { dimension, numOperands }) => {
      const k = avals[0];
      if (avals.length !== numOperands || numOperands < 1 || numOperands > 2)
        throw new ShapeError(`sort: takes one key operand and at most one carried operand, got ${avals.length}`);
      if (!Number.isInteger(dimension) || dimension < 0 || dimension >= k.ndim) throw new ShapeError(`sort: dimension ${dimension} out of range for ${fmtShape(k.shape)}`);
      for (const a of avals) if (!shapeEq(a.shape, k.shape)) throw new ShapeError(`sort: operand shapes differ: ${avals.map((x) => fmtShape(x.shape)).join(', ')}`);
      return [...avals];
    },
    impl: (args, { dimension }) => {
      const nd = args[0].ndim;
      const perm = [...Array(nd).keys()].filter((d) => d !== dimension).concat([dimension]);
      const moved = args.map((a) => permuted(a, perm));
      const n = args[0].shape[dimension];
      const rows = n === 0 ? 0 : args[0].size / n;
      const res = runRoutine('sort', moved, moved.map((m) => m.aval), { rows, n });
      return res.map((r) => permuted(r, invertPerm(perm)));
    },
    jvp: (primals, tangents, { dimension }) => {
      const [key, ...carried] = primals;
      // Sorting (key, iota) gives the stable permutation; the carried operand is gathered with it.
      const iota = lax.broadcastedIota('int32', key.shape, dimension);
      const [sortedKey, perm] = bind('sort', [key, iota], { dimension, numOperands: 2 });
      const outs = [sortedKey, ...carried.map((v) => takeAlongAxis(v, perm, dimension))];
      const touts = tangents.map((t, i) => (isZero(t) ? new Zero(outs[i].aval) : takeAlongAxis(t, perm, dimension)));
      return [outs, touts];
    },
    batch: (args, dims, { dimension, numOperands }, size) => {
      const moved = args.map((a, i) => moveBatchDim(a, dims[i], 0, size));
      const outs = bind('sort', moved, { dimension: dimension + 1, numOperands });
      return [outs, outs.map(() => 0)];
    },
  },
};
