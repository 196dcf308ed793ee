/**
 * The WebAssembly backend's own machinery (its results are compared with the oracle in
 * `backend_parity.test.ts`): the size-class allocator, memory growth, loads outside a buffer
 * (unchecked ones need the memory to extend far enough, others are clamped), the index-range
 * analysis behind that choice, the kernel listing, errors, and the JavaScript fallback used
 * where a browser refuses to compile a module synchronously.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WasmBackend, WasmBuffer } from '../src/core/backends/runtime/wasm.js';
import { sizeClass } from '../src/core/backends/size_class.js';
import { CpuBackend } from '../src/core/backends/runtime/cpu.js';
import { FULL_RANGE, IndexRanges } from '../src/core/kernel/index_range.js';
import { bin, cnst, idx, load, outVar, select, varRef, type Expr, type Kernel } from '../src/core/kernel/ir.js';

const f32Kernel = (expr: Expr, n: number, inputs: Kernel['inputs'], label = 'test'): Kernel => ({ inputs, outShape: [n], outDtype: expr.dtype, expr, label });

/** out[i] = i < n0 ? in0[i] : in1[i − n0] (concatenate: both loads run for every i). */
const concatKernel = (n0: number, n1: number): Kernel => {
  const i = outVar(0);
  return f32Kernel(select(bin('lt', i, idx(n0)), load(0, i, 'float32'), load(1, bin('sub', i, idx(n0)), 'float32')), n0 + n1, ['float32', 'float32'], 'concat');
};

function runOn(b: WasmBackend, kernel: Kernel, inputs: Float32Array[]): Float32Array {
  const bufs = inputs.map((d) => b.upload('float32', d));
  const out = b.alloc('float32', kernel.outShape.reduce((x, y) => x * y, 1));
  b.run(kernel, bufs, out);
  const r = new Float32Array(b.readSync(out));
  [...bufs, out].forEach((x) => b.free(x));
  return r;
}

test('size classes: 16-byte multiples, at most 25% over (beyond 256 bytes), monotonic', () => {
  let prev = 0;
  for (let n = 0; n < 70000; n += 1 + Math.floor(n / 50)) {
    const c = sizeClass(n);
    assert.ok(c % 16 === 0 && c >= n && c >= prev, `class of ${n} is ${c}`);
    assert.ok(n <= 256 ? c - n < 16 || n === 0 : c <= n * 1.25 + 16, `class of ${n} is ${c}`);
    prev = c;
  }
  assert.is(sizeClass(4096), 4096);
});

test('allocator: aligned blocks, reuse through free lists, reset when empty', () => {
  const b = new WasmBackend();
  const bufs = [1, 3, 5, 100, 1000, 5].map((n) => b.alloc('float32', n));
  for (const x of bufs) assert.is(x.ptr % 16, 0);
  const ends = bufs.map((x) => [x.ptr, x.ptr + x.cap]).sort((p, q) => p[0] - q[0]);
  for (let i = 1; i < ends.length; i++) assert.ok(ends[i][0] >= ends[i - 1][1], 'blocks do not overlap');
  const top = b.heapStats().top;
  b.free(bufs[2]);
  const again = b.alloc('int32', 5);
  assert.is(again.ptr, bufs[2].ptr, 'a freed block of the same class is reused');
  assert.is(b.heapStats().top, top);
  assert.equal(b.memoryStats(), { buffers: 6, bytes: 4 * (1 + 3 + 5 + 100 + 1000 + 5) });
  [...bufs.filter((_, i) => i !== 2), again].forEach((x) => b.free(x));
  assert.equal(b.memoryStats(), { buffers: 0, bytes: 0 });
  assert.equal(b.heapStats().top, 1024, 'the heap resets when nothing is live');
  assert.throws(() => b.free(again), /freed/);
  assert.throws(() => b.free(new CpuBackend().alloc('float32', 1)), /cpu buffer/);
});

test('memory: shared where SharedArrayBuffer exists; grows, and buffers keep their data', () => {
  const b = new WasmBackend();
  assert.is(b.heapStats().shared, typeof SharedArrayBuffer !== 'undefined');
  const small = b.upload('int32', Int32Array.from([1, -2, 3]));
  const before = b.heapStats().memoryBytes;
  const big = b.alloc('float32', 2 ** 20);
  assert.ok(b.heapStats().memoryBytes > before, 'the memory grew');
  assert.equal([...b.readSync(small)], [1, -2, 3]);
  const big2 = b.upload('bool', Uint8Array.from([1, 0, 1]));
  assert.equal([...b.readSync(big2)], [1, 0, 1]);
  [small, big, big2].forEach((x) => b.free(x));
});

test('read() copies, readSync() views', async () => {
  const b = new WasmBackend();
  const x = b.upload('float32', Float32Array.from([1.5, 2.5]));
  const copy = await b.read(x);
  const view = b.readSync(x);
  b.view(x)[0] = 7;
  assert.equal([copy[0], view[0]], [1.5, 7]);
  b.free(x);
  assert.throws(() => b.readSync(x), /freed/);
});

test('unchecked loads past the end of the memory: the memory is grown first', () => {
  const b = new WasmBackend();
  const c = b.upload('float32', Float32Array.from([0, 0, 3, 4, 5, 6, 7, 8, 9, 10]));
  const out = b.alloc('float32', 10);
  // out[i] = i < 2 ? in0[i] : in1[i]: both loads are cheap, so both run for every i.
  const i = outVar(0);
  const kernel = f32Kernel(select(bin('lt', i, idx(2)), load(0, i, 'float32'), load(1, i, 'float32')), 10, ['float32', 'float32']);
  // Fill the memory so that the next 16-byte block ends exactly at its end.
  const fill: WasmBuffer[] = [];
  let rest = b.heapStats().memoryBytes - b.heapStats().top - 16;
  while (rest > 0) {
    const p = 2 ** Math.floor(Math.log2(rest));
    fill.push(b.alloc('bool', p));
    rest -= p;
  }
  const a = b.upload('float32', Float32Array.from([1, 2]));
  const size = b.heapStats().memoryBytes;
  assert.is(a.ptr + 16, size, 'the operand is the last block of the memory');
  // in0 is read at indices up to 9 (the select discards them): past the memory's end.
  assert.match(b.source(kernel), /select/);
  b.run(kernel, [a, c], out);
  assert.ok(b.heapStats().memoryBytes > size, 'the memory grew');
  assert.equal([...b.readSync(out)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  [...fill, a, c, out].forEach((x) => b.free(x));
});

test('loads at negative indices are clamped (no trap even far below the buffer)', () => {
  const b = new WasmBackend();
  const second = Float32Array.from([7, 8, 9]);
  const first = Float32Array.from({ length: 200000 }, (_, i) => i);
  // The second operand sits low in the memory; in1[i − 200000] for small i would wrap to a huge address.
  const bufs = [b.upload('float32', second), b.upload('float32', first)];
  const out = b.alloc('float32', 200003);
  b.run(concatKernel(200000, 3), [bufs[1], bufs[0]], out);
  const r = b.readSync(out);
  assert.equal([r[0], r[199999], r[200000], r[200002]], [0, 199999, 7, 9]);
  assert.match(b.source(concatKernel(200000, 3)), /i32\.lt_u\s+select/);
  [...bufs, out].forEach((x) => b.free(x));
});

test('index ranges: affine, div/rem, clamps and selects; full range when unknown', () => {
  const k = f32Kernel(load(0, outVar(0), 'float32'), 10, ['float32']);
  const r = new IndexRanges(new Map([['i0', 10], ['r0', 4]]));
  const i = outVar(0), j = varRef('r0');
  assert.equal(r.of(bin('add', bin('mul', i, idx(4)), j)), [0, 39]);
  assert.equal(r.of(bin('sub', i, idx(3))), [-3, 6]);
  assert.equal(r.of(bin('div', bin('sub', i, idx(3)), idx(2))), [-1, 3]);
  assert.equal(r.of(bin('rem', i, idx(3))), [0, 2]);
  assert.equal(r.of(bin('max', bin('min', load(1, i, 'int32'), idx(9)), idx(0))), [0, 9], 'a clamped data-dependent index');
  assert.equal(r.of(select(bin('lt', i, idx(0)), bin('add', i, idx(10)), i)), [0, 19]);
  assert.equal(r.of(load(1, i, 'int32')), FULL_RANGE);
  assert.equal(r.of(bin('mul', i, idx(2 ** 30))), FULL_RANGE, 'overflow widens to the int32 range');
  assert.equal(IndexRanges.ofKernel(k).of(outVar(0)), [0, 9]);
  assert.equal(r.of(cnst(3, 'float32')), FULL_RANGE);
});

test('source() lists the module: imports, signature, body', () => {
  const b = new WasmBackend();
  const k = f32Kernel({ k: 'un', op: 'sin', x: load(0, outVar(0), 'float32'), dtype: 'float32' }, 4, ['float32'], 'sin');
  const src = b.source(k);
  assert.match(src, /^;; sin: float32 -> float32\[4\]/);
  assert.match(src, /\(import "env" "memory" \(memory 16 /);
  assert.match(src, /\(import "m" "sin" \(func 0\)\)/);
  assert.match(src, /\(func \(export "kernel"\) \(param \$out i32\) \(param \$in0 i32\) \(param \$n0 i32\) \(param \$lo i32\) \(param \$hi i32\)/);
  assert.match(src, /call 0\n\s+f32\.demote_f64/);
  // tanh is native: no import, and a vector loop
  const t = b.source(f32Kernel({ k: 'un', op: 'tanh', x: load(0, outVar(0), 'float32'), dtype: 'float32' }, 8, ['float32'], 'tanh'));
  assert.not.match(t, /import "m"/);
  assert.match(t, /v128\.load[^\n]*\n(.*\n)*\s+f32x4\.abs/);
});

test('run() checks the output buffer', () => {
  const b = new WasmBackend();
  const x = b.upload('float32', Float32Array.from([1, 2, 3]));
  const small = b.alloc('float32', 2);
  assert.throws(() => b.run(f32Kernel(load(0, outVar(0), 'float32'), 3, ['float32']), [x], small), /writes float32\[3\] into a float32\[2\]/);
  [x, small].forEach((y) => b.free(y));
});

test('a module the platform refuses to compile synchronously runs as the JavaScript kernel', () => {
  const b = new WasmBackend();
  const Module = WebAssembly.Module;
  const kernel = concatKernel(3, 2);
  const input = [Float32Array.from([1, 2, 3]), Float32Array.from([4, 5])];
  try {
    (WebAssembly as { Module: unknown }).Module = function () {
      throw new RangeError('WebAssembly.Module(): Buffer size is larger than 4KB on the main thread');
    };
    assert.equal([...runOn(b, kernel, input)], [1, 2, 3, 4, 5]);
  } finally {
    (WebAssembly as { Module: unknown }).Module = Module;
  }
  assert.equal([...runOn(b, kernel, input)], [1, 2, 3, 4, 5], 'the fallback is cached for that kernel');
});

test.run();
