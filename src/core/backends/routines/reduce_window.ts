/**
 * Windowed reductions (lax.reduce_window with add / max / min) over
 * contiguous row-major typed arrays of any rank.
 *
 * Padding and base-dilation holes hold the init value (0, -inf, +inf; the
 * dtype's min / max for integers), which is the identity of each op, so they
 * are skipped. max / min propagate NaN. Float sums accumulate in doubles;
 * integer sums wrap on store into the output dtype.
 */

import { leadingOffsets, windowRuns, windowTable } from './conv';

type TypedArray = Float32Array | Int32Array | Uint32Array | Uint8Array;

export type ReduceWindowOp = 'sum' | 'max' | 'min';

/** Init value of `op` for arrays like `x`. */
export function reduceWindowInit(x: TypedArray, op: ReduceWindowOp): number {
  if (op === 'sum') return 0;
  const hi = op === 'min';
  if (x instanceof Int32Array) return hi ? 2147483647 : -2147483648;
  if (x instanceof Uint32Array) return hi ? 4294967295 : 0;
  if (x instanceof Uint8Array) return hi ? 255 : 0;
  return hi ? Infinity : -Infinity;
}

/** Output shape of reduceWindow (XLA: 0 when the window exceeds the padded size). */
export function reduceWindowShape(
  shape: readonly number[], windowDims: readonly number[], strides: readonly number[],
  padding: readonly (readonly [number, number])[], baseDilation: readonly number[],
  windowDilation: readonly number[],
): number[] {
  const nd = shape.length;
  if (windowDims.length !== nd || strides.length !== nd || padding.length !== nd ||
      baseDilation.length !== nd || windowDilation.length !== nd) {
    throw new Error(`reduce_window: parameters must each have ${nd} entries for shape [${shape.join(', ')}]`);
  }
  const out: number[] = [];
  for (let d = 0; d < nd; d++) {
    if (!(strides[d] >= 1 && baseDilation[d] >= 1 && windowDilation[d] >= 1 && windowDims[d] >= 0)) {
      throw new Error(`reduce_window: invalid window parameters for dim ${d} of shape [${shape.join(', ')}]`);
    }
    const s = shape[d];
    const dil = s === 0 ? 0 : (s - 1) * baseDilation[d] + 1;
    const padded = dil + padding[d][0] + padding[d][1];
    const w = windowDims[d];
    const dw = w === 0 ? 0 : (w - 1) * windowDilation[d] + 1;
    out.push(padded < dw ? 0 : Math.floor((padded - dw) / strides[d]) + 1);
  }
  return out;
}

/** Applies a windowed sum / max / min; returns a new array of x's type. */
export function reduceWindow(
  x: TypedArray,
  shape: readonly number[],
  op: ReduceWindowOp,
  windowDims: readonly number[],
  strides: readonly number[],
  padding: readonly (readonly [number, number])[],
  baseDilation: readonly number[],
  windowDilation: readonly number[],
): { data: TypedArray; shape: number[] } {
  const outShape = reduceWindowShape(shape, windowDims, strides, padding, baseDilation, windowDilation);
  const Ctor = x.constructor as new (n: number) => TypedArray;
  const total = outShape.reduce((a, b) => a * b, 1);
  const data = new Ctor(total);
  if (total === 0) return { data, shape: outShape };
  const init = reduceWindowInit(x, op);

  // Rank 0 becomes a single dim of size 1 with a unit window.
  let nd = shape.length;
  let inSp: readonly number[] = shape, winSp: readonly number[] = windowDims, outSp = outShape;
  let st = strides, bd = baseDilation, wd = windowDilation;
  let lo = padding.map((p) => p[0]);
  if (nd === 0) {
    nd = 1; inSp = [1]; winSp = [1]; outSp = [1]; st = [1]; bd = [1]; wd = [1]; lo = [0];
  }
  const L = nd - 1;
  const outW = outSp[L];
  const winW = winSp[L];
  const rows = total / outW;
  let lead = 1;
  for (let d = 0; d < L; d++) lead *= winSp[d];
  if (winW === 0) lead = 0;

  const inStrides = new Array<number>(nd);
  for (let d = nd - 1, s = 1; d >= 0; d--) { inStrides[d] = s; s *= inSp[d]; }
  const tables: Int32Array[] = [];
  for (let d = 0; d < L; d++) {
    tables.push(windowTable(outSp[d], inSp[d], winSp[d], st[d], lo[d], bd[d], wd[d]));
  }
  const runs = windowRuns(outW, inSp[L], winW, st[L], lo[L], bd[L], wd[L]);
  const offs = new Int32Array(Math.max(1, lead));
  const scratch = new Int32Array(Math.max(1, lead));
  const pos = new Int32Array(Math.max(1, L));
  const isFloat = x instanceof Float32Array || (x as unknown) instanceof Float64Array;
  const acc: Float64Array | TypedArray = isFloat || op !== 'sum' ? new Float64Array(outW) : new Ctor(outW);

  for (let row = 0; row < rows; row++) {
    leadingOffsets(tables, winSp as number[], inStrides, pos, offs, scratch);
    acc.fill(init);
    for (let q = 0; q < lead; q++) {
      const off = offs[q];
      if (off < 0) continue;
      for (let t = 0; t < winW; t++) {
        const cnt = runs[t * 5 + 2];
        if (cnt === 0) continue;
        const oStep = runs[t * 5 + 1];
        const iStep = runs[t * 5 + 4];
        const o0 = runs[t * 5];
        const i0 = off + runs[t * 5 + 3];
        if (op === 'sum') sumRun(acc, x, o0, oStep, i0, iStep, cnt);
        else if (op === 'max') maxRun(acc, x, o0, oStep, i0, iStep, cnt);
        else minRun(acc, x, o0, oStep, i0, iStep, cnt);
      }
    }
    const outRow = row * outW;
    for (let j = 0; j < outW; j++) data[outRow + j] = acc[j];
    for (let d = L - 1; d >= 0; d--) {
      if (++pos[d] < outSp[d]) break;
      pos[d] = 0;
    }
  }
  return { data, shape: outShape };
}

function sumRun(
  acc: Float64Array | TypedArray, x: TypedArray,
  oi: number, oStep: number, xi: number, xStep: number, cnt: number,
): void {
  for (let c = 0; c < cnt; c++) { acc[oi] += x[xi]; oi += oStep; xi += xStep; }
}

function maxRun(
  acc: Float64Array | TypedArray, x: TypedArray,
  oi: number, oStep: number, xi: number, xStep: number, cnt: number,
): void {
  for (let c = 0; c < cnt; c++) {
    const v = x[xi];
    if (v > acc[oi] || v !== v) acc[oi] = v;
    oi += oStep; xi += xStep;
  }
}

function minRun(
  acc: Float64Array | TypedArray, x: TypedArray,
  oi: number, oStep: number, xi: number, xStep: number, cnt: number,
): void {
  for (let c = 0; c < cnt; c++) {
    const v = x[xi];
    if (v < acc[oi] || v !== v) acc[oi] = v;
    oi += oStep; xi += xStep;
  }
}
