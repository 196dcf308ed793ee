/**
 * Contractions: `dot_general` (every matmul, einsum and attention product) and
 * `conv_general_dilated` (every convolution, transposed convolution and their gradients).
 * Both are backend routines: operands are permuted into the routine's canonical layout.
 */
import { ShapedArray } from '../aval.js';
import type { NDArray } from '../array.js';
import { convOutputShape } from '../backends/routines/conv.js';
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { prod } from '../shape.js';
import type { RuleTable } from './rules.js';
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

export const contractRules: RuleTable<'dot_general' | 'conv_general_dilated'> = {
  dot_general: {
    kind: 'routine',
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
    abstractEval: ([lhs, rhs], p) => {
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
    },
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
