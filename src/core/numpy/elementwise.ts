/**
 * NumPy-style elementwise functions: operands are converted (JS scalars become weak),
 * promoted with JAX's lattice, broadcast, and bound to the lax-level primitives.
 */
import { checkDType, promote, type DType } from '../dtype.js';
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { broadcastShapes, shapeEq } from '../shape.js';
import { bind1 } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import type { BinaryPrim, UnaryPrim } from '../prims/elementwise.js';
import { toValue, type ArrayLike } from './convert.js';

/** Cast to `dtype` (no-op when equal); `weak` keeps weak typing for scalar literals. */
export function convert(x: Value, dtype: DType, weak = false): Value {
  if (x.dtype === dtype && x.weakType === weak) return x;
  return bind1('convert_element_type', [x], { newDtype: dtype, weakType: weak });
}

/** `np.astype`: a strongly typed cast. */
export function astype(x: ArrayLike, dtype: DType): Value {
  return convert(toValue('astype', x), checkDType('astype', dtype));
}

/** Broadcast to `shape` (NumPy rules: align trailing dims). */
export function broadcastTo(x: ArrayLike, shape: readonly number[]): Value {
  const v = toValue('broadcastTo', x);
  if (shapeEq(v.shape, shape)) return v;
  const out = v.ndim <= shape.length ? broadcastShapes('broadcastTo', v.shape, shape) : null;
  if (!out || !shapeEq(out, shape)) throw new ShapeError(`broadcastTo: cannot broadcast an array of shape ${fmtShape(v.shape)} to shape ${fmtShape(shape)}`);
  const lead = shape.length - v.ndim;
  return bind1('broadcast_in_dim', [v], { shape, broadcastDimensions: v.shape.map((_, i) => i + lead) });
}

/** Convert, promote to a common dtype and broadcast to a common shape. */
export function promoteArgs(op: string, ...xs: ArrayLike[]): Value[] {
  const vs = xs.map((x) => toValue(op, x));
  let t = { dtype: vs[0].dtype, weak: vs[0].weakType };
  for (const v of vs.slice(1)) t = promote(t.dtype, t.weak, v.dtype, v.weakType);
  const shape = broadcastShapes(op, ...vs.map((v) => v.shape));
  return vs.map((v) => broadcastTo(convert(v, t.dtype, t.weak), shape));
}

function binary(prim: BinaryPrim, op: string, a: ArrayLike, b: ArrayLike): Value {
  return bind1(prim, promoteArgs(op, a, b), {});
}
function unary(prim: UnaryPrim, x: Value): Value {
  return bind1(prim, [x], {});
}
/** Ints and bools go to float32 (NumPy's promotion for transcendental functions); weak stays weak. */
function toFloat(op: string, x: ArrayLike): Value {
  const v = toValue(op, x);
  return v.dtype === 'float32' ? v : convert(v, 'float32', v.weakType);
}
const floatUnary = (prim: UnaryPrim, op: string) => (x: ArrayLike): Value => unary(prim, toFloat(op, x));

export const add = (a: ArrayLike, b: ArrayLike): Value => {
  const [x, y] = promoteArgs('add', a, b);
  return bind1(x.dtype === 'bool' ? 'or' : 'add', [x, y], {});
};
export const sub = (a: ArrayLike, b: ArrayLike): Value => {
  const [x, y] = promoteArgs('sub', a, b);
  if (x.dtype === 'bool') throw new DTypeError('sub: numpy boolean subtract is not supported; use logicalXor');
  return bind1('sub', [x, y], {});
};
export const mul = (a: ArrayLike, b: ArrayLike): Value => {
  const [x, y] = promoteArgs('mul', a, b);
  return bind1(x.dtype === 'bool' ? 'and' : 'mul', [x, y], {});
};
/** True division: integer operands are divided as float32 (NumPy's `/`). */
export const div = (a: ArrayLike, b: ArrayLike): Value => {
  const [x, y] = promoteArgs('div', a, b);
  return x.dtype === 'float32' ? bind1('div', [x, y], {}) : bind1('div', [convert(x, 'float32', x.weakType), convert(y, 'float32', y.weakType)], {});
};
/** Floor division (NumPy `//`): rounds toward −∞ for ints and floats. */
export const floorDivide = (a: ArrayLike, b: ArrayLike): Value => {
  const [x, y] = promoteArgs('floorDivide', a, b);
  if (x.dtype === 'float32') return unary('floor', bind1('div', [x, y], {}));
  // trunc(x/y) − 1 when the remainder is non-zero and the signs differ.
  const q = bind1('div', [x, y], {});
  const r = bind1('rem', [x, y], {});
  const zero = convert(toValue('floorDivide', 0), x.dtype);
  const fix = logicalAnd(notEqual(r, zero), notEqual(less(r, zero), less(y, zero)));
  return where(fix, sub(q, 1), q);
};
/** Remainder with the sign of the divisor (NumPy `%`). */
export const mod = (a: ArrayLike, b: ArrayLike): Value => {
  const [x, y] = promoteArgs('mod', a, b);
  const r = bind1('rem', [x, y], {});
  const zero = convert(toValue('mod', 0), x.dtype);
  const fix = logicalAnd(notEqual(r, zero), notEqual(less(r, zero), less(y, zero)));
  return where(fix, add(r, y), r);
};
export const pow = (a: ArrayLike, b: ArrayLike): Value => binary('pow', 'pow', a, b);
export const maximum = (a: ArrayLike, b: ArrayLike): Value => binary('max', 'maximum', a, b);
export const minimum = (a: ArrayLike, b: ArrayLike): Value => binary('min', 'minimum', a, b);
export const arctan2 = (a: ArrayLike, b: ArrayLike): Value => bind1('atan2', promoteArgs('arctan2', toFloat('arctan2', a), toFloat('arctan2', b)), {});

export const neg = (x: ArrayLike): Value => unary('neg', toValue('neg', x));
export const abs = (x: ArrayLike): Value => {
  const v = toValue('abs', x);
  return v.dtype === 'bool' || v.dtype === 'uint32' ? v : unary('abs', v);
};
export const sign = (x: ArrayLike): Value => unary('sign', toValue('sign', x));
export const square = (x: ArrayLike): Value => {
  const v = toValue('square', x);
  return bind1('mul', [v, v], {});
};
export const exp = floatUnary('exp', 'exp');
export const expm1 = floatUnary('expm1', 'expm1');
export const log = floatUnary('log', 'log');
export const log1p = floatUnary('log1p', 'log1p');
export const sqrt = floatUnary('sqrt', 'sqrt');
export const rsqrt = floatUnary('rsqrt', 'rsqrt');
export const sin = floatUnary('sin', 'sin');
export const cos = floatUnary('cos', 'cos');
export const tan = floatUnary('tan', 'tan');
export const tanh = floatUnary('tanh', 'tanh');
export const arctan = floatUnary('atan', 'arctan');
export const sigmoid = floatUnary('logistic', 'sigmoid');
export const erf = floatUnary('erf', 'erf');
export const erfinv = floatUnary('erf_inv', 'erfinv');
const intIdentity = (prim: UnaryPrim, op: string) => (x: ArrayLike): Value => {
  const v = toValue(op, x);
  if (v.dtype === 'bool') throw new DTypeError(`${op}: expected a numeric array, got ${v.aval.str()}`);
  return v.dtype === 'float32' ? unary(prim, v) : v;
};
export const floor = intIdentity('floor', 'floor');
export const ceil = intIdentity('ceil', 'ceil');
/** Round half to even (NumPy's `round` with decimals=0). */
export const round = intIdentity('round', 'round');

export function clip(x: ArrayLike, lo?: ArrayLike | null, hi?: ArrayLike | null): Value {
  let v = toValue('clip', x);
  if (lo !== undefined && lo !== null) v = maximum(v, lo);
  if (hi !== undefined && hi !== null) v = minimum(v, hi);
  return v;
}

/** `where(c, x, y)`: x where c is true, else y (broadcast, promoted). */
export function where(cond: ArrayLike, x: ArrayLike, y: ArrayLike): Value {
  const c0 = toValue('where', cond);
  const [a, b] = promoteArgs('where', x, y);
  const shape = broadcastShapes('where', c0.shape, a.shape);
  const c = broadcastTo(c0.dtype === 'bool' ? c0 : notEqual(c0, 0), shape);
  return bind1('select_n', [c, broadcastTo(b, shape), broadcastTo(a, shape)], {});
}

export const equal = (a: ArrayLike, b: ArrayLike): Value => binary('eq', 'equal', a, b);
export const notEqual = (a: ArrayLike, b: ArrayLike): Value => binary('ne', 'notEqual', a, b);
export const less = (a: ArrayLike, b: ArrayLike): Value => binary('lt', 'less', a, b);
export const lessEqual = (a: ArrayLike, b: ArrayLike): Value => binary('le', 'lessEqual', a, b);
export const greater = (a: ArrayLike, b: ArrayLike): Value => binary('gt', 'greater', a, b);
export const greaterEqual = (a: ArrayLike, b: ArrayLike): Value => binary('ge', 'greaterEqual', a, b);

const toBool = (op: string, x: ArrayLike): Value => {
  const v = toValue(op, x);
  return v.dtype === 'bool' ? v : notEqual(v, 0);
};
export const logicalAnd = (a: ArrayLike, b: ArrayLike): Value => bind1('and', promoteArgs('logicalAnd', toBool('logicalAnd', a), toBool('logicalAnd', b)), {});
export const logicalOr = (a: ArrayLike, b: ArrayLike): Value => bind1('or', promoteArgs('logicalOr', toBool('logicalOr', a), toBool('logicalOr', b)), {});
export const logicalXor = (a: ArrayLike, b: ArrayLike): Value => bind1('xor', promoteArgs('logicalXor', toBool('logicalXor', a), toBool('logicalXor', b)), {});
export const logicalNot = (x: ArrayLike): Value => unary('not', toBool('logicalNot', x));
export const isnan = (x: ArrayLike): Value => {
  const v = toValue('isnan', x);
  return v.dtype === 'float32' ? bind1('ne', [v, v], {}) : broadcastTo(toValue('isnan', false), v.shape);
};
export const isfinite = (x: ArrayLike): Value => {
  const v = toValue('isfinite', x);
  return v.dtype === 'float32' ? unary('is_finite', v) : broadcastTo(toValue('isfinite', true), v.shape);
};
export const isinf = (x: ArrayLike): Value => logicalAnd(logicalNot(isfinite(x)), logicalNot(isnan(x)));

/** Methods installed on every array and tracer (`x.add(y)`); see `array_methods.ts`. */
export const elementwiseMethods = {
  add, sub, mul, div, floorDivide, mod, pow, maximum, minimum, arctan2, neg, abs, sign, square, exp, expm1, log, log1p,
  sqrt, rsqrt, sin, cos, tan, tanh, arctan, sigmoid, erf, erfinv, floor, ceil, round, clip, equal, notEqual, less,
  lessEqual, greater, greaterEqual, logicalAnd, logicalOr, logicalXor, logicalNot, isnan, isfinite, isinf, astype, broadcastTo,
};
