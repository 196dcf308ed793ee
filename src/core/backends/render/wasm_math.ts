/**
 * Native float32 transcendentals for the wasm kernels: exp, log, tanh and the logistic
 * sigmoid, emitted inline as scalar (f32) or vector (f32x4) code. Both forms run the very
 * same sequence of IEEE f32 operations per lane (no fused multiply-add exists without relaxed
 * SIMD), so a lane of the vector loop and the scalar tail give identical bits, whatever the
 * loop split or thread count.
 *
 * They replace calls into JavaScript (`Math.exp` …, one call per element, and no vector loop)
 * and are therefore not bit-identical to the oracle, which evaluates in f64 and rounds once.
 * Accuracy against that f64-rounded reference (`NATIVE_MATH[fn].ulps`, checked over dense
 * sweeps of inputs including extremes, NaN and ±∞ in `test/wasm_math.test.ts`):
 *
 * - exp: n = nearest(x·log₂e) by the 1.5·2²³ rounding trick (with 127 added, so that the float's
 *   low bits are n's biased exponent and 2ⁿ is one shift away), Cody–Waite reduction
 *   r = x − n·ln2 (ln2 split in a 9-bit head and a tail), a degree-6 minimax polynomial
 *   eʳ ≈ 1 + r·Q(r) (Q fitted for relative error 2·10⁻⁹ on |r| ≤ ln2/2), times 2ⁿ. Where |x| ≤ 87.33 in every lane (2ⁿ a
 *   normal float) that is the whole computation (`emitExpInRange`: the softmax routine calls
 *   it alone on rows it has shown to be in range); elsewhere x is clamped to [−104, 89] and
 *   2ⁿ applied in two exact power-of-two factors, so that subnormal results round (nearly)
 *   once: overflow gives +∞, underflow 0, and normal results the same bits as the fast path.
 * - log: x = m·2ᵉ with m ∈ [√½, √2) from the bits (subnormals scaled by 2²³ first), the
 *   Cephes degree-8 polynomial in m − 1; log 0 = −∞, log x<0 = NaN, log ∞ = ∞.
 * - tanh: z + z³·P(z²) (Cephes) for z = |x| ≤ 0.625, else 1 − 2/(e^{2z} + 1); x's sign.
 * - sigmoid: with e = exp(−|x|): 1/(1 + e) for x ≥ 0, e/(1 + e) below (the oracle's forms).
 *
 * NaN in gives NaN out for all four, ±∞ and ±0 give the limits (tanh(−0) = −0). The bounds
 * are one ulp above the largest errors seen over every 101st f32 bit pattern (42 M inputs:
 * exp, log and tanh 1 ulp, sigmoid 2), in ulps of the reference (2⁻¹⁴⁹ below 2⁻¹²⁶).
 */
import type { Code } from '../wasm/encoder.js';
import type { PlainOp } from '../wasm/opcodes.js';

export type MathFn = 'exp' | 'log' | 'tanh' | 'sigmoid';

/** The native functions and their error bounds against the f64-rounded reference, in ulps. */
export const NATIVE_MATH: Readonly<Record<MathFn, { readonly ulps: number }>> = {
  exp: { ulps: 2 },
  log: { ulps: 2 },
  tanh: { ulps: 2 },
  sigmoid: { ulps: 3 },
};

export const isNativeMath = (op: string): op is MathFn => Object.prototype.hasOwnProperty.call(NATIVE_MATH, op);

/** A scratch local for the k-th temporary of a math expansion (expansions never overlap, so they share them). */
export type MathLocal = (ty: 'f32' | 'i32' | 'v128', k: number) => number;
/** Code pushing a v128 constant (a renderer may hoist it out of the loop: V8 rematerialises constants in every iteration). */
export type VConst = (bytes: Uint8Array) => (c: Code) => unknown;
const inlineConst: VConst = (bytes) => (c) => c.v128Const(bytes);

/**
 * Straight-line code over registers (locals): float and int values, scalar or 4-lane. Each
 * op pushes its operands, applies the instruction and stores the result in a fresh register.
 */
class Gen {
  private nf = 0;
  private ni = 0;
  constructor(private c: Code, private vec: boolean, private local: MathLocal, private vconst: VConst) {}

  private reg(kind: 'f' | 'i'): number {
    if (this.vec) return this.local('v128', kind === 'f' ? this.nf++ : 100 + this.ni++);
    return kind === 'f' ? this.local('f32', this.nf++) : this.local('i32', this.ni++);
  }
  /** Pop the stack's top into a fresh register of `kind`. */
  private result(kind: 'f' | 'i'): number {
    const r = this.reg(kind);
    this.c.localSet(r);
    return r;
  }
  /** Pop the stack's float into a register. */
  take(): number {
    return this.result('f');
  }
  /** Push a register, or a float (`kind` f) or int constant. */
  private operand(b: number | { k: number }, kind: 'f' | 'i'): void {
    if (typeof b === 'number') this.c.localGet(b);
    else if (kind === 'f') this.fconst(b.k);
    else this.iconst(b.k);
  }
  push(r: number): void {
    this.c.localGet(r);
  }

  private fname(op: string): PlainOp {
    return (this.vec ? `f32x4.${op}` : `f32.${op}`) as PlainOp;
  }
  private iname(op: string): PlainOp {
    return (this.vec ? `i32x4.${op}` : `i32.${op}`) as PlainOp;
  }
  private fconst(v: number): void {
    if (this.vec) this.vconst(new Uint8Array(Float32Array.from([v, v, v, v]).buffer))(this.c);
    else this.c.f32Const(v);
  }
  private iconst(v: number): void {
    if (this.vec) this.vconst(new Uint8Array(Int32Array.from([v, v, v, v]).buffer))(this.c);
    else this.c.i32Const(v);
  }

  /** A float constant in a register. */
  k(v: number): number {
    this.fconst(v);
    return this.result('f');
  }
  /** a op b (floats; `b` a register or a constant). */
  f2(op: 'add' | 'sub' | 'mul' | 'div' | 'min' | 'max', a: number, b: number | { k: number }): number {
    this.c.localGet(a);
    this.operand(b, 'f');
    this.c.op(this.fname(op));
    return this.result('f');
  }
  /** The pseudo-min/max: pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a (NaN in `a` passes through). */
  pminmax(op: 'pmin' | 'pmax', a: number, b: { k: number }): number {
    if (this.vec) {
      this.c.localGet(a);
      this.fconst(b.k);
      this.c.op(`f32x4.${op}`);
    } else {
      // select(b, a, cond)
      this.fconst(b.k);
      this.c.localGet(a);
      if (op === 'pmin') (this.fconst(b.k), this.c.localGet(a));
      else (this.c.localGet(a), this.fconst(b.k));
      this.c.ops('f32.lt', 'select');
    }
    return this.result('f');
  }
  f1(op: 'abs' | 'neg' | 'nearest', a: number): number {
    this.c.localGet(a).op(this.fname(op));
    return this.result('f');
  }
  /** A comparison's result (scalar 0/1, vector −1/0 mask) in an int register. */
  cmp(op: 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne', a: number, b: number | { k: number }): number {
    this.c.localGet(a);
    this.operand(b, 'f');
    this.c.op(this.fname(op));
    return this.result('i');
  }
  /** cond ? t : f (cond from `cmp`). */
  sel(cond: number, t: number | { k: number }, f: number | { k: number }, kind: 'f' | 'i' = 'f'): number {
    this.operand(t, kind);
    this.operand(f, kind);
    this.c.localGet(cond);
    this.c.op(this.vec ? 'v128.bitselect' : 'select');
    return this.result(kind);
  }
  /** Polynomial Σ cs[i]·x^(n−1−i) by Horner's rule (cs from the highest degree). */
  horner(x: number, cs: readonly number[]): number {
    let p = this.k(cs[0]);
    for (let i = 1; i < cs.length; i++) p = this.f2('add', this.f2('mul', p, x), { k: cs[i] });
    return p;
  }

  // ---- bits
  /** The float's bits as an int register. */
  bits(a: number): number {
    this.c.localGet(a);
    if (!this.vec) this.c.op('i32.reinterpret_f32');
    return this.result('i');
  }
  /** An int register's bits as a float register. */
  float(a: number): number {
    this.c.localGet(a);
    if (!this.vec) this.c.op('f32.reinterpret_i32');
    return this.result('f');
  }
  /** Integer op (i32 / i32x4); shifts take a constant amount. */
  i2(op: 'add' | 'sub' | 'and' | 'or', a: number, b: number | { k: number }): number {
    this.c.localGet(a);
    this.operand(b, 'i');
    this.c.op(this.vec ? (`${op === 'and' || op === 'or' ? 'v128' : 'i32x4'}.${op}` as PlainOp) : this.iname(op));
    return this.result('i');
  }
  shift(op: 'shl' | 'shr_s' | 'shr_u', a: number, n: number): number {
    this.c.localGet(a).i32Const(n).op(this.iname(op));
    return this.result('i');
  }
  /** `fast()` where `cond` (from `cmp`) holds in every lane, else `slow()`: a branch, both results in one register. */
  branch(cond: number, fast: () => number, slow: () => number): number {
    const out = this.reg('f');
    this.c.localGet(cond);
    if (this.vec) this.c.op('i32x4.all_true');
    this.c.if();
    this.c.localGet(fast()).localSet(out);
    this.c.else();
    this.c.localGet(slow()).localSet(out);
    this.c.end();
    return out;
  }
  toFloat(a: number): number {
    this.c.localGet(a).op(this.vec ? 'f32x4.convert_i32x4_s' : 'f32.convert_i32_s');
    return this.result('f');
  }
  /** |r| with the sign of s. */
  copysign(r: number, s: number): number {
    if (this.vec) this.c.localGet(s).localGet(r).v128Const(new Uint8Array(Int32Array.from([-0x80000000, -0x80000000, -0x80000000, -0x80000000]).buffer)).op('v128.bitselect');
    else this.c.localGet(r).localGet(s).op('f32.copysign');
    return this.result('f');
  }
}

const LOG2E = 1.44269504088896341;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
/** eʳ ≈ 1 + r·Q(r) on |r| ≤ ln2/2: Q's coefficients from the highest degree (float32 values of a minimax fit, relative error 2·10⁻⁹, by `scripts/golden/exp_poly.py`, which also simulates the in-range path over every float32: at most 1.49 ulps). */
const EXP_Q = [1.3843635097146034e-3, 8.374171331524849e-3, 4.166800156235695e-2, 1.6666431725025177e-1, 4.999999403953552e-1, 1];
/** Cephes logf: log(1 + m) ≈ m − m²/2 + m³·P(m) on m ∈ [√½ − 1, √2 − 1). */
const LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1];
/** Cephes tanhf: tanh x ≈ x + x³·P(x²) on |x| ≤ 0.625. */
const TANH_P = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];

/**
 * 1.5·2²³ + 127: for |y| < 2²¹, t = y + EXP_MAGIC is a float whose low mantissa bits hold
 * nearest(y) + 127 (to nearest, ties to even), so bits(t) << 23 is the float 2^nearest(y)
 * where that exponent is normal, and t − EXP_MAGIC is nearest(y) exactly.
 */
const EXP_MAGIC = 12583039;
/** Largest |x| for which n = nearest(x·log₂e) has a normal 2ⁿ (n + 127 ∈ [1, 254]), with margin. */
export const EXP_IN_RANGE = 87.33;

/** (1 + r·Q(r))·s ≈ eʳ·s for r = x − n·ln2 (Cody–Waite), with t = x·log₂e + EXP_MAGIC and a power of two s given. */
function expScaled(g: Gen, x: number, t: number, s: number): number {
  const nf = g.f2('sub', t, { k: EXP_MAGIC });
  const r = g.f2('sub', g.f2('sub', x, g.f2('mul', nf, { k: LN2_HI })), g.f2('mul', nf, { k: LN2_LO }));
  return g.f2('mul', g.f2('add', g.f2('mul', r, estrin6(g, r, EXP_Q)), { k: 1 }), s);
}

/** A degree-5 polynomial (cs from the highest degree) by Estrin's scheme: (c₀ + c₁r) + r²((c₂ + c₃r) + r²(c₄ + c₅r)), half Horner's dependency depth. */
function estrin6(g: Gen, r: number, cs: readonly number[]): number {
  const pair = (hi: number, lo: number) => g.f2('add', g.f2('mul', r, { k: cs[hi] }), { k: cs[lo] });
  const r2 = g.f2('mul', r, r);
  const p45 = pair(0, 1), p23 = pair(2, 3), p01 = pair(4, 5);
  return g.f2('add', g.f2('mul', r2, g.f2('add', g.f2('mul', r2, p45), p23)), p01);
}

const magicLog2 = (g: Gen, x: number): number => g.f2('add', g.f2('mul', x, { k: LOG2E }), { k: EXP_MAGIC });

/** exp for |x| ≤ EXP_IN_RANGE (2ⁿ normal); no special values. */
function expInRange(g: Gen, x: number): number {
  const t = magicLog2(g, x);
  return expScaled(g, x, t, g.float(g.shift('shl', g.bits(t), 23)));
}

function exp(g: Gen, x: number): number {
  // Where every lane has |x| ≤ EXP_IN_RANGE (NaN fails the test), one power-of-two factor;
  // the general path scales in two, which gives the same bits for normal results: scaling
  // by a power of two commutes with rounding while nothing under- or overflows.
  return g.branch(
    g.cmp('le', g.f1('abs', x), { k: EXP_IN_RANGE }),
    () => expInRange(g, x),
    () => {
      // Clamped so that n fits the two-step scaling; beyond, the result is ∞ or 0 anyway (NaN passes through).
      const xc = g.pminmax('pmax', g.pminmax('pmin', x, { k: 89 }), { k: -104 });
      const t = magicLog2(g, xc);
      const n = g.i2('sub', g.bits(t), { k: 0x4b400000 + 127 });
      // 2ⁿ = 2^(n>>1) · 2^(n − (n>>1)), both normal for n ∈ [−150, 129]
      const n1 = g.shift('shr_s', n, 1);
      const n2 = g.i2('sub', n, n1);
      const s1 = g.float(g.shift('shl', g.i2('add', n1, { k: 127 }), 23));
      const s2 = g.float(g.shift('shl', g.i2('add', n2, { k: 127 }), 23));
      return g.f2('mul', expScaled(g, xc, t, s1), s2);
    },
  );
}

function log(g: Gen, x: number): number {
  // Subnormals: scale by 2²³ (exact) and take 23 off the exponent.
  const tiny = g.cmp('lt', x, { k: 1.1754943508222875e-38 });
  const xs = g.sel(tiny, g.f2('mul', x, { k: 8388608 }), x);
  const bias = g.sel(tiny, { k: 126 + 23 }, { k: 126 }, 'i');
  const b = g.bits(xs);
  // x = m·2^e with m ∈ [0.5, 1)
  let e = g.toFloat(g.i2('sub', g.shift('shr_u', b, 23), bias));
  let m = g.float(g.i2('or', g.i2('and', b, { k: 0x807fffff }), { k: 0x3f000000 }));
  // m < √½: m ← 2m − 1, e ← e − 1; else m ← m − 1
  const low = g.cmp('lt', m, { k: 0.707106781186547524 });
  e = g.sel(low, g.f2('sub', e, { k: 1 }), e);
  m = g.sel(low, g.f2('sub', g.f2('add', m, m), { k: 1 }), g.f2('sub', m, { k: 1 }));
  const z = g.f2('mul', m, m);
  let y = g.f2('mul', g.f2('mul', g.horner(m, LOG_P), m), z);
  y = g.f2('add', y, g.f2('mul', e, { k: LN2_LO }));
  y = g.f2('sub', y, g.f2('mul', z, { k: 0.5 }));
  let r = g.f2('add', g.f2('add', m, y), g.f2('mul', e, { k: LN2_HI }));
  // ∞ and NaN give themselves, 0 gives −∞, negatives NaN
  r = g.sel(g.cmp('lt', x, { k: Infinity }), r, x);
  r = g.sel(g.cmp('eq', x, { k: 0 }), { k: -Infinity }, r);
  return g.sel(g.cmp('lt', x, { k: 0 }), { k: NaN }, r);
}

function tanh(g: Gen, x: number): number {
  // On |x|, then the sign of x (so that tanh(−0) = −0).
  const z = g.f1('abs', x);
  const z2 = g.f2('mul', z, z);
  const small = g.f2('add', g.f2('mul', g.f2('mul', g.horner(z2, TANH_P), z2), z), z);
  const s = exp(g, g.f2('add', z, z));
  const big = g.f2('sub', g.k(1), g.f2('div', g.k(2), g.f2('add', s, { k: 1 })));
  return g.copysign(g.sel(g.cmp('gt', z, { k: 0.625 }), big, small), x);
}

function sigmoid(g: Gen, x: number): number {
  const e = exp(g, g.f1('neg', g.f1('abs', x)));
  const d = g.f2('add', e, { k: 1 });
  return g.sel(g.cmp('ge', x, { k: 0 }), g.f2('div', g.k(1), d), g.f2('div', e, d));
}

/** exp of the f32 (or, with `vec`, f32x4) on top of the stack, for |x| ≤ EXP_IN_RANGE only (no special values): the fast path of exp alone. */
export function emitExpInRange(c: Code, vec: boolean, local: MathLocal, vconst: VConst = inlineConst): void {
  const g = new Gen(c, vec, local, vconst);
  g.push(expInRange(g, g.take()));
}

const FNS: Record<MathFn, (g: Gen, x: number) => number> = { exp, log, tanh, sigmoid };

/** Apply `fn` to the f32 (or, with `vec`, f32x4) on top of the stack, leaving the result there. */
export function emitMath(c: Code, fn: MathFn, vec: boolean, local: MathLocal, vconst: VConst = inlineConst): void {
  const g = new Gen(c, vec, local, vconst);
  g.push(FNS[fn](g, g.take()));
}
