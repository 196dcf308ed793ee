/**
 * Threefry-2x32 with 20 rounds: the counter-based block function behind JAX's
 * default PRNG (`threefry2x32`).
 *
 * References:
 * - J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random
 *   numbers: as easy as 1, 2, 3", SC'11 (2011). This is the Random123
 *   Threefry-2x32-20 function (a reduced Threefish block cipher).
 * - JAX `jax/_src/prng.py`: `_threefry2x32_lowering` (the lowering of the
 *   `threefry2x32_p` primitive). Rotations [13, 15, 26, 6] / [17, 29, 16, 24],
 *   key schedule ks = [k0, k1, k0 ^ k1 ^ 0x1BD11BDA], key injection after every
 *   4 rounds with injection counter 1..5 added to the second word.
 *
 * Bit-identical to JAX and to the Random123 known-answer vectors (see
 * test/threefry.test.ts). The counter layouts that JAX builds on top of this
 * block function (split / fold_in / random_bits, partitionable or legacy) are
 * described in scripts/golden/jax-random-spec.md.
 *
 * Arithmetic note: every value is a 32-bit word. The rounds keep words in
 * int32 form (`| 0`), which is the same bit pattern as the uint32 value
 * `(a + b) >>> 0` but stays in V8's small-integer fast path; XOR and shifts are
 * bitwise and therefore sign-agnostic. Results are written into Uint32Arrays,
 * whose stores reduce modulo 2^32, so callers always observe uint32 values.
 */

/** Key-schedule parity constant from Threefish / Random123 (SKEIN_KS_PARITY32). */
export const THREEFRY_KS_PARITY = 0x1bd11bda;

/**
 * Threefry-2x32-20 with a single key applied element-wise to counter pairs
 * `(x0[i], x1[i])`. Returns fresh arrays `[y0, y1]` of the same length.
 *
 * Equivalent to JAX `threefry2x32_p.bind(k0, k1, x0, x1)` with scalar keys.
 * Keys are taken modulo 2^32 (negative numbers are accepted and wrapped).
 */
export function threefry2x32(
  k0: number,
  k1: number,
  x0: Uint32Array,
  x1: Uint32Array,
): [Uint32Array, Uint32Array] {
  const n = x0.length;
  if (x1.length !== n) {
    throw new RangeError(`threefry2x32: counter halves differ in length (${n} vs ${x1.length})`);
  }
  const out0 = new Uint32Array(n);
  const out1 = new Uint32Array(n);

  const ks0 = k0 | 0;
  const ks1 = k1 | 0;
  const ks2 = (ks0 ^ ks1 ^ THREEFRY_KS_PARITY) | 0;
  // Per-injection additive constants for the second word (key word + injection index).
  const i1 = (ks2 + 1) | 0;
  const i2 = (ks0 + 2) | 0;
  const i3 = (ks1 + 3) | 0;
  const i4 = (ks2 + 4) | 0;
  const i5 = (ks0 + 5) | 0;

  for (let i = 0; i < n; i++) {
    let a = (x0[i]! + ks0) | 0;
    let b = (x1[i]! + ks1) | 0;

    // Rounds 1-4: rotations 13, 15, 26, 6.
    a = (a + b) | 0; b = ((b << 13) | (b >>> 19)) ^ a;
    a = (a + b) | 0; b = ((b << 15) | (b >>> 17)) ^ a;
    a = (a + b) | 0; b = ((b << 26) | (b >>> 6)) ^ a;
    a = (a + b) | 0; b = ((b << 6) | (b >>> 26)) ^ a;
    a = (a + ks1) | 0; b = (b + i1) | 0;

    // Rounds 5-8: rotations 17, 29, 16, 24.
    a = (a + b) | 0; b = ((b << 17) | (b >>> 15)) ^ a;
    a = (a + b) | 0; b = ((b << 29) | (b >>> 3)) ^ a;
    a = (a + b) | 0; b = ((b << 16) | (b >>> 16)) ^ a;
    a = (a + b) | 0; b = ((b << 24) | (b >>> 8)) ^ a;
    a = (a + ks2) | 0; b = (b + i2) | 0;

    // Rounds 9-12.
    a = (a + b) | 0; b = ((b << 13) | (b >>> 19)) ^ a;
    a = (a + b) | 0; b = ((b << 15) | (b >>> 17)) ^ a;
    a = (a + b) | 0; b = ((b << 26) | (b >>> 6)) ^ a;
    a = (a + b) | 0; b = ((b << 6) | (b >>> 26)) ^ a;
    a = (a + ks0) | 0; b = (b + i3) | 0;

    // Rounds 13-16.
    a = (a + b) | 0; b = ((b << 17) | (b >>> 15)) ^ a;
    a = (a + b) | 0; b = ((b << 29) | (b >>> 3)) ^ a;
    a = (a + b) | 0; b = ((b << 16) | (b >>> 16)) ^ a;
    a = (a + b) | 0; b = ((b << 24) | (b >>> 8)) ^ a;
    a = (a + ks1) | 0; b = (b + i4) | 0;

    // Rounds 17-20.
    a = (a + b) | 0; b = ((b << 13) | (b >>> 19)) ^ a;
    a = (a + b) | 0; b = ((b << 15) | (b >>> 17)) ^ a;
    a = (a + b) | 0; b = ((b << 26) | (b >>> 6)) ^ a;
    a = (a + b) | 0; b = ((b << 6) | (b >>> 26)) ^ a;
    a = (a + ks2) | 0; b = (b + i5) | 0;

    out0[i] = a;
    out1[i] = b;
  }
  return [out0, out1];
}

/**
 * Threefry-2x32-20 with per-element keys: for every i,
 * `(out0[i], out1[i]) = threefry2x32((k0[i], k1[i]), (x0[i], x1[i]))`.
 *
 * This is the fully broadcast form of JAX `threefry2x32_p` (as produced by
 * vmapping split / fold_in / random_bits over a batch of keys). All six arrays
 * must have the same length. Outputs may alias inputs (each element is read
 * completely before it is written).
 */
export function threefry2x32Keys(
  k0: Uint32Array,
  k1: Uint32Array,
  x0: Uint32Array,
  x1: Uint32Array,
  out0: Uint32Array,
  out1: Uint32Array,
): void {
  const n = x0.length;
  if (k0.length !== n || k1.length !== n || x1.length !== n || out0.length !== n || out1.length !== n) {
    throw new RangeError(
      `threefry2x32Keys: length mismatch (k0=${k0.length}, k1=${k1.length}, x0=${n}, ` +
        `x1=${x1.length}, out0=${out0.length}, out1=${out1.length})`,
    );
  }
  for (let i = 0; i < n; i++) {
    const ks0 = k0[i]! | 0;
    const ks1 = k1[i]! | 0;
    const ks2 = (ks0 ^ ks1 ^ THREEFRY_KS_PARITY) | 0;
    let a = (x0[i]! + ks0) | 0;
    let b = (x1[i]! + ks1) | 0;

    a = (a + b) | 0; b = ((b << 13) | (b >>> 19)) ^ a;
    a = (a + b) | 0; b = ((b << 15) | (b >>> 17)) ^ a;
    a = (a + b) | 0; b = ((b << 26) | (b >>> 6)) ^ a;
    a = (a + b) | 0; b = ((b << 6) | (b >>> 26)) ^ a;
    a = (a + ks1) | 0; b = (b + ks2 + 1) | 0;

    a = (a + b) | 0; b = ((b << 17) | (b >>> 15)) ^ a;
    a = (a + b) | 0; b = ((b << 29) | (b >>> 3)) ^ a;
    a = (a + b) | 0; b = ((b << 16) | (b >>> 16)) ^ a;
    a = (a + b) | 0; b = ((b << 24) | (b >>> 8)) ^ a;
    a = (a + ks2) | 0; b = (b + ks0 + 2) | 0;

    a = (a + b) | 0; b = ((b << 13) | (b >>> 19)) ^ a;
    a = (a + b) | 0; b = ((b << 15) | (b >>> 17)) ^ a;
    a = (a + b) | 0; b = ((b << 26) | (b >>> 6)) ^ a;
    a = (a + b) | 0; b = ((b << 6) | (b >>> 26)) ^ a;
    a = (a + ks0) | 0; b = (b + ks1 + 3) | 0;

    a = (a + b) | 0; b = ((b << 17) | (b >>> 15)) ^ a;
    a = (a + b) | 0; b = ((b << 29) | (b >>> 3)) ^ a;
    a = (a + b) | 0; b = ((b << 16) | (b >>> 16)) ^ a;
    a = (a + b) | 0; b = ((b << 24) | (b >>> 8)) ^ a;
    a = (a + ks1) | 0; b = (b + ks2 + 4) | 0;

    a = (a + b) | 0; b = ((b << 13) | (b >>> 19)) ^ a;
    a = (a + b) | 0; b = ((b << 15) | (b >>> 17)) ^ a;
    a = (a + b) | 0; b = ((b << 26) | (b >>> 6)) ^ a;
    a = (a + b) | 0; b = ((b << 6) | (b >>> 26)) ^ a;
    a = (a + ks2) | 0; b = (b + ks0 + 5) | 0;

    out0[i] = a;
    out1[i] = b;
  }
}
