/**
 * The WebGPU backend's simple routines: one invocation per output element (or per scanned
 * column), no shared memory. The tiled matmul and convolution are in `wgsl_matmul.ts` and
 * `wgsl_conv.ts`, fused attention in `wgsl_attention.ts`.
 *
 * - matmul and conv as kernel IR (`matmulKernel`, `convKernel`: a `reduce` over the
 *   contraction), rendered by the WGSL renderer like any fused kernel: the path for dtypes and
 *   shapes the tiled routines do not take (bool; grids past the dispatch limit; feature and
 *   batch groups together). Float sums accumulate in f32 in a different order than the CPU
 *   routines (which sum in f64), so results agree to a tolerance; integer results are exact
 *   (int32 wraps).
 * - sort, cumulative, scatterAdd and threefry are hand-written WGSL:
 *   sort ranks each element against its row (O(n²) per row; stable, NaNs last, −0 = +0) and
 *   scatters it to its rank — bit-identical to the CPU sort; cumulative scans each
 *   (outer, inner) column serially (f32 carry for floats); scatterAdd adds each output's
 *   updates in index order, so its f32 additions round exactly as the CPU loop's do;
 *   threefry is the 20-round block function on u32 words, bit-identical to the CPU.
 */
import type { DType } from '../../dtype.js';
import { add, and, bin, cnst, freshVar, idx, load, mul, outVar, varRef, type Expr, type Kernel } from '../../kernel/ir.js';
import type { RoutineParams } from '../backend.js';
import { convOutputShape } from '../routines/conv.js';
import { helperSource, indentBlocks, threadIndex, WGSL_STORAGE, WGSL_TYPE } from './wgsl.js';

/** out[b, i, j] = Σ_k a[b·aBatchStride + i·k + k'] · b[b·bBatchStride + k'·n + j]. */
export function matmulKernel(p: RoutineParams['matmul'], dtype: DType): Kernel {
  const k = freshVar();
  const [b, i, j] = [outVar(0), outVar(1), outVar(2)];
  const aIdx = add(add(mul(b, idx(p.aBatchStride)), mul(i, idx(p.k))), varRef(k));
  const bIdx = add(add(mul(b, idx(p.bBatchStride)), mul(varRef(k), idx(p.n))), j);
  const body = bin('mul', load(0, aIdx, dtype), load(1, bIdx, dtype));
  const expr: Expr = { k: 'reduce', op: 'sum', vars: [{ name: k, size: p.k }], body, dtype };
  return { inputs: [dtype, dtype], outShape: [p.batch, p.m, p.n], outDtype: dtype, expr, label: 'matmul' };
}

/**
 * ConvGeneralDilated in the canonical layout (see `routines/conv.ts`): for output
 * (nb, o, pos…), Σ over input channels ci of its group and window taps t… of
 * lhs[nIn, cBase + ci, in…] · rhs[o, ci, t…], where in_d = (pos_d·stride + t_d·rhsDil − lo)/lhsDil
 * when that is an integer inside the input (padding and dilation holes contribute nothing).
 */
export function convKernel(p: RoutineParams['conv'], dtype: DType): Kernel {
  const [N, C, ...inSp] = p.lhsShape;
  const [O, I, ...win] = p.rhsShape;
  const outShape = convOutputShape(p.lhsShape, p.rhsShape, {
    windowStrides: [...p.windowStrides], padding: p.padding.map(([lo, hi]) => [lo, hi]), lhsDilation: [...p.lhsDilation],
    rhsDilation: [...p.rhsDilation], featureGroupCount: p.featureGroupCount, batchGroupCount: p.batchGroupCount,
  });
  const nd = inSp.length;
  const fgc = p.featureGroupCount, bgc = p.batchGroupCount;
  const [nb, o] = [outVar(0), outVar(1)];
  const ci = freshVar();
  const taps = win.map(() => freshVar());
  const cBase = fgc === 1 ? idx(0) : mul(bin('div', o, idx(O / fgc)), idx(I));
  const nIn = bgc === 1 ? nb : add(nb, mul(bin('div', o, idx(O / bgc)), idx(N / bgc)));
  let valid: Expr | null = null;
  let inOff = idx(0), wOff = idx(0);
  let inStride = 1, wStride = 1;
  for (let d = nd - 1; d >= 0; d--) {
    const [lo] = p.padding[d];
    const pd = add(add(mul(outVar(d + 2), idx(p.windowStrides[d])), mul(varRef(taps[d]), idx(p.rhsDilation[d]))), idx(-lo));
    const dil = p.lhsDilation[d];
    const at = dil === 1 ? pd : bin('div', pd, idx(dil));
    valid = and(valid, bin('ge', pd, idx(0)));
    if (dil !== 1) valid = and(valid, bin('eq', bin('rem', pd, idx(dil)), idx(0)));
    valid = and(valid, bin('lt', at, idx(inSp[d])));
    inOff = add(inOff, mul(at, idx(inStride)));
    wOff = add(wOff, mul(varRef(taps[d]), idx(wStride)));
    inStride *= inSp[d];
    wStride *= win[d];
  }
  const lhsIdx = add(mul(add(mul(nIn, idx(C)), add(cBase, varRef(ci))), idx(inStride)), inOff);
  const rhsIdx = add(mul(add(mul(o, idx(I)), varRef(ci)), idx(wStride)), wOff);
  const term = bin('mul', load(0, lhsIdx, dtype), load(1, rhsIdx, dtype));
  const body: Expr = valid ? { k: 'select', c: valid, t: term, f: cnst(0, dtype), dtype } : term;
  const vars = [{ name: ci, size: I }, ...taps.map((name, d) => ({ name, size: win[d] }))];
  return { inputs: [dtype, dtype], outShape, outDtype: dtype, expr: { k: 'reduce', op: 'sum', vars, body, dtype }, label: 'conv' };
}

/** Dispatch geometry of a hand-written routine: invocations per workgroup and per row of a 2-D grid. */
export interface RoutineGrid {
  readonly workgroupSize: number;
  readonly rowStride: number | null;
}

function shader(label: string, bindings: [string, string, boolean][], helpers: string, grid: RoutineGrid, threads: number, body: string[]): string {
  return [
    `// ${label}`,
    ...bindings.map(([name, type, write], i) => `@group(0) @binding(${i}) var<storage, ${write ? 'read_write' : 'read'}> ${name}: array<${type}>;`),
    ...(helpers ? [helpers] : []),
    '',
    `@compute @workgroup_size(${grid.workgroupSize})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    ...indentBlocks([...threadIndex([threads], threads, grid.rowStride).slice(0, 2), ...body], 1),
    '}',
    '',
  ].join('\n');
}

/**
 * Stable ascending sort of each row of (rows, n), NaNs last and −0 = +0, carrying a second
 * operand along: each element's rank is the number of elements of its row before it in the
 * order, and it is written there. Bindings: sorted keys[, sorted values], keys[, values].
 */
export function sortSource(p: RoutineParams['sort'], keyDtype: DType, valDtype: DType | null, grid: RoutineGrid): string {
  const float = keyDtype === 'float32';
  const K = WGSL_STORAGE[keyDtype];
  const bindings: [string, string, boolean][] = [['keysOut', K, true]];
  if (valDtype) bindings.push(['valsOut', WGSL_STORAGE[valDtype], true]);
  bindings.push(['keys', K, false]);
  if (valDtype) bindings.push(['vals', WGSL_STORAGE[valDtype], false]);
  const before = float ? '!vx_isnan(kj) && (vx_isnan(k) || kj < k)' : 'kj < k';
  const same = float ? '(vx_isnan(kj) && vx_isnan(k)) || kj == k' : 'kj == k';
  return shader(`sort: ${p.rows} rows of ${p.n} ${WGSL_TYPE[keyDtype]}${valDtype ? ` with ${WGSL_TYPE[valDtype]} values` : ''}`, bindings,
    float ? helperSource(['vx_isnan']) : '', grid, p.rows * p.n, [
      `let base = (g / ${p.n}i) * ${p.n}i;`,
      `let i = g % ${p.n}i;`,
      'let k = keys[g];',
      'var rank = 0i;',
      `for (var j = 0i; j < ${p.n}i; j++) {`,
      'let kj = keys[base + j];',
      `if ((${before}) || (j < i && (${same}))) { rank++; }`,
      '}',
      'keysOut[base + rank] = k;',
      ...(valDtype ? ['valsOut[base + rank] = vals[g];'] : []),
    ]);
}

/** Inclusive scan along the middle axis of (outer, n, inner): one invocation per (outer, inner) column. */
export function cumulativeSource(p: RoutineParams['cumulative'], dtype: DType, grid: RoutineGrid): string {
  const T = WGSL_STORAGE[dtype];
  const float = dtype === 'float32';
  const step = p.reverse ? -p.inner : p.inner;
  const update = {
    sum: 'c = c + v;',
    prod: 'c = c * v;',
    // NaN propagates: once the carry is NaN no comparison replaces it.
    max: float ? 'if (v > c || vx_isnan(v)) { c = v; }' : 'c = max(c, v);',
    min: float ? 'if (v < c || vx_isnan(v)) { c = v; }' : 'c = min(c, v);',
  }[p.op];
  return shader(`cumulative ${p.op}${p.reverse ? ' (reverse)' : ''}: ${T}[${p.outer}, ${p.n}, ${p.inner}]`, [['out', T, true], ['x', T, false]],
    float && (p.op === 'max' || p.op === 'min') ? helperSource(['vx_isnan']) : '', grid, p.outer * p.inner, [
      `var at = (g / ${p.inner}i) * ${p.n * p.inner}i + g % ${p.inner}i${p.reverse ? ` + ${(p.n - 1) * p.inner}i` : ''};`,
      'var c = x[at];',
      'out[at] = c;',
      `for (var t = 1i; t < ${p.n}i; t++) {`,
      `at = at + (${step}i);`,
      'let v = x[at];',
      `${update}`,
      'out[at] = c;',
      '}',
    ]);
}

/**
 * out = operand; out[o, idx[j], i] += updates[o, j, i], indices wrapped once when negative and
 * clamped. One invocation per output element adds its updates in index order.
 */
export function scatterAddSource(p: RoutineParams['scatterAdd'], dtype: DType, grid: RoutineGrid): string {
  const T = WGSL_STORAGE[dtype];
  return shader(`scatterAdd: ${T}[${p.outer}, ${p.n}, ${p.inner}] += ${T}[${p.outer}, ${p.m}, ${p.inner}]`,
    [['out', T, true], ['operand', T, false], ['indices', 'i32', false], ['updates', T, false]], '', grid, p.outer * p.n * p.inner, [
      `let o = g / ${p.n * p.inner}i;`,
      `let t = (g / ${p.inner}i) % ${p.n}i;`,
      `let i = g % ${p.inner}i;`,
      'var v = operand[g];',
      `for (var j = 0i; j < ${p.m}i; j++) {`,
      'var tj = indices[j];',
      `if (tj < 0i) { tj = tj + ${p.n}i; }`,
      `if (clamp(tj, 0i, ${p.n - 1}i) == t) { v = v + updates[(o * ${p.m}i + j) * ${p.inner}i + i]; }`,
      '}',
      'out[g] = v;',
    ]);
}

/** Threefry-2x32 (20 rounds) with per-element keys: (k0, k1, x0, x1) → (y0, y1), all u32. */
export function threefrySource(p: RoutineParams['threefry'], grid: RoutineGrid): string {
  const rounds = [[13, 15, 26, 6], [17, 29, 16, 24]];
  const lines = ['let ks0 = k0[g];', 'let ks1 = k1[g];', 'let ks2 = ks0 ^ ks1 ^ 0x1bd11bdau;', 'var a = x0[g] + ks0;', 'var b = x1[g] + ks1;'];
  const inject = [['ks1', 'ks2', 1], ['ks2', 'ks0', 2], ['ks0', 'ks1', 3], ['ks1', 'ks2', 4], ['ks2', 'ks0', 5]] as const;
  inject.forEach(([ka, kb, c], r) => {
    for (const rot of rounds[r % 2]) lines.push(`a = a + b; b = ((b << ${rot}u) | (b >> ${32 - rot}u)) ^ a;`);
    lines.push(`a = a + ${ka}; b = b + ${kb} + ${c}u;`);
  });
  lines.push('y0[g] = a;', 'y1[g] = b;');
  return shader(`threefry2x32: ${p.size}`, [['y0', 'u32', true], ['y1', 'u32', true], ['k0', 'u32', false], ['k1', 'u32', false], ['x0', 'u32', false], ['x1', 'u32', false]],
    '', grid, p.size, lines);
}
