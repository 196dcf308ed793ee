/**
 * Golden distillation targets from an independent float64 NumPy implementation
 * (scripts/golden/generate_diffusion_distillation.py → test/fixtures/diffusion-distillation-golden.json):
 * PD Algorithm 2's x̃ with ε̃ and ṽ (per-example and shared times, the last step, the σ = 0 end
 * of an unclipped schedule), Meng et al.'s stochastic-sampler target, guided-distillation
 * stage 1 and the truncated-SNR student loss. The teacher is the fixed analytic denoiser
 * x̂(z, λ) = tanh(z·Wᵀ + λ·b + c) over the last axis. Every case runs eagerly and under `jit`.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jit, np, type Array as VArray } from '../src/index.js';
import { broadcastLogSnr } from '../src/diffusion/schedules.js';
import type { Denoiser } from '../src/diffusion/parameterization.js';
import { distillationTarget, guidedDistillationTarget, stochasticSamplerTarget, studentLoss } from '../src/diffusion/distillation.js';
import { assertClose, decode, fixtureArray, type GoldenCase, type Tensor } from './helpers.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/diffusion-distillation-golden.json', import.meta.url), 'utf8')) as {
  generator: string;
  cases: GoldenCase[];
};

/** The fixture's analytic teacher x̂(z, λ) = tanh(z·Wᵀ + λ·b + c), λ scalar or per example. */
const analyticDenoiser =
  (W: VArray, b: VArray, c: VArray): Denoiser =>
  (z, l) =>
    np.tanh(np.add(np.add(np.matmul(z, np.transpose(W)), np.mul(broadcastLogSnr('teacher', l, z), b)), c));

type Outputs = Record<string, VArray>;
type Run = (inp: Record<string, VArray>) => Outputs;

const RUNS: Record<string, Run> = {
  pd_target: (v) =>
    ({ ...distillationTarget({ z: v.z, logSnrT: v.logSnrT, logSnrMid: v.logSnrMid, logSnrS: v.logSnrS, lastStep: v.lastStep, teacher: analyticDenoiser(v.W, v.b, v.c) }) }),
  stochastic_target: (v) =>
    ({ ...stochasticSamplerTarget({ z: v.z, logSnrT: v.logSnrT, logSnrMid: v.logSnrMid, logSnrS: v.logSnrS, singleStep: v.singleStep, teacher: analyticDenoiser(v.W, v.b, v.c) }) }),
  guided_target: (v) =>
    ({ ...guidedDistillationTarget({ z: v.z, logSnr: v.logSnr, w: v.w, teacherCond: analyticDenoiser(v.Wc, v.bc, v.cc), teacherUncond: analyticDenoiser(v.Wu, v.bu, v.cu) }) }),
  student_loss: (v) => {
    const target = distillationTarget({ z: v.z, logSnrT: v.logSnrT, logSnrMid: v.logSnrMid, logSnrS: v.logSnrS, lastStep: v.lastStep, teacher: analyticDenoiser(v.W, v.b, v.c) });
    return { loss: studentLoss({ student: analyticDenoiser(v.Ws, v.bs, v.cs), z: v.z, logSnr: v.logSnrT, target, reduction: 'perExample' }) };
  },
};

function check(c: GoldenCase, got: Outputs, how: string): void {
  const expected = c.expected as Record<string, Tensor>;
  const tol = c.tolerance ?? { rtol: 1e-5, atol: 1e-5 };
  for (const [name, want] of Object.entries(expected)) {
    assert.ok(got[name] !== undefined, `${c.name} (${how}): no output ${name}`);
    assert.equal([...got[name].shape], want.shape, `${c.name} (${how}): ${name} shape`);
    assertClose(got[name].dataSync(), want.data.map(decode), { ...tol, combine: 'max' }, `${c.name} (${how}): ${name}`);
  }
}

test('the fixture covers every op, the last step and both time layouts', () => {
  assert.is(fixture.generator, 'scripts/golden/generate_diffusion_distillation.py');
  const ops = new Set(fixture.cases.map((c) => c.op));
  for (const op of Object.keys(RUNS)) assert.ok(ops.has(op), `no ${op} case`);
  assert.ok(fixture.cases.some((c) => c.op === 'pd_target' && c.inputs.lastStep.data.some((v) => v === 1)), 'a last-step case');
  assert.ok(fixture.cases.some((c) => c.op === 'pd_target' && c.inputs.logSnrT.shape.length === 0), 'a shared-time case');
  assert.ok(fixture.cases.some((c) => c.inputs.logSnrS?.data.includes('inf')), 'a σ = 0 case');
});

for (const c of fixture.cases) {
  test(`${c.name} (${c.op})`, () => {
    const run = RUNS[c.op];
    assert.ok(run, `unknown op ${c.op}`);
    const names = Object.keys(c.inputs);
    const inputs = names.map((k) => fixtureArray(c.inputs[k]));
    const asRecord = (xs: VArray[]): Record<string, VArray> => Object.fromEntries(names.map((k, i) => [k, xs[i]]));
    check(c, run(asRecord(inputs)), 'eager');
    const keys = Object.keys(c.expected);
    const jitted = jit((...xs: VArray[]) => {
      const out = run(asRecord(xs));
      return keys.map((k) => out[k]);
    });
    const outs = jitted(...inputs) as VArray[];
    check(c, Object.fromEntries(keys.map((k, i) => [k, outs[i]])), 'jit');
  });
}

test.run();
