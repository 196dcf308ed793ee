/**
 * The scalar semantics of kernel ops as WebAssembly instruction fragments, mirroring the
 * JavaScript oracle (`render/js.ts`) bit for bit:
 *
 * - float32 values are f32; +, −, ×, ÷ and √ in f32 equal the oracle's f64 operation rounded
 *   by `Math.fround` (double rounding is innocuous for them). exp, log, tanh and sigmoid of
 *   an f32 are native f32 code (`wasm_math.ts`: within a few ulps of the oracle, not bit for
 *   bit); the other transcendentals, and those four on a wide (f64) argument, call the very
 *   JS functions the oracle calls (`Math.*`, `jsMath`), imported as `m.<name>`, on the
 *   promoted argument, and round the result.
 * - A float sum or product reduction accumulates in f64 like the oracle, so its result is a
 *   *wide* (f64) fragment; an op on a wide operand computes in f64 and rounds only where the
 *   oracle calls `Math.fround` (max, min, neg, abs, select keep the f64 value, as JS does).
 * - int32, uint32 and bool are i32 (uint32 as its bit pattern; bool as 0/1) with the
 *   oracle's wrap-around, XLA's x/0 = all ones and x%0 = x, shifts by ≥ 32 giving 0 (or the
 *   sign fill), saturating float→int casts with NaN → 0.
 *
 * Integer ops that need an operand twice park it in a scratch local: the fragment between
 * the `local.set` and the last `local.get` evaluates no other fragment, so one scratch
 * local per (role, type) serves every op of a kernel.
 */
import type { DType } from '../../dtype.js';
import { jsMath } from '../../kernel/js_math.js';
import type { BinOp, UnOp } from '../../kernel/ir.js';
import { Code, type ValType } from '../wasm/encoder.js';
import type { PlainOp } from '../wasm/opcodes.js';
import { emitMath, isNativeMath, type MathLocal } from './wasm_math.js';

export type WTy = 'i32' | 'f32' | 'f64';
type FTy = 'f32' | 'f64';

/** An instruction sequence leaving one value of type `ty` (null: a statement); `k`: the value of a constant. */
export interface Frag {
  readonly code: Code;
  readonly ty: WTy | null;
  readonly k?: number;
}

/** The functions kernels import from JavaScript (module `m`), with their signatures. */
export const HELPERS = {
  exp: [Math.exp, 1], expm1: [Math.expm1, 1], log: [Math.log, 1], log1p: [Math.log1p, 1], sin: [Math.sin, 1],
  cos: [Math.cos, 1], tan: [Math.tan, 1], tanh: [Math.tanh, 1], atan: [Math.atan, 1], sigmoid: [jsMath.sigmoid, 1],
  erf: [jsMath.erf, 1], erfinv: [jsMath.erfinv, 1],
  pow: [Math.pow, 2], atan2: [Math.atan2, 2], fmod: [(a: number, b: number) => a % b, 2],
  ipow: [jsMath.ipow, 'ii'], ipowu: [(a: number, b: number) => jsMath.ipow(a, b >>> 0), 'ii'],
  toInt32: [(x: number) => x | 0, 'fi'],
} as const satisfies Record<string, readonly [(...a: number[]) => number, 1 | 2 | 'ii' | 'fi']>;
export type HelperName = keyof typeof HELPERS;

export function helperSignature(name: HelperName): [ValType[], ValType[]] {
  const kind = HELPERS[name][1];
  return kind === 1 ? [['f64'], ['f64']] : kind === 2 ? [['f64', 'f64'], ['f64']] : kind === 'ii' ? [['i32', 'i32'], ['i32']] : [['f64'], ['i32']];
}

/** The JS side of the kernels' imports. */
export const helperImports = (): Record<string, (...a: number[]) => number> =>
  Object.fromEntries(Object.entries(HELPERS).map(([n, [f]]) => [n, f as (...a: number[]) => number]));

/** What op fragments need from the function being built. */
export interface OpContext {
  /** A scratch local for `role` (see the file comment for why reuse is safe). */
  scratch(role: 'a' | 'b', ty: WTy): number;
  /** The function index of an imported helper. */
  helper(name: HelperName): number;
  /** Scratch locals of the native math expansions (`wasm_math.ts`). */
  mathLocal: MathLocal;
}

// ------------------------------------------------------------------ fragment building

export function frag(ty: WTy | null, emit: (c: Code) => unknown, k?: number): Frag {
  const code = new Code();
  emit(code);
  return k === undefined ? { code, ty } : { code, ty, k };
}
const op = (F: FTy, name: string) => `${F}.${name}` as PlainOp;
const fconst = (c: Code, F: FTy, v: number) => (F === 'f32' ? c.f32Const(v) : c.f64Const(v));
const tyOf = (...xs: Frag[]): FTy => (xs.some((x) => x.ty === 'f64') ? 'f64' : 'f32');

export function toF64(x: Frag): Frag {
  if (x.ty === 'f64') return x;
  if (x.ty !== 'f32') throw new Error(`wasm renderer: expected a float, got ${x.ty}`);
  return frag('f64', (c) => c.append(x.code).op('f64.promote_f32'));
}
export function toF32(x: Frag): Frag {
  if (x.ty === 'f32') return x;
  if (x.ty !== 'f64') throw new Error(`wasm renderer: expected a float, got ${x.ty}`);
  return frag('f32', (c) => c.append(x.code).op('f32.demote_f64'));
}
const toF = (x: Frag, F: FTy) => (F === 'f64' ? toF64(x) : toF32(x));
/** An integer's value as f64 (the number the oracle holds). */
const intToF64 = (x: Frag, dtype: DType) => frag('f64', (c) => c.append(x.code).op(dtype === 'int32' ? 'f64.convert_i32_s' : 'f64.convert_i32_u'));
/** JS truthiness of a float (NaN and ±0 are false) as 0/1. */
const truthy = (x: Frag) => frag('i32', (c) => (c.append(x.code).op(op(tyOf(x), 'abs')), fconst(c, tyOf(x), 0).op(op(tyOf(x), 'gt'))));
const normalizeBool = (x: Frag) => frag('i32', (c) => c.append(x.code).i32Const(0).op('i32.ne'));

/** An f64 result the oracle wraps into an integer dtype (`| 0`, `>>> 0`, or truthiness for bool). */
function wrapFloat(cx: OpContext, x: Frag, dtype: DType): Frag {
  if (dtype === 'bool') return truthy(x);
  return frag('i32', (c) => c.append(toF64(x).code).call(cx.helper('toInt32')));
}

// ------------------------------------------------------------------ unary

const CALLS: Partial<Record<UnOp, HelperName>> = {
  exp: 'exp', expm1: 'expm1', log: 'log', log1p: 'log1p', sin: 'sin', cos: 'cos', tan: 'tan', tanh: 'tanh', atan: 'atan',
  sigmoid: 'sigmoid', erf: 'erf', erfinv: 'erfinv',
};

function floatUnary(cx: OpContext, o: UnOp, x: Frag): Frag {
  const F = tyOf(x);
  // Native f32 exp/log/tanh/sigmoid; a wide (f64) argument keeps the oracle's f64 function.
  if (isNativeMath(o) && F === 'f32') return frag('f32', (c) => emitMath(c.append(x.code), o, false, cx.mathLocal));
  const helper = CALLS[o];
  if (helper) return frag('f32', (c) => c.append(toF64(x).code).call(cx.helper(helper)).op('f32.demote_f64'));
  switch (o) {
    case 'neg': case 'abs': case 'floor': case 'ceil': return frag(F, (c) => c.append(x.code).op(op(F, o)));
    case 'round': return frag(F, (c) => c.append(x.code).op(op(F, 'nearest')));
    case 'sign': {
      // x > 0 ? 1 : x < 0 ? −1 : x (keeps ±0 and NaN, like Math.sign)
      const s = cx.scratch('a', F);
      return frag(F, (c) => {
        fconst(c, F, 1);
        fconst(c, F, -1);
        c.append(x.code).localTee(s).localGet(s);
        fconst(c, F, 0).op(op(F, 'lt')).op('select').localGet(s);
        fconst(c, F, 0).op(op(F, 'gt')).op('select');
      });
    }
    case 'sqrt': return F === 'f32' ? frag('f32', (c) => c.append(x.code).op('f32.sqrt')) : frag('f32', (c) => c.append(x.code).ops('f64.sqrt', 'f32.demote_f64'));
    case 'rsqrt': return frag('f32', (c) => c.f64Const(1).append(toF64(x).code).ops('f64.sqrt', 'f64.div', 'f32.demote_f64'));
    case 'not': return frag('f32', (c) => c.f32Const(0).f32Const(1).append(truthy(x).code).op('select'));
    case 'isfinite': return frag('i32', (c) => (c.append(x.code).op(op(F, 'abs')), fconst(c, F, Infinity).op(op(F, 'lt'))));
    default: throw new Error(`wasm renderer: unknown unary op ${o}`);
  }
}

export function unaryOp(cx: OpContext, o: UnOp, x: Frag, dtype: DType): Frag {
  if (dtype === 'float32') return floatUnary(cx, o, x);
  switch (o) {
    case 'neg': return dtype === 'bool' ? x : frag('i32', (c) => c.i32Const(0).append(x.code).op('i32.sub'));
    case 'abs': {
      if (dtype !== 'int32') return x;
      const s = cx.scratch('a', 'i32');
      return frag('i32', (c) => c.i32Const(0).append(x.code).localTee(s).op('i32.sub').localGet(s).localGet(s).i32Const(0).ops('i32.lt_s', 'select'));
    }
    case 'sign': {
      if (dtype !== 'int32') return normalizeBool(x);
      const s = cx.scratch('a', 'i32');
      return frag('i32', (c) => c.append(x.code).localTee(s).i32Const(0).op('i32.gt_s').localGet(s).i32Const(0).ops('i32.lt_s', 'i32.sub'));
    }
    case 'not': return frag('i32', (c) => c.append(x.code).i32Const(dtype === 'bool' ? 1 : -1).op('i32.xor'));
    case 'floor': case 'ceil': case 'round': return x;
    case 'isfinite': return frag('i32', (c) => c.i32Const(1));
    // A float function of an integer: the oracle applies it to the number and wraps the result.
    default: return wrapFloat(cx, floatUnary(cx, o, intToF64(x, dtype)), dtype);
  }
}

// ------------------------------------------------------------------ binary

const FLOAT_CMP: Partial<Record<BinOp, string>> = { eq: 'eq', ne: 'ne', lt: 'lt', le: 'le', gt: 'gt', ge: 'ge' };
const FLOAT_CALLS: Partial<Record<BinOp, HelperName>> = { rem: 'fmod', pow: 'pow', atan2: 'atan2' };

function floatBinary(cx: OpContext, o: BinOp, a: Frag, b: Frag): Frag {
  const F = tyOf(a, b);
  const cmp = FLOAT_CMP[o];
  if (cmp) return frag('i32', (c) => c.append(toF(a, F).code).append(toF(b, F).code).op(op(F, cmp)));
  const helper = FLOAT_CALLS[o];
  if (helper) return frag('f32', (c) => c.append(toF64(a).code).append(toF64(b).code).call(cx.helper(helper)).op('f32.demote_f64'));
  switch (o) {
    case 'add': case 'sub': case 'mul': case 'div':
      return frag('f32', (c) => {
        c.append(toF(a, F).code).append(toF(b, F).code).op(op(F, o));
        if (F === 'f64') c.op('f32.demote_f64');
      });
    case 'max': case 'min': return frag(F, (c) => c.append(toF(a, F).code).append(toF(b, F).code).op(op(F, o)));
    default: throw new Error(`wasm renderer: ${o} is not defined on float32`);
  }
}

const INT_CMP: Partial<Record<BinOp, [PlainOp, PlainOp]>> = {
  eq: ['i32.eq', 'i32.eq'], ne: ['i32.ne', 'i32.ne'], lt: ['i32.lt_s', 'i32.lt_u'], le: ['i32.le_s', 'i32.le_u'],
  gt: ['i32.gt_s', 'i32.gt_u'], ge: ['i32.ge_s', 'i32.ge_u'],
};

export function binaryOp(cx: OpContext, o: BinOp, a: Frag, b: Frag, dtype: DType): Frag {
  if (dtype === 'float32') return floatBinary(cx, o, a, b);
  const signed = dtype === 'int32';
  const both = (...ops: PlainOp[]) => frag('i32', (c) => c.append(a.code).append(b.code).ops(...ops));
  const cmp = INT_CMP[o];
  if (cmp) return both(cmp[signed ? 0 : 1]);
  const bool = dtype === 'bool';
  switch (o) {
    case 'add': return both(bool ? 'i32.or' : 'i32.add');
    case 'sub': return both(bool ? 'i32.xor' : 'i32.sub');
    case 'mul': return both(bool ? 'i32.and' : 'i32.mul');
    case 'and': return both('i32.and');
    case 'or': return both('i32.or');
    case 'xor': return both('i32.xor');
    case 'div': case 'rem': {
      const r = o === 'div' ? intDiv(cx, a, b, signed) : intRem(cx, a, b, signed);
      return bool ? normalizeBool(r) : r;
    }
    case 'pow': {
      const r = frag('i32', (c) => c.append(a.code).append(b.code).call(cx.helper(dtype === 'uint32' ? 'ipowu' : 'ipow')));
      return bool ? normalizeBool(r) : r;
    }
    case 'max': case 'min': {
      const sa = cx.scratch('a', 'i32'), sb = cx.scratch('b', 'i32');
      const pick = o === 'max' ? (signed ? 'i32.gt_s' : 'i32.gt_u') : signed ? 'i32.lt_s' : 'i32.lt_u';
      return frag('i32', (c) => c.append(a.code).append(b.code).localSet(sb).localTee(sa).localGet(sb).localGet(sa).localGet(sb).ops(pick, 'select'));
    }
    case 'shl': case 'shrl': case 'shra': {
      const r = shift(cx, o, a, b);
      return bool ? normalizeBool(r) : r;
    }
    // A float function of integers: the oracle applies it to the numbers and wraps the result.
    default: return wrapFloat(cx, floatBinary(cx, o, intToF64(a, dtype), intToF64(b, dtype)), dtype);
  }
}

/** Shifts as XLA defines them: by ≥ 32 (unsigned) gives 0, or the sign fill for `shra`. */
function shift(cx: OpContext, o: 'shl' | 'shrl' | 'shra', a: Frag, b: Frag): Frag {
  if (o === 'shra') {
    if (b.k !== undefined) return frag('i32', (c) => c.append(a.code).i32Const(Math.min(b.k! >>> 0, 31)).op('i32.shr_s'));
    const sb = cx.scratch('b', 'i32');
    // a >> (b <u 32 ? b : 31)
    return frag('i32', (c) => c.append(a.code).append(b.code).localTee(sb).i32Const(31).localGet(sb).i32Const(32).ops('i32.lt_u', 'select', 'i32.shr_s'));
  }
  const op = o === 'shl' ? 'i32.shl' : 'i32.shr_u';
  if (b.k !== undefined) return b.k >>> 0 < 32 ? frag('i32', (c) => c.append(a.code).append(b.code).op(op)) : frag('i32', (c) => c.i32Const(0));
  const sb = cx.scratch('b', 'i32');
  // b <u 32 ? a op b : 0
  return frag('i32', (c) => c.append(a.code).append(b.code).localTee(sb).op(op).i32Const(0).localGet(sb).i32Const(32).ops('i32.lt_u', 'select'));
}

/** Truncating division with x/0 = −1 (all ones) and INT_MIN/−1 = INT_MIN (wrapped), as the oracle. */
function intDiv(cx: OpContext, a: Frag, b: Frag, signed: boolean): Frag {
  const k = b.k;
  if (k !== undefined && k !== 0 && (!signed || k !== -1))
    return frag('i32', (c) => c.append(a.code).append(b.code).op(signed ? 'i32.div_s' : 'i32.div_u'));
  const sa = cx.scratch('a', 'i32'), sb = cx.scratch('b', 'i32');
  return frag('i32', (c) => {
    c.append(a.code).append(b.code).localSet(sb).localSet(sa).i32Const(-1);
    if (signed) {
      // b == −1 ? −a : a / (b ∈ {−1, 0} ? 1 : b)
      c.i32Const(0).localGet(sa).op('i32.sub');
      c.localGet(sa).i32Const(1).localGet(sb).localGet(sb).i32Const(1).op('i32.add').i32Const(2).ops('i32.lt_u', 'select', 'i32.div_s');
      c.localGet(sb).i32Const(-1).ops('i32.eq', 'select');
    } else {
      c.localGet(sa).i32Const(1).localGet(sb).localGet(sb).ops('i32.eqz', 'select', 'i32.div_u');
    }
    c.localGet(sb).ops('i32.eqz', 'select');
  });
}

/** Remainder with the dividend's sign and x%0 = x, as the oracle. */
function intRem(cx: OpContext, a: Frag, b: Frag, signed: boolean): Frag {
  const rem: PlainOp = signed ? 'i32.rem_s' : 'i32.rem_u';
  if (b.k !== undefined && b.k !== 0) return frag('i32', (c) => c.append(a.code).append(b.code).op(rem));
  const sa = cx.scratch('a', 'i32'), sb = cx.scratch('b', 'i32');
  return frag('i32', (c) =>
    c.append(a.code).append(b.code).localSet(sb).localTee(sa).localGet(sa).i32Const(1).localGet(sb).localGet(sb)
      .ops('i32.eqz', 'select', rem).localGet(sb).ops('i32.eqz', 'select'));
}

// ------------------------------------------------------------------ conversions

export function castOp(x: Frag, from: DType, to: DType): Frag {
  if (from === to) return x;
  if (to === 'bool') {
    if (from === 'float32') return frag('i32', (c) => (c.append(x.code), fconst(c, tyOf(x), 0).op(op(tyOf(x), 'ne'))));
    return normalizeBool(x);
  }
  if (from === 'float32') {
    const F = tyOf(x);
    return frag('i32', (c) => c.append(x.code).op(`i32.trunc_sat_${F}_${to === 'int32' ? 's' : 'u'}` as PlainOp));
  }
  if (to === 'float32') return frag('f32', (c) => c.append(x.code).op(from === 'int32' ? 'f32.convert_i32_s' : 'f32.convert_i32_u'));
  return x;
}

export function bitcastOp(x: Frag, from: DType, to: DType): Frag {
  if (from === to) return x;
  if (from === 'float32') return frag('i32', (c) => c.append(toF32(x).code).op('i32.reinterpret_f32'));
  if (to === 'float32') return frag('f32', (c) => c.append(x.code).op('f32.reinterpret_i32'));
  return x;
}
