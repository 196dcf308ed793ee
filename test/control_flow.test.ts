/**
 * Structured control flow: lax.cond / switch / scan / whileLoop / foriLoop / map — eager
 * results, jit, jvp against finite differences, vjp by the inner-product identity and
 * against unrolled loops, vmap against a loop of single examples, nesting, and errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ConcretizationError, ShapeError, ValueError, DTypeError, config, grad, jit, jvp, linearize, makeJaxpr, np, lax, tree, vjp, vmap,
  type Array as V,
} from '../src/index.js';
import { assertClose, assertThrows, lcg, prod, scaledTol } from './helpers.js';

const rng = lcg(1234);
const rand = (shape: number[], scale = 1): V =>
  lax.reshape(np.array(Float32Array.from({ length: prod(shape) }, () => (rng() * 2 - 1) * scale)), shape);
const vals = (x: V): number[] => Array.from(x.dataSync());
const close = (got: V, want: V | number[], tol = 1e-5, what = '') => {
  const w = Array.isArray(want) ? want : vals(want);
  if (!Array.isArray(want)) assert.equal(got.shape, want.shape, `${what}: shape`);
  assertClose(vals(got), w, scaledTol(tol), what);
};
const leaves = (t: unknown): V[] => tree.leaves(t as tree.PyTree<V>) as V[];
const dot = (a: V[], b: V[]): number => a.reduce((s, x, i) => s + vals(x).reduce((t, v, j) => t + v * vals(b[i])[j], 0), 0);

/** jvp of `f` at `args` along a random direction, against central finite differences. */
function checkJvp(f: (...a: V[]) => unknown, args: V[], tol = 2e-2, eps = 1e-3): void {
  const ts = args.map((a) => rand([...a.shape]));
  const [, tOut] = jvp(f, args, ts);
  const shifted = (s: number) => leaves(f(...args.map((a, i) => a.add(ts[i].mul(s)))));
  const hi = shifted(eps), lo = shifted(-eps);
  leaves(tOut).forEach((t, k) => {
    const fd = vals(hi[k]).map((h, j) => (h - vals(lo[k])[j]) / (2 * eps));
    assertClose(vals(t), fd, scaledTol(tol), `jvp vs finite differences, output ${k}`);
  });
}

/** vjp of `f` against its jvp: <J t, c> = <t, Jᵀ c>. */
function checkVjp(f: (...a: V[]) => unknown, args: V[], tol = 1e-3): void {
  const ts = args.map((a) => rand([...a.shape]));
  const [out, pb] = vjp(f, ...args);
  const cs = leaves(out).map((o) => rand([...o.shape]));
  const [, tOut] = jvp(f, args, ts);
  const ct = tree.unflatten(tree.structure(out as tree.PyTree<V>), cs);
  const lhs = dot(leaves(tOut), cs), rhs = dot(ts, leaves(pb(ct as never)));
  assert.ok(Math.abs(lhs - rhs) <= tol * Math.max(1, Math.abs(lhs)), `<Jt, c> = ${lhs} but <t, J^T c> = ${rhs}`);
}

/** vmap(f) over axis 0 of every argument against stacking f of each example. */
function checkVmap(f: (...a: V[]) => unknown, args: V[], inAxes: (number | null)[] = args.map(() => 0), tol = 1e-5): void {
  const at = inAxes.findIndex((d) => d !== null);
  const n = args[at].shape[inAxes[at]!];
  const got = leaves(vmap(f, { inAxes })(...args));
  const per = Array.from({ length: n }, (_, b) => leaves(f(...args.map((a, i) => (inAxes[i] === null ? a : np.moveaxis(a, inAxes[i]!, 0).slice(b))))));
  got.forEach((g, k) => close(g, np.stack(per.map((p) => p[k])), tol, `vmap output ${k}`));
}

// ------------------------------------------------------------------ cond / switch

const sinOrCos = (p: unknown, x: V) => lax.cond(p, (a: V) => np.sin(a), (a: V) => np.cos(a), x);

test('cond: eager results, pytrees, integer predicates, JS-number outputs', () => {
  const x = np.array([0.5, 1, 2]);
  close(sinOrCos(true, x), np.sin(x));
  close(sinOrCos(np.array(false), x), np.cos(x));
  close(sinOrCos(np.array(3, 'int32'), x), np.sin(x));
  const r = lax.cond(false, (p: { a: V; b: V }) => ({ s: p.a.add(p.b), d: 1 }), (p: { a: V; b: V }) => ({ s: p.a.sub(p.b), d: p.a.sum() }), { a: x, b: x.mul(2) }) as unknown as { s: V; d: V };
  close(r.s, [-0.5, -1, -2]);
  close(r.d, [3.5]);
  assert.is(r.d.dtype, 'float32');
});

test('cond runs only the chosen branch eagerly', () => {
  config.debugNans = true;
  try {
    const x = np.array([1, 2]);
    close(lax.cond(true, (a: V) => a.mul(2), (a: V) => np.log(a.neg()), x), [2, 4]);
    assertThrows(() => lax.cond(false, (a: V) => a.mul(2), (a: V) => np.log(a.neg()), x), Error, /NaN/);
  } finally {
    config.debugNans = false;
  }
});

test('switch: index clamped like JAX, one branch, under jit', () => {
  const x = np.array([1, 2]);
  const fs = [(a: V) => a.add(1), (a: V) => a.mul(10), (a: V) => a.neg()];
  close(lax.switch(0, fs, x), [2, 3]);
  close(lax.switch(1, fs, x), [10, 20]);
  close(lax.switch(7, fs, x), [-1, -2]);
  close(lax.switch(-3, fs, x), [2, 3]);
  close(lax.switch(np.array(2, 'int32'), [(a: V) => a.square()], x), [1, 4]);
  const j = jit((i: V, a: V) => lax.switch(i, fs, a));
  close(j(np.array(1, 'int32'), x), [10, 20]);
  close(j(np.array(5, 'int32'), x), [-1, -2]);
  assert.is(j.cacheSize, 1);
});

test('cond under jit traces both branches once and picks at run time', () => {
  const f = jit((x: V) => sinOrCos(x.sum().greater(0), x));
  const x = np.array([0.5, 1]);
  close(f(x), np.sin(x));
  close(f(x.neg()), np.cos(x.neg()));
  assert.is(f.cacheSize, 1);
  assert.match(makeJaxpr((a: V) => sinOrCos(a.sum().greater(0), a))(x).toString(), /cond\[branches=/);
});

test('cond / switch: jvp matches finite differences, grad takes each branch', () => {
  const x = np.array([0.3, -0.7, 1.1]);
  const w = np.array([1.5, -2, 0.5]);
  const f = (p: V, a: V) => lax.cond(p, (u: V, v: V) => np.sin(u).mul(v), (u: V, v: V) => u.square().add(v.exp()), a, w);
  for (const p of [true, false]) {
    const pv = np.array(p);
    checkJvp((a: V) => f(pv, a), [x]);
    checkVjp((a: V) => f(pv, a), [x]);
    const g = grad((a: V) => f(pv, a).sum())(x) as V;
    close(g, p ? vals(np.cos(x).mul(w)) : vals(x.mul(2)), 1e-5, `grad branch ${p}`);
  }
  // Closed-over values are differentiated too (they are consts of the branches).
  const gw = grad((v: V) => lax.cond(true, (u: V) => u.mul(v).sum(), (u: V) => u.sum(), x))(w) as V;
  close(gw, x);
  const sw = (i: number) => (a: V) => lax.switch(i, [(u: V) => u.square(), (u: V) => np.sin(u), (u: V) => u.mul(3)], a).sum();
  close(grad(sw(0))(x) as V, x.mul(2));
  close(grad(sw(1))(x) as V, np.cos(x));
  close(grad(sw(9))(x) as V, [3, 3, 3]);
  checkJvp((a: V) => lax.switch(1, [(u: V) => u, (u: V) => np.tanh(u).mul(u)], a), [x]);
});

test('cond: a tangent flowing out of only one branch is instantiated in the other', () => {
  const x = np.array([0.5, 2]);
  const f = (p: boolean) => (a: V) => lax.cond(p, (u: V) => [u.mul(u), np.zeros([2])], () => [np.ones([2]), np.zeros([2])], a)[0].sum();
  close(grad(f(true))(x) as V, [1, 4]);
  close(grad(f(false))(x) as V, [0, 0]);
  const [, t] = jvp((a: V) => lax.cond(false, (u: V) => u.mul(2), () => np.ones([2]), a), [x], [np.ones([2])]);
  close(t as V, [0, 0]);
});

test('cond / switch under vmap: batched predicate becomes a select, unbatched stays a cond', () => {
  const xs = rand([4, 3]);
  const ps = np.array([true, false, false, true]);
  checkVmap((p: V, a: V) => sinOrCos(p, a), [ps, xs]);
  checkVmap((a: V) => sinOrCos(true, a), [xs]);
  checkVmap((p: V, a: V) => sinOrCos(p, a), [np.array(false), xs], [null, 0]);
  const idx = np.array([0, 2, 1, 5], 'int32');
  const br = [(a: V, b: V) => a.add(b), (a: V, b: V) => a.mul(b), (a: V) => np.exp(a)];
  checkVmap((i: V, a: V, b: V) => lax.switch(i, br, a, b), [idx, xs, rand([3])], [0, 0, null]);
  // Per-example gradients with a batched predicate: each example's branch only.
  const g = vmap(grad((a: V, p: V) => sinOrCos(p, a).sum()))(xs, ps) as V;
  const want = np.stack([0, 1, 2, 3].map((b) => (b === 0 || b === 3 ? np.cos(xs.slice(b)) : np.sin(xs.slice(b)).neg())));
  close(g, want);
  // The branch an example did not take sends it no cotangent, not even NaN·0.
  const safeSqrt = (a: V) => lax.cond(a.greater(0), (u: V) => np.sqrt(u), (u: V) => u, a);
  close(vmap(grad(safeSqrt))(np.array([4, -1, 0.25])) as V, [0.25, 1, 1]);
  close(grad((a: V) => vmap(safeSqrt)(a).sum())(np.array([4, -1, 0.25])) as V, [0.25, 1, 1]);
});

// ------------------------------------------------------------------ scan

const cumprod = (x: V) => lax.scan((c: V, xi: V) => { const c2 = c.mul(xi); return [c2, c2] as const; }, 1.0, x);

test('scan: eager carry and stacked ys, reverse, length without xs, pytrees, lax.map', () => {
  const x = np.array([1, 2, 3, 4]);
  const [c, ys] = cumprod(x) as [V, V];
  close(c, [24]);
  close(ys, [1, 2, 6, 24]);
  const [cr, yr] = lax.scan((a: V, xi: V) => [a.mul(xi), a] as const, np.array(1), x, { reverse: true }) as [V, V];
  close(cr, [24]);
  close(yr, [24, 12, 4, 1]);
  const [n, idx] = lax.scan((k: V) => [k.add(1), k.mul(k)] as const, np.array(0, 'int32'), null, { length: 4 }) as [V, V];
  assert.equal(vals(n), [4]);
  assert.equal(vals(idx), [0, 1, 4, 9]);
  assert.is(idx.dtype, 'int32');
  const [st, out] = lax.scan(
    (s: { h: V; n: V }, inp: [V, V]) => [{ h: s.h.add(inp[0]), n: s.n.add(1) }, { p: s.h.mul(inp[1]) }] as const,
    { h: np.zeros([2]), n: 0 },
    [np.array([[1, 2], [3, 4], [5, 6]]), np.array([1, 2, 3])],
  ) as [{ h: V; n: V }, { p: V }];
  close(st.h, [9, 12]);
  close(st.n, [3]);
  close(out.p, [0, 0, 2, 4, 12, 18]);
  assert.equal(out.p.shape, [3, 2]);
  close(lax.map((r: V) => r.sum(), np.array([[1, 2], [3, 4]])), [3, 7]);
  const [c0, y0] = lax.scan((a: V, xi: V) => [a.add(xi), xi] as const, np.array(5), np.zeros([0])) as [V, V];
  close(c0, [5]);
  assert.equal(y0.shape, [0]);
});

test('scan under jit and makeJaxpr', () => {
  const f = jit((x: V) => cumprod(x)[1]);
  close(f(np.array([1, 2, 3])), [1, 2, 6]);
  const j = makeJaxpr((x: V) => cumprod(x)[1])(np.array([1, 2, 3])).toString();
  assert.match(j, /scan\[jaxpr=\{ lambda ; \w+:f32\[\] \w+:f32\[\]\. let \w+:f32\[\] = mul \w+ \w+ in \(\w+, \w+\) \} numConsts=0 numCarry=1 length=3 reverse=false\]/);
});

/** A small RNN: h ← tanh(W h + U x_t + b), output y_t = h·v; loss = Σ y_t. */
function rnnLoss(unrolled: boolean) {
  return (W: V, U: V, b: V, h0: V, xs: V) => {
    const step = (h: V, x: V) => {
      const h2 = np.tanh(np.matmul(W, h).add(np.matmul(U, x)).add(b));
      return [h2, h2.sum()] as const;
    };
    if (!unrolled) return (lax.scan(step, h0, xs)[1] as V).sum();
    let h = h0, s: V = np.array(0);
    for (let t = 0; t < xs.shape[0]; t++) {
      const [h2, y] = step(h, xs.slice(t));
      h = h2;
      s = s.add(y);
    }
    return s;
  };
}

test('scan: grad of a cumulative product and of an RNN equals the unrolled loop', () => {
  const x = np.array([0.5, 2, -1.5, 3]);
  const g = grad((a: V) => (cumprod(a)[1] as V).sum())(x) as V;
  const unrolled = (a: V) => { let c: V = np.array(1), s: V = np.array(0); for (let i = 0; i < 4; i++) { c = c.mul(a.slice(i)); s = s.add(c); } return s; };
  close(g, grad(unrolled)(x) as V, 1e-5);
  const args: [V, V, V, V, V] = [rand([3, 3], 0.8), rand([3, 2]), rand([3]), rand([3]), rand([5, 2])];
  const argnums = [0, 1, 2, 3, 4];
  const gs = grad(rnnLoss(false), { argnums })(...args) as V[];
  const gu = grad(rnnLoss(true), { argnums })(...args) as V[];
  gs.forEach((gi, i) => close(gi, gu[i], 1e-4, `rnn grad ${i}`));
  checkJvp(rnnLoss(false), args);
  checkVjp((W: V, xs: V) => lax.scan((h: V, xt: V) => { const h2 = np.tanh(np.matmul(W, h).add(xt)); return [h2, h2.mul(xt)] as const; }, args[3], xs, { reverse: true }), [args[0], rand([4, 3])]);
});

test('scan: jvp with tangents on consts only, carries only, xs only; linearize', () => {
  const w = np.array([0.5, -1]);
  const f = (c0: V, a: V, xs: V) => lax.scan((c: V, x: V) => [np.sin(c.mul(a)).add(x), c.mul(x)] as const, c0, xs);
  const [c0, a, xs] = [np.array([0.2, 0.4]), w, rand([5, 2])];
  checkJvp(f, [c0, a, xs]);
  checkJvp((a2: V) => f(c0, a2, xs), [a]);
  checkJvp((c: V) => f(c, a, xs), [c0]);
  checkJvp((x: V) => f(c0, a, x), [xs]);
  const [, lin] = linearize((x: V) => f(c0, a, x)[1], xs);
  const t = rand([5, 2]);
  close(lin(t) as V, jvp((x: V) => f(c0, a, x)[1], [xs], [t])[1] as V, 1e-5);
  checkVjp(f, [c0, a, xs]);
});

test('scan: reverse-mode through integer carries and unused outputs', () => {
  const f = (x: V) => {
    const [[, acc], ys] = lax.scan(([i, s]: [V, V], xi: V) => [[i.add(1), s.add(xi.mul(i.astype('float32')))], xi.square()] as const, [np.array(0, 'int32'), np.array(0)], x) as [[V, V], V];
    return acc.add(ys.sum());
  };
  const x = np.array([1, 2, 3]);
  close(grad(f)(x) as V, [2, 5, 8]);
});

test('scan under vmap: batched carry, xs, consts, and per-example gradients', () => {
  const f = (c0: V, a: V, xs: V) => lax.scan((c: V, x: V) => [np.sin(c.mul(a)).add(x), c.mul(x)] as const, c0, xs);
  const c0 = rand([3, 2]), a = rand([3, 2]), xs = rand([3, 4, 2]);
  checkVmap(f, [c0, a, xs]);
  checkVmap(f, [c0, a.slice(0), xs.slice(0)], [0, null, null]);
  checkVmap(f, [c0.slice(0), a, xs.slice(0)], [null, 0, null]);
  checkVmap(f, [c0.slice(0), a.slice(0), xs], [null, null, 0]);
  checkVmap(f, [c0.slice(0), a.slice(0), np.moveaxis(xs, 0, 1)], [null, null, 1]);
  const gv = vmap(grad((x: V, c: V) => (f(c, a.slice(0), x)[1] as V).sum()))(xs, c0) as V;
  const gl = np.stack([0, 1, 2].map((b) => grad((x: V) => (f(c0.slice(b), a.slice(0), x)[1] as V).sum())(xs.slice(b)) as V));
  close(gv, gl, 1e-5);
});

test('scan: vmap of vjp (batched cotangents), jit of grad, gradient of the final carry only', () => {
  const sf = (x: V) => lax.scan((c: V, xi: V) => [c.mul(xi).add(np.sin(xi)), c.square()] as const, np.array(1), x)[1] as V;
  const unrolled = (x: V) => { let c: V = np.array(1); const ys: V[] = []; for (let i = 0; i < 3; i++) { ys.push(c.square()); c = c.mul(x.slice(i)).add(np.sin(x.slice(i))); } return np.stack(ys); };
  const x = np.array([0.5, 1, 2]);
  const eye = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  const jac = (f: (a: V) => V) => vmap((ct: V) => vjp(f, x)[1](ct)[0] as V)(eye);
  close(jac(sf), jac(unrolled), 1e-5);
  const last = (a: V) => (lax.scan((c: V, xi: V) => [c.mul(xi).add(np.sin(xi)), c.square()] as const, np.array(1), a)[0] as V);
  const g = jit(grad(last));
  close(g(x) as V, grad((a: V) => { let c: V = np.array(1); for (let i = 0; i < 3; i++) c = c.mul(a.slice(i)).add(np.sin(a.slice(i))); return c; })(x) as V, 1e-5);
  assert.is(g.cacheSize, 1);
});

// ------------------------------------------------------------------ whileLoop / foriLoop

test('whileLoop: eager, jit, pytree carry, weak initial value promoted', () => {
  close(lax.whileLoop((c: V) => c.less(100), (c: V) => c.mul(3), np.array(1)), [243]);
  const f = jit((x: V) => lax.whileLoop(([i]: [V, V]) => i.less(5), ([i, s]: [V, V]): [V, V] => [i.add(1), s.add(x.mul(i))], [0, 0]));
  const [i, s] = f(np.array(2)) as [V, V];
  assert.equal(vals(i), [5]);
  close(s, [20]);
  assert.is(s.dtype, 'float32');
});

test('whileLoop: jvp carries tangents, vmap with batched predicate and consts', () => {
  const f = (x: V, a: V) => lax.whileLoop((c: V) => c.sum().less(10), (c: V) => c.mul(a).add(0.5), x);
  const x = np.array([0.5, 1]), a = np.array([1.5, 2]);
  checkJvp(f, [x, a], 2e-2, 1e-4);
  const xs = np.array([[0.5, 1], [3, 4], [20, 0], [0.1, 0.1]]);
  checkVmap((c: V) => f(c, a), [xs]);
  checkVmap(f, [xs, np.array([[1.5, 2], [1.1, 1.1], [2, 2], [3, 1]])]);
  checkVmap((aa: V) => f(x, aa), [np.array([[1.5, 2], [1.1, 1.1]])]);
  // Batched consts with an unbatched predicate: the carry count is shared.
  checkVmap((aa: V) => lax.whileLoop(([k]: [V, V]) => k.less(3), ([k, c]: [V, V]): [V, V] => [k.add(1), c.mul(aa)], [0, np.ones([2])])[1], [np.array([[1, 2], [3, 4]])]);
  const [, t] = jvp((c: V) => lax.whileLoop((z: V) => z.less(10), (z: V) => z.mul(z), c), [np.array(2)], [np.array(1)]);
  close(t as V, [32]); // x^(2^3) at 2: 8 · 2^7
  // A batched cond const makes the predicate batched.
  checkVmap((lim: V) => lax.whileLoop((c: V) => c.less(lim), (c: V) => c.mul(2), np.array(1)), [np.array([1, 5, 100])]);
  // linearize: the primal loop runs on the known side, the tangent loop is kept.
  const [y, lin] = linearize((c: V) => f(c, a), x);
  close(y as V, f(x, a));
  const dt = np.array([1, -1]);
  close(lin(dt) as V, jvp((c: V) => f(c, a), [x], [dt])[1] as V);
});

test('foriLoop: static bounds lower to scan (grad works), traced bounds to while', () => {
  close(lax.foriLoop(0, 5, (i: V, c: V) => c.add(i), 0), [10]);
  close(lax.foriLoop(3, 1, (i: V, c: V) => c.add(i), 7), [7]);
  const pow = (x: V) => lax.foriLoop(0, 4, (_: V, c: V) => c.mul(x), np.ones([2]));
  close(grad((x: V) => pow(x).sum())(np.array([2, 3])) as V, [32, 108]);
  assert.match(makeJaxpr(pow)(np.array([2, 3])).toString(), /scan\[/);
  const dyn = jit((n: V, x: V) => lax.foriLoop(0, n, (i: V, c: V) => c.add(x.mul(i)), np.zeros([2])));
  close(dyn(np.array(4, 'int32'), np.array([1, 2])), [6, 12]);
  assert.match(makeJaxpr((n: V) => lax.foriLoop(0, n, (i: V, c: V) => c.add(i), 0))(np.array(3, 'int32')).toString(), /while\[/);
  const [, t] = jvp((x: V) => dyn(np.array(3, 'int32'), x), [np.array([1, 2])], [np.array([1, 1])]);
  close(t as V, [3, 3]);
});

// ------------------------------------------------------------------ nesting

test('nested: scan inside cond and cond inside scan, eager, grad, vmap', () => {
  const inner = (a: V, xs: V) => lax.cond(a.sum().greater(0), (u: V) => cumprod(u)[1] as V, (u: V) => u.mul(a), xs);
  const xs = np.array([0.5, 1.5, -2]);
  close(inner(np.array(1), xs), [0.5, 0.75, -1.5]);
  close(inner(np.array(-1), xs), [-0.5, -1.5, 2]);
  close(grad((u: V) => inner(np.array(1), u).sum())(xs) as V, grad((u: V) => (cumprod(u)[1] as V).sum())(xs) as V);
  const clipped = (x: V) =>
    lax.scan((c: V, xi: V) => { const n = lax.cond(c.greater(1), (u: V, v: V) => u.mul(0.5).add(v), (u: V, v: V) => u.add(v.square()), c, xi); return [n, n] as const; }, 0.0, x);
  const x = np.array([0.9, 0.8, 0.3, -0.4]);
  // The unrolled loop takes the branches the scan took (the carries it returned say which).
  const cs = [0, ...vals(clipped(x)[1] as V)];
  const unrolled = (a: V) => { let c: V = np.array(0), s: V = np.array(0); for (let i = 0; i < 4; i++) { const xi = a.slice(i); c = cs[i] > 1 ? c.mul(0.5).add(xi) : c.add(xi.square()); s = s.add(c); } return s; };
  close((clipped(x)[1] as V).sum(), [vals(unrolled(x))[0]]);
  close(grad((a: V) => (clipped(a)[1] as V).sum())(x) as V, grad(unrolled)(x) as V, 1e-5);
  checkJvp((a: V) => clipped(a), [x]);
  checkVmap((a: V) => clipped(a), [rand([3, 4])]);
  checkVmap((a: V, u: V) => inner(a, u), [np.array([[1], [-1]]).reshape([2]), rand([2, 3])]);
  // scan inside scan, differentiated twice.
  const nested = (a: V) => lax.scan((c: V, row: V) => [c.add((cumprod(row)[1] as V).sum()), c] as const, 0.0, a)[0] as V;
  const m = np.array([[0.5, 2], [1.5, -1]]);
  close(grad(nested)(m) as V, [3, 0.5, 0, 1.5]);
  close(grad((a: V) => (grad(nested)(a) as V).sum())(m) as V, [1, 1, 1, 1]);
});

// ------------------------------------------------------------------ errors

test('errors: branch mismatch, carry type changes, grad of whileLoop, bad predicates', () => {
  const x = np.array([1, 2]);
  assertThrows(() => lax.cond(true, (a: V) => a, (a: V) => a.sum(), x), ShapeError, /falseFn and trueFn|trueFn and falseFn/, /f32\[2\]/, /f32\[\]/);
  assertThrows(() => lax.cond(true, (a: V) => [a, a], (a: V) => a, x), ValueError, /same structure/);
  assertThrows(() => lax.switch(1, [(a: V) => a, (a: V) => a.astype('int32')], x), ShapeError, /branch 1/, /i32\[2\]/);
  assertThrows(() => sinOrCos(x.greater(0), x), ShapeError, /predicate must be a scalar/);
  assertThrows(() => sinOrCos(np.array(1.5), x), DTypeError, /bool or integer/);
  assertThrows(() => lax.scan((c: V, xi: V) => [c.mul(xi), null] as const, np.array(1), np.ones([3, 2])), ShapeError, /carry output carry has type f32\[2\] but the input carry carry has type f32\[\]/, /shapes differ/);
  assertThrows(() => lax.scan(([c, d]: readonly [V, V]) => [[c, d.astype('float32')], null] as const, [np.zeros([2]), np.array(1, 'int32')], null, { length: 2 }), ShapeError, /carry\[1\]/, /f32\[\].*i32\[\]/);
  assertThrows(() => lax.scan((c: V) => [[c], null] as never, np.zeros([2]), null, { length: 2 }), ValueError, /structure/);
  assertThrows(() => lax.scan((c: V, xi: V) => [c, xi] as const, 0, [np.ones([3]), np.ones([4])] as never), ShapeError, /leading size 4/);
  assertThrows(() => lax.scan((c: V) => [c, c] as const, 0, null), ValueError, /length/);
  assertThrows(() => lax.scan((c: V) => c as never, 0, null, { length: 1 }), ValueError, /\[carry, y\]/);
  assertThrows(() => lax.whileLoop((c: V) => c, (c: V) => c, np.array(1)), DTypeError, /bool scalar/);
  assertThrows(() => lax.whileLoop((c: V) => c.less(3), (c: V) => c.reshape([1]), np.array(1)), ShapeError, /f32\[1\]/, /f32\[\]/);
  assertThrows(() => grad((a: V) => lax.whileLoop((c: V) => c.less(10), (c: V) => c.mul(2), a))(np.array(1)), ValueError, /whileLoop/, /scan/, /foriLoop/);
});

test('ConcretizationError points to the control-flow API', () => {
  const e = assertThrows(() => jit((a: V) => (vals(a.sum().greater(0))[0] ? a : a.neg()))(np.array([1])), ConcretizationError, /lax\.cond/, /lax\.scan/);
  assert.match(e.message, /lax\.whileLoop/);
  assert.match(e.message, /lax\.foriLoop/);
});

test.run();
