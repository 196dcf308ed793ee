/**
 * Contractions: `dot_general` (every matmul, einsum and attention product) and
 * `conv_general_dilated` (every convolution, transposed convolution and their gradients).
 * Both are backend routines: operands are permuted into the routine's canonical layout.
 *
 * Both primitives are bilinear, so their jvp is f(ȧ, b) + f(a, ḃ) and each operand has a
 * transpose (the other held fixed). Transposes and batching rules follow JAX's
 * (jax/_src/lax/lax.py `_dot_general_transpose_lhs/rhs`, `_dot_general_batch_dim_nums`;
 * jax/_src/lax/convolution.py `_conv_general_dilated_transpose_lhs/rhs`,
 * `_conv_general_dilated_batch_rule`).
 */
import { ShapedArray } from '../aval.js';
import type { NDArray } from '../array.js';
import { convOutputShape } from '../backends/routines/conv.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import * as lax from '../lax.js';
import { prod, shapeEq } from '../shape.js';
import { bind1 } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { bilinearJvp, isZero, zerosOf } from './ad_util.js';
import { UndefinedPrimal, Zero, type BatchDim, type RuleTable, type Tangent, type TransformRules } from './rules.js';
import { invertPerm, permuted, reshaped, runRoutine } from './routine.js';

export interface DotDimensionNumbers {
  /** [lhs contracting dims, rhs contracting dims] */
  readonly contracting: readonly [readonly number[], readonly number[]];
  /** [lhs batch dims, rhs batch dims] */
  readonly batch: readonly [readonly number[], readonly number[]];
}

/** JAX's ConvDimensionNumbers as axis lists: lhs (batch, feature, spatial…), rhs (out feature, in feature, spatial…), out (batch, feature, spatial…). */
export interface ConvDimensionNumbers {
  readonly lhsSpec: readonly number[];
  readonly rhsSpec: readonly number[];
  readonly outSpec: readonly number[];
}

export interface ConvParams {
  windowStrides: readonly number[];
  padding: readonly (readonly [number, number])[];
  lhsDilation: readonly number[];
  rhsDilation: readonly number[];
  dimensionNumbers: ConvDimensionNumbers;
  featureGroupCount: number;
  batchGroupCount: number;
}

declare module '../trace/primitive.js' {
  interface PrimParams {
    dot_general: { dimensionNumbers: DotDimensionNumbers };
    conv_general_dilated: ConvParams;
  }
}

function freeDims(ndim: number, used: readonly number[]): number[] {
  return [...Array(ndim).keys()].filter((d) => !used.includes(d));
}

function checkNumericPair(op: string, a: ShapedArray, b: ShapedArray): void {
  if (a.dtype !== b.dtype) throw new DTypeError(`${op}: operand dtypes must be equal, got ${a.dtype} and ${b.dtype}`);
  if (a.dtype === 'bool') throw new DTypeError(`${op}: bool operands are not supported; cast to a numeric dtype first`);
}

// ------------------------------------------------------------------ shared helpers

type ContractPrim = 'dot_general' | 'conv_general_dilated';

/** Which operand of a bilinear primitive is linear; both being linear is an error (the product is not linear). */
function linearOperand(op: string, args: readonly (Value | UndefinedPrimal)[]): 0 | 1 {
  const [a, b] = args.map((x) => x instanceof UndefinedPrimal);
  if (a && b) throw new ValueError(`transpose of ${op}: both operands are linear (the product is not linear in the pair)`);
  if (!a && !b) throw new ValueError(`transpose of ${op}: neither operand is linear`);
  return a ? 0 : 1;
}

const range = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i);
const argsort = (xs: readonly number[]): number[] => xs.map((_, i) => i).sort((i, j) => xs[i] - xs[j]);
const isIdentity = (perm: readonly number[]): boolean => perm.every((p, i) => p === i);

function permute(x: Value, perm: readonly number[]): Value {
  return isIdentity(perm) ? x : lax.transpose(x, perm);
}
function reshapeTo(x: Value, shape: readonly number[]): Value {
  return shapeEq(x.shape, shape) ? x : lax.reshape(x, shape);
}
/**
 * Merge axis `src` into axis `dst` (numbered after `src` is removed), `src` as the major part:
 * JAX's `_reshape_axis_into`.
 */
function reshapeAxisInto(src: number, dst: number, x: Value): Value {
  const perm = range(0, x.ndim).filter((i) => i !== src);
  perm.splice(dst, 0, src);
  const shape = x.shape.filter((_, i) => i !== src);
  shape[dst] *= x.shape[src];
  return reshapeTo(permute(x, perm), shape);
}
/** Split axis `src` into (size1, rest): JAX's `_reshape_axis_out_of`. */
function reshapeAxisOutOf(src: number, size1: number, x: Value): Value {
  const shape = [...x.shape];
  shape.splice(src, 1, size1, x.shape[src] / size1);
  return reshapeTo(x, shape);
}

// ------------------------------------------------------------------ dot_general rules

/**
 * Cotangent of the lhs x of `dot_general(x, y)` (JAX's `_dot_general_transpose_lhs`): contract
 * the cotangent g with y over y's free dims (keeping the batch dims), which leaves
 * (batch, x free, x contracting sorted by y's order), then permute into x's dim order.
 * With `swapAns` the roles are swapped (the rhs transpose): x's free dims come last in g.
 */
function dotTransposeLhs(g: Value, y: Value, xAval: ShapedArray, dn: DotDimensionNumbers, swapAns: boolean): Value {
  const [xc, yc] = dn.contracting, [xb, yb] = dn.batch;
  const xKept = freeDims(xAval.ndim, [...xc, ...xb]);
  const yKept = freeDims(y.ndim, [...yc, ...yb]);
  const nb = xb.length;
  const ansY = swapAns ? range(nb, yKept.length) : range(nb + xKept.length, yKept.length);
  const r = bind1('dot_general', [g, y], { dimensionNumbers: { contracting: [ansY, yKept], batch: [range(0, nb), yb] } });
  const xcSortedByY = argsort(yc).map((i) => xc[i]);
  return permute(r, argsort([...xb, ...xKept, ...xcSortedByY]));
}

const swapDot = (dn: DotDimensionNumbers): DotDimensionNumbers => ({
  contracting: [dn.contracting[1], dn.contracting[0]],
  batch: [dn.batch[1], dn.batch[0]],
});

/**
 * vmap of dot_general (JAX's `_dot_general_batch_dim_nums`): when both operands are batched
 * the batch dims become a new leading dot_general batch dim; when one is, its batch dim is a
 * free dim of that operand, and the output batch dim is wherever dot_general puts it.
 */
function dotBatch(a: Value, b: Value, da: BatchDim, db: BatchDim, dn: DotDimensionNumbers): [Value, number] {
  const bump = (ds: readonly number[], bd: number) => ds.map((d) => (d >= bd ? d + 1 : d));
  const [lc, rc] = dn.contracting, [lb, rb] = dn.batch;
  const dot = (dims: DotDimensionNumbers) => bind1('dot_general', [a, b], { dimensionNumbers: dims });
  if (da !== null && db !== null) {
    const dims: DotDimensionNumbers = { contracting: [bump(lc, da), bump(rc, db)], batch: [[da, ...bump(lb, da)], [db, ...bump(rb, db)]] };
    return [dot(dims), 0];
  }
  if (da !== null) {
    const c = bump(lc, da), bt = bump(lb, da);
    return [dot({ contracting: [c, rc], batch: [bt, rb] }), lb.length + freeDims(a.ndim, [...c, ...bt]).indexOf(da)];
  }
  const c = bump(rc, db!), bt = bump(rb, db!);
  const lhsOut = a.ndim - lc.length; // batch + lhs free dims come first in the output
  return [dot({ contracting: [lc, c], batch: [lb, bt] }), lhsOut + freeDims(b.ndim, [...c, ...bt]).indexOf(db!)];
}

const dotAd: Pick<TransformRules<'dot_general'>, 'jvp' | 'batch' | 'transpose'> = {
  jvp: bilinearJvp('dot_general'),
  transpose: ([ct], args, { dimensionNumbers: dn }) => {
    const which = linearOperand('dot_general', args);
    const lin = args[which] as UndefinedPrimal, other = args[1 - which] as Value;
    const g: Tangent = isZero(ct) ? new Zero(lin.aval) : which === 0 ? dotTransposeLhs(ct, other, lin.aval, dn, false) : dotTransposeLhs(ct, other, lin.aval, swapDot(dn), true);
    return which === 0 ? [g, null] : [null, g];
  },
  batch: ([a, b], [da, db], { dimensionNumbers: dn }) => {
    const [out, d] = dotBatch(a, b, da, db, dn);
    return [[out], [d]];
  },
};

// ------------------------------------------------------------------ conv_general_dilated rules

/** Size of a dim dilated by `r` (r − 1 holes between elements): JAX's `core.dilate_dim`. */
const dilate = (xs: readonly number[], rs: readonly number[]): number[] => xs.map((d, i) => (d === 0 ? 0 : (d - 1) * rs[i] + 1));
const spatial = (spec: readonly number[], shape: readonly number[]): number[] => spec.slice(2).map((d) => shape[d]);
const swapSpec = (spec: readonly number[]): number[] => [spec[1], spec[0], ...spec.slice(2)];

/**
 * Padding of the lhs-cotangent convolution (JAX's `_conv_general_vjp_lhs_padding`): the
 * stride-dilated cotangent, padded by k_d − lo − 1 before, is correlated with the flipped kernel
 * so that the output has exactly the lhs's spatial size (the high side may be negative: a crop).
 */
function vjpLhsPadding(inShape: number[], window: number[], strides: readonly number[], outShape: number[], padding: ConvParams['padding'], lhsDil: readonly number[], rhsDil: readonly number[]): [number, number][] {
  const ld = dilate(inShape, lhsDil), rd = dilate(window, rhsDil), od = dilate(outShape, strides);
  return ld.map((_, i) => {
    const before = rd[i] - padding[i][0] - 1;
    return [before, ld[i] + rd[i] - 1 - od[i] - before];
  });
}

/**
 * Padding of the rhs-cotangent convolution (JAX's `_conv_general_vjp_rhs_padding`): the lhs
 * keeps its low padding; the high padding makes the padded lhs exactly od + kd − 1 long so that
 * correlating with the stride-dilated cotangent yields the kernel's spatial size.
 */
function vjpRhsPadding(inShape: number[], window: number[], strides: readonly number[], outShape: number[], padding: ConvParams['padding'], lhsDil: readonly number[], rhsDil: readonly number[]): [number, number][] {
  const ld = dilate(inShape, lhsDil), rd = dilate(window, rhsDil), od = dilate(outShape, strides);
  return ld.map((_, i) => {
    const lo = padding[i][0];
    return [lo, od[i] - ld[i] + (rd[i] - lo - 1)];
  });
}

const conv = (lhs: Value, rhs: Value, p: ConvParams): Value => bind1('conv_general_dilated', [lhs, rhs], p);

/**
 * Cotangent of the lhs (JAX's `_conv_general_dilated_transpose_lhs`): a convolution of the
 * cotangent with the spatially flipped kernel whose I/O roles are swapped, with the forward
 * window strides as lhs dilation and the forward lhs dilation as strides. With feature groups
 * the group factor moves from the kernel's output features into its input features; batch
 * groups become feature groups, and the groups are moved from features back into the batch.
 */
function convTransposeLhs(g: Value, rhs: Value, lhsAval: ShapedArray, p: ConvParams): Value {
  const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
  const bgc = p.batchGroupCount;
  let fgc = p.featureGroupCount;
  let r = rhs;
  if (fgc > 1) r = reshapeAxisInto(rhsSpec[0], rhsSpec[1], reshapeAxisOutOf(rhsSpec[0], fgc, r));
  else if (bgc > 1) {
    r = reshapeAxisInto(rhsSpec[0], rhsSpec[1], reshapeAxisOutOf(rhsSpec[0], bgc, r));
    fgc = bgc;
  }
  const padding = vjpLhsPadding(spatial(lhsSpec, lhsAval.shape), spatial(rhsSpec, rhs.shape), p.windowStrides, spatial(outSpec, g.shape), p.padding, p.lhsDilation, p.rhsDilation);
  let out = conv(g, lax.rev(r, rhsSpec.slice(2)), {
    windowStrides: p.lhsDilation, padding, lhsDilation: p.windowStrides, rhsDilation: p.rhsDilation,
    dimensionNumbers: { lhsSpec: outSpec, rhsSpec: swapSpec(rhsSpec), outSpec: lhsSpec },
    featureGroupCount: fgc, batchGroupCount: 1,
  });
  if (bgc > 1) out = reshapeAxisInto(lhsSpec[1], lhsSpec[0], reshapeAxisOutOf(lhsSpec[1], bgc, out));
  return out;
}

/**
 * Cotangent of the rhs (JAX's `_conv_general_dilated_transpose_rhs`): a convolution of the lhs
 * (batch and features swapped) with the cotangent as kernel, contracting over the batch; the
 * forward strides become kernel dilation and the kernel dilation becomes strides. Feature
 * groups become batch groups and vice versa.
 */
function convTransposeRhs(g: Value, lhs: Value, rhsAval: ShapedArray, p: ConvParams): Tangent {
  if (g.size === 0) return new Zero(rhsAval);
  const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
  let fgc = p.featureGroupCount, bgc = p.batchGroupCount;
  if (bgc > 1) [fgc, bgc] = [bgc, 1];
  else if (fgc > 1) [fgc, bgc] = [1, fgc];
  const padding = vjpRhsPadding(spatial(lhsSpec, lhs.shape), spatial(rhsSpec, rhsAval.shape), p.windowStrides, spatial(outSpec, g.shape), p.padding, p.lhsDilation, p.rhsDilation);
  return conv(lhs, g, {
    windowStrides: p.rhsDilation, padding, lhsDilation: p.lhsDilation, rhsDilation: p.windowStrides,
    dimensionNumbers: { lhsSpec: swapSpec(lhsSpec), rhsSpec: swapSpec(outSpec), outSpec: swapSpec(rhsSpec) },
    featureGroupCount: fgc, batchGroupCount: bgc,
  });
}

/**
 * vmap of conv_general_dilated (JAX's `_conv_general_dilated_batch_rule`). Both batched: the
 * batch folds into lhs features and kernel output features as extra feature groups (or into
 * lhs batch as extra batch groups). Lhs only: the batch folds into the lhs batch dim (inside
 * each batch group). Kernel only: the batch folds into the kernel output features (inside each
 * group). The output batch dim is split back out of the out batch or feature dim.
 */
function convBatch(lhs: Value, rhs: Value, ld: BatchDim, rd: BatchDim, p: ConvParams, size: number): [Value, number] {
  const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
  const fgc = p.featureGroupCount, bgc = p.batchGroupCount;
  if (size === 0) {
    const unb = (x: Value, d: BatchDim) => new ShapedArray(x.shape.filter((_, i) => i !== d), x.dtype);
    const [out] = convAbstractEval([unb(lhs, ld), unb(rhs, rd)], p);
    return [zerosOf(new ShapedArray([0, ...out.shape], out.dtype)), 0];
  }
  if (ld !== null && rd !== null) {
    let newLhs: Value, q: ConvParams;
    if (bgc > 1) {
      newLhs = reshapeAxisInto(ld, lhsSpec[0], lhs);
      q = { ...p, batchGroupCount: bgc * size };
    } else {
      newLhs = reshapeAxisInto(ld, lhsSpec[1], lhs);
      q = { ...p, featureGroupCount: fgc * size };
    }
    const out = conv(newLhs, reshapeAxisInto(rd, rhsSpec[0], rhs), q);
    return [reshapeAxisOutOf(outSpec[1], size, out), outSpec[1]];
  }
  if (ld !== null) {
    let newLhs: Value;
    if (bgc === 1) newLhs = reshapeAxisInto(ld, lhsSpec[0], lhs);
    else {
      // Groups stay outermost in the lhs batch: N → (G, N/G), the vmap batch joins N/G, then G rejoins.
      newLhs = reshapeAxisOutOf(lhsSpec[0] + (ld <= lhsSpec[0] ? 1 : 0), bgc, lhs);
      newLhs = reshapeAxisInto(ld + (lhsSpec[0] < ld ? 1 : 0), lhsSpec[0] + 1, newLhs);
      newLhs = reshapeAxisInto(lhsSpec[0], lhsSpec[0], newLhs);
    }
    return [reshapeAxisOutOf(outSpec[0], size, conv(newLhs, rhs, p)), outSpec[0]];
  }
  const r = rd!;
  if (fgc === 1 && bgc === 1) {
    const out = conv(lhs, reshapeAxisInto(r, rhsSpec[0], rhs), p);
    return [reshapeAxisOutOf(outSpec[1], size, out), outSpec[1]];
  }
  // Groups stay outermost in the kernel output features: O → (G, O/G), the vmap batch joins O/G,
  // then G rejoins; the output features (G, B·O/G) are rearranged into (B, G·O/G).
  const group = fgc > 1 ? fgc : bgc;
  let newRhs = reshapeAxisOutOf(rhsSpec[0] + (r <= rhsSpec[0] ? 1 : 0), group, rhs);
  newRhs = reshapeAxisInto(r + (rhsSpec[0] < r ? 1 : 0), rhsSpec[0] + 1, newRhs);
  newRhs = reshapeAxisInto(rhsSpec[0], rhsSpec[0], newRhs);
  let out = conv(lhs, newRhs, p);
  out = reshapeAxisOutOf(outSpec[1], group, out);
  out = reshapeAxisOutOf(outSpec[1] + 1, size, out);
  out = reshapeAxisInto(outSpec[1], outSpec[1] + 1, out);
  return [out, outSpec[1]];
}

function convAbstractEval([lhs, rhs]: readonly ShapedArray[], p: ConvParams): ShapedArray[] {
  checkNumericPair('conv_general_dilated', lhs, rhs);
  const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
  const nd = lhs.ndim;
  if (rhs.ndim !== nd || lhsSpec.length !== nd || rhsSpec.length !== nd || outSpec.length !== nd || nd < 2)
    throw new ShapeError(`conv_general_dilated: lhs ${fmtShape(lhs.shape)} and rhs ${fmtShape(rhs.shape)} must have the same rank (≥ 2) as the dimension numbers`);
  const canonLhs = lhsSpec.map((d) => lhs.shape[d]), canonRhs = rhsSpec.map((d) => rhs.shape[d]);
  const canonOut = convOutputShape(canonLhs, canonRhs, {
    windowStrides: [...p.windowStrides], padding: p.padding.map(([l, h]) => [l, h]), lhsDilation: [...p.lhsDilation],
    rhsDilation: [...p.rhsDilation], featureGroupCount: p.featureGroupCount, batchGroupCount: p.batchGroupCount,
  });
  const shape = new Array<number>(nd);
  outSpec.forEach((d, i) => (shape[d] = canonOut[i]));
  return [new ShapedArray(shape, lhs.dtype, lhs.weakType && rhs.weakType)];
}

const convAd: Pick<TransformRules<'conv_general_dilated'>, 'jvp' | 'batch' | 'transpose'> = {
  jvp: bilinearJvp('conv_general_dilated'),
  transpose: ([ct], args, p) => {
    const which = linearOperand('conv_general_dilated', args);
    const lin = args[which] as UndefinedPrimal, other = args[1 - which] as Value;
    if (isZero(ct)) return which === 0 ? [new Zero(lin.aval), null] : [null, new Zero(lin.aval)];
    return which === 0 ? [convTransposeLhs(ct, other, lin.aval, p), null] : [null, convTransposeRhs(ct, other, lin.aval, p)];
  },
  batch: ([lhs, rhs], [ld, rd], p, size) => {
    const [out, d] = convBatch(lhs, rhs, ld, rd, p, size);
    return [[out], [d]];
  },
};

// ------------------------------------------------------------------ the rule table

export const contractRules: RuleTable<ContractPrim> = {
  dot_general: {
    kind: 'routine',
    ...dotAd,
    abstractEval: ([a, b], { dimensionNumbers: dn }) => {
      checkNumericPair('dot_general', a, b);
      const [lc, rc] = dn.contracting, [lb, rb] = dn.batch;
      const desc = () => `${fmtShape(a.shape)} · ${fmtShape(b.shape)} with contracting ${JSON.stringify(dn.contracting)}, batch ${JSON.stringify(dn.batch)}`;
      const inRange = (ds: readonly number[], n: number) => ds.every((d) => Number.isInteger(d) && d >= 0 && d < n) && new Set(ds).size === ds.length;
      if (lc.length !== rc.length || lb.length !== rb.length || !inRange([...lc, ...lb], a.ndim) || !inRange([...rc, ...rb], b.ndim))
        throw new ShapeError(`dot_general: invalid dimension numbers for ${desc()}`);
      if (lc.some((d, i) => a.shape[d] !== b.shape[rc[i]])) throw new ShapeError(`dot_general: contracting dims differ: ${desc()}`);
      if (lb.some((d, i) => a.shape[d] !== b.shape[rb[i]])) throw new ShapeError(`dot_general: batch dims differ: ${desc()}`);
      const shape = [...lb.map((d) => a.shape[d]), ...freeDims(a.ndim, [...lc, ...lb]).map((d) => a.shape[d]), ...freeDims(b.ndim, [...rc, ...rb]).map((d) => b.shape[d])];
      return [new ShapedArray(shape, a.dtype, a.weakType && b.weakType)];
    },
    impl: ([a, b], { dimensionNumbers: dn }, [out]) => {
      const [lc, rc] = dn.contracting, [lb, rb] = dn.batch;
      const lf = freeDims(a.ndim, [...lc, ...lb]), rf = freeDims(b.ndim, [...rc, ...rb]);
      const B = prod(lb.map((d) => a.shape[d])), M = prod(lf.map((d) => a.shape[d]));
      const K = prod(lc.map((d) => a.shape[d])), N = prod(rf.map((d) => b.shape[d]));
      const a3 = reshaped(permuted(a, [...lb, ...lf, ...lc]), new ShapedArray([B, M, K], a.dtype));
      const b3 = reshaped(permuted(b, [...rb, ...rc, ...rf]), new ShapedArray([B, K, N], b.dtype));
      const [r] = runRoutine('matmul', [a3, b3], [new ShapedArray([B, M, N], out.dtype)], { batch: B, m: M, k: K, n: N, aBatchStride: M * K, bBatchStride: K * N });
      return [reshaped(r, out)];
    },
  },

  conv_general_dilated: {
    kind: 'routine',
    ...convAd,
    abstractEval: convAbstractEval,
    impl: ([lhs, rhs], p, [out]) => {
      const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
      const l = permuted(lhs, lhsSpec).contiguous(), r = permuted(rhs, rhsSpec).contiguous();
      const canonOut = new ShapedArray(outSpec.map((d) => out.shape[d]), out.dtype);
      const [c] = runRoutine('conv', [l, r], [canonOut], {
        lhsShape: l.shape, rhsShape: r.shape, windowStrides: p.windowStrides, padding: p.padding, lhsDilation: p.lhsDilation,
        rhsDilation: p.rhsDilation, featureGroupCount: p.featureGroupCount, batchGroupCount: p.batchGroupCount,
      });
      return [permuted(c, invertPerm(outSpec)) as NDArray];
    },
  },
};
