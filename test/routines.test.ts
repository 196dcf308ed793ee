/** Tests of the CPU routines against naive reference implementations. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matmul } from '../src/core/backends/routines/matmul';
import { convGeneralDilated, convOutputShape, type ConvParams } from '../src/core/backends/routines/conv';
import { argsortRows, sortKeyVal, sortRows } from '../src/core/backends/routines/sort';
import { cumulative } from '../src/core/backends/routines/cumulative';
import { lax, np } from '../src/index.js';
import { assertClose, lcg, prod, scaledTol, unravel } from './helpers.js';

type TA = Float32Array | Int32Array | Uint32Array;

function randF32(n: number, rng: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng() * 2 - 1;
  return a;
}
function randI32(n: number, rng: () => number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor(rng() * (hi - lo + 1));
  return a;
}
function strides(s: readonly number[]): number[] {
  const r = new Array<number>(s.length);
  for (let d = s.length - 1, k = 1; d >= 0; d--) { r[d] = k; k *= s[d]; }
  return r;
}
/** All multi-indices of a shape in row-major order. */
function indices(shape: readonly number[]): number[][] {
  return Array.from({ length: prod(shape) }, (_, f) => unravel(f, shape));
}
const dot = (i: number[], s: number[]) => i.reduce((a, v, d) => a + v * s[d], 0);
function same(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Object.is(got[i], want[i]), `${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

// ---------------------------------------------------------------- matmul

function matmulRef(a: TA, b: TA, batch: number, m: number, k: number, n: number, sa: number, sb: number): Float64Array {
  const out = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let q = 0; q < k; q++) s += a[t * sa + i * k + q] * b[t * sb + q * n + j];
    out[(t * m + i) * n + j] = s;
  }
  return out;
}

test('matmul float32 matches reference (tiles, broadcast, degenerate dims)', () => {
  const rng = lcg(1);
  const cases = [
    [1, 1, 1, 1], [2, 3, 5, 7], [1, 0, 3, 4], [2, 3, 0, 4], [0, 2, 2, 2], [1, 33, 129, 130],
    [3, 70, 257, 1], [2, 1, 200, 300], [1, 65, 1, 129],
  ];
  for (const [batch, m, k, n] of cases) {
    for (const [bcA, bcB] of [[false, false], [true, false], [false, true]]) {
      const sa = bcA ? 0 : m * k, sb = bcB ? 0 : k * n;
      const a = randF32(Math.max(m * k, batch * sa), rng);
      const b = randF32(Math.max(k * n, batch * sb), rng);
      const out = new Float32Array(batch * m * n).fill(99);
      matmul(a, b, out, batch, m, k, n, sa, sb);
      const want = Float32Array.from(matmulRef(a, b, batch, m, k, n, sa, sb));
      same(out, want, `matmul ${[batch, m, k, n]} bc=${bcA},${bcB}`);
    }
  }
});

test('matmul propagates NaN even through zero operands', () => {
  const a = new Float32Array([NaN, 1, 0, 0]);
  const b = new Float32Array([0, 0, 0, 0]);
  const out = new Float32Array(4);
  matmul(a, b, out, 1, 2, 2, 2, 0, 0);
  assert.ok(Number.isNaN(out[0]) && Number.isNaN(out[1]));
  assert.equal(Array.from(out.subarray(2)), [0, 0]);
});

test('matmul int32 wraps on overflow; uint32 output', () => {
  const rng = lcg(2);
  for (const [batch, m, k, n] of [[1, 2, 3, 2], [2, 35, 140, 131], [1, 4, 300, 1]]) {
    const a = randI32(batch * m * k, rng, -2147483648, 2147483647);
    const b = randI32(batch * k * n, rng, -2147483648, 2147483647);
    const out = new Int32Array(batch * m * n);
    matmul(a, b, out, batch, m, k, n, m * k, k * n);
    const outU = new Uint32Array(batch * m * n);
    matmul(a, b, outU, batch, m, k, n, m * k, k * n);
    for (let t = 0; t < batch; t++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0n;
      for (let q = 0; q < k; q++) s += BigInt(a[t * m * k + i * k + q]) * BigInt(b[t * k * n + q * n + j]);
      const o = (t * m + i) * n + j;
      assert.is(out[o], Number(BigInt.asIntN(32, s)));
      assert.is(outU[o], Number(BigInt.asUintN(32, s)));
    }
  }
  const out = new Int32Array(1);
  matmul(new Int32Array([65536, 65536]), new Int32Array([32768, 32768]), out, 1, 1, 2, 1, 0, 0);
  assert.is(out[0], 0); // 2 * 2^31 wraps to 0
  matmul(new Int32Array([2147483647]), new Int32Array([2]), out, 1, 1, 1, 1, 0, 0);
  assert.is(out[0], -2);
});

// ---------------------------------------------------------------- conv

function convRef(lhs: TA, ls: number[], rhs: TA, rs: number[], p: ConvParams): { data: Float64Array; shape: number[] } {
  const nd = ls.length - 2;
  const st = p.windowStrides ?? new Array(nd).fill(1);
  const pad = p.padding ?? new Array(nd).fill([0, 0]);
  const ld = p.lhsDilation ?? new Array(nd).fill(1);
  const rd = p.rhsDilation ?? new Array(nd).fill(1);
  const G = p.featureGroupCount ?? 1, B = p.batchGroupCount ?? 1;
  const [N, C] = ls, [O, I] = rs;
  const outSp = ls.slice(2).map((s, d) => {
    const padded = (s === 0 ? 0 : (s - 1) * ld[d] + 1) + pad[d][0] + pad[d][1];
    const w = rs[d + 2] === 0 ? 0 : (rs[d + 2] - 1) * rd[d] + 1;
    return padded < w ? 0 : Math.floor((padded - w) / st[d]) + 1;
  });
  const shape = [N / B, O, ...outSp];
  const data = new Float64Array(prod(shape));
  const lst = strides(ls), rst = strides(rs);
  const wins = indices(rs.slice(2));
  indices(shape).forEach(([nb, o, ...op], f) => {
    const g = Math.floor(o / (O / G)), bg = Math.floor(o / (O / B));
    const nIn = nb + bg * (N / B);
    let s = 0;
    for (let ci = 0; ci < I; ci++) {
      for (const w of wins) {
        const li = [nIn, g * I + ci];
        let ok = true;
        for (let d = 0; d < nd && ok; d++) {
          const q = op[d] * st[d] - pad[d][0] + w[d] * rd[d];
          const i = q / ld[d];
          ok = q >= 0 && Number.isInteger(i) && i < ls[d + 2];
          li.push(i);
        }
        if (ok) s += lhs[dot(li, lst)] * rhs[dot([o, ci, ...w], rst)];
      }
    }
    data[f] = s;
  });
  void C;
  return { data, shape };
}

const convCases: [number[], number[], ConvParams][] = [
  [[2, 3, 10], [4, 3, 3], {}],
  [[1, 2, 11], [3, 2, 3], { windowStrides: [2], padding: [[1, 2]], rhsDilation: [2] }],
  [[2, 2, 7], [2, 2, 4], { windowStrides: [2], padding: [[2, -1]], lhsDilation: [3] }],
  [[1, 1, 6], [1, 1, 2], { windowStrides: [3], lhsDilation: [2], padding: [[1, 1]] }],
  [[2, 4, 9, 7], [6, 2, 3, 2], {
    featureGroupCount: 2, windowStrides: [2, 1], padding: [[1, 0], [-1, 2]], lhsDilation: [1, 2], rhsDilation: [2, 1],
  }],
  [[1, 4, 5, 5], [8, 1, 3, 3], { featureGroupCount: 4, padding: [[1, 1], [1, 1]] }],
  [[6, 3, 6, 5], [4, 3, 2, 2], { batchGroupCount: 2 }],
  [[4, 2, 5, 5], [6, 2, 3, 3], { batchGroupCount: 2, windowStrides: [2, 1], padding: [[0, 1], [2, -1]] }],
  [[4, 2, 7], [4, 2, 2], { batchGroupCount: 4, lhsDilation: [2], rhsDilation: [3] }],
  [[1, 2, 5, 4, 6], [3, 2, 2, 3, 2], {
    windowStrides: [1, 2, 1], padding: [[0, 1], [1, -1], [2, 0]], lhsDilation: [2, 1, 1], rhsDilation: [1, 1, 2],
  }],
  [[2, 3, 17, 13], [5, 3, 4, 3], { windowStrides: [3, 2], padding: [[2, 3], [0, 1]], rhsDilation: [1, 3] }],
  [[3, 4], [5, 4], {}],
  [[1, 1, 1, 1], [1, 1, 1, 1], {}],
  [[0, 3, 5], [2, 3, 2], {}],
  [[2, 0, 5], [2, 0, 2], {}],
  [[2, 3, 5], [0, 3, 2], {}],
  [[2, 3, 5], [2, 3, 0], {}],
  [[1, 1, 2], [1, 1, 5], {}],
  [[1, 1, 0], [1, 1, 1], { padding: [[1, 1]] }],
  [[1, 2, 4], [2, 2, 3], { padding: [[-2, -1]] }],
];

test('conv matches reference (nd, strides, padding, dilations, groups)', () => {
  const rng = lcg(3);
  for (const [ls, rs, p] of convCases) {
    const lhs = randF32(prod(ls), rng), rhs = randF32(prod(rs), rng);
    const want = convRef(lhs, ls, rhs, rs, p);
    assert.equal(convOutputShape(ls, rs, p), want.shape, `shape ${ls} ${rs}`);
    const got = convGeneralDilated(lhs, ls, rhs, rs, p);
    assert.equal(got.shape, want.shape);
    assert.ok(got.data instanceof Float32Array);
    assertClose(got.data, want.data, scaledTol(1e-5), `conv ${ls} ${rs} ${JSON.stringify(p)}`);
    const li = randI32(prod(ls), rng, -9, 9), ri = randI32(prod(rs), rng, -9, 9);
    const gi = convGeneralDilated(li, ls, ri, rs, p);
    assert.ok(gi.data instanceof Int32Array);
    same(gi.data, Int32Array.from(convRef(li, ls, ri, rs, p).data), `int conv ${ls} ${rs}`);
  }
});

test('conv small hand-checked values and output reuse', () => {
  const r = convGeneralDilated(new Float32Array([1, 2, 3, 4]), [1, 1, 4], new Float32Array([1, 10]), [1, 1, 2], {});
  assert.equal(Array.from(r.data), [21, 32, 43]);
  const out = new Float32Array(3).fill(7);
  convGeneralDilated(new Float32Array([1, 2]), [1, 1, 2], new Float32Array([1]), [1, 1, 1], { lhsDilation: [2] }, out);
  assert.equal(Array.from(out), [1, 0, 2]);
});

test('batchGroupCount conv computes the kernel gradient of a grouped conv', () => {
  const rng = lcg(4);
  const N = 3, G = 2, I = 2, O = 4, W = 11, K = 3, s = 2, rd = 2, lo = 1, hi = 2;
  const C = G * I;
  const x = randF32(N * C * W, rng);
  const p: ConvParams = { windowStrides: [s], rhsDilation: [rd], padding: [[lo, hi]], featureGroupCount: G };
  const [, , Wo] = convOutputShape([N, C, W], [O, I, K], p);
  const gy = randF32(N * O * Wo, rng);
  const gw = new Float64Array(O * I * K);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let k = 0; k < K; k++) {
    const c = Math.floor(o / (O / G)) * I + i;
    for (let n = 0; n < N; n++) for (let ow = 0; ow < Wo; ow++) {
      const q = ow * s - lo + k * rd;
      if (q >= 0 && q < W) gw[(o * I + i) * K + k] += gy[(n * O + o) * Wo + ow] * x[(n * C + c) * W + q];
    }
  }
  const xT = new Float32Array(C * N * W); // (C, N, W)
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let w = 0; w < W; w++) xT[(c * N + n) * W + w] = x[(n * C + c) * W + w];
  const gT = new Float32Array(O * N * Wo); // (O, N, Wo)
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let w = 0; w < Wo; w++) gT[(o * N + n) * Wo + w] = gy[(n * O + o) * Wo + w];
  const hi2 = (K - 1) * rd + (Wo - 1) * s + 1 - W - lo;
  const r = convGeneralDilated(xT, [C, N, W], gT, [O, N, Wo], {
    windowStrides: [rd], rhsDilation: [s], padding: [[lo, hi2]], batchGroupCount: G,
  });
  assert.equal(r.shape, [I, O, K]);
  const got = new Float64Array(O * I * K);
  for (let i = 0; i < I; i++) for (let o = 0; o < O; o++) for (let k = 0; k < K; k++) got[(o * I + i) * K + k] = r.data[(i * O + o) * K + k];
  assertClose(got, gw, scaledTol(1e-5), 'kernel grad');
  void hi;
});

test('convOutputShape rejects invalid shapes', () => {
  const bad: [number[], number[], ConvParams][] = [
    [[1, 3, 5], [2, 2, 3], {}],
    [[1, 4, 5], [3, 2, 3], { featureGroupCount: 2 }],
    [[1, 3, 5], [2, 1, 3], { featureGroupCount: 2 }],
    [[3, 2, 5], [2, 2, 3], { batchGroupCount: 2 }],
    [[2, 2, 5], [3, 2, 3], { batchGroupCount: 2 }],
    [[1, 2, 3], [1, 2, 1], { padding: [[-2, -2]] }],
    [[1, 2, 3, 3], [1, 2, 1], {}],
  ];
  for (const [ls, rs, p] of bad) {
    assert.throws(() => convOutputShape(ls, rs, p), (e: Error) => e.message.startsWith('conv_general_dilated:') &&
      e.message.includes(`[${ls.join(',')}]`));
  }
});

// ---------------------------------------------------------------- reduce_window

type RW = [number[], 'sum' | 'max' | 'min', number[], number[], [number, number][], number[], number[]];

function reduceWindowRef(x: TA, [shape, op, win, st, pad, bd, wd]: RW): { data: number[]; shape: number[] } {
  const nd = shape.length;
  const outShape = shape.map((s, d) => {
    const padded = (s === 0 ? 0 : (s - 1) * bd[d] + 1) + pad[d][0] + pad[d][1];
    const w = win[d] === 0 ? 0 : (win[d] - 1) * wd[d] + 1;
    return padded < w ? 0 : Math.floor((padded - w) / st[d]) + 1;
  });
  const isInt = x instanceof Int32Array;
  const init = op === 'sum' ? 0 : op === 'max' ? (isInt ? -2147483648 : -Infinity) : isInt ? 2147483647 : Infinity;
  const xs = strides(shape);
  const data = indices(outShape).map((o) => {
    let acc = init;
    for (const w of indices(win)) {
      const idx: number[] = [];
      for (let d = 0; d < nd; d++) idx.push((o[d] * st[d] - pad[d][0] + w[d] * wd[d]) / bd[d]);
      if (!idx.every((i, d) => Number.isInteger(i) && i >= 0 && i < shape[d])) continue;
      const v = x[dot(idx, xs)];
      acc = op === 'sum' ? acc + v : op === 'max' ? Math.max(acc, v) : Math.min(acc, v);
    }
    return acc;
  });
  return { data, shape: outShape };
}

const rwCases: [number[], number[], number[], [number, number][], number[], number[]][] = [
  [[4, 5], [2, 2], [1, 1], [[0, 0], [0, 0]], [1, 1], [1, 1]],
  [[3, 7, 6], [2, 3, 2], [2, 1, 3], [[1, 0], [0, 2], [-1, 1]], [1, 2, 1], [2, 1, 1]],
  [[9], [3], [2], [[2, 1]], [2], [1]],
  [[2, 3, 4, 5], [1, 1, 2, 3], [1, 1, 2, 2], [[0, 0], [0, 0], [1, 1], [1, 1]], [1, 1, 1, 1], [1, 1, 1, 2]],
  [[2, 33], [1, 4], [1, 3], [[0, 0], [-2, 5]], [1, 1], [1, 1]],
  [[1, 1], [1, 1], [1, 1], [[0, 0], [0, 0]], [1, 1], [1, 1]],
  [[0, 5], [1, 2], [1, 1], [[0, 0], [0, 0]], [1, 1], [1, 1]],
  [[3, 2], [1, 5], [1, 1], [[0, 0], [0, 0]], [1, 1], [1, 1]],
  [[], [], [], [], [], []],
];

/** lax.reduceWindow on a flat typed array, read back as a typed array (the public API path). */
function laxReduceWindow(x: TA, shape: number[], op: 'sum' | 'max' | 'min', win: number[], st: number[], pad: [number, number][], bd: number[], wd: number[]): { data: TA; shape: number[] } {
  const arr = lax.reshape(np.array(x), shape);
  const r = lax.reduceWindow(arr, op, win, st, pad, { baseDilation: bd, windowDilation: wd });
  return { data: r.dataSync() as TA, shape: [...r.shape] };
}

test('lax.reduceWindow matches reference for sum/max/min (float32 and int32)', () => {
  const rng = lcg(5);
  for (const [shape, win, st, pad, bd, wd] of rwCases) {
    for (const op of ['sum', 'max', 'min'] as const) {
      const c: RW = [shape, op, win, st, pad, bd, wd];
      const x = randF32(prod(shape), rng);
      const got = laxReduceWindow(x, shape, op, win, st, pad, bd, wd);
      const want = reduceWindowRef(x, c);
      assert.equal(got.shape, want.shape, `${op} ${shape}`);
      assert.ok(got.data instanceof Float32Array);
      assertClose(got.data, want.data, scaledTol(1e-6), `rw ${op} ${shape}`);
      const xi = randI32(prod(shape), rng, -100, 100);
      const gi = laxReduceWindow(xi, shape, op, win, st, pad, bd, wd);
      assert.ok(gi.data instanceof Int32Array);
      same(gi.data, reduceWindowRef(xi, c).data, `rw int ${op} ${shape}`);
    }
  }
});

test('lax.reduceWindow rejects empty windows', () => {
  assert.throws(() => laxReduceWindow(new Float32Array(12), [3, 4], 'sum', [2, 0], [1, 1], [[0, 0], [0, 0]], [1, 1], [1, 1]),
    /^reduce_window_sum: window dimensions and strides must be positive/);
});

test('lax.reduceWindow padding holds init; NaN propagates through max/min', () => {
  const xi = new Int32Array([5, -3, 7]);
  const mx = laxReduceWindow(xi, [3], 'max', [2], [1], [[2, 0]], [1], [1]);
  assert.equal(Array.from(mx.data), [-2147483648, 5, 5, 7]);
  const mn = laxReduceWindow(xi, [3], 'min', [2], [1], [[2, 0]], [1], [1]);
  assert.equal(Array.from(mn.data), [2147483647, 5, -3, -3]);
  const xf = new Float32Array([1, NaN, 2, 3]);
  const r = laxReduceWindow(xf, [4], 'max', [2], [1], [[0, 1]], [1], [1]);
  same(r.data, [NaN, NaN, 3, 3], 'nan max');
  const e = laxReduceWindow(xf, [4], 'min', [1], [1], [[1, 0]], [1], [1]);
  same(e.data, [Infinity, 1, NaN, 2, 3], 'min init');
});

// ---------------------------------------------------------------- sort

/** Reference stable order: NaN last, -0 == 0. */
function argsortRef(row: number[]): number[] {
  const key = (v: number) => (Number.isNaN(v) ? Infinity : v);
  return row.map((_, i) => i).sort((i, j) => {
    const ni = Number.isNaN(row[i]), nj = Number.isNaN(row[j]);
    if (ni !== nj) return ni ? 1 : -1;
    return key(row[i]) < key(row[j]) ? -1 : key(row[i]) > key(row[j]) ? 1 : 0;
  });
}

function sortCase(data: TA, rows: number, n: number, what: string): void {
  const out = new (data.constructor as new (n: number) => TA)(rows * n);
  sortRows(data, rows, n, out);
  const idx = new Int32Array(rows * n);
  argsortRows(data, rows, n, idx);
  const vals = new Float32Array(rows * n).map((_, i) => i % 1000);
  const ok = new (data.constructor as new (n: number) => TA)(rows * n);
  const ov = new Float32Array(rows * n);
  sortKeyVal(data, vals, rows, n, ok, ov);
  for (let r = 0; r < rows; r++) {
    const row = Array.from(data.subarray(r * n, (r + 1) * n));
    const perm = argsortRef(row);
    same(idx.subarray(r * n, (r + 1) * n), perm, `${what} argsort row ${r}`);
    const sorted = perm.map((p) => row[p]);
    same(out.subarray(r * n, (r + 1) * n), sorted, `${what} sort row ${r}`);
    same(ok.subarray(r * n, (r + 1) * n), sorted, `${what} keyval keys row ${r}`);
    same(ov.subarray(r * n, (r + 1) * n), perm.map((p) => vals[r * n + p]), `${what} keyval vals row ${r}`);
  }
  const inPlace = data.slice();
  sortRows(inPlace, rows, n, inPlace);
  same(inPlace, out, `${what} in place`);
}

test('sort: NaN last, signed zeros stable, duplicates stable', () => {
  const x = new Float32Array([0, -0, NaN, -1, -0, 0, NaN, -Infinity, Infinity]);
  const idx = new Int32Array(9);
  argsortRows(x, 1, 9, idx);
  assert.equal(Array.from(idx), [7, 3, 0, 1, 4, 5, 8, 2, 6]);
  const out = new Float32Array(9);
  sortRows(x, 1, 9, out);
  same(out, [-Infinity, -1, 0, -0, -0, 0, Infinity, NaN, NaN], 'signed zeros');
  sortCase(x, 1, 9, 'fixed');
});

test('sort matches stable reference on random rows (float32, int32, uint32)', () => {
  const rng = lcg(6);
  const pool = [NaN, 0, -0, 1, -1, 0.5, -Infinity, Infinity];
  for (const [rows, n] of [[0, 5], [3, 0], [1, 1], [4, 2], [3, 33], [2, 65], [2, 1000], [1, 4099]]) {
    const f = new Float32Array(rows * n);
    for (let i = 0; i < f.length; i++) f[i] = rng() < 0.5 ? pool[Math.floor(rng() * pool.length)] : Math.round(rng() * 40 - 20) / 4;
    sortCase(f, rows, n, `f32 ${rows}x${n}`);
    sortCase(randI32(rows * n, rng, -2147483648, 2147483647), rows, n, `i32 ${rows}x${n}`);
    sortCase(randI32(rows * n, rng, -5, 5), rows, n, `i32 dup ${rows}x${n}`);
    const u = new Uint32Array(rows * n);
    for (let i = 0; i < u.length; i++) u[i] = Math.floor(rng() * 4294967296);
    sortCase(u, rows, n, `u32 ${rows}x${n}`);
  }
});

// ---------------------------------------------------------------- cumulative

type CumOp = 'sum' | 'prod' | 'max' | 'min';

function cumulativeRef(x: TA, outer: number, n: number, inner: number, op: CumOp, reverse: boolean): number[] {
  const out = new Array<number>(outer * n * inner).fill(0);
  const isInt = x instanceof Int32Array;
  for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
    let acc = 0n, f = 0;
    for (let t = 0; t < n; t++) {
      const i = reverse ? n - 1 - t : t;
      const at = (o * n + i) * inner + j;
      const v = x[at];
      if (isInt) {
        acc = t === 0 ? BigInt(v) : op === 'sum' ? acc + BigInt(v) : op === 'prod' ? acc * BigInt(v)
          : op === 'max' ? (BigInt(v) > acc ? BigInt(v) : acc) : BigInt(v) < acc ? BigInt(v) : acc;
        acc = BigInt.asIntN(32, acc);
        out[at] = Number(acc);
      } else {
        f = t === 0 ? v : op === 'sum' ? f + v : op === 'prod' ? f * v : op === 'max' ? Math.max(f, v) : Math.min(f, v);
        out[at] = Math.fround(f);
      }
    }
  }
  return out;
}

test('cumulative matches reference (all ops, reverse, degenerate shapes)', () => {
  const rng = lcg(7);
  const shapes = [[2, 5, 3], [1, 1, 1], [3, 0, 2], [0, 4, 2], [1, 7, 1], [2, 3, 0], [3, 40, 17]];
  for (const [outer, n, inner] of shapes) {
    for (const op of ['sum', 'prod', 'max', 'min'] as const) {
      for (const reverse of [false, true]) {
        const x = randF32(outer * n * inner, rng);
        for (let i = 0; i < x.length; i += 11) x[i] = 1 + x[i] * 0.1;
        const out = new Float32Array(x.length);
        cumulative(x, outer, n, inner, op, reverse, out);
        const what = `${op} rev=${reverse} ${[outer, n, inner]}`;
        same(out, cumulativeRef(x, outer, n, inner, op, reverse), what);
        const xi = randI32(outer * n * inner, rng, -2147483648, 2147483647);
        const oi = new Int32Array(xi.length);
        cumulative(xi, outer, n, inner, op, reverse, oi);
        same(oi, cumulativeRef(xi, outer, n, inner, op, reverse), `int ${what}`);
        cumulative(xi, outer, n, inner, op, reverse, xi);
        same(xi, oi, `in place ${what}`);
      }
    }
  }
});

test('cumulative reverse cumsum and NaN in cummax', () => {
  const out = new Float32Array(4);
  cumulative(new Float32Array([1, 2, 3, 4]), 1, 4, 1, 'sum', true, out);
  assert.equal(Array.from(out), [10, 9, 7, 4]);
  const o2 = new Float32Array(6);
  cumulative(new Float32Array([1, 2, 3, 4, 5, 6]), 1, 3, 2, 'sum', true, o2);
  assert.equal(Array.from(o2), [9, 12, 8, 10, 5, 6]);
  const o3 = new Float32Array(4);
  cumulative(new Float32Array([1, NaN, 3, 0]), 1, 4, 1, 'max', false, o3);
  same(o3, [1, NaN, NaN, NaN], 'cummax nan');
});

test.run();
