/**
 * The softmax pattern (`kernel/softmax_pattern.ts`) on staged, optimised jaxprs: nn.softmax's
 * guarded form and the unguarded one over the last axis, ranks 1–3 and one column, with the
 * parameters read off; near misses it must leave alone (another axis, an intermediate used
 * elsewhere or returned, the gradient's forward pass, int logits); lowering folds a match into
 * one fused call only where the backend accepts it, attention first.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matchSoftmax } from '../src/core/kernel/softmax_pattern.js';
import { lowerJaxpr } from '../src/core/kernel/lower.js';
import { compileJaxpr } from '../src/core/kernel/program.js';
import { grad, makeJaxpr, nn, np, type Array as VArray } from '../src/index.js';

const jaxprOf = (f: (...a: VArray[]) => VArray | VArray[], ...args: VArray[]) => compileJaxpr(makeJaxpr(f)(...args).jaxpr).jaxpr;
/** The unguarded softmax (max, sub, exp, sum, div). */
const plainSoftmax = (x: VArray, axis = -1) => {
  const e = np.exp(np.sub(x, np.max(x, axis, true)));
  return np.div(e, np.sum(e, axis, true));
};

test('matches nn.softmax and the unguarded form over the last axis, ranks 1 to 3 and one column', () => {
  const cases: [readonly number[], (x: VArray) => VArray, boolean][] = [
    [[7], (x) => nn.softmax(x), true],
    [[5, 9], (x) => nn.softmax(x, -1), true],
    [[2, 3, 4], (x) => nn.softmax(x, 2), true],
    [[5, 9], (x) => plainSoftmax(x), false],
    [[4, 1], (x) => nn.softmax(x), true],
  ];
  for (const [shape, f, guarded] of cases) {
    const j = jaxprOf(f, np.ones(shape));
    const ms = matchSoftmax(j);
    assert.is(ms.length, 1, `${shape}`);
    const cols = shape[shape.length - 1];
    assert.equal(ms[0].params, { rows: shape.reduce((a, b) => a * b, 1) / cols, cols, guarded }, `${shape}`);
    assert.is(ms[0].x, j.invars[0]);
    assert.is(ms[0].at, j.eqns.length - 1);
    assert.is(ms[0].eqns.size, j.eqns.length, 'every equation is part of the chain');
  }
  // Logits computed in the jaxpr: the chain starts after them.
  const j = jaxprOf((x, w) => nn.softmax(np.add(np.matmul(x, w), 1)), np.ones([3, 4]), np.ones([4, 6]));
  const [m] = matchSoftmax(j);
  assert.equal(m?.params, { rows: 3, cols: 6, guarded: true });
  assert.is(j.eqns[m.at].prim, 'div');
});

test('near misses keep their kernels', () => {
  const x = np.ones([4, 6]);
  const none = (what: string, f: (...a: VArray[]) => VArray | VArray[], ...args: VArray[]) => assert.is(matchSoftmax(jaxprOf(f, ...args)).length, 0, what);
  none('softmax over the first axis', (v) => nn.softmax(v, 0), x);
  none('the exponentials also returned', (v) => {
    const e = np.exp(np.sub(v, np.max(v, -1, true)));
    return [np.div(e, np.sum(e, -1, true)), e];
  }, x);
  none('the row max used elsewhere', (v) => {
    const m = np.max(v, -1, true);
    const e = np.exp(np.sub(v, m));
    return np.add(np.div(e, np.sum(e, -1, true)), m);
  }, x);
  none('a sum over another axis', (v) => {
    const e = np.exp(np.sub(v, np.max(v, -1, true)));
    return np.div(e, np.sum(e, 0, true));
  }, x);
  none('exp of something else than x − max', (v) => {
    const e = np.exp(np.add(v, np.max(v, -1, true)));
    return np.div(e, np.sum(e, -1, true));
  }, x);
  // Under grad the forward pass's e and sum feed the backward pass.
  none('the gradient of a softmax', grad((v: VArray) => np.sum(np.mul(nn.softmax(v), np.arange(6)))), x);
});

test('lowering: one fused softmax call where accepted, attention first, nothing otherwise', () => {
  const j = jaxprOf((v) => nn.softmax(np.mul(v, 2)), np.ones([8, 16]));
  const fused = lowerJaxpr(j, { acceptsFused: (name) => name === 'softmax' });
  const calls = fused.steps.filter((s) => s.kind === 'routine');
  assert.is(calls.length, 1);
  assert.ok(calls[0].kind === 'routine' && calls[0].fused?.name === 'softmax');
  assert.equal(calls[0].kind === 'routine' && calls[0].fused?.params, { rows: 8, cols: 16, guarded: true });
  assert.is(fused.steps.filter((s) => s.kind === 'kernel').length, 1, 'the scaling stays a kernel feeding the call');
  assert.equal(lowerJaxpr(j, { acceptsFused: () => false }), lowerJaxpr(j));

  const att = jaxprOf((q, k, v) => np.matmul(nn.softmax(np.mul(np.matmul(q, np.swapaxes(k, -1, -2)), 0.5)), v), np.ones([2, 5, 8]), np.ones([2, 7, 8]), np.ones([2, 7, 4]));
  const names = (p: ReturnType<typeof lowerJaxpr>) => p.steps.flatMap((s) => (s.kind === 'routine' ? [s.fused?.name ?? s.eqn.prim] : []));
  assert.equal(names(lowerJaxpr(att, { acceptsFused: () => true })), ['attention']);
  assert.equal(names(lowerJaxpr(att, { acceptsFused: (name) => name === 'softmax' })), ['dot_general', 'softmax', 'dot_general']);
});

test.run();
