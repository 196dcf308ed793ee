/**
 * Reductions: sum/max/min/prod over a set of axes, argmax/argmin over one axis, windowed
 * reductions (pooling) and cumulative scans. The first three families are expressions with a
 * `reduce` node (so they fuse with their producers); scans are backend routines.
 */
import { ShapedArray } from '../aval.js';
import { NDArray } from '../array.js';
import type { DType } from '../dtype.js';
import { AxisError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { bin, cnst, freshVar, idx, reduceIdentity, select, varRef, type Expr, type ReduceOp } from '../kernel/ir.js';
import { prod } from '../shape.js';
import * as lax from '../lax.js';
import { bind1 } from '../trace/trace.js';
import { linearJvp, moveBatchDim } from './ad_util.js';
import { UndefinedPrimal, Zero, type Rules, type RuleTable } from './rules.js';

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

function windowRule(name: WindowPrim, op: 'sum' | 'max' | 'min'): Rules<WindowPrim> {
  return {
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

function cumRule(name: CumPrim, op: 'sum' | 'prod' | 'max' | 'min'): Rules<CumPrim> {
  return {
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

export const reduceRules: RuleTable<ReducePrim | ArgPrim | WindowPrim | CumPrim> = {
  reduce_sum: reduceRule('reduce_sum', 'sum', {
    jvp: linearJvp('reduce_sum'),
    transpose: ([ct], [x], { axes }) => {
      const xa = (x as UndefinedPrimal).aval;
      if (ct instanceof Zero) return [new Zero(xa)];
      return [lax.broadcastInDim(ct, xa.shape, xa.shape.map((_, i) => i).filter((i) => !axes.includes(i)))];
    },
  }),
  reduce_max: reduceRule('reduce_max', 'max', {}),
  reduce_min: reduceRule('reduce_min', 'min', {}),
  reduce_prod: reduceRule('reduce_prod', 'prod', {}),
  argmax: argRule('argmax'),
  argmin: argRule('argmin'),
  reduce_window_sum: windowRule('reduce_window_sum', 'sum'),
  reduce_window_max: windowRule('reduce_window_max', 'max'),
  reduce_window_min: windowRule('reduce_window_min', 'min'),
  cumsum: cumRule('cumsum', 'sum'),
  cumprod: cumRule('cumprod', 'prod'),
  cummax: cumRule('cummax', 'max'),
  cummin: cumRule('cummin', 'min'),
};
