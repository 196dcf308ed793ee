/**
 * Optimizers and schedules against their reference formulas (optax's definitions), written out
 * here in plain float64 JavaScript and run on fixed gradients for several steps.
 *
 * The references take each constant as a float32 optimizer (optax under JAX included) sees it:
 * `b2` as `fround(0.999)` and `1 − b2` as `fround(1 − 0.999)`, rounded separately. At the
 * first steps the bias correction `(1 − b2) / (1 − b2^t)` is then 1 + 1.3e-5 instead of 1: an
 * effect of the float32 constants, not of the arithmetic, and larger than the arithmetic
 * error these tests bound, so the references model it. Likewise the bias corrections
 * `1 − b^t` use `b^t` rounded to float32 (the subtraction is then exact): for b2 = 0.999 the
 * cancellation turns that half-ulp rounding into a 3e-5 relative change at t = 2, inherent to
 * the formula in float32, not a defect to be hidden by a loose tolerance.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jit, np, tree, ShapeError, ValueError, type Array as VArray } from '../src/index.js';
import * as O from '../src/nn/optim.js';
import * as S from '../src/nn/schedules.js';
import { assertClose, assertThrows, lcg } from './helpers.js';

type Leaves = number[][];
type Tree = tree.PyTree<VArray>;

const f32 = Math.fround;
/** A decay `b` and its complement `1 − b` as float32 constants (rounded separately, as in the code under test). */
const decayConsts = (b: number): [number, number] => [f32(b), f32(1 - b)];
/** The bias correction `1 − b^t` from float32 `b^t`. */
const biasCorrection = (b: number, t: number): number => 1 - f32(b ** t);
/** Relative 1e-6, plus an absolute floor for entries that are nearly zero. */
const TOL = { rtol: 1e-6, atol: 1e-8 };
/**
 * For moving averages: values near zero come from O(1) inputs cancelling, so their error is
 * relative to the inputs (float32's 6e-8 per unit), not to the result.
 */
const AVG_TOL = { rtol: 1e-6, atol: 1e-7 };

/** The test trees are `{ dense: { b: [2], w: [3, 2] }, gain: [4] }`; leaf sizes in flatten order (dense.b, dense.w, gain). */
const SIZES = [2, 6, 4];

/** The test tree from flat leaves. */
function build(ls: Leaves): Tree {
  return { dense: { b: np.array(Float32Array.from(ls[0])), w: np.array(Float32Array.from(ls[1])).reshape([3, 2]) }, gain: np.array(Float32Array.from(ls[2])) };
}
const leavesOf = (t: Tree): Leaves => tree.leaves(t).map((x) => Array.from(x.dataSync()));

/** Seeded float32 values; the magnitudes vary per leaf and step, including tiny and large entries. */
function randomLeaves(rng: () => number, scale = 1): Leaves {
  return SIZES.map((n, j) => Array.from({ length: n }, (_, i) => f32((rng() * 2 - 1) * scale * (i === 0 && j === 2 ? 1e-3 : j === 1 ? 3 : 1))));
}

const P0 = randomLeaves(lcg(1));
const GRADS: Leaves[] = (() => {
  const rng = lcg(7);
  return Array.from({ length: 6 }, () => randomLeaves(rng));
})();

const mapL = (f: (...xs: number[]) => number, ...ls: Leaves[]): Leaves => ls[0].map((leaf, j) => leaf.map((x, i) => f(x, ...ls.slice(1).map((l) => l[j][i]))));
const zeros = (): Leaves => SIZES.map((n) => new Array<number>(n).fill(0));

/** Run `opt` for GRADS.length steps from P0 (eagerly, or with the whole step jitted); the updates and parameters of every step. */
function run<S>(opt: O.GradientTransformation<S>, grads: Leaves[] = GRADS, jitted = false): { updates: Leaves[]; params: Leaves[]; state: S } {
  const step = (g: Tree, s: S, p: Tree): [Tree, Tree, S] => {
    const [u, ns] = opt.update(g, s, p);
    return [u as Tree, O.applyUpdates(p, u) as Tree, ns];
  };
  const f = jitted ? jit(step) : step;
  let p = build(P0);
  let s = opt.init(p);
  const updates: Leaves[] = [], params: Leaves[] = [];
  for (const g of grads) {
    const [u, np2, ns] = f(build(g), s, p);
    updates.push(leavesOf(u));
    params.push(leavesOf(np2));
    p = np2;
    s = ns;
  }
  return { updates, params, state: s };
}

function assertSteps(got: Leaves[], want: Leaves[], what: string, tol = TOL): void {
  assert.is(got.length, want.length, `${what}: steps`);
  want.forEach((w, t) => w.forEach((leaf, j) => assertClose(got[t][j], leaf, tol, `${what}: step ${t + 1}, leaf ${j}`)));
}

// ------------------------------------------------------------------ reference formulas (float64)

/** Adam's direction m̂/(√(v̂ + epsRoot) + eps) for each step (Kingma & Ba 2015, Algorithm 1). */
function refAdam(grads: Leaves[], b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0): Leaves[] {
  const [B1, C1] = decayConsts(b1), [B2, C2] = decayConsts(b2);
  [eps, epsRoot] = [eps, epsRoot].map(f32);
  let m = zeros(), v = zeros();
  return grads.map((g, k) => {
    const t = k + 1;
    m = mapL((gi, mi) => B1 * mi + C1 * gi, g, m);
    v = mapL((gi, vi) => B2 * vi + C2 * gi * gi, g, v);
    return mapL((mi, vi) => mi / biasCorrection(B1, t) / (Math.sqrt(vi / biasCorrection(B2, t) + epsRoot) + eps), m, v);
  });
}

/** A training loop p ← p + u(direction, p) from P0; the updates and parameters of every step. */
function refLoop(directions: Leaves[], u: (d: number, p: number, leaf: number) => number): { updates: Leaves[]; params: Leaves[] } {
  let p = P0;
  const updates: Leaves[] = [], params: Leaves[] = [];
  for (const d of directions) {
    const step = d.map((leaf, j) => leaf.map((di, i) => u(di, p[j][i], j)));
    p = mapL((pi, ui) => pi + ui, p, step);
    updates.push(step);
    params.push(p);
  }
  return { updates, params };
}

/** Heavy-ball momentum traces (and Nesterov's g + μ·trace). */
function refMomentum(grads: Leaves[], mu: number, nesterov: boolean): Leaves[] {
  mu = f32(mu);
  let tr = zeros();
  return grads.map((g) => {
    tr = mapL((gi, ti) => gi + mu * ti, g, tr);
    return nesterov ? mapL((gi, ti) => gi + mu * ti, g, tr) : tr;
  });
}

const globalNormRef = (l: Leaves): number => Math.sqrt(l.flat().reduce((a, x) => a + x * x, 0));

// ------------------------------------------------------------------ Adam, AdamW

test('scaleByAdam matches the bias-corrected Adam formulas for 6 steps; the count is an int32 step', () => {
  const r = run(O.scaleByAdam());
  assertSteps(r.updates, refAdam(GRADS), 'scaleByAdam');
  assert.is(r.state.count.dtype, 'int32');
  assert.is(r.state.count.item(), 6);
  // First step: bias correction makes the update g/(|g| + eps), i.e. ±1 for gradients ≫ eps
  // (up to the 6.5e-6 of the float32 constants, see the top of the file).
  r.updates[0][1].forEach((x, i) => assert.ok(Math.abs(Math.abs(x) - 1) < 1e-5 && Math.sign(x) === Math.sign(GRADS[0][1][i]), `step 1 dense.w[${i}] = ${x}`));
  const custom = run(O.scaleByAdam({ b1: 0.8, b2: 0.95, eps: 1e-3, epsRoot: 1e-4 }));
  assertSteps(custom.updates, refAdam(GRADS, 0.8, 0.95, 1e-3, 1e-4), 'scaleByAdam (b1 0.8, b2 0.95, eps 1e-3, epsRoot 1e-4)', AVG_TOL);
});

test('adam(lr): p ← p − lr · m̂/(√v̂ + eps), parameters tracked for 6 steps', () => {
  const lr = 0.05;
  const want = refLoop(refAdam(GRADS), (d) => -f32(lr) * d);
  const got = run(O.adam(lr));
  assertSteps(got.updates, want.updates, 'adam updates');
  assertSteps(got.params, want.params, 'adam params');
});

test('adamw: decoupled decay p ← p − lr·(adam + wd·p), applied after Adam normalisation', () => {
  const lr = 0.05, wd = 0.1;
  const want = refLoop(refAdam(GRADS), (d, p) => -f32(lr) * (d + f32(wd) * p));
  const got = run(O.adamw(lr, { weightDecay: wd }));
  assertSteps(got.updates, want.updates, 'adamw updates');
  assertSteps(got.params, want.params, 'adamw params');
  // The default weight decay is optax's 1e-4.
  const def = refLoop(refAdam(GRADS), (d, p) => -f32(lr) * (d + f32(1e-4) * p));
  assertSteps(run(O.adamw(lr)).params, def.params, 'adamw default decay');
});

test('adamw mask (a tree or a function of the params) decays only the selected leaves', () => {
  const lr = 0.05, wd = 0.1;
  // Decay the kernels only (dense.w: leaf 1), not the bias or the gain.
  const want = refLoop(refAdam(GRADS), (d, p, leaf) => -f32(lr) * (d + (leaf === 1 ? f32(wd) * p : 0)));
  const byTree = run(O.adamw(lr, { weightDecay: wd, mask: { dense: { b: false, w: true }, gain: false } }));
  assertSteps(byTree.params, want.params, 'adamw mask tree');
  const byFn = run(O.adamw(lr, { weightDecay: wd, mask: (p) => tree.map((x: VArray) => x.ndim >= 2, p) as tree.PyTree<boolean> }));
  assertSteps(byFn.params, want.params, 'adamw mask function');
});

test('masked: unselected updates pass through untouched and get no inner state', () => {
  const tx = O.masked(O.trace({ decay: 0.5 }), { dense: { b: true, w: false }, gain: true });
  const s0 = tx.init(build(P0));
  assert.is(tree.leaves(s0).length, 2, 'inner state only for the selected leaves');
  const r = run(tx);
  const mom = refMomentum(GRADS, 0.5, false);
  r.updates.forEach((u, t) => {
    assertClose(u[0], mom[t][0], TOL, `step ${t + 1} dense.b`);
    assert.equal(u[1], GRADS[t][1], `step ${t + 1} dense.w passes through`);
    assertClose(u[2], mom[t][2], TOL, `step ${t + 1} gain`);
  });
});

// ------------------------------------------------------------------ SGD

test('sgd: plain, heavy-ball momentum and Nesterov against the trace formulas', () => {
  const lr = 0.1, mu = 0.9;
  const plain = refLoop(GRADS, (g) => -f32(lr) * g);
  assertSteps(run(O.sgd(lr)).params, plain.params, 'sgd');
  const heavy = refLoop(refMomentum(GRADS, mu, false), (d) => -f32(lr) * d);
  const gotHeavy = run(O.sgd(lr, { momentum: mu }));
  assertSteps(gotHeavy.updates, heavy.updates, 'sgd momentum updates');
  assertSteps(gotHeavy.params, heavy.params, 'sgd momentum params');
  const nest = refLoop(refMomentum(GRADS, mu, true), (d) => -f32(lr) * d);
  assertSteps(run(O.sgd(lr, { momentum: mu, nesterov: true })).updates, nest.updates, 'sgd nesterov updates');
});

// ------------------------------------------------------------------ clipping

test('clipByGlobalNorm: rescales to maxNorm above it, identity below', () => {
  const norms = GRADS.map(globalNormRef);
  const maxNorm = 3;
  assert.ok(norms.some((n) => n > maxNorm) && norms.some((n) => n < maxNorm), `the fixed gradients straddle maxNorm: ${norms.map((n) => n.toFixed(3))}`);
  const r = run(O.clipByGlobalNorm(maxNorm));
  r.updates.forEach((u, t) => {
    const want = norms[t] < maxNorm ? GRADS[t] : mapL((g) => (g / norms[t]) * maxNorm, GRADS[t]);
    want.forEach((leaf, j) => assertClose(u[j], leaf, TOL, `step ${t + 1} leaf ${j}`));
    if (norms[t] < maxNorm) assert.equal(u, GRADS[t], 'unchanged bit for bit below maxNorm');
    else assert.ok(Math.abs(globalNormRef(u) - maxNorm) < 1e-5, 'clipped norm is maxNorm');
  });
  const g = O.globalNorm(build(GRADS[0]));
  assert.ok(Math.abs(g.item() as number - norms[0]) < 1e-6 * norms[0]);
});

test('chain(clipByGlobalNorm, sgd momentum): clipping feeds the momentum', () => {
  const maxNorm = 3, lr = 0.1, mu = 0.9;
  const clipped = GRADS.map((g) => {
    const n = globalNormRef(g);
    return n < maxNorm ? g : mapL((x) => (x / n) * maxNorm, g);
  });
  const want = refLoop(refMomentum(clipped, mu, false), (d) => -f32(lr) * d);
  assertSteps(run(O.chain(O.clipByGlobalNorm(maxNorm), O.sgd(lr, { momentum: mu }))).params, want.params, 'clip + sgd');
});

// ------------------------------------------------------------------ schedules

const STEPS = Array.from({ length: 14 }, (_, i) => i);

/** The schedule at every step of STEPS, as an int32 count, as a JS number and under jit. */
function checkSchedule(name: string, s: S.Schedule, ref: (t: number) => number): void {
  const want = STEPS.map(ref);
  const sj = jit((t: VArray) => s(t));
  assertClose(STEPS.map((t) => s(np.array(t, 'int32')).item() as number), want, TOL, `${name} (int32 count)`);
  assertClose(STEPS.map((t) => s(t).item() as number), want, TOL, `${name} (JS number)`);
  assertClose(STEPS.map((t) => sj(np.array(t, 'int32')).item() as number), want, TOL, `${name} (jit)`);
  assert.is(s(0).dtype, 'float32');
  assert.equal(s(0).shape, []);
}

test('constant and linear schedules (optax.polynomial_schedule with power 1)', () => {
  checkSchedule('constant', S.constantSchedule(0.3), () => f32(0.3));
  const lin = (init: number, end: number, steps: number, begin: number) => (t: number) => (init - end) * (1 - Math.min(Math.max(t - begin, 0), steps) / steps) + end;
  checkSchedule('linear', S.linearSchedule({ initValue: 1, endValue: 0.1, transitionSteps: 8, transitionBegin: 3 }), lin(1, 0.1, 8, 3));
  checkSchedule('linear (no transition: constant)', S.linearSchedule({ initValue: 0.5, endValue: 0.1, transitionSteps: 0 }), () => 0.5);
  checkSchedule('polynomial power 2', S.polynomialSchedule({ initValue: 2, endValue: 0, transitionSteps: 10, power: 2 }), (t) => 2 * (1 - Math.min(t, 10) / 10) ** 2);
  checkSchedule('linearWarmup', S.linearWarmup({ peakValue: 1e-3, warmupSteps: 5 }), (t) => 1e-3 * Math.min(t, 5) / 5);
});

test('cosine decay, warm-up + cosine decay and piecewise constant schedules', () => {
  const cos = (init: number, steps: number, alpha: number) => (t: number) => init * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * Math.min(t, steps)) / steps)) + alpha);
  checkSchedule('cosineDecay', S.cosineDecaySchedule({ initValue: 0.5, decaySteps: 10, alpha: 0.1 }), cos(0.5, 10, 0.1));
  const warm = (t: number) => (t < 4 ? 0.01 + (1 - 0.01) * (t / 4) : cos(1, 8, 0.05)(t - 4));
  checkSchedule('warmupCosineDecay', S.warmupCosineDecaySchedule({ initValue: 0.01, peakValue: 1, warmupSteps: 4, decaySteps: 12, endValue: 0.05 }), warm);
  // Scales apply from the boundary on (step ≥ boundary), cumulatively.
  const pw = (t: number) => 2 * (t >= 3 ? 0.5 : 1) * (t >= 7 ? 0.1 : 1);
  checkSchedule('piecewiseConstant (object)', S.piecewiseConstantSchedule(2, { 7: 0.1, 3: 0.5 }), pw);
  checkSchedule('piecewiseConstant (pairs)', S.piecewiseConstantSchedule(2, [[3, 0.5], [7, 0.1]]), pw);
});

test('a schedule as the learning rate is evaluated at the count before each step (0, 1, 2, ...)', () => {
  const sched = S.linearSchedule({ initValue: 0.1, endValue: 0, transitionSteps: 5 });
  const want = refLoop(refAdam(GRADS), (d) => d).updates.map((u, t) => mapL((x) => -x * (0.1 * (1 - Math.min(t, 5) / 5)), u));
  const got = run(O.adam(sched));
  assertSteps(got.updates, want, 'adam with a linear schedule', { rtol: 1e-6, atol: 1e-7 });
  assert.is((got.state[1] as O.ScaleByScheduleState).count.item(), 6);
});

// ------------------------------------------------------------------ EMA

test('ema transformation: debiased and raw moving averages of the updates', () => {
  const decay = 0.8, [d, c] = decayConsts(decay);
  let e = zeros();
  const raw = GRADS.map((g) => (e = mapL((gi, ei) => d * ei + c * gi, g, e)));
  assertSteps(run(O.ema(decay, { debias: false })).updates, raw, 'ema raw', AVG_TOL);
  assertSteps(run(O.ema(decay)).updates, raw.map((r, t) => mapL((x) => x / biasCorrection(d, t + 1), r)), 'ema debiased', AVG_TOL);
});

test('emaInit / emaUpdate: a parameter EMA starting at the parameters', () => {
  const seq = [P0, ...GRADS];
  let e = O.emaInit(build(P0));
  assert.equal(leavesOf(e as Tree), P0);
  let want = P0;
  const [d, c] = decayConsts(0.9);
  const step = jit((a: Tree, p: Tree) => O.emaUpdate(a, p, 0.9));
  for (const p of seq.slice(1)) {
    e = step(e as Tree, build(p));
    want = mapL((wi, pi) => d * wi + c * pi, want, p);
  }
  leavesOf(e as Tree).forEach((leaf, j) => assertClose(leaf, want[j], AVG_TOL, `ema leaf ${j}`));
  // An array decay (e.g. a warm-up of the decay) works too.
  const e2 = O.emaUpdate(build(P0), build(GRADS[0]), np.array(0.25));
  leavesOf(e2 as Tree).forEach((leaf, j) => assertClose(leaf, mapL((a, b) => 0.25 * a + 0.75 * b, P0, GRADS[0])[j], TOL, `array decay leaf ${j}`));
});

// ------------------------------------------------------------------ gradient accumulation

test('multiSteps(adam, 3): zeros for two calls, then Adam on the mean of the three gradients', () => {
  const k = 3, lr = 0.05;
  const grads = [...GRADS, ...GRADS.slice(0, 3)]; // 9 calls, 3 inner updates
  const means = [0, 1, 2].map((m) => mapL((a, b, c) => (a + b + c) / 3, grads[3 * m], grads[3 * m + 1], grads[3 * m + 2]));
  const inner = refAdam(means).map((u) => mapL((x) => -f32(lr) * x, u));
  const want = grads.map((_, t) => ((t + 1) % k === 0 ? inner[(t + 1) / k - 1] : zeros()));
  for (const jitted of [false, true]) {
    const tx = O.multiSteps(O.adam(lr), k);
    const r = run(tx, grads, jitted);
    assertSteps(r.updates, want, `multiSteps${jitted ? ' (jit)' : ''}`, { rtol: 2e-6, atol: 1e-8 });
    assert.is(r.state.gradientStep.item(), 3);
    assert.is(r.state.miniStep.item(), 0);
    assert.is(O.multiStepsHasUpdated(r.state).item(), true);
    const [scaleState] = r.state.inner;
    assert.is((scaleState as O.ScaleByAdamState).count.item(), 3, 'the inner optimizer stepped once per 3 calls');
  }
  // After one call: nothing applied yet, the accumulator holds that gradient.
  const tx = O.multiSteps(O.sgd(1), 2);
  const [u, s] = tx.update(build(GRADS[0]), tx.init(build(P0)), build(P0));
  assert.ok(tree.leaves(u).every((x) => (x.dataSync() as Float32Array).every((v) => v === 0)));
  assert.is(O.multiStepsHasUpdated(s).item(), false);
  assert.equal(leavesOf(s.accGrads as Tree), GRADS[0]);
});

// ------------------------------------------------------------------ jit

test('jit of a full update step (clip, masked AdamW, warm-up cosine schedule) equals eager', () => {
  const sched = S.warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.1, warmupSteps: 2, decaySteps: 6 });
  const make = () => O.chain(O.clipByGlobalNorm(2), O.adamw(sched, { weightDecay: 0.05, mask: { dense: { b: false, w: true }, gain: true } }));
  const eager = run(make());
  const jitted = run(make(), GRADS, true);
  assertSteps(jitted.params, eager.params, 'jit vs eager params', { rtol: 1e-6, atol: 1e-7 });
  assertSteps(jitted.updates, eager.updates, 'jit vs eager updates', { rtol: 1e-6, atol: 1e-8 });
  assert.equal(tree.structure(jitted.state).toString(), tree.structure(eager.state).toString());
});

// ------------------------------------------------------------------ errors

test('mismatched trees and shapes are errors naming the transformation and the leaf', () => {
  const p = build(P0);
  const opt = O.adam(0.1);
  const s = opt.init(p);
  assertThrows(() => opt.update({ dense: { b: np.zeros([2]) } }, s, p), ValueError, /scaleByAdam\.update/, /structure/);
  const wrongShape = { dense: { b: np.zeros([2]), w: np.zeros([2, 3]) }, gain: np.zeros([4]) };
  assertThrows(() => opt.update(wrongShape, s, p), ShapeError, /scaleByAdam\.update/, /\['dense'\]\['w'\]/, /\[2,3\]/, /\[3,2\]/);
  assertThrows(() => opt.update(build(GRADS[0]), [s[0]] as never, p), ValueError, /chain\.update: expected a state list of 2 entries/);
  assertThrows(() => O.applyUpdates(p, { dense: { b: np.zeros([2]), w: np.zeros([3, 2]) } }), ValueError, /applyUpdates/);
  assertThrows(() => O.applyUpdates(p, wrongShape), ShapeError, /applyUpdates.*\['dense'\]\['w'\]/);
  const w = O.adamw(0.1);
  assertThrows(() => w.update(build(GRADS[0]), w.init(p)), ValueError, /addDecayedWeights\.update: .*needs the parameters/);
  assertThrows(() => O.adamw(0.1, { mask: { dense: true, gain: false } }).init(p), ValueError, /masked\.init: the mask has structure/);
  assertThrows(() => O.masked(O.scale(2), { dense: { b: 1, w: true }, gain: false } as never).init(p), ValueError, /mask leaf \['dense'\]\['b'\] is 1/);
});

test('invalid hyper-parameters are rejected when the transformation is built', () => {
  assertThrows(() => O.scaleByAdam({ b1: 1 }), ValueError, /scaleByAdam: b1 must be in \[0, 1\), got 1/);
  assertThrows(() => O.adam(NaN), ValueError, /scaleByLearningRate: learningRate/);
  assertThrows(() => O.clipByGlobalNorm(0), ValueError, /clipByGlobalNorm: maxNorm must be positive/);
  assertThrows(() => O.multiSteps(O.sgd(1), 0), ValueError, /multiSteps: everyK must be a positive integer, got 0/);
  assertThrows(() => O.multiSteps(O.sgd(1), 1.5), ValueError, /everyK/);
  assertThrows(() => O.ema(1.5), ValueError, /ema: decay/);
  assertThrows(() => S.cosineDecaySchedule({ initValue: 1, decaySteps: 0 }), ValueError, /cosineDecaySchedule: decaySteps must be positive/);
  assertThrows(() => S.warmupCosineDecaySchedule({ initValue: 0, peakValue: 1, warmupSteps: 5, decaySteps: 5 }), ValueError, /decaySteps \(5\) must exceed warmupSteps \(5\)/);
  assertThrows(() => S.piecewiseConstantSchedule(1, { 10: -0.5 }), ValueError, /piecewiseConstantSchedule: scales must be non-negative/);
  assertThrows(() => S.joinSchedules([S.constantSchedule(1)], [3]), ValueError, /joinSchedules: expected 2 schedules for 1 boundaries/);
});

test.run();
