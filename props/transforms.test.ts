/**
 * The transformation laws JAX tests itself with, for every first-order primitive of the table
 * in `prim_cases.ts` (the differentiation laws are in `ad_primitives.test.ts`):
 *
 * - vmap(f)(xs) equals f applied to each example and stacked, with a random `inAxes` per
 *   operand (some null: shared by every example) and a random `outAxes` per output;
 * - jit(f) equals f, and evaluating makeJaxpr(f)'s jaxpr (with its consts) equals f;
 *
 * and, for scalar-valued composite functions (an MLP, softmax cross-entropy, conv + pooling +
 * mean, layer normalisation), grad(jit(f)) = jit(grad(f)) = grad(f).
 * Runs: 20 per primitive per law, 10 per composite (PROPS_RUNS overrides).
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { primitives } from '../src/core/prims/registry.js';
import { evalJaxpr } from '../src/core/trace/eval_jaxpr.js';
import { grad, jit, lax, makeJaxpr, np, tree, vmap, type Array as VArray } from '../src/index.js';
import { assertClose, lcg, scaledTol, type Tolerance } from '../test/helpers.js';
import { propsOptions } from './options.js';
import { CASES, assertProperty, HIGHER_ORDER, applyPrim, describe, hashSeed, operands, readBack, stackData, toArray, uni, type PrimCase, type Spec } from './prim_cases.js';

const RUNS = 20;
/**
 * Batching may regroup a computation (a conv's batch folded into feature groups, a dot's
 * free dim into its batch), which changes float32 rounding only: a few ulps of the terms.
 */
const VMAP_TOL: Tolerance = { rtol: 1e-5, atol: 1e-5 };
/** The same primitives on the same values (compiled kernels may fuse, so allow rounding). */
const SAME_TOL: Tolerance = { rtol: 1e-6, atol: 1e-6 };

const insertAt = <T>(xs: readonly T[], at: number, v: T): T[] => [...xs.slice(0, at), v, ...xs.slice(at)];
const randInt = (lo: number, hi: number, r: () => number): number => lo + Math.floor(r() * (hi - lo + 1));

function assertSameOutputs(got: readonly VArray[], want: readonly VArray[], tol: Tolerance, what: string): void {
  assert.is(got.length, want.length, `${what}: number of outputs`);
  want.forEach((w, k) => {
    assert.equal([...got[k].shape], [...w.shape], `${what}: output ${k} shape`);
    assert.is(got[k].dtype, w.dtype, `${what}: output ${k} dtype`);
    assertClose(readBack(got[k]), readBack(w), w.dtype === 'float32' ? tol : {}, `${what}: output ${k}`);
  });
}

function checkVmap(c: PrimCase, spec: Spec, seed: number, size: number, axesSeed: number): void {
  const r = lcg(axesSeed);
  const inAxes = spec.shapes.map((sh) => (r() < 0.25 ? null : randInt(0, sh.length, r)));
  const examples = Array.from({ length: size }, (_, b) => operands(c, spec, hashSeed(seed, b)));
  // An unmapped operand is the same for every example.
  const shared = operands(c, spec, hashSeed(seed, 99));
  const exampleArgs = examples.map((ops) => ops.map((o, i) => toArray(inAxes[i] === null ? shared[i] : o)));
  const batched = spec.shapes.map((sh, i) => {
    const ax = inAxes[i];
    if (ax === null) return toArray(shared[i]);
    return toArray({ shape: insertAt(sh, ax, size), dtype: spec.dtypes[i], data: stackData(examples.map((e) => e[i].data), sh, ax) });
  });
  const perExample = exampleArgs.map((args) => applyPrim(c, spec, args));
  // The output avals (with no examples, from the shared operands).
  const shapeOuts = perExample.length ? perExample[0] : applyPrim(c, spec, shared.map(toArray));
  const outAxes = shapeOuts.map((o) => randInt(0, o.ndim, r));
  const what = `vmap(${describe(c, spec)}) inAxes ${JSON.stringify(inAxes)} outAxes ${JSON.stringify(outAxes)} size ${size}`;
  const got = vmap((...a: VArray[]) => applyPrim(c, spec, a), { inAxes, outAxes, axisSize: size })(...batched) as VArray[];
  assert.is(got.length, shapeOuts.length, `${what}: number of outputs`);
  shapeOuts.forEach((o, k) => {
    assert.equal([...got[k].shape], insertAt([...o.shape], outAxes[k], size), `${what}: output ${k} shape`);
    assert.is(got[k].dtype, o.dtype, `${what}: output ${k} dtype`);
    const want = stackData(perExample.map((outs) => readBack(outs[k])), [...o.shape], outAxes[k]);
    assertClose(readBack(got[k]), want, o.dtype === 'float32' ? VMAP_TOL : {}, `${what}: output ${k}`);
  });
}

function checkJit(c: PrimCase, spec: Spec, seed: number): void {
  const args = operands(c, spec, seed).map(toArray);
  const f = (...a: VArray[]) => applyPrim(c, spec, a);
  const want = f(...args);
  const jitted = jit(f);
  assertSameOutputs(jitted(...args) as VArray[], want, SAME_TOL, `jit(${describe(c, spec)})`);
  // A second call with other values of the same types reuses the compiled function.
  const args2 = operands(c, spec, hashSeed(seed, 2)).map(toArray);
  assertSameOutputs(jitted(...args2) as VArray[], f(...args2), SAME_TOL, `jit(${describe(c, spec)}), second call`);
  assert.is(jitted.cacheSize, 1, 'one staged signature');
  const closed = makeJaxpr(f)(...args);
  assertSameOutputs(evalJaxpr(closed.jaxpr, closed.consts, args), want, SAME_TOL, `evalJaxpr(makeJaxpr(${describe(c, spec)}))\n${closed}`);
}

const seedArb = fc.nat();
/** The vmapped axis size: 0 and 1 now and then, mostly 2 or 3 (where a misplaced batch dim shows). */
const sizeArb = fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.constant(1), weight: 2 }, { arbitrary: fc.integer({ min: 2, max: 3 }), weight: 8 });
for (const c of CASES) {
  test(`${c.prim}: vmap equals stacking f over the examples`, () => {
    assertProperty(fc.property(c.spec, seedArb, sizeArb, fc.nat(), (spec, seed, size, ax) => checkVmap(c, spec, hashSeed(seed), size, hashSeed(ax, 3))), propsOptions(RUNS));
  });
  test(`${c.prim}: jit(f) and evalJaxpr(makeJaxpr(f)) equal f`, () => {
    assertProperty(fc.property(c.spec, seedArb, (spec, seed) => checkJit(c, spec, hashSeed(seed))), propsOptions(RUNS));
  });
}

test('the table covers every first-order primitive', () => {
  const covered = new Set<string>(CASES.map((c) => c.prim));
  const missing = primitives.filter((p) => !covered.has(p) && !HIGHER_ORDER.has(p));
  assert.equal(missing, [], `primitives without a case in props/prim_cases.ts: ${missing.join(', ')}`);
  assert.is(covered.size, CASES.length, 'one case per primitive');
});

// ------------------------------------------------------------------ grad ∘ jit = jit ∘ grad

type Tree = { [k: string]: VArray };
interface Composite {
  name: string;
  /** Parameters (differentiated) and data, from a seed. */
  make(r: () => number): [Tree, VArray[]];
  f(p: Tree, ...data: VArray[]): VArray;
}

const f32 = (shape: number[], r: () => number, scale = 1): VArray => toArray({ shape, dtype: 'float32', data: uni(-scale, scale)(shape.reduce((a, b) => a * b, 1), r) });

const COMPOSITES: Composite[] = [
  {
    name: 'two-layer MLP with tanh and relu, mean squared error',
    make: (r) => [{ w1: f32([4, 5], r), b1: f32([5], r), w2: f32([5, 3], r), b2: f32([3], r) }, [f32([6, 4], r), f32([6, 3], r)]],
    f: (p, x, y) => {
      const h = np.maximum(np.tanh(np.add(np.matmul(x, p.w1), p.b1)), 0.1);
      return np.mean(np.square(np.sub(np.add(np.matmul(h, p.w2), p.b2), y)));
    },
  },
  {
    name: 'softmax cross-entropy of a linear classifier',
    make: (r) => [{ w: f32([4, 5], r, 2), b: f32([5], r) }, [f32([6, 4], r), toArray({ shape: [6, 1], dtype: 'int32', data: Array.from({ length: 6 }, () => Math.floor(r() * 5)) })]],
    f: (p, x, labels) => {
      const logits = np.add(np.matmul(x, p.w), p.b);
      const picked = np.takeAlongAxis(logits, labels, 1);
      return np.mean(np.sub(np.logsumexp(logits, 1, true), picked));
    },
  },
  {
    name: 'strided conv, max pooling and mean',
    make: (r) => [{ w: f32([3, 2, 3, 3], r), b: f32([1, 3, 1, 1], r) }, [f32([2, 2, 6, 5], r)]],
    f: (p, x) => {
      const y = np.add(lax.conv(x, p.w, [1, 2], 'SAME'), p.b);
      return np.mean(np.sin(lax.reduceWindow(y, 'max', [1, 1, 2, 2], [1, 1, 2, 1], 'VALID')));
    },
  },
  {
    name: 'layer normalisation with scale and shift',
    make: (r) => [{ g: f32([6], r), b: f32([6], r) }, [f32([4, 6], r, 3)]],
    f: (p, x) => {
      const mu = np.mean(x, -1, true);
      const xc = np.sub(x, mu);
      const y = np.mul(np.mul(xc, lax.rsqrt(np.add(np.mean(np.square(xc), -1, true), 1e-5))), p.g);
      return np.sum(np.sin(np.add(y, p.b)));
    },
  },
];

for (const comp of COMPOSITES)
  test(`grad(jit(f)) = jit(grad(f)) = grad(f): ${comp.name}`, () => {
    assertProperty(fc.property(seedArb, (seed) => {
      const [p, data] = comp.make(lcg(hashSeed(seed)));
      const f = (params: Tree, ...d: VArray[]) => comp.f(params, ...d);
      const eager = tree.leaves(grad(f)(p, ...data)) as VArray[];
      const gradOfJit = tree.leaves(grad(jit(f))(p, ...data)) as VArray[];
      const jitOfGrad = tree.leaves(jit(grad(f))(p, ...data)) as VArray[];
      assertSameOutputs(gradOfJit, eager, scaledTol(1e-5), `grad(jit(f)) vs grad(f) (${comp.name})`);
      assertSameOutputs(jitOfGrad, eager, scaledTol(1e-5), `jit(grad(f)) vs grad(f) (${comp.name})`);
      assert.ok(eager.some((g) => readBack(g).some((v) => v !== 0)), `${comp.name}: the gradient is not identically zero`);
    }), propsOptions(10));
  });

test.run();
