/**
 * The attention pattern (`kernel/attention_pattern.ts`) on staged, optimised jaxprs: the forms
 * it must match (nn.softmax's guarded form and the unguarded one; scale by · or /, either
 * operand order; mask or none; k through a transpose or contracted on its last axis; 2-D and
 * 4-D batches) with the parameters it reads off, and near misses it must leave alone
 * (intermediates used elsewhere or returned, softmax over another axis, the mask before the
 * scale, a non-literal scale, an extra op inside the chain, int32). Lowering folds a match
 * into one fused call only when the backend accepts it; running the fused program is
 * `webgpu_routines.test.ts`'s job.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matchAttention } from '../src/core/kernel/attention_pattern.js';
import { lowerJaxpr } from '../src/core/kernel/lower.js';
import { compileJaxpr } from '../src/core/kernel/program.js';
import { makeJaxpr, nn, np, type Array as VArray } from '../src/index.js';

const jaxprOf = (f: (...a: VArray[]) => VArray | VArray[], ...args: VArray[]) => compileJaxpr(makeJaxpr(f)(...args).jaxpr).jaxpr;
const kT = (k: VArray) => np.swapaxes(k, -1, -2);
/** The unguarded softmax (max, sub, exp, sum, div). */
const plainSoftmax = (x: VArray, axis = -1) => {
  const e = np.exp(np.sub(x, np.max(x, axis, true)));
  return np.div(e, np.sum(e, axis, true));
};

const q3 = np.ones([2, 5, 8]), k3 = np.ones([2, 7, 8]), v3 = np.ones([2, 7, 4]), mask2 = np.zeros([5, 7]);

test('matches nn.softmax attention with a scale and a broadcast mask (k through a transpose)', () => {
  const j = jaxprOf((q, k, v, m) => np.matmul(nn.softmax(np.add(np.mul(np.matmul(q, kT(k)), 0.125), m)), v), q3, k3, v3, mask2);
  const ms = matchAttention(j);
  assert.is(ms.length, 1);
  const m = ms[0];
  assert.equal(m.params, { batch: 2, lq: 5, lk: 7, d: 8, dv: 4, scale: { op: 'mul', value: 0.125 }, mask: true, guarded: true });
  assert.is(m.q, j.invars[0]);
  assert.is(m.k, j.invars[1]);
  assert.is(m.v, j.invars[2]);
  assert.is(m.at, j.eqns.length - 1);
  // Everything but the mask's broadcast is replaced.
  assert.is(m.eqns.size, j.eqns.length - 1);
});

test('matches the unguarded softmax, a division by the scale, 2-D operands and no mask', () => {
  const j = jaxprOf((q, k, v) => np.matmul(plainSoftmax(np.div(np.matmul(q, kT(k)), 8)), v), np.ones([5, 8]), np.ones([7, 8]), np.ones([7, 4]));
  const [m] = matchAttention(j);
  assert.equal(m?.params, { batch: 1, lq: 5, lk: 7, d: 8, dv: 4, scale: { op: 'div', value: 8 }, mask: false, guarded: false });
});

test('matches k contracted on its last axis (einsum), 4-D batches, mask + scores, scale · scores', () => {
  const q = np.ones([2, 3, 5, 8]), k = np.ones([2, 3, 7, 8]), v = np.ones([2, 3, 7, 6]), mask = np.zeros([2, 3, 5, 7]);
  const j = jaxprOf((q, k, v, m) => np.einsum('bhqk,bhkd->bhqd', nn.softmax(np.add(m, np.mul(0.5, np.einsum('bhqd,bhkd->bhqk', q, k)))), v), q, k, v, mask);
  const [m] = matchAttention(j);
  assert.equal(m?.params, { batch: 6, lq: 5, lk: 7, d: 8, dv: 6, scale: { op: 'mul', value: 0.5 }, mask: true, guarded: true });
  assert.is(m.mask, j.invars[3]);
  const plain = jaxprOf((q, k, v) => np.einsum('bhqk,bhkd->bhqd', nn.softmax(np.einsum('bhqd,bhkd->bhqk', q, k)), v), q, k, v);
  assert.equal(matchAttention(plain)[0]?.params, { batch: 6, lq: 5, lk: 7, d: 8, dv: 6, scale: null, mask: false, guarded: true });
});

test('matches lk = 1, where the optimiser drops the row broadcasts', () => {
  const j = jaxprOf((q, k, v, m) => np.matmul(nn.softmax(np.add(np.mul(np.matmul(q, kT(k)), 0.125), m)), v), np.ones([1, 1, 1]), np.ones([1, 1, 1]), np.ones([1, 1, 1]), np.ones([1, 1]));
  assert.equal(matchAttention(j)[0]?.params, { batch: 1, lq: 1, lk: 1, d: 1, dv: 1, scale: { op: 'mul', value: 0.125 }, mask: true, guarded: true });
});

test('near misses are left alone', () => {
  const att = (s: VArray, v: VArray) => np.matmul(nn.softmax(s), v);
  const none = (what: string, f: (...a: VArray[]) => VArray | VArray[], ...args: VArray[]) => assert.is(matchAttention(jaxprOf(f, ...args)).length, 0, what);
  none('probabilities also returned', (q, k, v) => {
    const p = nn.softmax(np.matmul(q, kT(k)));
    return [np.matmul(p, v), p];
  }, q3, k3, v3);
  none('scores used elsewhere', (q, k, v) => {
    const s = np.matmul(q, kT(k));
    return np.add(np.sum(att(s, v)), np.sum(s));
  }, q3, k3, v3);
  none('softmax over the query axis', (q, k, v) => np.matmul(nn.softmax(np.matmul(q, kT(k)), -2), v), q3, k3, v3);
  none('mask added before the scale', (q, k, v, m) => att(np.mul(np.add(np.matmul(q, kT(k)), m), 0.125), v), q3, k3, v3, mask2);
  none('scale by an array, not a literal', (q, k, v, c) => att(np.mul(np.matmul(q, kT(k)), c), v), q3, k3, v3, np.ones([2, 5, 7]));
  none('an extra op between softmax and the second product', (q, k, v) => np.matmul(np.mul(nn.softmax(np.matmul(q, kT(k))), 0.9), v), q3, k3, v3);
  none('max not subtracted', (q, k, v) => {
    const e = np.exp(np.matmul(q, kT(k)));
    return np.matmul(np.div(e, np.sum(e, -1, true)), v);
  }, q3, k3, v3);
  none('k already transposed in memory', (q, kt, v) => att(np.matmul(q, kt), v), q3, np.ones([2, 8, 7]), v3);
  none('int32', (q, k, v) => np.matmul(np.matmul(q, kT(k)), v), np.ones([2, 5, 8], 'int32'), np.ones([2, 7, 8], 'int32'), np.ones([2, 7, 4], 'int32'));
});

test('two attention chains in one jaxpr are both matched (sharing kᵀ and the guards\' constants)', () => {
  const j = jaxprOf((q, k, v) => {
    const o = np.matmul(nn.softmax(np.matmul(q, kT(k))), v);
    return np.matmul(nn.softmax(np.matmul(o, kT(k))), np.ones([2, 7, 3]));
  }, np.ones([2, 5, 4]), np.ones([2, 7, 4]), np.ones([2, 7, 4]));
  const ms = matchAttention(j);
  assert.is(ms.length, 2);
  // The shared transpose of k stays (the second chain reads it too, then both read k itself).
  assert.ok(ms.every((m) => m.k === j.invars[1]));
});

test('lowering folds a match into one fused call only where the backend accepts it', () => {
  const j = jaxprOf((q, k, v, m) => np.matmul(nn.softmax(np.add(np.mul(np.matmul(q, kT(k)), 0.125), m)), v), q3, k3, v3, mask2);
  const fused = lowerJaxpr(j, { acceptsFused: (name) => name === 'attention' });
  const calls = fused.steps.filter((s) => s.kind === 'routine');
  assert.is(calls.length, 1);
  const call = calls[0];
  assert.ok(call.kind === 'routine' && call.fused?.name === 'attention');
  assert.is(fused.steps.filter((s) => s.kind === 'kernel').length, 0, 'no softmax kernels remain');
  const plain = lowerJaxpr(j, { acceptsFused: () => false });
  assert.ok(plain.steps.every((s) => s.kind !== 'routine' || !s.fused));
  assert.is(plain.steps.filter((s) => s.kind === 'routine').length, 2, 'two dot_generals');
  assert.equal(lowerJaxpr(j), plain);
});

test.run();
