/**
 * `npm run example:toy-diffusion`: the diffusion stack end to end on a 2-D toy distribution.
 *
 * 1. Train a small v-parameterized MLP (Salimans & Ho 2022) on a ring of 8 Gaussians with
 *    the continuous cosine schedule, `grad` + Adam, all in one `jit`ted step.
 * 2. Sample it with DDIM (16 and 4 steps) and the ancestral sampler (64 steps).
 * 3. Progressive distillation (Salimans & Ho 2022, Algorithm 2) twice: 16 → 8 → 4 steps; the
 *    4-step student should beat the teacher run with 4 DDIM steps (the paper's claim).
 * 4. Report sample quality (distance to the nearest mode, fraction near a mode, MMD to data)
 *    and write an SVG comparing the samples (`examples/out/toy_diffusion.svg`).
 *
 * Runs on the CPU (the WebAssembly backend) in about a minute. `--quick`: a short smoke run;
 * `--cpu`: use the JavaScript reference backend instead (much slower).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { diffusion as D, jit, nn, np, random, setDefaultBackend, valueAndGrad, type Array } from '../src/index.js';

const quick = process.argv.includes('--quick');
// The WebAssembly backend (SIMD matmul) is ~50× faster than the JS oracle on this model; `--cpu` uses the oracle.
setDefaultBackend(process.argv.includes('--cpu') ? 'cpu' : 'wasm');
const STEPS = quick ? 150 : 2000;
const DISTILL_STEPS = quick ? 60 : 500;
const BATCH = 512;
const DISTILL_BATCH = 256;
const WIDTH = 128;
const MODES = 8;

type Params = { emb: nn.LinearParams; l1: nn.LinearParams; l2: nn.LinearParams; l3: nn.LinearParams; out: nn.LinearParams };

const schedule = D.cosineSchedule();

/** The data: 8 Gaussians (std 0.08) on a circle of radius 0.8. */
function sampleData(key: Array, n: number): Array {
  const [k1, k2] = random.split(key);
  const mode = random.randint(k1, [n], 0, MODES).astype('float32');
  const angle = mode.mul((2 * Math.PI) / MODES);
  const centres = np.stack([np.cos(angle), np.sin(angle)], 1).mul(0.8);
  return centres.add(random.normal(k2, [n, 2]).mul(0.08));
}

// ---------------------------------------------------------------- the model: v̂(z, λ)
const layers = {
  emb: nn.linear({ inFeatures: 32, outFeatures: WIDTH }),
  l1: nn.linear({ inFeatures: 2 + WIDTH, outFeatures: WIDTH }),
  l2: nn.linear({ inFeatures: WIDTH, outFeatures: WIDTH }),
  l3: nn.linear({ inFeatures: WIDTH, outFeatures: WIDTH }),
  out: nn.linear({ inFeatures: WIDTH, outFeatures: 2 }),
};
function initParams(key: Array): Params {
  const ks = [...random.split(key, 5)];
  return { emb: layers.emb.init(ks[0]), l1: layers.l1.init(ks[1]), l2: layers.l2.init(ks[2]), l3: layers.l3.init(ks[3]), out: layers.out.init(ks[4]) };
}
/** The network predicts v from z and the time t(λ) (sinusoidally embedded). */
function vModel(p: Params, z: Array, logSnr: Array): Array {
  const lb = logSnr.ndim === 0 ? np.broadcastTo(logSnr, [z.shape[0]]) : logSnr;
  const t = schedule.t!(lb).mul(1000);
  const e = nn.silu(layers.emb.apply(p.emb, nn.sinusoidalEmbedding(t, 32)));
  let h = nn.silu(layers.l1.apply(p.l1, np.concatenate([z, e], 1)));
  h = nn.silu(layers.l2.apply(p.l2, h)).add(h);
  h = nn.silu(layers.l3.apply(p.l3, h)).add(h);
  return layers.out.apply(p.out, h);
}
const denoiser = (p: Params): D.Denoiser => D.makeDenoiser((z, l) => vModel(p, z, l), 'v');

// ---------------------------------------------------------------- training (v-MSE = SNR+1 weighting)
function trainLoss(p: Params, key: Array): Array {
  const [kx, kt, ke] = random.split(key, 3);
  const x = sampleData(kx, BATCH);
  const logSnr = schedule.logSnr(random.uniform(kt, [BATCH]));
  const eps = random.normal(ke, [BATCH, 2]);
  const z = D.qSample(x, logSnr, eps);
  return D.denoisingLoss({ xHat: denoiser(p)(z, logSnr), x, logSnr, weighting: 'snrPlusOne' });
}

function makeOptimizer(steps: number, peak: number) {
  const lr = nn.optim.warmupCosineDecaySchedule({ initValue: 0, peakValue: peak, warmupSteps: Math.min(100, steps / 10), decaySteps: steps, endValue: peak / 20 });
  return nn.optim.chain(nn.optim.clipByGlobalNorm(1), nn.optim.adam(lr));
}

function train<S>(name: string, params: Params, steps: number, lossFn: (p: Params, key: Array, extra: S) => Array, extra: S, key: Array, peak: number): Params {
  const opt = makeOptimizer(steps, peak);
  const step = jit((p: Params, state: unknown, k: Array, e: S) => {
    const [loss, g] = valueAndGrad(lossFn)(p, k, e);
    const [updates, newState] = opt.update(g as Params, state as never, p);
    return { params: nn.optim.applyUpdates(p, updates) as Params, state: newState, loss };
  });
  let state: unknown = opt.init(params);
  let ema = 0;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const [next, k] = random.split(key);
    key = next;
    const r = step(params, state, k, extra) as { params: Params; state: unknown; loss: Array };
    params = r.params;
    state = r.state;
    ema = i === 0 ? (r.loss.item() as number) : 0.98 * ema + 0.02 * (r.loss.item() as number);
    if ((i + 1) % Math.max(1, Math.floor(steps / 5)) === 0) console.log(`  ${name} step ${i + 1}/${steps}  loss ≈ ${ema.toFixed(4)}`);
  }
  console.log(`  ${name}: ${((performance.now() - t0) / steps).toFixed(1)} ms/step`);
  return params;
}

// ---------------------------------------------------------------- progressive distillation
/** Algorithm 2: the student at t = i/N learns x̃ from two teacher DDIM steps of 1/(2N). */
const distillLoss = (n: number) => (student: Params, key: Array, teacher: Params): Array => {
  const [kx, ki, ke] = random.split(key, 3);
  const x = sampleData(kx, DISTILL_BATCH);
  const i = random.randint(ki, [DISTILL_BATCH], 1, n + 1).astype('float32');
  const t = i.div(n);
  const logSnrT = schedule.logSnr(t);
  const logSnrMid = schedule.logSnr(t.sub(0.5 / n));
  const logSnrS = schedule.logSnr(t.sub(1 / n));
  const z = D.qSample(x, logSnrT, random.normal(ke, [DISTILL_BATCH, 2]));
  const target = D.distillationTarget({ z, logSnrT, logSnrMid, logSnrS, teacher: denoiser(teacher), lastStep: i.equal(1) });
  return D.studentLoss({ student: denoiser(student), z, logSnr: logSnrT, target });
};

function distill(teacher: Params, n: number, key: Array): Params {
  // The student starts from the teacher and learns to take one step where the teacher took two.
  return train(`distill ${2 * n}→${n}`, teacher, DISTILL_STEPS, distillLoss(n), teacher, key, 5e-4);
}

// ---------------------------------------------------------------- sampling and evaluation
function sampleWith(p: Params, n: number, kind: 'ddim' | 'ancestral', key: Array, count = 1000): Array {
  const step: D.SamplerStep = kind === 'ddim' ? D.ddimStep : (ctx) => D.ancestralStep({ ...ctx, variance: 'small' });
  const run = jit((params: Params, k: Array) => D.sample({ denoiser: denoiser(params), logSnrs: D.timesteps(n, { kind: 'uniform', schedule }), shape: [count, 2], key: k, step }).xHat);
  return run(p, key);
}

/** Mean distance to the nearest mode centre, the fraction within 3σ of one, and MMD² (RBF) to fresh data. */
function quality(samples: Array, data: Array): { dist: number; near: number; mmd: number } {
  const angles = np.arange(MODES).astype('float32').mul((2 * Math.PI) / MODES);
  const centres = np.stack([np.cos(angles), np.sin(angles)], 1).mul(0.8);
  const d = np.sqrt(samples.expandDims(1).sub(centres.expandDims(0)).square().sum(-1)).min(1);
  // 'near' = within 3 standard deviations of a mode centre.
  const k = (a: Array, b: Array) => np.exp(a.expandDims(1).sub(b.expandDims(0)).square().sum(-1).div(-2 * 0.1 * 0.1)).mean();
  const mmd = k(samples, samples).add(k(data, data)).sub(k(samples, data).mul(2));
  return { dist: d.mean().item() as number, near: d.less(0.24).astype('float32').mean().item() as number, mmd: mmd.item() as number };
}

function svg(panels: { title: string; points: Array }[]): string {
  const size = 220, pad = 10;
  const body = panels.map((p, i) => {
    const pts = p.points.toNested() as number[][];
    const ox = i * (size + pad);
    const dots = pts.map(([x, y]) => `<circle cx="${(ox + size / 2 + x * size * 0.5).toFixed(1)}" cy="${(size / 2 + 20 - y * size * 0.5).toFixed(1)}" r="1.3"/>`).join('');
    return `<text x="${ox + size / 2}" y="14" text-anchor="middle" font-size="12">${p.title}</text><rect x="${ox}" y="20" width="${size}" height="${size}" fill="none" stroke="#ccc"/>${dots}`;
  }).join('\n');
  const w = panels.length * (size + pad);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${size + 30}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><g fill="#1f4e9c" fill-opacity="0.6">\n${body}\n</g></svg>\n`;
}

// ---------------------------------------------------------------- main
let key = random.key(0);
const next = () => {
  const [a, b] = random.split(key);
  key = a;
  return b;
};
console.log(`toy diffusion: 8-Gaussian ring, v-parameterization, cosine schedule${quick ? ' (quick run)' : ''}`);
let teacher = initParams(next());
teacher = train('teacher', teacher, STEPS, (p, k) => trainLoss(p, k), undefined, next(), 4e-3);
const student8 = distill(teacher, 8, next());
const student4 = distill(student8, 4, next());

const data = sampleData(next(), 1000);
const runs: { title: string; points: Array }[] = [
  { title: 'data', points: data },
  { title: 'teacher ancestral 64', points: sampleWith(teacher, 64, 'ancestral', next()) },
  { title: 'teacher DDIM 16', points: sampleWith(teacher, 16, 'ddim', next()) },
  { title: 'teacher DDIM 4', points: sampleWith(teacher, 4, 'ddim', next()) },
  { title: 'distilled DDIM 8', points: sampleWith(student8, 8, 'ddim', next()) },
  { title: 'distilled DDIM 4', points: sampleWith(student4, 4, 'ddim', next()) },
];
const ref = sampleData(next(), 1000);
console.log('\nsampler                 mean dist to mode   near a mode   MMD² to data');
for (const r of runs) {
  const q = quality(r.points, ref);
  console.log(`${r.title.padEnd(22)}  ${q.dist.toFixed(4).padStart(17)}   ${(100 * q.near).toFixed(1).padStart(9)}%   ${q.mmd.toFixed(5).padStart(11)}`);
}
mkdirSync('examples/out', { recursive: true });
const file = 'examples/out/toy_diffusion.svg';
writeFileSync(`${file}.tmp`, svg(runs));
renameSync(`${file}.tmp`, file);
console.log(`\nwrote ${file}`);
