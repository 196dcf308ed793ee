/**
 * The wasm backend's float32 matmul routine (`wasm/gemm.ts`):
 *
 * - its summation order is the documented one: each element equals, bit for bit, the
 *   sequential f32 sum over k of f32-rounded products — on shapes at and around every
 *   block edge (5-row and 8-column micro-tiles, 256-deep k-slices, 120-row A blocks,
 *   2048-column B blocks), batched with either operand broadcast;
 * - against the JavaScript oracle (which sums in f64) it is within the classical bound
 *   |Δ| ≤ γ_k·Σ|a||b| ≤ (k + 3)·2⁻²⁴·Σ|a||b|, and the typical error grows like √k·2⁻²⁴;
 * - k = 0 gives zeros, empty shapes do nothing, NaN and ±∞ propagate, int32 matmul stays on
 *   the exact JavaScript routine.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RoutineParams } from '../src/core/backends/backend.js';
import { CpuBackend } from '../src/core/backends/runtime/cpu.js';
import { WasmBackend } from '../src/core/backends/runtime/wasm.js';
import { assertBits, lcg } from './helpers.js';

const wasm = new WasmBackend();
const cpu = new CpuBackend();
const rng = lcg(7);
const rand = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());

type P = RoutineParams['matmul'];
const params = (batch: number, m: number, k: number, n: number, aBatchStride = m * k, bBatchStride = k * n): P => ({ batch, m, k, n, aBatchStride, bBatchStride });

function run(b: WasmBackend | CpuBackend, a: Float32Array | Int32Array, w: Float32Array | Int32Array, p: P): Float32Array | Int32Array {
  const dtype = a instanceof Int32Array ? 'int32' : 'float32';
  const x = b.upload(dtype, a), y = b.upload(dtype, w), out = b.alloc(dtype, p.batch * p.m * p.n);
  b.routine('matmul', [x, y], [out], p);
  const r = b.readSync(out).slice() as Float32Array | Int32Array;
  [x, y, out].forEach((t) => b.free(t));
  return r;
}

/** The documented order: acc = fround(acc + fround(a·b)) for k = 0, 1, …, starting from 0. */
function sequentialF32(a: Float32Array, b: Float32Array, p: P): Float32Array {
  const { batch, m, k, n, aBatchStride, bBatchStride } = p;
  const out = new Float32Array(batch * m * n);
  const fr = Math.fround;
  for (let t = 0; t < batch; t++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let q = 0; q < k; q++) acc = fr(acc + fr(a[t * aBatchStride + i * k + q] * b[t * bBatchStride + q * n + j]));
        out[(t * m + i) * n + j] = acc;
      }
  return out;
}

test('each element is the sequential f32 sum over k, on shapes around every block edge', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1], [1, 8, 1], [5, 8, 1], [4, 7, 3], [6, 9, 2], [5, 16, 255], [10, 24, 256], [11, 17, 257], [3, 5, 513],
    [119, 9, 20], [120, 8, 7], [121, 15, 9], [241, 3, 5], [2, 2047, 3], [3, 2048, 2], [2, 2049, 260], [7, 1, 300], [1, 33, 40],
  ];
  for (const [m, n, k] of shapes) {
    const p = params(1, m, k, n);
    const a = rand(m * k), b = rand(k * n);
    assertBits(run(wasm, a, b, p), sequentialF32(a, b, p), `${m}×${k} · ${k}×${n}`);
  }
});

test('batches: per-item operands, a broadcast A, a broadcast B (one gemm over all rows)', () => {
  for (const [batch, m, k, n] of [[3, 4, 5, 6], [2, 7, 9, 13], [4, 1, 3, 1], [5, 6, 260, 10]]) {
    for (const [aS, bS] of [[m * k, k * n], [0, k * n], [m * k, 0], [0, 0]]) {
      const p = params(batch, m, k, n, aS, bS);
      const a = rand(aS ? batch * m * k : m * k), b = rand(bS ? batch * k * n : k * n);
      assertBits(run(wasm, a, b, p), sequentialF32(a, b, p), `batch ${batch} ${m}×${k}·${k}×${n} strides ${aS}, ${bS}`);
    }
  }
});

test('against the f64 oracle: within (k + 3)·2⁻²⁴·Σ|a||b|; the typical error grows like √k', () => {
  for (const k of [1, 16, 256, 1000, 4096]) {
    const [m, n] = [9, 20];
    const p = params(1, m, k, n);
    const a = rand(m * k), b = rand(k * n);
    const got = run(wasm, a, b, p), want = run(cpu, a, b, p);
    const abs = run(cpu, a.map(Math.abs), b.map(Math.abs), p);
    let rms = 0;
    for (let i = 0; i < want.length; i++) {
      const err = Math.abs(got[i] - want[i]);
      assert.ok(err <= (k + 3) * 2 ** -24 * abs[i], `k = ${k}, element ${i}: |Δ| = ${err}, Σ|a||b| = ${abs[i]}`);
      rms += (err / abs[i]) ** 2;
    }
    rms = Math.sqrt(rms / want.length);
    // Random rounding errors: relative to Σ|a||b| about √k·u/√3 on average; 4√k·u is far above it and far below k·u for large k.
    assert.ok(rms <= 4 * Math.sqrt(k) * 2 ** -24, `k = ${k}: rms relative error ${rms}`);
  }
});

test('k = 0 writes zeros; empty shapes; NaN and ±∞ propagate; int32 stays exact (the JavaScript routine)', () => {
  assertBits(run(wasm, new Float32Array(0), new Float32Array(0), params(2, 3, 0, 4)), new Float32Array(24), 'k = 0');
  assert.is(run(wasm, new Float32Array(0), rand(12), params(1, 0, 3, 4)).length, 0);
  const a = Float32Array.from([1, NaN, 2, 3, Infinity, 1, 0, 0, 1e30]), b = Float32Array.from([1, 2, 0, 1, -1, 1e30]);
  const p = params(1, 3, 3, 2);
  assertBits(run(wasm, a, b, p), sequentialF32(a, b, p), 'special values');
  const got = run(wasm, a, b, p);
  assert.ok(Number.isNaN(got[0]) && Number.isNaN(got[1]) && Number.isNaN(got[2]), 'NaN and ∞·0 give NaN');
  assert.equal([got[3], got[4], got[5]], [Infinity, -Math.fround(1e30), Infinity], 'infinities, and overflow in f32');
  const ia = Int32Array.from({ length: 12 }, (_, i) => (i * 7919) | (i << 28)), ib = Int32Array.from({ length: 20 }, (_, i) => i * 104729 - 5);
  const ip = params(1, 3, 4, 5);
  assertBits(run(wasm, ia, ib, ip), run(cpu, ia, ib, ip), 'int32 wraps like the oracle');
});

test('the workspace is returned: no live blocks remain after a matmul', () => {
  const before = wasm.heapStats();
  run(wasm, rand(50 * 40), rand(40 * 70), params(1, 50, 40, 70));
  assert.equal(wasm.memoryStats(), { buffers: 0, bytes: 0 });
  assert.is(wasm.heapStats().top, before.top);
});

test.run();
