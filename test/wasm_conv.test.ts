/**
 * The wasm backend's float32 convolution (`wasm/conv.ts`, an implicit GEMM):
 *
 * - its summation order is the documented one: each element equals, bit for bit, the
 *   sequential f32 sum over k = (input channel, window tap) of f32-rounded products, padding
 *   and dilation holes entering as products with 0 — on random 1-, 2- and 3-D convolutions
 *   (strides, padding pairs incl. negative and larger than the window, lhs and rhs dilation,
 *   feature groups incl. depthwise, batch groups, 1×1, 0-d, tiny and odd sizes), on shapes
 *   across the GEMM's block edges, and with the tap table split into many column chunks; the
 *   reference computes input positions from the definition, independently of the routine;
 *   the same with batch items merged into the GEMM's columns or not, and with cached tables;
 * - against the JavaScript oracle (which sums in f64) it is within (K + 3)·2⁻²⁴·Σ|w||x|,
 *   K = I·taps terms (the bound of `test/wasm_matmul.test.ts`; padding terms add exact zeros);
 * - the same bits for 1 and 2 threads, with row and column splits;
 * - input and weight gradients (convolutions with lhs dilation, feature and batch groups) on
 *   wasm are within the same bound of the oracle's, with K their own number of terms;
 * - an infinite or NaN weight runs the JavaScript routine (bit for bit the oracle), NaN and ±∞
 *   inputs propagate, empty shapes and K = 0 work, and the workspace is returned.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NDArray } from '../src/core/array.js';
import { getBackend } from '../src/core/backends/backend.js';
import type { RoutineParams } from '../src/core/backends/backend.js';
import { CpuBackend } from '../src/core/backends/runtime/cpu.js';
import { WasmBackend } from '../src/core/backends/runtime/wasm.js';
import { convOutputShape } from '../src/core/backends/routines/conv.js';
import { TapTables, type ConvGeometry } from '../src/core/backends/wasm/conv.js';
import { config, lax, np, scope, vjp, type Array as VArray } from '../src/index.js';
import { assertBits, lcg, onBackend, prod } from './helpers.js';

const wasm = getBackend('wasm') as WasmBackend;
const cpu = new CpuBackend();
const rng = lcg(11);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng() * 2 - 1);
const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

type P = RoutineParams['conv'];
interface Opts { s?: number[]; pad?: [number, number][]; ld?: number[]; rd?: number[]; fg?: number; bg?: number }
function params(lhsShape: number[], rhsShape: number[], o: Opts = {}): P {
  const nd = lhsShape.length - 2, ones = new Array<number>(nd).fill(1);
  return {
    lhsShape, rhsShape, windowStrides: o.s ?? ones, padding: o.pad ?? ones.map((): [number, number] => [0, 0]),
    lhsDilation: o.ld ?? ones, rhsDilation: o.rd ?? ones, featureGroupCount: o.fg ?? 1, batchGroupCount: o.bg ?? 1,
  };
}
const outShapeOf = (p: P) => convOutputShape(p.lhsShape, p.rhsShape, { ...p, windowStrides: [...p.windowStrides], padding: p.padding.map(([a, b]): [number, number] => [a, b]), lhsDilation: [...p.lhsDilation], rhsDilation: [...p.rhsDilation] });
const describe = (p: P) => `lhs [${p.lhsShape}] rhs [${p.rhsShape}] strides [${p.windowStrides}] pad ${JSON.stringify(p.padding)} lhsDil [${p.lhsDilation}] rhsDil [${p.rhsDilation}] fgc ${p.featureGroupCount} bgc ${p.batchGroupCount}`;

/** Count the convolutions that reach the SIMD routine (not the JavaScript fallback), and those decomposed into phases. */
let simdCalls = 0, phasedCalls = 0;
{
  const w = wasm as unknown as { convF32: (...a: unknown[]) => void; convPhased: (...a: unknown[]) => void };
  const [orig, origPhased] = [w.convF32, w.convPhased];
  let depth = 0; // the phases' own convF32 calls are not counted
  w.convF32 = function (this: unknown, ...a: unknown[]) {
    if (depth++ === 0) simdCalls++;
    try {
      return orig.apply(this, a);
    } finally {
      depth--;
    }
  };
  w.convPhased = function (this: unknown, ...a: unknown[]) {
    phasedCalls++;
    return origPhased.apply(this, a);
  };
}

function run(b: WasmBackend | CpuBackend, x: Float32Array, w: Float32Array, p: P): Float32Array {
  const X = b.upload('float32', x), W = b.upload('float32', w), out = b.alloc('float32', prod(outShapeOf(p)));
  b.routine('conv', [X, W], [out], p);
  const r = b.readSync(out).slice() as Float32Array;
  [X, W, out].forEach((t) => b.free(t));
  return r;
}

/**
 * The documented order, from the definition: out[n, o, pos] = Σ over c, then taps (row-major),
 * acc = fround(acc + fround(w·x)), x = 0 where pos·stride + tap·rhsDil − lo is negative, not a
 * multiple of lhsDil, or past the dilated input.
 */
function sequentialF32(x: Float32Array, w: Float32Array, p: P): Float32Array {
  const outShape = outShapeOf(p);
  const nd = p.lhsShape.length - 2;
  const [N, C] = p.lhsShape, [O, I] = p.rhsShape;
  const inSp = p.lhsShape.slice(2), win = p.rhsShape.slice(2), outSp = outShape.slice(2);
  const taps = prod(win), P = prod(outSp), inSize = prod(inSp);
  const fgc = p.featureGroupCount, bgc = p.batchGroupCount, G = fgc * bgc, nOut = N / bgc;
  const out = new Float32Array(prod(outShape));
  const fr = Math.fround;
  const unravel = (i: number, shape: number[]) => shape.map((_, d) => Math.floor(i / prod(shape.slice(d + 1))) % shape[d]);
  for (let nb = 0; nb < nOut; nb++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / (O / G));
      const nIn = bgc > 1 ? nb + g * nOut : nb, c0 = fgc > 1 ? g * I : 0;
      for (let q = 0; q < P; q++) {
        const pos = unravel(q, outSp);
        let acc = 0;
        for (let c = 0; c < I; c++)
          for (let t = 0; t < taps; t++) {
            const tap = unravel(t, win);
            let off = 0;
            for (let d = 0; d < nd && off >= 0; d++) {
              const e = pos[d] * p.windowStrides[d] + tap[d] * p.rhsDilation[d] - p.padding[d][0];
              const i = e / p.lhsDilation[d];
              off = e < 0 || !Number.isInteger(i) || i >= inSp[d] ? -1 : off + i * prod(inSp.slice(d + 1));
            }
            const xv = off < 0 ? 0 : x[(nIn * C + c0 + c) * inSize + off];
            acc = fr(acc + fr(w[(o * I + c) * taps + t] * xv));
          }
        out[(nb * O + o) * P + q] = acc;
      }
    }
  return out;
}

/** A random valid convolution: 1 to 3 spatial dims, groups, strides, padding, dilations. */
function randomParams(): P {
  for (;;) {
    const nd = int(1, 3);
    const [fg, bg] = [[1, 1], [2, 1], [3, 1], [1, 2], [1, 3]][int(0, 4)];
    const I = int(1, 3), N = bg * int(1, 2), O = fg * bg * int(1, 4);
    const inSp = Array.from({ length: nd }, () => int(1, nd === 3 ? 5 : 9));
    const win = inSp.map(() => int(1, 4));
    const o: Opts = {
      s: inSp.map(() => int(1, 3)), ld: inSp.map(() => (rng() < 0.6 ? 1 : int(2, 3))), rd: inSp.map(() => (rng() < 0.6 ? 1 : int(2, 3))),
      pad: inSp.map((): [number, number] => [int(-1, 4), int(-1, 4)]), fg, bg,
    };
    const p = params([N, I * fg, ...inSp], [O, I, ...win], o);
    try {
      if (prod(outShapeOf(p)) > 0) return p;
    } catch {
      // negative padded size: draw again
    }
  }
}

/** Hand-picked edge cases and block edges (5-row tiles, 8-column panels, 120-row A blocks, 256-deep slices, 2048-column blocks). */
const EDGE_CASES: P[] = [
  params([1, 1, 1], [1, 1, 1]),
  params([2, 3], [4, 3]), // 0-d: a matmul
  params([1, 1, 5, 5], [1, 1, 3, 3]),
  params([2, 3, 4, 4], [2, 3, 3, 3], { pad: [[5, 5], [4, 6]] }), // padding larger than the window
  params([1, 2, 11, 9], [3, 2, 2, 2], { s: [4, 5] }), // stride > window
  params([2, 5, 7, 6], [7, 5, 1, 1]), // 1×1
  params([2, 6, 9, 7], [6, 1, 3, 3], { pad: [[1, 1], [1, 1]], fg: 6 }), // depthwise
  params([1, 4, 12, 10], [8, 2, 3, 3], { pad: [[2, 2], [2, 2]], rd: [2, 2], fg: 2 }), // atrous, grouped
  params([2, 3, 5, 4], [4, 3, 3, 3], { pad: [[2, 2], [2, 2]], ld: [2, 3] }), // transposed-conv style
  params([1, 2, 9, 8], [2, 2, 3, 3], { pad: [[-1, -2], [0, -1]] }), // negative padding
  params([4, 3, 6, 5], [6, 3, 2, 3], { pad: [[1, 0], [0, 1]], bg: 2 }), // batch groups
  params([1, 2, 3, 8, 9], [3, 2, 3, 3, 3], { pad: [[1, 1], [1, 1], [1, 1]] }), // space-time 3×3×3
  params([1, 3, 7, 7], [121, 3, 2, 2]), // 121 rows: past one A block and a partial micro-tile
  params([1, 35, 6, 5], [6, 35, 3, 3], { pad: [[1, 1], [1, 1]] }), // K = 315: two k-slices
  params([1, 2, 50, 50], [3, 2, 1, 1]), // 2500 columns: two column blocks
  params([1, 3, 1, 17], [5, 3, 1, 3], { pad: [[0, 0], [1, 1]] }), // 17 columns: a partial panel
  params([2, 3, 6, 41], [4, 3, 3, 3], { s: [2, 2], pad: [[1, 1], [1, 1]] }), // stride 2 over wide rows: panels of floats 2 apart
  params([1, 2, 70], [3, 2, 4], { s: [2], pad: [[1, 2]], rd: [2] }), // 1-D stride 2, atrous
  params([2, 4, 9, 11], [3, 4, 3, 3], { ld: [2, 2], pad: [[2, 2], [1, 2]], rd: [1, 2] }), // transposed conv: phases, atrous in one dim
  params([1, 3, 4, 5, 6], [2, 3, 2, 3, 3], { ld: [1, 2, 3], pad: [[0, 1], [2, 1], [-1, 3]], rd: [2, 3, 1] }), // 3-D phases, a negative pad, gcd(r, d) > 1
  params([1, 2, 6, 6], [2, 2, 1, 1], { ld: [3, 3] }), // 1×1 taps: phases without taps are zeros
];

test('each element is the documented sequential f32 sum, on random and edge convolutions', () => {
  const cases = [...EDGE_CASES, ...Array.from({ length: 120 }, randomParams)];
  const before = simdCalls;
  for (const p of cases) {
    const x = rand(prod(p.lhsShape)), w = rand(prod(p.rhsShape));
    assertBits(run(wasm, x, w, p), sequentialF32(x, w, p), describe(p));
  }
  assert.is(simdCalls - before, cases.length, 'every case ran the SIMD routine');
  assert.ok(phasedCalls >= 4, 'input-dilated cases ran as phases');
});

test('column chunks of the tap table, batch items merged into the columns or not: the same bits', () => {
  const saved = [wasm.convTableEntries, wasm.convMergeBelow] as const;
  try {
    const cases = [EDGE_CASES[11], EDGE_CASES[7], EDGE_CASES[14], EDGE_CASES[10], params([3, 2, 4, 3], [5, 2, 3, 3], { pad: [[1, 1], [1, 1]] }), randomParams(), randomParams()];
    for (const p of cases)
      for (const [entries, mergeBelow] of [[60, 0], [1, Infinity], [100, Infinity], [1 << 20, Infinity], [1 << 20, 0]]) {
        [wasm.convTableEntries, wasm.convMergeBelow] = [entries, mergeBelow];
        const x = rand(prod(p.lhsShape)), w = rand(prod(p.rhsShape));
        assertBits(run(wasm, x, w, p), sequentialF32(x, w, p), `${describe(p)}, table of ${entries} entries, merge below ${mergeBelow}`);
      }
  } finally {
    [wasm.convTableEntries, wasm.convMergeBelow] = saved;
  }
});

test('TapTables: a repeated geometry reuses its table, the least recently used is dropped past the limit', () => {
  const geometry = (n: number): ConvGeometry => ({ inSp: [n], winSp: [3], outSp: [n], strides: [1], padLo: [1], lhsDil: [1], rhsDil: [1] });
  const tables = new TapTables(100); // a table of 8 columns × 3 taps: 24 + 3 entries
  const a = tables.get(geometry(5), 5, 5, 20, 0, 8);
  assert.equal([...a.tab.subarray(0, 8)], [-1, 0, 4, 8, 12, -1, -1, -1], 'tap 0 of positions 0…4: offsets of inputs −1…3, then padding columns');
  assert.equal([...a.modes], [-2, -2, -2], 'every panel has padding: gathers');
  // Stride 2 without padding: tap w of position i reads input 2i + w, 8 floats 2 apart (mode −3 − byte offset).
  const s2 = new TapTables().get({ inSp: [40], winSp: [2], outSp: [20], strides: [2], padLo: [0], lhsDil: [1], rhsDil: [1] }, 20, 20, 160, 0, 16);
  assert.equal([...s2.modes], [-3, -3 - 64, -3 - 4, -3 - 68], 'tap 0: offsets 0 and 64; tap 1: 4 and 68');
  assert.is(tables.get(geometry(5), 5, 5, 20, 0, 8), a, 'same geometry: the same table');
  const b = tables.get(geometry(6), 6, 6, 24, 0, 8), c = tables.get(geometry(7), 7, 7, 28, 0, 8);
  assert.is(tables.get(geometry(6), 6, 6, 24, 0, 8), b, 'three tables fit');
  tables.get(geometry(4), 4, 4, 16, 0, 8); // evicts the least recently used: geometry(5)
  assert.is(tables.get(geometry(7), 7, 7, 28, 0, 8), c);
  assert.is.not(tables.get(geometry(5), 5, 5, 20, 0, 8), a, 'evicted: rebuilt');
});

test('the same geometry with new data (a cached tap table) gives the documented bits', () => {
  const p = EDGE_CASES[8];
  for (let r = 0; r < 3; r++) {
    const x = rand(prod(p.lhsShape)), w = rand(prod(p.rhsShape));
    assertBits(run(wasm, x, w, p), sequentialF32(x, w, p), `${describe(p)}, run ${r}`);
  }
});

/** |got − want| ≤ (K + 3)·2⁻²⁴·abs element-wise (abs: the oracle's Σ|a||b|). */
function assertWithinSum(got: ArrayLike<number>, want: ArrayLike<number>, abs: ArrayLike<number>, K: number, what: string): void {
  assert.is(got.length, want.length, `${what}: size`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= (K + 3) * 2 ** -24 * abs[i])) assert.unreachable(`${what}: element ${i}: ${got[i]} vs the oracle's ${want[i]}, |Δ| = ${err}, Σ|w||x| = ${abs[i]}, K = ${K}`);
  }
}

test('against the f64 oracle: within (K + 3)·2⁻²⁴·Σ|w||x|, K = I·taps', () => {
  const cases = [...EDGE_CASES, ...Array.from({ length: 40 }, randomParams), params([2, 64, 12, 12], [16, 64, 3, 3], { pad: [[1, 1], [1, 1]] })];
  for (const p of cases) {
    const x = rand(prod(p.lhsShape)), w = rand(prod(p.rhsShape));
    const K = prod(p.rhsShape.slice(1));
    assertWithinSum(run(wasm, x, w, p), run(cpu, x, w, p), run(cpu, x.map(Math.abs), w.map(Math.abs), p), K, describe(p));
  }
});

function withThreads<T>(n: number, fn: () => T): T {
  const saved = [config.threads, wasm.minParallelFlops] as const;
  config.threads = n;
  wasm.minParallelFlops = 0;
  try {
    return fn();
  } finally {
    [config.threads, wasm.minParallelFlops] = saved;
  }
}

test('1 and 2 threads give the same bits (split over items, row blocks and column blocks)', () => {
  const cases = [
    params([1, 3, 9, 11], [3, 3, 3, 3], { pad: [[1, 1], [1, 1]] }), // one item of 3 rows: column blocks
    params([3, 4, 8, 8], [12, 4, 3, 3], { pad: [[1, 1], [1, 1]] }), // 3 items for 2 threads
    params([1, 2, 10, 10], [23, 2, 2, 2], { s: [2, 1] }), // one item: row blocks
    params([2, 6, 9, 7], [6, 1, 3, 3], { pad: [[1, 1], [1, 1]], fg: 6 }),
    params([4, 3, 6, 5], [6, 3, 2, 3], { bg: 2 }),
    ...Array.from({ length: 10 }, randomParams),
  ];
  for (const p of cases) {
    const x = rand(prod(p.lhsShape)), w = rand(prod(p.rhsShape));
    const one = withThreads(1, () => run(wasm, x, w, p)), two = withThreads(2, () => (assert.is(wasm.threadCount(), 2, 'a pool of 2 threads'), run(wasm, x, w, p)));
    assertBits(two, one, `${describe(p)}: 2 threads vs 1`);
    assertBits(one, sequentialF32(x, w, p), `${describe(p)}: 1 thread`);
  }
});

/** vjp of conv on a backend: [dx, dw] for cotangent ct. */
function convGrads(backend: 'wasm' | 'cpu', x: Float32Array, w: Float32Array, ct: Float32Array, p: P): [Float32Array, Float32Array] {
  return onBackend(backend, () => scope(() => {
    const b = getBackend(backend);
    const put = (d: Float32Array, s: readonly number[]) => NDArray.fromData(b, d, [...s], 'float32');
    const f = (l: VArray, r: VArray) => lax.convGeneralDilated(l, r, p.windowStrides, p.padding.map(([a, c]): [number, number] => [a, c]), {
      lhsDilation: p.lhsDilation, rhsDilation: p.rhsDilation, featureGroupCount: p.featureGroupCount, batchGroupCount: p.batchGroupCount,
    });
    const [, back] = vjp(f, put(x, p.lhsShape) as VArray, put(w, p.rhsShape) as VArray);
    const [dx, dw] = back(put(ct, outShapeOf(p)) as VArray) as VArray[];
    return [dx.dataSync().slice() as Float32Array, dw.dataSync().slice() as Float32Array];
  }));
}

test('input and weight gradients (lhs dilation, feature ↔ batch groups) are within the bound of the oracle', () => {
  const cases = [
    params([2, 4, 9, 8], [6, 4, 3, 3], { pad: [[1, 1], [1, 1]] }),
    params([2, 3, 9, 10], [4, 3, 3, 3], { s: [2, 2], pad: [[1, 1], [0, 1]] }), // input grad: lhs dilation 2
    params([2, 3, 8, 8], [4, 3, 3, 2], { s: [2, 3], rd: [2, 1], pad: [[2, 1], [1, 1]] }), // weight grad: rhs dilation 2
    params([2, 6, 7, 7], [6, 2, 3, 3], { pad: [[1, 1], [1, 1]], fg: 3 }), // weight grad: batch groups
    params([2, 4, 7, 7], [4, 1, 3, 3], { pad: [[1, 1], [1, 1]], fg: 4 }), // depthwise
    params([4, 3, 6, 6], [4, 3, 3, 3], { pad: [[1, 1], [1, 1]], bg: 2 }), // input grad: feature groups
    params([1, 2, 3, 6, 5], [3, 2, 3, 3, 3], { pad: [[1, 1], [1, 1], [1, 1]] }), // space-time
    params([2, 3, 9], [4, 3, 3], { ld: [2], pad: [[2, 2]] }),
  ];
  for (const p of cases) {
    const x = rand(prod(p.lhsShape)), w = rand(prod(p.rhsShape)), ct = rand(prod(outShapeOf(p)));
    const before = simdCalls;
    const [gx, gw] = convGrads('wasm', x, w, ct, p);
    assert.is(simdCalls - before, 3, `${describe(p)}: the forward and both gradient convolutions ran the SIMD routine`);
    const [wx, ww] = convGrads('cpu', x, w, ct, p);
    // Σ|a||b| of each gradient: the same (linear) gradients of |x|, |w|, |ct|.
    const [ax, aw] = convGrads('cpu', x.map(Math.abs), w.map(Math.abs), ct.map(Math.abs), p);
    // Terms per element: dx sums over output features and taps, dw over the batch and output positions.
    const [N] = p.lhsShape, [O, , ...win] = p.rhsShape, outSp = outShapeOf(p).slice(2);
    assertWithinSum(gx, wx, ax, O * prod(win), `${describe(p)}: input gradient`);
    assertWithinSum(gw, ww, aw, N * prod(outSp), `${describe(p)}: weight gradient`);
  }
});

test('an infinite or NaN weight runs the JavaScript routine; NaN and ±∞ inputs propagate; empty shapes; K = 0', () => {
  const p = params([1, 2, 5, 5], [2, 2, 3, 3], { pad: [[1, 1], [1, 1]] });
  for (const bad of [Infinity, -Infinity, NaN]) {
    const x = rand(50), w = rand(36);
    w[4] = bad;
    const before = simdCalls;
    assertBits(run(wasm, x, w, p), run(cpu, x, w, p), `weight ${bad}`);
    assert.is(simdCalls, before, `weight ${bad}: the JavaScript routine`);
  }
  // The check itself: every position, in the SIMD body and the scalar tail.
  for (let n = 0; n <= 9; n++) {
    const finite = Float32Array.from({ length: n }, (_, i) => [3.4e38, -0, 1e-45, -2.5][i % 4]);
    const buf = wasm.upload('float32', finite);
    assert.is(wasm.routines.allFinite(buf.ptr, n), 1, `${n} finite values`);
    for (let i = 0; i < n; i++)
      for (const bad of [Infinity, -Infinity, NaN]) {
        wasm.view(buf)[i] = bad;
        assert.is(wasm.routines.allFinite(buf.ptr, n), 0, `${bad} at ${i} of ${n}`);
        wasm.view(buf)[i] = finite[i];
      }
    wasm.free(buf);
  }
  const x = rand(50), w = rand(36);
  [x[0], x[12], x[30]] = [NaN, Infinity, -Infinity];
  const got = run(wasm, x, w, p);
  assertBits(got, sequentialF32(x, w, p), 'NaN and ±∞ inputs');
  assert.ok(Number.isNaN(got[0]) && got.some((v) => !Number.isFinite(v) && !Number.isNaN(v)), 'NaN and ∞ reach the output');
  assert.is(run(wasm, new Float32Array(0), rand(36), params([0, 2, 5, 5], [2, 2, 3, 3])).length, 0, 'empty batch');
  assert.is(run(wasm, rand(50), rand(36), params([1, 2, 5, 5], [2, 2, 3, 3], { pad: [[0, -3], [0, 0]] })).length, 0, 'empty output rows');
  assertBits(run(wasm, new Float32Array(0), new Float32Array(0), params([2, 0, 4], [3, 0, 2])), new Float32Array(18), 'K = 0 (no input channels)');
});

test('the workspace and tap table are returned: no live blocks remain after a conv', () => {
  const before = wasm.heapStats().top;
  const live = wasm.memoryStats();
  run(wasm, rand(2 * 8 * 10 * 10), rand(16 * 8 * 9), params([2, 8, 10, 10], [16, 8, 3, 3], { pad: [[1, 1], [1, 1]] }));
  assert.equal(wasm.memoryStats(), live);
  assert.is(wasm.heapStats().top, before);
});

test('float32 conv through lax on the wasm backend uses the routine and matches the oracle', () => {
  onBackend('wasm', () => scope(() => {
    const x = np.array(rand(2 * 3 * 6 * 6)).reshape([2, 3, 6, 6]);
    const w = np.array(rand(4 * 3 * 3 * 3)).reshape([4, 3, 3, 3]);
    const before = simdCalls;
    const y = lax.convGeneralDilated(x, w, [1, 1], 'SAME');
    assert.is(simdCalls - before, 1);
    const p = params([2, 3, 6, 6], [4, 3, 3, 3], { pad: [[1, 1], [1, 1]] });
    assertBits(y.dataSync(), sequentialF32(x.dataSync() as Float32Array, w.dataSync() as Float32Array, p), 'SAME conv');
  }));
});

test.run();
