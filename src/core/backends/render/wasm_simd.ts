/**
 * The vector (SIMD128) semantics of kernel ops, four output elements at a time, mirroring the
 * scalar fragments of `wasm_ops.ts` lane for lane — and therefore the JavaScript oracle:
 *
 * - float32 values are f32x4; +, −, ×, ÷, √, floor/ceil/nearest, abs/neg and min/max are
 *   the same IEEE operations as their scalar f32 forms (f32x4.min/max propagate NaN and order
 *   −0 < +0 exactly like f32.min/max and `Math.min/max`; the pseudo-min `pmin`/`pmax` would
 *   not, and are not used);
 * - an op between a float32 vector and a *wide* (f64) loop-invariant scalar (a float sum or
 *   product accumulated outside the loop) computes in f64x2 halves and rounds once, as the
 *   scalar path does in f64;
 * - int32/uint32 are i32x4 with the scalar path's wrap-around, saturating float→int casts
 *   and XLA shifts (shift amounts must be loop-invariant); bool lanes are 0/1, and a
 *   comparison's −1/0 mask is kept as such (`mask`) until a consumer needs 0/1.
 *
 * - exp, log, tanh and sigmoid run the native f32 code of `wasm_math.ts` in its f32x4 form,
 *   lane for lane equal to the scalar form.
 *
 * Ops without a vector form here (integer division and remainder, integer powers, float
 * functions of integers, ops on wide values other than the four arithmetic ones, calls into
 * JavaScript) throw `NotVectorizable`, and the kernel keeps its scalar loop.
 */
import type { DType } from '../../dtype.js';
import type { BinOp, UnOp } from '../../kernel/ir.js';
import { Code } from '../wasm/encoder.js';
import type { PlainOp } from '../wasm/opcodes.js';
import { emitMath, isNativeMath, type MathLocal, type VConst } from './wasm_math.js';

export class NotVectorizable extends Error {}

/** A vector fragment: code leaving one v128; f4 = four f32, i4 = four i32 (`mask`: bool lanes as −1/0 instead of 0/1). */
export interface VFrag {
  readonly code: Code;
  readonly ty: 'f4' | 'i4';
  readonly mask?: boolean;
}
/** A loop-invariant f64 scalar (a wide value), held in a local, with its f64x2 splat. */
export interface Wide {
  readonly ty: 'wide';
  /** A v128 local holding the f64x2 splat. */
  readonly splat: number;
}
/**
 * Four f64 lanes: a float sum or product reduced per lane inside the loop, in two f64x2 locals
 * (lanes 0–1, 2–3) that `code` computes (empty once another use has run it).
 */
export interface WideVec {
  readonly ty: 'w4';
  readonly code: Code;
  readonly lo: number;
  readonly hi: number;
}
export type VVal = VFrag | Wide | WideVec;

/** What vector ops need from the function being built. */
export interface VecContext {
  /** A scratch v128 local for `role`: like the scalar scratches, set and read within one op. */
  vscratch(role: 'va' | 'vb'): number;
  /** Scratch locals of the native math expansions. */
  mathLocal: MathLocal;
  /** Code pushing a v128 constant (hoisted out of the loop by the renderer). */
  vconst: VConst;
}

export function vfrag(ty: 'f4' | 'i4', emit: (c: Code) => unknown, mask = false): VFrag {
  const code = new Code();
  emit(code);
  return mask ? { code, ty, mask } : { code, ty };
}
const bytesOf = (T: typeof Float32Array | typeof Int32Array, v: number) => new Uint8Array(new T([v, v, v, v]).buffer);
export const f4const = (cx: VecContext, v: number) => vfrag('f4', cx.vconst(bytesOf(Float32Array, v)));
export const i4const = (cx: VecContext, v: number) => vfrag('i4', cx.vconst(bytesOf(Int32Array, v)));

function vec(x: VVal): VFrag {
  if (x.ty === 'wide' || x.ty === 'w4') throw new NotVectorizable('a wide (f64) value where a vector is needed');
  return x;
}

const JOIN = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
const HIGH = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/** A wide vector rounded to f32x4, each lane once (as the scalar path stores an f64 accumulator). */
export function vRound(w: WideVec): VFrag {
  return vfrag('f4', (c) => c.append(w.code).localGet(w.lo).op('f32x4.demote_f64x2_zero').localGet(w.hi).op('f32x4.demote_f64x2_zero').shuffle(JOIN));
}

/**
 * +, −, ×, ÷ with a wide vector operand: in f64 per half (an f32x4 operand promoted, a wide
 * scalar splatted), each result lane rounded once — the scalar path's f64 op and rounding.
 */
function wideVecArith(cx: VecContext, op: PlainOp, a: VVal, b: VVal): VFrag {
  const s = cx.vscratch('vb');
  const setup = new Code();
  const half = (x: VVal, h: 0 | 1) => (c: Code): unknown => {
    if (x.ty === 'w4') return c.localGet(h ? x.hi : x.lo);
    if (x.ty === 'wide') return c.localGet(x.splat);
    c.localGet(s);
    if (h) c.localGet(s).shuffle(HIGH);
    return c.op('f64x2.promote_low_f32x4');
  };
  // The wide vectors' code first (it may use the scratch itself), then the f32x4 operand, if any, into the scratch.
  for (const x of [a, b]) if (x.ty === 'w4') setup.append(x.code);
  for (const x of [a, b]) if (x.ty !== 'w4' && x.ty !== 'wide') setup.append(x.code).localSet(s);
  return vfrag('f4', (c) => {
    c.append(setup);
    for (const h of [0, 1] as const) {
      half(a, h)(c);
      half(b, h)(c);
      c.op(op).op('f32x4.demote_f64x2_zero');
    }
    c.shuffle(JOIN);
  });
}
/** Bool lanes as 0/1 (a −1/0 mask negated). */
export function norm(x: VFrag): VFrag {
  return x.mask ? vfrag('i4', (c) => c.append(x.code).op('i32x4.neg')) : x;
}
/** −1/0 lanes for a select: bool 0/1 negated, other integers compared with 0, floats by JS truthiness (NaN and ±0 false). */
function toMask(cx: VecContext, x: VFrag, dtype: DType): VFrag {
  if (x.mask) return x;
  if (x.ty === 'f4') return vfrag('i4', (c) => c.append(x.code).op('f32x4.abs').append(f4const(cx, 0).code).op('f32x4.gt'), true);
  if (dtype === 'bool') return vfrag('i4', (c) => c.append(x.code).op('i32x4.neg'), true);
  return vfrag('i4', (c) => c.append(x.code).append(i4const(cx, 0).code).op('i32x4.ne'), true);
}
const mask = (emit: (c: Code) => unknown) => vfrag('i4', emit, true);

// ------------------------------------------------------------------ unary

export function vUnary(cx: VecContext, o: UnOp, xv: VVal, dtype: DType): VFrag {
  const x = vec(xv);
  if (dtype === 'float32') {
    if (isNativeMath(o)) return vfrag('f4', (c) => emitMath(c.append(x.code), o, true, cx.mathLocal, cx.vconst));
    const f = (op: PlainOp) => vfrag('f4', (c) => c.append(x.code).op(op));
    switch (o) {
      case 'neg': return f('f32x4.neg');
      case 'abs': return f('f32x4.abs');
      case 'floor': return f('f32x4.floor');
      case 'ceil': return f('f32x4.ceil');
      case 'round': return f('f32x4.nearest');
      case 'sqrt': return f('f32x4.sqrt');
      case 'sign': {
        // x > 0 ? 1 : x < 0 ? −1 : x
        const s = cx.vscratch('va');
        return vfrag('f4', (c) =>
          c.append(f4const(cx, 1).code).append(f4const(cx, -1).code).append(x.code).localTee(s).localGet(s).append(f4const(cx, 0).code).op('f32x4.lt')
            .op('v128.bitselect').localGet(s).append(f4const(cx, 0).code).op('f32x4.gt').op('v128.bitselect'));
      }
      case 'rsqrt': return halvesF64(cx, x, (c) => c.op('f64x2.sqrt').localSet(cx.vscratch('vb')).f64Const(1).op('f64x2.splat').localGet(cx.vscratch('vb')).op('f64x2.div'));
      case 'not': return vfrag('f4', (c) => c.append(f4const(cx, 0).code).append(f4const(cx, 1).code).append(toMask(cx, x, dtype).code).op('v128.bitselect'));
      case 'isfinite': return mask((c) => c.append(x.code).op('f32x4.abs').append(f4const(cx, Infinity).code).op('f32x4.lt'));
      default: throw new NotVectorizable(`float ${o}`);
    }
  }
  const xi = norm(x);
  switch (o) {
    case 'neg': return dtype === 'bool' ? xi : vfrag('i4', (c) => c.append(xi.code).op('i32x4.neg'));
    case 'abs': return dtype === 'int32' ? vfrag('i4', (c) => c.append(xi.code).op('i32x4.abs')) : xi;
    case 'sign': {
      if (dtype !== 'int32') return norm(mask((c) => c.append(xi.code).append(i4const(cx, 0).code).op('i32x4.ne')));
      // (x < 0 mask) − (x > 0 mask): −1 − 0, 0 − (−1), 0
      const s = cx.vscratch('va');
      return vfrag('i4', (c) => c.append(xi.code).localTee(s).append(i4const(cx, 0).code).op('i32x4.lt_s').localGet(s).append(i4const(cx, 0).code).ops('i32x4.gt_s', 'i32x4.sub'));
    }
    case 'not': return vfrag('i4', (c) => c.append(xi.code).append(i4const(cx, dtype === 'bool' ? 1 : -1).code).op('v128.xor'));
    case 'floor': case 'ceil': case 'round': return xi;
    case 'isfinite': return i4const(cx, 1);
    default: throw new NotVectorizable(`${o} of ${dtype}`);
  }
}

/**
 * An f64x2 computation on both halves of an f32x4, rounded back: `op` maps the promoted
 * half (on the stack) to an f64x2 result; the halves are demoted and joined.
 */
function halvesF64(cx: VecContext, x: VFrag, op: (c: Code) => unknown): VFrag {
  const s = cx.vscratch('va');
  const join = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
  const high = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
  return vfrag('f4', (c) => {
    c.append(x.code).localTee(s).op('f64x2.promote_low_f32x4');
    op(c);
    c.op('f32x4.demote_f64x2_zero');
    c.localGet(s).localGet(s).shuffle(high).op('f64x2.promote_low_f32x4');
    op(c);
    c.op('f32x4.demote_f64x2_zero').shuffle(join);
  });
}

// ------------------------------------------------------------------ binary

const F_CMP: Partial<Record<BinOp, PlainOp>> = { eq: 'f32x4.eq', ne: 'f32x4.ne', lt: 'f32x4.lt', le: 'f32x4.le', gt: 'f32x4.gt', ge: 'f32x4.ge' };
const F_ARITH: Partial<Record<BinOp, PlainOp>> = { add: 'f32x4.add', sub: 'f32x4.sub', mul: 'f32x4.mul', div: 'f32x4.div', max: 'f32x4.max', min: 'f32x4.min' };
const D_ARITH: Partial<Record<BinOp, PlainOp>> = { add: 'f64x2.add', sub: 'f64x2.sub', mul: 'f64x2.mul', div: 'f64x2.div' };
const I_CMP: Partial<Record<BinOp, [PlainOp, PlainOp]>> = {
  eq: ['i32x4.eq', 'i32x4.eq'], ne: ['i32x4.ne', 'i32x4.ne'], lt: ['i32x4.lt_s', 'i32x4.lt_u'], le: ['i32x4.le_s', 'i32x4.le_u'],
  gt: ['i32x4.gt_s', 'i32x4.gt_u'], ge: ['i32x4.ge_s', 'i32x4.ge_u'],
};

/** a op b, lane by lane (shifts: `vShiftBy`). */
export function vBinary(cx: VecContext, o: BinOp, av: VVal, bv: VVal, dtype: DType): VFrag {
  if (dtype === 'float32') {
    if (av.ty === 'w4' || bv.ty === 'w4') {
      const op = D_ARITH[o];
      if (!op) throw new NotVectorizable(`${o} on a wide vector`);
      return wideVecArith(cx, op, av, bv);
    }
    if (av.ty === 'wide' || bv.ty === 'wide') {
      const op = D_ARITH[o];
      if (!op || (av.ty === 'wide' && bv.ty === 'wide')) throw new NotVectorizable(`${o} on wide values`);
      // One f32 vector and one wide invariant: (promote x) op splat, per half, rounded once.
      const [x, w] = av.ty === 'wide' ? [vec(bv), av] : [vec(av), bv as Wide];
      const xFirst = av.ty !== 'wide';
      return halvesF64(cx, x, (c) => {
        if (xFirst) c.localGet(w.splat).op(op);
        else c.localSet(cx.vscratch('vb')).localGet(w.splat).localGet(cx.vscratch('vb')).op(op);
      });
    }
    const [a, b] = [vec(av), vec(bv)];
    const cmp = F_CMP[o];
    if (cmp) return mask((c) => c.append(a.code).append(b.code).op(cmp));
    const op = F_ARITH[o];
    if (op) return vfrag('f4', (c) => c.append(a.code).append(b.code).op(op));
    throw new NotVectorizable(`float ${o}`);
  }
  const [a, b] = [vec(av), vec(bv)];
  const signed = dtype === 'int32', bool = dtype === 'bool';
  if (bool && a.mask && b.mask && (o === 'and' || o === 'or' || o === 'xor' || o === 'add' || o === 'mul' || o === 'sub')) {
    const op: PlainOp = o === 'and' || o === 'mul' ? 'v128.and' : o === 'or' || o === 'add' ? 'v128.or' : 'v128.xor';
    return mask((c) => c.append(a.code).append(b.code).op(op));
  }
  const [x, y] = [norm(a), norm(b)];
  const both = (op: PlainOp, isMask = false) => vfrag('i4', (c) => c.append(x.code).append(y.code).op(op), isMask);
  const cmp = I_CMP[o];
  if (cmp) return both(cmp[signed ? 0 : 1], true);
  switch (o) {
    case 'add': return both(bool ? 'v128.or' : 'i32x4.add');
    case 'sub': return both(bool ? 'v128.xor' : 'i32x4.sub');
    case 'mul': return both(bool ? 'v128.and' : 'i32x4.mul');
    case 'and': return both('v128.and');
    case 'or': return both('v128.or');
    case 'xor': return both('v128.xor');
    case 'max': return both(signed ? 'i32x4.max_s' : 'i32x4.max_u');
    case 'min': return both(signed ? 'i32x4.min_s' : 'i32x4.min_u');
    default: throw new NotVectorizable(`${o} of ${dtype}`);
  }
}

/**
 * a shifted by a loop-invariant amount `b` (vector shifts take a scalar amount): its code, a
 * cheap read that may be repeated, and its value when a constant.
 */
export function vShiftBy(cx: VecContext, o: 'shl' | 'shrl' | 'shra', av: VVal, b: { code: Code; k?: number }, dtype: DType): VFrag {
  const r = vShift(cx, o, norm(vec(av)), b);
  return dtype === 'bool' ? mask((c) => c.append(r.code).append(i4const(cx, 0).code).op('i32x4.ne')) : r;
}

/** XLA shifts by a loop-invariant amount: by ≥ 32 (unsigned) gives 0, or the sign fill for `shra`. */
function vShift(cx: VecContext, o: 'shl' | 'shrl' | 'shra', a: VFrag, b: { code: Code; k?: number }): VFrag {
  if (o === 'shra') {
    if (b.k !== undefined) return vfrag('i4', (c) => c.append(a.code).i32Const(Math.min(b.k! >>> 0, 31)).op('i32x4.shr_s'));
    // a >> (b <u 32 ? b : 31), with b read twice: it is a local.get of a hoisted value
    return vfrag('i4', (c) => c.append(a.code).append(b.code).i32Const(31).append(b.code).i32Const(32).ops('i32.lt_u', 'select', 'i32x4.shr_s'));
  }
  const op: PlainOp = o === 'shl' ? 'i32x4.shl' : 'i32x4.shr_u';
  if (b.k !== undefined) return b.k >>> 0 < 32 ? vfrag('i4', (c) => c.append(a.code).i32Const(b.k!).op(op)) : i4const(cx, 0);
  // b <u 32 ? a op b : 0
  return vfrag('i4', (c) =>
    c.append(a.code).append(b.code).op(op).append(i4const(cx, 0).code).i32Const(0).append(b.code).i32Const(32).ops('i32.lt_u', 'i32.sub', 'i32x4.splat', 'v128.bitselect'));
}

// ------------------------------------------------------------------ select, conversions

export function vSelect(cx: VecContext, cv: VVal, tv: VVal, fv: VVal, condDtype: DType): VFrag {
  const [c, t, f] = [vec(cv), vec(tv), vec(fv)];
  const m = toMask(cx, c, condDtype);
  if (t.ty !== f.ty) throw new NotVectorizable('select between a float and an integer vector');
  if (t.mask && f.mask) return mask((code) => code.append(t.code).append(f.code).append(m.code).op('v128.bitselect'));
  const [tt, ff] = [norm(t), norm(f)];
  return vfrag(t.ty, (code) => code.append(tt.code).append(ff.code).append(m.code).op('v128.bitselect'));
}

export function vCast(cx: VecContext, xv: VVal, from: DType, to: DType): VFrag {
  const x = vec(xv);
  if (from === to) return x;
  if (to === 'bool') {
    if (from === 'float32') return mask((c) => c.append(x.code).append(f4const(cx, 0).code).op('f32x4.ne'));
    return x.mask ? x : mask((c) => c.append(x.code).append(i4const(cx, 0).code).op('i32x4.ne'));
  }
  if (from === 'float32') return vfrag('i4', (c) => c.append(x.code).op(to === 'int32' ? 'i32x4.trunc_sat_f32x4_s' : 'i32x4.trunc_sat_f32x4_u'));
  const xi = norm(x);
  if (to === 'float32') return vfrag('f4', (c) => c.append(xi.code).op(from === 'int32' ? 'f32x4.convert_i32x4_s' : 'f32x4.convert_i32x4_u'));
  return xi;
}

export function vBitcast(xv: VVal, from: DType, to: DType): VFrag {
  const x = norm(vec(xv));
  if (from === to) return x;
  return { code: x.code, ty: to === 'float32' ? 'f4' : 'i4' };
}
