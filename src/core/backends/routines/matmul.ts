/**
 * Batched matrix multiplication over contiguous row-major typed arrays.
 *
 * out[b] = a[b] @ b[b] with a: (batch, m, k), b: (batch, k, n), out: (batch, m, n).
 * Float outputs accumulate in doubles over the whole k extent (per output
 * tile) and round once on store. Integer outputs wrap like int32 arithmetic
 * (two's complement, mod 2^32), then the store narrows to the output type.
 */

import type { TypedArray } from '../../dtype.js';

/** Rows of a per output tile. */
const TM = 32;
/** Reduction (k) extent per tile. */
const TK = 128;
/** Columns of b / out per tile (innermost loop length). */
const TN = 128;

/**
 * Batched matmul. `aBatchStride` / `bBatchStride` are the element offsets
 * between consecutive batch items of a / b; 0 broadcasts one matrix over the
 * batch. `out` is always dense with stride m*n and is fully overwritten.
 */
export function matmul(
  a: TypedArray,
  b: TypedArray,
  out: TypedArray,
  batch: number,
  m: number,
  k: number,
  n: number,
  aBatchStride: number,
  bBatchStride: number,
): void {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  if (out.length < batch * m * n) {
    throw new Error(`matmul: output buffer too small (${out.length} < ${batch * m * n})`);
  }
  if (k <= 0) {
    out.fill(0, 0, batch * m * n);
    return;
  }
  const isFloat = out instanceof Float32Array || (out as unknown) instanceof Float64Array;
  if (isFloat) {
    if (n === 1) matvecFloat(a, b, out, batch, m, k, aBatchStride, bBatchStride);
    else matmulFloat(a, b, out, batch, m, k, n, aBatchStride, bBatchStride);
  } else {
    matmulInt(a, b, out, batch, m, k, n, aBatchStride, bBatchStride);
  }
}

/** Float path: i-k-j order inside (TM x TN) output tiles, double accumulator. */
function matmulFloat(
  a: TypedArray, b: TypedArray, out: TypedArray,
  batch: number, m: number, k: number, n: number,
  aBatchStride: number, bBatchStride: number,
): void {
  const acc = new Float64Array(TM * TN);
  for (let bi = 0; bi < batch; bi++) {
    const aOff = bi * aBatchStride;
    const bOff = bi * bBatchStride;
    const oOff = bi * m * n;
    for (let j0 = 0; j0 < n; j0 += TN) {
      const jn = Math.min(TN, n - j0);
      for (let i0 = 0; i0 < m; i0 += TM) {
        const im = Math.min(TM, m - i0);
        acc.fill(0, 0, im * jn);
        for (let k0 = 0; k0 < k; k0 += TK) {
          const kEnd = Math.min(k, k0 + TK);
          for (let i = 0; i < im; i++) {
            const accRow = i * jn;
            const aRow = aOff + (i0 + i) * k;
            for (let kk = k0; kk < kEnd; kk++) {
              const av = a[aRow + kk];
              const bRow = bOff + kk * n + j0;
              for (let j = 0; j < jn; j++) acc[accRow + j] += av * b[bRow + j];
            }
          }
        }
        for (let i = 0; i < im; i++) {
          const oRow = oOff + (i0 + i) * n + j0;
          const accRow = i * jn;
          for (let j = 0; j < jn; j++) out[oRow + j] = acc[accRow + j];
        }
      }
    }
  }
}

/** Float path for n == 1: contiguous dot products along k. */
function matvecFloat(
  a: TypedArray, b: TypedArray, out: TypedArray,
  batch: number, m: number, k: number,
  aBatchStride: number, bBatchStride: number,
): void {
  for (let bi = 0; bi < batch; bi++) {
    const aOff = bi * aBatchStride;
    const bOff = bi * bBatchStride;
    const oOff = bi * m;
    for (let i = 0; i < m; i++) {
      const aRow = aOff + i * k;
      let s = 0;
      for (let kk = 0; kk < k; kk++) s += a[aRow + kk] * b[bOff + kk];
      out[oOff + i] = s;
    }
  }
}

/** Integer path: same tiling, int32 wrapping multiply-accumulate. */
function matmulInt(
  a: TypedArray, b: TypedArray, out: TypedArray,
  batch: number, m: number, k: number, n: number,
  aBatchStride: number, bBatchStride: number,
): void {
  const acc = new Int32Array(TM * TN);
  for (let bi = 0; bi < batch; bi++) {
    const aOff = bi * aBatchStride;
    const bOff = bi * bBatchStride;
    const oOff = bi * m * n;
    for (let j0 = 0; j0 < n; j0 += TN) {
      const jn = Math.min(TN, n - j0);
      for (let i0 = 0; i0 < m; i0 += TM) {
        const im = Math.min(TM, m - i0);
        acc.fill(0, 0, im * jn);
        for (let k0 = 0; k0 < k; k0 += TK) {
          const kEnd = Math.min(k, k0 + TK);
          for (let i = 0; i < im; i++) {
            const accRow = i * jn;
            const aRow = aOff + (i0 + i) * k;
            for (let kk = k0; kk < kEnd; kk++) {
              const av = a[aRow + kk] | 0;
              const bRow = bOff + kk * n + j0;
              for (let j = 0; j < jn; j++) {
                acc[accRow + j] = (acc[accRow + j] + Math.imul(av, b[bRow + j])) | 0;
              }
            }
          }
        }
        for (let i = 0; i < im; i++) {
          const oRow = oOff + (i0 + i) * n + j0;
          const accRow = i * jn;
          for (let j = 0; j < jn; j++) out[oRow + j] = acc[accRow + j];
        }
      }
    }
  }
}
