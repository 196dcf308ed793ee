/**
 * Diffusion math against `test/fixtures/diffusion-golden.json`, written by
 * `scripts/golden/generate_diffusion.py` from independent float64 NumPy/SciPy/mpmath
 * implementations: every schedule at a grid of t (endpoints included), each inverse at a grid
 * of λ (reference by root finding), Karras and uniform discretisations, the six x/ε/v
 * conversions, the forward process and posterior, and the loss weights.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jit } from '../src/core/transforms/jit.js';
import * as S from '../src/diffusion/schedules.js';
import * as P from '../src/diffusion/parameterization.js';
import * as F from '../src/diffusion/forward.js';
import * as L from '../src/diffusion/losses.js';
import type { Array as VArray } from '../src/index.js';
import { assertClose, decode, fixtureArray, type GoldenCase, type Tensor } from './helpers.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/diffusion-golden.json', import.meta.url), 'utf8')) as { generator: string; cases: GoldenCase[] };
const cases = fixture.cases;
const byOp = (op: string): GoldenCase[] => cases.filter((c) => c.op === op);
const param = (v: unknown): number => decode(v as number | 'inf' | '-inf');

/** The schedule a case's params describe. */
function scheduleOf(p: Record<string, unknown>): S.Schedule {
  switch (p.schedule) {
    case 'cosine':
      return S.cosineSchedule({ logSnrMin: param(p.logSnrMin), logSnrMax: param(p.logSnrMax) });
    case 'iddpmCosine':
      return S.iddpmCosine({ s: param(p.s), normalized: p.normalized as boolean });
    case 'linearLogSnr':
      return S.linearLogSnr();
    case 'shiftedCosine':
      return S.shiftedCosine({ shift: param(p.shift), logSnrMin: param(p.logSnrMin), logSnrMax: param(p.logSnrMax), preserveBounds: p.preserveBounds as boolean });
    case 'interpolatedCosine':
      return S.interpolatedCosine({
        shiftLow: param(p.shiftLow),
        shiftHigh: param(p.shiftHigh),
        logSnrMin: param(p.logSnrMin),
        logSnrMax: param(p.logSnrMax),
        preserveBounds: p.preserveBounds as boolean,
      });
    case 'vdmLinearGamma':
      return S.vdmLinearGamma({ gammaMin: param(p.gammaMin), gammaMax: param(p.gammaMax) });
  }
  throw new Error(`unknown schedule ${String(p.schedule)}`);
}

function check(c: GoldenCase, got: VArray, expected: Tensor, what = ''): void {
  assert.equal([...got.shape], expected.shape, `${c.name}${what}: shape`);
  assertClose(got.dataSync(), expected.data.map(decode), c.tolerance ?? { rtol: 1e-5, atol: 1e-5 }, `${c.name}${what}`);
}

const named = (c: GoldenCase): Record<string, Tensor> => c.expected as Record<string, Tensor>;

test('the fixture is the one the committed generator writes', () => {
  assert.is(fixture.generator, 'scripts/golden/generate_diffusion.py');
  assert.ok(byOp('schedule_logsnr').length >= 13 && byOp('schedule_t').length >= 13, 'every schedule has forward and inverse cases');
});

test('schedules: λ(t) on a grid of t including both endpoints', () => {
  for (const c of byOp('schedule_logsnr')) check(c, scheduleOf(c.params).logSnr(fixtureArray(c.inputs.t)), c.expected as Tensor);
});

test('schedules: the same λ(t) under jit', () => {
  for (const c of byOp('schedule_logsnr')) {
    const s = scheduleOf(c.params);
    check(c, jit((t: VArray) => s.logSnr(t))(fixtureArray(c.inputs.t)), c.expected as Tensor, ' (jit)');
  }
});

test('schedules: inverse t(λ) against root finding on the float64 schedule', () => {
  for (const c of byOp('schedule_t')) {
    const s = scheduleOf(c.params);
    assert.ok(s.t, `${c.name}: schedule has an inverse`);
    check(c, s.t!(fixtureArray(c.inputs.logSnr)), c.expected as Tensor);
  }
});

test('timesteps: Karras σ-spacing and uniform-in-t discretisations as log-SNRs', () => {
  for (const c of byOp('timesteps')) {
    const p = c.params;
    const got =
      p.kind === 'karras'
        ? S.timesteps(p.n as number, { kind: 'karras', rho: param(p.rho), sigmaMin: param(p.sigmaMin), sigmaMax: param(p.sigmaMax) })
        : S.timesteps(p.n as number, { kind: 'uniform', schedule: scheduleOf(p) });
    check(c, got, c.expected as Tensor);
  }
});

test('conversions among x, ε and v, the velocity target and qSample', () => {
  const [c] = byOp('conversions');
  const [x, eps, z, v, l] = ['x', 'eps', 'z', 'v', 'logSnr'].map((k) => fixtureArray(c.inputs[k]));
  const want = named(c);
  const got: Record<string, VArray> = {
    xFromEps: P.xFromEps(z, eps, l),
    xFromV: P.xFromV(z, v, l),
    epsFromX: P.epsFromX(z, x, l),
    epsFromV: P.epsFromV(z, v, l),
    vFromX: P.vFromX(z, x, l),
    vFromEps: P.vFromEps(z, eps, l),
    velocity: P.velocity(x, eps, l),
    qSample: F.qSample(x, l, eps),
  };
  for (const k of Object.keys(want)) check(c, got[k], want[k], ` ${k}`);
});

test('posterior mean and variance, transition variance, qSampleFromTo (VDM α_{t|s} form)', () => {
  const [c] = byOp('posterior');
  const [zt, x, eps, lt, ls] = ['zt', 'x', 'eps', 'logSnrT', 'logSnrS'].map((k) => fixtureArray(c.inputs[k]));
  const want = named(c);
  const post = F.posterior(zt, x, lt, ls);
  check(c, post.mean, want.mean, ' mean');
  check(c, post.variance.reshape([3]), want.variance, ' variance');
  check(c, F.transitionVariance(lt, ls), want.transitionVariance, ' transitionVariance');
  check(c, F.qSampleFromTo(zt, ls, lt, eps), want.qSampleFromTo, ' qSampleFromTo');
});

test('loss weights on ‖x − x̂‖²', () => {
  const [c] = byOp('loss_weights');
  const l = fixtureArray(c.inputs.logSnr);
  const want = named(c);
  const weightings: Record<string, L.Weighting> = { snr: 'snr', snrPlusOne: 'snrPlusOne', truncatedSnr: 'truncatedSnr', constant: 'constant', minSnr5: L.minSnr(5) };
  for (const [k, w] of Object.entries(weightings)) check(c, L.lossWeight(w, l), want[k], ` ${k}`);
});

test.run();
