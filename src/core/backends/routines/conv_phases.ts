/**
 * Input-dilated (transposed) convolutions as dense ones: the polyphase decomposition. With lhs
 * dilation d and window stride 1 in a spatial dim, output position o = φ + d·m (phase
 * φ ∈ [0, d)) reads dilated-input position φ + d·m + k·r − lo through tap k (rhs dilation r,
 * low padding lo): an input element only where φ + k·r − lo ≡ 0 (mod d), that is for the taps
 * k ≡ k₀ (mod d/g), g = gcd(r, d) — none where g does not divide lo − φ — and then the
 * element m + (φ + k·r − lo)/d. So the outputs of phase φ are a convolution without lhs
 * dilation of the same input by the sub-kernel of those taps: window ⌈(win − k₀)/(d/g)⌉, rhs
 * dilation r/g, low padding −(φ + k₀·r − lo)/d and the high padding that gives its
 * ⌈(out − φ)/d⌉ outputs. Across spatial dims the phases combine (∏d of them).
 *
 * The holes — all but 1/∏d of the direct form's products, 3/4 for the input gradient of a
 * stride-2 2-D convolution — are never multiplied. Each output's sum runs over the remaining
 * taps in the same order, and the terms skipped are exact zeros (x = 0 at a hole, so ±0),
 * which leave a sum unchanged: the results are those of the direct form, bit for bit.
 */

/** The taps of one spatial dim a phase uses: first, first + step, … (count of them; 0: none). */
export interface PhaseTaps {
  readonly first: number;
  readonly step: number;
  readonly count: number;
}

/** One phase: its outputs (per dim, positions first + step·m for m < outSp) and its dense sub-convolution. */
export interface ConvPhase {
  readonly first: readonly number[];
  readonly step: readonly number[];
  readonly outSp: readonly number[];
  /** Per dim the kernel taps used; a dim with count 0 makes every output of the phase 0. */
  readonly taps: readonly PhaseTaps[];
  /** The sub-convolution's padding and rhs dilation (window stride 1, no lhs dilation). */
  readonly padding: readonly [number, number][];
  readonly rhsDilation: readonly number[];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const mod = (a: number, m: number) => ((a % m) + m) % m;

/** One spatial dim's phases: [phase, outputs, taps, padding, rhs dilation] for each φ < min(d, out). */
function dimPhases(inSize: number, win: number, out: number, [lo]: readonly [number, number], d: number, r: number) {
  const g = gcd(r, d), stepK = d / g;
  return Array.from({ length: Math.min(d, out) }, (_, phi) => {
    const M = Math.ceil((out - phi) / d);
    let k0 = -1;
    for (let k = 0; k < Math.min(win, stepK); k++) if (mod(phi + k * r - lo, d) === 0) (k0 = k), (k = win);
    const count = k0 < 0 ? 0 : Math.ceil((win - k0) / stepK);
    const rd = r / g;
    const padLo = count === 0 ? 0 : -(phi + k0 * r - lo) / d;
    const padHi = count === 0 ? 0 : M - inSize - padLo + (count - 1) * rd;
    return { phi, M, taps: { first: Math.max(k0, 0), step: stepK, count }, padding: [padLo, padHi] as [number, number], rd };
  });
}

/**
 * The phases of a convolution with lhs dilation and window stride 1 in every spatial dim (see
 * the file comment), or null where the decomposition does not apply (a window stride above 1,
 * or no lhs dilation above 1).
 */
export function convPhases(
  inSp: readonly number[],
  winSp: readonly number[],
  outSp: readonly number[],
  strides: readonly number[],
  padding: readonly (readonly [number, number])[],
  lhsDil: readonly number[],
  rhsDil: readonly number[],
): ConvPhase[] | null {
  if (strides.some((s) => s !== 1) || lhsDil.every((d) => d === 1)) return null;
  const dims = inSp.map((n, i) => dimPhases(n, winSp[i], outSp[i], padding[i], lhsDil[i], rhsDil[i]));
  let phases: ConvPhase[] = [{ first: [], step: [], outSp: [], taps: [], padding: [], rhsDilation: [] }];
  dims.forEach((ps, i) => {
    phases = phases.flatMap((ph) =>
      ps.map((q) => ({
        first: [...ph.first, q.phi], step: [...ph.step, lhsDil[i]], outSp: [...ph.outSp, q.M], taps: [...ph.taps, q.taps],
        padding: [...ph.padding, q.padding], rhsDilation: [...ph.rhsDilation, q.rd],
      })),
    );
  });
  return phases;
}

/**
 * Row-major flat indices in `shape` of the points first + step·m, m over `counts` (per dim): a
 * phase's output positions, or the kernel taps of its sub-kernel.
 */
export function gridIndices(shape: readonly number[], first: readonly number[], step: readonly number[], counts: readonly number[]): Int32Array {
  let idx = Int32Array.of(0);
  shape.forEach((n, d) => {
    const next = new Int32Array(idx.length * counts[d]);
    for (let i = 0; i < idx.length; i++) for (let m = 0; m < counts[d]; m++) next[i * counts[d] + m] = idx[i] * n + first[d] + step[d] * m;
    idx = next;
  });
  return idx;
}
