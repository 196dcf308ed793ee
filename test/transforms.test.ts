/** The transformation APIs: jvp, linearize, vjp, grad, vmap, jit, makeJaxpr, custom rules, jacobians — and their errors. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ConcretizationError, ShapeError, TracerLeakError, checkpoint, customJvp, customVjp, grad, hessian, jacfwd, jacrev, jit,
  jvp, linearize, makeJaxpr, np, stopGradient, valueAndGrad, vjp, vmap, type Array as Value,
} from '../src/index.js';

const close = (a: Value | number, b: number[] | number, tol = 1e-5) => {
  const got = typeof a === 'number' ? [a] : [...(a as Value).dataSync()];
  const want = typeof b === 'number' ? [b] : b;
  assert.is(got.length, want.length, `length ${got} vs ${want}`);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) <= tol * Math.max(1, Math.abs(want[i])), `${got} vs ${want}`));
};
const xs = [0.5, 1, 2];
const x = np.array(xs);

test('jvp, linearize and vjp agree with derivatives', () => {
  const f = (a: Value) => np.exp(a).mul(np.sin(a));
  const d = xs.map((v) => Math.exp(v) * (Math.sin(v) + Math.cos(v)));
  const [y, t] = jvp(f, [x], [np.ones([3])]);
  close(y, xs.map((v) => Math.exp(v) * Math.sin(v)));
  close(t, d);
  const [, lin] = linearize(f, x);
  close(lin(np.array([1, 2, 3])), d.map((v, i) => v * (i + 1)));
  const [, pb] = vjp(f, x);
  close(pb(np.ones([3]))[0], d);
});

test('grad with argnums, pytrees and hasAux', () => {
  const f = (p: { w: Value; b: Value }, a: Value) => p.w.mul(a).add(p.b).square().sum();
  const p = { w: np.array([1, 2]), b: np.array([0.5, -1]) };
  const a = np.array([3, 4]);
  const g = grad(f)(p, a) as { w: Value; b: Value };
  close(g.w, [2 * 3.5 * 3, 2 * 7 * 4]);
  close(g.b, [7, 14]);
  const [gp, ga] = grad(f, { argnums: [0, 1] })(p, a) as [{ w: Value }, Value];
  close(gp.w, [21, 56]);
  close(ga, [7, 28]);
  const [v, aux] = valueAndGrad((z: Value) => [z.square().sum(), z.mul(2)], { hasAux: true })(x)[0] as [Value, Value];
  close(v, 5.25);
  close(aux, [1, 2, 4]);
  const [g2, aux2] = grad((z: Value) => [z.square().sum(), 7], { hasAux: true })(x);
  close(g2, [1, 2, 4]);
  assert.is((aux2 as Value).item(), 7);
});

test('higher order: grad of grad, jvp of grad, hessian, jacobians with pytrees', () => {
  const f = (a: Value) => np.sin(a).mul(a).sum();
  const h = xs.map((v) => 2 * Math.cos(v) - v * Math.sin(v));
  close(grad((a: Value) => grad(f)(a).sum())(x), h, 1e-4);
  close(jvp(grad(f), [x], [np.ones([3])])[1], h, 1e-4);
  const H = hessian(f)(x) as Value;
  assert.equal(H.shape, [3, 3]);
  close(H, [h[0], 0, 0, 0, h[1], 0, 0, 0, h[2]], 1e-4);
  const g = (p: { a: Value; b: Value }) => ({ s: p.a.mul(p.b).sum(), v: p.a.mul(2) });
  const p = { a: np.array([1, 2]), b: np.array([3, 4, 5]).slice(':2') };
  for (const jac of [jacfwd, jacrev]) {
    const J = jac(g)(p) as { s: { a: Value; b: Value }; v: { a: Value; b: Value } };
    assert.equal(J.s.a.shape, [2]);
    close(J.s.a, [3, 4]);
    assert.equal(J.v.a.shape, [2, 2]);
    close(J.v.a, [2, 0, 0, 2]);
    close(J.v.b, [0, 0, 0, 0]);
  }
});

test('vmap with inAxes, outAxes, nulls and axisSize; nested vmap', () => {
  const m = np.arange(6).astype('float32').reshape([2, 3]);
  assert.equal(vmap((r: Value) => r.sum())(m).toNested(), [3, 12]);
  assert.equal(vmap((c: Value) => c.sum(), { inAxes: 1 })(m).toNested(), [3, 5, 7]);
  assert.equal(vmap((r: Value, s: Value) => r.mul(s), { inAxes: [0, null] })(m, np.array([1, 10, 100])).toNested(), [[0, 10, 200], [3, 40, 500]]);
  assert.equal(vmap((r: Value) => r.mul(2), { outAxes: 1 })(m).shape, [3, 2]);
  assert.equal(vmap(() => np.ones([2]), { axisSize: 3 })().shape, [3, 2]);
  const outer = vmap(vmap((a: Value, b: Value) => a.mul(b), { inAxes: [0, null] }), { inAxes: [null, 0] });
  assert.equal(outer(np.array([1, 2]), np.array([10, 20, 30])).toNested(), [[10, 20], [20, 40], [30, 60]]);
  assert.throws(() => vmap((a: Value, b: Value) => a.add(b))(np.ones([2]), np.ones([3])), (e: Error) => e instanceof ShapeError && /vmap: mapped axes have different sizes: argument 0 f32\[2\] has size 2.*argument 1 f32\[3\] has size 3/.test(e.message));
});

test('jit caches by signature, honours static arguments and matches eager', () => {
  let traces = 0;
  const f = jit((a: Value, n: number) => {
    traces++;
    return a.mul(n).sin();
  }, { staticArgnums: 1 });
  close(f(x, 2), xs.map((v) => Math.sin(2 * v)));
  f(np.array([4, 5, 6]), 2);
  assert.is(traces, 1);
  f(x, 3);
  assert.is(traces, 2);
  f(np.array([1, 2]), 3);
  assert.is(traces, 3);
  assert.is(f.cacheSize, 3);
  assert.match(f.lower(x, 2).text, /sin/);
});

test('grad through jit stays compiled and equals jit of grad', () => {
  const f = (a: Value) => np.tanh(a).mul(a).sum();
  close(grad(jit(f))(x), [...(jit(grad(f))(x) as Value).dataSync()], 1e-6);
  const text = makeJaxpr(grad(jit(f)))(x).toString();
  assert.match(text, /jit\[jaxpr=/);
  close(grad((a: Value) => grad(jit(f))(a).sum())(x), [...(grad((a: Value) => grad(f)(a).sum())(x) as Value).dataSync()], 1e-5);
});

test('custom jvp and vjp rules are used; checkpoint recomputes', () => {
  const f = customJvp((a: Value) => np.log(np.exp(a).add(1)));
  f.defJvp(([a]: [Value], [t]: [Value]) => [f(a), t.mul(np.sigmoid(a))]);
  close(grad((a: Value) => f(a).sum())(x), xs.map((v) => 1 / (1 + Math.exp(-v))));
  close(vmap(grad((a: Value) => f(a).sum()))(np.array([[0], [1]])), [0.5, 1 / (1 + Math.exp(-1))]);
  const g = customVjp((a: Value) => a.square());
  g.defVjp((a: Value) => [a.square(), a], (a: Value, ct: Value) => [ct.mul(a).mul(100)]);
  close(grad((a: Value) => g(a).sum())(x), xs.map((v) => 100 * v));
  assert.throws(() => jvp((a: Value) => g(a), [x], [x]), /forward-mode differentiation .* custom vjp is not supported/);
  const c = checkpoint((a: Value) => np.sin(np.sin(a)));
  close(grad((a: Value) => c(a).sum())(x), xs.map((v) => Math.cos(Math.sin(v)) * Math.cos(v)));
  // The forward pass saves only the checkpoint's inputs: the backward pass recomputes sin(a).
  assert.match(makeJaxpr(grad((a: Value) => c(a).sum()))(x).toString(), /in \(\w+, \w+\) \} name=/);
});

test('stopGradient blocks derivatives', () => {
  close(grad((a: Value) => a.mul(stopGradient(a)).sum())(x), xs);
  close(grad((a: Value) => stopGradient({ y: a.square() }).y.sum())(x), [0, 0, 0]);
});

test('errors: non-scalar grad, integer arguments, concretization, leaked tracers', () => {
  assert.throws(() => grad((a: Value) => a.mul(2))(x), (e: Error) => e instanceof ShapeError && /grad: the function must return a float32 scalar, got f32\[3\]/.test(e.message));
  assert.throws(() => grad((a: Value) => a.sum())(np.array([1, 2], 'int32')), /grad: differentiated arguments must be float32.*i32\[2\]/);
  assert.throws(
    () => jit((a: Value) => ((a.sum() as unknown as number) > 0 ? a : a.neg()))(x),
    (e: Error) => e instanceof ConcretizationError && /lax\.cond/.test(e.message),
  );
  let leaked: Value | null = null;
  jit((a: Value) => {
    leaked = a.mul(2);
    return a;
  })(x);
  assert.throws(() => np.add(leaked!, 1), (e: Error) => e instanceof TracerLeakError);
  assert.throws(() => grad((a: Value) => a.add(leaked!).sum())(x), (e: Error) => e instanceof TracerLeakError);
});

test.run();
