/**
 * Elementwise primitives (jax.lax level: operands already broadcast and promoted), select,
 * casts and iota. Each is one scalar expression of its operands' elements.
 */
import { ShapedArray } from '../aval.js';
import { isFloat, isInt, type DType } from '../dtype.js';
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
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

function unaryRule(name: UnaryPrim): Rules<UnaryPrim> {
  const [op, kind] = UNARY[name];
  return {
    kind: 'expr',
    abstractEval: ([x]) => {
      checkKind(name, kind, x);
      return [name === 'is_finite' ? new ShapedArray(x.shape, 'bool') : x];
    },
    expr: (_p, [x]) => (i) => un(op, x(i)),
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
  };
}

export const elementwiseRules: RuleTable<UnaryPrim | BinaryPrim | 'select_n' | 'convert_element_type' | 'bitcast_convert_type' | 'iota'> = {
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
  },

  convert_element_type: {
    kind: 'expr',
    abstractEval: ([x], p) => [new ShapedArray(x.shape, p.newDtype, p.weakType)],
    expr: (p, [x]) => (i) => cast(x(i), p.newDtype),
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
  },

  iota: {
    kind: 'expr',
    abstractEval: (_a, p) => {
      if (p.dimension < 0 || p.dimension >= p.shape.length) throw new ShapeError(`iota: dimension ${p.dimension} out of range for shape ${fmtShape(p.shape)}`);
      if (p.dtype === 'bool') throw new DTypeError('iota: dtype must be numeric, got bool');
      return [new ShapedArray(p.shape, p.dtype)];
    },
    expr: (p) => (i) => cast(i[p.dimension], p.dtype),
  },
};
