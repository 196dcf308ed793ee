/**
 * ConvGeneralDilated as an implicit GEMM on the tiled WGSL skeleton (`wgsl_matmul.ts`), with
 * no im2col buffer: the B tile is gathered straight from the NCHW input while it is staged.
 *
 * In the canonical layout (`routines/conv.ts`) group g (a feature group, or a batch group)
 * is the GEMM C_g = A_g · B_g with
 * - A_g[o, (ci, t…)] = rhs[g·Og + o, ci, t…]: the group's filters, read in place (each row of
 *   the OIHW filter is already contiguous over (ci, taps));
 * - B_g[(ci, t…), (nb, pos…)] = lhs[nIn, cBase + ci, in…] with in_d = (pos_d·stride_d +
 *   t_d·rhsDil_d − lo_d) / lhsDil_d when that is an integer inside the input; elsewhere (padding
 *   and lhs-dilation holes) a hole, whose products are skipped (`GemmOperands.maskB`), so they
 *   add nothing even against an infinite weight, as on the CPU; nIn = nb (+ g·N/bgc for batch
 *   groups), cBase = g·I for feature groups;
 * - C_g[o, (nb, pos…)] = out[nb, g·Og + o, pos…].
 * Each invocation stages one fixed column of B, so its (nb, pos…) decomposition is computed
 * once; per staged element only (ci, t…) are decoded from k. Covers 1-, 2-, 3-D (any rank),
 * strides, padding (negative too), both dilations and either kind of group; a convolution with
 * feature and batch groups both above 1 (which XLA rejects) returns null and keeps the
 * kernel-IR path.
 */
import type { DType } from '../../dtype.js';
import type { RoutineParams } from '../backend.js';
import { convOutputShape } from '../routines/conv.js';
import { gemmSource, type GemmTiling } from './wgsl_matmul.js';
import { WGSL_STORAGE } from './wgsl.js';

/** The GEMM dimensions of a convolution: groups, rows (filters) per group, columns, contraction. */
export interface ConvGemm {
  readonly outShape: number[];
  readonly groups: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

/** The implicit-GEMM view of `p`, or null when it has feature and batch groups both above 1. */
export function convGemm(p: RoutineParams['conv']): ConvGemm | null {
  const fgc = p.featureGroupCount, bgc = p.batchGroupCount;
  if (fgc > 1 && bgc > 1) return null;
  const outShape = convOutputShape(p.lhsShape, p.rhsShape, {
    windowStrides: [...p.windowStrides], padding: p.padding.map(([lo, hi]) => [lo, hi]), lhsDilation: [...p.lhsDilation],
    rhsDilation: [...p.rhsDilation], featureGroupCount: fgc, batchGroupCount: bgc,
  });
  const [O, I, ...win] = p.rhsShape;
  const groups = Math.max(fgc, bgc);
  const positions = outShape.slice(2).reduce((a, b) => a * b, 1);
  return { outShape, groups, m: O / groups, n: outShape[0] * positions, k: I * win.reduce((a, b) => a * b, 1) };
}

/** The implicit-GEMM convolution shader; bindings out, lhs, rhs. Null when `convGemm` is. */
export function convSource(p: RoutineParams['conv'], dtype: DType, t: GemmTiling): string | null {
  const g = convGemm(p);
  if (!g) return null;
  const S = WGSL_STORAGE[dtype];
  const [N, C, ...inSp] = p.lhsShape;
  const [O, I, ...win] = p.rhsShape;
  const outSp = g.outShape.slice(2);
  const nd = inSp.length;
  const P = outSp.reduce((a, b) => a * b, 1);
  const W = win.reduce((a, b) => a * b, 1);
  const inSize = inSp.reduce((a, b) => a * b, 1);
  const suffix = (xs: readonly number[], d: number) => xs.slice(d + 1).reduce((a, b) => a * b, 1);
  const fgc = p.featureGroupCount, bgc = p.batchGroupCount;
  // The staging column: batch nb and output position pos_d, as s_d = pos_d·stride_d − lo_d.
  const setup = [`let nb = bcol / ${P};`, `let pos = bcol % ${P};`];
  for (let d = 0; d < nd; d++) {
    const q = suffix(outSp, d);
    setup.push(`let s${d} = ((pos / ${q}) % ${outSp[d]}) * ${p.windowStrides[d]} - ${p.padding[d][0]};`);
  }
  const nIn = bgc > 1 ? `nb + grp * ${N / bgc}` : 'nb';
  const cBase = fgc > 1 ? ` + grp * ${I}` : '';
  setup.push(`let lhsBase = ((${nIn}) * ${C}${cBase}) * ${inSize};`, `let rhsBase = grp * ${g.m * g.k};`);
  // Taps can fall on padding or lhs-dilation holes only with positive padding or lhs dilation
  // (the output shape keeps every tap inside the input otherwise).
  const holes = p.padding.some(([lo, hi]) => lo > 0 || hi > 0) || p.lhsDilation.some((x) => x > 1);
  // Float holes are skipped, not multiplied by zero (an infinite weight would make NaN).
  const masked = holes && dtype === 'float32';
  const loadB = (k: string): string[] => {
    const lines = [`let ci = ${k} / ${W};`, `let tap = ${k} % ${W};`];
    const conds: string[] = [];
    let offset = `lhsBase + ci * ${inSize}`;
    for (let d = 0; d < nd; d++) {
      const dil = p.lhsDilation[d];
      lines.push(`let p${d} = s${d} + ((tap / ${suffix(win, d)}) % ${win[d]}) * ${p.rhsDilation[d]};`);
      conds.push(`p${d} >= 0`);
      if (dil !== 1) conds.push(`p${d} % ${dil} == 0`);
      conds.push(dil !== 1 ? `p${d} / ${dil} < ${inSp[d]}` : `p${d} < ${inSp[d]}`);
      offset += ` + ${dil !== 1 ? `(p${d} / ${dil})` : `p${d}`} * ${suffix(inSp, d)}`;
    }
    if (masked) return [...lines, `ok = ${conds.join(' && ')};`, 'if (ok) {', `v = lhs[${offset}];`, '}'];
    return holes ? [...lines, `if (${conds.join(' && ')}) {`, `v = lhs[${offset}];`, '}'] : [...lines, `v = lhs[${offset}];`];
  };
  const desc = (xs: readonly number[]) => `[${xs.join(', ')}]`;
  const pad = p.padding.map(([lo, hi]) => `${lo}:${hi}`).join(', ');
  return gemmSource(
    {
      label: `conv (implicit GEMM, tiled ${t.threadsY * t.regM}×${t.threadsX * t.regN}×${t.tileK}): ${S}${desc(p.lhsShape)} * ${S}${desc(p.rhsShape)} -> ${S}${desc(g.outShape)}, strides ${desc(p.windowStrides)}, padding [${pad}], lhs dilation ${desc(p.lhsDilation)}, rhs dilation ${desc(p.rhsDilation)}, groups ${fgc}/${bgc}`,
      dtype,
      bindings: [['out', S, true], ['lhs', S, false], ['rhs', S, false]],
      m: g.m, n: g.n, k: g.k,
      groups: g.groups,
      setup,
      loadA: (row, k) => [`v = rhs[rhsBase + (${row}) * ${g.k} + ${k}];`],
      columnValid: `bcol < ${g.n}`,
      loadB,
      maskB: masked,
      store: (row, col, value) => [`out[((${col} / ${P}) * ${O} + grp * ${g.m} + ${row}) * ${P} + ${col} % ${P}] = ${value};`],
    },
    t,
  );
}
