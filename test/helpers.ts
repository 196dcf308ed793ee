/**
 * Shared test support (no tests here; the runner only picks up `*.test.ts`): seeded random
 * data with plain-JS reference copies, index arithmetic for naive references, running on a
 * chosen backend, approximate and bitwise comparison, and the golden fixture
 * (`test/fixtures/core-golden.json`, schema in scripts/golden/README.md).
 */
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import type { Operand } from '../props/prim_cases.js';
import { NDArray } from '../src/core/array.js';
import { defaultBackend, getBackend, setDefaultBackend, type BackendName } from '../src/core/backends/backend.js';
import { storageOf } from '../src/core/dtype.js';
import { bind1 } from '../src/core/trace/trace.js';
import { lax, np, type Array as VArray, type DType } from '../src/index.js';

// ---------------------------------------------------------------- seeded data

/** A small seeded LCG returning floats in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** A reference array: plain JS numbers in row-major order. */
export interface Ref {
  shape: number[];
  data: number[];
}

/**
 * A sampler of random arrays drawn from `lcg(seed)`, each returned both as a vidax array and
 * as its `Ref`: float32 values in [-1, 1), or with `int` int32 values in [-intBound, intBound].
 */
export function refSampler(seed: number, intBound: number): (shape: number[], int?: boolean) => { ref: Ref; arr: VArray } {
  const rng = lcg(seed);
  return (shape, int = false) => {
    const data = Array.from({ length: prod(shape) }, () => (int ? Math.floor(rng() * (2 * intBound + 1)) - intBound : Math.fround(rng() * 2 - 1)));
    const arr = lax.reshape(np.array(int ? Int32Array.from(data) : Float32Array.from(data), int ? 'int32' : 'float32'), shape);
    return { ref: { shape, data }, arr };
  };
}

/** The multi-index of row-major flat index `f` in `shape`. */
export function unravel(f: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = f % shape[d];
    f = Math.floor(f / shape[d]);
  }
  return idx;
}

/** The row-major flat index of multi-index `idx` in `shape`. */
export function flatIndex(idx: readonly number[], shape: readonly number[]): number {
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d] + idx[d];
  return f;
}

/** The element of `r` at multi-index `idx`. */
export const at = (r: Ref, idx: readonly number[]): number => r.data[flatIndex(idx, r.shape)];

// ---------------------------------------------------------------- reading arrays back

export const vals = (x: VArray): number[] => Array.from(x.dataSync());
export const shapeOf = (x: VArray): number[] => [...x.shape];

/** A reshape that needs nothing beyond the core primitive (no np-level checks). */
export const reshapeTo = (x: VArray, shape: number[]): VArray => bind1('reshape', [x], { newSizes: shape }) as VArray;
/** A transpose that needs nothing beyond the core primitive. */
export const transposeView = (x: VArray, permutation: number[]): VArray => bind1('transpose', [x], { permutation }) as VArray;
/** A reversal that needs nothing beyond the core primitive. */
export const revView = (x: VArray, dimensions: number[]): VArray => bind1('rev', [x], { dimensions }) as VArray;

// ---------------------------------------------------------------- backends

/** Run `fn` with `name` as the default backend (constants and zero-operand primitives go there). */
export function onBackend<T>(name: BackendName, fn: () => T): T {
  const saved = defaultBackend().name;
  setDefaultBackend(name);
  try {
    return fn();
  } finally {
    setDefaultBackend(saved);
  }
}

/** An operand of the case tables (`props/prim_cases.ts`) as an array on backend `name`, built directly (no primitive). */
export const put = (name: BackendName, o: Operand): NDArray => NDArray.fromData(getBackend(name), new (storageOf(o.dtype))(o.data), o.shape, o.dtype);

// ---------------------------------------------------------------- approximate comparison

export interface Tolerance {
  rtol?: number;
  atol?: number;
  /**
   * How the two tolerances combine into the allowed |got − want|: `'sum'` (default, NumPy's
   * `isclose`): atol + rtol·|want|; `'max'`: max(atol, rtol·|want|), i.e. absolute below 1
   * and relative above when both are the same `tol`.
   */
  combine?: 'sum' | 'max';
  /** A zero `want` also needs a zero of the same sign. */
  signedZero?: boolean;
}

/** Absolute below |want| = 1, relative above: `{ rtol: tol, atol: tol, combine: 'max' }`. */
export const scaledTol = (tol: number): Tolerance => ({ rtol: tol, atol: tol, combine: 'max' });

/** Whether `got` is close to `want`: NaN matches NaN, infinities match exactly, else within the tolerance. */
export function isClose(got: number, want: number, { rtol = 0, atol = 0, combine = 'sum', signedZero = false }: Tolerance = {}): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  if (signedZero && want === 0) return Object.is(got, want);
  const allowed = combine === 'max' ? Math.max(atol, rtol * Math.abs(want)) : atol + rtol * Math.abs(want);
  return Math.abs(got - want) <= allowed;
}

const fmt = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));

/** Assert equal lengths and `isClose` elementwise; the message lists the first mismatches. */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) if (!isClose(got[i], want[i], tol)) bad.push(`[${i}] got ${fmt(got[i])}, want ${fmt(want[i])}`);
  const { rtol = 0, atol = 0, combine = 'sum' } = tol;
  assert.ok(bad.length === 0, `${what}: ${bad.length}/${want.length} mismatches (rtol ${rtol}, atol ${atol}, ${combine}): ${bad.slice(0, 8).join('; ')}`);
}

/** `got` has the reference's shape and its values within `scaledTol(tol)`. */
export function assertCloseToRef(got: VArray, want: Ref, what: string, tol = 1e-5): void {
  assert.equal(got.shape, want.shape, `${what}: shape`);
  assertClose(got.dataSync(), want.data, scaledTol(tol), what);
}

/** `x`'s values (flat, row-major) within atol = rtol = `tol` of `expected`. */
export function assertValuesClose(x: VArray, expected: number[], tol = 1e-6, msg = ''): void {
  assertClose(x.dataSync(), expected, { rtol: tol, atol: tol }, msg);
}

/** Bit-for-bit equal values (NaN matches any NaN; ±0 differ): the first difference fails. */
export function assertBits(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.is(got.length, want.length, `${what}: size`);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i])))
      assert.unreachable(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
}

// ---------------------------------------------------------------- golden fixture

/** A fixture number: non-finite values are spelled as strings in JSON. */
export type Num = number | 'nan' | 'inf' | '-inf';
export interface Tensor {
  shape: number[];
  dtype: DType;
  data: Num[];
}
export interface GoldenCase {
  name: string;
  op: string;
  inputs: Record<string, Tensor>;
  params: Record<string, unknown>;
  expected: Tensor | Record<string, Tensor>;
  tolerance?: { rtol: number; atol: number };
}

/** Every case of `test/fixtures/core-golden.json`. */
export function goldenCases(): GoldenCase[] {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/core-golden.json', import.meta.url), 'utf8')) as { cases: GoldenCase[] };
  return fixture.cases;
}

export const decode = (v: Num): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v);

/** A fixture tensor as an array (exact for float32 and int32 values). */
export function fixtureArray(t: Tensor): VArray {
  const data = t.data.map(decode);
  const flat =
    t.dtype === 'float32' ? np.array(Float32Array.from(data), t.dtype)
    : t.dtype === 'int32' ? np.array(Int32Array.from(data), t.dtype)
    : t.dtype === 'uint32' ? np.array(Uint32Array.from(data), t.dtype)
    : np.array(data, t.dtype);
  return lax.reshape(flat, t.shape);
}

/**
 * Check `actual` against a single-tensor expected value of `c`: shape, dtype, then values with
 * the case's tolerance (`defaultTol` when it has none).
 */
export function assertGolden(c: GoldenCase, actual: VArray, defaultTol: { rtol: number; atol: number }, opts: { signedZero?: boolean } = {}): void {
  const exp = c.expected as Tensor;
  assert.ok('shape' in exp, `${c.name}: expected must be a single tensor`);
  assert.equal([...actual.shape], exp.shape, `${c.name}: shape`);
  assert.is(actual.dtype, exp.dtype, `${c.name}: dtype`);
  assertClose(actual.dataSync(), exp.data.map(decode), { ...(c.tolerance ?? defaultTol), signedZero: opts.signedZero }, `${c.name} (${c.op})`);
}

// ---------------------------------------------------------------- errors

/** Assert that `fn` throws an instance of `cls` whose message matches every pattern; returns the error. */
export function assertThrows(fn: () => unknown, cls: abstract new (...args: never[]) => Error, ...patterns: RegExp[]): Error {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (err === undefined) assert.unreachable(`expected a ${cls.name} matching ${patterns.join(', ')}, but nothing was thrown`);
  assert.ok(err instanceof cls, `expected a ${cls.name}, got ${err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)}`);
  const e = err as Error;
  for (const p of patterns) assert.match(e.message, p, `${cls.name} message "${e.message}" should match ${p}`);
  return e;
}
