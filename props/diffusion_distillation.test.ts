/**
 * Laws of the distillation targets and of noise conditioning augmentation
 * (src/diffusion/distillation.ts, src/diffusion/conditioning.ts), for random data, random
 * log-SNR triples and a random nonlinear teacher x̂(z, λ) = tanh(W₂·tanh(W₁z + λb) + c):
 *
 * - PD Algorithm 2: one student DDIM step t → t″ with x̂ = x̃ lands on the teacher's z_t″
 *   (computed here by hand from the teacher's two DDIM steps); at the last step x̃ is the
 *   teacher's x̂(z_t′), and so is the plain formula when σ_t″ = 0; a teacher that always
 *   predicts the same x gives x̃ = x;
 * - ε̃ and ṽ are x̃'s forms: z = α x̃ + σ ε̃, ṽ = α ε̃ − σ x̃, and the v conversions give back x̃, ε̃;
 * - the stochastic sampler's target: a student step t → t − 2/N lands on the teacher's two
 *   1/N steps, and where t = 1/N a step t → t − 1/N lands on the teacher's one step;
 * - guided distillation: w = 0 is the conditional teacher, x-space and ε-space guidance agree,
 *   stage 2 is PD of the w-conditioned teacher;
 * - conditioning augmentation: z = α(λ)x + σ(λ)ξ with the returned λ and ξ, ε recovered from
 *   (z, x, λ) is ξ, the level is shared or per example as asked and lies in its range, and the
 *   noise scale matches σ(λ) statistically;
 * - every function gives the same values under `jit` and `vmap` as eagerly, and the student
 *   loss's gradient reaches the student only.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grad, jit, np, random, vmap, type Array as VArray } from '../src/index.js';
import { augmentConditioning } from '../src/diffusion/conditioning.js';
import {
  distillationTarget,
  guidedDistillationTarget,
  guidedTeacher,
  invertDdimStep,
  sampleGuidanceWeights,
  stochasticSamplerTarget,
  studentLoss,
  wEmbedding,
  withGuidanceWeight,
  type GuidedDenoiser,
} from '../src/diffusion/distillation.js';
import { epsFromX, epsFromV, xFromV, type Denoiser } from '../src/diffusion/parameterization.js';
import { broadcastLogSnr, linearLogSnr } from '../src/diffusion/schedules.js';
import { assertClose, lcg, scaledTol, type Tolerance } from '../test/helpers.js';
import { propsOptions } from './options.js';

const TOL = scaledTol(2e-5);
const SAME: Tolerance = { rtol: 1e-5, atol: 1e-5 };

// ---------------------------------------------------------------- random data and teachers

const randArray = (r: () => number, shape: number[], scale = 1): VArray =>
  np.reshape(np.array(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r() * 2 - 1) * scale * Math.sqrt(3))), shape);

interface Mlp {
  W1: VArray;
  b: VArray;
  W2: VArray;
  c: VArray;
}

const mlp = (r: () => number, d: number): Mlp => ({
  W1: randArray(r, [d, d], 1.5 / Math.sqrt(d)),
  b: randArray(r, [d], 0.1),
  W2: randArray(r, [d, d], 1.2 / Math.sqrt(d)),
  c: randArray(r, [d], 0.3),
});

/** x̂(z, λ) = tanh(W₂·tanh(W₁z + λb) + c) over the last axis; λ scalar or per example. */
const teacherOf =
  (p: Mlp): Denoiser =>
  (z, l) =>
    np.tanh(np.add(np.matmul(np.tanh(np.add(np.matmul(z, np.transpose(p.W1)), np.mul(broadcastLogSnr('teacher', l, z), p.b))), np.transpose(p.W2)), p.c));

/** A w-conditioned model: the MLP with w fed next to λ. */
const guidedModelOf =
  (p: Mlp, q: VArray): GuidedDenoiser =>
  (z, l, w) =>
    np.add(teacherOf(p)(z, l), np.mul(broadcastLogSnr('model', w, z), q));

/** α, σ of λ as plain numbers (float64), for the hand-written teacher trajectory. */
const ab = (l: number): [number, number] => [Math.sqrt(1 / (1 + Math.exp(-l))), Math.sqrt(1 / (1 + Math.exp(l)))];

/** Per-example sorted log-SNRs λ_t < λ_mid < λ_s with gaps in [0.05, 4]. */
function logSnrTriples(r: () => number, n: number, lo = -12, hi = 8): [number[], number[], number[]] {
  const t = Array.from({ length: n }, () => lo + (hi - lo) * r());
  const mid = t.map((v) => v + 0.05 + 3.95 * r());
  const s = mid.map((v) => v + 0.05 + 3.95 * r());
  return [t, mid, s];
}

const vec = (xs: number[]): VArray => np.array(Float32Array.from(xs));
const f32 = (xs: number[]): number[] => Array.from(Float32Array.from(xs));

/** The teacher's DDIM step by hand: z_s = α_s x̂ + σ_s (z − α_t x̂)/σ_t, per example over rows of (n, d) data. */
function ddimRows(z: ArrayLike<number>, xHat: ArrayLike<number>, lt: number[], ls: number[], d: number): number[] {
  return Array.from(z, (zi, k) => {
    const e = Math.floor(k / d);
    const [at, st] = ab(lt[e]);
    const [as, ss] = ab(ls[e]);
    return as * xHat[k] + (ss * (zi - at * xHat[k])) / st;
  });
}

/** Values of `f` applied to each row i of the inputs, stacked (the vmap reference). */
function rows(n: number, f: (i: number) => VArray): number[] {
  return Array.from({ length: n }, (_, i) => Array.from(f(i).dataSync())).flat();
}

const row = (x: VArray, i: number): VArray => x.slice(i);

/**
 * `got` ≈ `want` for an x recovered by inverting a DDIM step λ_t → λ_s of (n, d) data: the
 * float32 rounding of the O(1) numerator z_s − r z_t is divided by α_s − r α_t (r = σ_s/σ_t),
 * which is small for small steps at low SNR (PD §4's 1/α amplification), so the allowance is
 * 2e-5 + 1e-6/(α_s − r α_t) per example.
 */
function assertInverted(got: VArray, want: VArray, lt: number[], ls: number[], what: string): void {
  const g = got.dataSync();
  const w = want.dataSync();
  const d = w.length / lt.length;
  lt.forEach((l, e) => {
    const [at, st] = ab(l);
    const [as, ss] = ab(ls[e]);
    const allowed = 2e-5 + 1e-6 / (as - (ss / st) * at);
    for (let k = e * d; k < (e + 1) * d; k++) assert.ok(Math.abs(g[k] - w[k]) <= allowed, `${what}: example ${e} (λ ${l} → ${ls[e]}), |${g[k]} − ${w[k]}| > ${allowed}`);
  });
}

// ---------------------------------------------------------------- PD Algorithm 2

test('PD target: one student DDIM step with x̂ = x̃ lands on the teacher\'s z_t″', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), (seed, n, d) => {
      const r = lcg(seed);
      const p = mlp(r, d);
      const z = randArray(r, [n, d]);
      const [lt, lm, ls] = logSnrTriples(r, n).map(f32);
      const teacher = teacherOf(p);
      const { x } = distillationTarget({ z, logSnrT: vec(lt), logSnrMid: vec(lm), logSnrS: vec(ls), teacher });
      // The teacher's two steps, by hand.
      const x1 = teacher(z, vec(lt)).dataSync();
      const zMid = ddimRows(z.dataSync(), x1, lt, lm, d);
      const x2 = teacher(np.reshape(vec(zMid), [n, d]), vec(lm)).dataSync();
      const zS = ddimRows(zMid, x2, lm, ls, d);
      // The student's single step t → t″ with x̃.
      const lands = ddimRows(z.dataSync(), x.dataSync(), lt, ls, d);
      assertClose(lands, zS, TOL, 'student step vs teacher z_t″');
    }),
    propsOptions(60),
  );
});

test('PD target: the last step is the teacher\'s x̂(z_t′); with σ_t″ = 0 the formula gives it too', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 2, max: 5 }), (seed, n) => {
      const r = lcg(seed);
      const d = 4;
      const p = mlp(r, d);
      const teacher = teacherOf(p);
      const z = randArray(r, [n, d]);
      const [lt, lm] = logSnrTriples(r, n, -20, 5).map(f32);
      const last = Array.from({ length: n }, (_, i) => i % 2 === 0);
      const lsClipped = vec(lt.map(() => 20));
      const got = distillationTarget({ z, logSnrT: vec(lt), logSnrMid: vec(lm), logSnrS: lsClipped, teacher, lastStep: np.array(last) });
      const zMid = ddimRows(z.dataSync(), teacher(z, vec(lt)).dataSync(), lt, lm, d);
      const xMid = Array.from(teacher(np.reshape(vec(zMid), [n, d]), vec(lm)).dataSync());
      const gx = Array.from(got.x.dataSync());
      const at = (k: number) => last[Math.floor(k / d)];
      assertClose(gx.filter((_, k) => at(k)), xMid.filter((_, k) => at(k)), TOL, 'last-step rows are x̂(z_t′)');
      // Rows that are not last use the inversion (λ_s = 20 ≠ the end of the schedule): different.
      const unmasked = distillationTarget({ z, logSnrT: vec(lt), logSnrMid: vec(lm), logSnrS: lsClipped, teacher });
      assertClose(gx.filter((_, k) => !at(k)), Array.from(unmasked.x.dataSync()).filter((_, k) => !at(k)), SAME, 'other rows unchanged');
      // σ_t″ = 0 exactly (λ = +∞): the formula itself is x̂(z_t′), no mask needed.
      const inf = distillationTarget({ z, logSnrT: vec(lt), logSnrMid: vec(lm), logSnrS: Infinity, teacher });
      assertClose(inf.x.dataSync(), xMid, TOL, 'σ_t″ = 0');
    }),
    propsOptions(30),
  );
});

test('PD target: a teacher that always predicts x gives x̃ = x', () => {
  fc.assert(
    fc.property(fc.integer(), (seed) => {
      const r = lcg(seed);
      const x = randArray(r, [3, 5]);
      const z = randArray(r, [3, 5]);
      const [lt, lm, ls] = logSnrTriples(r, 3).map(f32);
      const got = distillationTarget({ z, logSnrT: vec(lt), logSnrMid: vec(lm), logSnrS: vec(ls), teacher: () => x });
      assertInverted(got.x, x, lt, ls, 'x̃ = x');
    }),
    propsOptions(40),
  );
});

test('PD target: ε̃ and ṽ are the forms of x̃ at (z_t, λ_t)', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 1, max: 4 }), (seed, n) => {
      const r = lcg(seed);
      const d = 5;
      const z = randArray(r, [n, 2, d]);
      const [lt, lm, ls] = logSnrTriples(r, n).map(f32);
      const { x, eps, v } = distillationTarget({ z, logSnrT: vec(lt), logSnrMid: vec(lm), logSnrS: vec(ls), teacher: teacherOf(mlp(r, d)) });
      const l = broadcastLogSnr('test', vec(lt), z);
      const alpha = np.sqrt(np.sigmoid(l));
      const sigma = np.sqrt(np.sigmoid(np.neg(l)));
      assertClose(np.add(np.mul(alpha, x), np.mul(sigma, eps)).dataSync(), z.dataSync(), TOL, 'z = α x̃ + σ ε̃');
      assertClose(v.dataSync(), np.sub(np.mul(alpha, eps), np.mul(sigma, x)).dataSync(), TOL, 'ṽ = α ε̃ − σ x̃');
      assertClose(xFromV(z, v, vec(lt)).dataSync(), x.dataSync(), TOL, 'x(z, ṽ) = x̃');
      assertClose(epsFromV(z, v, vec(lt)).dataSync(), eps.dataSync(), TOL, 'ε(z, ṽ) = ε̃');
      // The rotation [z; v] = R(φ)[x; ε] preserves the norm.
      const n2 = (a: VArray) => np.sum(np.square(a)).dataSync()[0];
      assertClose([n2(z) + n2(v)], [n2(x) + n2(eps)], scaledTol(1e-4), '‖z‖² + ‖ṽ‖² = ‖x̃‖² + ‖ε̃‖²');
    }),
    propsOptions(40),
  );
});

test('invertDdimStep inverts the DDIM step for any x̂', () => {
  fc.assert(
    fc.property(fc.integer(), (seed) => {
      const r = lcg(seed);
      const z = randArray(r, [4, 3]);
      const xHat = randArray(r, [4, 3]);
      const [lt, , ls] = logSnrTriples(r, 4).map(f32);
      const zS = np.reshape(vec(ddimRows(z.dataSync(), xHat.dataSync(), lt, ls, 3)), [4, 3]);
      assertInverted(invertDdimStep({ z, zS, logSnrT: vec(lt), logSnrS: vec(ls) }), xHat, lt, ls, 'x̂ back');
    }),
    propsOptions(40),
  );
});

// ---------------------------------------------------------------- stochastic sampler target

test('stochastic-sampler target: a 2/N student step lands on the teacher\'s two 1/N steps; t = 1/N takes one', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 2, max: 5 }), (seed, n) => {
      const r = lcg(seed);
      const d = 4;
      const teacher = teacherOf(mlp(r, d));
      const z = randArray(r, [n, d]);
      const [lt, lm, ls] = logSnrTriples(r, n).map(f32);
      const single = Array.from({ length: n }, (_, i) => i === 0);
      const { x } = stochasticSamplerTarget({ z, logSnrT: vec(lt), logSnrMid: vec(lm), logSnrS: vec(ls), teacher, singleStep: np.array(single) });
      const zMid = ddimRows(z.dataSync(), teacher(z, vec(lt)).dataSync(), lt, lm, d);
      const zS = ddimRows(zMid, teacher(np.reshape(vec(zMid), [n, d]), vec(lm)).dataSync(), lm, ls, d);
      const landsS = ddimRows(z.dataSync(), x.dataSync(), lt, ls, d);
      const landsMid = ddimRows(z.dataSync(), x.dataSync(), lt, lm, d);
      const one = (k: number) => single[Math.floor(k / d)];
      assertClose(landsMid.filter((_, k) => one(k)), zMid.filter((_, k) => one(k)), TOL, 'single step lands on z_{t−1/N}');
      assertClose(landsS.filter((_, k) => !one(k)), zS.filter((_, k) => !one(k)), TOL, 'double step lands on z_{t−2/N}');
    }),
    propsOptions(40),
  );
});

// ---------------------------------------------------------------- guided distillation

test('guided distillation: w = 0 is the conditional teacher; x- and ε-space guidance agree', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 1, max: 4 }), (seed, n) => {
      const r = lcg(seed);
      const d = 5;
      const cond = teacherOf(mlp(r, d));
      const uncond = teacherOf(mlp(r, d));
      const z = randArray(r, [n, d]);
      const l = vec(f32(Array.from({ length: n }, () => -8 + 14 * r())));
      const w = vec(f32(Array.from({ length: n }, () => 4 * r())));
      assertClose(guidedTeacher(cond, uncond, 0)(z, l).dataSync(), cond(z, l).dataSync(), SAME, 'w = 0');
      const got = guidedDistillationTarget({ z, logSnr: l, w, teacherCond: cond, teacherUncond: uncond });
      const ww = np.reshape(w, [n, 1]);
      const epsGuided = np.sub(np.mul(np.add(ww, 1), epsFromX(z, cond(z, l), l)), np.mul(ww, epsFromX(z, uncond(z, l), l)));
      assertClose(got.eps.dataSync(), epsGuided.dataSync(), scaledTol(1e-4), 'ε̃ = (1+w)ε_c − w ε_u');
      const xGuided = np.sub(np.mul(np.add(ww, 1), cond(z, l)), np.mul(ww, uncond(z, l)));
      assertClose(got.x.dataSync(), xGuided.dataSync(), SAME, 'x̃ = (1+w)x̂_c − w x̂_u');
    }),
    propsOptions(40),
  );
});

test('guided distillation stage 2 is PD of the w-conditioned teacher, per example', () => {
  const r = lcg(7);
  const d = 4;
  const n = 3;
  const model = guidedModelOf(mlp(r, d), randArray(r, [d], 0.2));
  const z = randArray(r, [n, d]);
  const [lt, lm, ls] = logSnrTriples(r, n).map(f32);
  const w = sampleGuidanceWeights(random.key(3), n);
  const wv = Array.from(w.dataSync());
  assert.ok(wv.every((v) => v >= 0 && v < 4), 'w ∈ [0, 4)');
  const batched = distillationTarget({ z, logSnrT: vec(lt), logSnrMid: vec(lm), logSnrS: vec(ls), teacher: withGuidanceWeight(model, w) });
  const each = rows(n, (i) =>
    distillationTarget({ z: row(z, i), logSnrT: lt[i], logSnrMid: lm[i], logSnrS: ls[i], teacher: withGuidanceWeight(model, wv[i]) }).x,
  );
  assertClose(batched.x.dataSync(), each, SAME, 'per-example w');
  const emb = wEmbedding(w, 8);
  assert.equal([...emb.shape], [n, 8]);
});

// ---------------------------------------------------------------- student loss

test('student loss: truncated-SNR weighting by default; the gradient reaches the student only', () => {
  const r = lcg(11);
  const d = 4;
  const n = 4;
  const pt = mlp(r, d);
  const ps = mlp(r, d);
  const z = randArray(r, [n, d]);
  const lt = f32([-6, -1, 0.5, 4]);
  const lm = lt.map((v) => v + 1);
  const ls = lt.map((v) => v + 2);
  const target = distillationTarget({ z, logSnrT: vec(lt), logSnrMid: vec(lm), logSnrS: vec(ls), teacher: teacherOf(pt) });
  const per = studentLoss({ student: teacherOf(ps), z, logSnr: vec(lt), target, reduction: 'perExample' });
  const xs = teacherOf(ps)(z, vec(lt)).dataSync();
  const tx = target.x.dataSync();
  const want = lt.map((l, e) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += (xs[e * d + k] - tx[e * d + k]) ** 2;
    return Math.max(Math.exp(l), 1) * (s / d);
  });
  assertClose(per.dataSync(), want, scaledTol(1e-4), 'max(SNR, 1)·‖x̂ − x̃‖²');
  // Gradients: through the student's parameters only; the target is a constant.
  const lossOf = (student: Mlp, teacher: Mlp): VArray => {
    const t = distillationTarget({ z, logSnrT: vec(lt), logSnrMid: vec(lm), logSnrS: vec(ls), teacher: teacherOf(teacher) });
    return studentLoss({ student: teacherOf(student), z, logSnr: vec(lt), target: t });
  };
  const gTeacher = grad((p: Mlp) => lossOf(ps, p))(pt);
  for (const leaf of Object.values(gTeacher)) assert.ok(Array.from((leaf as VArray).dataSync()).every((v) => v === 0), 'no gradient into the teacher');
  const gStudent = grad((p: Mlp) => lossOf(p, pt))(ps);
  // Central difference along a random direction.
  const dir = mlp(lcg(5), d);
  const h = 1e-2;
  const shift = (s: number): Mlp => ({ W1: np.add(ps.W1, np.mul(dir.W1, s)), b: np.add(ps.b, np.mul(dir.b, s)), W2: np.add(ps.W2, np.mul(dir.W2, s)), c: np.add(ps.c, np.mul(dir.c, s)) });
  const fd = (lossOf(shift(h), pt).dataSync()[0] - lossOf(shift(-h), pt).dataSync()[0]) / (2 * h);
  const dot = (['W1', 'b', 'W2', 'c'] as const).reduce((acc, k) => acc + np.sum(np.mul(gStudent[k], dir[k])).dataSync()[0], 0);
  assertClose([dot], [fd], scaledTol(2e-2), '⟨∇, u⟩ vs central difference');
});

// ---------------------------------------------------------------- conditioning augmentation

test('augmentation: the returned λ and ξ are what was applied; ε from (z, x, λ) is ξ', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean(), fc.boolean(), (seed, perSample, useSchedule) => {
      const r = lcg(seed);
      const x = randArray(r, [6, 2, 3]);
      const key = random.key(seed);
      const out = useSchedule
        ? augmentConditioning({ x, key, train: true, schedule: linearLogSnr(), timeRange: [0.1, 0.9], perSample })
        : augmentConditioning({ x, key, train: true, logSnrRange: [-4, 6], perSample });
      assert.equal([...out.logSnr.shape], [6]);
      const l = Array.from(out.logSnr.dataSync());
      const [lo, hi] = useSchedule ? [linearLogSnr().logSnr(0.9).dataSync()[0], linearLogSnr().logSnr(0.1).dataSync()[0]] : [-4, 6];
      assert.ok(l.every((v) => v >= lo - 1e-5 && v <= hi + 1e-5), `λ in [${lo}, ${hi}]: ${l}`);
      if (perSample) assert.ok(new Set(l).size > 1, 'per-example levels differ');
      else assert.ok(new Set(l).size === 1, 'one level for the batch');
      const lb = broadcastLogSnr('test', out.logSnr, x);
      const applied = np.add(np.mul(np.sqrt(np.sigmoid(lb)), x), np.mul(np.sqrt(np.sigmoid(np.neg(lb))), out.noise));
      assertClose(out.z.dataSync(), applied.dataSync(), SAME, 'z = α x + σ ξ');
      assertClose(epsFromX(out.z, x, out.logSnr).dataSync(), out.noise.dataSync(), scaledTol(1e-3), 'recovered ε = ξ');
    }),
    propsOptions(30),
  );
});

test('augmentation: the noise scale matches σ(λ) and the signal scale α(λ) (statistics)', () => {
  const n = 4;
  const x = np.reshape(np.tile(np.array(Float32Array.from([1, -1])), [n * 2048]), [n, 4096]);
  for (const logSnr of [-2, Math.log(3), 3]) {
    const { z } = augmentConditioning({ x, key: random.key(logSnr > 0 ? 1 : 2), train: false, logSnr });
    const alpha = Math.sqrt(1 / (1 + Math.exp(-logSnr)));
    const sigma = Math.sqrt(1 / (1 + Math.exp(logSnr)));
    const zv = z.dataSync();
    const xv = x.dataSync();
    let zx = 0;
    for (let i = 0; i < zv.length; i++) zx += zv[i] * xv[i];
    const alphaHat = zx / xv.length; // x² = 1
    let res = 0;
    for (let i = 0; i < zv.length; i++) res += (zv[i] - alphaHat * xv[i]) ** 2;
    const sigmaHat = Math.sqrt(res / zv.length);
    assert.ok(Math.abs(alphaHat - alpha) < 0.02, `α̂ ${alphaHat} vs α ${alpha} at λ = ${logSnr}`);
    assert.ok(Math.abs(sigmaHat / sigma - 1) < 0.03, `σ̂ ${sigmaHat} vs σ ${sigma} at λ = ${logSnr}`);
  }
});

test('augmentation at sampling: a fixed level (λ or t), +∞ leaves x unchanged', () => {
  const x = randArray(lcg(3), [3, 4]);
  const a = augmentConditioning({ x, key: random.key(0), train: false, logSnr: Math.log(3) });
  assertClose(a.logSnr.dataSync(), f32([Math.log(3), Math.log(3), Math.log(3)]), SAME, 'λ = log 3');
  const b = augmentConditioning({ x, key: random.key(0), train: false, t: 0.2, schedule: linearLogSnr() });
  assertClose(b.logSnr.dataSync(), Array(3).fill(linearLogSnr().logSnr(0.2).dataSync()[0]), SAME, 'λ = schedule(0.2)');
  const c = augmentConditioning({ x, key: random.key(0), train: false, logSnr: Infinity });
  assertClose(c.z.dataSync(), x.dataSync(), { rtol: 0, atol: 0 }, 'no augmentation at λ = +∞');
});

// ---------------------------------------------------------------- jit and vmap

/** Inputs of a batch of n examples with per-example times and masks. */
function batchCase(seed: number, n: number, d: number) {
  const r = lcg(seed);
  const teacher = teacherOf(mlp(r, d));
  const uncond = teacherOf(mlp(r, d));
  const student = teacherOf(mlp(r, d));
  const z = randArray(r, [n, d]);
  const [lt, lm, ls] = logSnrTriples(r, n).map((a) => vec(f32(a)));
  const mask = np.array(Array.from({ length: n }, (_, i) => i % 2 === 0));
  const w = vec(f32(Array.from({ length: n }, () => 4 * r())));
  return { teacher, uncond, student, z, lt, lm, ls, mask, w };
}

type Fn = (z: VArray, lt: VArray, lm: VArray, ls: VArray, mask: VArray, w: VArray) => VArray[];

function lawsFor(name: string, make: (c: ReturnType<typeof batchCase>) => Fn): void {
  test(`${name}: jit and vmap equal eager`, () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 4 }), (seed, n) => {
        const c = batchCase(seed, n, 3);
        const f = make(c);
        const args = [c.z, c.lt, c.lm, c.ls, c.mask, c.w] as const;
        const eager = f(...args);
        const jitted = jit(f)(...args) as VArray[];
        eager.forEach((e, k) => assertClose(jitted[k].dataSync(), e.dataSync(), SAME, `${name} jit output ${k}`));
        // vmap over examples: each example alone (no batch axis, scalar λ, w and mask).
        const single = (z: VArray, lt: VArray, lm: VArray, ls: VArray, mask: VArray, w: VArray) =>
          f(np.expandDims(z, 0), np.expandDims(lt, 0), np.expandDims(lm, 0), np.expandDims(ls, 0), np.expandDims(mask, 0), np.expandDims(w, 0)).map((o) => np.squeeze(o, 0));
        const mapped = vmap(single)(...args) as VArray[];
        eager.forEach((e, k) => assertClose(mapped[k].dataSync(), e.dataSync(), SAME, `${name} vmap output ${k}`));
      }),
      propsOptions(8),
    );
  });
}

lawsFor('distillationTarget', (c) => (z, lt, lm, ls, mask) => {
  const t = distillationTarget({ z, logSnrT: lt, logSnrMid: lm, logSnrS: ls, teacher: c.teacher, lastStep: mask });
  return [t.x, t.eps, t.v];
});
lawsFor('stochasticSamplerTarget', (c) => (z, lt, lm, ls, mask) => {
  const t = stochasticSamplerTarget({ z, logSnrT: lt, logSnrMid: lm, logSnrS: ls, teacher: c.teacher, singleStep: mask });
  return [t.x, t.eps, t.v];
});
lawsFor('guidedDistillationTarget', (c) => (z, lt, _lm, _ls, _mask, w) => {
  const t = guidedDistillationTarget({ z, logSnr: lt, w, teacherCond: c.teacher, teacherUncond: c.uncond });
  return [t.x, t.eps, t.v];
});
lawsFor('studentLoss', (c) => (z, lt, lm, ls, mask) => {
  const target = distillationTarget({ z, logSnrT: lt, logSnrMid: lm, logSnrS: ls, teacher: c.teacher, lastStep: mask });
  return [studentLoss({ student: c.student, z, logSnr: lt, target, reduction: 'perExample' })];
});
lawsFor('wEmbedding', () => (_z, _lt, _lm, _ls, _mask, w) => [wEmbedding(w, 6)]);

test('augmentConditioning: jit equals eager; vmap over keys equals each call', () => {
  const x = randArray(lcg(9), [3, 2, 4]);
  const keys = random.split(random.key(4), 3);
  const train = (xx: VArray, key: VArray) => {
    const o = augmentConditioning({ x: xx, key, train: true, schedule: linearLogSnr(), perSample: true });
    return [o.z, o.logSnr, o.noise];
  };
  const sampleAt = (xx: VArray, key: VArray) => {
    const o = augmentConditioning({ x: xx, key, train: false, logSnr: 1.5 });
    return [o.z, o.logSnr, o.noise];
  };
  for (const [name, f] of [['train', train], ['sample', sampleAt]] as const) {
    const key = row(keys, 0);
    const eager = f(x, key);
    const jitted = jit(f)(x, key) as VArray[];
    eager.forEach((e, k) => assertClose(jitted[k].dataSync(), e.dataSync(), SAME, `${name} jit output ${k}`));
    const mapped = vmap(f, { inAxes: [null, 0] })(x, keys) as VArray[];
    const each = [0, 1, 2].map((i) => f(x, row(keys, i)));
    mapped.forEach((m, k) => assertClose(m.dataSync(), each.flatMap((e) => Array.from(e[k].dataSync())), SAME, `${name} vmap output ${k}`));
  }
});

test('errors name the function and the argument', () => {
  const z = np.zeros([2, 3]);
  const teacher: Denoiser = () => np.zeros([2, 4]);
  assert.throws(() => distillationTarget({ z, logSnrT: 0, logSnrMid: 1, logSnrS: 2, teacher }), /distillationTarget: teacher returned shape \[2,4\]/);
  assert.throws(
    () => distillationTarget({ z, logSnrT: 0, logSnrMid: 1, logSnrS: 2, teacher: (zz) => zz, lastStep: np.array([true, false, true]) }),
    /distillationTarget: lastStep of shape \[3\]/,
  );
  assert.throws(() => augmentConditioning({ x: z, key: random.key(0), train: true }), /augmentConditioning: training needs exactly one of schedule/);
  assert.throws(() => augmentConditioning({ x: z, key: random.key(0), train: true, schedule: linearLogSnr(), timeRange: [0.5, 0.2] }), /augmentConditioning: timeRange/);
  assert.throws(() => augmentConditioning({ x: z, key: random.key(0), train: false }), /augmentConditioning: sampling needs exactly one of logSnr or t/);
  assert.throws(() => augmentConditioning({ x: z, key: random.key(0), train: false, logSnr: np.zeros([3]) }), /augmentConditioning: the sampling level has shape \[3\]/);
  assert.throws(() => sampleGuidanceWeights(random.key(0), 2, { min: 3, max: 1 }), /sampleGuidanceWeights/);
});

test.run();
