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
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { bin, idx, select, type Expr } from '../kernel/ir.js';
import * as lax from '../lax.js';
import { scalar } from '../numpy/convert.js';
import { prod, shapeEq, stridesOf } from '../shape.js';
import { bind1 } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { instantiate, isZero, moveBatchDim, zerosOf } from './ad_util.js';
import { UndefinedPrimal, Zero, type BatchDim, type RuleTable, type TransformRules } from './rules.js';
import { invertPerm, runRoutine } from './routine.js';

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

// ------------------------------------------------------------------ transformation helpers

type IndexPrim = 'gather' | 'scatter_add' | 'dynamic_slice' | 'dynamic_update_slice';
type Rule<P extends IndexPrim> = TransformRules<P>;

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(b - a, 0) }, (_, i) => a + i);
const avalOf = (x: Value | UndefinedPrimal) => x.aval;

/** Integer positions (indices, starts) are never differentiated or transposed. */
function knownIndex(op: string, x: Value | UndefinedPrimal): Value {
  if (x instanceof UndefinedPrimal) throw new ValueError(`transpose of ${op}: an index operand (${x.aval.str()}) cannot be linear`);
  return x;
}

/**
 * The pieces of a take along `axis` with operand and indices both batched (batch dims at 0),
 * out[b, pre…, j…, post…] = x[b, pre…, ind[b, j…], post…]: the batch dim and `axis` are
 * flattened into one axis of size B·n (`xt`, [B·n, pre…, post…]) and each example's
 * normalised indices are offset by b·n (`flat`), so one take-style gather (or scatter_add)
 * along axis 0 serves all examples; `back` permutes its [B, j…, pre…, post…] result in place.
 */
function flattenBatchAxis(x: Value, ind: Value, axis: number): { xt: Value; flat: Value; n: number; back: number[] } {
  const size = x.shape[0], n = x.shape[axis + 1], nd = x.ndim;
  const perm = [0, axis + 1, ...range(1, axis + 1), ...range(axis + 2, nd)];
  const xt = lax.reshape(lax.transpose(x, perm), [size * n, ...perm.slice(2).map((d) => x.shape[d])]);
  const wrapped = lax.select(lax.lt(ind, 0), lax.add(ind, n), ind);
  const local = lax.clamp(0, wrapped, Math.max(n - 1, 0));
  const flat = lax.add(local, lax.mul(lax.broadcastedIota('int32', ind.shape, 0), n));
  // gather(xt, flat, 0) is [B, j…, pre…, post…]; `back` permutes it to [B, pre…, j…, post…].
  const jn = ind.ndim - 1;
  const back = [0, ...range(jn + 1, jn + 1 + axis), ...range(1, jn + 1), ...range(jn + 1 + axis, nd - 1 + jn)];
  return { xt, flat, n, back };
}

const gatherJvp: Rule<'gather'>['jvp'] = ([x, ind], [tx], p) => {
  const out = bind1('gather', [x, ind], p);
  return [[out], [isZero(tx) ? new Zero(out.aval) : bind1('gather', [tx, ind], p)]];
};

const gatherBatch: Rule<'gather'>['batch'] = ([x, ind], [dx, di], { axis }, size) => {
  // Unbatched indices: the axis shifts past the leading batch dim.
  if (di === null) return [[lax.gather(moveBatchDim(x, dx, 0, size), ind, axis + 1)], [0]];
  // Unbatched operand: the index batch dim lands among the index dims of the output.
  if (dx === null) return [[lax.gather(x, ind, axis)], [axis + di]];
  const { xt, flat, back } = flattenBatchAxis(moveBatchDim(x, dx, 0, size), moveBatchDim(ind, di, 0, size), axis);
  return [[lax.transpose(lax.gather(xt, flat, 0), back)], [0]];
};

/** gather is linear in the operand: its transpose scatters (adds) the cotangent back into zeros. */
const gatherTranspose: NonNullable<Rule<'gather'>['transpose']> = ([ct], [x, ind], { axis }) => {
  const xa = avalOf(x), i = knownIndex('gather', ind);
  return [ct instanceof Zero ? new Zero(xa) : bind1('scatter_add', [zerosOf(xa), i, ct], { axis }), null];
};

const scatterJvp: Rule<'scatter_add'>['jvp'] = ([x, ind, upd], [tx, , tu], p) => {
  const out = bind1('scatter_add', [x, ind, upd], p);
  if (isZero(tx) && isZero(tu)) return [[out], [new Zero(out.aval)]];
  return [[out], [bind1('scatter_add', [instantiate(tx), ind, instantiate(tu)], p)]];
};

const scatterBatch: Rule<'scatter_add'>['batch'] = ([x, ind, upd], [dx, di, du], { axis }, size) => {
  const xb = moveBatchDim(x, dx, 0, size), ub = moveBatchDim(upd, du, 0, size);
  if (di === null) return [[lax.scatterAdd(xb, ind, ub, axis + 1)], [0]];
  // Batched indices: scatter into the flattened (batch, axis) dim, updates ordered as [B, j…, pre…, post…].
  const { xt, flat, n, back } = flattenBatchAxis(xb, moveBatchDim(ind, di, 0, size), axis);
  const s = lax.scatterAdd(xt, flat, lax.transpose(ub, invertPerm(back)), 0);
  const rest = s.shape.slice(1);
  const unflat = lax.reshape(s, [size, n, ...rest]);
  // [B, n, pre…, post…] → [B, pre…, n, post…]
  return [[lax.transpose(unflat, [0, ...range(2, axis + 2), 1, ...range(axis + 2, unflat.ndim)])], [0]];
};

/** scatter_add is linear in (operand, updates): ct_x = ct, ct_updates = gather(ct) at the same indices. */
const scatterTranspose: NonNullable<Rule<'scatter_add'>['transpose']> = ([ct], [x, ind, upd], { axis }) => {
  const i = knownIndex('scatter_add', ind);
  const ctx = x instanceof UndefinedPrimal ? ct : null;
  const ctu = upd instanceof UndefinedPrimal ? (ct instanceof Zero ? new Zero(upd.aval) : bind1('gather', [ct, i], { axis })) : null;
  return [ctx, null, ctu];
};

/** Starts clamped so a `window` fits in `shape` (as the primitives do): per-example ones as [B], shared ones 0-d. */
function batchedStarts(starts: readonly Value[], dims: readonly BatchDim[], size: number, shape: readonly number[], window: readonly number[]): Value[] {
  return starts.map((s, d) => lax.clamp(0, moveBatchDim(s, dims[d], 0, size), shape[d] - window[d]));
}

/** The batch-dim-at-0 broadcast of a per-example (shape [B]) or shared (0-d) int32 start. */
const spread = (s: Value, shape: readonly number[]): Value => lax.broadcastInDim(s, shape, s.ndim === 0 ? [] : [0]);

const dsJvp: Rule<'dynamic_slice'>['jvp'] = ([x, ...starts], [tx], p) => {
  const out = bind1('dynamic_slice', [x, ...starts], p);
  return [[out], [isZero(tx) ? new Zero(out.aval) : bind1('dynamic_slice', [tx, ...starts], p)]];
};

/**
 * Batching of dynamic_slice. Shared starts: the batch dim keeps its place with start 0 and full
 * size. Per-example starts (as JAX, a gather): flat indices b·N + Σ_d (clamp(s_d[b]) + k_d)·stride_d
 * built from iotas, one take-style gather from the flattened operand.
 */
const dsBatch: Rule<'dynamic_slice'>['batch'] = ([x, ...starts], [dx, ...ds], { sliceSizes }, size) => {
  if (ds.every((d) => d === null)) {
    const b = dx as number;
    const s = [...starts.slice(0, b), scalar(0, 'int32'), ...starts.slice(b)];
    return [[bind1('dynamic_slice', [x, ...s], { sliceSizes: [...sliceSizes.slice(0, b), size, ...sliceSizes.slice(b)] })], [b]];
  }
  const xb = moveBatchDim(x, dx, 0, size);
  const shape = xb.shape.slice(1), strides = stridesOf(shape), outShape = [size, ...sliceSizes];
  const clamped = batchedStarts(starts, ds, size, shape, sliceSizes);
  let flat = lax.mul(lax.broadcastedIota('int32', outShape, 0), prod(shape));
  clamped.forEach((c, d) => {
    const pos = lax.add(spread(c, outShape), lax.broadcastedIota('int32', outShape, d + 1));
    flat = lax.add(flat, lax.mul(pos, strides[d]));
  });
  return [[lax.gather(lax.reshape(xb, [xb.size]), flat, 0)], [0]];
};

/** dynamic_slice is linear in the operand: its transpose writes the cotangent into zeros at the same (clamped) starts. */
const dsTranspose: NonNullable<Rule<'dynamic_slice'>['transpose']> = ([ct], [x, ...starts]) => {
  const s = starts.map((st) => knownIndex('dynamic_slice', st));
  const xa = avalOf(x);
  return [ct instanceof Zero ? new Zero(xa) : bind1('dynamic_update_slice', [zerosOf(xa), ct, ...s], {}), ...s.map(() => null)];
};

const dusJvp: Rule<'dynamic_update_slice'>['jvp'] = ([x, upd, ...starts], [tx, tu], p) => {
  const out = bind1('dynamic_update_slice', [x, upd, ...starts], p);
  if (isZero(tx) && isZero(tu)) return [[out], [new Zero(out.aval)]];
  return [[out], [bind1('dynamic_update_slice', [instantiate(tx), instantiate(tu), ...starts], p)]];
};

/**
 * Batching of dynamic_update_slice. Shared starts: batch dims to 0 and a 0 start for them.
 * Per-example starts: out = select(inside, update gathered at the clamped relative position, x),
 * where for each dim rel = iota − clamp(s[b]) and inside = 0 ≤ rel < update size.
 */
const dusBatch: Rule<'dynamic_update_slice'>['batch'] = ([x, upd, ...starts], [dx, du, ...ds], p, size) => {
  const xb = moveBatchDim(x, dx, 0, size), ub = moveBatchDim(upd, du, 0, size);
  if (ds.every((d) => d === null)) return [[bind1('dynamic_update_slice', [xb, ub, scalar(0, 'int32'), ...starts], p)], [0]];
  if (ub.size === 0) return [[xb], [0]];
  const shape = xb.shape.slice(1), window = ub.shape.slice(1), ustrides = stridesOf(window);
  const clamped = batchedStarts(starts, ds, size, shape, window);
  let flat = lax.mul(lax.broadcastedIota('int32', xb.shape, 0), prod(window));
  let inside: Value | null = null;
  clamped.forEach((c, d) => {
    const rel = lax.sub(lax.broadcastedIota('int32', xb.shape, d + 1), spread(c, xb.shape));
    const ok = lax.and(lax.ge(rel, 0), lax.lt(rel, window[d]));
    inside = inside ? lax.and(inside, ok) : ok;
    flat = lax.add(flat, lax.mul(lax.clamp(0, rel, window[d] - 1), ustrides[d]));
  });
  const fromUpdate = lax.gather(lax.reshape(ub, [ub.size]), flat, 0);
  return [[inside ? lax.select(inside, fromUpdate, xb) : fromUpdate], [0]];
};

/** Linear in (operand, update): ct_x = ct with the updated window zeroed, ct_update = that window of ct. */
const dusTranspose: NonNullable<Rule<'dynamic_update_slice'>['transpose']> = ([ct], [x, upd, ...starts]) => {
  const s = starts.map((st) => knownIndex('dynamic_update_slice', st));
  const ua = avalOf(upd);
  const nulls = s.map(() => null);
  if (ct instanceof Zero) return [x instanceof UndefinedPrimal ? new Zero(x.aval) : null, upd instanceof UndefinedPrimal ? new Zero(ua) : null, ...nulls];
  const ctx = x instanceof UndefinedPrimal ? bind1('dynamic_update_slice', [ct, zerosOf(ua), ...s], {}) : null;
  const ctu = upd instanceof UndefinedPrimal ? bind1('dynamic_slice', [ct, ...s], { sliceSizes: ua.shape }) : null;
  return [ctx, ctu, ...nulls];
};

export const indexingRules: RuleTable<IndexPrim> = {
  gather: {
    kind: 'expr',
    abstractEval: ([x, ind], { axis }) => [new ShapedArray(gatherShape('gather', x, ind, axis), x.dtype, x.weakType)],
    expr: ({ axis }, [x, ind], [xa, ia]) => (i) => {
      const j = normIndex(ind(i.slice(axis, axis + ia.ndim)), xa.shape[axis]);
      return x([...i.slice(0, axis), j, ...i.slice(axis + ia.ndim)]);
    },
    jvp: gatherJvp,
    batch: gatherBatch,
    transpose: gatherTranspose,
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
    jvp: scatterJvp,
    batch: scatterBatch,
    transpose: scatterTranspose,
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
    jvp: dsJvp,
    batch: dsBatch,
    transpose: dsTranspose,
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
    jvp: dusJvp,
    batch: dusBatch,
    transpose: dusTranspose,
  },
};
