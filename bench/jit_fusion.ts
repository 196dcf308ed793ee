/**
 * Eager vs `jit` (fused kernels) on the default backend (`VIDAX_BACKEND=cpu` for the JS oracle):
 *  1. 10-op elementwise chains over 1M float32 elements: one of cheap arithmetic (memory-
 *     bound, where fusion removes nine round trips through memory) and one with tanh, exp
 *     and sqrt (bound by the transcendental functions themselves). GB/s is the effective
 *     bandwidth: one read of the input and one write of the output per run;
 *  2. an MLP training step (784-512-10, tanh, MSE, value-and-grad + SGD in one function),
 *     batch 256. GFLOP/s counts the six matmuls (two forward, four backward: 2·m·k·n each).
 *
 * Run: `npx tsx bench/jit_fusion.ts` (or `npm run bench:fusion`). Prints a table of the median ms
 * per iteration after warm-up, the speed-up and the throughput.
 */
import { defaultBackend, jit, memoryStats, np, random, scope, valueAndGrad, type Array as VArray } from '../src/index.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const liveBuffers = (): number => memoryStats()[defaultBackend()]?.buffers ?? 0;
/** Buffers left live by the timed runs after warm-up (should be 0: no leaks, eager or jit). */
let leaked = 0;

/** Median wall time (ms) of `fn` over `iters` runs after `warmup` runs; results are disposed. */
function time(fn: () => VArray[], warmup: number, iters: number): number {
  // Eager intermediates are released by the scope (as a user would), results by dispose().
  const run = () => scope(fn);
  for (let i = 0; i < warmup; i++) run().forEach((a) => a.dispose());
  // Counted after warm-up: the first jit call caches its staged program (and the program's constants).
  const before = liveBuffers();
  const ts: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    const outs = run();
    outs.forEach((a) => a.dataSync());
    ts.push(performance.now() - t0);
    outs.forEach((a) => a.dispose());
  }
  leaked += liveBuffers() - before;
  return median(ts);
}

interface Row {
  name: string;
  eager: number;
  jit: number;
  unit: string;
  work: number;
}

const rows: Row[] = [];

// ---------------------------------------------------------------- 1. fused elementwise chains
const n = 1 << 20;
const xs = random.uniform(random.key(0), [n], { minval: -1, maxval: 1 });
const chains: [string, (x: VArray) => VArray][] = [
  ['10-op arithmetic chain, 1M f32', (x) => {
    let y = np.mul(x, 1.5);
    y = np.add(y, 0.25);
    y = np.mul(y, y);
    y = np.sub(y, x);
    y = np.maximum(y, -0.5);
    y = np.minimum(y, 2);
    y = np.abs(y);
    y = np.mul(y, 0.75);
    y = np.add(y, x);
    return np.neg(y);
  }],
  ['10-op transcendental chain, 1M f32', (x) => {
    let y = np.mul(x, 1.5);
    y = np.add(y, 0.25);
    y = np.tanh(y);
    y = np.mul(y, y);
    y = np.sub(y, 0.5);
    y = np.exp(y);
    y = np.mul(y, 0.75);
    y = np.add(y, x);
    y = np.abs(y);
    return np.sqrt(y);
  }],
];
for (const [name, chain] of chains) {
  const f = jit(chain);
  const lowered = f.lower(xs);
  if (lowered.kernels.length !== 1) throw new Error(`${name} lowered to ${lowered.kernels.length} kernels, expected 1`);
  const eager = time(() => [chain(xs)], 3, 15);
  const fused = time(() => [f(xs)], 3, 15);
  rows.push({ name, eager, jit: fused, unit: 'GB/s', work: (2 * 4 * n) / 1e9 });
}

// ---------------------------------------------------------------- 2. MLP training step
{
  const [B, D, H, O] = [256, 784, 512, 10];
  const ks = random.split(random.key(1), 4);
  const k = (i: number) => np.take(ks, i, 0);
  const params = {
    w1: np.mul(random.normal(k(0), [D, H]), 1 / Math.sqrt(D)),
    b1: np.zeros([H]),
    w2: np.mul(random.normal(k(1), [H, O]), 1 / Math.sqrt(H)),
    b2: np.zeros([O]),
  };
  const x = random.normal(k(2), [B, D]);
  const y = random.normal(k(3), [B, O]);
  type P = typeof params;
  const loss = (p: P, x: VArray, y: VArray): VArray => {
    const h = np.tanh(np.add(np.matmul(x, p.w1), p.b1));
    const out = np.add(np.matmul(h, p.w2), p.b2);
    return np.mean(np.square(np.sub(out, y)));
  };
  const lr = 0.01;
  const step = (p: P, x: VArray, y: VArray): [VArray, P] => {
    const [l, g] = valueAndGrad(loss)(p, x, y) as [VArray, P];
    return [l, { w1: np.sub(p.w1, np.mul(g.w1, lr)), b1: np.sub(p.b1, np.mul(g.b1, lr)), w2: np.sub(p.w2, np.mul(g.w2, lr)), b2: np.sub(p.b2, np.mul(g.b2, lr)) }];
  };
  const flat = ([l, p]: [VArray, P]): VArray[] => [l, p.w1, p.b1, p.w2, p.b2];
  const jstep = jit(step);
  const eager = time(() => flat(step(params, x, y)), 2, 9);
  const fused = time(() => flat(jstep(params, x, y)), 2, 9);
  const flops = 2 * (B * D * H + B * H * O) * 3; // forward + two products per layer backward
  rows.push({ name: `MLP step ${D}-${H}-${O}, batch ${B}`, eager, jit: fused, unit: 'GFLOP/s', work: flops / 1e9 });
  const lowered = jstep.lower(params, x, y);
  console.log(`MLP step: ${lowered.program.steps.length} steps, ${lowered.kernels.length} fused kernels`);
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (v: number, d = 2) => v.toFixed(d).padStart(9);
console.log(`\n${pad('benchmark', 40)}${'eager ms'.padStart(9)}${'jit ms'.padStart(9)}${'speedup'.padStart(9)}  throughput (eager / jit)`);
for (const r of rows)
  console.log(`${pad(r.name, 40)}${num(r.eager)}${num(r.jit)}${num(r.eager / r.jit)}x  ${(r.work / (r.eager / 1e3)).toFixed(2)} / ${(r.work / (r.jit / 1e3)).toFixed(2)} ${r.unit}`);
console.log(`\nbuffers leaked by the timed runs: ${leaked}`);
