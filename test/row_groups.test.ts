/**
 * Row groups (`kernel/row_groups.ts`) and their block-by-block execution on the wasm backend
 * (`WasmBackend.runRows`):
 * - the analysis: row-local reads (plain, through a reduction, through a reshape's div/rem)
 *   are grouped; a transpose, a reduction over the row axis, a broadcast of one row to all
 *   and a gather are not; programs from `jit` (log-softmax, layer norm) group as expected;
 * - execution: outputs bit for bit those of running the kernels one by one, for block sizes
 *   down to one row and on 1 and 2 threads.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultBackendName, getBackend, setDefaultBackend, type Backend, type BackendName } from '../src/core/backends/backend.js';
import type { WasmBackend } from '../src/core/backends/runtime/wasm.js';
import { bin, freshVar, idx, load, outVar, un, varRef, type Expr, type Kernel } from '../src/core/kernel/ir.js';
import type { KernelStep, Program } from '../src/core/kernel/lower.js';
import { readsRowLocal, rowGroups } from '../src/core/kernel/row_groups.js';
import type { DType } from '../src/core/dtype.js';
import { config, jit, nn, np, type Array as VArray } from '../src/index.js';
import { lcg } from './helpers.js';

const f32 = 'float32' as const;
const [i0, i1, i2] = [outVar(0), outVar(1), outVar(2)];
const add = (a: Expr, b: Expr) => bin('add', a, b);
const mul = (a: Expr, b: Expr) => bin('mul', a, b);
const kernelOf = (outShape: number[], expr: Expr, inputs: DType[] = [f32]): Kernel => ({ inputs, outShape, outDtype: expr.dtype, expr, label: 'test' });
const sumOver = (size: number, body: (r: Expr) => Expr): Expr => {
  const name = freshVar();
  const b = body(varRef(name));
  return { k: 'reduce', op: 'sum', vars: [{ name, size }], body: b, dtype: b.dtype };
};

test('analysis: row-local reads', () => {
  // 8×8 producer rows of 8: elementwise, a row reduction, a reshape to 8×2×4 (div/rem of a flat index).
  assert.ok(readsRowLocal(kernelOf([8, 8], un('exp', load(0, add(mul(i0, idx(8)), i1), f32))), 0, 8));
  assert.ok(readsRowLocal(kernelOf([8, 1], sumOver(8, (r) => load(0, add(mul(i0, idx(8)), r), f32))), 0, 8));
  const flat = add(add(mul(i0, idx(8)), mul(i1, idx(4))), i2);
  assert.ok(readsRowLocal(kernelOf([8, 2, 4], load(0, add(mul(bin('div', flat, idx(8)), idx(8)), bin('rem', flat, idx(8))), f32)), 0, 8));
  // A row vector of 8 (rows of 1) broadcast along a row: output row i reads element i.
  assert.ok(readsRowLocal(kernelOf([8, 8], load(0, i0, f32)), 0, 1));
  // Other inputs are not constrained.
  assert.ok(readsRowLocal(kernelOf([8, 8], add(load(0, add(mul(i0, idx(8)), i1), f32), load(1, add(mul(i1, idx(8)), i0), f32)), [f32, f32]), 0, 8));
});

test('analysis: a transpose, a reduction over rows, a broadcast row and a gather are not row-local', () => {
  assert.not.ok(readsRowLocal(kernelOf([8, 8], load(0, add(mul(i1, idx(8)), i0), f32)), 0, 8), 'transpose');
  assert.not.ok(readsRowLocal(kernelOf([8], sumOver(8, (r) => load(0, add(mul(r, idx(8)), i0), f32))), 0, 8), 'sum over axis 0');
  assert.not.ok(readsRowLocal(kernelOf([8, 8], load(0, i1, f32)), 0, 8), 'row 0 broadcast to all rows');
  assert.not.ok(readsRowLocal(kernelOf([8, 8], load(0, add(mul(i0, idx(8)), add(i1, idx(1))), f32)), 0, 8), 'reads into the next row');
  const ids = load(1, i0, 'int32');
  assert.not.ok(readsRowLocal(kernelOf([8, 8], load(0, add(mul(ids, idx(8)), i1), f32), [f32, 'int32']), 0, 8), 'gather of rows');
  assert.not.ok(readsRowLocal(kernelOf([8, 8], load(0, add(mul(i0, idx(8)), bin('rem', load(1, i1, 'int32'), idx(8))), f32), [f32, 'int32']), 0, 8), 'gather within rows (index data-dependent)');
});

/** A program of kernel steps over refs (input 0, then one ref per kernel). */
function programOf(kernels: { kernel: Kernel; args: number[] }[]): Program {
  const steps: KernelStep[] = kernels.map((k, s) => ({ kind: 'kernel', kernel: k.kernel, args: k.args, out: s + 1, free: [] }));
  return { steps, numInputs: 1 } as unknown as Program;
}

test('analysis: groups end where a read is not row-local or the rows change', () => {
  const e = kernelOf([8, 8], un('exp', load(0, add(mul(i0, idx(8)), i1), f32)));
  const rowSum = kernelOf([8, 1], sumOver(8, (r) => load(0, add(mul(i0, idx(8)), r), f32)));
  const colSum = kernelOf([8], sumOver(8, (r) => load(0, add(mul(r, idx(8)), i0), f32)));
  const scale = kernelOf([8, 8], bin('div', load(0, add(mul(i0, idx(8)), i1), f32), load(1, i0, f32)), [f32, f32]);
  assert.equal(rowGroups(programOf([{ kernel: e, args: [0] }, { kernel: rowSum, args: [1] }, { kernel: scale, args: [1, 2] }])), [{ start: 0, end: 3, rows: 8 }]);
  // The column sum reads e across rows: it starts a new group (with the scale, which reads only it and e — e is outside that group).
  assert.equal(rowGroups(programOf([{ kernel: e, args: [0] }, { kernel: colSum, args: [1] }, { kernel: scale, args: [1, 2] }])), [{ start: 1, end: 3, rows: 8 }]);
  // A transposed read of e by the last kernel.
  const t = kernelOf([8, 8], load(0, add(mul(i1, idx(8)), i0), f32));
  assert.equal(rowGroups(programOf([{ kernel: e, args: [0] }, { kernel: rowSum, args: [1] }, { kernel: t, args: [1] }])), [{ start: 0, end: 2, rows: 8 }]);
  // Different rows: 8×8 then 4×16.
  const other = kernelOf([4, 16], load(0, add(mul(i0, idx(16)), i1), f32));
  assert.equal(rowGroups(programOf([{ kernel: e, args: [0] }, { kernel: other, args: [1] }])), []);
});

// ---------------------------------------------------------------- jit programs on the wasm backend

const rng = lcg(11);
const randn = (shape: number[], scale = 4): VArray => np.array(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng() * 2 - 1) * scale)).reshape(shape);

function onWasm<T>(fn: (wasm: WasmBackend) => T): T {
  const saved: BackendName = defaultBackendName();
  setDefaultBackend('wasm');
  try {
    return fn(getBackend('wasm') as unknown as WasmBackend);
  } finally {
    setDefaultBackend(saved);
  }
}

/** Log-softmax: row max, exp-sum, log (on wasm, nn.softmax itself runs as one fused routine). */
const logSoftmax = (x: VArray) => nn.logSoftmax(x, -1);
const layerNorm = (x: VArray) => {
  const m = np.mean(x, -1, true);
  const d = np.sub(x, m);
  return np.div(d, np.sqrt(np.add(np.mean(np.mul(d, d), -1, true), 1e-5)));
};
/** Softmax over rows (times the reciprocal sum: not the fused pattern), then normalised by column sums (a reduction over the row axis) and transposed. */
const mixed = (x: VArray) => {
  const e = np.exp(np.sub(x, np.max(x, -1, true)));
  const s = np.mul(e, np.div(1, np.sum(e, -1, true)));
  return np.add(np.div(s, np.sum(s, 0, true)), np.transpose(s));
};
/** Rows gathered by index from an intermediate. */
const gathered = (x: VArray, ids: VArray) => {
  const e = np.exp(np.sub(x, np.max(x, -1, true)));
  return np.mul(np.take(e, ids, 0), np.sum(e, -1, true));
};

test('jit programs: log-softmax and layer norm form one group; non-local reads split groups', () => {
  onWasm(() => {
    const x = randn([16, 16]);
    const groupsOf = (f: (...a: VArray[]) => VArray, ...args: VArray[]) => {
      const p = jit(f).lower(...args).program;
      return { p, groups: rowGroups(p) };
    };
    const sm = groupsOf(logSoftmax, x);
    assert.equal(sm.groups, [{ start: 0, end: sm.p.steps.length, rows: 16 }], 'log-softmax: all kernels in one group');
    assert.ok(sm.p.steps.length >= 3);
    const ln = groupsOf(layerNorm, x);
    assert.equal(ln.groups.length, 1, 'layer norm');
    // max, exp, row sum, division | column sum, (division by it + transpose): the last two read across rows.
    const mx = groupsOf(mixed, x);
    assert.equal(mx.p.steps.map((s) => s.kind), ['kernel', 'kernel', 'kernel', 'kernel', 'kernel', 'kernel']);
    assert.equal(mx.groups, [{ start: 0, end: 4, rows: 16 }], 'mixed: the column sum and the transpose are outside');
    // max, exp, row sum | gather of exp's rows (× row sum).
    const ids = np.array(Int32Array.from([3, 0, 15, 7, 7, 1, 2, 9, 9, 0, 4, 5, 6, 8, 10, 11]), 'int32');
    const ga = groupsOf(gathered, x, ids);
    assert.equal(ga.p.steps.length, 4);
    assert.equal(ga.groups, [{ start: 0, end: 3, rows: 16 }], 'gathered: the gather is outside');
  });
});

test('execution: bit for bit the kernels one by one, any block size, 1 and 2 threads', () => {
  onWasm((wasm) => {
    const saved = [config.threads, wasm.rowBlockBytes, wasm.minParallelWork] as const;
    const ids = np.array(Int32Array.from({ length: 37 }, (_, i) => (i * 7) % 37), 'int32');
    const cases: [string, (...a: VArray[]) => VArray, VArray[]][] = [
      ['log-softmax', logSoftmax, [randn([37, 129], 30)]],
      ['layer norm', layerNorm, [randn([37, 129])]],
      ['mixed', mixed, [randn([37, 37])]],
      ['gathered', gathered, [randn([37, 19]), ids]],
      ['log-softmax 3-d', logSoftmax, [randn([1, 21, 40], 10)]],
    ];
    try {
      for (const [what, f, args] of cases) {
        const g = jit(f);
        (wasm as { runRows?: Backend['runRows'] }).runRows = undefined;
        config.threads = 1;
        const want = Array.from(g(...args).dataSync());
        delete (wasm as { runRows?: Backend['runRows'] }).runRows; // the class's method again
        assert.ok(rowGroups(g.lower(...args).program).length > 0, `${what}: has a row group`);
        for (const threads of [1, 2])
          for (const bytes of [1, 600, 1 << 17]) {
            [config.threads, wasm.rowBlockBytes, wasm.minParallelWork] = [threads, bytes, 0];
            const got = Array.from(g(...args).dataSync());
            assert.ok(got.length === want.length && got.every((v, i) => Object.is(v, want[i])), `${what}: ${threads} thread(s), blocks of ${bytes} bytes`);
          }
      }
    } finally {
      delete (wasm as { runRows?: Backend['runRows'] }).runRows;
      [config.threads, wasm.rowBlockBytes, wasm.minParallelWork] = saved;
    }
  });
});

test.run();
