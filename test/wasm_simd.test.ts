/**
 * The wasm backend's vector loops (`render/wasm.ts`, `render/wasm_simd.ts`): which kernels
 * run their innermost loop four elements at a time, and that those give the oracle's results
 * bit for bit — every op with a vector form, on edge values (±0, ±∞, NaN, denormals, int32 and
 * uint32 extremes) with row lengths that leave every tail length, operands read contiguously,
 * broadcast (invariant), transposed (gathered) and out of bounds (clamped), temporaries shared
 * inside the loop and bound outside it, f64 accumulators meeting f32 vectors, bool loads and
 * stores, and shifts by invariant amounts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/core/backends/backend.js';
import { renderWasmKernel } from '../src/core/backends/render/wasm.js';
import { CpuBackend } from '../src/core/backends/runtime/cpu.js';
import { WasmBackend } from '../src/core/backends/runtime/wasm.js';
import { storageOf, type DType } from '../src/core/dtype.js';
import { bin, cast, cnst, freshVar, idx, load, outVar, select, un, varRef, type BinOp, type Expr, type Kernel, type UnOp } from '../src/core/kernel/ir.js';
import { lcg } from './helpers.js';

const wasm = new WasmBackend();
const cpu = new CpuBackend();
const rng = lcg(11);

const FLOAT_EDGES = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, NaN, Infinity, -Infinity, 1e30, -1e30, 1e-40, -1e-40, 3e9, -3e9, 16777217, 7];
const INT_EDGES = [0, 1, -1, 2, -2, 3, 31, 32, 33, -32, 2 ** 31 - 1, -(2 ** 31), 7, -7];
const UINT_EDGES = [0, 1, 2, 3, 31, 32, 33, 2 ** 31, 2 ** 31 - 1, 2 ** 32 - 1, 7];
const EDGES: Record<DType, number[]> = { float32: FLOAT_EDGES, int32: INT_EDGES, uint32: UINT_EDGES, bool: [0, 1] };

/** n values: edge values and ordinary ones mixed. */
function data(dtype: DType, n: number): number[] {
  const e = EDGES[dtype];
  return Array.from({ length: n }, (_, i) => {
    if (rng() < 0.5) return e[(i * 7 + Math.floor(rng() * e.length)) % e.length];
    switch (dtype) {
      case 'float32': return (rng() - 0.5) * 8;
      case 'int32': return Math.floor(rng() * 41) - 20;
      case 'uint32': return Math.floor(rng() * 2 ** 32);
      case 'bool': return rng() < 0.5 ? 1 : 0;
    }
  });
}

const bitcast = (x: Expr, dtype: DType): Expr => ({ k: 'bitcast', x, dtype });
const sameValue = (g: number, w: number): boolean => Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w));

function runOn(b: Backend, kernel: Kernel, inputs: { dtype: DType; data: number[] }[]): ArrayLike<number> {
  const bufs = inputs.map((o) => b.upload(o.dtype, new (storageOf(o.dtype))(o.data)));
  const out = b.alloc(kernel.outDtype, kernel.outShape.reduce((x, y) => x * y, 1));
  b.run(kernel, bufs, out);
  const r = new (storageOf(kernel.outDtype))(b.readSync(out));
  [...bufs, out].forEach((x) => b.free(x));
  return r;
}

/** The kernel's loop is vectorised (or not, as `vector` says) and equals the oracle bit for bit. */
function check(kernel: Kernel, inputs: { dtype: DType; data: number[] }[], what: string, vector = true): void {
  assert.is(renderWasmKernel(kernel, wasm.heap.limits).vectorized, vector, `${what}: ${vector ? '' : 'not '}vectorised`);
  const want = runOn(cpu, kernel, inputs), got = runOn(wasm, kernel, inputs);
  for (let i = 0; i < want.length; i++)
    if (!sameValue(got[i], want[i])) assert.unreachable(`${what}: element ${i} is ${got[i]}, the oracle says ${want[i]}`);
}

const ROWS = 3;
/** Row lengths: every tail length, and one loop iteration exactly. */
const COLS = [4, 5, 6, 7, 37];
const i0 = outVar(0), i1 = outVar(1);
const flat = (cols: number) => bin('add', bin('mul', i0, idx(cols)), i1);
const kernel2d = (expr: Expr, cols: number, inputs: DType[], label = 'k'): Kernel => ({ inputs, outShape: [ROWS, cols], outDtype: expr.dtype, expr, label });

const VECTOR_UNARY: Record<DType, UnOp[]> = {
  float32: ['neg', 'abs', 'sign', 'floor', 'ceil', 'round', 'sqrt', 'rsqrt', 'not', 'isfinite'],
  int32: ['neg', 'abs', 'sign', 'not', 'floor', 'ceil', 'round', 'isfinite'],
  uint32: ['neg', 'abs', 'sign', 'not', 'floor', 'isfinite'],
  bool: ['neg', 'abs', 'sign', 'not', 'isfinite'],
};
const VECTOR_BINARY: Record<DType, BinOp[]> = {
  float32: ['add', 'sub', 'mul', 'div', 'max', 'min', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'],
  int32: ['add', 'sub', 'mul', 'and', 'or', 'xor', 'max', 'min', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'],
  uint32: ['add', 'sub', 'mul', 'and', 'or', 'xor', 'max', 'min', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'],
  bool: ['add', 'sub', 'mul', 'and', 'or', 'xor', 'max', 'min', 'eq', 'ne', 'lt', 'gt'],
};

test('unary and binary ops: contiguous, broadcast and constant operands, every dtype, every tail', () => {
  for (const d of ['float32', 'int32', 'uint32', 'bool'] as DType[])
    for (const cols of COLS) {
      const x = load(0, flat(cols), d), y = load(1, flat(cols), d), row = load(2, i0, d);
      const ins = [{ dtype: d, data: data(d, ROWS * cols) }, { dtype: d, data: data(d, ROWS * cols) }, { dtype: d, data: data(d, ROWS) }];
      for (const op of VECTOR_UNARY[d]) check(kernel2d(un(op, x), cols, [d, d, d]), ins, `${op}(${d}) cols ${cols}`);
      for (const op of VECTOR_BINARY[d]) {
        check(kernel2d(bin(op, x, y), cols, [d, d, d]), ins, `${op}(${d} x, y) cols ${cols}`);
        check(kernel2d(bin(op, row, x), cols, [d, d, d]), ins, `${op}(${d} row, x) cols ${cols}`);
        for (const c of EDGES[d].slice(0, 6)) check(kernel2d(bin(op, x, cnst(c, d)), cols, [d, d, d]), ins, `${op}(${d} x, ${c}) cols ${cols}`);
      }
      for (const to of ['float32', 'int32', 'uint32', 'bool'] as DType[]) check(kernel2d(cast(x, to), cols, [d, d, d]), ins, `cast ${d} → ${to} cols ${cols}`);
      if (d !== 'bool') for (const to of (['float32', 'int32', 'uint32'] as DType[]).filter((t) => t !== d)) check(kernel2d(bitcast(x, to), cols, [d, d, d]), ins, `bitcast ${d} → ${to}`);
      const p = load(0, flat(cols), 'bool');
      const pred = { dtype: 'bool' as DType, data: data('bool', ROWS * cols) };
      check(kernel2d(select(p, load(1, flat(cols), d), load(2, flat(cols), d)), cols, ['bool', d, d]), [pred, ins[0], ins[1]], `select(${d}) cols ${cols}`);
    }
});

test('min and max follow Math.min/max on NaN and signed zeros (not the pseudo-min)', () => {
  const vals = [0, -0, NaN, 1, -1, Infinity, -Infinity];
  const a = vals.flatMap((v) => vals.map(() => v)), b = vals.flatMap(() => vals);
  const x = load(0, i0, 'float32'), y = load(1, i0, 'float32');
  for (const op of ['min', 'max'] as BinOp[]) {
    const k: Kernel = { inputs: ['float32', 'float32'], outShape: [a.length], outDtype: 'float32', expr: bin(op, x, y), label: op };
    check(k, [{ dtype: 'float32', data: a }, { dtype: 'float32', data: b }], op);
    const got = runOn(wasm, k, [{ dtype: 'float32', data: a }, { dtype: 'float32', data: b }]);
    a.forEach((v, i) => assert.ok(sameValue(got[i], (op === 'min' ? Math.min : Math.max)(v, b[i])), `${op}(${v}, ${b[i]})`));
  }
});

test('shifts by constant and invariant amounts (≥ 32 gives 0 or the sign fill)', () => {
  for (const d of ['int32', 'uint32'] as DType[])
    for (const op of ['shl', 'shrl', 'shra'] as BinOp[]) {
      const x = load(0, flat(9), d);
      const ins = [{ dtype: d, data: data(d, 27) }, { dtype: d, data: [0, 5, 31, 32, 33, -1].slice(0, 3) }];
      for (const c of [0, 3, 31, 32, 40]) check(kernel2d(bin(op, x, cnst(c, d)), 9, [d, d]), ins, `${op}(${d}, ${c})`);
      check(kernel2d(bin(op, x, load(1, i0, d)), 9, [d, d]), ins, `${op}(${d}, per-row amount)`);
      const many = { dtype: d, data: [33, 32, -1] };
      check(kernel2d(bin(op, x, load(1, i0, d)), 9, [d, d]), [ins[0], many], `${op}(${d}, per-row amount ≥ 32)`);
      check(kernel2d(bin(op, x, load(1, flat(9), d)), 9, [d, d]), [ins[0], { dtype: d, data: data(d, 27) }], `${op}(${d}, varying amount)`, false);
    }
});

test('loads: transposed operands are gathered, possibly negative indices are clamped', () => {
  const x = { dtype: 'float32' as DType, data: data('float32', 5 * 7) };
  // out[i, j] = x[j, i] (x is 7×5 read as its transpose: stride 5 in j)
  const t = load(0, bin('add', bin('mul', i1, idx(5)), i0), 'float32');
  check({ inputs: ['float32'], outShape: [5, 7], outDtype: 'float32', expr: bin('mul', t, cnst(2, 'float32')), label: 't' }, [x], 'transpose');
  // concatenate: out[j] = j < 30 ? a[j] : b[j − 30] — b's index is negative for j < 30
  const j = i0;
  const cat = select(bin('lt', j, idx(30)), load(0, j, 'float32'), load(1, bin('sub', j, idx(30)), 'float32'));
  check({ inputs: ['float32', 'float32'], outShape: [35], outDtype: 'float32', expr: cat, label: 'cat' }, [{ dtype: 'float32', data: data('float32', 30) }, { dtype: 'float32', data: data('float32', 5) }], 'concatenate');
  // an offset view: x[i, j + 2] of a 3×9 array
  const off = load(0, bin('add', bin('add', bin('mul', i0, idx(9)), i1), idx(2)), 'float32');
  check(kernel2d(un('neg', off), 7, ['float32']), [{ dtype: 'float32', data: data('float32', 27) }], 'offset');
  // a data-dependent gather (take): out[i] = x[idx[i]] clamped
  const g = load(0, bin('max', bin('min', load(1, i0, 'int32'), idx(34)), idx(0)), 'float32');
  check({ inputs: ['float32', 'int32'], outShape: [13], outDtype: 'float32', expr: g, label: 'take' }, [x, { dtype: 'int32', data: data('int32', 13).map((v) => Math.abs(v) % 40) }], 'take');
});

test('shared temporaries, invariant expressions, f64 accumulators meeting f32 vectors', () => {
  const cols = 21;
  const x = load(0, flat(cols), 'float32');
  const sq = bin('mul', x, x);
  check(kernel2d(bin('add', bin('div', sq, bin('add', sq, cnst(1, 'float32'))), sq), cols, ['float32']), [{ dtype: 'float32', data: data('float32', ROWS * cols) }], 'shared node');
  // softmax-like: x / Σ_row x and (x − max_row) · 3, with the reductions bound outside the loop
  const sumRow = (): Expr => {
    const r = freshVar();
    return { k: 'reduce', op: 'sum', vars: [{ name: r, size: cols }], body: load(0, bin('add', bin('mul', i0, idx(cols)), varRef(r)), 'float32'), dtype: 'float32' };
  };
  const maxRow = (): Expr => {
    const r = freshVar();
    return { k: 'reduce', op: 'max', vars: [{ name: r, size: cols }], body: load(0, bin('add', bin('mul', i0, idx(cols)), varRef(r)), 'float32'), dtype: 'float32' };
  };
  const pos = { dtype: 'float32' as DType, data: data('float32', ROWS * cols).map((v) => (Number.isFinite(v) ? Math.abs(v) + 0.1 : 2)) };
  for (const [name, e] of [
    ['x / Σx', bin('div', x, sumRow())], ['Σx / x', bin('div', sumRow(), x)], ['x − Σx', bin('sub', x, sumRow())], ['Σx · x', bin('mul', sumRow(), x)],
    ['(x − max) · 3', bin('mul', bin('sub', x, maxRow()), cnst(3, 'float32'))], ['x + invariant sqrt', bin('add', x, un('sqrt', load(0, i0, 'float32')))],
  ] as [string, Expr][])
    check(kernel2d(e, cols, ['float32']), [pos], name);
  // a comparison of a wide value stays scalar
  check(kernel2d(select(bin('lt', x, sumRow()), x, cnst(0, 'float32')), cols, ['float32']), [pos], 'x < Σx', false);
});

test('what stays scalar: short rows, reductions reading across the loop, JavaScript calls, integer division', () => {
  const x = load(0, flat(8), 'float32'), xi = load(0, flat(8), 'int32');
  const f = [{ dtype: 'float32' as DType, data: data('float32', 24) }], n = [{ dtype: 'int32' as DType, data: data('int32', 24) }];
  check(kernel2d(un('neg', load(0, flat(3), 'float32')), 3, ['float32']), [{ dtype: 'float32', data: data('float32', 9) }], 'short rows', false);
  check(kernel2d(un('sin', x), 8, ['float32']), f, 'sin (a JavaScript call)', false);
  check(kernel2d(bin('div', xi, cnst(3, 'int32')), 8, ['int32']), n, 'integer division', false);
  const r = freshVar();
  const inner: Expr = { k: 'reduce', op: 'sum', vars: [{ name: r, size: 2 }], body: bin('mul', x, cast(varRef(r), 'float32')), dtype: 'float32' };
  // A reduction per element reading contiguously in the loop (Σ_r over a leading axis): each lane runs its own, bit for bit.
  check(kernel2d(inner, 8, ['float32']), f, 'a reduction per element', true);
  const r2 = freshVar();
  const across: Expr = { k: 'reduce', op: 'sum', vars: [{ name: r2, size: 2 }], body: load(0, bin('add', bin('mul', i1, idx(2)), varRef(r2)), 'float32'), dtype: 'float32' };
  check(kernel2d(across, 8, ['float32']), f, 'a reduction reading across the loop', false);
});

test('reductions over a contiguous body: four body values at a time (float sums: see wasm_reduce.test.ts for the bound)', () => {
  for (const cols of [4, 5, 7, 37, 64]) {
    const x = load(0, bin('add', bin('mul', i0, idx(cols)), varRef('r')), 'float32');
    const xi = load(0, bin('add', bin('mul', i0, idx(cols)), varRef('r')), 'int32');
    const f = { dtype: 'float32' as DType, data: data('float32', ROWS * cols) };
    const small = { dtype: 'float32' as DType, data: data('float32', ROWS * cols).map((v) => (Number.isFinite(v) && Math.abs(v) < 1e3 ? v : 0.5)) };
    const n = { dtype: 'int32' as DType, data: data('int32', ROWS * cols) };
    const red = (op: 'sum' | 'prod' | 'max' | 'min', body: Expr, dtype: DType = body.dtype): Expr => {
      const r = freshVar();
      const rename = (e: Expr): Expr => JSON.parse(JSON.stringify(e).replaceAll('"name":"r"', `"name":"${r}"`));
      return { k: 'reduce', op, vars: [{ name: r, size: cols }], body: rename(body), dtype };
    };
    const k = (e: Expr, inputs: DType[]): Kernel => ({ inputs, outShape: [ROWS], outDtype: e.dtype, expr: e, label: 'red' });
    for (const op of ['sum', 'prod', 'max', 'min'] as const) {
      for (const [what, body, input] of [['x', x, f], ['x·x − 1', bin('sub', bin('mul', x, x), cnst(1, 'float32')), f]] as [string, Expr, typeof f][]) {
        const kernel = k(red(op, body), ['float32']);
        assert.is(renderWasmKernel(kernel, wasm.heap.limits).vectorReductions, 1, `${op} of ${what}: vectorised`);
        check(kernel, [input], `${op} of ${what}, ${cols} per row`, false);
      }
      // A native exp in the body (not bit-exact to the oracle): the fused reduction equals
      // exp computed by a kernel of its own and then reduced.
      const fused = runOn(wasm, k(red(op, un('exp', x)), ['float32']), [small]);
      const e = runOn(wasm, { inputs: ['float32'], outShape: [ROWS * cols], outDtype: 'float32', expr: un('exp', load(0, i0, 'float32')), label: 'exp' }, [small]);
      const split = runOn(wasm, k(red(op, x), ['float32']), [{ dtype: 'float32', data: Array.from(e) }]);
      for (let i = 0; i < ROWS; i++) assert.ok(sameValue(fused[i], split[i]), `${op} of exp(x), ${cols}: ${fused[i]} vs ${split[i]}`);
      const ik = k(red(op, xi), ['int32']);
      assert.is(renderWasmKernel(ik, wasm.heap.limits).vectorReductions, 1);
      check(ik, [n], `int ${op}, ${cols} per row`, false);
    }
    // A reduction feeding an elementwise output loop, and one whose body reads a wide value: the reduction stays scalar.
    const s = red('sum', x);
    check(kernel2d(bin('div', load(0, flat(cols), 'float32'), s), cols, ['float32']), [f], `x / Σx, ${cols}`);
    const wide = red('sum', bin('mul', x, red('sum', load(0, bin('add', bin('mul', i0, idx(cols)), varRef('r')), 'float32'))));
    check(k(wide, ['float32']), [small], `Σ x·Σx, ${cols}`, false);
  }
});

test('one-dimensional kernels split into row ranges give the same elements', () => {
  const x = load(0, i0, 'float32');
  const k: Kernel = { inputs: ['float32'], outShape: [103], outDtype: 'float32', expr: bin('mul', un('abs', x), cnst(3, 'float32')), label: 'split' };
  check(k, [{ dtype: 'float32', data: data('float32', 103) }], '1-D');
});

test.run();
