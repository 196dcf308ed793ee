/**
 * Scalar functions the JavaScript kernels call (as `M.*`) where JS has no builtin with the
 * semantics vidax promises. All take and return JS numbers.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** erf in f64: Maclaurin series for |x| < 2, Laplace continued fraction for erfc beyond (both < 1e-14 abs. error). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2) {
    // erf x = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax, sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * sum * 1.1283791670955126;
  }
  if (ax >= 6) return Math.sign(x);
  // erfc x = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
  let k = ax;
  for (let n = 80; n >= 1; n--) k = ax + n / 2 / k;
  const erfc = Math.exp(-ax * ax) / (1.7724538509055159 * k);
  return Math.sign(x) * (1 - erfc);
}

/**
 * Inverse error function in float32 arithmetic: M. Giles, "Approximating the erfinv function"
 * (GPU Computing Gems, 2011), the single-precision branch XLA uses for `erf_inv` — so
 * `random.normal` matches JAX to within an ulp.
 */
export function erfinv(x: number): number {
  const fr = Math.fround;
  if (Number.isNaN(x) || Math.abs(x) > 1) return NaN;
  if (Math.abs(x) === 1) return x * Infinity;
  let w = fr(-Math.log1p(fr(-fr(x * x))));
  let p: number;
  if (w < 5) {
    w = fr(w - 2.5);
    p = fr(2.81022636e-8);
    for (const c of [3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941])
      p = fr(fr(c) + fr(p * w));
  } else {
    w = fr(fr(Math.sqrt(w)) - 3);
    p = fr(-0.000200214257);
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682])
      p = fr(fr(c) + fr(p * w));
  }
  return fr(p * x);
}

/** Logistic function, stable for large |x|. */
export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Round half to even (NumPy's `round`, XLA's `round_nearest_even`). */
export function roundEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r === 0 ? x * 0 : r;
}

/** float → int32 with truncation, NaN → 0 and saturation at the int32 range. */
export function f2i(x: number): number {
  if (Number.isNaN(x)) return 0;
  return x >= 2147483647 ? 2147483647 : x <= -2147483648 ? -2147483648 : Math.trunc(x) | 0;
}
/** float → uint32 with truncation, NaN and negatives → 0, saturation at 2³²−1. */
export function f2u(x: number): number {
  if (!(x > 0)) return 0;
  return x >= 4294967295 ? 4294967295 : Math.trunc(x) >>> 0;
}
export function f2bits(x: number): number {
  f32[0] = x;
  return u32[0];
}
export function bits2f(x: number): number {
  u32[0] = x;
  return f32[0];
}
/** Integer power by squaring with int32 wrap (negative exponents give 0 unless |a| = 1, as in XLA). */
export function ipow(a: number, b: number): number {
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 ? -1 : 1) : 0;
  let r = 1;
  while (b > 0) {
    if (b & 1) r = Math.imul(r, a);
    a = Math.imul(a, a);
    b >>>= 1;
  }
  return r;
}
/** Integer division truncating toward zero; x/0 is all ones (−1, or 2³²−1 once wrapped), as in XLA. */
export function idiv(a: number, b: number): number {
  return b === 0 ? -1 : Math.trunc(a / b);
}
/** Integer remainder with the dividend's sign; x%0 is x, as in XLA. */
export function irem(a: number, b: number): number {
  return b === 0 ? a : a % b;
}
/** Shifts with XLA semantics: a shift by ≥ 32 (as unsigned) gives 0 (or the sign fill for arithmetic). */
export function shl(a: number, b: number): number {
  return b >>> 0 >= 32 ? 0 : a << b;
}
export function shrl(a: number, b: number): number {
  return b >>> 0 >= 32 ? 0 : a >>> b;
}
export function shra(a: number, b: number): number {
  return b >>> 0 >= 32 ? (a | 0) >> 31 : (a | 0) >> b;
}

export const jsMath = { erf, erfinv, sigmoid, roundEven, f2i, f2u, f2bits, bits2f, ipow, idiv, irem, shl, shrl, shra };
export type JsMath = typeof jsMath;
