/**
 * Indexing primitives with data-dependent positions: `gather` (take along an axis),
 * its transpose `scatter_add`, and `dynamic_slice` / `dynamic_update_slice`. Gathers and
 * dynamic slices are expressions (a load at a loaded index), so they fuse; scatter_add
 * accumulates and is a routine.
 *
 * Index conventions (documented in `np.take`): negative indices count from the end and
 * out-of-range indices are clamped; dynamic slice starts are clamped so the slice fits,
 * exactly as jax.lax.dynamic_slice.
 */
import { ShapedArray } from '../aval.js';
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { bin, idx, select, type Expr } from '../kernel/ir.js';
import { prod, shapeEq } from '../shape.js';
import type { RuleTable } from './rules.js';
import { runRoutine } from './routine.js';

declare module '../trace/primitive.js' {
  interface PrimParams {
    /** out[pre, j…, post] = operand[pre, indices[j…], post] along `axis`. Operands: operand, int32 indices. */
    gather: { axis: number };
    /** The transpose of gather. Operands: operand, int32 indices, updates (gather's output shape). */
    scatter_add: { axis: number };
    /** Operands: operand, then one int32 scalar start per dim. */
    dynamic_slice: { sliceSizes: readonly number[] };
    /** Operands: operand, update, then one int32 scalar start per dim. */
    dynamic_update_slice: Record<string, never>;
  }
}

/** A `take`-style index into a dim of size n: negative counts from the end, then clamp to [0, n-1]. */
function normIndex(i: Expr, n: number): Expr {
  const wrapped = select(bin('lt', i, idx(0)), bin('add', i, idx(n)), i);
  return bin('max', bin('min', wrapped, idx(Math.max(n - 1, 0))), idx(0));
}

function gatherShape(op: string, x: ShapedArray, ind: ShapedArray, axis: number): number[] {
  if (ind.dtype !== 'int32') throw new DTypeError(`${op}: indices must be int32, got ${ind.str()}`);
  if (!Number.isInteger(axis) || axis < 0 || axis >= x.ndim) throw new ShapeError(`${op}: axis ${axis} out of range for operand ${fmtShape(x.shape)}`);
  if (x.shape[axis] === 0 && ind.size > 0) throw new ShapeError(`${op}: cannot index into an empty axis ${axis} of ${fmtShape(x.shape)}`);
  return [...x.shape.slice(0, axis), ...ind.shape, ...x.shape.slice(axis + 1)];
}

function checkStarts(op: string, x: ShapedArray, starts: readonly ShapedArray[]): void {
  if (starts.length !== x.ndim) throw new ShapeError(`${op}: expected ${x.ndim} start indices for operand ${fmtShape(x.shape)}, got ${starts.length}`);
  for (const s of starts) if (s.ndim !== 0 || s.dtype !== 'int32') throw new DTypeError(`${op}: start indices must be int32 scalars, got ${s.str()}`);
}

/** Clamp a start so a window of `size` fits in a dim of `n` (jax.lax.dynamic_slice semantics). */
const clampStart = (s: Expr, n: number, size: number): Expr => bin('max', bin('min', s, idx(n - size)), idx(0));

export const indexingRules: RuleTable<'gather' | 'scatter_add' | 'dynamic_slice' | 'dynamic_update_slice'> = {
  gather: {
    kind: 'expr',
    abstractEval: ([x, ind], { axis }) => [new ShapedArray(gatherShape('gather', x, ind, axis), x.dtype, x.weakType)],
    expr: ({ axis }, [x, ind], [xa, ia]) => (i) => {
      const j = normIndex(ind(i.slice(axis, axis + ia.ndim)), xa.shape[axis]);
      return x([...i.slice(0, axis), j, ...i.slice(axis + ia.ndim)]);
    },
  },

  scatter_add: {
    kind: 'routine',
    abstractEval: ([x, ind, upd], { axis }) => {
      const shape = gatherShape('scatter_add', x, ind, axis);
      if (!shapeEq(shape, upd.shape)) throw new ShapeError(`scatter_add: updates shape ${fmtShape(upd.shape)} must be ${fmtShape(shape)} for operand ${fmtShape(x.shape)} and indices ${fmtShape(ind.shape)}`);
      if (upd.dtype !== x.dtype) throw new DTypeError(`scatter_add: updates dtype ${upd.dtype} differs from operand dtype ${x.dtype}`);
      if (x.dtype === 'bool') throw new DTypeError('scatter_add: bool operands are not supported');
      return [x];
    },
    impl: ([x, ind, upd], { axis }, outs) => {
      const params = { outer: prod(x.shape.slice(0, axis)), n: x.shape[axis], m: ind.size, inner: prod(x.shape.slice(axis + 1)) };
      return runRoutine('scatterAdd', [x, ind, upd], outs, params);
    },
  },

  dynamic_slice: {
    kind: 'expr',
    abstractEval: ([x, ...starts], { sliceSizes }) => {
      checkStarts('dynamic_slice', x, starts);
      if (sliceSizes.length !== x.ndim || sliceSizes.some((s, d) => !Number.isInteger(s) || s < 0 || s > x.shape[d]))
        throw new ShapeError(`dynamic_slice: slice sizes ${fmtShape(sliceSizes)} do not fit operand ${fmtShape(x.shape)}`);
      return [new ShapedArray(sliceSizes, x.dtype, x.weakType)];
    },
    expr: ({ sliceSizes }, [x, ...starts], [xa]) => (i) =>
      x(i.map((e, d) => bin('add', e, clampStart(starts[d]([]), xa.shape[d], sliceSizes[d])))),
  },

  dynamic_update_slice: {
    kind: 'expr',
    abstractEval: ([x, upd, ...starts]) => {
      checkStarts('dynamic_update_slice', x, starts);
      if (upd.ndim !== x.ndim || upd.shape.some((s, d) => s > x.shape[d]))
        throw new ShapeError(`dynamic_update_slice: update ${fmtShape(upd.shape)} does not fit operand ${fmtShape(x.shape)}`);
      if (upd.dtype !== x.dtype) throw new DTypeError(`dynamic_update_slice: update dtype ${upd.dtype} differs from operand dtype ${x.dtype}`);
      return [x];
    },
    expr: (_p, [x, upd, ...starts], [xa, ua]) => (i) => {
      let inside: Expr | null = null;
      const local = i.map((e, d) => {
        const rel = bin('sub', e, clampStart(starts[d]([]), xa.shape[d], ua.shape[d]));
        const c = bin('and', bin('ge', rel, idx(0)), bin('lt', rel, idx(ua.shape[d])));
        inside = inside ? bin('and', inside, c) : c;
        return bin('max', bin('min', rel, idx(Math.max(ua.shape[d] - 1, 0))), idx(0));
      });
      return inside ? select(inside, upd(local), x(i)) : upd(local);
    },
  },
};
