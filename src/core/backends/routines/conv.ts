/**
 * General dilated convolution (XLA ConvGeneralDilated semantics) in canonical
 * layout: lhs (N, C, ...spatial), rhs (O, C / featureGroups, ...window),
 * out (N / batchGroups, O, ...outSpatial), for any number of spatial dims.
 *
 * Direct convolution: for each (batch, output feature, output row) a row of
 * accumulators over the last output dim is updated by strided runs over the
 * input, so the innermost loop walks contiguous output memory. Padding and
 * lhs-dilation holes contribute nothing (they are skipped, not multiplied).
 * Float outputs accumulate in doubles; integer outputs wrap like int32.
 */

import { ShapeError, fmtShape } from '../../errors.js';
import type { TypedArray } from '../../dtype.js';

/** Convolution parameters; omitted fields take their identity defaults. */
export interface ConvParams {
  /** Output stride per spatial dim (default 1). */
  windowStrides?: number[];
  /** [lo, hi] padding per spatial dim, may be negative (default [0, 0]). */
  padding?: [number, number][];
  /** Input (base) dilation per spatial dim, transposed-conv style (default 1). */
  lhsDilation?: number[];
  /** Kernel (window) dilation per spatial dim, atrous (default 1). */
  rhsDilation?: number[];
  /** Number of feature groups (default 1). */
  featureGroupCount?: number;
  /** Number of batch groups (default 1). */
  batchGroupCount?: number;
}

interface Resolved {
  nd: number;
  strides: number[];
  pad: [number, number][];
  lhsDil: number[];
  rhsDil: number[];
  fgc: number;
  bgc: number;
  outShape: number[];
}

function fail(lhsShape: readonly number[], rhsShape: readonly number[], why: string): never {
  throw new ShapeError(`conv_general_dilated: ${why} (lhs shape ${fmtShape(lhsShape)}, rhs shape ${fmtShape(rhsShape)})`);
}

function isPosInt(v: number): boolean {
  return Number.isInteger(v) && v >= 1;
}

function resolve(lhsShape: readonly number[], rhsShape: readonly number[], p: ConvParams): Resolved {
  if (lhsShape.length < 2 || rhsShape.length !== lhsShape.length) {
    fail(lhsShape, rhsShape, 'lhs and rhs must have the same rank >= 2');
  }
  const nd = lhsShape.length - 2;
  const strides = p.windowStrides ?? new Array<number>(nd).fill(1);
  const pad = p.padding ?? Array.from({ length: nd }, (): [number, number] => [0, 0]);
  const lhsDil = p.lhsDilation ?? new Array<number>(nd).fill(1);
  const rhsDil = p.rhsDilation ?? new Array<number>(nd).fill(1);
  const fgc = p.featureGroupCount ?? 1;
  const bgc = p.batchGroupCount ?? 1;
  if (strides.length !== nd || pad.length !== nd || lhsDil.length !== nd || rhsDil.length !== nd) {
    fail(lhsShape, rhsShape, `strides, padding and dilations must each have ${nd} entries`);
  }
  for (let d = 0; d < nd; d++) {
    if (!isPosInt(strides[d]) || !isPosInt(lhsDil[d]) || !isPosInt(rhsDil[d])) {
      fail(lhsShape, rhsShape, 'strides and dilations must be positive integers');
    }
    if (!Number.isInteger(pad[d][0]) || !Number.isInteger(pad[d][1])) {
      fail(lhsShape, rhsShape, 'padding must be integers');
    }
  }
  if (!isPosInt(fgc) || !isPosInt(bgc)) {
    fail(lhsShape, rhsShape, 'featureGroupCount and batchGroupCount must be positive integers');
  }
  if (fgc > 1 && bgc > 1) {
    fail(lhsShape, rhsShape, 'at most one of featureGroupCount and batchGroupCount may be > 1');
  }
  const [N, C] = lhsShape;
  const [O, I] = rhsShape;
  if (C % fgc !== 0) {
    fail(lhsShape, rhsShape, `input feature count ${C} not divisible by featureGroupCount ${fgc}`);
  }
  if (C / fgc !== I) {
    fail(lhsShape, rhsShape,
      `channel mismatch: lhs features ${C} / featureGroupCount ${fgc} != rhs input features ${I}`);
  }
  if (O % fgc !== 0) {
    fail(lhsShape, rhsShape, `output feature count ${O} not divisible by featureGroupCount ${fgc}`);
  }
  if (N % bgc !== 0) {
    fail(lhsShape, rhsShape, `batch size ${N} not divisible by batchGroupCount ${bgc}`);
  }
  if (O % bgc !== 0) {
    fail(lhsShape, rhsShape, `output feature count ${O} not divisible by batchGroupCount ${bgc}`);
  }
  const outShape = [N / bgc, O];
  for (let d = 0; d < nd; d++) {
    const inS = lhsShape[d + 2];
    const w = rhsShape[d + 2];
    const dilIn = inS === 0 ? 0 : (inS - 1) * lhsDil[d] + 1;
    const padded = dilIn + pad[d][0] + pad[d][1];
    if (padded < 0) {
      fail(lhsShape, rhsShape, `negative padded size ${padded} in spatial dim ${d}`);
    }
    const dilW = w === 0 ? 0 : (w - 1) * rhsDil[d] + 1;
    outShape.push(padded < dilW ? 0 : Math.floor((padded - dilW) / strides[d]) + 1);
  }
  return { nd, strides, pad, lhsDil, rhsDil, fgc, bgc, outShape };
}

/** Output shape of a convolution; throws `conv_general_dilated: ...` if invalid. */
export function convOutputShape(
  lhsShape: readonly number[],
  rhsShape: readonly number[],
  params: ConvParams,
): number[] {
  return resolve(lhsShape, rhsShape, params).outShape;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Per window tap of one dim, the strided run of valid output positions:
 * 5 ints per tap: [outStart, outStep, count, inStart, inStep].
 * Output o reads input (o*stride + tap*wDil - lo) / bDil when that is an
 * integer inside [0, inSize).
 */
export function windowRuns(
  outSize: number, inSize: number, win: number,
  stride: number, lo: number, bDil: number, wDil: number,
): Int32Array {
  const runs = new Int32Array(win * 5);
  const period = bDil / gcd(stride, bDil);
  const dp = period * stride;
  const pMax = (inSize - 1) * bDil;
  for (let t = 0; t < win; t++) {
    const off = t * wDil - lo;
    let o0 = -1;
    const lim = Math.min(period, outSize);
    for (let o = 0; o < lim; o++) {
      const p = o * stride + off;
      if (((p % bDil) + bDil) % bDil === 0) { o0 = o; break; }
    }
    if (o0 < 0 || inSize <= 0) continue;
    const p0 = o0 * stride + off;
    const tLo = p0 < 0 ? Math.ceil(-p0 / dp) : 0;
    const tHi = Math.min(Math.floor((pMax - p0) / dp), Math.floor((outSize - 1 - o0) / period));
    if (tHi < tLo) continue;
    runs[t * 5] = o0 + tLo * period;
    runs[t * 5 + 1] = period;
    runs[t * 5 + 2] = tHi - tLo + 1;
    runs[t * 5 + 3] = (p0 + tLo * dp) / bDil;
    runs[t * 5 + 4] = dp / bDil;
  }
  return runs;
}

/** Input index per (output position, tap) of one dim, or -1 for padding/holes. */
export function windowTable(
  outSize: number, inSize: number, win: number,
  stride: number, lo: number, bDil: number, wDil: number,
): Int32Array {
  const tab = new Int32Array(outSize * win);
  for (let o = 0; o < outSize; o++) {
    for (let t = 0; t < win; t++) {
      const p = o * stride + t * wDil - lo;
      const ok = p >= 0 && p % bDil === 0 && p / bDil < inSize;
      tab[o * win + t] = ok ? p / bDil : -1;
    }
  }
  return tab;
}

/**
 * Fills `offs` (length = product of `wins`) with the input offset for every
 * combination of taps over the leading dims, given output position `pos`,
 * or -1 when any tap falls into padding or a dilation hole.
 */
export function leadingOffsets(
  tables: Int32Array[], wins: number[], inStrides: number[], pos: Int32Array,
  offs: Int32Array, scratch: Int32Array,
): void {
  let len = 1;
  offs[0] = 0;
  let src = offs;
  let dst = scratch;
  for (let d = 0; d < tables.length; d++) {
    const w = wins[d];
    const tab = tables[d];
    const row = pos[d] * w;
    const st = inStrides[d];
    let k = 0;
    for (let i = 0; i < len; i++) {
      const base = src[i];
      for (let t = 0; t < w; t++) {
        const idx = tab[row + t];
        dst[k++] = base < 0 || idx < 0 ? -1 : base + idx * st;
      }
    }
    len = k;
    const tmp = src; src = dst; dst = tmp;
  }
  if (src !== offs) offs.set(src.subarray(0, len));
}

/**
 * Computes the convolution. `out` (length = product of the output shape) is
 * fully overwritten; when omitted it is allocated with lhs's element type.
 */
export function convGeneralDilated(
  lhs: TypedArray,
  lhsShape: readonly number[],
  rhs: TypedArray,
  rhsShape: readonly number[],
  params: ConvParams,
  out?: TypedArray,
): { data: TypedArray; shape: number[] } {
  const r = resolve(lhsShape, rhsShape, params);
  let nd = r.nd;
  const outShape = r.outShape;
  const total = outShape.reduce((x, y) => x * y, 1);
  const Ctor = lhs.constructor as new (n: number) => TypedArray;
  const data = out ?? new Ctor(total);
  if (data.length < total) {
    fail(lhsShape, rhsShape, `output buffer too small (${data.length} < ${total})`);
  }
  if (total === 0) return { data, shape: outShape };

  // Spatial description; a 0-d conv gets a dummy trailing dim of size 1.
  let inSp = lhsShape.slice(2);
  let winSp = rhsShape.slice(2);
  let outSp = outShape.slice(2);
  let strides = r.strides, lhsDil = r.lhsDil, rhsDil = r.rhsDil;
  let padLo = r.pad.map((p) => p[0]);
  if (nd === 0) {
    nd = 1; inSp = [1]; winSp = [1]; outSp = [1];
    strides = [1]; lhsDil = [1]; rhsDil = [1]; padLo = [0];
  }
  const L = nd - 1;
  const [N, C] = lhsShape;
  const [O, I] = rhsShape;
  const inSize = inSp.reduce((x, y) => x * y, 1);
  const winSize = winSp.reduce((x, y) => x * y, 1);
  const outSize = outSp.reduce((x, y) => x * y, 1);
  const outW = outSp[L];
  const winW = winSp[L];
  const rowsOut = outSize / outW;
  const lead = winSize / (winW || 1);

  const inStrides = new Array<number>(nd);
  for (let d = nd - 1, s = 1; d >= 0; d--) { inStrides[d] = s; s *= inSp[d]; }
  const tables: Int32Array[] = [];
  for (let d = 0; d < L; d++) {
    tables.push(windowTable(outSp[d], inSp[d], winSp[d], strides[d], padLo[d], lhsDil[d], rhsDil[d]));
  }
  const runs = windowRuns(outW, inSp[L], winW, strides[L], padLo[L], lhsDil[L], rhsDil[L]);
  const offs = new Int32Array(Math.max(1, lead));
  const scratch = new Int32Array(Math.max(1, lead));
  const pos = new Int32Array(Math.max(1, L));

  const isFloat = data instanceof Float32Array || (data as unknown) instanceof Float64Array;
  const acc: Float64Array | Int32Array = isFloat ? new Float64Array(outW) : new Int32Array(outW);
  const nOut = N / r.bgc;
  const oPerFg = O / r.fgc;
  const oPerBg = O / r.bgc;
  const nPerBg = N / r.bgc;

  for (let nb = 0; nb < nOut; nb++) {
    for (let o = 0; o < O; o++) {
      const cBase = Math.floor(o / oPerFg) * I;
      const nIn = nb + Math.floor(o / oPerBg) * nPerBg;
      const lhsBatch = (nIn * C + cBase) * inSize;
      const rhsBase = o * I * winSize;
      const outBase = (nb * O + o) * outSize;
      pos.fill(0);
      for (let row = 0; row < rowsOut; row++) {
        leadingOffsets(tables, winSp, inStrides, pos, offs, scratch);
        acc.fill(0);
        for (let ci = 0; ci < I; ci++) {
          const lhsPlane = lhsBatch + ci * inSize;
          const rhsPlane = rhsBase + ci * winSize;
          for (let q = 0; q < lead; q++) {
            const off = offs[q];
            if (off < 0) continue;
            const inRow = lhsPlane + off;
            const wRow = rhsPlane + q * winW;
            if (isFloat) accumulateFloat(acc, lhs, rhs, runs, winW, inRow, wRow);
            else accumulateInt(acc as Int32Array, lhs, rhs, runs, winW, inRow, wRow);
          }
        }
        const outRow = outBase + row * outW;
        for (let j = 0; j < outW; j++) data[outRow + j] = acc[j];
        for (let d = L - 1; d >= 0; d--) {
          if (++pos[d] < outSp[d]) break;
          pos[d] = 0;
        }
      }
    }
  }
  return { data, shape: outShape };
}

/** acc[outStart + t*outStep] += w * lhs[inRow + inStart + t*inStep] for each tap. */
function accumulateFloat(
  acc: Float64Array | Int32Array, lhs: TypedArray, rhs: TypedArray, runs: Int32Array,
  winW: number, inRow: number, wRow: number,
): void {
  for (let t = 0; t < winW; t++) {
    const cnt = runs[t * 5 + 2];
    if (cnt === 0) continue;
    const w = rhs[wRow + t];
    const oStep = runs[t * 5 + 1];
    const iStep = runs[t * 5 + 4];
    let oi = runs[t * 5];
    let li = inRow + runs[t * 5 + 3];
    if (oStep === 1 && iStep === 1) {
      for (let c = 0; c < cnt; c++) acc[oi + c] += w * lhs[li + c];
    } else {
      for (let c = 0; c < cnt; c++) { acc[oi] += w * lhs[li]; oi += oStep; li += iStep; }
    }
  }
}

/** Integer variant of accumulateFloat with int32 wrapping. */
function accumulateInt(
  acc: Int32Array, lhs: TypedArray, rhs: TypedArray, runs: Int32Array,
  winW: number, inRow: number, wRow: number,
): void {
  for (let t = 0; t < winW; t++) {
    const cnt = runs[t * 5 + 2];
    if (cnt === 0) continue;
    const w = rhs[wRow + t] | 0;
    const oStep = runs[t * 5 + 1];
    const iStep = runs[t * 5 + 4];
    let oi = runs[t * 5];
    let li = inRow + runs[t * 5 + 3];
    for (let c = 0; c < cnt; c++) {
      acc[oi] = (acc[oi] + Math.imul(w, lhs[li])) | 0;
      oi += oStep; li += iStep;
    }
  }
}
