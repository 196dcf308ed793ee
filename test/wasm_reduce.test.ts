/**
 * Reductions on the wasm backend (`render/wasm.ts`, `vectorAccumulator`): float32 sums keep
 * four f64 partial sums (one per lane) combined in a fixed order, max/min and integer sums keep
 * lane-wise accumulators. Checked here:
 *
 * - float32 sums over random shapes and axes against the exact sum (big-integer arithmetic on
 *   the f32 values scaled by 2¹⁴⁹): within γ_k·Σ|x| + one f32 ulp, and against the oracle within
 *   the parity suite's bound (2γ_k·Σ|x| + 2 ulps);
 * - max, min, integer, bool, product reductions and argmax: the oracle's bits, edge values mixed in;
 * - ±0, ±∞ and NaN placed at every lane of the vector loop and in the scalar tail;
 * - empty reduced axes (the identity), reductions over several axes and over a leading axis;
 * - reductions over leading axes (Σ_r x[r, i]), vectorised over the output, sixteen outputs per
 *   step and then four: each lane runs the scalar loop's own reduction (float sums and products
 *   in f64), so they equal the oracle bit for bit, with the wide lanes rounded once by their
 *   consumers (mean, Σ/Σ, Σ·x);
 * - which kernels take the vector loop; the same bits on 1 and 2 threads.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NDArray } from '../src/core/array.js';
import { getBackend, type BackendName } from '../src/core/backends/backend.js';
import { renderWasmKernel } from '../src/core/backends/render/wasm.js';
import { WasmBackend } from '../src/core/backends/runtime/wasm.js';
import { storageOf, type DType } from '../src/core/dtype.js';
import { bin, cnst, freshVar, idx, load, outVar, un, varRef, type Expr, type Kernel, type ReduceOp } from '../src/core/kernel/ir.js';
import { config, jit, nn, np, scope, type Array as VArray } from '../src/index.js';
import { lcg, onBackend, prod } from './helpers.js';

const wasm = getBackend('wasm') as WasmBackend;
const rng = lcg(29);
const U = 2 ** -53;
const gamma = (k: number): number => (k * U) / (1 - k * U);

/** The spacing of float32 values at |w| (2⁻¹⁴⁹ among subnormals); ±∞ counts as ±2¹²⁸. */
function ulpOf(w: number): number {
  const a = Math.min(Math.abs(w), 2 ** 128);
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}
const sameValue = (g: number, w: number): boolean => Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w));

const put = (name: BackendName, dtype: DType, data: ArrayLike<number>, shape: number[]): NDArray =>
  NDArray.fromData(getBackend(name), new (storageOf(dtype))(Array.from(data)), shape, dtype);

/** `f` of the data on the oracle and on wasm (same dtype and shape), as plain arrays. */
function both(f: (x: VArray) => VArray, dtype: DType, data: ArrayLike<number>, shape: number[]): { want: number[]; got: number[]; shape: number[] } {
  return scope(() => {
    const want = onBackend('cpu', () => f(put('cpu', dtype, data, shape)));
    const got = onBackend('wasm', () => f(put('wasm', dtype, data, shape)));
    assert.equal([...got.shape], [...want.shape]);
    assert.is(got.dtype, want.dtype);
    return { want: Array.from(want.dataSync()), got: Array.from(got.dataSync()), shape: [...want.shape] };
  });
}

function randomShape(): { shape: number[]; axes: number[] } {
  const rank = 1 + Math.floor(rng() * 4);
  const shape = Array.from({ length: rank }, () => (rng() < 0.25 ? 17 + Math.floor(rng() * 300) : Math.floor(rng() * 9)));
  while (prod(shape) > 40000) shape[shape.indexOf(Math.max(...shape))] >>= 1;
  const axes = shape.map((_, i) => i).filter(() => rng() < 0.5);
  return { shape, axes: axes.length ? axes : [rank - 1] };
}

/** Per output element (axes reduced, row-major), the input elements' flat indices. */
function groups(shape: number[], axes: number[]): number[][] {
  const keep = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const out = new Map<number, number[]>();
  const n = prod(shape);
  for (let f = 0; f < n; f++) {
    let rest = f, o = 0, stride = 1;
    const ix: number[] = new Array(shape.length);
    for (let d = shape.length - 1; d >= 0; d--) {
      ix[d] = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
    }
    for (let k = keep.length - 1; k >= 0; k--) {
      o += ix[keep[k]] * stride;
      stride *= shape[keep[k]];
    }
    if (!out.has(o)) out.set(o, []);
    out.get(o)!.push(f);
  }
  const size = prod(keep.map((d) => shape[d]));
  return Array.from({ length: size }, (_, o) => out.get(o) ?? []);
}

/** The exact sum of finite float32 values, correctly rounded to f64 (integers in units of 2⁻¹⁴⁹). */
function exactSum(xs: number[]): number {
  let s = 0n;
  for (const x of xs) s += BigInt(x * 2 ** 149);
  return Number(s) / 2 ** 149;
}

const floats = (n: number, spread: number): Float32Array =>
  Float32Array.from({ length: n }, () => (rng() - 0.5) * 2 ** Math.floor((rng() - 0.5) * spread));

test('float32 sums over random shapes and axes: within γ_k·Σ|x| + 1 ulp of the exact sum, and near the oracle', () => {
  for (let run = 0; run < 60; run++) {
    const { shape, axes } = randomShape();
    // Wide dynamic ranges (up to 2⁶⁰ between terms) so that f64 partial sums round.
    const data = floats(prod(shape), run % 3 === 0 ? 4 : 120);
    const { want, got } = both((x) => np.sum(x, axes) as VArray, 'float32', data, shape);
    const gs = groups(shape, axes);
    assert.is(got.length, gs.length);
    gs.forEach((g, o) => {
      const terms = g.map((f) => data[f]);
      const abs = terms.reduce((a, b) => a + Math.abs(b), 0);
      const k = Math.max(1, terms.length);
      const exact = exactSum(terms);
      const what = `sum over ${JSON.stringify(axes)} of [${shape}], element ${o}`;
      assert.ok(Math.abs(got[o] - exact) <= gamma(k) * abs + ulpOf(exact), `${what}: ${got[o]} vs exact ${exact}`);
      assert.ok(Math.abs(got[o] - want[o]) <= 2 * gamma(k) * abs + 2 * ulpOf(want[o]), `${what}: ${got[o]} vs oracle ${want[o]}`);
    });
  }
});

test('where the orders differ both results are within the bound (here the lanes sum exactly)', () => {
  // Lane 0 gets 2⁶⁰ and −2⁶⁰, lane 1 gets 1 and 1: exactly 2. The oracle's 2⁶⁰ + 1 rounds to 2⁶⁰ in f64.
  const data = [2 ** 60, 1, 0, 0, -(2 ** 60), 1, 0, 0];
  const { want, got } = both((x) => np.sum(x) as VArray, 'float32', data, [8]);
  assert.equal([got[0], want[0]], [2, 1]);
  const bound = 2 * gamma(8) * 2 ** 61;
  assert.ok(Math.abs(got[0] - want[0]) <= bound + 2 * ulpOf(want[0]));
});

test('the bound has teeth: dropping one term or summing in float32 breaks it', () => {
  // 2²⁴ then ones: a float32 running sum stays at 2²⁴ (2²⁴ + 1 rounds to even), f64 sums do not.
  const n = 4099;
  const data = new Float32Array(n).fill(1);
  data[0] = 2 ** 24;
  const { got } = both((x) => np.sum(x) as VArray, 'float32', data, [n]);
  const exact = exactSum(Array.from(data));
  const abs = exact;
  let f32 = 0;
  for (const v of data) f32 = Math.fround(f32 + v);
  const missing = exactSum(Array.from(data.subarray(1)));
  const ok = (v: number) => Math.abs(v - exact) <= gamma(n) * abs + ulpOf(exact);
  assert.ok(ok(got[0]), `wasm ${got[0]} vs exact ${exact}`);
  assert.not.ok(ok(f32), `a float32 sequential sum (${f32}) must fail the bound`);
  assert.not.ok(ok(Math.fround(missing)), 'a sum missing a term must fail the bound');
});

test('max, min, prod, integer and bool reductions and argmax equal the oracle bit for bit', () => {
  const edges: Record<DType, number[]> = {
    float32: [0, -0, Infinity, -Infinity, NaN, 1e30, -1e-40, 3.5],
    int32: [0, -1, 2 ** 31 - 1, -(2 ** 31), 7],
    uint32: [0, 1, 2 ** 32 - 1, 2 ** 31],
    bool: [0, 1],
  };
  const ordinary = (d: DType): number =>
    d === 'float32' ? (rng() - 0.5) * 8 : d === 'int32' ? Math.floor(rng() * 2 ** 32) - 2 ** 31 : d === 'uint32' ? Math.floor(rng() * 2 ** 32) : rng() < 0.5 ? 1 : 0;
  const ops: [string, (x: VArray, axes: number[]) => VArray][] = [
    ['max', (x, a) => np.max(x, a) as VArray],
    ['min', (x, a) => np.min(x, a) as VArray],
    ['sum', (x, a) => np.sum(x, a) as VArray],
    ['prod', (x, a) => np.prod(x, a) as VArray],
    ['any', (x, a) => np.any(x, a) as VArray],
    ['all', (x, a) => np.all(x, a) as VArray],
    ['argmax', (x, a) => np.argmax(x, a[a.length - 1]) as VArray],
  ];
  for (let run = 0; run < 40; run++) {
    const { shape, axes } = randomShape();
    for (const d of ['float32', 'int32', 'uint32', 'bool'] as DType[]) {
      const sparse = rng() < 0.5;
      const data = Array.from({ length: prod(shape) }, () => (rng() < (sparse ? 0.02 : 0.3) ? edges[d][Math.floor(rng() * edges[d].length)] : ordinary(d)));
      for (const [name, f] of ops) {
        if (d === 'float32' && name === 'sum') continue; // the bound above
        if (name === 'prod' && d === 'float32') data.forEach((v, i) => (data[i] = Number.isFinite(v) && Math.abs(v) < 4 ? 0.5 + Math.abs(v) / 8 : v));
        if ((name === 'max' || name === 'min' || name === 'argmax') && axes.some((a) => shape[a] === 0)) continue;
        const { want, got } = both((x) => f(x, axes), d, data, shape);
        want.forEach((w, i) => assert.ok(sameValue(got[i], w), `${name} over ${JSON.stringify(axes)} of ${d}[${shape}], element ${i}: ${got[i]} vs ${w}`));
      }
    }
  }
});

test('±0, ±∞ and NaN at every lane of the vector loop and in the scalar tail', () => {
  const n = 13; // three vector iterations and one tail element
  const row = (fill: number, at: number, v: number): number[] => Array.from({ length: n }, (_, i) => (i === at ? v : fill));
  const cases: [string, (x: VArray) => VArray, number[], number][] = [];
  for (let p = 0; p < n; p++) {
    cases.push(['sum of −0s', (x) => np.sum(x) as VArray, row(-0, p, -0), 0]);
    cases.push(['max of −0s and one +0', (x) => np.max(x) as VArray, row(-0, p, 0), 0]);
    cases.push(['min of +0s and one −0', (x) => np.min(x) as VArray, row(0, p, -0), -0]);
    cases.push(['max with one NaN', (x) => np.max(x) as VArray, row(1, p, NaN), NaN]);
    cases.push(['min with one NaN', (x) => np.min(x) as VArray, row(-1, p, NaN), NaN]);
    cases.push(['sum with one NaN', (x) => np.sum(x) as VArray, row(1, p, NaN), NaN]);
    cases.push(['sum with one +∞', (x) => np.sum(x) as VArray, row(1e30, p, Infinity), Infinity]);
    cases.push(['max with one −∞ among −∞', (x) => np.max(x) as VArray, row(-Infinity, p, 5), 5]);
    cases.push(['min with one −∞', (x) => np.min(x) as VArray, row(3, p, -Infinity), -Infinity]);
    const both = row(1, p, Infinity);
    both[(p + 5) % n] = -Infinity;
    cases.push(['sum of +∞ and −∞', (x) => np.sum(x) as VArray, both, NaN]);
  }
  for (const [name, f, data, expected] of cases) {
    const r = both2(f, data);
    assert.ok(sameValue(r.got, expected) && sameValue(r.want, expected), `${name} ${JSON.stringify(data.map(String))}: wasm ${r.got}, oracle ${r.want}, expected ${expected}`);
  }
  function both2(f: (x: VArray) => VArray, data: number[]): { got: number; want: number } {
    const r = both(f, 'float32', data, [data.length]);
    return { got: r.got[0], want: r.want[0] };
  }
});

test('empty reduced axes give the identity; several axes and leading axes reduce like the oracle', () => {
  const e = both((x) => np.sum(x, 1) as VArray, 'float32', [], [3, 0]);
  assert.equal(e.got, [0, 0, 0]);
  assert.equal(both((x) => np.prod(x, 1) as VArray, 'float32', [], [2, 0]).got, [1, 1]);
  assert.equal(both((x) => np.any(x, 0) as VArray, 'bool', [], [0, 4]).got, [0, 0, 0, 0]);
  assert.equal(both((x) => np.all(x, 0) as VArray, 'bool', [], [0, 4]).got, [1, 1, 1, 1]);
  assert.equal(both((x) => np.sum(x, 1) as VArray, 'int32', [], [2, 0]).got, [0, 0]);
  // int32 sums wrap around exactly as the oracle's (the lanes' partial sums wrap too).
  const big = Array.from({ length: 4 * 37 }, (_, i) => (i % 3 === 0 ? 2 ** 31 - 1 : -(2 ** 31) + i));
  for (const axes of [[0], [1], [0, 1]]) {
    const r = both((x) => np.sum(x, axes) as VArray, 'int32', big, [4, 37]);
    assert.equal(r.got, r.want, `int32 sum over ${JSON.stringify(axes)}`);
  }
});

/** A row reduction kernel over `cols` columns of a [rows, cols] input. */
function rowKernel(op: ReduceOp, dtype: DType, rows: number, cols: number): Kernel {
  const body: Expr = load(0, bin('add', bin('mul', outVar(0), idx(cols)), varRef('r')), dtype);
  return { inputs: [dtype], outShape: [rows], outDtype: dtype, expr: { k: 'reduce', op, vars: [{ name: 'r', size: cols }], body, dtype }, label: `row ${op}` };
}

test('row sums, maxima and minima of every dtype take the vector loop; products and short rows fold in order', () => {
  for (const d of ['float32', 'int32', 'uint32'] as DType[])
    for (const op of ['sum', 'max', 'min', 'prod'] as ReduceOp[]) {
      const r = renderWasmKernel(rowKernel(op, d, 3, 37), wasm.heap.limits);
      assert.is(r.vectorReductions, 1, `${op} of ${d}`);
      const listing = r.listing();
      if (d === 'float32' && op === 'sum') assert.match(listing, /f64x2\.promote_low_f32x4/);
      if (d === 'float32' && (op === 'max' || op === 'min')) assert.match(listing, new RegExp(`i32x4\\.${op}_s`));
      if (op === 'prod') assert.not.match(listing, /f64x2\.add|i32x4\.(max|min)_s/);
    }
  assert.is(renderWasmKernel(rowKernel('sum', 'float32', 3, 3), wasm.heap.limits).vectorReductions, 0, 'three columns stay scalar');
});

const wasmCpu = { cpu: getBackend('cpu'), wasm };
function runKernel(name: 'cpu' | 'wasm', kernel: Kernel, inputs: { dtype: DType; data: ArrayLike<number> }[]): number[] {
  const b = wasmCpu[name];
  const bufs = inputs.map((o) => b.upload(o.dtype, new (storageOf(o.dtype))(Array.from(o.data))));
  const out = b.alloc(kernel.outDtype, prod(kernel.outShape));
  b.run(kernel, bufs, out);
  const r = Array.from(new (storageOf(kernel.outDtype))(b.readSync(out)));
  [...bufs, out].forEach((x) => b.free(x));
  return r;
}

test('reductions over leading axes run four outputs at a time and equal the oracle bit for bit', () => {
  const i = outVar(0);
  const mixed = (n: number): number[] =>
    Array.from({ length: n }, () => (rng() < 0.1 ? [0, -0, NaN, Infinity, -Infinity, 1e30, 1e-40][Math.floor(rng() * 7)] : (rng() - 0.5) * 2 ** Math.floor((rng() - 0.5) * 60)));
  for (const [R1, R2] of [[0, 3], [1, 1], [5, 1], [33, 1], [3, 4]])
    for (const C of [4, 5, 7, 16, 37]) {
      const R = R1 * R2;
      // x[r1, r2, i]: a reduction over both leading axes (fresh variables per reduction).
      type Vars = { a: Expr; b: Expr };
      const at = (buf: number, dtype: DType, v: Vars): Expr => load(buf, bin('add', bin('mul', bin('add', bin('mul', v.a, idx(R2)), v.b), idx(C)), i), dtype);
      const red = (op: ReduceOp, body: (v: Vars) => Expr): Expr => {
        const [a, b] = [freshVar(), freshVar()];
        const e = body({ a: varRef(a), b: varRef(b) });
        return { k: 'reduce', op, vars: [{ name: a, size: R1 }, { name: b, size: R2 }], body: e, dtype: e.dtype };
      };
      const x = (v: Vars) => at(0, 'float32', v);
      const m = load(1, i, 'float32'); // per output element, outside the reduction's loops
      const w = (v: Vars) => load(2, bin('add', bin('mul', v.a, idx(R2)), v.b), 'float32'); // per step, the same for every lane
      const d = (v: Vars) => bin('sub', x(v), m);
      const cases: [string, Expr][] = [
        ['Σ', red('sum', x)], ['Π', red('prod', (v) => bin('add', bin('mul', x(v), cnst(0.5, 'float32')), m))], ['max', red('max', x)], ['min', red('min', x)],
        ['mean', bin('div', red('sum', x), cnst(Math.max(R, 1), 'float32'))], ['Σ(x − m)² (variance, x − m shared)', red('sum', (v) => { const dv = d(v); return bin('mul', dv, dv); })],
        ['Σ w·x', red('sum', (v) => bin('mul', w(v), x(v)))], ['Σx / Σ|x|', bin('div', red('sum', x), red('sum', (v) => un('abs', x(v))))],
        ['Σx · m − 1', bin('sub', bin('mul', red('sum', x), m), cnst(1, 'float32'))],
        // An f32 operand before a wide one whose steps use the f64 halves themselves (rsqrt).
        ['m − Σ rsqrt|x|', bin('sub', m, red('sum', (v) => un('rsqrt', un('abs', x(v)))))],
      ];
      const inputs = [{ dtype: 'float32' as DType, data: mixed(R * C) }, { dtype: 'float32' as DType, data: mixed(C) }, { dtype: 'float32' as DType, data: mixed(R) }];
      for (const [name, expr] of cases) {
        const kernel: Kernel = { inputs: ['float32', 'float32', 'float32'], outShape: [C], outDtype: 'float32', expr, label: name };
        assert.ok(renderWasmKernel(kernel, wasm.heap.limits).vectorized, `${name}: vectorised`);
        const want = runKernel('cpu', kernel, inputs), got = runKernel('wasm', kernel, inputs);
        want.forEach((v, k) => assert.ok(sameValue(got[k], v), `${name} over ${R1}×${R2} rows, ${C} columns, element ${k}: ${got[k]} vs ${v}`));
      }
      for (const dtype of ['int32', 'uint32'] as DType[])
        for (const op of ['sum', 'prod', 'max', 'min'] as ReduceOp[]) {
          const kernel: Kernel = { inputs: [dtype], outShape: [C], outDtype: dtype, expr: red(op, (v) => at(0, dtype, v)), label: op };
          assert.ok(renderWasmKernel(kernel, wasm.heap.limits).vectorized, `${dtype} ${op}: vectorised`);
          const data = Array.from({ length: R * C }, () => (dtype === 'int32' ? Math.floor(rng() * 2 ** 32) - 2 ** 31 : Math.floor(rng() * 2 ** 32)));
          const want = runKernel('cpu', kernel, [{ dtype, data }]), got = runKernel('wasm', kernel, [{ dtype, data }]);
          assert.equal(got, want, `${dtype} ${op} over ${R1}×${R2} rows, ${C} columns`);
        }
      // A bool output (four bools stored per group) from a maximum.
      const positive: Kernel = { inputs: ['float32'], outShape: [C], outDtype: 'bool', expr: bin('gt', red('max', x), cnst(0, 'float32')), label: 'max > 0' };
      assert.ok(renderWasmKernel(positive, wasm.heap.limits).vectorized, 'max(x) > 0: vectorised');
      assert.equal(runKernel('wasm', positive, inputs.slice(0, 1)), runKernel('cpu', positive, inputs.slice(0, 1)), `max(x) > 0 over ${R1}×${R2} rows, ${C} columns`);
      // A consumer without a wide vector form (max of a float sum keeps f64 in the scalar path): the loop stays scalar.
      const kernel: Kernel = { inputs: ['float32'], outShape: [C], outDtype: 'float32', expr: bin('max', red('sum', x), cnst(0, 'float32')), label: 'max(Σ, 0)' };
      assert.not.ok(renderWasmKernel(kernel, wasm.heap.limits).vectorized, 'max(Σx, 0): scalar');
      assert.equal(runKernel('wasm', kernel, inputs.slice(0, 1)).map(String), runKernel('cpu', kernel, inputs.slice(0, 1)).map(String));
    }
});

function withThreads<T>(n: number, fn: () => T): T {
  const saved = [config.threads, wasm.minParallelWork, wasm.minParallelFlops] as const;
  config.threads = n;
  [wasm.minParallelWork, wasm.minParallelFlops] = [0, 0];
  try {
    return fn();
  } finally {
    [config.threads, wasm.minParallelWork, wasm.minParallelFlops] = saved;
  }
}

test('the same bits on 1 and 2 threads: sums, maxima, means over each axis, softmax, layer norm', () => {
  const shape = [67, 301];
  const data = floats(prod(shape), 90);
  const fns: [string, (x: VArray) => VArray][] = [
    ['sum rows', (x) => np.sum(x, 1) as VArray],
    ['sum columns', (x) => np.sum(x, 0) as VArray],
    ['max rows', (x) => np.max(x, 1) as VArray],
    ['mean all', (x) => np.mean(x) as VArray],
    ['softmax', jit((x: VArray) => nn.softmax(x, -1))],
    ['layer norm', jit((x: VArray) => {
      const d = np.sub(x, np.mean(x, -1, true));
      return np.div(d, np.sqrt(np.add(np.mean(np.square(d), -1, true), 1e-5)));
    })],
  ];
  for (const [name, f] of fns) {
    const run = () => scope(() => Array.from(onBackend('wasm', () => f(put('wasm', 'float32', data, shape))).dataSync()));
    const one = withThreads(1, run), two = withThreads(2, run);
    assert.is(one.length, two.length);
    one.forEach((v, i) => assert.ok(sameValue(two[i], v), `${name}, element ${i}: ${two[i]} on 2 threads, ${v} on 1`));
  }
});

test.run();
