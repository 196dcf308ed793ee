/**
 * Reductions: sum/max/min/prod over a set of axes, argmax/argmin over one axis, windowed
 * reductions (pooling) and cumulative scans. The first three families are expressions with a
 * `reduce` node (so they fuse with their producers); scans are backend routines.
 *
 * Differentiation follows JAX (`lax/lax.py`, `lax/windowed_reductions.py`, `lax/control_flow`):
 * sums and cumsum are linear; max/min pass on the tangent of the chosen element; products
 * use exclusive prefix/suffix products (no division, so zeros are exact). Every tangent map
 * is built from linear primitives with coefficients computed from the primals only.
 */
import { ShapedArray } from '../aval.js';
import { NDArray } from '../array.js';
import type { DType } from '../dtype.js';
import { AxisError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { bin, cnst, freshVar, idx, reduceIdentity, select, varRef, type Expr, type ReduceOp } from '../kernel/ir.js';
import { prod } from '../shape.js';
import * as lax from '../lax.js';
import type { Prim } from '../trace/primitive.js';
import { bind1 } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { fullOf, linearJvp, moveBatchDim, takeAlongAxis, zeroJvp, zerosOf } from './ad_util.js';
import { UndefinedPrimal, Zero, type Rules, type RuleTable, type TransformRules } from './rules.js';
import { invertPerm } from './routine.js';

type ReducePrim = 'reduce_sum' | 'reduce_max' | 'reduce_min' | 'reduce_prod';
type ArgPrim = 'argmax' | 'argmin';
type WindowPrim = 'reduce_window_sum' | 'reduce_window_max' | 'reduce_window_min';
type CumPrim = 'cumsum' | 'cumprod' | 'cummax' | 'cummin';

export interface WindowParams {
  windowDimensions: readonly number[];
  windowStrides: readonly number[];
  padding: readonly (readonly [number, number])[];
  baseDilation: readonly number[];
  windowDilation: readonly number[];
}

declare module '../trace/primitive.js' {
  interface PrimParams extends Record<ReducePrim, { axes: readonly number[] }>, Record<ArgPrim, { axis: number; indexDtype: DType }>,
    Record<WindowPrim, WindowParams>, Record<CumPrim, { axis: number; reverse: boolean }> {}
}

function checkAxes(op: string, axes: readonly number[], ndim: number): void {
  for (const a of axes)
    if (!Number.isInteger(a) || a < 0 || a >= ndim) throw new AxisError(`${op}: axis ${a} out of range for rank ${ndim}`);
  if (new Set(axes).size !== axes.length) throw new AxisError(`${op}: repeated axes ${JSON.stringify(axes)}`);
}

function reduceRule(name: ReducePrim, op: ReduceOp, ad: Pick<Rules<ReducePrim>, 'jvp' | 'transpose'>): Rules<ReducePrim> {
  return {
    ...ad,
    batch: ([x], [d], { axes }) => {
      const xb = moveBatchDim(x, d, 0, x.shape[d!]);
      return [[bind1(name, [xb], { axes: axes.map((a) => a + 1) })], [0]];
    },
    kind: 'expr',
    abstractEval: ([x], { axes }) => {
      checkAxes(name, axes, x.ndim);
      if (x.dtype === 'bool' && (name === 'reduce_sum' || name === 'reduce_prod')) throw new DTypeError(`${name}: bool operands must be cast first, got ${x.str()}`);
      return [new ShapedArray(x.shape.filter((_, i) => !axes.includes(i)), x.dtype, x.weakType)];
    },
    expr: ({ axes }, [x], [xa]) => (out) => {
      const vars = axes.map((a) => ({ name: freshVar(), size: xa.shape[a] }));
      const full: Expr[] = [];
      let o = 0;
      for (let d = 0; d < xa.ndim; d++) {
        const r = axes.indexOf(d);
        full.push(r >= 0 ? varRef(vars[r].name) : out[o++]);
      }
      if (vars.length === 0) return x(full);
      return { k: 'reduce', op, vars, body: x(full), dtype: xa.dtype };
    },
  };
}

function argRule(name: ArgPrim): Rules<ArgPrim> {
  return {
    jvp: zeroJvp(name),
    batch: ([x], [d], { axis, indexDtype }) => {
      const xb = moveBatchDim(x, d, 0, x.shape[d!]);
      return [[bind1(name, [xb], { axis: axis + 1, indexDtype })], [0]];
    },
    kind: 'expr',
    abstractEval: ([x], { axis, indexDtype }) => {
      checkAxes(name, [axis], x.ndim);
      if (x.shape[axis] === 0) throw new ShapeError(`${name}: attempt to get ${name} of an empty axis ${axis} of shape ${fmtShape(x.shape)}`);
      if (indexDtype !== 'int32') throw new DTypeError(`${name}: index dtype must be int32, got ${indexDtype}`);
      return [new ShapedArray(x.shape.filter((_, i) => i !== axis), 'int32')];
    },
    expr: ({ axis }, [x], [xa]) => (out) => {
      const v = { name: freshVar(), size: xa.shape[axis] };
      const full = [...out.slice(0, axis), varRef(v.name), ...out.slice(axis)];
      return { k: 'reduce', op: name, vars: [v], body: x(full), dtype: 'int32' };
    },
  };
}

function windowRule(name: WindowPrim, op: 'sum' | 'max' | 'min', ad: Pick<Rules<WindowPrim>, 'jvp' | 'transpose'>): Rules<WindowPrim> {
  return {
    ...ad,
    batch: ([x], [d], p) => {
      // The batch dim becomes one more window dim, of size 1.
      const xb = moveBatchDim(x, d, 0, x.shape[d!]);
      const params: WindowParams = {
        windowDimensions: [1, ...p.windowDimensions], windowStrides: [1, ...p.windowStrides], padding: [[0, 0], ...p.padding],
        baseDilation: [1, ...p.baseDilation], windowDilation: [1, ...p.windowDilation],
      };
      return [[bind1(name, [xb], params)], [0]];
    },
    kind: 'expr',
    abstractEval: ([x], p) => [new ShapedArray(windowOutShape(name, x.shape, p), x.dtype, x.weakType)],
    expr: (p, [x], [xa]) => (out) => {
      const vars = p.windowDimensions.map((size) => ({ name: freshVar(), size }));
      let valid: Expr | null = null;
      const at: Expr[] = [];
      xa.shape.forEach((n, d) => {
        // position in the dilated, padded base: out*stride + w*windowDilation - padLo
        const pos = bin('sub', bin('add', bin('mul', out[d], idx(p.windowStrides[d])), bin('mul', varRef(vars[d].name), idx(p.windowDilation[d]))), idx(p.padding[d][0]));
        const bd = p.baseDilation[d];
        const conds: Expr[] = [bin('ge', pos, idx(0)), bin('lt', pos, idx((n - 1) * bd + 1))];
        if (bd !== 1) conds.push(bin('eq', bin('rem', pos, idx(bd)), idx(0)));
        for (const c of conds) valid = valid ? bin('and', valid, c) : c;
        at.push(bd === 1 ? pos : bin('div', pos, idx(bd)));
      });
      // Padding reads as the reduction's identity; masked-out lanes load a clamped (in-bounds) index.
      const body = valid ? select(valid, x(at.map((e, d) => clampIndex(e, xa.shape[d]))), cnst(reduceIdentity(op, xa.dtype), xa.dtype)) : x(at);
      return { k: 'reduce', op, vars, body, dtype: xa.dtype };
    },
  };
}

function clampIndex(e: Expr, n: number): Expr {
  return bin('max', bin('min', e, idx(Math.max(n - 1, 0))), idx(0));
}

/** Output shape of lax.reduce_window. */
export function windowOutShape(op: string, shape: readonly number[], p: WindowParams): number[] {
  const nd = shape.length;
  for (const [k, v] of Object.entries(p))
    if ((v as readonly unknown[]).length !== nd) throw new ShapeError(`${op}: ${k} has ${(v as readonly unknown[]).length} entries for an operand of rank ${nd} ${fmtShape(shape)}`);
  return shape.map((n, d) => {
    const base = n === 0 ? 0 : (n - 1) * p.baseDilation[d] + 1;
    const padded = base + p.padding[d][0] + p.padding[d][1];
    const win = (p.windowDimensions[d] - 1) * p.windowDilation[d] + 1;
    const o = padded < win ? 0 : Math.floor((padded - win) / p.windowStrides[d]) + 1;
    if (p.windowStrides[d] < 1 || p.windowDimensions[d] < 1) throw new ShapeError(`${op}: window dimensions and strides must be positive, got ${JSON.stringify(p)}`);
    return o;
  });
}

function cumRule(name: CumPrim, op: 'sum' | 'prod' | 'max' | 'min', ad: Pick<Rules<CumPrim>, 'jvp' | 'transpose'>): Rules<CumPrim> {
  return {
    ...ad,
    batch: ([x], [d], { axis, reverse }) => {
      const xb = moveBatchDim(x, d, 0, x.shape[d!]);
      return [[bind1(name, [xb], { axis: axis + 1, reverse })], [0]];
    },
    kind: 'routine',
    abstractEval: ([x], { axis }) => {
      checkAxes(name, [axis], x.ndim);
      if (x.dtype === 'bool') throw new DTypeError(`${name}: bool operands must be cast first, got ${x.str()}`);
      return [x];
    },
    impl: ([x], { axis, reverse }, [out]) => {
      const c = x.contiguous();
      const b = c.backend;
      const buf = b.alloc(out.dtype, out.size);
      const params = { outer: prod(x.shape.slice(0, axis)), n: x.shape[axis], inner: prod(x.shape.slice(axis + 1)), op, reverse };
      if (out.size > 0) b.routine('cumulative', [c.buffer], [buf], params);
      return [NDArray.fromBuffer(b, buf, out.shape, out.dtype, out.weakType)];
    },
  };
}

// ------------------------------------------------------------------ differentiation

type Jvp<P extends Prim> = TransformRules<P>['jvp'];
const range = (n: number): number[] => [...Array(n).keys()];
const sumOver = (x: Value, axes: readonly number[]): Value => bind1('reduce_sum', [x], { axes });

/** A reduction's output broadcast back to the operand's shape (the reduced dims re-expanded). */
function expandReduced(y: Value, shape: readonly number[], axes: readonly number[]): Value {
  return lax.broadcastInDim(y, shape, range(shape.length).filter((i) => !axes.includes(i)));
}

/**
 * reduce_max / reduce_min (JAX's `_reduce_chooser_jvp_rule`): the tangent of the elements
 * equal to the result, averaged over ties: Σ t·[x = y] / Σ [x = y]. A NaN result matches
 * nothing, so its tangent is 0/0 = NaN, as in JAX.
 */
function reduceChooserJvp(name: 'reduce_max' | 'reduce_min'): Jvp<ReducePrim> {
  return ([x], [t], { axes }) => {
    const y = bind1(name, [x], { axes });
    if (t instanceof Zero) return [[y], [new Zero(y.aval)]];
    const loc = lax.convertElementType(lax.eq(x, expandReduced(y, x.shape, axes)), x.dtype);
    return [[y], [lax.div(sumOver(lax.mul(t, loc), axes), sumOver(loc, axes))]];
  };
}

/**
 * ∂(∏ᵢ xᵢ)/∂xⱼ = ∏_{i≠j} xᵢ, as the exclusive prefix product times the exclusive suffix
 * product over the (flattened) reduced axes: exact where some xᵢ are zero, unlike ∏x / xⱼ.
 */
function productOfOthers(x: Value, axes: readonly number[]): Value {
  if (axes.length === 0) return fullOf(x.aval, 1);
  const kept = range(x.ndim).filter((d) => !axes.includes(d));
  const perm = [...kept, ...axes];
  const identity = perm.every((d, i) => d === i);
  const moved = identity ? x : lax.transpose(x, perm);
  const n = prod(axes.map((a) => x.shape[a]));
  const last = kept.length;
  const rows = lax.reshape(moved, [...kept.map((d) => x.shape[d]), n]);
  const shiftCfg = (lo: number, hi: number) => rows.shape.map((_, d) => (d === last ? [lo, hi, 0] as const : [0, 0, 0] as const));
  const before = bind1('cumprod', [lax.pad(rows, 1, shiftCfg(1, -1))], { axis: last, reverse: false });
  const after = bind1('cumprod', [lax.pad(rows, 1, shiftCfg(-1, 1))], { axis: last, reverse: true });
  const others = lax.reshape(lax.mul(before, after), moved.shape);
  return identity ? others : lax.transpose(others, invertPerm(perm));
}

const reduceProdJvp: Jvp<ReducePrim> = ([x], [t], { axes }) => {
  const y = bind1('reduce_prod', [x], { axes });
  if (t instanceof Zero) return [[y], [new Zero(y.aval)]];
  return [[y], [sumOver(lax.mul(t, productOfOthers(x, axes)), axes)]];
};

/** The operand as a window reduction sees it: base-dilated and padded, holes and pads reading `fill`. */
function windowBase(x: Value, p: WindowParams, fill: number): Value {
  return lax.pad(x, fill, x.shape.map((_, d) => [p.padding[d][0], p.padding[d][1], p.baseDilation[d] - 1] as const));
}

/** The element at window offset `k` of every output position's window: a strided slice of the base. */
function windowSlab(base: Value, k: readonly number[], p: WindowParams, outShape: readonly number[]): Value {
  const start = k.map((kd, d) => kd * p.windowDilation[d]);
  return lax.slice(base, start, start.map((s, d) => s + (outShape[d] - 1) * p.windowStrides[d] + 1), p.windowStrides);
}

/** Every window offset, in row-major order. */
function windowOffsets(dims: readonly number[]): number[][] {
  let offs: number[][] = [[]];
  for (const n of dims) offs = offs.flatMap((o) => range(n).map((i) => [...o, i]));
  return offs;
}

/**
 * reduce_window_max / min (JAX's `_reduce_window_chooser_jvp_rule`, a select-and-gather): the
 * tangent of the first element of each window (row-major window order) equal to the result,
 * or of its first NaN when the result is NaN. Written as a sum over window offsets of
 * mask · slab of the padded tangent, so the transpose is pads and slices.
 */
function windowChooserJvp(name: 'reduce_window_max' | 'reduce_window_min'): Jvp<WindowPrim> {
  return ([x], [t], p) => {
    const y = bind1(name, [x], p);
    if (t instanceof Zero) return [[y], [new Zero(y.aval)]];
    if (y.size === 0 || x.size === 0) return [[y], [zerosOf(y.aval)]];
    const xb = windowBase(x, p, name === 'reduce_window_max' ? -Infinity : Infinity);
    const tb = windowBase(t, p, 0);
    const yNan = lax.ne(y, y);
    let taken: Value | null = null;
    let out: Value | null = null;
    for (const k of windowOffsets(p.windowDimensions)) {
      const xs = windowSlab(xb, k, p, y.shape);
      let hit = lax.or(lax.eq(xs, y), lax.and(yNan, lax.ne(xs, xs)));
      if (taken) {
        hit = lax.and(hit, lax.not(taken));
        taken = lax.or(taken, hit);
      } else taken = hit;
      const term = lax.mul(windowSlab(tb, k, p, y.shape), lax.convertElementType(hit, x.dtype));
      out = out ? lax.add(out, term) : term;
    }
    return [[y], [out!]];
  };
}

/** Dilated length of a dim of n elements (JAX's `_dilate_shape`). */
const dilate = (n: number, d: number): number => (n === 0 ? 0 : 1 + d * (n - 1));

/**
 * reduce_window_sum is linear; its transpose (JAX's `_reduce_window_sum_transpose_rule`)
 * pads the cotangent (interior padding stride − 1, edges from `_conv_general_vjp_lhs_padding`)
 * and sums it over the same (dilated) window with strides equal to the base dilation.
 */
const windowSumTranspose: NonNullable<TransformRules<WindowPrim>['transpose']> = ([ct], [x], p) => {
  const xa = (x as UndefinedPrimal).aval;
  if (ct instanceof Zero) return [new Zero(xa)];
  if (xa.size === 0 || ct.size === 0) return [zerosOf(xa)];
  const cfg = xa.shape.map((n, d) => {
    const win = dilate(p.windowDimensions[d], p.windowDilation[d]);
    const lo = win - p.padding[d][0] - 1;
    const hi = dilate(n, p.baseDilation[d]) + win - 1 - dilate(ct.shape[d], p.windowStrides[d]) - lo;
    return [lo, hi, p.windowStrides[d] - 1] as const;
  });
  const r = bind1('reduce_window_sum', [lax.pad(ct, 0, cfg)], {
    windowDimensions: p.windowDimensions, windowStrides: p.baseDilation, padding: xa.shape.map(() => [0, 0] as const),
    baseDilation: xa.shape.map(() => 1), windowDilation: p.windowDilation,
  });
  return [r];
};

/** `x` shifted by `s` along `axis` in the scan direction (out[i] = x[i − s], or x[i + s] reversed), vacated entries `fill`. */
function shiftAlong(x: Value, s: number, axis: number, reverse: boolean, fill: number): Value {
  return lax.pad(x, fill, x.shape.map((_, d) => (d !== axis ? [0, 0, 0] as const : reverse ? [-s, s, 0] as const : [s, -s, 0] as const)));
}

/**
 * cumprod: the jvp of a Hillis–Steele inclusive scan of (p, dp) pairs under
 * (p₁, d₁)∘(p₂, d₂) = (p₁p₂, d₁p₂ + p₁d₂): ⌈log₂ n⌉ steps, division-free (exact with zeros);
 * JAX differentiates its associative scan the same way.
 */
const cumprodJvp: Jvp<CumPrim> = ([x], [t], { axis, reverse }) => {
  const y = bind1('cumprod', [x], { axis, reverse });
  if (t instanceof Zero) return [[y], [new Zero(y.aval)]];
  let p = x, d: Value = t;
  for (let s = 1; s < x.shape[axis]; s *= 2) {
    const ps = shiftAlong(p, s, axis, reverse, 1);
    d = lax.add(lax.mul(shiftAlong(d, s, axis, reverse, 0), p), lax.mul(d, ps));
    p = lax.mul(ps, p);
  }
  return [[y], [d]];
};

/**
 * cummax / cummin: the tangent at the position of the running extremum, the latest element
 * (in scan order) equal to it (a NaN result takes the latest NaN), gathered along the axis.
 */
function cumChooserJvp(name: 'cummax' | 'cummin'): Jvp<CumPrim> {
  return ([x], [t], { axis, reverse }) => {
    const y = bind1(name, [x], { axis, reverse });
    if (t instanceof Zero) return [[y], [new Zero(y.aval)]];
    const hit = lax.or(lax.eq(x, y), lax.ne(x, x));
    const pos = lax.broadcastedIota('int32', x.shape, axis);
    const src = reverse
      ? bind1('cummin', [lax.select(hit, pos, x.shape[axis])], { axis, reverse: true })
      : bind1('cummax', [lax.select(hit, pos, -1)], { axis, reverse: false });
    return [[y], [takeAlongAxis(t, src, axis)]];
  };
}

export const reduceRules: RuleTable<ReducePrim | ArgPrim | WindowPrim | CumPrim> = {
  reduce_sum: reduceRule('reduce_sum', 'sum', {
    jvp: linearJvp('reduce_sum'),
    transpose: ([ct], [x], { axes }) => {
      const xa = (x as UndefinedPrimal).aval;
      if (ct instanceof Zero) return [new Zero(xa)];
      return [lax.broadcastInDim(ct, xa.shape, xa.shape.map((_, i) => i).filter((i) => !axes.includes(i)))];
    },
  }),
  reduce_max: reduceRule('reduce_max', 'max', { jvp: reduceChooserJvp('reduce_max') }),
  reduce_min: reduceRule('reduce_min', 'min', { jvp: reduceChooserJvp('reduce_min') }),
  reduce_prod: reduceRule('reduce_prod', 'prod', { jvp: reduceProdJvp }),
  argmax: argRule('argmax'),
  argmin: argRule('argmin'),
  reduce_window_sum: windowRule('reduce_window_sum', 'sum', { jvp: linearJvp('reduce_window_sum'), transpose: windowSumTranspose }),
  reduce_window_max: windowRule('reduce_window_max', 'max', { jvp: windowChooserJvp('reduce_window_max') }),
  reduce_window_min: windowRule('reduce_window_min', 'min', { jvp: windowChooserJvp('reduce_window_min') }),
  cumsum: cumRule('cumsum', 'sum', {
    jvp: linearJvp('cumsum'),
    // The transpose of an inclusive scan is the inclusive scan in the other direction.
    transpose: ([ct], [x], { axis, reverse }) => [ct instanceof Zero ? new Zero((x as UndefinedPrimal).aval) : bind1('cumsum', [ct], { axis, reverse: !reverse })],
  }),
  cumprod: cumRule('cumprod', 'prod', { jvp: cumprodJvp }),
  cummax: cumRule('cummax', 'max', { jvp: cumChooserJvp('cummax') }),
  cummin: cumRule('cummin', 'min', { jvp: cumChooserJvp('cummin') }),
};
