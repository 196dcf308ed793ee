/**
 * The WebGPU backend: buffers are GPU storage buffers, kernels are rendered to WGSL
 * (`render/wgsl.ts`, one invocation per output element) and compiled once per source, and
 * reads are asynchronous (`await x.data()`).
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
 * synchronous eager code batches its kernels. Workgroups have 256 invocations (or the device's
 * maximum if lower); an output with more workgroups than one dispatch dimension allows is
 * dispatched as a 2-D grid whose row stride is baked into the shader.
 *
 * Shapes are baked into the WGSL as constants (strides, sizes, reduction lengths), so each
 * shape gets its own pipeline; pipelines are cached by source text (after renaming reduction
 * variables canonically, so equal kernels hit the cache).
 *
 * Memory: buffers come from a pool bucketed by size (four classes per power of two, so at
 * most 25% is wasted); freed buffers go back to their bucket (up to `poolBytes` in all) and
 * are reused by the next allocation of that class. `memoryStats` counts live buffers and the
 * bytes they hold on the device (bools take 4 bytes); `poolStats` tells about the pool.
 *
 * Errors: every submitted batch runs inside `out-of-memory` and `validation` error scopes,
 * and generated shaders are checked with `getCompilationInfo`; device loss is watched. These
 * arrive asynchronously: the next read waits for them and throws a `DeviceError`, and so does
 * the next synchronous call once they have arrived. Requests beyond the device's limits
 * (buffer binding size, dispatch size) throw at once.
 *
 * Routines: matmul and conv are kernel IR through the same renderer; sort, cumulative,
 * scatterAdd and threefry are hand-written WGSL (`render/wgsl_routines.ts`). None reads back to
 * the host. They are first versions (no tiling or shared memory).
 *
 * Limits: a kernel binds its output and each input as a storage buffer; one with more inputs
 * than the device's maxStorageBuffersPerShaderStage (16 here, 8 by default) throws a
 * `DeviceError` (packing inputs into one buffer is future work). No f16, no 64-bit types.
 *
 * Lifetime: the backend keeps Dawn's `GPU` instance referenced (`keepAlive`). Collected while
 * its device is still in use, it frees state the device relies on, and the process dies at a
 * random later point (SIGSEGV, futex or std::system_error aborts) — seen with Dawn's OpenGL
 * backend; a plausible cause of the crashes reported with Vulkan software drivers.
 */
import { storageOf, type DType, type TypedArray } from '../../dtype.js';
import { DeviceError, ValueError } from '../../errors.js';
import { canonicalKernelExpr } from '../../kernel/canonical.js';
import type { Kernel } from '../../kernel/ir.js';
import type { Backend, DeviceBuffer, MemoryStats, RoutineName, RoutineParams } from '../backend.js';
import { renderWgslKernel } from '../render/wgsl.js';
import { convKernel, cumulativeSource, matmulKernel, scatterAddSource, sortSource, threefrySource, type RoutineGrid } from '../render/wgsl_routines.js';

// WebGPU's numeric flags (the GPUBufferUsage / GPUMapMode / GPUShaderStage globals are not
// defined in Node).
const STORAGE = 0x80, COPY_SRC = 0x4, COPY_DST = 0x8, MAP_READ_USAGE = 0x1, MAP_READ = 0x1, COMPUTE = 0x4;
/** Dispatches encoded before the batch is submitted anyway. */
const MAX_BATCH = 64;
const PREFERRED_WORKGROUP = 256;

export class WebGpuBuffer implements DeviceBuffer {
  readonly backend = 'webgpu' as const;
  /** Set once freed (a second free is an error). */
  freed = false;
  constructor(readonly dtype: DType, readonly size: number, readonly gpu: GPUBuffer, readonly cap: number) {}
}

/** The storage class of a request: 16-byte multiples up to 256 bytes, then four classes per power of two. */
export function bucketBytes(bytes: number): number {
  const n = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (n <= 256) return n;
  const step = 2 ** (Math.floor(Math.log2(n - 1)) - 2);
  return Math.ceil(n / step) * step;
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
}

export interface WebGpuInfo {
  /** The adapter, in words (vendor, architecture, device, description). */
  readonly adapter: string;
  /** Node's Dawn options that produced the adapter, or 'navigator.gpu'. */
  readonly via: string;
  readonly workgroupSize: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
}

export interface PoolStats {
  /** Freed buffers kept for reuse and their bytes. */
  readonly pooledBuffers: number;
  readonly pooledBytes: number;
  /** GPU buffers created so far (pool misses). */
  readonly created: number;
  /** Distinct compiled pipelines. */
  readonly pipelines: number;
}

interface Pipeline {
  readonly pipeline: GPUComputePipeline;
  readonly bindLayout: GPUBindGroupLayout;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
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

  constructor(readonly device: GPUDevice, readonly info: Omit<WebGpuInfo, 'workgroupSize' | 'maxStorageBufferBindingSize' | 'maxStorageBuffersPerShaderStage'>, opts: WebGpuOptions = {}) {
    const l = device.limits;
    this.workgroupSize = Math.min(PREFERRED_WORKGROUP, l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX);
    this.maxGroups = l.maxComputeWorkgroupsPerDimension;
    this.maxBinding = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
    this.maxBuffers = l.maxStorageBuffersPerShaderStage;
    this.poolLimit = opts.poolBytes ?? 256 * 2 ** 20;
    device.lost.then((i) => {
      this.lost = `${i.reason}${i.message ? `: ${i.message}` : ''}`;
    });
    device.onuncapturederror = (e: GPUUncapturedErrorEvent) => this.fail(new DeviceError(`webgpu backend: ${e.error.message}`));
  }

  /** What the backend runs on and the limits it uses. */
  describe(): WebGpuInfo {
    return { ...this.info, workgroupSize: this.workgroupSize, maxStorageBufferBindingSize: this.maxBinding, maxStorageBuffersPerShaderStage: this.maxBuffers };
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
  private grid(threads: number): RoutineGrid & { groups: [number, number] } {
    const wg = this.workgroupSize;
    const groups = Math.max(1, Math.ceil(threads / wg));
    if (groups <= this.maxGroups) return { workgroupSize: wg, rowStride: null, groups: [groups, 1] };
    const gy = Math.ceil(groups / this.maxGroups);
    if (gy > this.maxGroups)
      throw new DeviceError(`webgpu backend: ${threads} invocations exceed the device's dispatch limit (${this.maxGroups}² workgroups of ${wg})`);
    return { workgroupSize: wg, rowStride: this.maxGroups * wg, groups: [this.maxGroups, gy] };
  }

  private layout(nOut: number, nIn: number): { bind: GPUBindGroupLayout; pipeline: GPUPipelineLayout } {
    const key = `${nOut}:${nIn}`;
    let l = this.layouts.get(key);
    if (!l) {
      const bind = this.device.createBindGroupLayout({
        entries: Array.from({ length: nOut + nIn }, (_, i) => ({ binding: i, visibility: COMPUTE, buffer: { type: i < nOut ? 'storage' : 'read-only-storage' } })),
      });
      l = { bind, pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [bind] }) };
      this.layouts.set(key, l);
    }
    return l;
  }

  private pipeline(src: string, label: string, nOut: number, nIn: number): Pipeline {
    let p = this.pipelines.get(src);
    if (p) return p;
    const layout = this.layout(nOut, nIn);
    const module = this.device.createShaderModule({ code: src, label });
    this.track(
      module.getCompilationInfo().then((info) => {
        const errors = info.messages.filter((m) => m.type === 'error');
        if (errors.length)
          this.fail(new DeviceError(`webgpu backend: the WGSL generated for '${label}' does not compile:\n${errors.map((m) => `  ${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}\n${src}`));
      }),
    );
    p = { pipeline: this.device.createComputePipeline({ label, layout: layout.pipeline, compute: { module, entryPoint: 'main' } }), bindLayout: layout.bind };
    this.pipelines.set(src, p);
    return p;
  }

  private dispatch(src: string, label: string, outs: readonly WebGpuBuffer[], ins: readonly WebGpuBuffer[], groups: readonly [number, number]): void {
    if (outs.length + ins.length > this.maxBuffers)
      throw new DeviceError(`webgpu backend: '${label}' binds ${outs.length + ins.length} buffers; the device allows ${this.maxBuffers} storage buffers per shader`);
    const enc = this.encoder();
    const { pipeline, bindLayout } = this.pipeline(src, label, outs.length, ins.length);
    const bufs = [...outs, ...ins];
    const group = this.device.createBindGroup({ layout: bindLayout, entries: bufs.map((b, i) => ({ binding: i, resource: { buffer: b.gpu } })) });
    this.pass ??= enc.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(groups[0], groups[1]);
    for (const b of bufs) this.pending.add(b.gpu);
    this.batchLabels.push(label);
    if (++this.dispatches >= MAX_BATCH) this.flush();
  }

  // ---------------------------------------------------------------- Backend

  alloc(dtype: DType, size: number): WebGpuBuffer {
    this.healthy('alloc');
    const bytes = size * 4;
    if (bytes > this.maxBinding)
      throw new DeviceError(`webgpu backend: a ${dtype}[${size}] buffer needs ${bytes} bytes; the device binds at most ${this.maxBinding} bytes per buffer (maxStorageBufferBindingSize)`);
    let cap = bucketBytes(bytes);
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

  async read(buf: DeviceBuffer): Promise<TypedArray> {
    const b = this.check(buf, 'read');
    this.healthy('read');
    const Storage = storageOf(b.dtype);
    if (b.size === 0) return new Storage(0);
    const bytes = b.size * 4;
    const staging = this.device.createBuffer({ size: bytes, usage: MAP_READ_USAGE | COPY_DST });
    const enc = this.encoder();
    this.pass?.end();
    this.pass = null;
    enc.copyBufferToBuffer(b.gpu, 0, staging, 0, bytes);
    this.flush();
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

  /** The WGSL a kernel is compiled to (for its output size on this device). */
  source(kernel: Kernel): string {
    const n = kernel.outShape.reduce((a, b) => a * b, 1);
    const { workgroupSize, rowStride } = this.grid(n);
    return renderWgslKernel({ ...kernel, expr: canonicalKernelExpr(kernel.expr) }, { workgroupSize, rowStride });
  }

  run(kernel: Kernel, inputs: readonly DeviceBuffer[], out: DeviceBuffer): void {
    this.healthy(kernel.label);
    const o = this.check(out, 'run');
    const ins = inputs.map((b) => this.check(b, 'run'));
    const n = kernel.outShape.reduce((a, b) => a * b, 1);
    if (o.size < n || o.dtype !== kernel.outDtype)
      throw new ValueError(`webgpu backend: kernel '${kernel.label}' writes ${kernel.outDtype}[${n}] into a ${o.dtype}[${o.size}] buffer`);
    if (n === 0) return;
    this.dispatch(this.source(kernel), kernel.label, [o], ins, this.grid(n).groups);
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
    switch (name) {
      case 'matmul':
        return this.run(matmulKernel(params as RoutineParams['matmul'], outs[0].dtype), ins, outs[0]);
      case 'conv':
        return this.run(convKernel(params as RoutineParams['conv'], outs[0].dtype), ins, outs[0]);
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

  memoryStats(): MemoryStats {
    return { buffers: this.live, bytes: this.liveBytes };
  }
  poolStats(): PoolStats {
    return { pooledBuffers: this.pooledBuffers, pooledBytes: this.pooledBytes, created: this.created, pipelines: this.pipelines.size };
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
    };
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({ requiredLimits });
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
