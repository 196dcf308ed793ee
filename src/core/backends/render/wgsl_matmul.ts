/**
 * Tiled GEMM in WGSL, and the (batched, broadcasting) matmul routine built on it.
 *
 * Algorithm: each workgroup computes a TM×TN tile of C = A·B (TM = threadsY·regM rows,
 * TN = threadsX·regN columns). The contraction runs in steps of TK: the workgroup stages the
 * TM×TK slice of A and the TK×TN slice of B in `var<workgroup>` arrays (each invocation loads
 * TM·TK/T and TK·TN/T elements, zero outside the operands, so any m, n, k works), waits at a
 * barrier, and each invocation accumulates its regM×regN register block from them — rows
 * ty + i·threadsY and columns tx + j·threadsX, so neighbouring invocations read neighbouring
 * words of the tile. Each output element still sums its k products in order in its own
 * accumulator (f32 for floats), so the error bound is the sequential one, k·2⁻²⁴·Σ|a·b|.
 *
 * The skeleton (`gemmSource`) knows nothing about where A and B come from: a `GemmOperands`
 * says how to read an A element (row, k), a B element (k, the invocation's staging column),
 * and where an output goes. The matmul reads both from row-major buffers; the convolution
 * (`wgsl_conv.ts`) gathers B straight from its NCHW input (implicit GEMM).
 *
 * Tile sizes come from the device limits (`chooseGemmTiling`): 64×64 tiles of 16×16
 * invocations with 4×4 blocks when 256 invocations and 12 KiB of workgroup memory (A and B
 * tiles, and B's validity flags for convolutions with padding) are allowed,
 * 32×32 tiles of 8×8 invocations otherwise; `null` when neither fits (the caller keeps the
 * kernel-IR path). Shapes are baked into the source as constants, like every WGSL kernel here.
 */
import type { DType } from '../../dtype.js';
import type { RoutineParams } from '../backend.js';
import { indentBlocks, WGSL_STORAGE } from './wgsl.js';

/** Invocations per workgroup (threadsX × threadsY), the register block and the K step. */
export interface GemmTiling {
  readonly threadsX: number;
  readonly threadsY: number;
  readonly regM: number;
  readonly regN: number;
  readonly tileK: number;
}

/**
 * Candidate tilings, largest first; each satisfies the staging layout's divisibility rules
 * (T divisible by TK and TN, TM·TK and TK·TN by T). WebGPU guarantees 256 invocations (128 at
 * the compatibility level) and 16 KiB of workgroup memory, so one of them always fits a device
 * that meets the spec.
 */
export const GEMM_TILINGS: readonly GemmTiling[] = [
  { threadsX: 16, threadsY: 16, regM: 4, regN: 4, tileK: 16 }, // 64×64 tile, 256 invocations, 12 KiB
  { threadsX: 8, threadsY: 8, regM: 4, regN: 4, tileK: 16 }, // 32×32 tile, 64 invocations, 6 KiB (compatibility defaults: 128)
];

export interface GemmLimits {
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupStorageSize: number;
}

/** The largest tiling the device allows (a 1-D workgroup; both tiles in workgroup memory), or null. */
export function chooseGemmTiling(limits: GemmLimits): GemmTiling | null {
  for (const t of GEMM_TILINGS) {
    const threads = t.threadsX * t.threadsY;
    // The A and B tiles, and B's validity flags (a masked GEMM: `GemmOperands.maskB`).
    const bytes = 4 * t.tileK * (t.threadsY * t.regM + 2 * t.threadsX * t.regN);
    if (threads <= limits.maxComputeInvocationsPerWorkgroup && threads <= limits.maxComputeWorkgroupSizeX && bytes <= limits.maxComputeWorkgroupStorageSize) return t;
  }
  return null;
}

/** Where a GEMM's operands and result live (WGSL snippets; see `gemmSource`). */
export interface GemmOperands {
  /** First line of the source (a comment is made of it). */
  readonly label: string;
  readonly dtype: DType;
  /** Storage buffers in binding order, the output first: [name, element type, writable]. */
  readonly bindings: readonly (readonly [string, string, boolean])[];
  /** Rows (per group), columns and contraction length of C = A·B. */
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** Groups stacked along the workgroup grid's y (batches; convolution groups): `grp` in the source. */
  readonly groups: number;
  /** Per-invocation setup after `grp`, `row0`, `col0`, `bcol` (the column this invocation stages) are known. */
  readonly setup: readonly string[];
  /** Statements setting `v` to A[row, k] (both in range). */
  loadA(row: string, k: string): string[];
  /** A WGSL bool: may this invocation's staging column `bcol` be read (it is < n)? */
  readonly columnValid: string;
  /** Statements setting `v` to B[k, bcol] (k in range, `columnValid` true); may leave `v` zero (padding). */
  loadB(k: string): string[];
  /**
   * B has holes (convolution padding): `loadB` also sets the bool `ok`, and products with a
   * hole are skipped, not multiplied by zero (0·∞ would be NaN where the oracle adds nothing).
   */
  readonly maskB?: boolean;
  /** Statements storing `value` as C[row, col] (both in range). */
  store(row: string, col: string, value: string): string[];
}

/** Workgroups along x (column tiles) and y (groups × row tiles) for a GEMM with this tiling. */
export function gemmGroups(t: GemmTiling, m: number, n: number, groups: number): [number, number] {
  return [Math.ceil(n / (t.threadsX * t.regN)), groups * Math.ceil(m / (t.threadsY * t.regM))];
}

/** The tiled GEMM shader (see the file comment). */
export function gemmSource(op: GemmOperands, t: GemmTiling): string {
  const { threadsX: TX, threadsY: TY, regM: RM, regN: RN, tileK: TK } = t;
  const T = TX * TY, TM = TY * RM, TN = TX * RN;
  const S = WGSL_STORAGE[op.dtype];
  const zero = { f32: '0f', i32: '0i', u32: '0u' }[S];
  if (zero === undefined) throw new Error(`gemmSource: no tiled GEMM for ${op.dtype}`);
  const tilesM = Math.ceil(op.m / TM);
  const acc = (i: number, j: number) => `c${i}_${j}`;
  const body: string[] = [
    'let lid = i32(li);',
    `let tx = lid % ${TX};`,
    `let ty = lid / ${TX};`,
    `let grp = i32(wid.y) / ${tilesM};`,
    `let row0 = (i32(wid.y) % ${tilesM}) * ${TM};`,
    `let col0 = i32(wid.x) * ${TN};`,
    `let ak = lid % ${TK};`,
    `let ar = lid / ${TK};`,
    `let bc = lid % ${TN};`,
    `let br = lid / ${TN};`,
    'let bcol = col0 + bc;',
    ...op.setup,
  ];
  for (let i = 0; i < RM; i++) body.push(Array.from({ length: RN }, (_, j) => `var ${acc(i, j)} = ${zero};`).join(' '));
  body.push(`for (var k0 = 0; k0 < ${op.k}; k0 += ${TK}) {`, 'let ka = k0 + ak;');
  body.push(
    `for (var l = 0; l < ${(TM * TK) / T}; l++) {`,
    `let r = ar + l * ${T / TK};`,
    `var v = ${zero};`,
    `if (row0 + r < ${op.m} && ka < ${op.k}) {`,
    ...op.loadA('row0 + r', 'ka'),
    '}',
    `tileA[ak * ${TM} + r] = v;`,
    '}',
    `for (var l = 0; l < ${(TK * TN) / T}; l++) {`,
    `let r = br + l * ${T / TN};`,
    'let kb = k0 + r;',
    `var v = ${zero};`,
    ...(op.maskB ? ['var ok = false;'] : []),
    `if (${op.columnValid} && kb < ${op.k}) {`,
    ...op.loadB('kb'),
    '}',
    `tileB[r * ${TN} + bc] = v;`,
    ...(op.maskB ? [`tileOk[r * ${TN} + bc] = select(0u, 1u, ok);`] : []),
    '}',
  );
  body.push('workgroupBarrier();', `for (var kk = 0; kk < ${TK}; kk++) {`);
  for (let i = 0; i < RM; i++) body.push(`let a${i} = tileA[kk * ${TM} + ty${i ? ` + ${i * TY}` : ''}];`);
  for (let j = 0; j < RN; j++) body.push(`let b${j} = tileB[kk * ${TN} + tx${j ? ` + ${j * TX}` : ''}];`);
  if (op.maskB) for (let j = 0; j < RN; j++) body.push(`let ok${j} = tileOk[kk * ${TN} + tx${j ? ` + ${j * TX}` : ''}] != 0u;`);
  const term = (i: number, j: number) => (op.maskB ? `select(${acc(i, j)}, ${acc(i, j)} + a${i} * b${j}, ok${j})` : `${acc(i, j)} + a${i} * b${j}`);
  for (let i = 0; i < RM; i++) body.push(Array.from({ length: RN }, (_, j) => `${acc(i, j)} = ${term(i, j)};`).join(' '));
  body.push('}', 'workgroupBarrier();', '}');
  for (let i = 0; i < RM; i++) {
    body.push('{', `let row = row0 + ty${i ? ` + ${i * TY}` : ''};`, `if (row < ${op.m}) {`);
    for (let j = 0; j < RN; j++) {
      const col = j ? `(col0 + tx + ${j * TX})` : '(col0 + tx)';
      const st = op.store('row', col, acc(i, j));
      body.push(`if (${col} < ${op.n}) {${st.length === 1 ? ` ${st[0]} }` : ''}`, ...(st.length === 1 ? [] : [...st, '}']));
    }
    body.push('}', '}');
  }
  return [
    `// ${op.label}`,
    ...op.bindings.map(([name, type, write], i) => `@group(0) @binding(${i}) var<storage, ${write ? 'read_write' : 'read'}> ${name}: array<${type}>;`),
    `var<workgroup> tileA: array<${S}, ${TK * TM}>;`,
    `var<workgroup> tileB: array<${S}, ${TK * TN}>;`,
    ...(op.maskB ? [`var<workgroup> tileOk: array<u32, ${TK * TN}>;`] : []),
    '',
    `@compute @workgroup_size(${T})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {',
    ...indentBlocks(body, 1),
    '}',
    '',
  ].join('\n');
}

/** Dtypes the tiled GEMM accumulates exactly as the other paths do (float32 in f32; integers wrap). */
export function hasTiledGemm(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'int32' || dtype === 'uint32';
}

/** out[b] = a[b·aBatchStride…] @ b[b·bBatchStride…]; a batch stride of 0 broadcasts that operand. */
export function matmulSource(p: RoutineParams['matmul'], dtype: DType, t: GemmTiling): string {
  const S = WGSL_STORAGE[dtype];
  const { m, k, n } = p;
  return gemmSource(
    {
      label: `matmul (tiled ${t.threadsY * t.regM}×${t.threadsX * t.regN}×${t.tileK}, ${t.regM}×${t.regN} per invocation): ${S}[${p.batch}, ${m}, ${n}] = ${S}[${m}, ${k}] (batch stride ${p.aBatchStride}) @ ${S}[${k}, ${n}] (batch stride ${p.bBatchStride})`,
      dtype,
      bindings: [['out', S, true], ['a', S, false], ['b', S, false]],
      m, n, k,
      groups: p.batch,
      setup: [`let aBase = grp * ${p.aBatchStride};`, `let bBase = grp * ${p.bBatchStride} + bcol;`, `let outBase = grp * ${m * n};`],
      loadA: (row, kk) => [`v = a[aBase + (${row}) * ${k} + ${kk}];`],
      columnValid: `bcol < ${n}`,
      loadB: (kk) => [`v = b[bBase + ${kk} * ${n}];`],
      store: (row, col, value) => [`out[outBase + ${row} * ${n} + ${col}] = ${value};`],
    },
    t,
  );
}
