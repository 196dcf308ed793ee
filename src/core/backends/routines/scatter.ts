/**
 * Scatter-add along one axis: the transpose of `take`. In an (outer, n, inner) layout,
 * out = operand; out[o, idx[j], i] += updates[o, j, i] for each of the m indices j.
 * Indices follow `take`'s convention: negative ones count from the end, the rest are clamped.
 */
import type { TypedArray } from '../../dtype.js';

export function scatterAdd(
  operand: TypedArray,
  indices: Int32Array,
  updates: TypedArray,
  outer: number,
  n: number,
  m: number,
  inner: number,
  out: TypedArray,
): void {
  if (out !== operand) out.set(operand);
  const int = !(out instanceof Float32Array);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      let t = indices[j];
      if (t < 0) t += n;
      t = t < 0 ? 0 : t >= n ? n - 1 : t;
      const dst = (o * n + t) * inner;
      const src = (o * m + j) * inner;
      if (int) for (let i = 0; i < inner; i++) out[dst + i] = (out[dst + i] + updates[src + i]) | 0;
      else for (let i = 0; i < inner; i++) out[dst + i] += updates[src + i];
    }
  }
}
