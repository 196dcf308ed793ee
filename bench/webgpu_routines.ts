/**
 * The WebGPU backend's tiled routines against the first versions they replace, in one process
 * on one device (columns "kernel IR" = before, "tiled" = after): matmul (the tiled GEMM of `render/wgsl_matmul.ts` vs the kernel-IR reduction,
 * one invocation per output element) and convolution (implicit GEMM, `render/wgsl_conv.ts`, vs
 * the kernel-IR reduction), both called at the routine level on float32 operands.
 *
 * Workloads: 256² and 512² matmul, a batched matmul with a broadcast operand, the peer
 * benchmark's convolution scaled down (3×3 SAME, 2×32×32×32, 32→32; the full one is
 * 8×64×32×32, 64→64), and attention as the jit runs it with the fused routine
 * (`render/wgsl_attention.ts`) against the same jaxpr lowered unfused: softmax(q·kᵀ/8)·v with
 * 4 heads of 256×64, and nn.softmax(q·kᵀ/√80 + mask)·v with 4 heads of 200×80 (a head size that
 * is not a multiple of 4, a partial last key tile).
 *
 * Run: `npx tsx bench/webgpu_routines.ts` (on a machine without a GPU: `EGL_PLATFORM=surfaceless`
 * and an `XDG_RUNTIME_DIR`; Dawn then runs on llvmpipe, where absolute numbers mean little and
 * ratios do); `--large` for a real GPU (1024² and 2048² matmul, the full peer convolution,
 * attention with 8 heads of 1024×64, and of 1024×80 with the mask). Each timed run dispatches once and awaits the output's read-back; prints the
 * median ms over `--iters` runs (default 7) after 2 warm-up runs, GFLOP/s (2·m·n·k; for the
 * convolution 2·N·O·H·W·C·kh·kw) and the speed-up. The two attention programs alternate run by run.
 */
import { getBackend, type DeviceBuffer, type RoutineParams } from '../src/core/backends/backend.js';
import { convKernel, matmulKernel } from '../src/core/backends/render/wgsl_routines.js';
import type { WebGpuBackend } from '../src/core/backends/runtime/webgpu.js';
import type { NDArray } from '../src/core/array.js';
import { lowerJaxpr, type Program } from '../src/core/kernel/lower.js';
import { compileJaxpr, runProgram } from '../src/core/kernel/program.js';
import { devicePut, initWebGpu, makeJaxpr, nn, np, type Array as VArray } from '../src/index.js';
import { median, medianMs } from './lib/timing.js';

const iters = Number(process.argv.find((a) => a.startsWith('--iters='))?.slice(8) ?? 7);
/** `--large`: sizes for a real GPU (1024² and 2048² matmul, the full peer conv, 8 heads of 1024×64). */
const large = process.argv.includes('--large');

/** Median ms of `run` and the read-back of `out`. */
const time = (gpu: WebGpuBackend, out: DeviceBuffer, run: () => void): Promise<number> =>
  medianMs(async () => {
    run();
    await gpu.read(out);
  }, iters);

const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 500 - 1);

await initWebGpu();
const gpu = getBackend('webgpu') as WebGpuBackend;
console.log(`device: ${gpu.describe().adapter} via ${gpu.describe().via}`);

const rows: string[][] = [['workload', 'kernel IR (ms)', 'tiled (ms)', 'kernel IR GFLOP/s', 'tiled GFLOP/s', 'speed-up']];
async function compare(label: string, flop: number, inputs: Float32Array[], outSize: number, tiled: (ins: DeviceBuffer[], out: DeviceBuffer) => void, ir: (ins: DeviceBuffer[], out: DeviceBuffer) => void) {
  const ins = inputs.map((d) => gpu.upload('float32', d));
  const out = gpu.alloc('float32', outSize);
  const before = await time(gpu, out, () => ir(ins, out));
  const after = await time(gpu, out, () => tiled(ins, out));
  for (const b of [...ins, out]) gpu.free(b);
  const gf = (ms: number) => (flop / ms / 1e6).toFixed(2);
  rows.push([label, before.toFixed(1), after.toFixed(1), gf(before), gf(after), `${(before / after).toFixed(1)}×`]);
}

const square = (n: number): [string, RoutineParams['matmul']] => [`matmul ${n}²`, { batch: 1, m: n, k: n, n, aBatchStride: 0, bBatchStride: 0 }];
const matmuls: [string, RoutineParams['matmul']][] = [
  ...(large ? [square(1024), square(2048)] : [square(256), square(512)]),
  ['matmul 8×128×256·256×128 (b broadcast)', { batch: 8, m: 128, k: 256, n: 128, aBatchStride: 128 * 256, bBatchStride: 0 }],
];
for (const [label, p] of matmuls)
  await compare(label, 2 * p.batch * p.m * p.n * p.k, [fill(Math.max(1, p.batch * p.aBatchStride, p.m * p.k)), fill(Math.max(1, p.batch * p.bBatchStride, p.k * p.n))], p.batch * p.m * p.n,
    (ins, out) => gpu.routine('matmul', ins, [out], p), (ins, out) => gpu.run(matmulKernel(p, 'float32'), ins, out));

const [cn, cc] = large ? [8, 64] : [2, 32];
const conv: RoutineParams['conv'] = {
  lhsShape: [cn, cc, 32, 32], rhsShape: [cc, cc, 3, 3], windowStrides: [1, 1], padding: [[1, 1], [1, 1]], lhsDilation: [1, 1], rhsDilation: [1, 1], featureGroupCount: 1, batchGroupCount: 1,
};
await compare(`conv 3×3 SAME ${cn}×${cc}×32×32, ${cc}→${cc}`, 2 * cn * cc * 32 * 32 * cc * 9, [fill(cn * cc * 32 * 32), fill(cc * cc * 9)], cn * cc * 32 * 32,
  (ins, out) => gpu.routine('conv', ins, [out], conv), (ins, out) => gpu.run(convKernel(conv, 'float32'), ins, out));

// Attention: the jit program with the fused routine vs the same jaxpr lowered without it (two
// tiled matmuls and the softmax kernels). FLOP: the two products, 2·B·lq·lk·(d + dv).
async function compareAttention(B: number, L: number, D: number, masked: boolean) {
  const att = masked
    ? (q: VArray, k: VArray, v: VArray, m: VArray) => np.matmul(nn.softmax(np.add(np.div(np.matmul(q, np.swapaxes(k, -1, -2)), Math.sqrt(D)), m)), v)
    : (q: VArray, k: VArray, v: VArray) => np.matmul(nn.softmax(np.mul(np.matmul(q, np.swapaxes(k, -1, -2)), 1 / 8)), v);
  const shapes = [[B, L, D], [B, L, D], [B, L, D], ...(masked ? [[L, L]] : [])];
  const ins = await Promise.all(shapes.map((s) => devicePut(np.array(fill(s.reduce((a, b) => a * b))).reshape(s), 'webgpu')));
  const jaxpr = compileJaxpr(makeJaxpr(att as (...a: VArray[]) => VArray)(...ins).jaxpr).jaxpr;
  const unfused = lowerJaxpr(jaxpr), fused = lowerJaxpr(jaxpr, { acceptsFused: (name, p) => gpu.acceptsFused(name, p) });
  if (!fused.steps.some((s) => s.kind === 'routine' && s.fused)) throw new Error('bench: the attention chain was not fused');
  const once = async (p: Program) => {
    const t0 = performance.now();
    const [o] = runProgram(p, ins as NDArray[]);
    await o.data();
    o.dispose();
    return performance.now() - t0;
  };
  // The two programs alternate, so a change in the machine's load affects both alike.
  for (let i = 0; i < 2; i++) {
    await once(unfused);
    await once(fused);
  }
  const [ts0, ts1]: number[][] = [[], []];
  for (let i = 0; i < iters; i++) {
    ts0.push(await once(unfused));
    ts1.push(await once(fused));
  }
  const before = median(ts0), after = median(ts1);
  const gf = (ms: number) => ((2 * B * L * L * 2 * D) / ms / 1e6).toFixed(2);
  rows.push([`attention ${B}×${L}×${D}${masked ? ' + mask' : ''} (jit: unfused vs fused)`, before.toFixed(1), after.toFixed(1), gf(before), gf(after), `${(before / after).toFixed(1)}×`]);
  ins.forEach((a) => a.dispose());
}
await compareAttention(large ? 8 : 4, large ? 1024 : 256, 64, false);
await compareAttention(large ? 8 : 4, large ? 1024 : 200, 80, true);

const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  '));
gpu.destroy();
