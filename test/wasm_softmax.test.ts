/**
 * The wasm backend's fused softmax (`wasm/softmax.ts`), against a definitional reference of
 * the composition it replaces — m = max (NaN if any NaN), m' = finite(m) ? m : 0 when guarded,
 * e = fl(exp(x − m')) (the oracle's f64 exp rounded), s = fl(Σ e in f64), s' = s = 0 ? 1 : s when
 * guarded, out = fl(e / s'):
 *
 * - NaN exactly where the reference is NaN, every other element within
 *   48·2⁻²⁴·|ref| + 2⁻¹⁴⁷. The budget, in units u = 2⁻²⁴ of relative error: the element's exp
 *   (2 ulps ≤ 4u) and the same in the sum's terms (4u), f32 lanes over chunks of 32 terms (31u),
 *   the sum's f64 combination and f32 rounding (u), the reference's own roundings of s and of
 *   the quotient (2u), and the reciprocal's extra rounding (2u): 44u, rounded up; the absolute
 *   term covers subnormal results (exp's 2 ulps there are 2⁻¹⁴⁸);
 * - over rows of every kind (smooth, wide ranges that leave the exp's in-range path, −∞ and
 *   −1e9 masks, all −∞, NaN, +∞, equal values, results deep in the subnormals, one large term
 *   among many an f32 sum would drop) and widths
 *   around the vector and chunk boundaries, guarded and unguarded;
 * - the same bits for any thread split; `jit(nn.softmax)` on wasm runs the routine (one fused
 *   step) and agrees with the CPU oracle's kernels; a softmax under `grad` keeps its kernels.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WasmBackend } from '../src/core/backends/runtime/wasm.js';
import { defaultBackendName, getBackend, setDefaultBackend, type BackendName } from '../src/core/backends/backend.js';
import { config, grad, jit, nn, np, type Array as VArray } from '../src/index.js';

const wasm = getBackend('wasm') as WasmBackend;

/** The fused routine on `rows` rows of `cols` (uploading and freeing its buffers). */
function fused(x: Float32Array, rows: number, cols: number, guarded: boolean): Float32Array {
  const xb = wasm.upload('float32', x), ob = wasm.alloc('float32', rows * cols);
  try {
    wasm.fused('softmax', [xb], [ob], { rows, cols, guarded });
    return new Float32Array(wasm.readSync(ob) as Float32Array);
  } finally {
    wasm.free(xb);
    wasm.free(ob);
  }
}

/** The composition nn.softmax stages, as the oracle evaluates it (see the file comment). */
function reference(x: Float32Array, rows: number, cols: number, guarded: boolean): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    let m = -Infinity;
    for (const v of row) m = Number.isNaN(v) || Number.isNaN(m) ? NaN : Math.max(m, v);
    if (guarded && !Number.isFinite(m)) m = 0;
    const e = row.map((v) => Math.fround(Math.exp(Math.fround(v - m))));
    let s = 0;
    for (const v of e) s += v;
    s = Math.fround(s);
    if (guarded && s === 0) s = 1;
    for (let j = 0; j < cols; j++) out[r * cols + j] = Math.fround(e[j] / s);
  }
  return out;
}

const TOL_REL = 48 * 2 ** -24, TOL_ABS = 2 ** -147;

function assertClose(got: Float32Array, want: Float32Array, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (!(Number.isNaN(w) && Number.isNaN(g))) assert.unreachable(`${what}: [${i}] = ${g}, expected ${w}`);
      continue;
    }
    if (!(Math.abs(g - w) <= TOL_REL * Math.abs(w) + TOL_ABS) && g !== w) assert.unreachable(`${what}: [${i}] = ${g}, expected ${w} (|Δ| = ${Math.abs(g - w)})`);
  }
}

/** A deterministic generator in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Rows of each kind (see the file comment): element j of a row of `cols`. */
const KINDS: Record<string, (j: number, cols: number, u: () => number) => number> = {
  smooth: (_, __, u) => (u() - 0.5) * 8,
  wide: (_, __, u) => (u() - 0.5) * 240,
  masked: (j, _, u) => (j % 3 === 1 ? -Infinity : (u() - 0.5) * 6),
  bigMask: (j, _, u) => (j % 4 === 2 ? -1e9 : (u() - 0.5) * 6),
  allMasked: () => -Infinity,
  nan: (j, cols, u) => (j === cols >> 1 ? NaN : u()),
  posInf: (j, cols, u) => (j === cols - 1 ? Infinity : (u() - 0.5) * 200),
  equal: () => 3.25,
  subnormal: (j, cols) => -(j / Math.max(1, cols - 1)) * 104,
  // e = 1 then many e ≈ 5.6·10⁻⁸ < ulp(1)/2: an f32 lane holding the 1 drops every one of them (the chunks bound the loss)
  oneBig: (j) => (j === 0 ? 0 : -16.7),
};

test('matches the composition on every kind of row, widths around the vector and chunk sizes, guarded or not', () => {
  const u = rng(7);
  const kinds = Object.values(KINDS);
  for (const cols of [1, 2, 3, 4, 5, 7, 8, 31, 127, 128, 129, 130, 257, 515, 1029]) {
    const rows = kinds.length;
    const x = new Float32Array(rows * cols);
    kinds.forEach((k, r) => {
      for (let j = 0; j < cols; j++) x[r * cols + j] = k(j, cols, u);
    });
    for (const guarded of [true, false]) assertClose(fused(x, rows, cols, guarded), reference(x, rows, cols, guarded), `cols ${cols}, guarded ${guarded}`);
  }
});

test('special rows give the composition\'s special values', () => {
  const row = (vals: number[], guarded: boolean) => Array.from(fused(Float32Array.from(vals), 1, vals.length, guarded));
  assert.equal(row([-Infinity, -Infinity, -Infinity, -Infinity, -Infinity], true), [0, 0, 0, 0, 0], 'all −∞, guarded: 0');
  assert.ok(row([-Infinity, -Infinity, -Infinity, -Infinity, -Infinity], false).every(Number.isNaN), 'all −∞, unguarded: NaN');
  assert.ok(row([1, 2, NaN, 4, 5], true).every(Number.isNaN), 'a NaN makes the row NaN');
  const inf = row([1, Infinity, 2, 3, 4], true);
  assert.ok(Number.isNaN(inf[1]) && [0, 2, 3, 4].every((j) => inf[j] === 0), '+∞, guarded: e/∞');
  assert.equal(row([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], true), new Array(8).fill(0.125), 'equal values: exact');
  assert.equal(row([7], false), [1]);
});

test('the same bits whatever the thread split', () => {
  const u = rng(11);
  const rows = 301, cols = 1029;
  const x = Float32Array.from({ length: rows * cols }, (_, i) => (i % 997 === 0 ? -Infinity : (u() - 0.5) * 20));
  const saved = { threads: config.threads, work: wasm.minParallelWork };
  try {
    config.threads = 1;
    const one = fused(x, rows, cols, true);
    config.threads = 2;
    wasm.minParallelWork = 0;
    // Rows are tasks any thread may take (a worker that is late takes none): run until one did.
    for (let attempt = 0; attempt < 50; attempt++) {
      const jobs = wasm.threadStats()?.jobs ?? 0;
      const two = fused(x, rows, cols, true);
      assert.equal(Array.from(two), Array.from(one));
      const stats = wasm.threadStats();
      if (!stats || stats.threads < 2 || stats.jobs > jobs) break;
      assert.ok(attempt < 49, 'a worker took part');
    }
    assertClose(one, reference(x, rows, cols, true), 'threads');
  } finally {
    config.threads = saved.threads;
    wasm.minParallelWork = saved.work;
  }
});

/** `fn` with `name` as the default backend (arrays it creates live there). */
function on<T>(name: BackendName, fn: () => T): T {
  const saved = defaultBackendName();
  setDefaultBackend(name);
  try {
    return fn();
  } finally {
    setDefaultBackend(saved);
  }
}

test('jit(nn.softmax) runs the fused routine on wasm and agrees with the CPU oracle; grad keeps its kernels', () => {
  const u = rng(3);
  const data = Float32Array.from({ length: 6 * 5 * 33 }, () => (u() - 0.5) * 10);
  const f = (x: VArray) => nn.softmax(np.mul(x, 0.5), -1);
  const loss = (x: VArray) => np.sum(np.mul(nn.softmax(x), np.arange(33)));
  const run = (name: BackendName) =>
    on(name, () => {
      const a = np.array(data);
      assert.is(a.backend.name, name);
      const x = np.reshape(a, [6, 5, 33]);
      const steps = jit(f).lower(x).program.steps;
      return { fusedSteps: steps.flatMap((s) => (s.kind === 'routine' && s.fused ? [s.fused.name] : [])), y: jit(f)(x).dataSync() as Float32Array, g: jit(grad(loss))(x).dataSync() as Float32Array };
    });
  const w = run('wasm'), c = run('cpu');
  assert.equal(w.fusedSteps, ['softmax']);
  assert.equal(c.fusedSteps, [], 'the oracle keeps the composition');
  assertClose(w.y, c.y, 'jit vs cpu');
  for (let i = 0; i < c.g.length; i++) assert.ok(Math.abs(w.g[i] - c.g[i]) <= 1e-4 * Math.abs(c.g[i]) + 1e-5, `grad [${i}]: ${w.g[i]} vs ${c.g[i]}`);
});

test.run();
