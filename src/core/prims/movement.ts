/**
 * Movement primitives: they only re-index their operand. Eagerly, most are zero-copy views
 * (new strides/offset over the same buffer); in kernels they are index arithmetic, so they
 * fuse into whatever consumes them.
 */
import { ShapedArray } from '../aval.js';
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { bin, flatIndex, idx, select, unravel, type Expr } from '../kernel/ir.js';
import { prod, shapeEq, stridesOf } from '../shape.js';
import * as lax from '../lax.js';
import { scalar } from '../numpy/convert.js';
import type { Value } from '../trace/value.js';
import { linearJvp, moveBatchDim, zerosOf } from './ad_util.js';
import { invertPerm } from './routine.js';
import { UndefinedPrimal, Zero, type BatchDim, type RuleTable, type TransformRules } from './rules.js';

type MovePrim = 'broadcast_in_dim' | 'reshape' | 'transpose' | 'slice' | 'pad' | 'concatenate' | 'rev';

declare module '../trace/primitive.js' {
  interface PrimParams {
    /** Operand dim i becomes output dim broadcastDimensions[i] (size equal or 1). */
    broadcast_in_dim: { shape: readonly number[]; broadcastDimensions: readonly number[] };
    reshape: { newSizes: readonly number[] };
    transpose: { permutation: readonly number[] };
    slice: { startIndices: readonly number[]; limitIndices: readonly number[]; strides: readonly number[] };
    /** Per dim [low, high, interior]; low/high may be negative (cropping). Operands: x, scalar padding value. */
    pad: { config: readonly (readonly [number, number, number])[] };
    concatenate: { dimension: number };
    rev: { dimensions: readonly number[] };
  }
}

const isPerm = (p: readonly number[], n: number) => p.length === n && [...p].sort((a, b) => a - b).every((v, i) => v === i);

/** The aval of a transpose rule's argument, known or linear. */
const avalOf = (x: Value | UndefinedPrimal) => x.aval;
/** `xs` with `v` inserted at position `at` (params of a batched operand that keeps its batch dim in place). */
const insertAt = <T>(xs: readonly T[], at: number, v: T): T[] => [...xs.slice(0, at), v, ...xs.slice(at)];
/** An unbatched dim `d` as a dim of the operand whose batch dim is at `b`. */
const shiftDim = (d: number, b: number): number => (d < b ? d : d + 1);
/** The batch dim of the one operand of a unary rule (batch rules only run with a batched operand). */
const bdimOf = (d: BatchDim): number => d as number;

// ------------------------------------------------------------------ pad: transformation rules

type PadRules = TransformRules<'pad'>;

/**
 * Batching of pad: the batch dim keeps its place with [0, 0, 0] padding. A batched padding
 * value (one scalar per example) is written by a select on a mask of the padded region, as
 * JAX does: select(pad(ones, false), pad(x, 0), broadcast(v)).
 */
const padBatch: PadRules['batch'] = ([x, v], [dx, dv], { config }, size) => {
  const b = dx ?? 0;
  const xb = moveBatchDim(x, dx, b, size);
  const cfg = insertAt(config, b, [0, 0, 0] as const);
  if (dv === null) return [[lax.pad(xb, v, cfg)], [b]];
  const padded = lax.pad(xb, 0, cfg);
  const mask = lax.pad(lax.broadcastInDim(scalar(true, 'bool'), xb.shape, []), false, cfg);
  const fill = lax.broadcastInDim(moveBatchDim(v, dv, 0, size), padded.shape, [b]);
  return [[lax.select(mask, padded, fill)], [b]];
};

/**
 * pad is linear in (operand, padding value) jointly. The operand's cotangent is the
 * cotangent at the operand's positions: undo low/high padding by padding with their
 * negations (positive ones crop; negative ones, which cropped the operand, pad back with
 * zeros), then take every (interior + 1)-th element. The padding value appears at every
 * other output position, so its cotangent is sum(ct) − sum(operand's cotangent).
 */
const padTranspose: NonNullable<PadRules['transpose']> = ([ct], [x, v], { config }) => {
  const xLin = x instanceof UndefinedPrimal, vLin = v instanceof UndefinedPrimal;
  if (ct instanceof Zero) return [xLin ? new Zero(avalOf(x)) : null, vLin ? new Zero(avalOf(v)) : null];
  let tx: Value = ct;
  if (config.some(([lo, hi]) => lo !== 0 || hi !== 0)) tx = lax.pad(tx, 0, config.map(([lo, hi]) => [-lo, -hi, 0] as const));
  if (config.some(([, , int]) => int !== 0))
    tx = lax.slice(tx, tx.shape.map(() => 0), tx.shape, config.map(([, , int]) => int + 1));
  const all = ct.shape.map((_, d) => d);
  const tv = vLin ? lax.sub(lax.reduceSum(ct, all), lax.reduceSum(tx, all)) : null;
  return [xLin ? tx : null, tv];
};

export const movementRules: RuleTable<MovePrim> = {
  broadcast_in_dim: {
    kind: 'expr',
    abstractEval: ([x], { shape, broadcastDimensions: bd }) => {
      const bad = () => new ShapeError(`broadcast_in_dim: cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)} with broadcastDimensions ${fmtShape(bd)}`);
      if (bd.length !== x.ndim || bd.some((d, i) => d < 0 || d >= shape.length || (i > 0 && d <= bd[i - 1]))) throw bad();
      if (x.shape.some((n, i) => n !== 1 && n !== shape[bd[i]])) throw bad();
      return [new ShapedArray(shape, x.dtype, x.weakType)];
    },
    expr: ({ broadcastDimensions: bd }, [x], [xa]) => (i) => x(bd.map((d, k) => (xa.shape[k] === 1 ? idx(0) : i[d]))),
    view: (x, { shape, broadcastDimensions: bd }, out) => {
      const strides = shape.map(() => 0);
      bd.forEach((d, k) => (strides[d] = x.shape[k] === 1 ? 0 : x.strides[k]));
      return x.view(out, strides, x.offset);
    },
    jvp: linearJvp('broadcast_in_dim'),
    batch: ([x], [d], { shape, broadcastDimensions: bd }) => {
      // The batch dim goes first in the output; operand dims keep their targets, shifted by one.
      const xb = moveBatchDim(x, d, 0, x.shape[d!]);
      return [[lax.broadcastInDim(xb, [xb.shape[0], ...shape], [0, ...bd.map((b) => b + 1)])], [0]];
    },
    transpose: ([ct], [x], { shape, broadcastDimensions: bd }) => {
      const xa = (x as UndefinedPrimal).aval;
      if (ct instanceof Zero) return [new Zero(xa)];
      // Sum over the dims that were created or expanded from size 1, then restore size-1 dims.
      const summed = shape.map((_, i) => i).filter((i) => !bd.includes(i) || xa.shape[bd.indexOf(i)] !== shape[i]);
      const s = summed.length ? lax.reduceSum(ct, summed) : ct;
      return [s.ndim === xa.ndim && s.shape.join() === xa.shape.join() ? s : lax.reshape(s, xa.shape)];
    },
  },

  reshape: {
    kind: 'expr',
    abstractEval: ([x], { newSizes }) => {
      if (prod(newSizes) !== x.size || newSizes.some((d) => !Number.isInteger(d) || d < 0))
        throw new ShapeError(`reshape: cannot reshape array of shape ${fmtShape(x.shape)} (size ${x.size}) into shape ${fmtShape(newSizes)}`);
      return [new ShapedArray(newSizes, x.dtype, x.weakType)];
    },
    expr: ({ newSizes }, [x], [xa]) => (i) => x(unravel(flatIndex(i, newSizes), xa.shape)),
    view: (x, { newSizes }, out) => {
      // Dropping/adding size-1 dims keeps any strides; otherwise the view must be row-major.
      const kept = x.shape.map((d, k) => [d, x.strides[k]] as const).filter(([d]) => d !== 1);
      if (shapeEq(kept.map(([d]) => d), newSizes.filter((d) => d !== 1))) {
        let k = 0;
        return x.view(out, newSizes.map((d) => (d === 1 ? 0 : kept[k++][1])), x.offset);
      }
      const rowMajor = stridesOf(x.shape).every((s, k) => x.shape[k] === 1 || s === x.strides[k]);
      return rowMajor ? x.view(out, stridesOf(newSizes), x.offset) : null;
    },
    jvp: linearJvp('reshape'),
    // Row-major reshapes of the examples are one reshape of the batch once it leads.
    batch: ([x], [d], { newSizes }, size) => [[lax.reshape(moveBatchDim(x, d, 0, size), [size, ...newSizes])], [0]],
    transpose: ([ct], [x]) => {
      const xa = avalOf(x);
      return [ct instanceof Zero ? new Zero(xa) : lax.reshape(ct, xa.shape)];
    },
  },

  transpose: {
    kind: 'expr',
    abstractEval: ([x], { permutation: p }) => {
      if (!isPerm(p, x.ndim)) throw new ShapeError(`transpose: permutation ${fmtShape(p)} is not a permutation of the axes of ${fmtShape(x.shape)}`);
      return [new ShapedArray(p.map((d) => x.shape[d]), x.dtype, x.weakType)];
    },
    expr: ({ permutation: p }, [x]) => (i) => {
      const src: Expr[] = new Array(p.length);
      p.forEach((d, k) => (src[d] = i[k]));
      return x(src);
    },
    view: (x, { permutation: p }, out) => x.view(out, p.map((d) => x.strides[d]), x.offset),
    jvp: linearJvp('transpose'),
    // One transpose that also brings the batch dim to the front.
    batch: ([x], [d], { permutation: p }) => {
      const b = bdimOf(d);
      return [[lax.transpose(x, [b, ...p.map((k) => shiftDim(k, b))])], [0]];
    },
    /** The transpose of a permutation is its inverse. */
    transpose: ([ct], [x], { permutation: p }) => {
      return [ct instanceof Zero ? new Zero(avalOf(x)) : lax.transpose(ct, invertPerm(p))];
    },
  },

  slice: {
    kind: 'expr',
    abstractEval: ([x], { startIndices: s, limitIndices: l, strides: st }) => {
      const ok = s.length === x.ndim && l.length === x.ndim && st.length === x.ndim &&
        x.shape.every((n, d) => Number.isInteger(s[d]) && s[d] >= 0 && l[d] >= s[d] && l[d] <= n && st[d] >= 1);
      if (!ok) throw new ShapeError(`slice: invalid start ${fmtShape(s)}, limit ${fmtShape(l)}, strides ${fmtShape(st)} for operand ${fmtShape(x.shape)}`);
      return [new ShapedArray(x.shape.map((_, d) => Math.ceil((l[d] - s[d]) / st[d])), x.dtype, x.weakType)];
    },
    expr: ({ startIndices: s, strides: st }, [x]) => (i) => x(i.map((e, d) => bin('add', bin('mul', e, idx(st[d])), idx(s[d])))),
    view: (x, { startIndices: s, strides: st }, out) =>
      x.view(out, x.strides.map((v, d) => v * st[d]), x.offset + s.reduce((a, v, d) => a + v * x.strides[d], 0)),
    jvp: linearJvp('slice'),
    // The batch dim stays where it is and is taken whole.
    batch: ([x], [d], { startIndices: s, limitIndices: l, strides: st }, size) => {
      const b = bdimOf(d);
      return [[lax.slice(x, insertAt(s, b, 0), insertAt(l, b, size), insertAt(st, b, 1))], [b]];
    },
    /**
     * The transpose of a (strided) slice puts the cotangent back where it was read, zeros
     * elsewhere: pad with `start` zeros below, `n − (start + (m−1)·stride + 1)` above and
     * `stride − 1` between elements (interior padding).
     */
    transpose: ([ct], [x], { startIndices: s, strides: st }) => {
      const xa = avalOf(x);
      if (ct instanceof Zero) return [new Zero(xa)];
      if (ct.size === 0) return [zerosOf(xa)];
      const config = xa.shape.map((n, d) => [s[d], n - (s[d] + (ct.shape[d] - 1) * st[d] + 1), st[d] - 1] as const);
      return [lax.pad(ct, 0, config)];
    },
  },

  rev: {
    kind: 'expr',
    abstractEval: ([x], { dimensions }) => {
      if (dimensions.some((d) => d < 0 || d >= x.ndim)) throw new ShapeError(`rev: dimensions ${fmtShape(dimensions)} out of range for ${fmtShape(x.shape)}`);
      return [x];
    },
    expr: ({ dimensions }, [x], [xa]) => (i) => x(i.map((e, d) => (dimensions.includes(d) ? bin('sub', idx(xa.shape[d] - 1), e) : e))),
    view: (x, { dimensions }, out) => {
      let offset = x.offset;
      const strides = x.strides.map((v, d) => {
        if (!dimensions.includes(d) || x.shape[d] === 0) return v;
        offset += (x.shape[d] - 1) * v;
        return -v;
      });
      return x.view(out, strides, offset);
    },
    jvp: linearJvp('rev'),
    batch: ([x], [d], { dimensions }) => {
      const b = bdimOf(d);
      return [[lax.rev(x, dimensions.map((k) => shiftDim(k, b)))], [b]];
    },
    transpose: ([ct], [x], { dimensions }) => [ct instanceof Zero ? new Zero(avalOf(x)) : lax.rev(ct, dimensions)],
  },

  pad: {
    kind: 'expr',
    abstractEval: ([x, v], { config }) => {
      if (v.ndim !== 0) throw new ShapeError(`pad: padding value must be a scalar, got ${v.str()}`);
      if (v.dtype !== x.dtype) throw new DTypeError(`pad: padding value dtype ${v.dtype} differs from operand dtype ${x.dtype}`);
      if (config.length !== x.ndim || config.some(([, , int]) => int < 0))
        throw new ShapeError(`pad: config ${JSON.stringify(config)} does not fit operand ${fmtShape(x.shape)} (one [low, high, interior>=0] per dim)`);
      const shape = x.shape.map((n, d) => {
        const [lo, hi, int] = config[d];
        return lo + hi + n + Math.max(0, n - 1) * int;
      });
      if (shape.some((n) => n < 0)) throw new ShapeError(`pad: negative output shape ${fmtShape(shape)} from config ${JSON.stringify(config)} on ${fmtShape(x.shape)}`);
      return [new ShapedArray(shape, x.dtype, x.weakType && v.weakType)];
    },
    expr: ({ config }, [x, v], [xa]) => (i) => {
      let valid: Expr | null = null;
      const src = i.map((e, d) => {
        const [lo, , int] = config[d];
        const n = xa.shape[d];
        const pos = bin('sub', e, idx(lo));
        const conds = [bin('ge', pos, idx(0)), bin('lt', pos, idx(n === 0 ? 0 : (n - 1) * (int + 1) + 1))];
        if (int > 0) conds.push(bin('eq', bin('rem', pos, idx(int + 1)), idx(0)));
        for (const c of conds) valid = valid ? bin('and', valid, c) : c;
        const at = int > 0 ? bin('div', pos, idx(int + 1)) : pos;
        return bin('max', bin('min', at, idx(Math.max(n - 1, 0))), idx(0));
      });
      return valid ? select(valid, x(src), v([])) : x(src);
    },
    jvp: linearJvp('pad'),
    batch: padBatch,
    transpose: padTranspose,
  },

  concatenate: {
    kind: 'expr',
    abstractEval: (xs, { dimension: dim }) => {
      if (xs.length === 0) throw new ShapeError('concatenate: needs at least one operand');
      const r = xs[0];
      if (dim < 0 || dim >= r.ndim) throw new ShapeError(`concatenate: dimension ${dim} out of range for rank ${r.ndim}`);
      for (const x of xs) {
        if (x.dtype !== r.dtype) throw new DTypeError(`concatenate: operand dtypes differ: ${xs.map((a) => a.dtype).join(', ')}`);
        if (x.ndim !== r.ndim || x.shape.some((n, d) => d !== dim && n !== r.shape[d]))
          throw new ShapeError(`concatenate: operand shapes ${xs.map((a) => fmtShape(a.shape)).join(', ')} differ outside dimension ${dim}`);
      }
      const shape = [...r.shape];
      shape[dim] = xs.reduce((a, x) => a + x.shape[dim], 0);
      return [new ShapedArray(shape, r.dtype, xs.every((x) => x.weakType))];
    },
    expr: ({ dimension: dim }, xs, avals) => (i) => {
      const starts: number[] = [];
      let acc = 0;
      for (const a of avals) {
        starts.push(acc);
        acc += a.shape[dim];
      }
      const at = (k: number) => xs[k](i.map((e, d) => (d === dim ? bin('sub', e, idx(starts[k])) : e)));
      let e = at(xs.length - 1);
      for (let k = xs.length - 2; k >= 0; k--) if (avals[k].shape[dim] > 0) e = select(bin('lt', i[dim], idx(starts[k + 1])), at(k), e);
      return e;
    },
    jvp: linearJvp('concatenate'),
    batch: (xs, dims, { dimension }, size) => [[lax.concatenate(xs.map((x, i) => moveBatchDim(x, dims[i], 0, size)), dimension + 1)], [0]],
    /** Each linear operand's cotangent is its slab of the output cotangent. */
    transpose: ([ct], xs, { dimension: dim }) => {
      let start = 0;
      return xs.map((x) => {
        const xa = avalOf(x);
        const lo = start;
        start += xa.shape[dim];
        if (!(x instanceof UndefinedPrimal)) return null;
        if (ct instanceof Zero) return new Zero(xa);
        return lax.slice(ct, xa.shape.map((_, d) => (d === dim ? lo : 0)), xa.shape.map((n, d) => (d === dim ? lo + n : n)));
      });
    },
  },
};

