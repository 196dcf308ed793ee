/**
 * Stable ascending sorts along the last axis of a (rows, n) row-major array,
 * with NumPy / JAX ordering: NaNs last, -0 and +0 compare equal (their
 * relative order is preserved).
 *
 * Values-only sorts use the native numeric typed-array sort plus an O(n)
 * fix-up of the signed-zero run; index sorts use a bottom-up merge sort over
 * Int32Array index buffers (insertion sort for short runs).
 */

import type { TypedArray } from '../../dtype.js';

/** Length of runs sorted by insertion sort before merging. */
const RUN = 32;

function isFloatArray(a: TypedArray): boolean {
  return a instanceof Float32Array || (a as unknown) instanceof Float64Array;
}

/**
 * Stable merge sort of idx[0, len) by key[idx[i]] (no NaNs in the keys).
 * `tmp` must have length >= len.
 */
function mergeSortIdx(key: Float64Array, idx: Int32Array, tmp: Int32Array, len: number): void {
  for (let s = 0; s < len; s += RUN) {
    const e = Math.min(s + RUN, len);
    for (let i = s + 1; i < e; i++) {
      const id = idx[i];
      const kv = key[id];
      let j = i - 1;
      while (j >= s && key[idx[j]] > kv) { idx[j + 1] = idx[j]; j--; }
      idx[j + 1] = id;
    }
  }
  let src = idx;
  let dst = tmp;
  for (let width = RUN; width < len; width *= 2) {
    for (let lo = 0; lo < len; lo += 2 * width) {
      const mid = Math.min(lo + width, len);
      const hi = Math.min(lo + 2 * width, len);
      if (mid >= hi || key[src[mid - 1]] <= key[src[mid]]) {
        for (let i = lo; i < hi; i++) dst[i] = src[i];
        continue;
      }
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        // Take from the left run on ties: keeps the sort stable.
        if (key[src[j]] < key[src[i]]) dst[k++] = src[j++];
        else dst[k++] = src[i++];
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    const t = src; src = dst; dst = t;
  }
  if (src !== idx) idx.set(src.subarray(0, len));
}

/**
 * Writes the stable sorting permutation of data[base, base+n) into perm[0, n),
 * NaNs last. `key` and `tmp` are scratch buffers of length >= n.
 */
function argsortRow(
  data: TypedArray, base: number, n: number, float: boolean,
  perm: Int32Array, key: Float64Array, tmp: Int32Array,
): void {
  let len = 0;
  if (float) {
    // Non-NaN indices first (in order), then NaN indices (in order).
    let nan = 0;
    for (let i = 0; i < n; i++) {
      const v = data[base + i];
      key[i] = v;
      if (v !== v) nan++;
      else perm[len++] = i;
    }
    if (nan > 0) {
      let k = len;
      for (let i = 0; i < n; i++) if (key[i] !== key[i]) perm[k++] = i;
    }
  } else {
    for (let i = 0; i < n; i++) { key[i] = data[base + i]; perm[i] = i; }
    len = n;
  }
  mergeSortIdx(key, perm, tmp, len);
}

/**
 * Sorts each row of `data` (rows, n) ascending into `out` (may alias data).
 * Stable: equal values keep their order, which is observable for -0 / +0.
 */
export function sortRows(data: TypedArray, rows: number, n: number, out: TypedArray): void {
  if (rows <= 0 || n <= 0) return;
  const float = isFloatArray(data) && isFloatArray(out);
  const signs = float ? new Uint8Array(n) : null;
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let nz = 0;
    let negZero = 0;
    if (signs !== null) {
      // Record the sign pattern of zeros (in input order) before sorting.
      for (let i = 0; i < n; i++) {
        const v = data[base + i];
        if (v === 0) {
          const neg = 1 / v < 0 ? 1 : 0;
          signs[nz++] = neg;
          negZero += neg;
        }
      }
    }
    if (out !== data) {
      for (let i = 0; i < n; i++) out[base + i] = data[base + i];
    }
    const row = out.subarray(base, base + n);
    row.sort();
    if (signs !== null && negZero > 0 && negZero < nz) {
      // Native sort puts -0 before +0; restore input order within the zero run.
      let lo = 0, hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (row[mid] < 0) lo = mid + 1;
        else hi = mid;
      }
      for (let i = 0; i < nz; i++) row[lo + i] = signs[i] ? -0 : 0;
    }
  }
}

/** Writes into outIdx (rows, n) the stable ascending argsort of each row, NaNs last. */
export function argsortRows(data: TypedArray, rows: number, n: number, outIdx: Int32Array): void {
  if (rows <= 0 || n <= 0) return;
  const float = isFloatArray(data);
  const key = new Float64Array(n);
  const tmp = new Int32Array(n);
  const perm = new Int32Array(n);
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    argsortRow(data, base, n, float, perm, key, tmp);
    outIdx.set(perm, base);
  }
}

/**
 * Sorts each row of `keys` (rows, n) stably ascending (NaNs last), writing
 * the sorted keys to outKeys and the correspondingly permuted `vals` to
 * outVals. Outputs may alias their inputs.
 */
export function sortKeyVal(
  keys: TypedArray, vals: TypedArray, rows: number, n: number,
  outKeys: TypedArray, outVals: TypedArray,
): void {
  if (rows <= 0 || n <= 0) return;
  const float = isFloatArray(keys);
  const key = new Float64Array(n);
  const tmp = new Int32Array(n);
  const perm = new Int32Array(n);
  const vbuf = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    argsortRow(keys, base, n, float, perm, key, tmp);
    // key holds the row's keys; buffer vals so the outputs may alias inputs.
    for (let i = 0; i < n; i++) vbuf[i] = vals[base + i];
    for (let i = 0; i < n; i++) {
      const p = perm[i];
      outKeys[base + i] = key[p];
      outVals[base + i] = vbuf[p];
    }
  }
}
