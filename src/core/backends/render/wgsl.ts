/**
 * WGSL renderer: a kernel becomes a compute shader with one invocation per output element,
 * or, for long reductions with few outputs, one workgroup per output element (`treeBody`).
 *
 * Shape parameters: int32 constants of 2 and more (strides, sizes, offsets, loop lengths, the
 * output size) are read from `vx_dims`, a uniform array of vec4<i32>, so the source depends
 * on the kernel's structure only and one pipeline serves every shape; 0, 1 and negatives
 * stay literals (they change the structure: a broadcast, a unit stride). `renderWgslProgram`
 * returns the source and the parameter values. Inputs past the device's bindings can be
 * read from one packed u32 buffer (`packFrom`).
 *
 * The shared `CStyleRenderer` does the walk (temporaries for shared sub-expressions, reduction
 * loops inside the thread); this class overrides only how WGSL spells things and where its
 * semantics differ from the JavaScript oracle (`js.ts`):
 *
 * - Types: float32 → f32, int32 → i32, uint32 → u32. Bools are WGSL `bool` inside expressions
 *   and u32 (0/1) in buffers (WGSL has no 1-byte storage type).
 * - f32 arithmetic is native (no rounding calls); i32/u32 wrap natively at run time. Integer
 *   x/0 is all ones and x%0 is x (XLA; WGSL would give x and 0), shifts by ≥ 32 give 0 or the
 *   sign fill (WGSL masks the count), float→int casts saturate with NaN → 0 (WGSL clamps to
 *   the largest f32 below the limit and leaves NaN undefined).
 * - NaN and ±0 rules the oracle keeps but WGSL leaves open are explicit: max/min propagate NaN
 *   and order −0 < +0, sign/atan/tanh/sigmoid keep NaN, exp/log/log1p handle NaN, ±∞, zero
 *   and negative operands before the builtin (SwiftShader's exp(NaN) is +∞, its log(0) is
 *   −88.03 and log(NaN) 89.13), NaN tests use the bits (`vx_isnan`), not
 *   `x != x`, and float `!=` (and the cast to bool) adds them, so a compiler that assumes
 *   finite math cannot fold them away; x·0, x/0, 0/x and x/±∞ with a literal 0 or ∞ are
 *   spelled out.
 * - Subnormals: WGSL lets a device flush them to zero (NVIDIA's Vulkan driver does, llvmpipe
 *   does not); the renderer does not try to keep them (subnormal constants are flushed to ±0),
 *   except in fmod (integer arithmetic).
 * - Constants: finite normal floats are literals; ±∞, NaN and −0 go through
 *   `vx_f32_bits(0x…u)` (WGSL rejects non-finite constant expressions, a function call is
 *   never one, and a compiler may drop the sign of a literal −0). An operation whose operands are all constants gets its first operand through
 *   `vx_rt_*` for the same reason (e.g. `exp(100.0f)` would be a shader-creation error).
 * - Functions without a WGSL builtin are helper functions emitted on demand (`HELPERS`).
 *
 * Accuracy (f32, against the oracle's correctly rounded f64-then-f32 values; WGSL's own
 * builtins, used for exp, log away from 1, exp2/log2, sqrt and inverseSqrt, have the accuracy
 * the WGSL spec allows, e.g. exp 3+2|x| ULP; llvmpipe and NVIDIA's Vulkan driver show ≤ 3):
 * - sin, cos, tan: Cephes' sinf/cosf (three-part reduction by π/4, exact for |x| < 8192, and
 *   minimax polynomials): ≤ 2 ULP (tan ≤ 3 away from its poles) and ≤ 1e-7 absolute there;
 *   the builtins beyond. WGSL's builtins promise only 2⁻¹¹ absolute on [−π, π] (NVIDIA's
 *   are ~50 ULP off).
 * - atan, atan2: Cephes' atanf polynomial with range reduction (≤ 2 and ≤ 3 ULP measured;
 *   WGSL's builtins may be off by 4096 ULP, and llvmpipe's by ~35).
 * - erf: rational approximation x·P(x²)/Q(x²) on [−4, 4] (the one XLA/Eigen use for f32):
 *   ≤ 7 ULP and ≤ 4.2e-7 absolute, measured in f32 arithmetic over [−5, 5].
 * - erfinv: Giles' single-precision polynomials, as the oracle (same coefficients; the log1p
 *   inside is the helper below): a few ULP where the oracle's is exact to rounding.
 * - expm1: degree-9 Taylor series (Horner) for |x| < 0.5 (≤ 2 ULP), else exp(x) − 1 (≤ 2 ULP
 *   plus twice exp's error).
 * - log1p: 2·atanh(x/(2+x)) series for |x| < 0.5 (≤ 3 ULP), else log(1 + x) (≤ 2 ULP plus
 *   log's error). log: log1p(x − 1) on (0.5, 1.5) (x − 1 is exact there), log(x) elsewhere.
 * - tanh: expm1(2|x|)/(expm1(2|x|)+2) with the sign restored, |x| clamped at 10 (≤ 4 ULP).
 * - sigmoid: 1/(1+e^−|x|) mirrored for x < 0 (≤ 3 ULP plus exp's error).
 * - pow: integer exponents |y| ≤ 64 by repeated squaring (exact for y = ±1, 2; ≤ 6 ULP);
 *   otherwise exp2(y·log2|x|), relative error ≈ |y·log2 x|·2⁻²³ plus exp2's.
 * - fmod (float rem) is exact: integer long division on the bits (musl's fmodf).
 * - Float sums and products accumulate in f32 (the oracle uses f64): the error grows with the
 *   reduction length (≤ n·2⁻²⁴·Σ|x| for sums).
 */
import type { DType } from '../../dtype.js';
import { bin, cnst, idx, reduceIdentity, unravel, varRef, type BinOp, type Expr, type Kernel, type UnOp } from '../../kernel/ir.js';
import { children, CStyleRenderer } from './c_style.js';

/** The WGSL scalar type of a dtype inside expressions. */
export const WGSL_TYPE: Record<DType, string> = { float32: 'f32', int32: 'i32', uint32: 'u32', bool: 'bool' };
/** The WGSL element type of a dtype in a storage buffer (bools are u32). */
export const WGSL_STORAGE: Record<DType, string> = { float32: 'f32', int32: 'i32', uint32: 'u32', bool: 'u32' };

const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);
const bitsOf = (x: number): number => ((f32Bits[0] = x), u32Bits[0]);
const hex = (b: number) => `0x${(b >>> 0).toString(16)}u`;

/** An f32 literal, or null where WGSL needs the bits (±∞, NaN, subnormals, and −0, whose sign a compiler may drop). */
function floatLiteral(v: number): string | null {
  const x = Math.fround(v);
  if (!Number.isFinite(x) || Object.is(x, -0) || (x !== 0 && Math.abs(x) < 1.1754943508222875e-38)) return null;
  const s = `${Math.abs(x)}f`;
  return x < 0 ? `(-${s})` : s;
}

// ------------------------------------------------------------------ helper functions

interface Helper {
  /** Helpers this one calls. */
  readonly deps: readonly string[];
  readonly code: string;
}

const fl = (x: number) => floatLiteral(x)!;
const PI = fl(Math.PI), PI_2 = fl(Math.PI / 2), PI_4 = fl(Math.PI / 4), PI3_4 = fl((3 * Math.PI) / 4);

/** erf numerator (odd, x¹…x¹³) and denominator (even, x⁰…x⁸) coefficients, lowest first. */
const ERF_P = [-1.60960333262415e-2, -2.95459980854025e-3, -7.34990630326855e-4, -5.69250639462346e-5, -2.10102402082508e-6, 2.77068142495902e-8, -2.72614225801306e-10];
const ERF_Q = [-1.42647390514189e-2, -7.37332916720468e-3, -1.68282697438203e-3, -2.13374055278905e-4, -1.45660718464996e-5];
/** Giles' erfinv coefficients (highest first after the leading one), as in `js_math.ts`. */
const ERFINV_A = [2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941];
const ERFINV_B = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682];

/** Horner's rule over coefficients given highest first: ((c0·w + c1)·w + …). */
const horner = (v: string, w: string, cs: readonly number[]) =>
  [`  var ${v} = ${fl(cs[0])};`, ...cs.slice(1).map((c) => `  ${v} = ${fl(c)} + ${v} * ${w};`)].join('\n');

const HELPERS: Record<string, Helper> = {
  vx_f32_bits: { deps: [], code: 'fn vx_f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }' },
  vx_rt_f32: { deps: [], code: 'fn vx_rt_f32(x: f32) -> f32 { return x; }' },
  vx_rt_i32: { deps: [], code: 'fn vx_rt_i32(x: i32) -> i32 { return x; }' },
  vx_rt_u32: { deps: [], code: 'fn vx_rt_u32(x: u32) -> u32 { return x; }' },
  vx_rt_bool: { deps: [], code: 'fn vx_rt_bool(x: bool) -> bool { return x; }' },
  vx_isnan: { deps: [], code: 'fn vx_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }' },
  vx_isinf: { deps: [], code: 'fn vx_isinf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }' },
  vx_nan: { deps: ['vx_f32_bits'], code: 'fn vx_nan() -> f32 { return vx_f32_bits(0x7fc00000u); }' },
  vx_copysign: {
    deps: [],
    code: 'fn vx_copysign(m: f32, s: f32) -> f32 { return bitcast<f32>((bitcast<u32>(m) & 0x7fffffffu) | (bitcast<u32>(s) & 0x80000000u)); }',
  },
  vx_mul_zero: {
    deps: ['vx_nan'],
    code: `// x * z for a literal ±0 z, as IEEE (a compiler may fold x * 0.0 to 0.0, losing NaN for ±inf and NaN)
fn vx_mul_zero(x: f32, z: f32) -> f32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) >= 0x7f800000u) { return vx_nan(); }
  return bitcast<f32>((b ^ bitcast<u32>(z)) & 0x80000000u);
}`,
  },
  vx_div_zero: {
    deps: ['vx_nan'],
    code: `// x / z for a literal ±0 z, as IEEE: ±inf, NaN for ±0 and NaN
fn vx_div_zero(x: f32, z: f32) -> f32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) == 0u || (b & 0x7fffffffu) > 0x7f800000u) { return vx_nan(); }
  return bitcast<f32>(((b ^ bitcast<u32>(z)) & 0x80000000u) | 0x7f800000u);
}`,
  },
  vx_zero_div: {
    deps: ['vx_nan'],
    code: `// z / x for a literal ±0 z, as IEEE: ±0, NaN for ±0 and NaN
fn vx_zero_div(z: f32, x: f32) -> f32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) == 0u || (b & 0x7fffffffu) > 0x7f800000u) { return vx_nan(); }
  return bitcast<f32>((b ^ bitcast<u32>(z)) & 0x80000000u);
}`,
  },
  vx_div_inf: {
    deps: ['vx_nan'],
    code: `// x / z for a literal ±inf z, as IEEE: ±0, NaN for ±inf and NaN (a compiler may fold it to 0)
fn vx_div_inf(x: f32, z: f32) -> f32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) >= 0x7f800000u) { return vx_nan(); }
  return bitcast<f32>((b ^ bitcast<u32>(z)) & 0x80000000u);
}`,
  },
  /** JS truthiness of a float: nonzero and not NaN. */
  vx_truthy: { deps: ['vx_isnan'], code: 'fn vx_truthy(x: f32) -> bool { return x != 0.0f && !vx_isnan(x); }' },
  vx_fmax: {
    deps: ['vx_isnan', 'vx_nan'],
    code: `// max with NaN propagation and max(-0, +0) = +0 (Math.max)
fn vx_fmax(a: f32, b: f32) -> f32 {
  if (vx_isnan(a) || vx_isnan(b)) { return vx_nan(); }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }
  return select(b, a, a > b);
}`,
  },
  vx_fmin: {
    deps: ['vx_isnan', 'vx_nan'],
    code: `// min with NaN propagation and min(-0, +0) = -0 (Math.min)
fn vx_fmin(a: f32, b: f32) -> f32 {
  if (vx_isnan(a) || vx_isnan(b)) { return vx_nan(); }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b)); }
  return select(b, a, a < b);
}`,
  },
  vx_sign: { deps: [], code: '// ±1, keeping ±0 and NaN\nfn vx_sign(x: f32) -> f32 { return select(select(x, -1.0f, x < 0.0f), 1.0f, x > 0.0f); }' },
  vx_f2i: {
    deps: ['vx_isnan'],
    code: `// float -> int32: truncation, saturation, NaN -> 0
fn vx_f2i(x: f32) -> i32 {
  if (vx_isnan(x)) { return 0i; }
  if (x >= 2147483648.0f) { return 2147483647i; }
  if (x <= -2147483648.0f) { return i32(-2147483648); }
  return i32(x);
}`,
  },
  vx_f2u: {
    deps: [],
    code: `// float -> uint32: truncation, saturation, NaN and negatives -> 0
fn vx_f2u(x: f32) -> u32 {
  if (!(x > 0.0f)) { return 0u; }
  if (x >= 4294967296.0f) { return 4294967295u; }
  return u32(x);
}`,
  },
  vx_toint32: {
    deps: [],
    code: `// JavaScript's ToInt32 of an f32 value: truncation, then modulo 2^32 (NaN and ±inf -> 0)
fn vx_toint32(x: f32) -> i32 {
  let b = bitcast<u32>(x);
  let e = i32((b >> 23u) & 0xffu) - 150i;
  if (e < 0i) { return i32(x); }
  if (e >= 32i) { return 0i; }
  let r = bitcast<i32>(((b & 0x7fffffu) | 0x800000u) << u32(e));
  return select(r, -r, (b >> 31u) != 0u);
}`,
  },
  vx_idiv_i32: { deps: [], code: '// x / 0 = -1 (all ones), as XLA\nfn vx_idiv_i32(a: i32, b: i32) -> i32 { return select(a / b, -1i, b == 0i); }' },
  vx_idiv_u32: { deps: [], code: '// x / 0 = all ones, as XLA\nfn vx_idiv_u32(a: u32, b: u32) -> u32 { return select(a / b, 4294967295u, b == 0u); }' },
  vx_irem_i32: { deps: [], code: '// x % 0 = x, as XLA\nfn vx_irem_i32(a: i32, b: i32) -> i32 { return select(a % b, a, b == 0i); }' },
  vx_irem_u32: { deps: [], code: '// x % 0 = x, as XLA\nfn vx_irem_u32(a: u32, b: u32) -> u32 { return select(a % b, a, b == 0u); }' },
  vx_ipow_i32: {
    deps: ['vx_ipow_u32'],
    code: `// integer power with wrap; negative exponents give 0 unless |a| = 1 (XLA)
fn vx_ipow_i32(a0: i32, b0: i32) -> i32 {
  if (b0 < 0i) {
    if (a0 == 1i) { return 1i; }
    if (a0 == -1i) { return select(1i, -1i, (b0 & 1i) != 0i); }
    return 0i;
  }
  // Products wrap mod 2³² alike for i32 and u32, so the unsigned loop serves both.
  return bitcast<i32>(vx_ipow_u32(bitcast<u32>(a0), u32(b0)));
}`,
  },
  vx_ipow_u32: {
    deps: [],
    code: `fn vx_ipow_u32(a0: u32, b0: u32) -> u32 {
  var a = a0;
  var b = b0;
  var r = 1u;
  loop {
    if (b == 0u) { break; }
    if ((b & 1u) != 0u) { r = r * a; }
    a = a * a;
    b = b >> 1u;
  }
  return r;
}`,
  },
  vx_fmod: {
    deps: ['vx_nan'],
    code: `// exact float remainder with the dividend's sign (C fmod, JS %), on the bits (musl's fmodf),
// so subnormal operands are exact whether or not the device flushes them in float arithmetic
fn vx_fmod(a: f32, b: f32) -> f32 {
  var ux = bitcast<u32>(a);
  var uy = bitcast<u32>(b);
  let sx = ux & 0x80000000u;
  ux = ux & 0x7fffffffu;
  uy = uy & 0x7fffffffu;
  if (uy == 0u || uy > 0x7f800000u || ux >= 0x7f800000u) { return vx_nan(); }
  if (ux <= uy) { return select(a, bitcast<f32>(sx), ux == uy); }
  var ex = i32(ux >> 23u);
  var ey = i32(uy >> 23u);
  // Normalise the significands (subnormals shifted up, their exponents below 1).
  if (ex == 0i) { ex = 1i; loop { if ((ux & 0x800000u) != 0u) { break; } ux = ux << 1u; ex = ex - 1i; } } else { ux = (ux & 0x7fffffu) | 0x800000u; }
  if (ey == 0i) { ey = 1i; loop { if ((uy & 0x800000u) != 0u) { break; } uy = uy << 1u; ey = ey - 1i; } } else { uy = (uy & 0x7fffffu) | 0x800000u; }
  for (; ex > ey; ex = ex - 1i) {
    if (ux >= uy) { ux = ux - uy; if (ux == 0u) { return bitcast<f32>(sx); } }
    ux = ux << 1u;
  }
  if (ux >= uy) { ux = ux - uy; if (ux == 0u) { return bitcast<f32>(sx); } }
  loop { if ((ux & 0x800000u) != 0u) { break; } ux = ux << 1u; ex = ex - 1i; }
  if (ex > 0i) { ux = (ux - 0x800000u) | (u32(ex) << 23u); } else { ux = ux >> u32(1i - ex); }
  return bitcast<f32>(ux | sx);
}`,
  },
  vx_pow: {
    deps: ['vx_isnan', 'vx_nan', 'vx_f32_bits'],
    code: `// Math.pow: zeros, infinities and signs as in JavaScript; small integer exponents by repeated
// squaring, others through exp2(b·log2|a|) (subnormal bases scaled first)
fn vx_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0f) { return 1.0f; }
  if (vx_isnan(a) || vx_isnan(b)) { return vx_nan(); }
  let isInt = b == trunc(b);
  let odd = isInt && abs(b) < 16777216.0f && trunc(b * 0.5f) * 2.0f != b;
  let negBase = (bitcast<u32>(a) & 0x80000000u) != 0u;
  let inf = vx_f32_bits(0x7f800000u);
  let aa = abs(a);
  if (abs(b) == inf) {
    if (aa == 1.0f) { return vx_nan(); }
    return select(0.0f, inf, (aa > 1.0f) == (b > 0.0f));
  }
  if (aa == 0.0f || aa == inf) {
    // 0^b and inf^b: 0 or inf, negative for a negative base and an odd exponent.
    let big = (aa == inf) == (b > 0.0f);
    let r = select(0.0f, inf, big);
    return select(r, -r, negBase && odd);
  }
  if (isInt && abs(b) <= 64.0f) {
    var n = u32(abs(b));
    var x = a;
    var r = 1.0f;
    loop {
      if ((n & 1u) != 0u) { r = r * x; }
      n = n >> 1u;
      if (n == 0u) { break; }
      x = x * x;
    }
    return select(r, 1.0f / r, b < 0.0f);
  }
  if (negBase && !isInt) { return vx_nan(); }
  let l = select(log2(aa), log2(aa * 16777216.0f) - 24.0f, aa < 1.17549435e-38f);
  let r = exp2(b * l);
  return select(r, -r, negBase && odd);
}`,
  },
  vx_atan01: {
    deps: [],
    code: `// atan on [0, 1] (Cephes atanf: a degree-9 odd polynomial after reducing t > tan(pi/8) with (t-1)/(t+1))
fn vx_atan01(x: f32) -> f32 {
  var t = x;
  var y = 0.0f;
  if (x > 0.41421356f) { t = (x - 1.0f) / (x + 1.0f); y = ${PI_4}; }
  let z = t * t;
  let p = ((8.05374449538e-2f * z - 1.38776856032e-1f) * z + 1.99777106478e-1f) * z - 3.33329491539e-1f;
  return y + (p * z * t + t);
}`,
  },
  vx_atan: {
    deps: ['vx_isnan', 'vx_atan01', 'vx_copysign'],
    code: `// atan, ≤ 2 ULP (WGSL's builtin allows 4096)
fn vx_atan(x: f32) -> f32 {
  if (vx_isnan(x)) { return x; }
  let t = abs(x);
  let a = select(vx_atan01(t), ${PI_2} - vx_atan01(1.0f / t), t > 1.0f);
  return vx_copysign(a, x);
}`,
  },
  vx_atan2: {
    deps: ['vx_isnan', 'vx_isinf', 'vx_nan', 'vx_copysign', 'vx_atan01'],
    code: `// Math.atan2 (≤ 3 ULP) with its zero, infinity and NaN cases spelled out (WGSL leaves them open)
fn vx_atan2(y: f32, x: f32) -> f32 {
  if (vx_isnan(x) || vx_isnan(y)) { return vx_nan(); }
  let xneg = (bitcast<u32>(x) & 0x80000000u) != 0u;
  if (y == 0.0f) { return select(y, vx_copysign(${PI}, y), xneg); }
  if (x == 0.0f) { return vx_copysign(${PI_2}, y); }
  if (vx_isinf(x)) {
    if (vx_isinf(y)) { return vx_copysign(select(${PI_4}, ${PI3_4}, xneg), y); }
    return vx_copysign(select(0.0f, ${PI}, xneg), y);
  }
  if (vx_isinf(y)) { return vx_copysign(${PI_2}, y); }
  let ax = abs(x);
  let ay = abs(y);
  var a = vx_atan01(min(ax, ay) / max(ax, ay));
  if (ay > ax) { a = ${PI_2} - a; }
  if (xneg) { a = ${PI} - a; }
  return vx_copysign(a, y);
}`,
  },
  vx_rsqrt: { deps: [], code: 'fn vx_rsqrt(x: f32) -> f32 { return select(inverseSqrt(x), 1.0f / x, x == 0.0f); }' },
  vx_exp: {
    deps: ['vx_isnan', 'vx_f32_bits'],
    code: `// exp with IEEE edges: WGSL's exp may assume a finite operand (SwiftShader's exp(NaN) is +inf)
fn vx_exp(x: f32) -> f32 {
  if (vx_isnan(x)) { return x; }
  if (x == vx_f32_bits(0x7f800000u)) { return x; }
  if (x == vx_f32_bits(0xff800000u)) { return 0.0f; }
  return exp(x);
}`,
  },
  vx_expm1: {
    deps: ['vx_exp'],
    code: `// e^x - 1: Taylor series to x^9/9! for |x| < 0.5, else exp(x) - 1
fn vx_expm1(x: f32) -> f32 {
  if (abs(x) < 0.5f) {
    var p = 1.0f + x * (1.0f / 9.0f);
${[8, 7, 6, 5, 4, 3, 2].map((k) => `    p = 1.0f + x * (1.0f / ${k}.0f) * p;`).join('\n')}
    return x * p;
  }
  return vx_exp(x) - 1.0f;
}`,
  },
  vx_log1p: {
    deps: ['vx_isnan', 'vx_nan', 'vx_f32_bits'],
    code: `// log(1 + x): 2·atanh(s), s = x/(2+x), by its series for |x| < 0.5, else log(1 + x); the
// edges (NaN, x < -1, the pole, +inf) explicit, as WGSL's log may assume a positive finite operand
fn vx_log1p(x: f32) -> f32 {
  if (vx_isnan(x) || x < -1.0f) { return vx_nan(); }
  if (x == -1.0f) { return vx_f32_bits(0xff800000u); }
  if (x == vx_f32_bits(0x7f800000u)) { return x; }
  if (abs(x) < 0.5f) {
    let s = x / (2.0f + x);
    let s2 = s * s;
    var p = 1.0f / 19.0f;
${[17, 15, 13, 11, 9, 7, 5, 3].map((k) => `    p = 1.0f / ${k}.0f + s2 * p;`).join('\n')}
    return 2.0f * s + (2.0f * s) * (s2 * p);
  }
  return log(1.0f + x);
}`,
  },
  vx_sincos: {
    deps: ['vx_isnan', 'vx_isinf', 'vx_nan'],
    code: `// (sin x, cos x), Cephes' sinf/cosf: x reduced by pi/4 in three parts (exact for |x| < 8192),
// then degree-7 and -8 polynomials: ≤ 2 ULP and ≤ 1e-7 absolute up to |x| = 1e4 (WGSL's
// builtins promise 2^-11 absolute on [-pi, pi] only); the builtins beyond |x| = 8192
fn vx_sincos(x: f32) -> vec2<f32> {
  if (vx_isnan(x) || vx_isinf(x)) { return vec2<f32>(vx_nan(), vx_nan()); }
  let ax = abs(x);
  if (ax > 8192.0f) { return vec2<f32>(sin(x), cos(x)); }
  var j = u32(ax * 1.27323954473516f);
  var y = f32(j);
  if ((j & 1u) != 0u) { j = j + 1u; y = y + 1.0f; }
  j = j & 7u;
  let z = ((ax - y * 0.78515625f) - y * 2.4187564849853515625e-4f) - y * 3.77489497744594108e-8f;
  let zz = z * z;
  let c = ((2.443315711809948e-5f * zz - 1.388731625493765e-3f) * zz + 4.166664568298827e-2f) * zz * zz - 0.5f * zz + 1.0f;
  let s = ((-1.9515295891e-4f * zz + 8.3321608736e-3f) * zz - 1.6666654611e-1f) * zz * z + z;
  // j in {0, 2, 4, 6}: the multiple of pi/4 nearest |x|.
  let sa = select(select(s, c, j == 2u), select(-s, -c, j == 6u), j >= 4u);
  let ca = select(select(c, -s, j == 2u), select(-c, s, j == 6u), j >= 4u);
  return vec2<f32>(select(sa, -sa, (bitcast<u32>(x) & 0x80000000u) != 0u), ca);
}`,
  },
  vx_sin: { deps: ['vx_sincos'], code: 'fn vx_sin(x: f32) -> f32 { return vx_sincos(x).x; }' },
  vx_cos: { deps: ['vx_sincos'], code: 'fn vx_cos(x: f32) -> f32 { return vx_sincos(x).y; }' },
  vx_tan: { deps: ['vx_sincos'], code: '// sin/cos (≤ 3 ULP away from the poles)\nfn vx_tan(x: f32) -> f32 { let v = vx_sincos(x); return v.x / v.y; }' },
  vx_log: {
    deps: ['vx_log1p', 'vx_isnan', 'vx_nan', 'vx_f32_bits'],
    code: `// log: through log1p's series near 1 (WGSL's log is only 2^-21 absolute there), subnormals scaled first
fn vx_log(x: f32) -> f32 {
  if (abs(x - 1.0f) < 0.5f) { return vx_log1p(x - 1.0f); }
  if (vx_isnan(x) || x < 0.0f) { return vx_nan(); }
  if (x == 0.0f) { return vx_f32_bits(0xff800000u); }
  if (x == vx_f32_bits(0x7f800000u)) { return x; }
  if (x > 0.0f && x < 1.17549435e-38f) { return log(x * 16777216.0f) - 16.635532333438686f; }
  return log(x);
}`,
  },
  vx_tanh: {
    deps: ['vx_isnan', 'vx_expm1', 'vx_copysign'],
    code: `// tanh |x| = expm1(2|x|) / (expm1(2|x|) + 2), exact to rounding near 0 and 1 past |x| = 10
fn vx_tanh(x: f32) -> f32 {
  if (vx_isnan(x)) { return x; }
  let e = vx_expm1(2.0f * min(abs(x), 10.0f));
  return vx_copysign(e / (e + 2.0f), x);
}`,
  },
  vx_sigmoid: {
    deps: ['vx_isnan'],
    code: `fn vx_sigmoid(x: f32) -> f32 {
  if (vx_isnan(x)) { return x; }
  let e = exp(-abs(x));
  let r = 1.0f / (1.0f + e);
  return select(e * r, r, x >= 0.0f);
}`,
  },
  vx_erf: {
    deps: ['vx_isnan'],
    code: `// erf: x·P(x²)/Q(x²) on [-4, 4] (XLA/Eigen's f32 approximation; ≤ 7 ULP, ≤ 4.2e-7 absolute)
fn vx_erf(a: f32) -> f32 {
  let x = clamp(a, -4.0f, 4.0f);
  let x2 = x * x;
${horner('p', 'x2', [...ERF_P].reverse())}
${horner('q', 'x2', [...ERF_Q].reverse())}
  return select(x * p / q, a, vx_isnan(a));
}`,
  },
  vx_erfinv: {
    deps: ['vx_isnan', 'vx_nan', 'vx_log1p', 'vx_f32_bits', 'vx_copysign'],
    code: `// erfinv: M. Giles' single-precision approximation (the oracle's and XLA's)
fn vx_erfinv(x: f32) -> f32 {
  if (vx_isnan(x) || abs(x) > 1.0f) { return vx_nan(); }
  if (abs(x) == 1.0f) { return vx_copysign(vx_f32_bits(0x7f800000u), x); }
  var w = -vx_log1p(-(x * x));
  if (w < 5.0f) {
    w = w - 2.5f;
${horner('p', 'w', ERFINV_A).replace(/^/gm, '  ')}
    return p * x;
  }
  w = sqrt(w) - 3.0f;
${horner('p', 'w', ERFINV_B)}
  return p * x;
}`,
  },
};

/** A helper function's name (a key of `HELPERS`). */
export type HelperName = string;

/** The source of these helpers and everything they call, in a fixed order. */
export function helperSource(names: Iterable<HelperName>): string {
  const all = new Set<HelperName>();
  const visit = (n: HelperName): void => {
    if (!HELPERS[n]) throw new Error(`wgsl renderer: unknown helper ${n}`);
    if (all.has(n)) return;
    all.add(n);
    for (const d of HELPERS[n].deps) visit(d);
  };
  for (const n of names) visit(n);
  return Object.keys(HELPERS).filter((n) => all.has(n)).map((n) => HELPERS[n].code).join('\n');
}

// ------------------------------------------------------------------ the renderer

const FLOAT_FN: Partial<Record<UnOp, string>> = {
  floor: 'floor', ceil: 'ceil', round: 'round', exp: 'vx_exp', log: 'vx_log', sin: 'vx_sin', cos: 'vx_cos', tan: 'vx_tan', sqrt: 'sqrt',
  abs: 'abs', expm1: 'vx_expm1', log1p: 'vx_log1p', tanh: 'vx_tanh', atan: 'vx_atan', rsqrt: 'vx_rsqrt',
  sigmoid: 'vx_sigmoid', erf: 'vx_erf', erfinv: 'vx_erfinv', sign: 'vx_sign',
};
const CMP: Partial<Record<BinOp, string>> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

export interface WgslKernelOptions {
  /** Invocations per workgroup (x); a power of two where a kernel reduces across its workgroup. */
  readonly workgroupSize: number;
  /**
   * Invocations per row of a 2-D dispatch (workgroups in x × workgroupSize), for outputs with
   * more workgroups than one dispatch dimension allows; null for a 1-D dispatch.
   */
  readonly rowStride?: number | null;
  /**
   * Inputs from this index on are read from one packed buffer (`vx_pk`, u32 words) at offsets
   * held in the first parameters (for kernels with more inputs than the device binds).
   */
  readonly packFrom?: number;
  /** Reduce across the workgroup (see `planWgslKernel`); default: as the plan says. */
  readonly tree?: boolean;
}

/** A rendered kernel: its source (the pipeline cache key) and the parameter values it reads. */
export interface WgslProgram {
  readonly source: string;
  /**
   * int32 values for `vx_dims` (a uniform array of vec4<i32>): the shape-dependent constants,
   * in order of appearance; with `packFrom`, slots 0… hold the packed inputs' offsets (0 here).
   */
  readonly params: Int32Array;
  /** Whether each output element is reduced by a whole workgroup (one workgroup per output). */
  readonly tree: boolean;
}

/** Reductions at least this long are shared by a workgroup when the output is at most `TREE_MAX_OUTPUTS` elements. */
export const TREE_MIN_LENGTH = 256;
export const TREE_MAX_OUTPUTS = 16384;

/** The reductions not nested in another reduction's body, in order of first appearance. */
function outermostReduces(root: Expr): ReduceExpr[] {
  const out: ReduceExpr[] = [];
  const seen = new Set<Expr>();
  const walk = (e: Expr): void => {
    if (seen.has(e)) return;
    seen.add(e);
    if (e.k === 'reduce') out.push(e);
    else for (const c of children(e)) walk(c);
  };
  walk(root);
  return out;
}
const reduceLength = (e: ReduceExpr) => e.vars.reduce((a, v) => a * v.size, 1);

/**
 * Whether a kernel reduces across workgroups: one workgroup per output element, its
 * invocations striding over the reduction and combining their partial results in a tree in
 * workgroup memory. Chosen when some reduction is at least `TREE_MIN_LENGTH` long (one
 * invocation looping over it would serialise the work) and there are at most
 * `TREE_MAX_OUTPUTS` outputs (beyond that, one invocation per output fills the device).
 */
export function planWgslKernel(kernel: Kernel, workgroupSize: number): { readonly tree: boolean; readonly invocations: number } {
  const n = kernel.outShape.reduce((a, b) => a * b, 1);
  const longest = Math.max(0, ...outermostReduces(kernel.expr).map(reduceLength));
  const pow2 = (workgroupSize & (workgroupSize - 1)) === 0;
  const tree = pow2 && longest >= Math.max(TREE_MIN_LENGTH, workgroupSize) && n <= TREE_MAX_OUTPUTS;
  return { tree, invocations: tree ? n * workgroupSize : n };
}

type ReduceExpr = Extract<Expr, { k: 'reduce' }>;

/**
 * `e` with some nodes replaced: `replace` gives a node's replacement, or undefined to keep the
 * node with its children rewritten the same way; shared nodes stay shared.
 */
function rewrite(e: Expr, replace: (node: Expr) => Expr | undefined, memo = new Map<Expr, Expr>()): Expr {
  const done = memo.get(e);
  if (done) return done;
  const s = (x: Expr) => rewrite(x, replace, memo);
  let out = replace(e);
  if (!out)
    switch (e.k) {
      case 'const': case 'var': out = e; break;
      case 'load': out = { ...e, index: s(e.index) }; break;
      case 'un': case 'cast': case 'bitcast': out = { ...e, x: s(e.x) }; break;
      case 'bin': out = { ...e, a: s(e.a), b: s(e.b) }; break;
      case 'select': out = { ...e, c: s(e.c), t: s(e.t), f: s(e.f) }; break;
      case 'reduce': out = { ...e, body: s(e.body) }; break;
    }
  memo.set(e, out);
  return out;
}
/** A variable of any dtype (the renderer names the workgroup results this way). */
const namedValue = (name: string, dtype: DType): Expr => ({ k: 'var', name, dtype }) as unknown as Expr;

export class WgslRenderer extends CStyleRenderer {
  /** Helper functions the rendered code calls. */
  readonly used = new Set<HelperName>();
  /** dtype of each rendered fragment whose type matters later (temporaries, expressions). */
  private types = new Map<string, DType>();
  /** Fragments that are constant expressions, with their values. */
  private consts = new Map<string, number>();
  /** Values of the `vx_dims` parameters, by slot. */
  private params: number[] = [];
  /** Parameter fragments (all positive int32 values). */
  private positive = new Set<string>();
  /** Inputs from this index on live in the packed buffer (see `WgslKernelOptions.packFrom`). */
  private packFrom = Infinity;

  /**
   * An int32 value read from the parameter buffer: shape-dependent constants (strides, sizes,
   * offsets, loop lengths) live there so one pipeline serves every shape of a kernel's structure.
   */
  param(v: number): string {
    const k = this.params.length;
    this.params.push(v);
    const s = `vx_dims[${k >> 2}].${'xyzw'[k & 3]}`;
    if (v > 0) this.positive.add(s);
    return this.typed(s, 'int32');
  }

  private helper(name: HelperName): string {
    this.used.add(name);
    return name;
  }
  private typed(s: string, dtype: DType): string {
    this.types.set(s, dtype);
    return s;
  }
  /** Operands that are all constants would make a WGSL constant expression: route the first through a function. */
  private rt(xs: string[], dtypes: DType[]): string[] {
    if (!xs.every((x) => this.consts.has(x))) return xs;
    const d = dtypes[0];
    return [`${this.helper(`vx_rt_${WGSL_TYPE[d]}`)}(${xs[0]})`, ...xs.slice(1)];
  }

  /** A float constant ±0. */
  private isZero(frag: string): boolean {
    return this.types.get(frag) === 'float32' && this.consts.get(frag) === 0;
  }

  constant(v0: number, dtype: DType): string {
    let s: string;
    let v = v0;
    switch (dtype) {
      case 'float32': {
        // Subnormal constants are flushed to ±0: devices may flush subnormals anyway (WGSL
        // allows it), and NVIDIA's driver treats subnormal immediates inconsistently.
        if (v !== 0 && Math.abs(v) < 1.1754943508222875e-38) v = v < 0 ? -0 : 0;
        const lit = floatLiteral(v);
        s = lit ?? `${this.helper('vx_f32_bits')}(${hex(bitsOf(v))})`;
        break;
      }
      case 'int32': {
        const i = v | 0;
        // Constants of 2 and more become parameters; 0, 1 and negative ones stay literals (the
        // structure that index arithmetic folds around: a stride of 0 or 1, an offset of 0).
        if (i >= 2) return this.param(i);
        s = i === -2147483648 ? 'i32(-2147483648)' : i < 0 ? `(${i}i)` : `${i}i`;
        break;
      }
      case 'uint32':
        s = `${v >>> 0}u`;
        break;
      case 'bool':
        s = v ? 'true' : 'false';
        break;
    }
    this.consts.set(s, v);
    return this.typed(s, dtype);
  }

  override ref(name: string): string {
    return name;
  }

  unary(op: UnOp, x0: string, dtype: DType): string {
    const [x] = this.rt([x0], [dtype]);
    const out = (s: string, d: DType = dtype) => this.typed(s, d);
    if (op === 'isfinite') return out(dtype === 'float32' ? `((bitcast<u32>(${x}) & 0x7f800000u) != 0x7f800000u)` : 'true', 'bool');
    if (dtype === 'float32') {
      if (op === 'neg') return out(`(-${x})`);
      if (op === 'not') return out(`select(1.0f, 0.0f, ${this.helper('vx_truthy')}(${x}))`);
      const fn = FLOAT_FN[op]!;
      if (fn.startsWith('vx_')) this.helper(fn);
      return out(`${fn}(${x})`);
    }
    if (dtype === 'bool') {
      switch (op) {
        case 'not': return out(`(!${x})`);
        case 'neg': case 'abs': case 'sign': case 'floor': case 'ceil': case 'round': return out(x);
        // A float function of a bool: JS truthiness of its f32 result.
        default: return out(`${this.helper('vx_truthy')}(${this.unary(op, `f32(${x})`, 'float32')})`);
      }
    }
    const T = WGSL_TYPE[dtype];
    switch (op) {
      case 'neg': return out(dtype === 'uint32' ? `(0u - ${x})` : `(-${x})`);
      case 'abs': return out(dtype === 'int32' ? `abs(${x})` : x);
      case 'sign': return out(dtype === 'int32' ? `sign(${x})` : `select(0u, 1u, ${x} != 0u)`);
      case 'not': return out(`(~${x})`);
      case 'floor': case 'ceil': case 'round': return out(x);
      default: {
        // A float function of an integer: the f32 result wrapped modulo 2^32 (JS `| 0` / `>>> 0`).
        const f = this.unary(op, `f32(${x})`, 'float32');
        const w = `${this.helper('vx_toint32')}(${f})`;
        return out(T === 'i32' ? w : `bitcast<u32>(${w})`);
      }
    }
  }

  binary(op: BinOp, a0: string, b0: string, dtype: DType): string {
    const [a, b] = this.rt([a0, b0], [dtype, dtype]);
    const cmp = CMP[op];
    // Float != is true for NaN: spelled out, since a compiler assuming finite values (WGSL
    // allows it) emits an ordered comparison (NVIDIA's does); the other comparisons are false for NaN either way.
    if (op === 'ne' && dtype === 'float32') return this.typed(`((${a} != ${b}) || ${this.helper('vx_isnan')}(${a}) || vx_isnan(${b}))`, 'bool');
    if (cmp) return this.typed(dtype === 'bool' && op !== 'eq' && op !== 'ne' ? `(u32(${a}) ${cmp} u32(${b}))` : `(${a} ${cmp} ${b})`, 'bool');
    const out = (s: string) => this.typed(s, dtype);
    if (dtype === 'bool') {
      switch (op) {
        case 'and': case 'mul': case 'min': return out(`(${a} && ${b})`);
        case 'or': case 'add': case 'max': return out(`(${a} || ${b})`);
        case 'xor': case 'sub': return out(`(${a} != ${b})`);
        // The oracle computes on 0/1 numbers and takes the truthiness: the uint32 op on 0/1 does the same.
        default: return out(`(${this.binary(op, `u32(${a})`, `u32(${b})`, 'uint32')} != 0u)`);
      }
    }
    if (dtype === 'float32') {
      switch (op) {
        case 'add': return out(`(${a} + ${b})`);
        case 'sub': return out(`(${a} - ${b})`);
        // A literal zero operand: compilers fold these (WGSL lets them assume finite values); spell out IEEE.
        case 'mul':
          if (this.isZero(b0)) return out(`${this.helper('vx_mul_zero')}(${a}, ${b})`);
          if (this.isZero(a0)) return out(`${this.helper('vx_mul_zero')}(${b}, ${a})`);
          return out(`(${a} * ${b})`);
        case 'div':
          if (this.isZero(b0)) return out(`${this.helper('vx_div_zero')}(${a}, ${b})`);
          if (this.isZero(a0)) return out(`${this.helper('vx_zero_div')}(${a}, ${b})`);
          if (Math.abs(this.consts.get(b0) ?? 0) === Infinity && this.types.get(b0) === 'float32') return out(`${this.helper('vx_div_inf')}(${a}, ${b})`);
          return out(`(${a} / ${b})`);
        case 'rem': return out(`${this.helper('vx_fmod')}(${a}, ${b})`);
        case 'pow': return out(`${this.helper('vx_pow')}(${a}, ${b})`);
        case 'max': return out(`${this.helper('vx_fmax')}(${a}, ${b})`);
        case 'min': return out(`${this.helper('vx_fmin')}(${a}, ${b})`);
        case 'atan2': return out(`${this.helper('vx_atan2')}(${a}, ${b})`);
        default: throw new Error(`wgsl renderer: ${op} is not defined on float32`);
      }
    }
    const T = WGSL_TYPE[dtype];
    const signed = dtype === 'int32';
    const zero = signed ? '0i' : '0u';
    const posLiteral = (this.consts.get(b0) ?? 0) > 0 || this.positive.has(b0);
    const count = signed ? `u32(${b})` : b;
    const masked = `(${count} & 31u)`;
    switch (op) {
      case 'add': return out(`(${a} + ${b})`);
      case 'sub': return out(`(${a} - ${b})`);
      case 'mul': return out(`(${a} * ${b})`);
      // A positive literal divisor (index arithmetic) needs no zero check.
      case 'div': return out(posLiteral ? `(${a} / ${b})` : `${this.helper(`vx_idiv_${T}`)}(${a}, ${b})`);
      case 'rem': return out(posLiteral ? `(${a} % ${b})` : `${this.helper(`vx_irem_${T}`)}(${a}, ${b})`);
      case 'pow': return out(`${this.helper(`vx_ipow_${T}`)}(${a}, ${b})`);
      case 'max': return out(`max(${a}, ${b})`);
      case 'min': return out(`min(${a}, ${b})`);
      case 'and': return out(`(${a} & ${b})`);
      case 'or': return out(`(${a} | ${b})`);
      case 'xor': return out(`(${a} ^ ${b})`);
      // Shifts by ≥ 32 (as unsigned) give 0, or the sign fill for the arithmetic shift.
      case 'shl': return out(`select(${a} << ${masked}, ${zero}, ${count} >= 32u)`);
      case 'shrl':
        return out(signed ? `select(bitcast<i32>(u32(${a}) >> ${masked}), 0i, ${count} >= 32u)` : `select(${a} >> ${masked}, 0u, ${count} >= 32u)`);
      case 'shra':
        return out(signed
          ? `(${a} >> select(${masked}, 31u, ${count} >= 32u))`
          : `bitcast<u32>(bitcast<i32>(${a}) >> select(${masked}, 31u, ${count} >= 32u))`);
      case 'atan2': {
        const f = `${this.helper('vx_atan2')}(f32(${a}), f32(${b}))`;
        const w = `${this.helper('vx_toint32')}(${f})`;
        return out(signed ? w : `bitcast<u32>(${w})`);
      }
      default: throw new Error(`wgsl renderer: unknown binary op ${op}`);
    }
  }

  select(c0: string, t0: string, f0: string, dtype: DType): string {
    // Conditions are bools; anything else is tested for truthiness, as the oracle does.
    const cd = this.types.get(c0) ?? 'bool';
    const c = cd === 'bool' ? c0 : cd === 'float32' ? `${this.helper('vx_truthy')}(${c0})` : `(${c0} != ${cd === 'int32' ? '0i' : '0u'})`;
    const [t, f] = this.consts.has(c0) ? this.rt([t0, f0], [dtype, dtype]) : [t0, f0];
    return this.typed(`select(${f}, ${t}, ${c})`, dtype);
  }

  cast(x0: string, from: DType, to: DType): string {
    const [x] = this.rt([x0], [from]);
    const out = (s: string) => this.typed(s, to);
    if (to === 'bool') {
      if (from === 'float32') return out(`((${x} != 0.0f) || ${this.helper('vx_isnan')}(${x}))`);
      return out(from === 'bool' ? x : `(${x} != ${from === 'int32' ? '0i' : '0u'})`);
    }
    if (from === 'float32') return out(to === 'int32' ? `${this.helper('vx_f2i')}(${x})` : to === 'uint32' ? `${this.helper('vx_f2u')}(${x})` : x);
    // int ↔ uint reinterpret the bits (WGSL's i32(u32) and u32(i32) do); bools convert to 0/1.
    return out(`${WGSL_TYPE[to]}(${x})`);
  }

  bitcast(x0: string, from: DType, to: DType): string {
    const [x] = this.rt([x0], [from]);
    return this.typed(from === to ? x : `bitcast<${WGSL_TYPE[to]}>(${x})`, to);
  }

  load(buf: number, index: string, dtype: DType): string {
    if (buf >= this.packFrom) {
      // A packed input: u32 words at its offset (parameter slot buf - packFrom).
      const k = buf - this.packFrom;
      const w = `vx_pk[vx_dims[${k >> 2}].${'xyzw'[k & 3]} + ${index}]`;
      return this.typed(dtype === 'bool' ? `(${w} != 0u)` : dtype === 'uint32' ? w : `bitcast<${WGSL_TYPE[dtype]}>(${w})`, dtype);
    }
    return this.typed(dtype === 'bool' ? `(in${buf}[${index}] != 0u)` : `in${buf}[${index}]`, dtype);
  }
  declare(name: string, value: string, dtype: DType, mutable: boolean): string {
    this.types.set(name, dtype);
    return `${mutable ? 'var' : 'let'} ${name}: ${WGSL_TYPE[dtype]} = ${value};`;
  }
  assign(name: string, value: string): string {
    return `${name} = ${value};`;
  }
  forOpen(v: string, n: number): string {
    // Trip counts are always parameters (a length of 1 need not compile another pipeline).
    return `for (var ${v} = 0i; ${v} < ${this.param(n)}; ${v}++) {`;
  }
  override argIndex(vars: readonly { readonly name: string; readonly size: number }[]): string {
    return vars.reduce((f, v, i) => (i === 0 ? v.name : `(${f}) * ${this.param(v.size)} + ${v.name}`), '');
  }
  ifOpen(cond: string): string {
    return `if (${cond}) {`;
  }
  override logicalAnd(a: string, b: string): string {
    return `(${a} && ${b})`;
  }

  /** The whole compute shader for a kernel: bindings, helpers, index decomposition, body, store. */
  renderKernel(kernel: Kernel, opts: WgslKernelOptions): WgslProgram {
    const n = kernel.outShape.reduce((a, b) => a * b, 1);
    const wg = opts.workgroupSize;
    const tree = opts.tree ?? planWgslKernel(kernel, wg).tree;
    const packFrom = Math.min(opts.packFrom ?? kernel.inputs.length, kernel.inputs.length);
    this.packFrom = packFrom;
    for (let k = packFrom; k < kernel.inputs.length; k++) this.params.push(0);
    const store = (v: string) => `out[g] = ${kernel.outDtype === 'bool' ? `select(0u, 1u, ${v})` : v};`;
    const head = this.outputIndex(kernel.outShape, n, opts.rowStride ?? null, tree ? wg : 0);
    const shared = new Set<string>();
    const body = tree ? this.treeBody(kernel, wg, store, shared) : this.renderBody(kernel, store);
    // The output's rank, not its shape: the source is the same for every shape (see `param`).
    const sig = `${kernel.inputs.map((d) => WGSL_TYPE[d]).join(', ') || '()'} -> ${WGSL_TYPE[kernel.outDtype]}, rank ${kernel.outShape.length}`;
    const nParams = this.params.length;
    const bindings = [
      `@group(0) @binding(0) var<storage, read_write> out: array<${WGSL_STORAGE[kernel.outDtype]}>;`,
      ...kernel.inputs.slice(0, packFrom).map((d, k) => `@group(0) @binding(${k + 1}) var<storage, read> in${k}: array<${WGSL_STORAGE[d]}>;`),
      ...(packFrom < kernel.inputs.length ? [`@group(0) @binding(${packFrom + 1}) var<storage, read> vx_pk: array<u32>;`] : []),
      ...(nParams ? [`@group(0) @binding(${Math.min(packFrom + 1, kernel.inputs.length) + 1}) var<uniform> vx_dims: array<vec4<i32>, ${Math.ceil(nParams / 4)}>;`] : []),
    ];
    const entry = tree
      ? 'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {'
      : 'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {';
    const source = [
      `// ${kernel.label}: ${sig}${tree ? ' (workgroup reduction)' : ''}`,
      ...bindings,
      ...[...shared].map((t) => (t === 'vx_shi' ? `var<workgroup> vx_shi: array<i32, ${wg}>;` : `var<workgroup> vx_sh_${t}: array<${t}, ${wg}>;`)),
      ...(this.used.size ? [helperSource(this.used)] : []),
      '',
      `@compute @workgroup_size(${wg})`,
      entry,
      ...indentBlocks([...head, ...body], 1),
      '}',
      '',
    ].join('\n');
    const params = new Int32Array(Math.ceil(nParams / 4) * 4);
    params.set(this.params);
    return { source, params, tree };
  }

  /**
   * `g` (the flat output index; invocations, or workgroups for a tree reduction, past the end
   * return) and i0…i{n-1} from it, sizes and strides read from parameters.
   */
  private outputIndex(shape: readonly number[], n: number, rowStride: number | null, treeWg: number): string[] {
    const p = (v: number) => (v >= 2 ? this.param(v) : `${v}i`);
    const id = treeWg ? 'wid' : 'gid';
    const row = rowStride === null ? null : treeWg ? rowStride / treeWg : rowStride;
    const lines = [
      row === null ? `let g = i32(${id}.x);` : `let g = i32(${id}.x + ${id}.y * u32(${p(row)}));`,
      `if (g >= ${p(n)}) { return; }`,
    ];
    let stride = 1;
    const parts: string[] = [];
    for (let k = shape.length - 1; k >= 0; k--) {
      const q = stride === 1 ? 'g' : `(g / ${p(stride)})`;
      parts.unshift(k === 0 ? `let i${k} = ${q};` : shape[k] === 1 ? `let i${k} = 0i;` : `let i${k} = ${q} % ${p(shape[k])};`);
      stride *= shape[k];
    }
    return [...lines, ...parts];
  }

  /**
   * A kernel whose outermost reductions are shared by the workgroup (one workgroup per output
   * element). For each such reduction in turn: invocation `ln` folds the elements ln, ln + W,
   * ln + 2W, … (W the workgroup size) in order, then the W partial results are combined
   * pairwise in workgroup memory (ln with ln + W/2, then W/4, …: a fixed order, so results are
   * deterministic), and every invocation reads the result. argmax/argmin carry (value, index)
   * pairs and prefer, on ties, the smaller index; NaN wins as in the oracle (the first NaN).
   * The rest of the expression is then computed with the results, and invocation 0 stores it.
   */
  private treeBody(kernel: Kernel, wg: number, store: (v: string) => string, shared: Set<string>): string[] {
    const lines = ['let ln = i32(lid);'];
    const lane = varRef('ln');
    const results = new Map<Expr, Expr>();
    // Each part renders in its own block (the emitter's temporaries restart at t0).
    const piece = (e: Expr, save: (v: string) => string) => lines.push('{', ...this.renderBody({ ...kernel, expr: e }, save), '}');
    outermostReduces(kernel.expr).forEach((red, k) => {
      const S = reduceLength(red);
      const sizes = red.vars.map((v) => v.size);
      const rj = `vx_j${k}`;
      const flat = bin('add', bin('mul', varRef(rj), idx(wg)), lane);
      const at = (i: Expr) => {
        const parts = unravel(bin('min', i, idx(S - 1)), sizes);
        const names = new Map(red.vars.map((v, j) => [v.name, parts[j]]));
        return rewrite(red.body, (x) => (x.k === 'var' ? names.get(x.name) : undefined));
      };
      const arg = red.op === 'argmax' || red.op === 'argmin';
      const vd = red.body.dtype;
      const valueType = WGSL_STORAGE[arg ? vd : red.dtype];
      shared.add(valueType);
      const sh = `vx_sh_${valueType}`;
      const res = `vx_red${k}`;
      const fromShared = (s: string, d: DType) => (d === 'bool' ? `(${s} != 0u)` : s);
      const toShared = (v: string, d: DType) => (d === 'bool' ? `select(0u, 1u, ${v})` : v);
      const chunks = [{ name: rj, size: Math.ceil(S / wg) }];
      if (!arg) {
        const ident = cnst(reduceIdentity(red.op, red.dtype), red.dtype);
        const part: Expr = { k: 'reduce', op: red.op, vars: chunks, body: selectExpr(bin('lt', flat, idx(S)), at(flat), ident), dtype: red.dtype };
        piece(part, (v) => `${sh}[lid] = ${toShared(v, red.dtype)};`);
        const a = fromShared(`${sh}[lid]`, red.dtype), b = fromShared(`${sh}[lid + s]`, red.dtype);
        const combined = this.accumulate(red.op as 'sum' | 'prod' | 'max' | 'min', a, b, red.dtype);
        lines.push('workgroupBarrier();', `for (var s = ${wg >> 1}u; s > 0u; s = s >> 1u) {`, `if (lid < s) { ${sh}[lid] = ${toShared(combined, red.dtype)}; }`, 'workgroupBarrier();', '}');
      } else {
        shared.add('vx_shi');
        // The invocation's best chunk (the oracle's sequential rule), then its value there.
        const ident = cnst(reduceIdentity(red.op, vd), vd);
        const best: Expr = { k: 'reduce', op: red.op, vars: chunks, body: selectExpr(bin('lt', flat, idx(S)), at(flat), ident), dtype: 'int32' };
        const li = `vx_li${k}`;
        lines.push(`var ${li}: i32;`);
        piece(bin('add', bin('mul', best, idx(wg)), lane), (v) => `${li} = ${v};`);
        const liv = varRef(li);
        piece(selectExpr(bin('lt', liv, idx(S)), at(liv), ident), (v) => `${sh}[lid] = ${toShared(v, vd)}; vx_shi[lid] = ${li};`);
        const T = WGSL_STORAGE[vd];
        const gt = red.op === 'argmax' ? '>' : '<';
        const better = vd === 'float32'
          ? `(${this.helper('vx_isnan')}(b) && (!vx_isnan(a) || bi < ai)) || (!vx_isnan(a) && !vx_isnan(b) && (b ${gt} a || (b == a && bi < ai)))`
          : `(b ${gt} a) || (b == a && bi < ai)`;
        lines.push(
          'workgroupBarrier();',
          `for (var s = ${wg >> 1}u; s > 0u; s = s >> 1u) {`,
          'if (lid < s) {',
          `let a: ${T} = ${sh}[lid];`, `let b: ${T} = ${sh}[lid + s];`, 'let ai = vx_shi[lid];', 'let bi = vx_shi[lid + s];',
          `if (${better}) { ${sh}[lid] = b; vx_shi[lid] = bi; }`,
          '}',
          'workgroupBarrier();',
          '}',
        );
      }
      const rd = arg ? 'int32' : red.dtype;
      lines.push(`let ${res}: ${WGSL_TYPE[rd]} = ${fromShared(arg ? 'vx_shi[0]' : `${sh}[0]`, rd)};`, 'workgroupBarrier();');
      this.types.set(res, rd);
      results.set(red, namedValue(res, rd));
    });
    piece(rewrite(kernel.expr, (x) => results.get(x)), (v) => `if (lid == 0u) { ${store(v)} }`);
    return lines;
  }
}

/** A select node (the IR's smart constructor folds constant conditions; these are never constant). */
const selectExpr = (c: Expr, t: Expr, f: Expr): Expr => ({ k: 'select', c, t, f, dtype: t.dtype });

/** Indent statements by their brace depth (the emitter leaves loop bodies flush). */
export function indentBlocks(lines: readonly string[], depth: number): string[] {
  return lines.map((l) => {
    if (l.startsWith('}')) depth--;
    const out = '  '.repeat(Math.max(depth, 0)) + l;
    if (l.endsWith('{')) depth++;
    return out;
  });
}

/** `g`, the flat output index of this invocation (returning past the end), and i0…i{n-1} from it. */
export function threadIndex(shape: readonly number[], n: number, rowStride: number | null): string[] {
  const lines = [
    rowStride === null ? 'let g = i32(gid.x);' : `let g = i32(gid.x + gid.y * ${rowStride}u);`,
    `if (g >= ${n}i) { return; }`,
  ];
  let stride = 1;
  const parts: string[] = [];
  for (let k = shape.length - 1; k >= 0; k--) {
    const q = stride === 1 ? 'g' : `(g / ${stride}i)`;
    parts.unshift(k === 0 ? `let i${k} = ${q};` : `let i${k} = ${q} % ${shape[k]}i;`);
    stride *= shape[k];
  }
  return [...lines, ...parts];
}

/** Render a kernel to a WGSL compute shader and the parameter values it reads. */
export function renderWgslProgram(kernel: Kernel, opts: WgslKernelOptions): WgslProgram {
  return new WgslRenderer().renderKernel(kernel, opts);
}
/** Render a kernel to a WGSL compute shader (its source only). */
export function renderWgslKernel(kernel: Kernel, opts: WgslKernelOptions): string {
  return renderWgslProgram(kernel, opts).source;
}
