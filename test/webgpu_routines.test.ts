/**
 * The WebGPU backend's tiled routines against the CPU oracle (`cpuRoutines`), called at the
 * routine level on Dawn (llvmpipe on machines without a GPU):
 * - matmul over many shapes: 1, odd sizes, sizes at and just past the tile edges (32, 64, 65),
 *   k not a multiple of the K step, batches with either operand broadcast (batch stride 0);
 *   float32, int32 (wraps) and uint32;
 * - convolution (implicit GEMM) in 1-, 2- and 3-D with strides, padding (negative too), lhs and
 *   rhs dilation, feature groups and batch groups;
 * - both tilings: the device's own limits (64×64 tiles here) and a second device with
 *   WebGPU's default compatibility limits (128 invocations: 32×32 tiles; 16 KiB of workgroup
 *   memory: fused attention with d = 128 staging 16 keys a tile);
 * - the tiling choosers' choices per limits (and for attention, per shape);
 * - fused attention: jit of attention chains the pattern matches (`attention_pattern.ts`) runs
 *   one fused step on WebGPU and equals the composition on the oracle, masked and NaN rows
 *   included; shapes cover several query blocks, whole key tiles, a partial last tile and chunk,
 *   and head sizes that are not multiples of 4 (zero padding); shapes no tiling fits and near
 *   misses run unfused.
 *
 * Tolerance (float32): each element sums its k products sequentially in f32 (with a plain
 * multiply-add, or a fused one where the compiler contracts), so |got − oracle| ≤
 * (k + 2)·2⁻²⁴·Σ|a·b| — k roundings of the running sum and products, plus the oracle's own
 * rounding of its f64 sum to f32; Σ|a·b| is the oracle run on the operands' absolute values.
 * Integer results are exact. If no adapter can be created the suite fails in CI and is
 * skipped elsewhere (as `webgpu_parity.test.ts` does).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NDArray } from '../src/core/array.js';
import { getBackend, type RoutineParams } from '../src/core/backends/backend.js';
import { convGemm } from '../src/core/backends/render/wgsl_conv.js';
import { chooseAttentionTiling } from '../src/core/backends/render/wgsl_attention.js';
import { chooseGemmTiling, GEMM_TILINGS } from '../src/core/backends/render/wgsl_matmul.js';
import { cpuRoutines } from '../src/core/backends/runtime/cpu_routines.js';
import { createWebGpuBackend, type WebGpuBackend } from '../src/core/backends/runtime/webgpu.js';
import { storageOf, type DType, type TypedArray } from '../src/core/dtype.js';
import { programFor } from '../src/core/kernel/program.js';
import { devicePut, initWebGpu, jit, makeJaxpr, nn, np, type Array as VArray } from '../src/index.js';
import { lcg, prod } from './helpers.js';

const IN_CI = !!process.env.CI && process.env.CI !== 'false';

async function setUp(): Promise<WebGpuBackend | Error> {
  try {
    await initWebGpu();
    return getBackend('webgpu') as WebGpuBackend;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** A second device at WebGPU's default limits (Dawn, OpenGL backend, compatibility level), or null. */
async function smallDevice(): Promise<WebGpuBackend | null> {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(o: string[]): GPU };
  // Dawn's default backend first (Vulkan on a GPU machine), then its OpenGL backend (llvmpipe here);
  // at the compatibility feature level a device with default limits allows 128 invocations.
  for (const dawn of [[], ['backend=opengl']]) {
    try {
      const instance = mod.create(dawn);
      const adapter = await instance.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
      if (!adapter) continue;
      const device = await adapter.requestDevice();
      if (device.limits.maxComputeInvocationsPerWorkgroup >= 256) {
        device.destroy();
        continue;
      }
      const b = await createWebGpuBackend({ device });
      b.keepAlive = [instance, adapter];
      return b;
    } catch {
      // try the next backend
    }
  }
  return null;
}

const gpu = await setUp();

// ------------------------------------------------------------------ helpers

function rand(n: number, dtype: DType, r: () => number): TypedArray {
  if (dtype === 'int32') return Int32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32) | 0);
  if (dtype === 'uint32') return Uint32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32) >>> 0);
  return Float32Array.from({ length: n }, () => r() * 4 - 2);
}
const abs = (x: TypedArray) => Float32Array.from(x as Float32Array, Math.abs);

async function onGpu<R extends 'matmul' | 'conv'>(b: WebGpuBackend, name: R, dtype: DType, inputs: TypedArray[], outSize: number, p: RoutineParams[R]): Promise<TypedArray> {
  const ins = inputs.map((d) => b.upload(dtype, d));
  const out = b.alloc(dtype, outSize);
  b.routine(name, ins, [out], p);
  const got = await b.read(out);
  for (const x of [...ins, out]) b.free(x);
  return got;
}

/** The oracle's result of routine `name` and, for float32, its result on the operands' absolute values (Σ|terms| per element, for `assertWithin`). */
function oracle<R extends 'matmul' | 'conv'>(name: R, dtype: DType, inputs: TypedArray[], outSize: number, p: RoutineParams[R]): { want: TypedArray; sumAbs: TypedArray | null } {
  const run = cpuRoutines[name] as (ins: TypedArray[], outs: TypedArray[], p: RoutineParams[R]) => void;
  const want = new (storageOf(dtype))(outSize);
  run(inputs, [want], p);
  if (dtype !== 'float32') return { want, sumAbs: null };
  const sumAbs = new Float32Array(outSize);
  run(inputs.map(abs), [sumAbs], p);
  return { want, sumAbs };
}

/** got vs the oracle: exact for integers, the sequential-sum bound with `k` terms for floats. */
function assertWithin(got: TypedArray, want: TypedArray, sumAbs: TypedArray | null, k: number, what: string): void {
  assert.is(got.length, want.length, `${what}: size`);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]];
    // Non-finite results (infinite or NaN operands) must be the oracle's exactly.
    const ok = sumAbs === null || !Number.isFinite(w) ? Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)) : Math.abs(g - w) <= (k + 2) * 2 ** -24 * sumAbs[i];
    if (!ok) assert.unreachable(`${what}: element ${i} is ${got[i]}, the oracle says ${want[i]}${sumAbs ? ` (Σ|terms| ${sumAbs[i]}, k ${k})` : ''}`);
  }
}

function matmulCases(): RoutineParams['matmul'][] {
  const cases: RoutineParams['matmul'][] = [];
  const dims = [1, 7, 32, 64, 65, 130];
  for (const m of dims) for (const n of [1, 33, 64, 97]) cases.push({ batch: 1, m, k: [1, 17, 64, 100][(m + n) % 4], n, aBatchStride: 0, bBatchStride: 0 });
  // Batches: both operands batched, one broadcast, the other broadcast.
  cases.push({ batch: 3, m: 20, k: 31, n: 70, aBatchStride: 20 * 31, bBatchStride: 31 * 70 });
  cases.push({ batch: 4, m: 65, k: 16, n: 9, aBatchStride: 0, bBatchStride: 16 * 9 });
  cases.push({ batch: 2, m: 5, k: 129, n: 66, aBatchStride: 5 * 129, bBatchStride: 0 });
  cases.push({ batch: 2, m: 3, k: 0, n: 4, aBatchStride: 0, bBatchStride: 0 });
  return cases;
}

async function checkMatmul(b: WebGpuBackend, dtypes: readonly DType[], cases: RoutineParams['matmul'][], tag: string): Promise<void> {
  const r = lcg(11);
  for (const p of cases)
    for (const dtype of dtypes) {
      const a = rand(Math.max(p.aBatchStride * p.batch, p.m * p.k), dtype, r), bb = rand(Math.max(p.bBatchStride * p.batch, p.k * p.n), dtype, r);
      const size = p.batch * p.m * p.n;
      const { want, sumAbs } = oracle('matmul', dtype, [a, bb], size, p);
      assertWithin(await onGpu(b, 'matmul', dtype, [a, bb], size, p), want, sumAbs, p.k, `${tag} matmul ${JSON.stringify(p)} ${dtype}`);
    }
}

const conv = (lhsShape: number[], rhsShape: number[], o: Partial<RoutineParams['conv']> = {}): RoutineParams['conv'] => {
  const nd = lhsShape.length - 2;
  return {
    lhsShape, rhsShape, windowStrides: Array(nd).fill(1), padding: Array.from({ length: nd }, () => [0, 0] as const), lhsDilation: Array(nd).fill(1),
    rhsDilation: Array(nd).fill(1), featureGroupCount: 1, batchGroupCount: 1, ...o,
  };
};
const CONV_CASES: RoutineParams['conv'][] = [
  conv([2, 3, 9], [4, 3, 2], { padding: [[1, 0]], rhsDilation: [2] }),
  conv([1, 5, 17], [70, 5, 3], { windowStrides: [2], padding: [[2, 1]] }),
  conv([2, 6, 11, 10], [5, 6, 3, 3], { padding: [[1, 1], [1, 1]] }),
  conv([1, 4, 4, 3], [6, 2, 2, 2], { windowStrides: [2, 1], padding: [[1, 1], [0, -1]], lhsDilation: [2, 1], featureGroupCount: 2 }),
  conv([3, 8, 7, 9], [8, 1, 3, 2], { rhsDilation: [2, 1], lhsDilation: [1, 3], padding: [[2, 0], [1, 2]], featureGroupCount: 8 }),
  conv([4, 2, 3], [2, 2, 3], { padding: [[2, 2]], batchGroupCount: 2 }),
  conv([6, 3, 5, 5], [9, 3, 2, 2], { windowStrides: [2, 2], batchGroupCount: 3 }),
  conv([1, 2, 4, 5, 3], [3, 2, 2, 3, 2], { windowStrides: [1, 2, 1], padding: [[1, 0], [0, 1], [1, 1]], rhsDilation: [1, 1, 2] }),
  conv([2, 16, 8, 8], [20, 16, 3, 3], { padding: [[1, 1], [1, 1]] }),
  conv([1, 1, 1], [1, 1, 1]),
  conv([1, 2, 6, 5], [3, 2, 2, 2], { windowStrides: [2, 1], padding: [[-1, 0], [0, -2]] }),
];

async function checkConv(b: WebGpuBackend, dtypes: readonly DType[], tag: string): Promise<void> {
  const r = lcg(23);
  for (const p of CONV_CASES)
    for (const dtype of dtypes) {
      const g = convGemm(p)!;
      const lhs = rand(prod(p.lhsShape), dtype, r), rhs = rand(prod(p.rhsShape), dtype, r);
      const size = prod(g.outShape);
      const { want, sumAbs } = oracle('conv', dtype, [lhs, rhs], size, p);
      assertWithin(await onGpu(b, 'conv', dtype, [lhs, rhs], size, p), want, sumAbs, g.k, `${tag} conv ${JSON.stringify(p)} ${dtype}`);
    }
}

/** Convolutions whose padding meets infinite and NaN weights: holes add nothing (not 0·∞ = NaN), as on the oracle. */
async function checkConvNonFinite(b: WebGpuBackend): Promise<void> {
  const r = lcg(29);
  for (const p of [CONV_CASES[2], CONV_CASES[3], CONV_CASES[7]]) {
    const g = convGemm(p)!;
    const lhs = rand(prod(p.lhsShape), 'float32', r), rhs = rand(prod(p.rhsShape), 'float32', r);
    rhs[0] = Infinity;
    rhs[rhs.length - 1] = -Infinity;
    rhs[Math.floor(rhs.length / 2)] = NaN;
    const size = prod(g.outShape);
    const { want, sumAbs } = oracle('conv', 'float32', [lhs, rhs], size, p);
    assertWithin(await onGpu(b, 'conv', 'float32', [lhs, rhs], size, p), want, sumAbs, g.k, `non-finite weights: conv ${JSON.stringify(p)}`);
  }
}

// ------------------------------------------------------------------ tests

test('the tiling follows the device limits: 64×64 at 256 invocations, 32×32 at 64–255, none below', () => {
  const lim = (inv: number, bytes = 16384) => ({ maxComputeInvocationsPerWorkgroup: inv, maxComputeWorkgroupSizeX: inv, maxComputeWorkgroupStorageSize: bytes });
  assert.equal(chooseGemmTiling(lim(1024)), GEMM_TILINGS[0]);
  assert.equal(chooseGemmTiling(lim(128)), GEMM_TILINGS[1]);
  assert.equal(chooseGemmTiling(lim(256, 8192)), GEMM_TILINGS[1]);
  assert.is(chooseGemmTiling(lim(32)), null);
});

test('the attention tiling follows the shapes and limits: ≤ 64 rows, the largest key tile that fits, none past the limits', () => {
  const lim = (inv: number, bytes: number, groups = 65535) => ({
    maxComputeInvocationsPerWorkgroup: inv, maxComputeWorkgroupSizeX: inv, maxComputeWorkgroupStorageSize: bytes, maxComputeWorkgroupsPerDimension: groups,
  });
  const att = (lq: number, d: number, dv: number, batch = 2) => ({ batch, lq, lk: 300, d, dv, scale: null, mask: false, guarded: true });
  assert.equal(chooseAttentionTiling(att(256, 64, 64), lim(1024, 32768)), { bq: 64, bk: 64 });
  assert.equal(chooseAttentionTiling(att(256, 64, 64), lim(256, 16384)), { bq: 64, bk: 32 });
  assert.equal(chooseAttentionTiling(att(20, 64, 64), lim(256, 16384)), { bq: 32, bk: 32 }); // short queries: a smaller block
  assert.equal(chooseAttentionTiling(att(1, 3, 5), lim(256, 16384)), { bq: 8, bk: 64 });
  assert.equal(chooseAttentionTiling(att(100, 64, 64), lim(32, 16384)), { bq: 32, bk: 32 }); // 32 invocations at most
  assert.equal(chooseAttentionTiling(att(100, 300, 300), lim(256, 16384)), { bq: 64, bk: 4 }); // 150 vec4s a key
  assert.is(chooseAttentionTiling(att(100, 1100, 1100), lim(1024, 1 << 20)), null); // registers past WGSL's 8 KiB
  assert.is(chooseAttentionTiling(att(100, 600, 600), lim(1024, 16384)), null); // 4 keys do not fit
  assert.is(chooseAttentionTiling(att(100, 64, 64), lim(4, 16384)), null);
  assert.is(chooseAttentionTiling(att(1000, 64, 64), lim(256, 16384, 8)), null); // 16 query blocks > 8 workgroups
  assert.is(chooseAttentionTiling(att(10, 64, 64, 9), lim(256, 16384, 8)), null); // 9 batches > 8 workgroups
});

test('convGemm: groups, rows per group, columns and contraction length', () => {
  assert.equal(convGemm(conv([2, 6, 11, 10], [5, 6, 3, 3], { padding: [[1, 1], [1, 1]] })), { outShape: [2, 5, 11, 10], groups: 1, m: 5, n: 2 * 110, k: 54 });
  assert.equal(convGemm(conv([6, 3, 5, 5], [9, 3, 2, 2], { windowStrides: [2, 2], batchGroupCount: 3 }))?.groups, 3);
  assert.is(convGemm(conv([4, 4, 3], [4, 2, 1], { featureGroupCount: 2, batchGroupCount: 2 })), null);
});

if (gpu instanceof Error) {
  if (IN_CI) test('a WebGPU adapter is available (the routine suite must run in CI)', () => assert.unreachable(`no WebGPU device: ${gpu.message}`));
  else console.log(`webgpu_routines: skipped, no WebGPU device (${gpu.message})`);
} else {
  test('webgpu: tiled matmul equals the oracle (odd sizes, tile edges, broadcast batches; f32, i32, u32)', async () => {
    await checkMatmul(gpu, ['float32', 'int32', 'uint32'], matmulCases(), 'default limits');
  });

  test('webgpu: implicit-GEMM convolution equals the oracle (1-3 D, strides, padding, dilations, groups)', async () => {
    await checkConv(gpu, ['float32', 'int32'], 'default limits');
    await checkConvNonFinite(gpu);
  });

  test('webgpu: at the compatibility defaults (128 invocations) the 32×32 tiling equals the oracle', async () => {
    const small = await smallDevice();
    if (!small) {
      if (IN_CI) assert.unreachable('no second WebGPU device at default limits');
      return;
    }
    try {
      assert.is(chooseGemmTiling(small.device.limits), GEMM_TILINGS[1]);
      await checkMatmul(small, ['float32', 'int32'], matmulCases().filter((_, i) => i % 3 === 0), 'compat limits');
      await checkConv(small, ['float32'], 'compat limits');
      // Fused attention with d 128 at the routine level: in 16 KiB its K and V tiles hold 16 keys.
      const r = lcg(43);
      const p = { batch: 2, lq: 19, lk: 21, d: 128, dv: 64, scale: { op: 'mul' as const, value: 0.125 }, mask: true, guarded: true };
      assert.equal(chooseAttentionTiling(p, small.device.limits), { bq: 32, bk: 16 });
      const args = [randomArray([2, 19, 128], r), randomArray([2, 21, 128], r), randomArray([2, 21, 64], r), randomArray([2, 19, 21], r)];
      const want = await guardedAttention(args[0], args[1], args[2], args[3]).data();
      const ins = await Promise.all(args.map(async (a) => small.upload('float32', await a.data())));
      const out = small.alloc('float32', 2 * 19 * 64);
      small.fused('attention', ins, [out], p);
      assertComposite(await small.read(out), want, 'compat limits: fused attention d 128');
      for (const x of [...ins, out]) small.free(x);
    } finally {
      small.destroy();
    }
  });
}

// ------------------------------------------------------------------ fused attention (jit pattern)

/** The attention chains the pattern matches: nn.softmax with scale and mask, and the unguarded form with a division. */
const guardedAttention = (q: VArray, k: VArray, v: VArray, m: VArray) => np.matmul(nn.softmax(np.add(np.mul(np.matmul(q, np.swapaxes(k, -1, -2)), 0.125), m)), v);
const plainAttention = (q: VArray, k: VArray, v: VArray) => {
  const s = np.div(np.einsum('bhqd,bhkd->bhqk', q, k), 4);
  const e = np.exp(np.sub(s, np.max(s, -1, true)));
  return np.einsum('bhqk,bhkd->bhqd', np.div(e, np.sum(e, -1, true)), v);
};
const randomArray = (shape: number[], r: () => number) => np.array(Float32Array.from({ length: prod(shape) }, () => r() * 4 - 2)).reshape(shape);

/**
 * jit(f) on WebGPU against f eagerly on the CPU oracle, and whether the WebGPU program runs the
 * fused routine. Tolerance: the parity suite's for composites, |Δ| ≤ 1e-4·|w| + 1e-5·max|w|
 * (the fused routine rounds differently: p·v summed before the division, rescaled per tile).
 */
async function checkAttention(f: (...a: VArray[]) => VArray, args: VArray[], expectFused: boolean, what: string): Promise<void> {
  const want = await f(...args).data();
  const onGpu = await Promise.all(args.map((a) => devicePut(a, 'webgpu')));
  const { program } = programFor(makeJaxpr(f)(...onGpu).jaxpr, onGpu as NDArray[]);
  const fusedSteps = program.steps.filter((s) => s.kind === 'routine' && s.fused).length;
  assert.is(fusedSteps, expectFused ? 1 : 0, `${what}: fused steps`);
  const out = jit(f)(...onGpu);
  const got = await out.data();
  out.dispose();
  onGpu.forEach((a) => a.dispose());
  assertComposite(got, want, what);
}

/** The parity suite's composite tolerance (NaN only where the oracle has NaN). */
function assertComposite(got: TypedArray, want: TypedArray, what: string): void {
  assert.is(got.length, want.length, `${what}: size`);
  let scale = 0;
  for (const w of want) if (Number.isFinite(w)) scale = Math.max(scale, Math.abs(w));
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : Math.abs(g - w) <= 1e-4 * Math.abs(w) + 1e-5 * scale;
    if (!ok) assert.unreachable(`${what}: element ${i} is ${g}, the oracle says ${w}`);
  }
}

if (!(gpu instanceof Error)) {
  test('webgpu: jit runs matched attention fused and equals the oracle (odd sizes, tile edges, 4-D, unguarded)', async () => {
    const r = lcg(31);
    const shapes: [number, number, number, number, number][] = [
      [2, 37, 45, 24, 33], [1, 1, 1, 1, 1], [1, 1, 2, 1, 1], [3, 16, 16, 16, 16], [1, 17, 33, 64, 100], [2, 5, 70, 3, 2],
      [1, 70, 128, 16, 8], [2, 65, 150, 5, 7], // two query blocks; two whole key tiles; whole tiles, then 2 chunks and 6 keys
      [1, 9, 21, 130, 131], // q and acc in private arrays with loops (past the unrolled size)
    ];
    for (const [b, lq, lk, d, dv] of shapes) {
      const args = [randomArray([b, lq, d], r), randomArray([b, lk, d], r), randomArray([b, lk, dv], r), randomArray([lq, lk], r)];
      await checkAttention(guardedAttention, args, true, `nn.softmax attention ${[b, lq, lk, d, dv]}`);
    }
    await checkAttention(plainAttention, [randomArray([2, 3, 9, 8], r), randomArray([2, 3, 20, 8], r), randomArray([2, 3, 20, 5], r)], true, 'unguarded 4-D attention');
  });

  test('webgpu: fused attention keeps the composition\'s non-finite semantics (masked rows, NaN, -inf)', async () => {
    const r = lcg(37);
    const [q, k, v] = [randomArray([1, 4, 8], r), randomArray([1, 20, 8], r), randomArray([1, 20, 3], r)];
    const maskData = new Float32Array(4 * 20);
    maskData.fill(-Infinity, 0, 20); // row 0 fully masked: nn.softmax gives 0
    maskData.fill(-Infinity, 20, 37); // row 1 masked but for its last three keys (the last tile)
    maskData[2 * 20 + 5] = NaN; // row 2 has a NaN score
    const mask = np.array(maskData).reshape([4, 20]);
    await checkAttention(guardedAttention, [q, k, v, mask], true, 'guarded, masked rows');
    const unguarded = (q: VArray, k: VArray, v: VArray, m: VArray) => {
      const s = np.add(np.matmul(q, np.swapaxes(k, -1, -2)), m);
      const e = np.exp(np.sub(s, np.max(s, -1, true)));
      return np.matmul(np.div(e, np.sum(e, -1, true)), v);
    };
    await checkAttention(unguarded, [q, k, v, mask], true, 'unguarded, masked rows (NaN where the composition gives NaN)');
    // d = 3 pads each key to 4 floats with a zero, not with the next key's first element: here
    // −∞ (q's first column is positive, so those keys score −∞ and get p = 0; 0·−∞ would be NaN).
    const q3 = np.abs(randomArray([2, 5, 3], r));
    const k3data = await randomArray([2, 11, 3], r).data();
    for (const j of [1, 4, 5, 10]) k3data[3 * j] = -Infinity;
    await checkAttention(guardedAttention, [q3, np.array(k3data).reshape([2, 11, 3]), randomArray([2, 11, 2], r), randomArray([5, 11], r)], true, 'keys with −∞, d = 3');
  });

  test('webgpu: attention shapes no tiling fits, and chains that do not match, run unfused', async () => {
    const r = lcg(41);
    await checkAttention(guardedAttention, [randomArray([1, 3, 4096], r), randomArray([1, 5, 4096], r), randomArray([1, 5, 2], r), randomArray([3, 5], r)], false, 'd = 4096');
    const extra = (q: VArray, k: VArray, v: VArray) => np.matmul(np.mul(nn.softmax(np.matmul(q, np.swapaxes(k, -1, -2))), 0.5), v);
    await checkAttention(extra, [randomArray([2, 6, 8], r), randomArray([2, 9, 8], r), randomArray([2, 9, 4], r)], false, 'softmax scaled before the product');
  });
}

test.run();
