/**
 * The WebGPU backend: buffers are GPU storage buffers, kernels are rendered to WGSL
 * (`render/wgsl.ts`: one invocation per output element, or one workgroup per output element
 * for long reductions) and compiled once per source, and reads are asynchronous
 * (`await x.data()`).
 *
 * Loading: this module imports nothing native. `createWebGpuBackend` takes the browser's
 * `navigator.gpu`, or in Node imports the optional `webgpu` package (Dawn) on demand. Without
 * a GPU driver Dawn runs on its OpenGL backend over Mesa's llvmpipe, which needs
 * `EGL_PLATFORM=surfaceless` (set here when unset) and the compatibility feature level; the
 * device is requested with the adapter's larger compute limits (the defaults allow only 128
 * invocations per workgroup).
 *
 * Execution: `run` and `routine` encode a dispatch into the current command encoder; the
 * encoder is submitted when a read needs it, after 64 dispatches, before a buffer that pending
 * work uses is written or destroyed, and at the end of the current task (a microtask), so
 * synchronous eager code batches its kernels. Workgroups have 256 invocations (or the largest
 * power of two the device allows); an output with more workgroups than one dispatch dimension
 * allows is dispatched as a 2-D grid.
 *
 * Shape parameters: int32 constants of 2 and more (strides, sizes, offsets, reduction
 * lengths, the output size, the 2-D grid's row stride) are read from a uniform array
 * (`vx_dims`), so the source depends on a kernel's structure, not its shape, and one pipeline
 * serves every shape (a jit function called at several shapes compiles once). 0, 1 and
 * negative constants stay literals: a stride of 0 (broadcast) or 1 is structure, keyed on as
 * such. Pipelines are cached by source text (reduction variables renamed canonically); the
 * parameters of a batch's dispatches go into one 64 KiB uniform buffer at 256-byte aligned
 * offsets, written when the batch is submitted (queue writes are ordered after earlier
 * submissions, so the one buffer serves every batch). Rendered kernels are cached per Kernel
 * object (a jit program dispatches the same objects on every call).
 *
 * Tree reductions: a kernel whose longest reduction has at least 256 elements and whose
 * output has at most 16384 elements runs one workgroup per output element; invocation l
 * folds elements l, l + 256, … in order, then the partial results combine pairwise in
 * workgroup memory (a fixed order: deterministic), argmax/argmin as (value, index) pairs that
 * prefer the smaller index on ties and NaN as the oracle does (`render/wgsl.ts`). On an H200
 * this is 14–66× faster than one invocation looping (`bench/webgpu_runtime.ts`), and f32 sums
 * are as close to exact or far closer (Σexp over 128K: 0.012 vs 4.6 off an f64 sum); on
 * llvmpipe, whose barriers are costly and which vectorises a loop across invocations, it is
 * slower. `treeReductions: false` (a `WebGpuOptions` field) turns it off.
 *
 * Asynchronous compilation: `prepare(kernels)` compiles pipelines with
 * createComputePipelineAsync ahead of their first dispatch. Dispatch stays synchronous (eager
 * semantics: an op is encoded when called): a dispatch whose pipeline is still compiling
 * compiles it synchronously. jit does not call `prepare` by itself, since its first dispatch
 * follows lowering at once and would compile twice; callers that can wait (warm-up before a
 * loop, a UI) await `jit(f).lower(x).compile()`, which hands the program's kernels to it.
 *
 * Memory: buffers come from a pool bucketed by size (four classes per power of two, so at
 * most 25% is wasted); freed buffers go back to their bucket (up to `poolBytes` in all) and
 * are reused by the next allocation of that class. `memoryStats` counts live buffers and the
 * bytes they hold on the device (bools take 4 bytes); `poolStats` tells about the pool.
 *
 * Errors: every submitted batch runs inside `out-of-memory` and `validation` error scopes,
 * and generated shaders are checked with `getCompilationInfo`; device loss is watched. These
 * arrive asynchronously: the next read waits for them and throws a `DeviceError`, and so does
 * the next synchronous call once they have arrived. Requests beyond the device's limits throw
 * a `DeviceError` at once, naming the operation, the shape and the limit (buffer binding
 * size, dispatch size, workgroup memory, uniform binding size).
 *
 * Synchronous reads: `readSync` throws (`hostMemory` is false). `config.debugNans` copies each
 * float output aside (`checkNansLater`) and throws the NaN's `FloatingPointError` at the next
 * read; eager `cond`/`switch` with an index on the GPU runs every branch and selects; paths
 * that cannot work without reading (eager `whileLoop`, `np.repeat` with array repeats,
 * `np.array(x, dtype)` casts, `foriLoop` bounds given as GPU arrays) throw a `DeviceError`
 * naming the alternative.
 *
 * Routines: matmul (float32, int32, uint32) is a tiled GEMM in workgroup memory
 * (`render/wgsl_matmul.ts`: 64×64 tiles, 4×4 per invocation, sized from the device limits) and
 * conv an implicit GEMM on the same skeleton gathering its input tiles from NCHW
 * (`render/wgsl_conv.ts`); other dtypes, grids past the dispatch limit, empty convolution
 * windows and convolutions with both group kinds keep the kernel-IR path through the renderer. sort, cumulative, scatterAdd
 * and threefry are hand-written WGSL (`render/wgsl_routines.ts`). None reads back to the host.
 * Fused routines (`acceptsFused` / `fused`): attention (`render/wgsl_attention.ts`), which the
 * jit emits for matching chains (`kernel/attention_pattern.ts`) whose shapes fit a tiling.
 *
 * Bindings: a kernel binds its output and each input as a storage buffer, then its
 * parameters as a uniform buffer. One with more inputs than the device's
 * maxStorageBuffersPerShaderStage (16 on llvmpipe, 8 by default) binds the first ones
 * directly and copies the rest into one packed buffer (copies encoded before the dispatch;
 * the shader reads u32 words at offsets given as parameters and bitcasts them).
 *
 * Types: no 64-bit types. `shader-f16` is requested where the adapter offers it and reported
 * by `describe()`, but vidax has no float16 dtype (`dtype.ts`), so no kernel uses it.
 *
 * Lifetime: the backend keeps Dawn's `GPU` instance referenced (`keepAlive`). Collected while
 * its device is still in use, it frees state the device relies on, and the process dies at a
 * random later point (SIGSEGV, futex or std::system_error aborts) — seen with Dawn's OpenGL
 * backend; a plausible cause of the crashes reported with Vulkan software drivers.
 */
import { storageOf, type DType, type TypedArray } from '../../dtype.js';
import { DeviceError, ValueError } from '../../errors.js';
import { sizeClass } from '../size_class.js';
import { canonicalKernelExpr } from '../../kernel/canonical.js';
import type { Kernel } from '../../kernel/ir.js';
import type { AttentionParams, Backend, DeviceBuffer, FusedName, FusedParams, MemoryStats, RoutineName, RoutineParams } from '../backend.js';
import { planWgslKernel, renderWgslProgram, type WgslProgram } from '../render/wgsl.js';
import { convKernel, cumulativeSource, matmulKernel, scatterAddSource, sortSource, threefrySource, type RoutineGrid } from '../render/wgsl_routines.js';
import { convGemm, convSource } from '../render/wgsl_conv.js';
import { chooseGemmTiling, gemmGroups, hasTiledGemm, matmulSource, type GemmTiling } from '../render/wgsl_matmul.js';
import { attentionGroups, attentionSource, chooseAttentionTiling } from '../render/wgsl_attention.js';

// WebGPU's numeric flags (the GPUBufferUsage / GPUMapMode / GPUShaderStage globals are not
// defined in Node).
const STORAGE = 0x80, UNIFORM = 0x40, COPY_SRC = 0x4, COPY_DST = 0x8, MAP_READ_USAGE = 0x1, MAP_READ = 0x1, COMPUTE = 0x4;
/** Dispatches encoded before the batch is submitted anyway. */
const MAX_BATCH = 64;
const PREFERRED_WORKGROUP = 256;
/** Bytes of the per-batch parameter buffer (kernel shapes; see `params`). */
const PARAM_ARENA_BYTES = 65536;

export class WebGpuBuffer implements DeviceBuffer {
  readonly backend = 'webgpu' as const;
  /** Set once freed (a second free is an error). */
  freed = false;
  constructor(readonly dtype: DType, readonly size: number, readonly gpu: GPUBuffer, readonly cap: number) {}
}

export interface WebGpuOptions {
  /** Use this device instead of requesting one (its limits are used as they are). */
  readonly device?: GPUDevice;
  /** Options for `requestAdapter` (default: none, then the compatibility level in Node's fallback). */
  readonly adapterOptions?: GPURequestAdapterOptions;
  /**
   * Node only: options for the `webgpu` package's `create()` (Dawn toggles such as
   * `backend=vulkan`). By default the platform's native backend is tried first, then Dawn's
   * OpenGL backend at the compatibility feature level (the path for machines without a GPU).
   */
  readonly dawnOptions?: readonly string[];
  /** Bytes of freed buffers kept for reuse (default 256 MiB). */
  readonly poolBytes?: number;
  /** Run long reductions as workgroup (tree) reductions (default true; false for comparisons). */
  readonly treeReductions?: boolean;
}

export interface WebGpuInfo {
  /** The adapter, in words (vendor, architecture, device, description). */
  readonly adapter: string;
  /** Node's Dawn options that produced the adapter, or 'navigator.gpu'. */
  readonly via: string;
  readonly workgroupSize: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
  /**
   * Whether the adapter offers `shader-f16` (then requested with the device). vidax has no
   * float16 dtype, so no kernel uses it yet; it is reported for callers and future dtypes.
   */
  readonly shaderF16: boolean;
}

export interface PoolStats {
  /** Freed buffers kept for reuse and their bytes. */
  readonly pooledBuffers: number;
  readonly pooledBytes: number;
  /** GPU buffers created so far (pool misses). */
  readonly created: number;
  /** Distinct compiled pipelines. */
  readonly pipelines: number;
  /** Kernel dispatches that found their pipeline compiled (or compiling) / that compiled it. */
  readonly pipelineHits: number;
  readonly pipelineMisses: number;
  /** Pipelines compiled ahead of their first dispatch by `prepare` (createComputePipelineAsync). */
  readonly pipelinesPrepared: number;
}

interface Pipeline {
  /** Null while an asynchronous compilation is in flight (see `prepare`). */
  pipeline: GPUComputePipeline | null;
  readonly bindLayout: GPUBindGroupLayout;
  /** The asynchronous compilation, if one was started. */
  ready: Promise<void> | null;
}

/** A kernel as rendered for this device: source, parameters and dispatch size. */
interface KernelPlan {
  readonly program: WgslProgram;
  readonly groups: [number, number];
  /** Inputs from this index on are packed into one buffer (inputs.length: none). */
  readonly packFrom: number;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly hostMemory = false;
  readonly workgroupSize: number;
  private readonly maxGroups: number;
  private readonly maxBinding: number;
  private readonly maxBuffers: number;
  private readonly poolLimit: number;
  private pool = new Map<number, GPUBuffer[]>();
  private pooledBuffers = 0;
  private pooledBytes = 0;
  private created = 0;
  private live = 0;
  private liveBytes = 0;
  private pipelines = new Map<string, Pipeline>();
  private layouts = new Map<string, { bind: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>();
  /** Rendered kernels by Kernel object (jit programs dispatch the same objects every call). */
  private plans = new WeakMap<Kernel, KernelPlan>();
  private pipelineHits = 0;
  private pipelineMisses = 0;
  private pipelinesPrepared = 0;
  /** The batch's kernel parameters: written to `arena` when the batch is submitted. */
  private arena: GPUBuffer | null = null;
  private arenaData = new Int32Array(PARAM_ARENA_BYTES / 4);
  private arenaUsed = 0;
  private readonly paramAlign: number;
  private readonly maxWorkgroupStorage: number;
  private readonly treeReductions: boolean;
  private enc: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatches = 0;
  private batchLabels: string[] = [];
  /** GPU buffers bound by work encoded but not yet submitted. */
  private pending = new Set<GPUBuffer>();
  private deferredDestroy: GPUBuffer[] = [];
  private checks = new Set<Promise<void>>();
  private error: Error | null = null;
  private lost: string | null = null;
  /** Objects the device depends on (Dawn's instance and adapter in Node). */
  keepAlive: readonly unknown[] = [];

  constructor(readonly device: GPUDevice, readonly info: Omit<WebGpuInfo, 'workgroupSize' | 'maxStorageBufferBindingSize' | 'maxStorageBuffersPerShaderStage' | 'shaderF16'>, opts: WebGpuOptions = {}) {
    const l = device.limits;
    // A power of two (the workgroup reductions halve it).
    this.workgroupSize = 2 ** Math.floor(Math.log2(Math.min(PREFERRED_WORKGROUP, l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX)));
    this.paramAlign = l.minUniformBufferOffsetAlignment;
    this.maxWorkgroupStorage = l.maxComputeWorkgroupStorageSize;
    this.maxGroups = l.maxComputeWorkgroupsPerDimension;
    this.maxBinding = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
    this.maxBuffers = l.maxStorageBuffersPerShaderStage;
    this.poolLimit = opts.poolBytes ?? 256 * 2 ** 20;
    this.treeReductions = opts.treeReductions ?? true;
    device.lost.then((i) => {
      this.lost = `${i.reason}${i.message ? `: ${i.message}` : ''}`;
    });
    device.onuncapturederror = (e: GPUUncapturedErrorEvent) => this.fail(new DeviceError(`webgpu backend: ${e.error.message}`));
  }

  /** What the backend runs on and the limits it uses. */
  describe(): WebGpuInfo {
    return {
      ...this.info, workgroupSize: this.workgroupSize, maxStorageBufferBindingSize: this.maxBinding, maxStorageBuffersPerShaderStage: this.maxBuffers,
      shaderF16: this.device.features.has('shader-f16'),
    };
  }

  /** True once the device is lost (or destroyed); every later call throws. */
  get isLost(): boolean {
    return this.lost !== null;
  }

  // ---------------------------------------------------------------- errors

  private fail(e: Error): void {
    this.error ??= e;
  }
  private track(p: Promise<void>): void {
    const q = p.catch((e) => this.fail(e instanceof Error ? e : new DeviceError(String(e)))).finally(() => this.checks.delete(q));
    this.checks.add(q);
  }
  /** Wait for the error reports of everything submitted so far. */
  async settle(): Promise<void> {
    while (this.checks.size) await Promise.all([...this.checks]);
  }
  /** Throw the device's loss or the first error reported since the last check. */
  private healthy(op: string): void {
    if (this.lost !== null) throw new DeviceError(`webgpu backend: ${op}: the device was lost (${this.lost}); call initWebGpu() again for a new device`);
    const e = this.error;
    if (e) {
      this.error = null;
      throw e;
    }
  }
  private check(buf: DeviceBuffer, op: string): WebGpuBuffer {
    if (!(buf instanceof WebGpuBuffer)) throw new ValueError(`webgpu backend: ${op}: a ${buf.backend} buffer was passed to the webgpu backend; use devicePut`);
    if (buf.freed) throw new ValueError(`webgpu backend: ${op}: buffer used after it was freed`);
    return buf;
  }

  // ---------------------------------------------------------------- command batching

  private encoder(): GPUCommandEncoder {
    if (!this.enc) {
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.enc = this.device.createCommandEncoder();
      queueMicrotask(() => this.flush());
    }
    return this.enc;
  }

  /** Submit the encoded work (if any). */
  flush(): void {
    const enc = this.enc;
    if (!enc) return;
    this.pass?.end();
    this.pass = null;
    this.enc = null;
    const labels = this.batchLabels;
    this.batchLabels = [];
    this.dispatches = 0;
    // Queue writes are ordered after earlier submissions, so one arena serves every batch.
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arena!, 0, this.arenaData, 0, this.arenaUsed / 4);
    this.arenaUsed = 0;
    this.device.queue.submit([enc.finish()]);
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    const what = () => (labels.length ? `kernels ${[...new Set(labels)].slice(0, 8).join(', ')}${labels.length > 8 ? ', …' : ''}` : 'a copy');
    this.track(
      Promise.all([validation, oom]).then(([v, m]) => {
        if (m) this.fail(new DeviceError(`webgpu backend: out of GPU memory running ${what()}: ${m.message}`));
        if (v) this.fail(new DeviceError(`webgpu backend: the device rejected ${what()}: ${v.message}`));
      }),
    );
    this.pending.clear();
    for (const b of this.deferredDestroy) b.destroy();
    this.deferredDestroy = [];
  }

  /** Invocations → workgroups (a 2-D grid past the per-dimension limit). */
  private grid(threads: number, what = `${threads} invocations`): RoutineGrid & { groups: [number, number] } {
    const wg = this.workgroupSize;
    const groups = Math.max(1, Math.ceil(threads / wg));
    if (groups <= this.maxGroups) return { workgroupSize: wg, rowStride: null, groups: [groups, 1] };
    const gy = Math.ceil(groups / this.maxGroups);
    if (gy > this.maxGroups)
      throw new DeviceError(`webgpu backend: ${what} needs ${groups} workgroups of ${wg}; the device dispatches at most ${this.maxGroups}² (maxComputeWorkgroupsPerDimension ${this.maxGroups})`);
    return { workgroupSize: wg, rowStride: this.maxGroups * wg, groups: [this.maxGroups, gy] };
  }

  /** Bindings: the outputs, the inputs (storage buffers), then with `uniform` the parameter buffer. */
  private layout(nOut: number, nIn: number, uniform = false): { bind: GPUBindGroupLayout; pipeline: GPUPipelineLayout } {
    const key = `${nOut}:${nIn}:${uniform ? 'u' : ''}`;
    let l = this.layouts.get(key);
    if (!l) {
      const bind = this.device.createBindGroupLayout({
        entries: Array.from({ length: nOut + nIn + (uniform ? 1 : 0) }, (_, i) => ({
          binding: i, visibility: COMPUTE, buffer: { type: i < nOut ? 'storage' : i < nOut + nIn ? 'read-only-storage' : 'uniform' } as GPUBufferBindingLayout,
        })),
      });
      l = { bind, pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [bind] }) };
      this.layouts.set(key, l);
    }
    return l;
  }

  private pipeline(src: string, label: string, nOut: number, nIn: number, uniform = false): Pipeline {
    let p = this.pipelines.get(src);
    if (p) {
      this.pipelineHits++;
      if (!p.pipeline) {
        // Still compiling asynchronously: compile it now (Dawn returns its cached result).
        p.pipeline = this.device.createComputePipeline({ label, layout: this.layout(nOut, nIn, uniform).pipeline, compute: { module: this.module(src, label), entryPoint: 'main' } });
      }
      return p;
    }
    this.pipelineMisses++;
    const layout = this.layout(nOut, nIn, uniform);
    p = { pipeline: this.device.createComputePipeline({ label, layout: layout.pipeline, compute: { module: this.module(src, label), entryPoint: 'main' } }), bindLayout: layout.bind, ready: null };
    this.pipelines.set(src, p);
    return p;
  }

  /** A shader module, its compilation errors reported as a `DeviceError`. */
  private module(src: string, label: string): GPUShaderModule {
    const module = this.device.createShaderModule({ code: src, label });
    this.track(
      module.getCompilationInfo().then((info) => {
        const errors = info.messages.filter((m) => m.type === 'error');
        if (errors.length)
          this.fail(new DeviceError(`webgpu backend: the WGSL generated for '${label}' does not compile:\n${errors.map((m) => `  ${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}\n${src}`));
      }),
    );
    return module;
  }

  /**
   * Encode one dispatch: `outs` and `ins` bound as storage buffers in order, then, with
   * `params`, the parameter buffer (a slice of this batch's arena).
   */
  private dispatch(src: string, label: string, outs: readonly WebGpuBuffer[], ins: readonly WebGpuBuffer[], groups: readonly [number, number], params?: Int32Array): void {
    if (outs.length + ins.length > this.maxBuffers)
      throw new DeviceError(`webgpu backend: '${label}' binds ${outs.length + ins.length} buffers; the device allows ${this.maxBuffers} storage buffers per shader`);
    const uniform = params !== undefined && params.length > 0;
    let slice: GPUBufferBinding | null = null;
    if (uniform) {
      const bytes = params.length * 4;
      const limit = Math.min(PARAM_ARENA_BYTES, this.device.limits.maxUniformBufferBindingSize);
      if (bytes > limit) throw new DeviceError(`webgpu backend: '${label}' needs ${bytes} bytes of shape parameters; at most ${limit} fit one uniform binding (maxUniformBufferBindingSize)`);
      if (this.arenaUsed + bytes > PARAM_ARENA_BYTES) this.flush();
      this.arena ??= this.device.createBuffer({ size: PARAM_ARENA_BYTES, usage: UNIFORM | COPY_DST, label: 'vidax kernel parameters' });
      const offset = this.arenaUsed;
      this.arenaData.set(params, offset / 4);
      this.arenaUsed = Math.min(PARAM_ARENA_BYTES, Math.ceil((offset + bytes) / this.paramAlign) * this.paramAlign);
      slice = { buffer: this.arena, offset, size: bytes };
    }
    const enc = this.encoder();
    const { pipeline, bindLayout } = this.pipeline(src, label, outs.length, ins.length, uniform);
    const bufs = [...outs, ...ins];
    const entries: GPUBindGroupEntry[] = bufs.map((b, i) => ({ binding: i, resource: { buffer: b.gpu } }));
    if (slice) entries.push({ binding: bufs.length, resource: slice });
    const group = this.device.createBindGroup({ layout: bindLayout, entries });
    this.pass ??= enc.beginComputePass();
    this.pass.setPipeline(pipeline!);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(groups[0], groups[1]);
    for (const b of bufs) this.pending.add(b.gpu);
    this.batchLabels.push(label);
    if (++this.dispatches >= MAX_BATCH) this.flush();
  }

  /**
   * How a kernel runs here: a workgroup reduction or one invocation per output, the dispatch
   * grid, and whether inputs are packed (more inputs than storage bindings: the output, the
   * first inputs and one packed buffer fill them).
   */
  private plan(kernel: Kernel): KernelPlan {
    const known = this.plans.get(kernel);
    if (known) return known;
    const n = kernel.outShape.reduce((a, b) => a * b, 1);
    const shape = `${kernel.outDtype}[${kernel.outShape.join(', ')}]`;
    const plan = planWgslKernel(kernel, this.workgroupSize);
    const tree = plan.tree && this.treeReductions;
    const invocations = tree ? plan.invocations : n;
    if (tree && this.workgroupSize * 8 > this.maxWorkgroupStorage)
      throw new DeviceError(`webgpu backend: kernel '${kernel.label}' (${shape}) needs ${this.workgroupSize * 8} bytes of workgroup memory; the device allows ${this.maxWorkgroupStorage} (maxComputeWorkgroupStorageSize)`);
    const { workgroupSize, rowStride, groups } = this.grid(invocations, `kernel '${kernel.label}' (${shape}, ${n} elements)`);
    const packFrom = 1 + kernel.inputs.length > this.maxBuffers ? this.maxBuffers - 2 : kernel.inputs.length;
    const program = renderWgslProgram({ ...kernel, expr: canonicalKernelExpr(kernel.expr) }, { workgroupSize, rowStride, packFrom, tree });
    const p = { program, groups, packFrom };
    this.plans.set(kernel, p);
    return p;
  }

  // ---------------------------------------------------------------- Backend

  alloc(dtype: DType, size: number): WebGpuBuffer {
    this.healthy('alloc');
    const bytes = size * 4;
    if (bytes > this.maxBinding)
      throw new DeviceError(`webgpu backend: a ${dtype}[${size}] buffer needs ${bytes} bytes; the device binds at most ${this.maxBinding} bytes per buffer (maxStorageBufferBindingSize)`);
    let cap = sizeClass(bytes);
    if (cap > this.maxBinding) cap = Math.max(16, Math.ceil(bytes / 16) * 16);
    let gpu = this.pool.get(cap)?.pop();
    if (gpu) {
      this.pooledBuffers--;
      this.pooledBytes -= cap;
    } else {
      gpu = this.device.createBuffer({ size: cap, usage: STORAGE | COPY_SRC | COPY_DST });
      this.created++;
    }
    this.live++;
    this.liveBytes += bytes;
    return new WebGpuBuffer(dtype, size, gpu, cap);
  }

  upload(dtype: DType, data: TypedArray): WebGpuBuffer {
    const b = this.alloc(dtype, data.length);
    if (data.length > 0) {
      // writeBuffer runs before work not yet submitted: submit the work that uses this buffer first.
      if (this.pending.has(b.gpu)) this.flush();
      // Bools become u32; views of shared memory (the wasm backend's) are copied out first.
      const src = dtype === 'bool' ? Uint32Array.from(data) : data.buffer instanceof ArrayBuffer ? data : data.slice();
      this.device.queue.writeBuffer(b.gpu, 0, src as Float32Array<ArrayBuffer>);
    }
    return b;
  }

  free(buf: DeviceBuffer): void {
    const b = this.check(buf, 'free');
    b.freed = true;
    this.live--;
    this.liveBytes -= b.size * 4;
    if (this.lost !== null) return;
    if (this.pooledBytes + b.cap <= this.poolLimit) {
      const list = this.pool.get(b.cap);
      if (list) list.push(b.gpu);
      else this.pool.set(b.cap, [b.gpu]);
      this.pooledBuffers++;
      this.pooledBytes += b.cap;
    } else if (this.pending.has(b.gpu)) this.deferredDestroy.push(b.gpu);
    else b.gpu.destroy();
  }

  /** A mappable copy of `b`, encoded after the work already queued, and the batch submitted. */
  private copyToStaging(b: WebGpuBuffer): GPUBuffer {
    const bytes = b.size * 4;
    const staging = this.device.createBuffer({ size: bytes, usage: MAP_READ_USAGE | COPY_DST });
    const enc = this.encoder();
    this.pass?.end();
    this.pass = null;
    enc.copyBufferToBuffer(b.gpu, 0, staging, 0, bytes);
    this.pending.add(b.gpu);
    this.flush();
    return staging;
  }

  async read(buf: DeviceBuffer): Promise<TypedArray> {
    const b = this.check(buf, 'read');
    this.healthy('read');
    const Storage = storageOf(b.dtype);
    if (b.size === 0) return new Storage(0);
    const staging = this.copyToStaging(b);
    let raw: ArrayBuffer;
    try {
      await staging.mapAsync(MAP_READ);
      raw = staging.getMappedRange().slice(0);
      staging.unmap();
    } catch (e) {
      await this.settle();
      this.healthy('read');
      throw new DeviceError(`webgpu backend: reading a ${b.dtype}[${b.size}] buffer failed: ${(e as Error).message ?? e}`);
    } finally {
      staging.destroy();
    }
    // Errors of the work that produced the value arrive with (or just after) the data.
    await this.settle();
    this.healthy('read');
    if (b.dtype === 'bool') return Uint8Array.from(new Uint32Array(raw));
    return viewAs(b.dtype, raw);
  }

  readSync(_buf: DeviceBuffer): TypedArray {
    throw new DeviceError(
      'webgpu backend: arrays on the GPU cannot be read synchronously (dataSync, item, toNested, toString, printing, Number(x)); ' +
        "use `await x.data()`, or `await devicePut(x, 'cpu')` for an array on the CPU",
    );
  }

  /** The WGSL a kernel is compiled to on this device (shape-dependent values are in `kernelParams`). */
  source(kernel: Kernel): string {
    return this.plan(kernel).program.source;
  }
  /** The parameter values a kernel's dispatch reads (packed inputs' offsets aside). */
  kernelParams(kernel: Kernel): Int32Array {
    return this.plan(kernel).program.params;
  }

  run(kernel: Kernel, inputs: readonly DeviceBuffer[], out: DeviceBuffer): void {
    this.healthy(kernel.label);
    const o = this.check(out, 'run');
    const ins = inputs.map((b) => this.check(b, 'run'));
    const n = kernel.outShape.reduce((a, b) => a * b, 1);
    if (o.size < n || o.dtype !== kernel.outDtype)
      throw new ValueError(`webgpu backend: kernel '${kernel.label}' writes ${kernel.outDtype}[${n}] into a ${o.dtype}[${o.size}] buffer`);
    if (ins.length !== kernel.inputs.length)
      throw new ValueError(`webgpu backend: kernel '${kernel.label}' reads ${kernel.inputs.length} inputs, got ${ins.length} buffers`);
    if (n === 0) return;
    const { program, groups, packFrom } = this.plan(kernel);
    if (packFrom === ins.length) return this.dispatch(program.source, kernel.label, [o], ins, groups, program.params);
    // Pack the remaining inputs into one buffer (copies encoded before the dispatch) and pass
    // their offsets in the first parameters.
    const rest = ins.slice(packFrom);
    const total = rest.reduce((a, b) => a + b.size, 0);
    if (total * 4 > this.maxBinding)
      throw new DeviceError(`webgpu backend: kernel '${kernel.label}' (${kernel.outDtype}[${kernel.outShape.join(', ')}]) reads ${ins.length} inputs; the ${rest.length} past the device's ${this.maxBuffers} storage bindings are packed into one buffer of ${total * 4} bytes, over maxStorageBufferBindingSize (${this.maxBinding})`);
    const pk = this.alloc('uint32', Math.max(total, 1));
    const params = program.params.slice();
    const enc = this.encoder();
    this.pass?.end();
    this.pass = null;
    let off = 0;
    rest.forEach((b, k) => {
      params[k] = off;
      if (b.size > 0) enc.copyBufferToBuffer(b.gpu, 0, pk.gpu, off * 4, b.size * 4);
      this.pending.add(b.gpu);
      off += b.size;
    });
    this.pending.add(pk.gpu);
    try {
      this.dispatch(program.source, kernel.label, [o], [...ins.slice(0, packFrom), pk], groups, params);
    } finally {
      // Back to the pool: later work that reuses it is encoded after this dispatch.
      this.free(pk);
    }
  }

  /**
   * Compile the pipelines of these kernels ahead of their first dispatch, asynchronously
   * (createComputePipelineAsync), so a jit program's first call does not wait for each
   * shader in turn. Dispatches stay synchronous: one that finds its pipeline still compiling
   * compiles it at once (the driver reuses the work in flight where it can). Resolves when all
   * are compiled; failures surface as `DeviceError`s like any compilation error.
   */
  prepare(kernels: readonly Kernel[]): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const kernel of kernels) {
      if (kernel.outShape.some((d) => d === 0)) continue;
      let plan: KernelPlan;
      try {
        plan = this.plan(kernel);
      } catch {
        continue; // the dispatch reports it, naming the kernel
      }
      const src = plan.program.source;
      if (this.pipelines.has(src)) continue;
      const nIn = Math.min(kernel.inputs.length, plan.packFrom + 1);
      const uniform = plan.program.params.length > 0;
      const layout = this.layout(1, nIn, uniform);
      const entry: Pipeline = { pipeline: null, bindLayout: layout.bind, ready: null };
      entry.ready = this.device
        .createComputePipelineAsync({ label: kernel.label, layout: layout.pipeline, compute: { module: this.module(src, kernel.label), entryPoint: 'main' } })
        .then(
          (p) => {
            entry.pipeline ??= p;
            this.pipelinesPrepared++;
          },
          (e: unknown) => {
            // Leave it to the synchronous path (which reports the error through the error scopes).
            if (this.pipelines.get(src) === entry && !entry.pipeline) this.pipelines.delete(src);
            this.fail(new DeviceError(`webgpu backend: compiling '${kernel.label}' failed: ${(e as Error).message ?? e}`));
          },
        );
      this.pipelines.set(src, entry);
      jobs.push(entry.ready);
    }
    return Promise.all(jobs).then(() => undefined);
  }

  /**
   * `config.debugNans` without synchronous reads: copy the float buffer aside now and, once it
   * is read back, record `error(flatIndex)` for its first NaN; the next read (or the next
   * call after it arrived) throws it.
   */
  checkNansLater(buf: DeviceBuffer, error: (flatIndex: number) => Error): void {
    const b = this.check(buf, 'debugNans');
    if (b.size === 0 || b.dtype !== 'float32') return;
    const staging = this.copyToStaging(b);
    this.track(
      staging.mapAsync(MAP_READ).then(
        () => {
          const at = new Float32Array(staging.getMappedRange()).findIndex((v) => Number.isNaN(v));
          staging.unmap();
          staging.destroy();
          if (at >= 0) this.fail(error(at));
        },
        () => staging.destroy(), // the device reports its own error
      ),
    );
  }

  routine<R extends RoutineName>(name: R, inputs: readonly DeviceBuffer[], outputs: readonly DeviceBuffer[], params: RoutineParams[R]): void {
    this.healthy(name);
    const ins = inputs.map((b) => this.check(b, name));
    const outs = outputs.map((b) => this.check(b, name));
    const raw = (threads: number, src: (g: RoutineGrid) => string) => {
      if (threads === 0) return;
      const g = this.grid(threads);
      this.dispatch(src(g), name, outs, ins, g.groups);
    };
    // Tiled GEMM (matmul, implicit-GEMM conv) where the dtype, device limits and grid allow; else the kernel-IR path.
    const tiled = (m: number, n: number, groups: number, src: (t: GemmTiling) => string | null): boolean => {
      const t = hasTiledGemm(outs[0].dtype) ? chooseGemmTiling(this.device.limits) : null;
      if (!t) return false;
      const groupsXY = gemmGroups(t, m, n, groups);
      if (groupsXY[0] > this.maxGroups || groupsXY[1] > this.maxGroups) return false;
      if (m * n * groups === 0) return true;
      const s = src(t);
      if (s === null) return false;
      this.dispatch(s, name, outs, ins, groupsXY);
      return true;
    };
    switch (name) {
      case 'matmul': {
        const p = params as RoutineParams['matmul'];
        if (tiled(p.m, p.n, p.batch, (t) => matmulSource(p, outs[0].dtype, t))) return;
        return this.run(matmulKernel(p, outs[0].dtype), ins, outs[0]);
      }
      case 'conv': {
        const p = params as RoutineParams['conv'];
        const g = convGemm(p);
        if (g && g.k > 0 && tiled(g.m, g.n, g.groups, (t) => convSource(p, outs[0].dtype, t))) return;
        return this.run(convKernel(p, outs[0].dtype), ins, outs[0]);
      }
      case 'sort': {
        const p = params as RoutineParams['sort'];
        return raw(p.rows * p.n, (g) => sortSource(p, ins[0].dtype, ins[1]?.dtype ?? null, g));
      }
      case 'cumulative': {
        const p = params as RoutineParams['cumulative'];
        return raw(p.outer * p.inner, (g) => cumulativeSource(p, outs[0].dtype, g));
      }
      case 'scatterAdd': {
        const p = params as RoutineParams['scatterAdd'];
        return raw(p.outer * p.n * p.inner, (g) => scatterAddSource(p, outs[0].dtype, g));
      }
      case 'threefry': {
        const p = params as RoutineParams['threefry'];
        return raw(p.size, (g) => threefrySource(p, g));
      }
      default:
        throw new ValueError(`webgpu backend: unknown routine ${name}`);
    }
  }

  /** Fused attention (`render/wgsl_attention.ts`) where a tiling fits the shapes and the device. */
  acceptsFused<F extends FusedName>(name: F, params: FusedParams[F]): boolean {
    if (name !== 'attention') return false;
    const p = params as AttentionParams;
    return p.lk > 0 && chooseAttentionTiling(p, this.device.limits) !== null;
  }

  fused<F extends FusedName>(name: F, inputs: readonly DeviceBuffer[], outputs: readonly DeviceBuffer[], params: FusedParams[F]): void {
    this.healthy(name);
    const p = params as AttentionParams;
    const t = name === 'attention' && p.lk > 0 ? chooseAttentionTiling(p, this.device.limits) : null;
    if (!t) throw new ValueError(`webgpu backend: fused routine '${name}' does not accept ${JSON.stringify(params)}`);
    if (p.batch * p.lq * p.dv === 0) return;
    const ins = inputs.map((b) => this.check(b, name));
    const outs = outputs.map((b) => this.check(b, name));
    this.dispatch(attentionSource(p, t), name, outs, ins, attentionGroups(p, t));
  }

  memoryStats(): MemoryStats {
    return { buffers: this.live, bytes: this.liveBytes };
  }
  poolStats(): PoolStats {
    return {
      pooledBuffers: this.pooledBuffers, pooledBytes: this.pooledBytes, created: this.created, pipelines: this.pipelines.size,
      pipelineHits: this.pipelineHits, pipelineMisses: this.pipelineMisses, pipelinesPrepared: this.pipelinesPrepared,
    };
  }
  /** Destroy the pooled buffers (live ones stay). */
  trimPool(): void {
    this.flush();
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.pooledBuffers = 0;
    this.pooledBytes = 0;
  }
  /** Release the device; the backend is unusable afterwards. */
  destroy(): void {
    this.flush();
    this.device.destroy();
  }
}

function viewAs(dtype: DType, raw: ArrayBuffer): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(raw);
    case 'int32': return new Int32Array(raw);
    default: return new Uint32Array(raw);
  }
}

// ------------------------------------------------------------------ creating a device

/** The `webgpu` package's module shape (Dawn for Node). */
interface DawnModule {
  create(options: string[]): GPU;
}

/** Request an adapter and a device (browser: navigator.gpu; Node: the optional `webgpu` package) and wrap them. */
export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  if (opts.device) return new WebGpuBackend(opts.device, { adapter: 'the given device', via: 'options.device' }, opts);
  const attempts: { gpu: () => Promise<GPU>; via: string; adapterOptions: GPURequestAdapterOptions | undefined }[] = [];
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) attempts.push({ gpu: async () => nav.gpu!, via: 'navigator.gpu', adapterOptions: opts.adapterOptions });
  else {
    const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';
    if (!isNode) throw new DeviceError('initWebGpu: this environment has no WebGPU (navigator.gpu is missing)');
    // Mesa's EGL needs a platform to run without a display (Dawn's OpenGL backend on llvmpipe).
    process.env.EGL_PLATFORM ??= 'surfaceless';
    let mod: DawnModule;
    try {
      const name = 'webgpu';
      mod = (await import(name)) as DawnModule;
    } catch (e) {
      throw new DeviceError(
        `initWebGpu: Node has no WebGPU of its own and the optional package 'webgpu' (Dawn) could not be loaded (${(e as Error).message}); install it with \`npm install webgpu\``,
      );
    }
    const options = opts.dawnOptions
      ? [{ dawn: [...opts.dawnOptions], adapterOptions: opts.adapterOptions }]
      : [
          { dawn: [], adapterOptions: opts.adapterOptions },
          { dawn: ['backend=opengl'], adapterOptions: { ...opts.adapterOptions, featureLevel: 'compatibility' } as GPURequestAdapterOptions },
        ];
    for (const o of options)
      attempts.push({ gpu: async () => mod.create(o.dawn), via: `webgpu (Dawn) create(${JSON.stringify(o.dawn)})${o.adapterOptions?.featureLevel ? `, featureLevel ${o.adapterOptions.featureLevel}` : ''}`, adapterOptions: o.adapterOptions });
  }
  const tried: string[] = [];
  for (const a of attempts) {
    let adapter: GPUAdapter | null = null;
    let gpu: GPU;
    try {
      gpu = await a.gpu();
      adapter = await gpu.requestAdapter(a.adapterOptions);
    } catch (e) {
      tried.push(`${a.via}: ${(e as Error).message}`);
      continue;
    }
    if (!adapter) {
      tried.push(`${a.via}: no adapter`);
      continue;
    }
    const l = adapter.limits;
    const requiredLimits: Record<string, number> = {
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxUniformBufferBindingSize: l.maxUniformBufferBindingSize,
    };
    let device: GPUDevice;
    try {
      // shader-f16 where offered (reported by describe(); no vidax dtype is 16-bit yet).
      const requiredFeatures: GPUFeatureName[] = adapter.features.has('shader-f16') ? ['shader-f16'] : [];
      device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    } catch (e) {
      tried.push(`${a.via}: requestDevice failed: ${(e as Error).message}`);
      continue;
    }
    const i = adapter.info;
    const adapterName = [i?.vendor, i?.architecture, i?.device, i?.description].filter((s) => s).join(' ') || 'unknown adapter';
    const backend = new WebGpuBackend(device, { adapter: adapterName, via: a.via }, opts);
    // Dawn's device must not outlive its instance: a collected GPU object (Node) frees state
    // the device still uses, and the process crashes at a later, random point.
    backend.keepAlive = [gpu, adapter];
    return backend;
  }
  throw new DeviceError(`initWebGpu: no WebGPU adapter (tried ${tried.join('; ')})`);
}
