/**
 * The checks of the WebGPU parity suites (no tests here): how a WebGPU result is compared with
 * the CPU oracle's (the tolerances per primitive, subnormal flushing, f32 sums), and runners for
 * the case groups of `parity_cases.ts` / `props/prim_cases.ts`. Both suites run the groups:
 * `webgpu_parity.test.ts` on Dawn in Node (its file comment explains the tolerances; its
 * hand-built kernels use the comparison here too) and `webgpu_browser.test.ts` in headless
 * Chromium (bundled with `browser/parity_page.ts`: nothing here may need Node; the bundle stubs
 * the `node:fs` that `helpers.ts` imports for its golden fixture).
 *
 * A group runner checks every case and collects every mismatching element (a message each)
 * rather than stopping at the first, so one report shows everything a new adapter gets wrong.
 * Environment (read only where `process` exists): WEBGPU_PARITY_REPORT=1 keeps the largest
 * error per primitive (`worst`), WEBGPU_PARITY_KEEP_GOING=1 prints every mismatch,
 * WEBGPU_PARITY_TRACE=1 prints each case before it runs.
 */
import fc from 'fast-check';
import * as assert from 'uvu/assert';
import { NDArray } from '../src/core/array.js';
import type { BackendName } from '../src/core/backends/backend.js';
import type { DType, TypedArray } from '../src/core/dtype.js';
import type { Prim } from '../src/core/trace/primitive.js';
import { bind } from '../src/core/trace/trace.js';
import type { Value } from '../src/core/trace/value.js';
import { jit, scope, tree, type Array as VArray } from '../src/index.js';
import { CASES, applyPrim, describe, hashSeed, operands, type Operand, type PrimCase, type Spec } from '../props/prim_cases.js';
import { onBackend, prod, put } from './helpers.js';
import { BINARY, EDGES, FLOAT_EDGES, JIT_CASES, SEED, TRANSFORM_CASES, UNARY, edgeOperands } from './parity_cases.js';

export const ORACLE: BackendName = 'cpu';
export const TARGET: BackendName = 'webgpu';
const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
const REPORT = !!env.WEBGPU_PARITY_REPORT;
const KEEP_GOING = !!env.WEBGPU_PARITY_KEEP_GOING;
const TRACE = !!env.WEBGPU_PARITY_TRACE;

// ------------------------------------------------------------------ comparison

export type Tol =
  | { readonly kind: 'exact' }
  /** `ulpsAt`: a bound that depends on the operands (pow); `domain`: where the first operand is compared. */
  | {
      readonly kind: 'ulp';
      readonly ulps: number;
      readonly domain?: (x: number) => boolean;
      readonly ulpsAt?: (x: number, y: number) => number;
      /** An absolute error also accepted (for results near a zero of the function). */
      readonly atol?: (w: number) => number;
    }
  /** An f32 sum of `k` terms; `abs`: Σ|terms| per element (the oracle on absolute values). */
  | { readonly kind: 'sum'; readonly k: number; readonly abs: ArrayLike<number> }
  | { readonly kind: 'prod'; readonly k: number }
  | { readonly kind: 'close' };
export const EXACT: Tol = { kind: 'exact' };
export const CLOSE: Tol = { kind: 'close' };

const f32Bits = new Float32Array(1), u32Bits = new Uint32Array(f32Bits.buffer);
/** An integer whose order is that of the floats (±0 both 0), for ULP distances. */
function ordinal(x: number): number {
  f32Bits[0] = x;
  const b = u32Bits[0];
  return b >= 0x80000000 ? -(b - 0x80000000) : b;
}
const ulpDistance = (a: number, b: number) => Math.abs(ordinal(a) - ordinal(b));
/** Equal values; for float32, NaN matches any NaN and ±0 match (WGSL does not keep the sign of a zero: llvmpipe folds x + 0.0 to x). */
const sameValue = (g: number, w: number, dtype: DType): boolean => (dtype === 'float32' ? (Number.isNaN(w) ? Number.isNaN(g) : g === w) : Object.is(g, w));
/** WGSL may flush subnormal operands to zero: transcendentals are compared on normal operands only. */
export const isSubnormal = (x: number) => x !== 0 && Math.abs(x) < 2 ** -126;

/** Largest error per primitive (WEBGPU_PARITY_REPORT mode). */
export const worst = new Map<string, { ulps: number; ratio: number; at: string }>();

/** Whether `g` is acceptable for the oracle's `w` (element `i`; `input`: the operand value of an elementwise op). */
function within(g: number, w: number, dtype: DType, tol: Tol, i: number, scale: number, input?: number, key = '', other?: number): boolean {
  // A device may flush a subnormal result to zero (WGSL allows it).
  if (dtype === 'float32' && g === 0 && isSubnormal(w)) return true;
  if (dtype !== 'float32' || tol.kind === 'exact' || sameValue(g, w, dtype)) return sameValue(g, w, dtype);
  if (Number.isNaN(w) || Number.isNaN(g)) return false;
  if (!Number.isFinite(w) && tol.kind !== 'sum' && tol.kind !== 'prod') return false;
  const note = (ulps: number, ratio: number) => {
    if (!REPORT) return;
    const cur = worst.get(key);
    if (!cur || ulps > cur.ulps || ratio > cur.ratio)
      worst.set(key, { ulps: Math.max(ulps, cur?.ulps ?? 0), ratio: Math.max(ratio, cur?.ratio ?? 0), at: `x=${input} got ${g} want ${w}` });
  };
  switch (tol.kind) {
    case 'ulp': {
      if (input !== undefined && (isSubnormal(input) || (tol.domain && !tol.domain(input)))) return true;
      if (other !== undefined && isSubnormal(other)) return true;
      const d = ulpDistance(g, w);
      if (tol.atol && Math.abs(g - w) <= tol.atol(w)) return true;
      note(d, 0);
      return d <= (tol.ulpsAt && input !== undefined && other !== undefined ? tol.ulpsAt(input, other) : tol.ulps);
    }
    case 'sum': {
      const bound = (tol.k + 2) * 2 ** -24 * tol.abs[i];
      if (!Number.isFinite(bound)) return true;
      note(0, Math.abs(g - w) / bound);
      return Math.abs(g - w) <= bound;
    }
    case 'prod': {
      if (!Number.isFinite(w)) return Object.is(g, w);
      const bound = (tol.k + 2) * 2 ** -24 * Math.abs(w);
      note(0, Math.abs(g - w) / bound);
      return Math.abs(g - w) <= bound;
    }
    case 'close':
      note(0, Math.abs(g - w) / (1e-4 * Math.abs(w) + 1e-5 * scale));
      return Number.isFinite(w) ? Math.abs(g - w) <= 1e-4 * Math.abs(w) + 1e-5 * scale : false;
  }
}

/** Where an element is compared: its operands (elementwise ops), and the oracle's results on flushed operands. */
export interface Context {
  /** The operand of each element of an elementwise op (for domains and bounds). */
  readonly inputs?: ArrayLike<number>;
  /** Its second operand (for operand-dependent bounds and subnormal checks). */
  readonly others?: ArrayLike<number>;
  /** The oracle's results with subnormal operands flushed to ±0: also accepted (a device may flush them). */
  readonly flushed?: ArrayLike<number>;
  /** Further accepted results (hand-built kernels: with only their constants flushed, as the renderer does). */
  readonly alts?: readonly ArrayLike<number>[];
  /** The primitive (REPORT mode). */
  readonly key?: string;
}

/** Where a group runner collects every mismatching element of the case it runs (null: the first one throws). */
let mismatches: string[] | null = null;

export function compare(g: TypedArray, w: TypedArray, dtype: DType, what: string, tol: Tol, ctx: Context = {}): void {
  const { inputs, others, key } = ctx;
  const alts = [...(ctx.flushed ? [ctx.flushed] : []), ...(ctx.alts ?? [])];
  assert.is(g.length, w.length, `${what}: size`);
  let scale = 0;
  for (let i = 0; i < w.length; i++) if (Number.isFinite(w[i])) scale = Math.max(scale, Math.abs(w[i]));
  for (let i = 0; i < w.length; i++)
    if (
      !within(g[i], w[i], dtype, tol, i, scale, inputs?.[i], key, others?.[i]) &&
      // A flushing device may also pass a subnormal through a move (select, max) unflushed.
      !alts.some((alt) => within(dtype === 'float32' ? flushValue(g[i]) : g[i], alt[i], dtype, tol, i, scale, inputs?.[i], key, others?.[i]))
    ) {
      const msg = `${what}: element ${i}${inputs ? ` (operand ${inputs[i]})` : ''} is ${g[i]}, the oracle says ${w[i]} (${tol.kind}${tol.kind === 'ulp' ? ` ${tol.ulps}` : ''})`;
      if (KEEP_GOING) console.log(`MISMATCH ${msg}`);
      else if (mismatches) mismatches.push(msg);
      else assert.unreachable(msg);
    }
}

/** Same shape, dtype and weak type, and values within `tol` (the target array is read with `await data()`); `flushedWant`: see `Context`. */
export async function assertSame(got: VArray, want: VArray, what: string, tol: Tol = EXACT, ctx: Omit<Context, 'flushed'> = {}, flushedWant?: VArray): Promise<void> {
  assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  assert.is(got.dtype, want.dtype, `${what}: dtype`);
  assert.is(got.weakType, want.weakType, `${what}: weak type`);
  compare(await got.data(), want.dataSync(), want.dtype, what, tol, { ...ctx, flushed: flushedWant?.dataSync() });
}

export async function assertSameTree(got: unknown, want: unknown, what: string, tol: Tol = CLOSE, flushedWant?: unknown): Promise<void> {
  const [gl, gd] = tree.flatten(got as tree.PyTree<VArray>);
  const [wl, wd] = tree.flatten(want as tree.PyTree<VArray>);
  const fl = flushedWant === undefined ? undefined : tree.leaves(flushedWant as tree.PyTree<VArray>);
  assert.ok(gd.equals(wd), `${what}: output structure ${gd} vs ${wd}`);
  for (const [i, w] of wl.entries()) {
    assert.is((gl[i] as NDArray).backend.name, TARGET, `${what}: output ${i} backend`);
    await assertSame(gl[i], w, `${what}: output ${i}`, tol, {}, fl?.[i]);
  }
}

/** A subnormal float32 value as the ±0 a flushing device sees. */
export const flushValue = (x: number) => (isSubnormal(Math.fround(x)) ? (x < 0 ? -0 : 0) : x);
const hasSubnormals = (ops: readonly Operand[]) => ops.some((o) => o.dtype === 'float32' && o.data.some((v) => isSubnormal(Math.fround(v))));
/** The operands with subnormal floats flushed, or null if there are none. */
export const flushedOps = (ops: readonly Operand[]): Operand[] | null =>
  hasSubnormals(ops) ? ops.map((o) => (o.dtype === 'float32' ? { ...o, data: o.data.map(flushValue) } : o)) : null;

/** `fn` on the target inside a scope that keeps only its result's arrays, which the caller disposes. */
export function onTarget<T>(fn: () => T): T {
  return onBackend(TARGET, () => scope(fn));
}
export function disposeAll(x: unknown): void {
  for (const a of tree.leaves(x as tree.PyTree<unknown>)) if (a instanceof NDArray) a.dispose();
}

// ------------------------------------------------------------------ tolerances per primitive

/** sin/cos/tan reduce exactly up to |x| = 8192 (see `vx_sincos`); beyond, the device's builtins (WGSL promises nothing there). */
const trigDomain = (x: number) => Math.abs(x) <= 8192;
/** Near a zero of sin or cos the ULP is tiny: ≤ 2⁻²² absolute is also accepted (tan: scaled by its derivative 1 + tan²). */
const trigAtol = () => 2 ** -22;
const tanAtol = (w: number) => 2 ** -22 * (1 + w * w);
/**
 * ULP bounds, about twice the largest error llvmpipe shows (PROPS_RUNS=12 with WEBGPU_PARITY_REPORT=1:
 * exp 3, expm1 4, log 2, log1p 2, tanh 2, logistic 2, sin/cos 1, tan 2, atan/atan2 1, erf 3,
 * rsqrt 1, pow 10 at |y·log2 x| ≈ 50) and within what the helpers promise (`render/wgsl.ts`).
 * pow through exp2(y·log2|x|) loses about |y·log2 x| ULP (log2's error scaled by y).
 */
export const ULPS: Partial<Record<Prim, Tol>> = {
  div: { kind: 'ulp', ulps: 3 },
  exp: { kind: 'ulp', ulps: 6 }, expm1: { kind: 'ulp', ulps: 8 }, log: { kind: 'ulp', ulps: 4 }, log1p: { kind: 'ulp', ulps: 4 },
  sqrt: { kind: 'ulp', ulps: 2 }, rsqrt: { kind: 'ulp', ulps: 3 }, tanh: { kind: 'ulp', ulps: 6 }, logistic: { kind: 'ulp', ulps: 6 },
  sin: { kind: 'ulp', ulps: 4, domain: trigDomain, atol: trigAtol }, cos: { kind: 'ulp', ulps: 4, domain: trigDomain, atol: trigAtol },
  tan: { kind: 'ulp', ulps: 8, domain: trigDomain, atol: tanAtol },
  atan: { kind: 'ulp', ulps: 4 }, atan2: { kind: 'ulp', ulps: 6 }, erf: { kind: 'ulp', ulps: 8 }, erf_inv: { kind: 'ulp', ulps: 8 },
  pow: { kind: 'ulp', ulps: 16, ulpsAt: (x, y) => 16 + Math.abs(y * Math.log2(Math.abs(x))) },
};
/** Primitives whose float results are f32 sums over `k` terms (k from the spec). */
const SUMS: Partial<Record<Prim, (spec: Spec) => number>> = {
  reduce_sum: (s) => prod((s.params.axes as number[]).map((a) => s.shapes[0][a])),
  cumsum: (s) => s.shapes[0][s.params.axis as number],
  reduce_window_sum: (s) => prod(s.params.windowDimensions as number[]),
  dot_general: (s) => prod((s.params as { dimensionNumbers: { contracting: number[][] } }).dimensionNumbers.contracting[0].map((d) => s.shapes[0][d])),
  conv_general_dilated: (s) => prod(s.shapes[1]) ,
};
const PRODS: Partial<Record<Prim, (spec: Spec) => number>> = {
  reduce_prod: (s) => prod((s.params.axes as number[]).map((a) => s.shapes[0][a])),
  cumprod: (s) => s.shapes[0][s.params.axis as number],
};
/** Edge values for accumulating primitives: no values whose f32 products or sums overflow or flush (see the file comment). */
export const TAME_EDGES = FLOAT_EDGES.filter((v) => !(Math.abs(v) >= 1e9 || (v !== 0 && Math.abs(v) < 1e-30)));
export const accumulates = (p: Prim) => p in SUMS || p in PRODS;

function primTol(c: PrimCase, spec: Spec, ops: Operand[]): Tol {
  if (!spec.dtypes.includes('float32') && c.prim !== 'iota') return EXACT;
  const u = ULPS[c.prim];
  if (u) return u;
  const k = SUMS[c.prim];
  if (k) {
    const abs = ops.map((o) => ({ ...o, data: o.dtype === 'float32' ? o.data.map(Math.abs) : o.data }));
    const sums = onBackend(ORACLE, () => (applyPrim(c, spec, abs.map((o) => put(ORACLE, o)))[0] as VArray).dataSync().slice());
    return { kind: 'sum', k: Math.max(1, k(spec)), abs: sums };
  }
  const kp = PRODS[c.prim];
  if (kp) return { kind: 'prod', k: Math.max(1, kp(spec)) };
  return EXACT;
}

export async function checkPrim(c: PrimCase, spec: Spec, ops: Operand[], what: string): Promise<void> {
  if (TRACE) console.log(what);
  const tol = primTol(c, spec, ops);
  const want = onBackend(ORACLE, () => applyPrim(c, spec, ops.map((o) => put(ORACLE, o))));
  const fops = flushedOps(ops);
  const flushed = fops && onBackend(ORACLE, () => applyPrim(c, spec, fops.map((o) => put(ORACLE, o))));
  const got = onTarget(() => applyPrim(c, spec, ops.map((o) => put(TARGET, o))));
  try {
    assert.is(got.length, want.length, `${what}: number of outputs`);
    // Elementwise ulp-compared primitives: the operands of each element (for domains and operand-dependent bounds).
    const n = prod(want[0].shape);
    const elementwise = tol.kind === 'ulp' && ops.every((o) => o.data.length === n);
    const [inputs, others] = elementwise ? [ops[0]?.data.map(Math.fround), ops[1]?.data.map(Math.fround)] : [];
    for (const [k, w] of want.entries()) {
      assert.is((got[k] as NDArray).backend.name, TARGET, `${what}: output ${k} backend`);
      await assertSame(got[k] as VArray, w as VArray, `${what}: output ${k}`, tol, { inputs, others, key: c.prim }, flushed?.[k] as VArray | undefined);
    }
  } finally {
    disposeAll(got);
  }
}

/** `prim` on both backends, or where the oracle rejects the operands, the target must reject them too. */
export async function bothOrNull(prim: Prim, ops: Operand[], params: object, what: string, tol: Tol): Promise<void> {
  let want: Value[];
  try {
    want = onBackend(ORACLE, () => bind(prim, ops.map((o) => put(ORACLE, o)), params as never));
  } catch {
    assert.throws(() => onTarget(() => bind(prim, ops.map((o) => put(TARGET, o)), params as never)), `${what}: the oracle rejects it`);
    return;
  }
  const fops = flushedOps(ops);
  const flushed = fops && onBackend(ORACLE, () => bind(prim, fops.map((o) => put(ORACLE, o)), params as never));
  const got = onTarget(() => bind(prim, ops.map((o) => put(TARGET, o)), params as never));
  try {
    const [inputs, others] = [ops[0]?.data.map(Math.fround), ops[1]?.data.map(Math.fround)];
    for (const [k, w] of want.entries())
      await assertSame(got[k] as VArray, w as VArray, `${what}: output ${k}`, tol, { inputs, others, key: prim }, flushed?.[k] as VArray | undefined);
  } finally {
    disposeAll(got);
  }
}


// ------------------------------------------------------------------ case groups

/** The outcome of a case group: cases checked, and one message per mismatching element or other failure. */
export interface GroupResult {
  readonly group: string;
  readonly checked: number;
  readonly failures: string[];
  readonly ms: number;
}

/** Fail unless the group checked some cases and all passed; the message lists the first 20 failures. */
export function assertGroupPassed(g: GroupResult): void {
  assert.ok(g.checked > 0, `${g.group}: no cases ran`);
  const shown = g.failures.slice(0, 20).join('\n  ');
  assert.is(g.failures.length, 0, `${g.failures.length} mismatches in ${g.checked} cases:\n  ${shown}`);
}

/** A named check. */
type Case = [what: string, check: () => Promise<void>];

/**
 * Run `cases`, each checked on its own: every element that differs from the oracle is recorded
 * (one message each, starting with the case's name), as is any other error, and the next case runs.
 */
async function runGroup(group: string, cases: Iterable<Case>): Promise<GroupResult> {
  const t0 = performance.now();
  let checked = 0;
  const failures: string[] = [];
  for (const [what, check] of cases) {
    checked++;
    mismatches = [];
    try {
      await check();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      failures.push(msg.startsWith(what) ? msg : `${what}: ${msg}`);
    } finally {
      failures.push(...mismatches);
      mismatches = null;
    }
  }
  return { group, checked, failures, ms: Math.round(performance.now() - t0) };
}

/** Every first-order primitive eagerly, on `runs` specs each with smooth and with edge data. */
export function primitiveGroup(runs: number): Promise<GroupResult> {
  return runGroup('every primitive (eager, smooth and edge data)', (function* (): Generator<Case> {
    for (const c of CASES) {
      const specs = fc.sample(c.spec, { seed: hashSeed(SEED, c.prim.length), numRuns: runs });
      for (const [k, spec] of specs.entries()) {
        const seed = hashSeed(SEED, k);
        const smooth = `${describe(c, spec)} (smooth data, run ${k})`, edge = `${describe(c, spec)} (edge data, run ${k})`;
        yield [smooth, () => checkPrim(c, spec, operands(c, spec, seed), smooth)];
        yield [edge, () => checkPrim(c, spec, edgeOperands(spec, seed, accumulates(c.prim) ? TAME_EDGES : FLOAT_EDGES), edge)];
      }
    }
  })());
}

/** Every elementwise primitive on every pair of edge values of every dtype, casts, bitcasts and select. */
export function edgePairGroup(): Promise<GroupResult> {
  return runGroup('elementwise primitives on every pair of edge values', (function* (): Generator<Case> {
    const all: DType[] = ['float32', 'int32', 'uint32', 'bool'];
    for (const d of all) {
      const e = EDGES[d];
      const tolOf = (p: Prim) => (d === 'float32' ? (ULPS[p] ?? EXACT) : EXACT);
      const one: Operand[] = [{ shape: [e.length], dtype: d, data: [...e] }];
      for (const p of UNARY) yield [`${p}(${d} edges)`, () => bothOrNull(p, one, {}, `${p}(${d} edges)`, tolOf(p))];
      const a = e.flatMap((v) => e.map(() => v)), b = e.flatMap(() => e);
      const two: Operand[] = [{ shape: [a.length], dtype: d, data: a }, { shape: [b.length], dtype: d, data: b }];
      for (const p of BINARY) yield [`${p}(${d} edge pairs)`, () => bothOrNull(p, two, {}, `${p}(${d} edge pairs)`, tolOf(p))];
      for (const to of all) {
        yield [`convert ${d} → ${to}`, () => bothOrNull('convert_element_type', one, { newDtype: to, weakType: false }, `convert ${d} → ${to}`, EXACT)];
        if (d !== 'bool' && to !== 'bool')
          yield [`bitcast ${d} → ${to}`, () => bothOrNull('bitcast_convert_type', one, { newDtype: to }, `bitcast ${d} → ${to}`, EXACT)];
      }
      const pred: Operand = { shape: [a.length], dtype: 'bool', data: a.map((_, i) => ((i * 7) % 3 === 0 ? 1 : 0)) };
      yield [`select_n(${d})`, () => bothOrNull('select_n', [pred, ...two], {}, `select_n(${d})`, EXACT)];
    }
  })());
}

/** The jit cases of `parity_cases.ts`, jit-compiled and eagerly, with WebGPU as the default backend. */
export function jitGroup(): Promise<GroupResult> {
  return runGroup('jit-compiled fused functions (and eagerly)', (function* (): Generator<Case> {
    for (const [name, f, ops] of JIT_CASES)
      yield [name, async () => {
        const fops = flushedOps(ops);
        const flushed = fops ? onBackend(ORACLE, () => f(...fops.map((o) => put(ORACLE, o)))) : undefined;
        const want = onBackend(ORACLE, () => jit(f)(...ops.map((o) => put(ORACLE, o))));
        const got = onTarget(() => jit(f)(...ops.map((o) => put(TARGET, o))));
        try {
          await assertSameTree(got, want, `jit ${name}`, CLOSE, flushed);
        } finally {
          disposeAll(got);
        }
        const eagerWant = onBackend(ORACLE, () => f(...ops.map((o) => put(ORACLE, o))));
        const eager = onTarget(() => f(...ops.map((o) => put(TARGET, o))));
        try {
          await assertSameTree(eager, eagerWant, `eager ${name}`, CLOSE, flushed);
        } finally {
          disposeAll(eager);
        }
      }];
  })());
}

/** The grad / vmap / jvp compositions of `parity_cases.ts`. */
export function transformGroup(): Promise<GroupResult> {
  return runGroup('grad, vmap and jvp compositions', (function* (): Generator<Case> {
    for (const [name, run] of TRANSFORM_CASES)
      yield [name, async () => {
        const want = onBackend(ORACLE, () => run((o) => put(ORACLE, o)));
        const got = onTarget(() => run((o) => put(TARGET, o)));
        try {
          await assertSameTree(got, want, name);
        } finally {
          disposeAll(got);
        }
      }];
  })());
}
