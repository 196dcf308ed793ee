/**
 * Elementwise primitives (jax.lax level: operands already broadcast and promoted), select,
 * casts and iota. Each is one scalar expression of its operands' elements.
 */
import { ShapedArray } from '../aval.js';
import { isFloat, isInt, type DType } from '../dtype.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import * as lax from '../lax.js';
import type { Prim } from '../trace/primitive.js';
import { bind1 } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { binaryJvp, fullOf, instantiate, isZero, linearJvp, moveBatchDim, negTangent, scaleTangent, unaryJvp, vectorizedBatch, zeroJvp } from './ad_util.js';
import { UndefinedPrimal, Zero, type TransformRules } from './rules.js';
import { bin, cast, cnst, select, un, type BinOp, type Expr, type UnOp } from '../kernel/ir.js';
import { shapeEq } from '../shape.js';
import type { Rules, RuleTable } from './rules.js';

type Kind = 'float' | 'numeric' | 'int' | 'intbool' | 'any';

const UNARY = {
  neg: ['neg', 'numeric'], sign: ['sign', 'numeric'], floor: ['floor', 'float'], ceil: ['ceil', 'float'],
  round: ['round', 'float'], is_finite: ['isfinite', 'float'], exp: ['exp', 'float'], expm1: ['expm1', 'float'],
  log: ['log', 'float'], log1p: ['log1p', 'float'], tanh: ['tanh', 'float'], logistic: ['sigmoid', 'float'],
  sin: ['sin', 'float'], cos: ['cos', 'float'], tan: ['tan', 'float'], atan: ['atan', 'float'],
  sqrt: ['sqrt', 'float'], rsqrt: ['rsqrt', 'float'], abs: ['abs', 'numeric'], erf: ['erf', 'float'],
  erf_inv: ['erfinv', 'float'], not: ['not', 'intbool'],
} as const satisfies Record<string, readonly [UnOp, Kind]>;

const BINARY = {
  add: ['add', 'any'], sub: ['sub', 'numeric'], mul: ['mul', 'any'], div: ['div', 'numeric'], rem: ['rem', 'numeric'],
  pow: ['pow', 'numeric'], max: ['max', 'any'], min: ['min', 'any'], atan2: ['atan2', 'float'],
  and: ['and', 'intbool'], or: ['or', 'intbool'], xor: ['xor', 'intbool'],
  shift_left: ['shl', 'int'], shift_right_logical: ['shrl', 'int'], shift_right_arithmetic: ['shra', 'int'],
  eq: ['eq', 'any'], ne: ['ne', 'any'], lt: ['lt', 'any'], le: ['le', 'any'], gt: ['gt', 'any'], ge: ['ge', 'any'],
} as const satisfies Record<string, readonly [BinOp, Kind]>;

export type UnaryPrim = keyof typeof UNARY;
export type BinaryPrim = keyof typeof BINARY;
const COMPARISONS: ReadonlySet<string> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

type NoParams = Record<string, never>;
declare module '../trace/primitive.js' {
  interface PrimParams extends Record<UnaryPrim | BinaryPrim, NoParams> {
    select_n: NoParams;
    convert_element_type: { newDtype: DType; weakType: boolean };
    bitcast_convert_type: { newDtype: DType };
    iota: { dtype: DType; shape: readonly number[]; dimension: number };
    /** The identity whose derivative is zero (`lax.stopGradient`). */
    stop_gradient: NoParams;
  }
}

function accepts(kind: Kind, d: DType): boolean {
  switch (kind) {
    case 'float': return isFloat(d);
    case 'numeric': return d !== 'bool';
    case 'int': return isInt(d);
    case 'intbool': return d !== 'float32';
    case 'any': return true;
  }
}
const KIND_TEXT: Record<Kind, string> = {
  float: 'a float32', numeric: 'a numeric (non-bool)', int: 'an integer', intbool: 'an integer or bool', any: 'any',
};

function checkKind(op: string, kind: Kind, a: ShapedArray): void {
  if (!accepts(kind, a.dtype)) throw new DTypeError(`${op}: expected ${KIND_TEXT[kind]} array, got ${a.str()}`);
}

/** lax-level binary operands must agree exactly: shapes and dtypes. */
export function checkSameAvals(op: string, avals: readonly ShapedArray[]): void {
  for (const a of avals.slice(1)) {
    if (!shapeEq(a.shape, avals[0].shape))
      throw new ShapeError(`${op}: operand shapes must be equal, got ${avals.map((x) => fmtShape(x.shape)).join(' and ')}`);
    if (a.dtype !== avals[0].dtype)
      throw new DTypeError(`${op}: operand dtypes must be equal, got ${avals.map((x) => x.dtype).join(' and ')}`);
  }
}

// ------------------------------------------------------------------ differentiation

type Jvp<P extends Prim> = TransformRules<P>['jvp'];
type Transpose<P extends Prim> = NonNullable<TransformRules<P>['transpose']>;
const SQRT_PI = Math.sqrt(Math.PI);

/** Forward-mode rules of the unary primitives: t_out = t · f'(x) (written with y = f(x) where cheaper). */
const UNARY_JVP: Record<UnaryPrim, Jvp<UnaryPrim>> = {
  neg: linearJvp('neg'),
  sign: zeroJvp('sign'), floor: zeroJvp('floor'), ceil: zeroJvp('ceil'), round: zeroJvp('round'),
  is_finite: zeroJvp('is_finite'), not: zeroJvp('not'),
  exp: unaryJvp('exp', (_x, y) => y),
  expm1: unaryJvp('expm1', (_x, y) => lax.add(y, 1)),
  log: unaryJvp('log', (x) => lax.div(1, x)),
  log1p: unaryJvp('log1p', (x) => lax.div(1, lax.add(x, 1))),
  tanh: unaryJvp('tanh', (_x, y) => lax.sub(1, lax.mul(y, y))),
  logistic: unaryJvp('logistic', (_x, y) => lax.mul(y, lax.sub(1, y))),
  sin: unaryJvp('sin', (x) => lax.cos(x)),
  cos: unaryJvp('cos', (x) => lax.neg(lax.sin(x))),
  tan: unaryJvp('tan', (_x, y) => lax.add(1, lax.mul(y, y))),
  atan: unaryJvp('atan', (x) => lax.div(1, lax.add(1, lax.mul(x, x)))),
  sqrt: unaryJvp('sqrt', (_x, y) => lax.div(0.5, y)),
  rsqrt: unaryJvp('rsqrt', (x, y) => lax.mul(lax.div(y, x), -0.5)),
  abs: unaryJvp('abs', (x) => lax.sign(x)),
  erf: unaryJvp('erf', (x) => lax.mul(lax.exp(lax.neg(lax.mul(x, x))), 2 / SQRT_PI)),
  erf_inv: unaryJvp('erf_inv', (_x, y) => lax.mul(lax.exp(lax.mul(y, y)), SQRT_PI / 2)),
};

/** max/min: the tangent of the selected operand; at ties the average (as JAX). */
function minmaxJvp(prim: 'max' | 'min'): Jvp<BinaryPrim> {
  return ([x, y], [tx, ty]) => {
    const out = bind1(prim, [x, y], {});
    const a = instantiate(tx), b = instantiate(ty);
    const pickX = prim === 'max' ? lax.gt(x, y) : lax.lt(x, y);
    const pickY = prim === 'max' ? lax.lt(x, y) : lax.gt(x, y);
    const t = lax.select(pickX, a, lax.select(pickY, b, lax.mul(lax.add(a, b), 0.5)));
    return [[out], [t]];
  };
}

const BINARY_JVP: Record<BinaryPrim, Jvp<BinaryPrim>> = {
  add: linearJvp('add'),
  sub: linearJvp('sub'),
  mul: binaryJvp('mul', (_x, y) => y, (x) => x),
  div: binaryJvp('div', (_x, y) => lax.div(1, y), (_x, y, out) => lax.neg(lax.div(out, y))),
  rem: binaryJvp('rem', (x) => fullOf(x.aval, 1), (x, y) => lax.neg(lax.round(lax.div(lax.sub(x, lax.rem(x, y)), y)))),
  pow: binaryJvp(
    'pow',
    (x, y) => lax.mul(y, lax.pow(x, lax.sub(y, 1))),
    // d/dy x^y = log(x)·x^y, taken as 0 where x = 0 (so 0^y stays differentiable in y).
    (x, _y, out) => lax.select(lax.eq(x, 0), fullOf(x.aval, 0), lax.mul(lax.log(x), out)),
  ),
  max: minmaxJvp('max'),
  min: minmaxJvp('min'),
  atan2: binaryJvp(
    'atan2',
    (x, y) => lax.div(y, lax.add(lax.mul(x, x), lax.mul(y, y))),
    (x, y) => lax.neg(lax.div(x, lax.add(lax.mul(x, x), lax.mul(y, y)))),
  ),
  and: zeroJvp('and'), or: zeroJvp('or'), xor: zeroJvp('xor'),
  shift_left: zeroJvp('shift_left'), shift_right_logical: zeroJvp('shift_right_logical'), shift_right_arithmetic: zeroJvp('shift_right_arithmetic'),
  eq: zeroJvp('eq'), ne: zeroJvp('ne'), lt: zeroJvp('lt'), le: zeroJvp('le'), gt: zeroJvp('gt'), ge: zeroJvp('ge'),
};

/** Transposes of the linear elementwise primitives (mul and div: linear in one operand, the other known). */
const TRANSPOSE: Partial<Record<UnaryPrim | BinaryPrim, Transpose<UnaryPrim | BinaryPrim>>> = {
  neg: ([ct]) => [negTangent(ct)],
  add: ([ct], args) => args.map((a) => (a instanceof UndefinedPrimal ? ct : null)),
  sub: ([ct], args) => [args[0] instanceof UndefinedPrimal ? ct : null, args[1] instanceof UndefinedPrimal ? negTangent(ct) : null],
  mul: ([ct], [x, y]) => {
    if (x instanceof UndefinedPrimal && y instanceof UndefinedPrimal) throw new ValueError('transpose of mul: both operands are linear (the product is not linear)');
    return x instanceof UndefinedPrimal ? [scaleTangent(ct, y as Value), null] : [null, scaleTangent(ct, x as Value)];
  },
  div: ([ct], [x, y]) => {
    if (y instanceof UndefinedPrimal) throw new ValueError('transpose of div: the divisor is linear (division is not linear in it)');
    return [x instanceof UndefinedPrimal ? (ct instanceof Zero ? ct : lax.div(ct, y)) : null, null];
  },
};

function unaryRule(name: UnaryPrim): Rules<UnaryPrim> {
  const [op, kind] = UNARY[name];
  return {
    kind: 'expr',
    abstractEval: ([x]) => {
      checkKind(name, kind, x);
      return [name === 'is_finite' ? new ShapedArray(x.shape, 'bool') : x];
    },
    expr: (_p, [x]) => (i) => un(op, x(i)),
    jvp: UNARY_JVP[name],
    batch: vectorizedBatch(name),
    transpose: TRANSPOSE[name],
  };
}

function binaryRule(name: BinaryPrim): Rules<BinaryPrim> {
  const [op, kind] = BINARY[name];
  return {
    kind: 'expr',
    abstractEval: (avals) => {
      checkSameAvals(name, avals);
      checkKind(name, kind, avals[0]);
      const weak = avals[0].weakType && avals[1].weakType;
      return [COMPARISONS.has(name) ? new ShapedArray(avals[0].shape, 'bool') : new ShapedArray(avals[0].shape, avals[0].dtype, weak)];
    },
    expr: (_p, [a, b]) => (i) => bin(op, a(i), b(i)),
    jvp: BINARY_JVP[name],
    batch: vectorizedBatch(name),
    transpose: TRANSPOSE[name],
  };
}

export const elementwiseRules: RuleTable<UnaryPrim | BinaryPrim | 'select_n' | 'convert_element_type' | 'bitcast_convert_type' | 'iota' | 'stop_gradient'> = {
  ...(Object.fromEntries(Object.keys(UNARY).map((k) => [k, unaryRule(k as UnaryPrim)])) as RuleTable<UnaryPrim>),
  ...(Object.fromEntries(Object.keys(BINARY).map((k) => [k, binaryRule(k as BinaryPrim)])) as RuleTable<BinaryPrim>),

  /** `select_n(which, *cases)`: cases[which]; a bool `which` picks cases[0] for false, as in jax.lax.select_n. */
  select_n: {
    kind: 'expr',
    abstractEval: ([which, ...cases]) => {
      if (cases.length === 0) throw new ShapeError('select_n: needs at least one case');
      checkSameAvals('select_n', cases);
      if (which.dtype !== 'bool' && which.dtype !== 'int32') throw new DTypeError(`select_n: predicate must be bool or int32, got ${which.str()}`);
      if (which.dtype === 'bool' && cases.length > 2) throw new DTypeError('select_n: a bool predicate selects between at most 2 cases');
      if (which.ndim !== 0 && !shapeEq(which.shape, cases[0].shape))
        throw new ShapeError(`select_n: predicate shape ${fmtShape(which.shape)} must be scalar or equal to the case shape ${fmtShape(cases[0].shape)}`);
      return [new ShapedArray(cases[0].shape, cases[0].dtype, cases.every((c) => c.weakType))];
    },
    expr: (_p, [which, ...cases], [wAval]) => (i) => {
      const w = which(wAval.ndim === 0 ? [] : i);
      let e: Expr = cases[cases.length - 1](i);
      for (let k = cases.length - 2; k >= 0; k--) {
        const isK = w.dtype === 'bool' ? bin('eq', w, cnst(0, 'bool')) : bin('le', w, cnst(k, 'int32'));
        e = select(isK, cases[k](i), e);
      }
      return e;
    },
    jvp: ([which, ...cases], [, ...tans], p) => {
      const out = bind1('select_n', [which, ...cases], p);
      if (!tans.some((t) => !isZero(t))) return [[out], [new Zero(out.aval)]];
      return [[out], [bind1('select_n', [which, ...tans.map(instantiate)], p)]];
    },
    batch: ([which, ...cases], [wd, ...cds], p, size) => {
      const moved = cases.map((c, i) => moveBatchDim(c, cds[i], 0, size));
      const shape = moved[0].shape;
      // A scalar predicate that is not batched stays scalar; otherwise it takes the full case shape.
      const scalarWhich = (wd === null ? which.ndim : which.ndim - 1) === 0;
      const w = wd === null && scalarWhich ? which : lax.broadcastInDim(moveBatchDim(which, wd, 0, size), shape, scalarWhich ? [0] : shape.map((_, i) => i));
      return [[bind1('select_n', [w, ...moved], p)], [0]];
    },
    transpose: ([ct], [which, ...cases]) => {
      if (which instanceof UndefinedPrimal) throw new ValueError('transpose of select_n: the predicate cannot be linear');
      return [null, ...cases.map((c, k) => {
        if (!(c instanceof UndefinedPrimal) || ct instanceof Zero) return c instanceof UndefinedPrimal ? ct : null;
        const zero = fullOf(ct.aval, 0);
        const sel = cases.map((_, j) => (j === k ? ct : zero));
        return bind1('select_n', [which as Value, ...sel], {});
      })];
    },
  },

  convert_element_type: {
    kind: 'expr',
    abstractEval: ([x], p) => [new ShapedArray(x.shape, p.newDtype, p.weakType)],
    expr: (p, [x]) => (i) => cast(x(i), p.newDtype),
    jvp: ([x], [t], p) => {
      const out = bind1('convert_element_type', [x], p);
      const smooth = isFloat(x.dtype) && isFloat(p.newDtype);
      return [[out], [smooth && !isZero(t) ? bind1('convert_element_type', [t], p) : new Zero(out.aval)]];
    },
    batch: vectorizedBatch('convert_element_type'),
    transpose: ([ct], [x]) => [ct instanceof Zero ? new Zero((x as UndefinedPrimal).aval) : bind1('convert_element_type', [ct], { newDtype: (x as UndefinedPrimal).aval.dtype, weakType: (x as UndefinedPrimal).aval.weakType })],
  },

  bitcast_convert_type: {
    kind: 'expr',
    abstractEval: ([x], p) => {
      if (x.dtype === 'bool' || p.newDtype === 'bool') throw new DTypeError(`bitcast_convert_type: bool has no 32-bit representation (${x.dtype} → ${p.newDtype})`);
      return [new ShapedArray(x.shape, p.newDtype)];
    },
    expr: (p, [x]) => (i) => {
      const e = x(i);
      return e.dtype === p.newDtype ? e : { k: 'bitcast', x: e, dtype: p.newDtype };
    },
    jvp: zeroJvp('bitcast_convert_type'),
    batch: vectorizedBatch('bitcast_convert_type'),
  },

  stop_gradient: {
    kind: 'expr',
    abstractEval: ([x]) => [x],
    expr: (_p, [x]) => x,
    jvp: zeroJvp('stop_gradient'),
    batch: vectorizedBatch('stop_gradient'),
  },

  iota: {
    kind: 'expr',
    abstractEval: (_a, p) => {
      if (p.dimension < 0 || p.dimension >= p.shape.length) throw new ShapeError(`iota: dimension ${p.dimension} out of range for shape ${fmtShape(p.shape)}`);
      if (p.dtype === 'bool') throw new DTypeError('iota: dtype must be numeric, got bool');
      return [new ShapedArray(p.shape, p.dtype)];
    },
    expr: (p) => (i) => cast(i[p.dimension], p.dtype),
    jvp: zeroJvp('iota'),
    batch: () => {
      throw new ValueError('iota has no operands, so it is never batched');
    },
  },
};
