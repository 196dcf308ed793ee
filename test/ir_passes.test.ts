import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClosedJaxpr, Jaxpr, Literal, Var } from '../src/core/ir/jaxpr.js';
import { cse, dce, foldConstants, inlineCalls, optimize, paramsEqual } from '../src/core/ir/passes/index.js';
import { typecheckJaxpr } from '../src/core/ir/typecheck.js';
import { evalClosedJaxpr } from '../src/core/trace/eval_jaxpr.js';
import { jit, lax, makeJaxpr, np, type Array as VArray } from '../src/index.js';

const x23 = np.reshape(np.arange(0, 6, 1, 'float32'), [2, 3]);
const vals = (a: VArray) => Array.from(a.dataSync());

test('dce drops unused equations and constvars, keeps outputs and invars', () => {
  const c = np.array([1, 2, 3]);
  const j = makeJaxpr((x: VArray) => {
    np.exp(x); // unused
    np.add(x, c); // unused, the only use of the const
    return np.sin(x);
  })(np.zeros([3]));
  assert.is(j.jaxpr.constvars.length, 1);
  const d = dce(j);
  assert.is(d.toString(), '{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b,) }');
  assert.is(d.consts.length, 0);
  assert.is(dce(d), d, 'a second run changes nothing and returns the same jaxpr');
});

test('dce keeps an equation when any of its outputs is used', () => {
  const j = makeJaxpr((x: VArray) => lax.sort([x, np.arange(0, 3, 1, 'int32')], 0)[1])(np.zeros([3]));
  assert.is(dce(j).jaxpr.eqns.length, j.jaxpr.eqns.length);
});

test('cse merges equal equations (same prim, inputs and params), not differing params', () => {
  const j = makeJaxpr((x: VArray) => {
    const a = np.sum(np.sin(x), 0);
    const b = np.sum(np.sin(x), 0);
    const c = np.sum(np.sin(x), 1);
    return [np.add(a, b), c];
  })(x23);
  assert.is(
    cse(j).toString(),
    [
      '{ lambda ; a:f32[2,3]. let',
      '    b:f32[2,3] = sin a',
      '    c:f32[3] = reduce_sum[axes=(0,)] b',
      '    d:f32[2] = reduce_sum[axes=(1,)] b',
      '    e:f32[3] = add c c',
      '  in (e, d) }',
    ].join('\n'),
  );
});

test('cse compares literals by value and dtype, params deeply, nested jaxprs by identity', () => {
  const j = makeJaxpr((x: VArray) => [np.add(x, 2), np.add(x, 2), np.add(x, 3)])(np.zeros([], 'int32'));
  const out = cse(j);
  // The literal casts fold while staging; x + 2 appears once, x + 3 stays distinct.
  assert.is(j.jaxpr.eqns.length, 3);
  assert.is(out.jaxpr.eqns.length, 2);
  assert.equal(out.jaxpr.outvars[0], out.jaxpr.outvars[1]);
  assert.not.equal(out.jaxpr.outvars[0], out.jaxpr.outvars[2]);
  assert.ok(paramsEqual({ a: [1, 2], b: { c: NaN } }, { b: { c: NaN }, a: [1, 2] }));
  assert.not.ok(paramsEqual({ a: [1, 2] }, { a: [1, 2, 3] }));
  assert.not.ok(paramsEqual({ a: 0 }, { a: -0 }));
  const inner = makeJaxpr((y: VArray) => np.sin(y))(np.zeros([2])).jaxpr;
  const copy = new Jaxpr(inner.constvars, inner.invars, inner.eqns, inner.outvars);
  assert.ok(paramsEqual({ jaxpr: inner }, { jaxpr: inner }));
  assert.not.ok(paramsEqual({ jaxpr: inner }, { jaxpr: copy }), 'structurally equal but distinct jaxprs are different params');
});

test('constant folding turns all-literal scalar equations into literals', () => {
  const j = makeJaxpr((x: VArray) => np.mul(x, np.add(np.mul(np.array(2), 3), 1)))(np.zeros([2]));
  const f = optimize(j);
  assert.is(
    f.toString(),
    [
      '{ lambda ; a:f32[2]. let',
      '    b:f32[2] = broadcast_in_dim[shape=(2,) broadcastDimensions=()] 7.0',
      '    c:f32[2] = mul a b',
      '  in (c,) }',
    ].join('\n'),
  );
  assertSameResult(j, f, [np.array([1, 2])]);
});

test('constant folding evaluates small array consts into new consts; large ones stay', () => {
  const small = np.array([1, 2, 3]);
  const big = np.ones([100]);
  const j = makeJaxpr((x: VArray) => [np.add(x, np.exp(small)), np.sum(np.exp(big))])(np.zeros([3]));
  const f = foldConstants(j);
  const prims = f.jaxpr.eqns.map((e) => e.prim);
  assert.equal(prims, ['add', 'exp', 'reduce_sum'], 'exp(small) folded; exp(big) kept (100 elements > 64)');
  assert.is(f.consts.length, 3, 'the folded exp(small) is a new const');
  assert.is(dce(f).consts.length, 2, 'and small itself is then dead');
  assertSameResult(j, f, [np.array([1, 1, 1])]);
  // Without array folding only scalars fold.
  assert.is(foldConstants(j, { arrays: false }), j);
});

test('constant folding leaves broadcasts of literals alone (free inside kernels)', () => {
  const j = makeJaxpr((x: VArray) => np.add(x, np.full([4], 2)))(np.zeros([4]));
  assert.ok(optimize(j).jaxpr.eqns.some((e) => e.prim === 'broadcast_in_dim'));
});

test('inlining splices nested jit calls with fresh variables', () => {
  const inner = jit((y: VArray) => np.mul(np.sin(y), 2));
  const j = makeJaxpr((x: VArray) => np.add(inner(x), inner(np.cos(x))))(np.zeros([2]));
  assert.equal(j.jaxpr.eqns.filter((e) => e.prim === 'jit').length, 2);
  const out = inlineCalls(j);
  typecheckJaxpr(out.jaxpr);
  assert.ok(out.jaxpr.eqns.every((e) => e.prim !== 'jit'));
  assertSameResult(j, out, [np.array([0.5, -1])]);
});

test('optimize runs to a fixed point: inlined duplicates merge, dead code goes', () => {
  const inner = jit((y: VArray) => np.exp(np.mul(y, 2)));
  const j = makeJaxpr((x: VArray) => {
    np.log(x); // dead
    return np.add(inner(x), inner(x));
  })(np.zeros([3]));
  const o = optimize(j);
  assert.is(
    o.toString(),
    [
      '{ lambda ; a:f32[3]. let',
      '    b:f32[3] = broadcast_in_dim[shape=(3,) broadcastDimensions=()] 2.0',
      '    c:f32[3] = mul a b',
      '    d:f32[3] = exp c',
      '    e:f32[3] = add d d',
      '  in (e,) }',
    ].join('\n'),
  );
  assert.is(optimize(o), o, 'optimising an optimised jaxpr changes nothing');
  assertSameResult(j, o, [np.array([0, 1, -1])]);
});

test('optimize on a bare Jaxpr keeps its signature (constvars as leading inputs)', () => {
  const c = np.array([1, 2]);
  const j = makeJaxpr((x: VArray) => np.add(np.add(x, c), np.mul(np.array(1), 0)))(np.zeros([2])).jaxpr;
  const o = optimize(j);
  assert.ok(o instanceof Jaxpr);
  assert.is(o.constvars.length, 1);
  assert.is(o.invars.length, 1);
  typecheckJaxpr(o);
});

test('optimize typechecks after every pass and names the pass that found the IR broken', () => {
  // An equation whose literal operand has the wrong shape, plus a dead equation for dce to remove.
  const a = new Var(np.zeros([2]).aval);
  const out = new Var(np.zeros([2]).aval);
  const dead = new Var(np.zeros([2]).aval);
  const bad = new Jaxpr([], [a], [
    { prim: 'sin', inputs: [a], outvars: [dead], params: {} },
    { prim: 'add', inputs: [a, new Literal(1, np.zeros([3]).aval, np.zeros([3]))], outvars: [out], params: {} },
  ], [out]);
  assert.throws(() => optimize(bad), (e: Error) => /after pass dce: .*operand shapes must be equal/.test(e.message));
});

function assertSameResult(a: ClosedJaxpr, b: ClosedJaxpr, args: VArray[]): void {
  const ra = evalClosedJaxpr(a, args), rb = evalClosedJaxpr(b, args);
  assert.is(ra.length, rb.length);
  ra.forEach((r, i) => assert.equal(vals(rb[i] as VArray), vals(r as VArray)));
}

test.run();
