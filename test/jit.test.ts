import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultBackend, setDefaultBackend, type Backend } from '../src/core/backends/backend.js';
import { bufferCount } from '../src/core/kernel/lower.js';
import { config, grad, jit, lax, memoryStats, np, random, scope, tree, vmap, type Array as VArray } from '../src/index.js';
import { assertClose, lcg } from './helpers.js';

const rng = lcg(7);
const randn = (shape: number[]): VArray => lax.reshape(np.array(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng() * 2 - 1)), shape);
const randi = (shape: number[], lo: number, hi: number): VArray =>
  lax.reshape(np.array(Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + Math.floor(rng() * (hi - lo))), 'int32'), shape);

/** jit(f) and f agree on these arguments: same pytree, shapes, dtypes, weak types and values. */
function checkJit(what: string, f: (...a: any[]) => unknown, args: unknown[], opts: { staticArgnums?: number[]; tol?: number } = {}): void {
  const want = f(...args);
  const got = jit(f, { staticArgnums: opts.staticArgnums })(...args);
  const [wl, wd] = tree.flatten(want as tree.PyTree<VArray>);
  const [gl, gd] = tree.flatten(got as tree.PyTree<VArray>);
  assert.ok(wd.equals(gd), `${what}: output structure ${gd} vs ${wd}`);
  wl.forEach((w, i) => {
    const g = gl[i];
    assert.equal([...g.shape], [...w.shape], `${what}: output ${i} shape`);
    assert.is(g.dtype, w.dtype, `${what}: output ${i} dtype`);
    assert.is(g.weakType, w.weakType, `${what}: output ${i} weak type`);
    const tol = opts.tol ?? 1e-6;
    assertClose(g.dataSync(), w.dataSync(), { rtol: tol, atol: tol }, `${what}: output ${i}`);
  });
}

const x34 = randn([3, 4]);
const v4 = randn([4]);
const c31 = randn([3, 1]);

const softmax = (x: VArray) => {
  const e = np.exp(np.sub(x, np.max(x, -1, true)));
  return np.div(e, np.sum(e, -1, true));
};

const CASES: [string, (...a: any[]) => unknown, unknown[]][] = [
  ['elementwise chain', (x) => np.neg(np.sqrt(np.abs(np.add(np.mul(np.tanh(np.add(np.mul(x, 1.5), 0.25)), 2), x)))), [x34]],
  ['broadcasting', (x, v, c) => np.add(np.mul(x, v), c), [x34, v4, c31]],
  ['sum/mean/max/min/prod over axes', (x) => [np.sum(x), np.mean(x, 0), np.max(x, 1), np.min(x, [0, 1]), np.prod(np.add(x, 1), 1, true)], [x34]],
  ['argmax/argmin', (x) => [np.argmax(x, 1), np.argmin(np.mul(x, x), 0)], [x34]],
  ['softmax', softmax, [x34]],
  ['layer norm', (x) => {
    const m = np.mean(x, -1, true);
    const d = np.sub(x, m);
    return np.div(d, np.sqrt(np.add(np.mean(np.square(d), -1, true), 1e-5)));
  }, [x34]],
  ['logsumexp', (x) => np.logsumexp(x, 1), [x34]],
  ['reduction of a reduction', (x) => np.max(np.sum(np.exp(x), 1)), [x34]],
  ['movement: transpose/reshape/slice/rev', (x) => np.add(np.reshape(np.transpose(x), [2, 6]), np.flip(np.reshape(x, [2, 6]), 1)), [x34]],
  ['movement: pad/concatenate', (x) => np.concatenate([np.pad(x, [[1, 0], [0, 2]]), np.sin(np.pad(x, [[0, 1], [2, 0]]))], 0), [x34]],
  ['slicing', (x) => np.mul(lax.slice(x, [0, 1], [3, 4], [2, 2]), 3), [x34]],
  ['gather (take) with repeated and negative indices', (x, i) => np.take(np.exp(x), i, 1), [x34, np.array([3, 0, -1, 0], 'int32')]],
  ['dynamic slice/update', (x, s) => lax.dynamicUpdateSlice(x, np.ones([2, 2]), [s, s]), [x34, np.array(1, 'int32')]],
  ['matmul mix', (x, w, b) => np.sum(np.tanh(np.add(np.matmul(np.mul(x, 2), w), b)), 0), [x34, randn([4, 5]), randn([5])]],
  ['two matmuls sharing an input', (x, w) => np.add(np.matmul(x, w), np.matmul(np.exp(x), w)), [x34, randn([4, 2])]],
  ['int arithmetic', (a, b) => [np.add(np.mul(a, b), 7), np.floorDivide(a, 3), np.mod(b, 4), np.maximum(a, b)], [randi([3, 4], -9, 9), randi([3, 4], -9, 9)]],
  ['bool logic and where', (x, y) => {
    const m = np.logicalAnd(np.greater(x, 0), np.less(y, 0.5));
    return [m, np.where(m, x, y), np.sum(np.astype(m, 'int32')), np.logicalNot(m)];
  }, [x34, randn([3, 4])]],
  ['casts', (x) => [np.astype(np.mul(x, 10), 'int32'), np.astype(np.astype(np.mul(x, 10), 'int32'), 'float32'), np.astype(x, 'bool')], [x34]],
  ['weak-typed scalars', (x) => np.add(np.mul(x, 2), 1), [3]],
  ['weak and strong mixed', (x, y) => np.add(x, y), [2.5, np.array(1, 'float32')]],
  ['literal output', () => np.add(np.array(2), 3), []],
  ['output is an input', (x, y) => [x, np.add(x, y), y], [x34, v4]],
  ['the same output twice', (x) => { const y = np.sin(x); return [y, y]; }, [x34]],
  ['cumsum and sort (routines) between fused kernels', (x) => np.sort(np.cumsum(np.exp(x), 1), 0), [x34]],
  ['iota and arange', (x) => np.add(x, np.astype(np.arange(4), 'float32')), [x34]],
  ['empty arrays', (x, e) => [np.sum(np.exp(e)), np.add(e, 1), np.mul(x, 2)], [x34, np.zeros([0, 3])]],
  ['grad inside jit', (x) => grad((y: VArray) => np.sum(np.tanh(np.mul(y, y))))(x), [x34]],
  ['random inside jit', (k) => random.normal(k, [5]), [random.key(3)]],
];

for (const [name, f, args] of CASES) test(`jit equals eager: ${name}`, () => checkJit(name, f, args));

test('jit equals eager on strided, broadcast and offset views of inputs', () => {
  const f = (x: VArray, y: VArray) => np.add(np.mul(x, 2), np.sum(y, 0));
  const base = randn([4, 3]);
  checkJit('transposed view', f, [np.transpose(base), randn([2, 4])]);
  checkJit('broadcast view', f, [np.broadcastTo(v4, [3, 4]), np.broadcastTo(randn([1, 4]), [5, 4])]);
  checkJit('sliced (offset) view', f, [lax.slice(randn([5, 4]), [1, 0], [4, 4]), np.flip(randn([2, 4]), 0)]);
});

test('pytrees in and out, static arguments', () => {
  const f = (p: { w: VArray; b: VArray }, xs: VArray[], n: number) => ({ y: np.add(np.mul(xs[0], p.w), p.b), z: [np.mul(xs[1], n)] });
  checkJit('pytree', f, [{ w: v4, b: randn([4]) }, [x34, randn([2])], 3], { staticArgnums: [2] });
});

test('cache: same signature hits, new shapes / dtypes / statics retrace', () => {
  let traces = 0;
  const f = jit((x: VArray, k: number) => {
    traces++;
    return np.mul(x, k);
  }, { staticArgnums: [1] });
  f(randn([3]), 2);
  f(randn([3]), 2);
  assert.is(traces, 1);
  assert.is(f.cacheSize, 1);
  f(randn([4]), 2);
  f(randn([3]), 5);
  f(randi([3], 0, 4), 2);
  assert.is(traces, 4);
  assert.is(f.cacheSize, 4);
  assert.equal(Array.from(f(np.array([1, 2, 3]), 5).dataSync()), [5, 10, 15]);
  assert.is(traces, 4);
  // One compiled program per signature and input layout, reused by every call.
  const x = randn([3]);
  assert.is(f.lower(x, 2).program, f.lower(randn([3]), 2).program);
  assert.is.not(f.lower(x, 2).program, f.lower(np.broadcastTo(np.array([1]), [3]), 2).program, 'a stride-0 view gets its own program');
});

test('jit composes with grad and vmap', () => {
  const f = jit((x: VArray) => np.sum(np.sin(np.mul(x, x))));
  const x = randn([5]);
  const g = grad(f)(x) as VArray;
  const want = np.mul(np.mul(np.cos(np.mul(x, x)), 2), x);
  assertClose(g.dataSync(), want.dataSync(), { rtol: 1e-5, atol: 1e-6 }, 'grad(jit(f))');
  const vm = vmap(jit((r: VArray) => softmax(r)))(x34) as VArray;
  assertClose(vm.dataSync(), softmax(x34).dataSync(), { rtol: 1e-6, atol: 1e-7 }, 'vmap(jit(softmax))');
  checkJit('jit(grad(jit))', (y: VArray) => grad(f)(y), [x]);
});

// ---------------------------------------------------------------- fusion

/** Count allocations and kernel launches on the CPU backend while `fn` runs. */
function instrument<T>(fn: () => T): { result: T; allocs: number[]; kernels: number } {
  const b = defaultBackend() as Backend & { alloc: Backend['alloc']; run: Backend['run'] };
  const { alloc, run } = b;
  const allocs: number[] = [];
  let kernels = 0;
  b.alloc = (d, n) => {
    allocs.push(n);
    return alloc.call(b, d, n);
  };
  b.run = (k, i, o) => {
    kernels++;
    return run.call(b, k, i, o);
  };
  try {
    return { result: fn(), allocs, kernels };
  } finally {
    b.alloc = alloc;
    b.run = run;
  }
}

const chain10 = (x: VArray): VArray => {
  let y = np.mul(x, 1.5);
  y = np.add(y, 0.25);
  y = np.tanh(y);
  y = np.mul(y, y);
  y = np.sub(y, 0.5);
  y = np.exp(y);
  y = np.mul(y, 0.75);
  y = np.add(y, x);
  y = np.maximum(y, 0);
  return np.sqrt(y);
};

test('a 10-op elementwise chain over 1M elements is ONE kernel with no intermediate buffers', () => {
  const n = 1 << 20;
  const x = random.uniform(random.key(0), [n]);
  const f = jit(chain10);
  const lowered = f.lower(x);
  assert.is(lowered.kernels.length, 1);
  assert.is(lowered.program.steps.length, 1);
  assert.equal(bufferCount(lowered.program), { intermediates: 0, outputs: 1 });
  f(x).dispose(); // compile outside the measurement
  const before = memoryStats()[defaultBackend().name]!;
  const { result, allocs, kernels } = instrument(() => f(x));
  assert.is(kernels, 1, 'one kernel launch');
  assert.equal(allocs, [n], 'one allocation: the output');
  assert.equal(memoryStats()[defaultBackend().name]!.buffers, before.buffers + 1);
  const want = scope(() => chain10(x));
  assertClose(result.dataSync(), want.dataSync(), { rtol: 1e-6, atol: 1e-6 }, 'chain');
});

/** Run `fn` with the JavaScript oracle as the default backend (the source snapshots below are its JS kernels). */
function onCpu<T>(fn: () => T): T {
  const prev = defaultBackend().name;
  setDefaultBackend('cpu');
  try {
    return fn();
  } finally {
    setDefaultBackend(prev);
  }
}

test('softmax lowers to few kernels; the elementwise chain fuses into the reductions', () => onCpu(() => {
  const xc = np.array(x34.toNested() as number[][]); // on the CPU oracle
  const lowered = jit(softmax).lower(xc);
  assert.ok(lowered.kernels.length <= 4, `${lowered.kernels.length} kernels`);
  // exp(x − m) feeds the row sum and the division: computing it once beats recomputing it (MATERIALIZE_COST).
  assert.equal(bufferCount(lowered.program), { intermediates: 3, outputs: 1 }, 'the row max, exp(x − m) and the row sum are materialised');
  // sum(tanh(x * 2 + 1)): the chain is the reduction's body.
  const fused = jit((x: VArray) => np.sum(np.tanh(np.add(np.mul(x, 2), 1)), 1)).lower(xc);
  assert.is(fused.kernels.length, 1);
  assert.match(fused.kernels[0], /Math\.tanh/);
}));

test('an expensive value used by two kernels is computed once; a cheap one is recomputed', () => {
  const heavy = (x: VArray) => np.tanh(np.exp(np.sin(x)));
  const twoUses = jit((x: VArray) => [np.sum(heavy(x)), np.mul(heavy(x), 2)]).lower(x34);
  assert.is(bufferCount(twoUses.program).intermediates, 1);
  const cheap = jit((x: VArray) => [np.sum(np.add(x, 1)), np.mul(np.add(x, 1), 2)]).lower(x34);
  assert.is(bufferCount(cheap.program).intermediates, 0);
  assert.is(cheap.kernels.length, 2);
});

test('movement ops that only feed routines run as zero-copy views, not kernels', () => {
  const w = randn([4, 2]);
  const f = (x: VArray) => np.matmul(np.transpose(np.reshape(x, [4, 3])), w);
  const p = jit(f).lower(x34).program;
  assert.equal(p.steps.map((s) => s.kind), ['view', 'view', 'routine']);
  checkJit('reshape + transpose into matmul', f, [x34]);
  checkJit('view of a transposed input', f, [np.transpose(randn([4, 3]))]);
});

test('memory planning: dead intermediates are reused by later allocations of the same size', () => {
  const heavy = (x: VArray) => np.tanh(np.exp(np.sin(x)));
  const f = jit((x: VArray) => {
    const h1 = heavy(x), s1 = np.sum(h1);
    const h2 = heavy(h1), s2 = np.sum(h2);
    const h3 = heavy(h2), s3 = np.sum(h3);
    return [s1, s2, s3, np.sum(heavy(h3))];
  });
  const x = randn([1000]);
  const p = f.lower(x).program;
  assert.is(bufferCount(p).intermediates, 3, 'h1, h2, h3 are materialised; h4 fuses into its sum');
  f(x);
  const { allocs } = instrument(() => f(x));
  assert.is(allocs.filter((n) => n === 1000).length, 2, 'h3 reuses the buffer of h1, dead after h2');
  const want = [h(x, 1), h(x, 2), h(x, 3), h(x, 4)];
  function h(y: VArray, k: number): number {
    for (let i = 0; i < k; i++) y = heavy(y);
    return np.sum(y).item() as number;
  }
  (f(x) as VArray[]).forEach((o, i) => assertClose([o.item() as number], [want[i]], { rtol: 1e-6, atol: 1e-6 }, `sum ${i}`));
});

test('a loop of jit calls leaves memoryStats unchanged', () => {
  const step = jit((w: VArray, x: VArray) => {
    const g = grad((ww: VArray) => np.mean(np.square(np.tanh(np.matmul(x, ww)))))(w) as VArray;
    return np.sub(w, np.mul(softmax(g), 0.1));
  });
  const x = randn([8, 4]);
  let w = randn([4, 3]);
  w = step(w, x); // compile
  const before = memoryStats();
  for (let i = 0; i < 20; i++) {
    const next = step(w, x);
    w.dispose();
    w = next;
  }
  assert.equal(memoryStats(), before);
});

test('errors inside a run free the run\'s buffers', () => {
  const f = jit((x: VArray, i: VArray) => np.sum(np.take(np.exp(x), i, 0)));
  const x = randn([4]);
  f(x, np.array([0, 1], 'int32'));
  const before = memoryStats();
  const b = defaultBackend();
  const run = b.run;
  b.run = () => {
    throw new Error('injected kernel failure');
  };
  try {
    assert.throws(() => f(x, np.array([0, 1], 'int32')), /injected/);
  } finally {
    b.run = run;
  }
  assert.equal(memoryStats()[defaultBackend().name]!.buffers, before[defaultBackend().name]!.buffers + 1, 'only the index array created for the call is live');
});

test('config.debugNans names the fused kernel that produced a NaN', () => {
  const f = jit((x: VArray) => np.sum(np.log(np.sub(x, 2))));
  config.debugNans = true;
  try {
    assert.throws(() => f(np.array([1, 3])), /debugNans: jit kernel .*log/);
  } finally {
    config.debugNans = false;
  }
});

test('kernel source snapshot: a small fused chain', () => onCpu(() => {
  const lowered = jit((x: VArray, y: VArray) => np.sum(np.mul(np.exp(np.sub(x, y)), 2), 1)).lower(randn([2, 3]), randn([3]));
  assert.is(
    lowered.text,
    [
      '{ lambda ; a:f32[2,3] b:f32[3]. let',
      '    c:f32[2,3] = broadcast_in_dim[shape=(2, 3) broadcastDimensions=(1,)] b',
      '    d:f32[2,3] = sub a c',
      '    e:f32[2,3] = exp d',
      '    f:f32[2,3] = broadcast_in_dim[shape=(2, 3) broadcastDimensions=()] 2.0',
      '    g:f32[2,3] = mul e f',
      '    h:f32[2] = reduce_sum[axes=(1,)] g',
      '  in (h,) }',
    ].join('\n'),
  );
  assert.is(
    lowered.kernels.join('\n----\n'),
    [
      '// broadcast_in_dim+sub+exp+broadcast_in_dim+mul+reduce_sum',
      'let o = 0;',
      'for (let i0 = 0; i0 < 2; i0++) {',
      '  let t0 = 0;',
      '  for (let r0 = 0; r0 < 3; r0++) {',
      '  t0 = t0 + Math.fround(Math.fround(Math.exp(Math.fround(in0[((r0 + ((Math.imul(i0, 3)) | 0)) | 0)] - in1[r0]))) * 2);',
      '  }',
      '  out[o++] = t0;',
      '}',
    ].join('\n'),
  );
}));

test.run();
