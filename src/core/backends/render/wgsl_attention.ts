/**
 * Fused attention in WGSL, flash-attention-2 style: out = softmax(q·kᵀ (·scale) (+ mask))·v per
 * batch, without writing the (lq, lk) score matrix to memory. The jit reaches it through a
 * lowering-time pattern (`kernel/attention_pattern.ts`); it is not a primitive.
 *
 * Algorithm: a workgroup of BQ invocations owns BQ query rows of one batch, one row per
 * invocation. Each invocation keeps its query row (d floats), its running max m, running sum l
 * and its dv output accumulators in registers (vec4s, padded with zeros to a multiple of 4; the
 * loops over them are unrolled while d + dv ≤ 256, and stay loops over private arrays beyond,
 * which bounds the shader's size and compile time). The
 * workgroup streams the keys in tiles of BK: all invocations stage the K and V tiles in
 * workgroup memory together (consecutive invocations load consecutive vec4s), a barrier, then
 * every invocation walks the tile in chunks of KC keys, all unrolled: its KC scores (each a
 * sequential f32 dot over d, then the scale and the mask, as the unfused kernels compute them),
 * the chunk's online-softmax step (m_new = max(m, scores); the sum and the accumulators are
 * rescaled by α = exp(m_old − m_new); p = exp(s − m_new)) and acc = acc·α + Σ p·v. There is no
 * per-row serial step and no idle invocation; the only barriers are the two around each tile's
 * staging. At the end out = acc / l. Full tiles run in a loop; the last partial tile (and its
 * partial chunk) is emitted separately with its exact length, so no key needs a bound check.
 * Invocations past the last query row compute a copy of it (clamped reads) and store nothing.
 *
 * Non-finite values follow the composition: the running max propagates NaN; a row whose max is
 * still −∞ uses 0 in its place (so exp gives 0, not NaN); with `guarded` (nn.softmax's form) a
 * zero row sum counts as 1, so a fully masked row gives 0, and without it 0/0 = NaN as the
 * unguarded composition gives. Rounding differs from the composition (p·v is summed before the
 * division by l, and rescaled per chunk), within a few ulps of Σ|p·v|.
 *
 * Tile sizes follow the shapes and the device limits (`chooseAttentionTiling`): BQ invocations
 * (at most 64, fewer for short queries), the largest BK whose K and V tiles fit the workgroup
 * memory, and registers within WGSL's 8 KiB of function-scope memory; shapes that fit no tiling
 * are not accepted, and the jit then keeps the unfused kernels.
 */
import type { AttentionParams } from '../backend.js';
import { indentBlocks } from './wgsl.js';

/** Query rows (= invocations) per workgroup and keys per staged tile. */
export interface AttentionTiling {
  readonly bq: number;
  readonly bk: number;
}

/** Query rows per workgroup, largest first (the chooser takes the smallest that covers lq). */
const ROW_BLOCKS = [64, 32, 16, 8];
/** Keys per staged tile, largest first. */
const KEY_TILES = [64, 32, 16, 8, 4];
/** Keys per unrolled chunk (the scores one online-softmax step handles); at most BK. */
const CHUNK = 8;
/** Above this many vec4s of q and acc together the loops over them are not unrolled. */
const UNROLLED_VEC4S = 64;
/** WGSL's limit on the function-scope memory of one shader (bytes). */
const MAX_PRIVATE_BYTES = 8192;

export interface AttentionLimits {
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}

const vec4s = (n: number) => Math.ceil(n / 4);

/** The tiling these shapes get on a device with these limits, or null (not accepted). */
export function chooseAttentionTiling(p: AttentionParams, limits: AttentionLimits): AttentionTiling | null {
  if (p.batch > limits.maxComputeWorkgroupsPerDimension) return null;
  const [d4, dv4] = [vec4s(p.d), vec4s(p.dv)];
  // Registers: the query row, the accumulators, and a chunk's scores and probabilities.
  if (16 * (d4 + dv4) + 8 * CHUNK > MAX_PRIVATE_BYTES) return null;
  const maxRows = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const rows = ROW_BLOCKS.filter((r) => r <= maxRows);
  if (!rows.length) return null;
  const bq = rows.reduce((best, r) => (r >= p.lq ? r : best), rows[0]);
  if (Math.ceil(p.lq / bq) > limits.maxComputeWorkgroupsPerDimension) return null;
  const bk = KEY_TILES.find((t) => 16 * t * (d4 + dv4) <= limits.maxComputeWorkgroupStorageSize);
  return bk === undefined ? null : { bq, bk };
}

/** Workgroups: query blocks along x, batches along y. */
export function attentionGroups(p: AttentionParams, t: AttentionTiling): [number, number] {
  return [Math.ceil(p.lq / t.bq), p.batch];
}

const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);
/** A finite f32 constant spelled by its bits (exact). */
function f32Const(x: number): string {
  f32Bits[0] = x;
  return `bitcast<f32>(0x${u32Bits[0].toString(16)}u)`;
}

const XYZW = ['x', 'y', 'z', 'w'];
const plus = (base: string, k: number) => (k ? `${base} + ${k}` : base);

/**
 * Statements filling `dst` (a vec4 array in workgroup memory) with `n` rows of `src` starting at
 * row `row0` (an expression), `width` floats a row, zero-padded to whole vec4s (the padding is
 * never used: the dot products skip it and the padded accumulators are not stored); all
 * invocations load consecutive vec4s.
 */
function stageRows(dst: string, src: string, row0: string, n: number, width: number, threads: number): string[] {
  const w4 = vec4s(width), rem = width % 4;
  const lines = [
    `for (var e = lid; e < ${n * w4}; e += ${threads}) {`,
    `let c = e % ${w4};`,
    `let at = (${row0} + e / ${w4}) * ${width} + 4 * c;`,
    `var x = vec4<f32>(${src}[at], 0f, 0f, 0f);`,
  ];
  const loads = [1, 2, 3].map((i) => `x.${XYZW[i]} = ${src}[at + ${i}];`);
  // Components past the row's end stay 0 (no read past it: at the last row it would be out of bounds).
  if (rem === 0) lines.push(...loads);
  else lines.push(...loads.slice(0, rem - 1), `if (c < ${w4 - 1}) {`, ...loads.slice(rem - 1), '}');
  lines.push(`${dst}[e] = x;`, '}');
  return lines;
}

/** The fused attention shader; bindings out, q, k, v[, mask]. */
export function attentionSource(p: AttentionParams, t: AttentionTiling): string {
  const { batch, lq: LQ, lk: LK, d: D, dv: DV } = p;
  const { bq: BQ, bk: BK } = t;
  const KC = Math.min(CHUNK, BK);
  const [D4, DV4] = [vec4s(D), vec4s(DV)];
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const scale = p.scale ? ` ${p.scale.op === 'mul' ? '*' : '/'} ${f32Const(p.scale.value)}` : '';
  // −∞ through a function: WGSL rejects a constant expression that evaluates to an infinity.
  const ninf = 'att_f32(0xff800000u)';
  const sum = (first: string, terms: string[]) => [first, ...terms].join(' + ');
  // Loops over the vec4s of a row are unrolled (the arrays then live in registers) up to
  // UNROLLED_VEC4S vec4s of q and acc together, and loops beyond (bounded shader size and
  // compile time; the arrays then live in private memory).
  const unrolled = D4 + DV4 <= UNROLLED_VEC4S;
  /** `f` for each vec4 index below n: unrolled with constant indices, or a loop over `c`. */
  const each = (n: number, f: (c: string) => string[]): string[] =>
    unrolled ? range(n).flatMap((c) => ['{', ...f(String(c)), '}']) : n ? [`for (var c = 0; c < ${n}; c++) {`, ...f('c'), '}'] : [];
  /** base + k + c, folded where c is a constant. */
  const at = (base: string, k: number, c: string) => (unrolled ? plus(base, k + Number(c)) : `${plus(base, k)} + c`);
  // The dot over d: att_dot4 for each whole vec4, att_dot{d % 4} for a partial last one (its padding is skipped).
  const dotFn = (n: number) =>
    `fn att_dot${n}(s: f32, a: vec4<f32>, b: vec4<f32>) -> f32 { return ${sum('s', range(n).map((i) => `a.${XYZW[i]} * b.${XYZW[i]}`))}; }`;

  /** One online-softmax step over `n` keys of the staged tile, from tile row `j0` (an expression). */
  const chunk = (j0: string, n: number): string[] => [
    '{',
    `let kb = ${j0} * ${D4};`,
    `let vb = ${j0} * ${DV4};`,
    ...range(n).map((j) => `var s${j} = 0f;`),
    // Sequential over d per key, as the unfused reduction: s + q.x·k.x + q.y·k.y + … (left to right).
    ...each(D4 - (D % 4 ? 1 : 0), (c) => [`let qc = qr[${c}];`, ...range(n).map((j) => `s${j} = att_dot4(s${j}, qc, ks[${at('kb', j * D4, c)}]);`)]),
    ...(D % 4 ? range(n).map((j) => `s${j} = att_dot${D % 4}(s${j}, qr[${D4 - 1}], ks[${plus('kb', j * D4 + D4 - 1)}]);`) : []),
    ...(scale ? range(n).map((j) => `s${j} = s${j}${scale};`) : []),
    ...(p.mask ? [`let mk = mb + k0 + ${j0};`, ...range(n).map((j) => `s${j} = s${j} + mask[${plus('mk', j)}];`)] : []),
    'let mOld = m;',
    ...range(n).map((j) => `m = att_max(m, s${j});`),
    `let mSafe = select(m, 0f, m == ${ninf});`,
    'let alpha = exp(mOld - mSafe);',
    ...range(n).map((j) => `let p${j} = exp(s${j} - mSafe);`),
    `l = ${sum('l * alpha', range(n).map((j) => `p${j}`))};`,
    ...each(DV4, (c) => [`o[${c}] = ${sum(`o[${c}] * alpha`, range(n).map((j) => `p${j} * vs[${at('vb', j * DV4, c)}]`))};`]),
    '}',
  ];
  /**
   * A staged tile of `n` keys from key `k0` (declared by the caller): load, barrier, its chunks,
   * and (unless it is the last tile) a barrier before the next tile overwrites it.
   */
  const tile = (n: number, last: boolean): string[] => {
    const whole = n - (n % KC);
    return [
      ...stageRows('ks', 'k', `b * ${LK} + k0`, n, D, BQ),
      ...stageRows('vs', 'v', `b * ${LK} + k0`, n, DV, BQ),
      'workgroupBarrier();',
      ...(whole > KC ? [`for (var j0 = 0; j0 < ${whole}; j0 += ${KC}) {`, ...chunk('j0', KC), '}'] : whole ? chunk('0', KC) : []),
      ...(n % KC ? chunk(String(whole), n % KC) : []),
      ...(last ? [] : ['workgroupBarrier();']),
    ];
  };

  const full = LK - (LK % BK);
  const body: string[] = [
    'let lid = i32(li);',
    'let b = i32(wid.y);',
    `let row = i32(wid.x) * ${BQ} + lid;`,
    `let qrow = min(row, ${LQ - 1});`,
    `let qb = (b * ${LQ} + qrow) * ${D};`,
    ...(p.mask ? [`let mb = (b * ${LQ} + qrow) * ${LK};`] : []),
    `var qr: array<vec4<f32>, ${D4}>;`,
    ...each(D4 - (D % 4 ? 1 : 0), (c) => [`let a = ${unrolled ? plus('qb', 4 * Number(c)) : 'qb + 4 * c'};`, `qr[${c}] = vec4<f32>(q[a], q[a + 1], q[a + 2], q[a + 3]);`]),
    ...(D % 4 ? [`qr[${D4 - 1}] = vec4<f32>(${range(4).map((i) => (4 * (D4 - 1) + i < D ? `q[${plus('qb', 4 * (D4 - 1) + i)}]` : '0f')).join(', ')});`] : []),
    `var m = ${ninf};`,
    'var l = 0f;',
    `var o: array<vec4<f32>, ${DV4}>;`,
    ...(full ? [`for (var k0 = 0; k0 < ${full}; k0 += ${BK}) {`, ...tile(BK, false), '}'] : []),
    ...(LK % BK ? ['{', `let k0 = ${full};`, ...tile(LK % BK, true), '}'] : []),
    `if (row < ${LQ}) {`,
    ...(p.guarded ? ['let lsum = select(l, 1f, l == 0f);'] : ['let lsum = l;']),
    `let ob = (b * ${LQ} + row) * ${DV};`,
    ...each(DV4 - (DV % 4 ? 1 : 0), (c) => [
      `let a = ${unrolled ? plus('ob', 4 * Number(c)) : 'ob + 4 * c'};`,
      `let x = o[${c}] / lsum;`,
      ...range(4).map((i) => `out[${plus('a', i)}] = x.${XYZW[i]};`),
    ]),
    ...(DV % 4 ? ['{', `let x = o[${DV4 - 1}] / lsum;`, ...range(DV % 4).map((i) => `out[${plus('ob', 4 * (DV4 - 1) + i)}] = x.${XYZW[i]};`), '}'] : []),
    '}',
  ];
  return [
    `// attention (fused, ${BQ} queries per workgroup, ${BK} keys per tile): f32[${batch}, ${LQ}, ${DV}] = softmax(q f32[${batch}, ${LQ}, ${D}] · kᵀ f32[${batch}, ${LK}, ${D}]${p.scale ? (p.scale.op === 'mul' ? ' · scale' : ' / scale') : ''}${p.mask ? ' + mask' : ''}${p.guarded ? ', guarded' : ''}) · v f32[${batch}, ${LK}, ${DV}]`,
    '@group(0) @binding(0) var<storage, read_write> out: array<f32>;',
    '@group(0) @binding(1) var<storage, read> q: array<f32>;',
    '@group(0) @binding(2) var<storage, read> k: array<f32>;',
    '@group(0) @binding(3) var<storage, read> v: array<f32>;',
    ...(p.mask ? ['@group(0) @binding(4) var<storage, read> mask: array<f32>;'] : []),
    `var<workgroup> ks: array<vec4<f32>, ${BK * D4}>;`,
    `var<workgroup> vs: array<vec4<f32>, ${BK * DV4}>;`,
    'fn att_f32(bits: u32) -> f32 { return bitcast<f32>(bits); }',
    'fn att_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }',
    '// max that propagates NaN (as reduce_max does)',
    'fn att_max(a: f32, b: f32) -> f32 { if (att_isnan(a) || att_isnan(b)) { return a + b; } return max(a, b); }',
    '// s + a·b over the first 4 (or D % 4) components, summed left to right',
    ...(D >= 4 ? [dotFn(4)] : []),
    ...(D % 4 ? [dotFn(D % 4)] : []),
    '',
    `@compute @workgroup_size(${BQ})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {',
    ...indentBlocks(body, 1),
    '}',
    '',
  ].join('\n');
}
