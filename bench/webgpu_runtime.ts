/**
 * The WebGPU runtime's workgroup (tree) reductions against one invocation looping over each
 * output's reduction (the design before them), in one process on one device: two backends on
 * the same adapter, one created with `treeReductions: false`. Then the shape parameters: a
 * jit-lowered kernel at eight new shapes, timing each first dispatch (pipelines compiled) and
 * the warm one, and counting the pipelines compiled (one; with shapes baked in, eight).
 *
 * Workloads (float32, x[i] = sin(0.37·i)): row sums of 8×1M, a full sum of 4M, argmax over
 * rows of 64×64K, and a fused Σ exp(x/2) over rows of 32×128K; for the sums, the largest
 * error against an f64 sum on the host (the pairwise tree is as accurate as, and usually far
 * more accurate than, a long f32 loop).
 *
 * Run: `npx tsx bench/webgpu_runtime.ts` (on a machine without a GPU: `EGL_PLATFORM=surfaceless`
 * and an `XDG_RUNTIME_DIR`; Dawn then runs on llvmpipe, where absolute numbers mean little and
 * ratios do). Each timed run dispatches once and awaits the output's read-back; prints the
 * median ms over `--iters` runs (default 7) after 2 warm-up runs and the speed-up.
 */
import { storageOf } from '../src/core/dtype.js';
import { createWebGpuBackend, type WebGpuBackend } from '../src/core/backends/runtime/webgpu.js';
import type { Kernel } from '../src/core/kernel/ir.js';
import { lowerJaxpr } from '../src/core/kernel/lower.js';
import { compileJaxpr } from '../src/core/kernel/program.js';
import { makeJaxpr, np, type Array as VArray } from '../src/index.js';
import { medianMs } from './lib/timing.js';

const iters = Number(process.argv.find((a) => a.startsWith('--iters='))?.slice(8) ?? 7);

/** The one kernel `f` lowers to at these input shapes. */
function kernelOf(f: (x: VArray) => VArray, shape: number[]): Kernel {
  const steps = lowerJaxpr(compileJaxpr(makeJaxpr(f)(np.zeros(shape)).jaxpr).jaxpr).steps.filter((s) => s.kind === 'kernel');
  if (steps.length !== 1 || steps[0].kind !== 'kernel') throw new Error(`expected one kernel, got ${steps.length}`);
  return steps[0].kernel;
}

const input = (n: number) => new (storageOf('float32'))(n).map((_, i) => Math.sin(i * 0.37));

/** Median ms of a dispatch and its read-back, and the output. */
async function timeKernel(gpu: WebGpuBackend, kernel: Kernel, shape: number[]): Promise<{ ms: number; out: ArrayLike<number> }> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = input(n);
  const x = gpu.upload('float32', data);
  const out = gpu.alloc(kernel.outDtype, kernel.outShape.reduce((a, b) => a * b, 1));
  const once = async () => {
    gpu.run(kernel, [x], out);
    return gpu.read(out);
  };
  const ms = await medianMs(once, iters);
  const result = await once();
  gpu.free(x);
  gpu.free(out);
  return { ms, out: result };
}

/** Row sums of g(x) in f64 over the same f32 data (rows of `len`). */
function hostSums(shape: number[], g: (v: number) => number): number[] {
  const data = input(shape.reduce((a, b) => a * b, 1));
  const len = shape[shape.length - 1];
  const rows = data.length / len;
  return Array.from({ length: rows }, (_, r) => {
    let s = 0;
    for (let j = 0; j < len; j++) s += g(data[r * len + j]);
    return s;
  });
}

const tree = await createWebGpuBackend();
const loop = await createWebGpuBackend({ treeReductions: false });
console.log(`device: ${tree.describe().adapter} (${tree.describe().via}); median of ${iters}`);

const workloads: [string, (x: VArray) => VArray, number[], ((v: number) => number) | null][] = [
  ['row sums 8×1M', (x) => np.sum(x, 1), [8, 1 << 20], (v) => v],
  ['full sum 4M', (x) => np.sum(x), [1 << 22], (v) => v],
  ['argmax rows 64×64K', (x) => np.argmax(x, 1), [64, 1 << 16], null],
  ['Σexp(x/2) rows 32×128K', (x) => np.sum(np.exp(np.mul(x, 0.5)), 1), [32, 1 << 17], (v) => Math.exp(v * 0.5)],
];
console.log('workload                    loop ms   tree ms  speed-up   max |Δ| vs f64: loop, tree');
for (const [name, f, shape, g] of workloads) {
  const k = kernelOf(f, shape);
  const a = await timeKernel(loop, k, shape);
  const b = await timeKernel(tree, k, shape);
  let err = '';
  if (g) {
    const want = hostSums(shape, g);
    const e = (o: ArrayLike<number>) => Math.max(...want.map((w, i) => Math.abs(o[i] - w))).toExponential(1);
    err = `${e(a.out)}, ${e(b.out)}`;
  } else err = Array.from(a.out).every((v, i) => v === b.out[i]) ? 'same indices' : 'INDICES DIFFER';
  console.log(`${name.padEnd(26)} ${a.ms.toFixed(2).padStart(8)} ${b.ms.toFixed(2).padStart(9)} ${(a.ms / b.ms).toFixed(2).padStart(8)}×   ${err}`);
}

// Shape parameters: one pipeline for every shape of a kernel.
const f = (x: VArray) => np.sum(np.mul(np.tanh(x), 3), 1);
const before = tree.poolStats().pipelineMisses;
const first: number[] = [];
let warm = 0;
for (let k = 0; k < 8; k++) {
  const shape = [3 + k, 17 + 2 * k];
  const kernel = kernelOf(f, shape);
  const x = tree.upload('float32', new Float32Array(shape[0] * shape[1]).fill(0.5));
  const out = tree.alloc('float32', shape[0]);
  let t0 = performance.now();
  tree.run(kernel, [x], out);
  await tree.read(out);
  first.push(performance.now() - t0);
  t0 = performance.now();
  tree.run(kernel, [x], out);
  await tree.read(out);
  warm = performance.now() - t0;
  tree.free(x);
  tree.free(out);
}
console.log(`8 shapes: ${tree.poolStats().pipelineMisses - before} pipeline(s) compiled; first dispatch ${first.map((t) => t.toFixed(1)).join(', ')} ms; a warm one ${warm.toFixed(1)} ms`);
tree.destroy();
loop.destroy();
