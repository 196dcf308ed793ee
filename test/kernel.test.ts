import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CpuBackend } from '../src/core/backends/runtime/cpu.js';
import { JsRenderer } from '../src/core/backends/render/js.js';
import type { DType, TypedArray } from '../src/core/dtype.js';
import { bin, cast, cnst, idx, load, outVar, un, varRef, type Expr, type Kernel } from '../src/core/kernel/ir.js';
import { np } from '../src/index.js';

const cpu = new CpuBackend();
function run(expr: Expr, inputs: [DType, number[]][], outShape: number[], outDtype: DType): number[] {
  const k: Kernel = { inputs: inputs.map(([d]) => d), outShape, outDtype, expr, label: 'test' };
  const bufs = inputs.map(([d, v]) => cpu.upload(d, new (d === 'float32' ? Float32Array : d === 'int32' ? Int32Array : d === 'uint32' ? Uint32Array : Uint8Array)(v) as TypedArray));
  const out = cpu.alloc(outDtype, outShape.reduce((a, b) => a * b, 1));
  cpu.run(k, bufs, out);
  return [...cpu.readSync(out)];
}
const at = (buf: number, dtype: DType) => load(buf, outVar(0), dtype);

test('int32 and uint32 arithmetic wraps; division truncates; shifts saturate', () => {
  const a: [DType, number[]] = ['int32', [2147483647, -7, 7, -2147483648]];
  const b: [DType, number[]] = ['int32', [1, 2, -2, -1]];
  assert.equal(run(bin('add', at(0, 'int32'), at(1, 'int32')), [a, b], [4], 'int32'), [-2147483648, -5, 5, 2147483647]);
  assert.equal(run(bin('mul', at(0, 'int32'), at(1, 'int32')), [a, b], [4], 'int32'), [2147483647, -14, -14, -2147483648]);
  assert.equal(run(bin('div', at(0, 'int32'), at(1, 'int32')), [a, b], [4], 'int32'), [2147483647, -3, -3, -2147483648]);
  assert.equal(run(bin('rem', at(0, 'int32'), at(1, 'int32')), [a, b], [4], 'int32'), [0, -1, 1, 0]);
  // XLA semantics for a zero divisor: x / 0 is all ones, x % 0 is x
  const z: [DType, number[]] = ['int32', [0, 0, 0, 0]];
  assert.equal(run(bin('div', at(0, 'int32'), at(1, 'int32')), [a, z], [4], 'int32'), [-1, -1, -1, -1]);
  assert.equal(run(bin('rem', at(0, 'int32'), at(1, 'int32')), [a, z], [4], 'int32'), a[1]);
  assert.equal(run(bin('div', at(0, 'uint32'), at(1, 'uint32')), [['uint32', [7]], ['uint32', [0]]], [1], 'uint32'), [0xffffffff]);
  const u: [DType, number[]] = ['uint32', [0xffffffff, 1, 0x80000000, 5]];
  const s: [DType, number[]] = ['uint32', [1, 31, 32, 2]];
  assert.equal(run(bin('add', at(0, 'uint32'), at(1, 'uint32')), [u, s], [4], 'uint32'), [0, 32, 0x80000020, 7]);
  assert.equal(run(bin('shl', at(0, 'uint32'), at(1, 'uint32')), [u, s], [4], 'uint32'), [0xfffffffe, 0x80000000, 0, 20]);
  assert.equal(run(bin('shrl', at(0, 'uint32'), at(1, 'uint32')), [u, s], [4], 'uint32'), [0x7fffffff, 0, 0, 1]);
});

test('float32 rounding, casts and bitcasts', () => {
  const x: [DType, number[]] = ['float32', [0.1, 2.5, -2.5, -0.5, 1e10, NaN, -1.7]];
  assert.equal(run(un('round', at(0, 'float32')), [x], [7], 'float32'), [0, 2, -2, -0, 1e10, NaN, -2]);
  assert.equal(run(cast(at(0, 'float32'), 'int32'), [x], [7], 'int32'), [0, 2, -2, 0, 2147483647, 0, -1]);
  assert.equal(run(cast(at(0, 'float32'), 'bool'), [x], [7], 'bool'), [1, 1, 1, 1, 1, 1, 1]);
  assert.equal(run({ k: 'bitcast', x: cnst(1, 'float32'), dtype: 'uint32' }, [], [1], 'uint32'), [0x3f800000]);
  assert.equal(run({ k: 'bitcast', x: cnst(0x3f800000, 'uint32'), dtype: 'float32' }, [], [1], 'float32'), [1]);
  // a float add is rounded to f32 before the next op: (2^24 + 1) - 2^24 = 0 in f32
  const big: [DType, number[]] = ['float32', [16777216]];
  assert.equal(run(bin('sub', bin('add', at(0, 'float32'), cnst(1, 'float32')), at(0, 'float32')), [big], [1], 'float32'), [0]);
});

test('reductions hoist out of loops they do not depend on', () => {
  // out[i0, i1] = x[i1] * sum_r y[r]: the sum depends on no output index, so it is computed once, before the loops would repeat it.
  const r = { name: 'rq', size: 3 };
  const sum: Expr = { k: 'reduce', op: 'sum', vars: [r], body: load(1, varRef('rq'), 'float32'), dtype: 'float32' };
  const expr = bin('mul', load(0, outVar(1), 'float32'), sum);
  const k: Kernel = { inputs: ['float32', 'float32'], outShape: [2, 2], outDtype: 'float32', expr, label: 'hoist' };
  const src = new JsRenderer().renderKernel(k);
  assert.ok(src.indexOf('for (let rq') < src.indexOf('for (let i1'), src);
  assert.equal(run(expr, [['float32', [1, 2]], ['float32', [1, 2, 3]]], [2, 2], 'float32'), [6, 12, 6, 12]);
});

test('argmax takes the first maximum and the first NaN', () => {
  const v = { name: 'ra', size: 5 };
  const e: Expr = { k: 'reduce', op: 'argmax', vars: [v], body: load(0, bin('add', bin('mul', outVar(0), idx(5)), varRef('ra')), 'float32'), dtype: 'int32' };
  assert.equal(run(e, [['float32', [1, 3, 3, 2, 0, 1, NaN, 5, NaN, 9]]], [2], 'int32'), [1, 1]);
});

test('a fused expression renders to one loop with shared subexpressions bound once', () => {
  const x = load(0, outVar(0), 'float32');
  const e = un('exp', bin('mul', x, x));
  const src = new JsRenderer().renderKernel({ inputs: ['float32'], outShape: [8], outDtype: 'float32', expr: e, label: 'chain' });
  assert.is(src.match(/in0\[/g)!.length, 1, src);
  assert.is(
    src,
    [
      '// chain',
      'let o = 0;',
      'for (let i0 = 0; i0 < 8; i0++) {',
      '  const t0 = in0[i0];',
      '  out[o++] = Math.fround(Math.exp(Math.fround(t0 * t0)));',
      '}',
    ].join('\n'),
  );
});

test('kernels are compiled once per source', () => {
  const before = cpu.compiledKernels;
  for (let i = 0; i < 3; i++) run(un('neg', at(0, 'float32')), [['float32', [1, 2]]], [2], 'float32');
  assert.is(cpu.compiledKernels, before + 1);
});

test('erf and erfinv', () => {
  const e = np.erf(np.array([0, 0.5, -1, 2, 3, 6])).toNested() as number[];
  const want = [0, 0.5204998778130465, -0.8427007929497149, 0.9953222650189527, 0.9999779095030014, 1];
  e.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-7, `erf ${v} vs ${want[i]}`));
  const inv = np.erfinv(np.array([0, 0.5, -0.9, 0.999, 1, -1, 1.5])).toNested() as number[];
  const wantInv = [0, 0.4769362762044699, -1.1630871536766743, 2.3267537655135246, Infinity, -Infinity, NaN];
  inv.forEach((v, i) => assert.ok(Object.is(v, wantInv[i]) || Math.abs(v - wantInv[i]) < 2e-6 * Math.abs(wantInv[i]), `erfinv ${v} vs ${wantInv[i]}`));
});

test.run();
