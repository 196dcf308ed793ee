/**
 * The WGSL renderer without a GPU: pinned WGSL for a fixed set of kernels as the jit lowers
 * them (a fused elementwise chain, a reduction, a gather, the first-version matmul), so that a
 * change to fusion or to the renderer shows as a source diff; the routines' kernel IR (matmul,
 * convolution) checked against the CPU routines through the JavaScript renderer; and
 * structural checks of the generated source (every helper called is defined, constant
 * expressions that WGSL would reject are broken up). Running the WGSL is
 * `webgpu_parity.test.ts`'s job.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getBackend, type RoutineParams } from '../src/core/backends/backend.js';
import { renderWgslKernel, WgslRenderer } from '../src/core/backends/render/wgsl.js';
import { convKernel, cumulativeSource, matmulKernel, scatterAddSource, sortSource, threefrySource } from '../src/core/backends/render/wgsl_routines.js';
import { cpuRoutines } from '../src/core/backends/runtime/cpu_routines.js';
import { bucketBytes } from '../src/core/backends/runtime/webgpu.js';
import { storageOf, type DType, type TypedArray } from '../src/core/dtype.js';
import { canonicalKernelExpr } from '../src/core/kernel/canonical.js';
import { bin, cnst, load, outVar, un, type Expr, type Kernel } from '../src/core/kernel/ir.js';
import { lowerJaxpr } from '../src/core/kernel/lower.js';
import { compileJaxpr } from '../src/core/kernel/program.js';
import { lax, makeJaxpr, np, type Array as VArray } from '../src/index.js';
import { lcg, prod } from './helpers.js';
import { KERNEL_BINARY, KERNEL_UNARY } from './parity_cases.js';

/** The fused kernels the jit lowers `f` to, as the WebGPU backend renders them (1-D dispatch, workgroups of 256). */
function wgslOf(f: (...a: VArray[]) => VArray, ...args: VArray[]): string[] {
  const p = lowerJaxpr(compileJaxpr(makeJaxpr(f)(...args).jaxpr).jaxpr);
  return p.steps.flatMap((s) => (s.kind === 'kernel' ? [renderWgslKernel({ ...s.kernel, expr: canonicalKernelExpr(s.kernel.expr) }, { workgroupSize: 256 })] : []));
}

test('snapshot: a fused elementwise chain with a broadcast operand is one kernel', () => {
  const [src] = wgslOf((x, y) => np.mul(np.tanh(np.add(np.mul(x, 1.5), y)), lax.logistic(x)), np.ones([4, 8]), np.ones([8]));
  assert.fixture(src, `// broadcast_in_dim+mul+broadcast_in_dim+add+tanh+logistic+mul: f32, f32 -> f32[4, 8]
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
fn vx_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn vx_copysign(m: f32, s: f32) -> f32 { return bitcast<f32>((bitcast<u32>(m) & 0x7fffffffu) | (bitcast<u32>(s) & 0x80000000u)); }
// e^x - 1: Taylor series to x^9/9! for |x| < 0.5, else exp(x) - 1
fn vx_expm1(x: f32) -> f32 {
  if (abs(x) < 0.5f) {
    var p = 1.0f + x * (1.0f / 9.0f);
    p = 1.0f + x * (1.0f / 8.0f) * p;
    p = 1.0f + x * (1.0f / 7.0f) * p;
    p = 1.0f + x * (1.0f / 6.0f) * p;
    p = 1.0f + x * (1.0f / 5.0f) * p;
    p = 1.0f + x * (1.0f / 4.0f) * p;
    p = 1.0f + x * (1.0f / 3.0f) * p;
    p = 1.0f + x * (1.0f / 2.0f) * p;
    return x * p;
  }
  return exp(x) - 1.0f;
}
// tanh |x| = expm1(2|x|) / (expm1(2|x|) + 2), exact to rounding near 0 and 1 past |x| = 10
fn vx_tanh(x: f32) -> f32 {
  if (vx_isnan(x)) { return x; }
  let e = vx_expm1(2.0f * min(abs(x), 10.0f));
  return vx_copysign(e / (e + 2.0f), x);
}
fn vx_sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  let r = 1.0f / (1.0f + e);
  return select(e * r, r, x >= 0.0f);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = i32(gid.x);
  if (g >= 32i) { return; }
  let i0 = (g / 8i);
  let i1 = g % 8i;
  let t0: f32 = in0[(i1 + (i0 * 8i))];
  out[g] = (vx_tanh(((t0 * 1.5f) + in1[i1])) * vx_sigmoid(t0));
}
`);
});

test('snapshot: a reduction loops inside the invocation of its output element', () => {
  const [src] = wgslOf((x) => np.max(np.exp(x), 1), np.ones([4, 8]));
  assert.fixture(src, `// exp+reduce_max: f32 -> f32[4]
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
fn vx_f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }
fn vx_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn vx_nan() -> f32 { return vx_f32_bits(0x7fc00000u); }
// max with NaN propagation and max(-0, +0) = +0 (Math.max)
fn vx_fmax(a: f32, b: f32) -> f32 {
  if (vx_isnan(a) || vx_isnan(b)) { return vx_nan(); }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }
  return select(b, a, a > b);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = i32(gid.x);
  if (g >= 4i) { return; }
  let i0 = g;
  var t0: f32 = vx_f32_bits(0xff800000u);
  for (var r0 = 0i; r0 < 8i; r0++) {
    t0 = vx_fmax(t0, exp(in0[(r0 + (i0 * 8i))]));
  }
  out[g] = t0;
}
`);
});

test('snapshot: a gather wraps negative indices and clamps', () => {
  const [src] = wgslOf((x, i) => np.take(x, i, 1), np.ones([4, 8]), np.array([3, -1], 'int32'));
  assert.fixture(src, `// gather: i32, f32 -> f32[4, 2]
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> in0: array<i32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = i32(gid.x);
  if (g >= 8i) { return; }
  let i0 = (g / 2i);
  let i1 = g % 2i;
  let t0: i32 = in0[i1];
  out[g] = in1[(max(min(select(t0, (t0 + 8i), (t0 < 0i)), 7i), 0i) + (i0 * 8i))];
}
`);
});

test('snapshot: the first-version matmul is a reduction over k per output element (a tiled routine replaces it)', () => {
  const k = matmulKernel({ batch: 2, m: 3, k: 4, n: 5, aBatchStride: 12, bBatchStride: 0 }, 'float32');
  assert.fixture(renderWgslKernel({ ...k, expr: canonicalKernelExpr(k.expr) }, { workgroupSize: 64, rowStride: 4194240 }), `// matmul: f32, f32 -> f32[2, 3, 5]
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = i32(gid.x + gid.y * 4194240u);
  if (g >= 30i) { return; }
  let i0 = (g / 15i);
  let i1 = (g / 5i) % 3i;
  let i2 = g % 5i;
  var t0: f32 = 0f;
  for (var r0 = 0i; r0 < 4i; r0++) {
    t0 = (t0 + (in0[(((i0 * 12i) + (i1 * 4i)) + r0)] * in1[((r0 * 5i) + i2)]));
  }
  out[g] = t0;
}
`);
});

// ------------------------------------------------------------------ routine kernels vs the CPU routines

const cpu = getBackend('cpu');
function runCpu(kernel: Kernel, inputs: TypedArray[]): TypedArray {
  const bufs = inputs.map((d, i) => cpu.upload(kernel.inputs[i], d));
  const out = cpu.alloc(kernel.outDtype, prod(kernel.outShape));
  cpu.run(kernel, bufs, out);
  return new (storageOf(kernel.outDtype))(cpu.readSync(out));
}
const rand = (n: number, dtype: DType, r: () => number): TypedArray =>
  dtype === 'int32' ? Int32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32) | 0) : Float32Array.from({ length: n }, () => r() * 4 - 2);

function assertClose(got: TypedArray, want: TypedArray, exact: boolean, what: string): void {
  assert.is(got.length, want.length, `${what}: size`);
  for (let i = 0; i < want.length; i++) {
    const ok = exact ? got[i] === want[i] : Math.abs(got[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i]));
    if (!ok) assert.unreachable(`${what}: element ${i} is ${got[i]}, the routine says ${want[i]}`);
  }
}

test('the matmul kernel equals the CPU routine (broadcast batches, int32 wraps exactly)', () => {
  const r = lcg(3);
  const shapes: RoutineParams['matmul'][] = [
    { batch: 1, m: 3, k: 4, n: 5, aBatchStride: 12, bBatchStride: 20 },
    { batch: 3, m: 2, k: 7, n: 1, aBatchStride: 14, bBatchStride: 0 },
    { batch: 2, m: 1, k: 0, n: 3, aBatchStride: 0, bBatchStride: 0 },
  ];
  for (const p of shapes)
    for (const dtype of ['float32', 'int32'] as DType[]) {
      const a = rand(Math.max(p.aBatchStride * p.batch, p.m * p.k), dtype, r), b = rand(Math.max(p.bBatchStride * p.batch, p.k * p.n), dtype, r);
      const want = new (storageOf(dtype))(p.batch * p.m * p.n);
      cpuRoutines.matmul([a, b], [want], p);
      assertClose(runCpu(matmulKernel(p, dtype), [a, b]), want, dtype === 'int32', `matmul ${JSON.stringify(p)} ${dtype}`);
    }
});

test('the convolution kernel equals the CPU routine (padding, strides, dilations, groups)', () => {
  const r = lcg(5);
  const cases: RoutineParams['conv'][] = [
    { lhsShape: [2, 3, 5], rhsShape: [4, 3, 2], windowStrides: [1], padding: [[1, 0]], lhsDilation: [1], rhsDilation: [2], featureGroupCount: 1, batchGroupCount: 1 },
    { lhsShape: [1, 4, 4, 3], rhsShape: [6, 2, 2, 2], windowStrides: [2, 1], padding: [[1, 1], [0, -1]], lhsDilation: [2, 1], rhsDilation: [1, 1], featureGroupCount: 2, batchGroupCount: 1 },
    { lhsShape: [4, 2, 3], rhsShape: [2, 2, 3], windowStrides: [1], padding: [[2, 2]], lhsDilation: [1], rhsDilation: [1], featureGroupCount: 1, batchGroupCount: 2 },
  ];
  for (const p of cases)
    for (const dtype of ['float32', 'int32'] as DType[]) {
      const k = convKernel(p, dtype);
      const lhs = rand(prod(p.lhsShape), dtype, r), rhs = rand(prod(p.rhsShape), dtype, r);
      const want = new (storageOf(dtype))(prod(k.outShape));
      cpuRoutines.conv([lhs, rhs], [want], p);
      assertClose(runCpu(k, [lhs, rhs]), want, dtype === 'int32', `conv ${JSON.stringify(p)} ${dtype}`);
    }
});

// ------------------------------------------------------------------ structure of the source

/** Every `vx_*` function the source calls is defined once. */
function assertHelpersDefined(src: string, what: string): void {
  const called = new Set([...src.matchAll(/\b(vx_\w+)\(/g)].map((m) => m[1]));
  for (const f of called) {
    const defs = src.split(`fn ${f}(`).length - 1;
    assert.is(defs, 1, `${what}: ${f} is defined ${defs} times\n${src}`);
  }
}

test('every helper a kernel calls is defined, for every op on every dtype', () => {
  for (const d of ['float32', 'int32', 'uint32', 'bool'] as DType[]) {
    const x = load(0, outVar(0), d);
    const exprs: Expr[] = [
      ...KERNEL_BINARY.filter((op) => !(d === 'float32' && ['and', 'or', 'xor', 'shl', 'shrl', 'shra'].includes(op))).map((op) => bin(op, x, load(1, outVar(0), d))),
      ...KERNEL_UNARY.map((op) => un(op, x)),
    ];
    for (const e of exprs) {
      const src = renderWgslKernel({ inputs: [d, d], outShape: [3], outDtype: e.dtype, expr: e, label: 'k' }, { workgroupSize: 64 });
      assertHelpersDefined(src, `${JSON.stringify(e).slice(0, 60)} on ${d}`);
    }
  }
  const grid = { workgroupSize: 64, rowStride: null };
  for (const src of [
    sortSource({ rows: 2, n: 5 }, 'float32', 'int32', grid), cumulativeSource({ outer: 2, n: 3, inner: 4, op: 'max', reverse: true }, 'float32', grid),
    scatterAddSource({ outer: 1, n: 4, m: 3, inner: 2 }, 'float32', grid), threefrySource({ size: 10 }, grid),
  ])
    assertHelpersDefined(src, src.split('\n')[0]);
});

test('constant expressions WGSL would reject are broken up; ±inf, NaN and −0 are spelled as bits', () => {
  const r = new WgslRenderer();
  assert.is(r.constant(Infinity, 'float32'), 'vx_f32_bits(0x7f800000u)');
  assert.is(r.constant(-0, 'float32'), 'vx_f32_bits(0x80000000u)');
  // Subnormal constants are flushed (devices may flush subnormals; see render/wgsl.ts).
  assert.is(r.constant(1e-40, 'float32'), '0f');
  assert.is(r.constant(-1e-40, 'float32'), 'vx_f32_bits(0x80000000u)');
  assert.is(r.constant(1.5, 'float32'), '1.5f');
  assert.is(r.constant(-2147483648, 'int32'), 'i32(-2147483648)');
  assert.is(r.constant(4294967295, 'uint32'), '4294967295u');
  // exp(100) overflows: as a WGSL constant expression it would not compile.
  const src = renderWgslKernel({ inputs: [], outShape: [1], outDtype: 'float32', expr: un('exp', cnst(100, 'float32')), label: 'k' }, { workgroupSize: 64 });
  assert.match(src, 'exp(vx_rt_f32(100f))');
  // Shifts by a constant ≥ 32 are masked (WGSL rejects them) and then selected away.
  const shl = renderWgslKernel({ inputs: ['int32'], outShape: [1], outDtype: 'int32', expr: bin('shl', load(0, outVar(0), 'int32'), cnst(40, 'int32')), label: 'k' }, { workgroupSize: 64 });
  assert.match(shl, 'select(in0[i0] << (u32(40i) & 31u), 0i, u32(40i) >= 32u)');
});

test('buffer pool size classes waste at most a quarter', () => {
  for (const bytes of [1, 16, 17, 256, 257, 1000, 4096, 5000, 1 << 20, (1 << 20) + 1, 123456789]) {
    const c = bucketBytes(bytes);
    assert.ok(c >= bytes && c % 16 === 0 && (bytes <= 256 ? c - bytes < 16 : c <= bytes * 1.25 + 16), `${bytes} → ${c}`);
  }
});

test.run();
