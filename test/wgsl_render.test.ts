/**
 * The WGSL renderer without a GPU: pinned WGSL for a fixed set of kernels as the jit lowers
 * them (a fused elementwise chain, a reduction, a workgroup reduction, a gather, the
 * first-version matmul, the tiled matmul routine's tile kernel; shape-dependent integers read
 * from the `vx_dims` parameters), so that a
 * change to fusion or to the renderer shows as a source diff; the routines' kernel IR (matmul,
 * convolution) checked against the CPU routines through the JavaScript renderer; and
 * structural checks of the generated source (every helper called is defined, constant
 * expressions that WGSL would reject are broken up). Running the WGSL is
 * `webgpu_parity.test.ts`'s job.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getBackend, type RoutineParams } from '../src/core/backends/backend.js';
import { renderWgslKernel, renderWgslProgram, WgslRenderer } from '../src/core/backends/render/wgsl.js';
import { convKernel, cumulativeSource, matmulKernel, scatterAddSource, sortSource, threefrySource } from '../src/core/backends/render/wgsl_routines.js';
import { GEMM_TILINGS, matmulSource } from '../src/core/backends/render/wgsl_matmul.js';
import { cpuRoutines } from '../src/core/backends/runtime/cpu_routines.js';
import { sizeClass as bucketBytes } from '../src/core/backends/size_class.js';
import { storageOf, type DType, type TypedArray } from '../src/core/dtype.js';
import { canonicalKernelExpr } from '../src/core/kernel/canonical.js';
import { bin, cast, cnst, load, outVar, un, type Expr, type Kernel } from '../src/core/kernel/ir.js';
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
  assert.fixture(src, `// broadcast_in_dim+mul+broadcast_in_dim+add+tanh+logistic+mul: f32, f32 -> f32, rank 2
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(3) var<uniform> vx_dims: array<vec4<i32>, 1>;
fn vx_f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }
fn vx_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn vx_copysign(m: f32, s: f32) -> f32 { return bitcast<f32>((bitcast<u32>(m) & 0x7fffffffu) | (bitcast<u32>(s) & 0x80000000u)); }
// exp with IEEE edges: WGSL's exp may assume a finite operand (SwiftShader's exp(NaN) is +inf)
fn vx_exp(x: f32) -> f32 {
  if (vx_isnan(x)) { return x; }
  if (x == vx_f32_bits(0x7f800000u)) { return x; }
  if (x == vx_f32_bits(0xff800000u)) { return 0.0f; }
  return exp(x);
}
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
  return vx_exp(x) - 1.0f;
}
// tanh |x| = expm1(2|x|) / (expm1(2|x|) + 2), exact to rounding near 0 and 1 past |x| = 10
fn vx_tanh(x: f32) -> f32 {
  if (vx_isnan(x)) { return x; }
  let e = vx_expm1(2.0f * min(abs(x), 10.0f));
  return vx_copysign(e / (e + 2.0f), x);
}
fn vx_sigmoid(x: f32) -> f32 {
  if (vx_isnan(x)) { return x; }
  let e = exp(-abs(x));
  let r = 1.0f / (1.0f + e);
  return select(e * r, r, x >= 0.0f);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = i32(gid.x);
  if (g >= vx_dims[0].x) { return; }
  let i0 = (g / vx_dims[0].z);
  let i1 = g % vx_dims[0].y;
  let t0: f32 = in0[(i1 + (i0 * vx_dims[0].w))];
  out[g] = (vx_tanh(((t0 * 1.5f) + in1[i1])) * vx_sigmoid(t0));
}
`);
});

test('snapshot: a reduction loops inside the invocation of its output element', () => {
  const [src] = wgslOf((x) => np.max(np.exp(x), 1), np.ones([4, 8]));
  assert.fixture(src, `// exp+reduce_max: f32 -> f32, rank 1
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<uniform> vx_dims: array<vec4<i32>, 1>;
fn vx_f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }
fn vx_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn vx_nan() -> f32 { return vx_f32_bits(0x7fc00000u); }
// max with NaN propagation and max(-0, +0) = +0 (Math.max)
fn vx_fmax(a: f32, b: f32) -> f32 {
  if (vx_isnan(a) || vx_isnan(b)) { return vx_nan(); }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }
  return select(b, a, a > b);
}
// exp with IEEE edges: WGSL's exp may assume a finite operand (SwiftShader's exp(NaN) is +inf)
fn vx_exp(x: f32) -> f32 {
  if (vx_isnan(x)) { return x; }
  if (x == vx_f32_bits(0x7f800000u)) { return x; }
  if (x == vx_f32_bits(0xff800000u)) { return 0.0f; }
  return exp(x);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = i32(gid.x);
  if (g >= vx_dims[0].x) { return; }
  let i0 = g;
  var t0: f32 = vx_f32_bits(0xff800000u);
  for (var r0 = 0i; r0 < vx_dims[0].z; r0++) {
    t0 = vx_fmax(t0, vx_exp(in0[(r0 + (i0 * vx_dims[0].y))]));
  }
  out[g] = t0;
}
`);
});

test('snapshot: a long reduction is shared by a workgroup (strided partial argmax per invocation, then a tree in workgroup memory)', () => {
  const [src] = wgslOf((x) => np.argmax(x, 1), np.ones([2, 1000]));
  assert.fixture(src, `// argmax: f32 -> i32, rank 1 (workgroup reduction)
@group(0) @binding(0) var<storage, read_write> out: array<i32>;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<uniform> vx_dims: array<vec4<i32>, 3>;
var<workgroup> vx_sh_f32: array<f32, 256>;
var<workgroup> vx_shi: array<i32, 256>;
fn vx_f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }
fn vx_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = i32(wid.x);
  if (g >= vx_dims[0].x) { return; }
  let i0 = g;
  let ln = i32(lid);
  var vx_li0: i32;
  {
    var t0v: f32 = vx_f32_bits(0xff800000u);
    var t0: i32 = 0i;
    for (var vx_j0 = 0i; vx_j0 < vx_dims[1].y; vx_j0++) {
      let t1: i32 = ((vx_j0 * vx_dims[0].y) + ln);
      if (((t0v == t0v) && ((select(vx_f32_bits(0xff800000u), in0[(min(t1, vx_dims[0].w) + (i0 * vx_dims[1].x))], (t1 < vx_dims[0].z)) > t0v) || ((select(vx_f32_bits(0xff800000u), in0[(min(t1, vx_dims[0].w) + (i0 * vx_dims[1].x))], (t1 < vx_dims[0].z)) != select(vx_f32_bits(0xff800000u), in0[(min(t1, vx_dims[0].w) + (i0 * vx_dims[1].x))], (t1 < vx_dims[0].z))) || vx_isnan(select(vx_f32_bits(0xff800000u), in0[(min(t1, vx_dims[0].w) + (i0 * vx_dims[1].x))], (t1 < vx_dims[0].z))) || vx_isnan(select(vx_f32_bits(0xff800000u), in0[(min(t1, vx_dims[0].w) + (i0 * vx_dims[1].x))], (t1 < vx_dims[0].z))))))) { t0v = select(vx_f32_bits(0xff800000u), in0[(min(t1, vx_dims[0].w) + (i0 * vx_dims[1].x))], (t1 < vx_dims[0].z)); t0 = vx_j0; }
    }
    vx_li0 = ((t0 * vx_dims[1].z) + ln);
  }
  {
    vx_sh_f32[lid] = select(vx_f32_bits(0xff800000u), in0[(min(vx_li0, vx_dims[2].x) + (i0 * vx_dims[2].y))], (vx_li0 < vx_dims[1].w)); vx_shi[lid] = vx_li0;
  }
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      let a: f32 = vx_sh_f32[lid];
      let b: f32 = vx_sh_f32[lid + s];
      let ai = vx_shi[lid];
      let bi = vx_shi[lid + s];
      if ((vx_isnan(b) && (!vx_isnan(a) || bi < ai)) || (!vx_isnan(a) && !vx_isnan(b) && (b > a || (b == a && bi < ai)))) { vx_sh_f32[lid] = b; vx_shi[lid] = bi; }
    }
    workgroupBarrier();
  }
  let vx_red0: i32 = vx_shi[0];
  workgroupBarrier();
  {
    if (lid == 0u) { out[g] = vx_red0; }
  }
}
`);
});

test('snapshot: a gather wraps negative indices and clamps', () => {
  const [src] = wgslOf((x, i) => np.take(x, i, 1), np.ones([4, 8]), np.array([3, -1], 'int32'));
  assert.fixture(src, `// gather: i32, f32 -> f32, rank 2
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> in0: array<i32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(3) var<uniform> vx_dims: array<vec4<i32>, 2>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = i32(gid.x);
  if (g >= vx_dims[0].x) { return; }
  let i0 = (g / vx_dims[0].z);
  let i1 = g % vx_dims[0].y;
  let t0: i32 = in0[i1];
  out[g] = in1[((i0 * vx_dims[0].w) + max(min(select(t0, (t0 + vx_dims[1].x), (t0 < 0i)), vx_dims[1].y), 0i))];
}
`);
});

test('snapshot: the first-version matmul is a reduction over k per output element (a tiled routine replaces it)', () => {
  const k = matmulKernel({ batch: 2, m: 3, k: 4, n: 5, aBatchStride: 12, bBatchStride: 0 }, 'float32');
  assert.fixture(renderWgslKernel({ ...k, expr: canonicalKernelExpr(k.expr) }, { workgroupSize: 64, rowStride: 4194240 }), `// matmul: f32, f32 -> f32, rank 3
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(3) var<uniform> vx_dims: array<vec4<i32>, 3>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = i32(gid.x + gid.y * u32(vx_dims[0].x));
  if (g >= vx_dims[0].y) { return; }
  let i0 = (g / vx_dims[1].y);
  let i1 = (g / vx_dims[0].w) % vx_dims[1].x;
  let i2 = g % vx_dims[0].z;
  var t0: f32 = 0f;
  for (var r0 = 0i; r0 < vx_dims[2].y; r0++) {
    t0 = (t0 + (in0[(((i0 * vx_dims[1].z) + (i1 * vx_dims[1].w)) + r0)] * in1[((r0 * vx_dims[2].x) + i2)]));
  }
  out[g] = t0;
}
`);
});

test('snapshot: the matmul tile kernel (64×64 output tile, K step 16, 4×4 block per invocation, batch stride 0 broadcasts b)', () => {
  const src = matmulSource({ batch: 2, m: 70, k: 20, n: 5, aBatchStride: 1400, bBatchStride: 0 }, 'float32', GEMM_TILINGS[0]);
  assert.fixture(src, `// matmul (tiled 64×64×16, 4×4 per invocation): f32[2, 70, 5] = f32[70, 20] (batch stride 1400) @ f32[20, 5] (batch stride 0)
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
var<workgroup> tileA: array<f32, 1024>;
var<workgroup> tileB: array<f32, 1024>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let lid = i32(li);
  let tx = lid % 16;
  let ty = lid / 16;
  let grp = i32(wid.y) / 2;
  let row0 = (i32(wid.y) % 2) * 64;
  let col0 = i32(wid.x) * 64;
  let ak = lid % 16;
  let ar = lid / 16;
  let bc = lid % 64;
  let br = lid / 64;
  let bcol = col0 + bc;
  let aBase = grp * 1400;
  let bBase = grp * 0 + bcol;
  let outBase = grp * 350;
  var c0_0 = 0f; var c0_1 = 0f; var c0_2 = 0f; var c0_3 = 0f;
  var c1_0 = 0f; var c1_1 = 0f; var c1_2 = 0f; var c1_3 = 0f;
  var c2_0 = 0f; var c2_1 = 0f; var c2_2 = 0f; var c2_3 = 0f;
  var c3_0 = 0f; var c3_1 = 0f; var c3_2 = 0f; var c3_3 = 0f;
  for (var k0 = 0; k0 < 20; k0 += 16) {
    let ka = k0 + ak;
    for (var l = 0; l < 4; l++) {
      let r = ar + l * 16;
      var v = 0f;
      if (row0 + r < 70 && ka < 20) {
        v = a[aBase + (row0 + r) * 20 + ka];
      }
      tileA[ak * 64 + r] = v;
    }
    for (var l = 0; l < 4; l++) {
      let r = br + l * 4;
      let kb = k0 + r;
      var v = 0f;
      if (bcol < 5 && kb < 20) {
        v = b[bBase + kb * 5];
      }
      tileB[r * 64 + bc] = v;
    }
    workgroupBarrier();
    for (var kk = 0; kk < 16; kk++) {
      let a0 = tileA[kk * 64 + ty];
      let a1 = tileA[kk * 64 + ty + 16];
      let a2 = tileA[kk * 64 + ty + 32];
      let a3 = tileA[kk * 64 + ty + 48];
      let b0 = tileB[kk * 64 + tx];
      let b1 = tileB[kk * 64 + tx + 16];
      let b2 = tileB[kk * 64 + tx + 32];
      let b3 = tileB[kk * 64 + tx + 48];
      c0_0 = c0_0 + a0 * b0; c0_1 = c0_1 + a0 * b1; c0_2 = c0_2 + a0 * b2; c0_3 = c0_3 + a0 * b3;
      c1_0 = c1_0 + a1 * b0; c1_1 = c1_1 + a1 * b1; c1_2 = c1_2 + a1 * b2; c1_3 = c1_3 + a1 * b3;
      c2_0 = c2_0 + a2 * b0; c2_1 = c2_1 + a2 * b1; c2_2 = c2_2 + a2 * b2; c2_3 = c2_3 + a2 * b3;
      c3_0 = c3_0 + a3 * b0; c3_1 = c3_1 + a3 * b1; c3_2 = c3_2 + a3 * b2; c3_3 = c3_3 + a3 * b3;
    }
    workgroupBarrier();
  }
  {
    let row = row0 + ty;
    if (row < 70) {
      if ((col0 + tx) < 5) { out[outBase + row * 5 + (col0 + tx)] = c0_0; }
      if ((col0 + tx + 16) < 5) { out[outBase + row * 5 + (col0 + tx + 16)] = c0_1; }
      if ((col0 + tx + 32) < 5) { out[outBase + row * 5 + (col0 + tx + 32)] = c0_2; }
      if ((col0 + tx + 48) < 5) { out[outBase + row * 5 + (col0 + tx + 48)] = c0_3; }
    }
  }
  {
    let row = row0 + ty + 16;
    if (row < 70) {
      if ((col0 + tx) < 5) { out[outBase + row * 5 + (col0 + tx)] = c1_0; }
      if ((col0 + tx + 16) < 5) { out[outBase + row * 5 + (col0 + tx + 16)] = c1_1; }
      if ((col0 + tx + 32) < 5) { out[outBase + row * 5 + (col0 + tx + 32)] = c1_2; }
      if ((col0 + tx + 48) < 5) { out[outBase + row * 5 + (col0 + tx + 48)] = c1_3; }
    }
  }
  {
    let row = row0 + ty + 32;
    if (row < 70) {
      if ((col0 + tx) < 5) { out[outBase + row * 5 + (col0 + tx)] = c2_0; }
      if ((col0 + tx + 16) < 5) { out[outBase + row * 5 + (col0 + tx + 16)] = c2_1; }
      if ((col0 + tx + 32) < 5) { out[outBase + row * 5 + (col0 + tx + 32)] = c2_2; }
      if ((col0 + tx + 48) < 5) { out[outBase + row * 5 + (col0 + tx + 48)] = c2_3; }
    }
  }
  {
    let row = row0 + ty + 48;
    if (row < 70) {
      if ((col0 + tx) < 5) { out[outBase + row * 5 + (col0 + tx)] = c3_0; }
      if ((col0 + tx + 16) < 5) { out[outBase + row * 5 + (col0 + tx + 16)] = c3_1; }
      if ((col0 + tx + 32) < 5) { out[outBase + row * 5 + (col0 + tx + 32)] = c3_2; }
      if ((col0 + tx + 48) < 5) { out[outBase + row * 5 + (col0 + tx + 48)] = c3_3; }
    }
  }
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
  // int32 constants of 2 and more are shape parameters (never constant expressions); 0, 1 and
  // negative ones stay literals.
  assert.is(new WgslRenderer().constant(40, 'int32'), 'vx_dims[0].x');
  // Shifts by a literal count ≥ 32 as unsigned are masked (WGSL rejects them) and then selected away.
  const shl = renderWgslKernel({ inputs: ['int32'], outShape: [1], outDtype: 'int32', expr: bin('shl', load(0, outVar(0), 'int32'), cnst(-1, 'int32')), label: 'k' }, { workgroupSize: 64 });
  assert.match(shl, 'select(in0[i0] << (u32((-1i)) & 31u), 0i, u32((-1i)) >= 32u)');
});

test('inputs past packFrom are read from the packed buffer at offsets in the first parameters', () => {
  const dts: DType[] = ['float32', 'int32', 'uint32', 'bool'];
  const expr = dts.map((d, k) => cast(load(k, outVar(0), d), 'float32')).reduce((a, b) => bin('add', a, b));
  const prog = renderWgslProgram({ inputs: dts, outShape: [5], outDtype: 'float32', expr, label: 'k' }, { workgroupSize: 64, packFrom: 1 });
  assert.match(prog.source, '@group(0) @binding(1) var<storage, read> in0: array<f32>;');
  assert.match(prog.source, '@group(0) @binding(2) var<storage, read> vx_pk: array<u32>;');
  assert.match(prog.source, '@group(0) @binding(3) var<uniform> vx_dims: array<vec4<i32>, 1>;');
  assert.not.match(prog.source, 'in1');
  for (const s of ['bitcast<i32>(vx_pk[vx_dims[0].x + i0])', 'vx_pk[vx_dims[0].y + i0]', '(vx_pk[vx_dims[0].z + i0] != 0u)']) assert.match(prog.source, s);
  // Three offset slots (zero until the runtime fills them), then the output size.
  assert.equal(Array.from(prog.params), [0, 0, 0, 5]);
});

test('buffer pool size classes waste at most a quarter', () => {
  for (const bytes of [1, 16, 17, 256, 257, 1000, 4096, 5000, 1 << 20, (1 << 20) + 1, 123456789]) {
    const c = bucketBytes(bytes);
    assert.ok(c >= bytes && c % 16 === 0 && (bytes <= 256 ? c - bytes < 16 : c <= bytes * 1.25 + 16), `${bytes} → ${c}`);
  }
});

test.run();
