/**
 * The WebAssembly backend: buffers live in one `WebAssembly.Memory` (see `wasm_heap.ts`),
 * kernels are rendered to one small module each (`render/wasm.ts`: SIMD loops, native
 * exp/log/tanh/sigmoid), compiled once per module and cached. float32 matmul runs the
 * hand-written SIMD routine (`wasm/gemm.ts`); float32 convolution runs an implicit GEMM on the
 * same kernels (`wasm/conv.ts`: panels packed straight from the NCHW image through a tap table
 * of window offsets, strides, padding and dilations, cached per geometry) — one GEMM per
 * (batch item, feature or batch group), or, for outputs of few positions (weight gradients),
 * the batch items merged into the columns; a kernel holding ±∞ or NaN runs the JavaScript
 * routine, whose padding contributes nothing rather than 0·∞. Softmax over the last axis, where
 * the jit finds nn.softmax's chain, runs one fused routine (`wasm/softmax.ts`: three passes per
 * row in L1 instead of four kernels streaming the array). The other routines run the
 * JavaScript routines on typed-array views of the memory. The memory is host memory, so
 * `readSync` works as on the CPU backend.
 *
 * Threads (`config.threads`): a pool of workers sharing the memory (`wasm_threads.ts`). A
 * float32 matmul of at least `minParallelFlops` is split over row blocks (and batch items), a
 * float32 conv of as many flops over its GEMMs, then row blocks where the kernel has at least
 * as many rows as the column chunk has columns, else column blocks (whichever repeats less
 * packing) — one part per thread, each with its own packing workspace. A kernel whose
 * estimated work (`kernelWork`: output elements × operations per element, reductions and
 * native transcendentals weighted) is at least `minParallelWork` is cut into ranges of its
 * outermost output dimension, `TASKS_PER_THREAD` per thread, handed out as tasks that any
 * thread takes (`ThreadPool.runTasks`: a worker that starts late or loses its core takes
 * fewer, and the caller never waits for a share it could have done) — kernels that call into
 * JavaScript stay on the calling thread. So are a row group of a compiled program (`runRows`:
 * each task a range of rows, all the group's kernels on it, block by block) and the fused
 * softmax's rows. (Handing work to a worker costs some 50 µs, so small jobs stay on the
 * caller.) Every output element is computed by the same code whichever thread runs it, so
 * results are the same for any thread count and split.
 *
 * Modules are compiled synchronously (`run` is synchronous). Browsers refuse synchronous
 * compilation of large modules on the main thread (a RangeError); such a kernel falls back
 * to the JavaScript kernel, run on views of the memory, which has the same semantics.
 */
import { config } from '../../config.js';
import { itemSize, storageOf, type DType, type TypedArray } from '../../dtype.js';
import { ValueError } from '../../errors.js';
import type { Expr, Kernel } from '../../kernel/ir.js';
import { jsMath } from '../../kernel/js_math.js';
import type { Backend, DeviceBuffer, FusedName, FusedParams, KernelCall, MemoryStats, RoutineName, RoutineParams, SoftmaxParams } from '../backend.js';
import { JsRenderer } from '../render/js.js';
import { convOutputShape } from '../routines/conv.js';
import { convPhases, gridIndices, type ConvPhase } from '../routines/conv_phases.js';
import { helperImports, renderWasmKernel } from '../render/wasm.js';
import { rowAxis } from '../../kernel/row_groups.js';
import { TapTables, type ConvGeometry } from '../wasm/conv.js';
import { GEMM_SHAPE, gemmWorkspaceBytes } from '../wasm/gemm.js';
import { routinesModule, type RoutineExports } from '../wasm/routines.js';
import { cpuRoutines } from './cpu_routines.js';
import { WasmHeap, type HeapStats } from './wasm_heap.js';
import { createThreadPool, hardwareThreads, ThreadsUnavailable, type LocalCall, type PoolModule, type ThreadPool } from './wasm_threads.js';

export class WasmBuffer implements DeviceBuffer {
  readonly backend = 'wasm' as const;
  /** Set once freed (a second free is an error). */
  freed = false;
  constructor(readonly dtype: DType, readonly size: number, readonly ptr: number, readonly cap: number) {}
}

interface CompiledKernel {
  /** `kernel(out, in0, n0, in1, n1, …, lo, hi)`, or the JS fallback with the same arguments. */
  readonly call: (...args: number[]) => void;
  readonly maxIndex: readonly number[];
  /** The module, where workers may run it (compiled, importing no JavaScript helpers). */
  readonly pool: PoolModule | null;
  /** The output axis split between threads. */
  readonly splitAxis: number;
  /** Estimated operations per output element (`kernelWork`). */
  readonly work: number;
  /** Whether `call` honours (lo, hi) (the JavaScript fallback always writes the whole output). */
  readonly ranged: boolean;
}

/** A rough count of operations per output element: nodes, reductions times their size, native transcendentals as 20. */
export function kernelWork(kernel: Kernel): number {
  const memo = new Map<Expr, number>();
  const cost = (e: Expr): number => {
    let c = memo.get(e);
    if (c !== undefined) return 0; // shared: counted once
    switch (e.k) {
      case 'const': case 'var': c = 0; break;
      case 'load': c = 1 + cost(e.index); break;
      case 'un': c = (e.op === 'exp' || e.op === 'log' || e.op === 'tanh' || e.op === 'sigmoid' ? 20 : 1) + cost(e.x); break;
      case 'bin': c = 1 + cost(e.a) + cost(e.b); break;
      case 'select': c = 1 + cost(e.c) + cost(e.t) + cost(e.f); break;
      case 'cast': case 'bitcast': c = 1 + cost(e.x); break;
      case 'reduce': c = e.vars.reduce((p, v) => p * v.size, 1) * (1 + cost(e.body)); break;
    }
    memo.set(e, c);
    return c;
  };
  return Math.max(1, cost(kernel.expr));
}

/**
 * Tasks per thread where work is handed out as tasks (kernels, row groups, softmax): a thread
 * that starts late or is descheduled takes fewer (`ThreadPool.runTasks`).
 */
const TASKS_PER_THREAD = 4;

/** Row ranges of [0, rows) handed out as tasks over `threads` threads (one range on one thread). */
const taskRanges = (rows: number, threads: number) => ranges(rows, threads > 1 ? threads * TASKS_PER_THREAD : 1);

/** Balanced split of [0, n) into at most `parts` ranges. */
function ranges(n: number, parts: number): [number, number][] {
  const k = Math.min(parts, n);
  return Array.from({ length: k }, (_, t) => [Math.floor((t * n) / k), Math.floor(((t + 1) * n) / k)]);
}

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly hostMemory = true;
  private heapOrNull: WasmHeap | null = null;
  private cache = new Map<string, CompiledKernel>();
  private byStructure = new Map<string, CompiledKernel>();
  private imports: WebAssembly.Imports | null = null;
  private routinesOrNull: { exports: RoutineExports; pool: PoolModule } | null = null;
  private poolOrNull: ThreadPool | null | undefined = undefined;
  private modules = 0;
  private tapTables = new TapTables();
  private live = 0;
  private liveBytes = 0;
  /** Smallest float32 matmul or conv (2·batch·m·n·k flops) and kernel work (`kernelWork`) split over threads. */
  minParallelFlops = 1 << 22;
  minParallelWork = 1 << 21;
  /**
   * Output bytes per block of rows when a row group runs block by block (`runRows`), about one
   * core's L2. (Measured on a 2-core EPYC, softmax 4096×1024: blocks under ~512 KB lose more to
   * the restarts of every kernel's loops and streams than they gain from the cache.)
   */
  rowBlockBytes = 1 << 20;
  /** Largest tap table of a float32 conv (taps × output positions per chunk, int32 entries). */
  convTableEntries = 1 << 20;
  /** A float32 conv with fewer output positions merges its batch items into the GEMM's columns. */
  convMergeBelow = 64;

  /** The memory and allocator, created on first use (importing vidax allocates nothing). */
  get heap(): WasmHeap {
    if (!this.heapOrNull) {
      this.heapOrNull = new WasmHeap();
      this.imports = { env: { memory: this.heapOrNull.memory }, m: helperImports() };
    }
    return this.heapOrNull;
  }

  /** A typed-array view of a buffer (valid until the memory grows). */
  view(buf: DeviceBuffer): TypedArray {
    const b = this.check(buf, 'view');
    return new (storageOf(b.dtype) as unknown as new (buf: ArrayBufferLike, offset: number, length: number) => TypedArray)(this.heap.buffer, b.ptr, b.size);
  }

  private check(buf: DeviceBuffer, op: string): WasmBuffer {
    if (!(buf instanceof WasmBuffer)) throw new ValueError(`wasm backend: ${op}: a ${buf.backend} buffer was passed to the wasm backend`);
    if (buf.freed) throw new ValueError(`wasm backend: ${op}: buffer used after it was freed`);
    return buf;
  }

  alloc(dtype: DType, size: number): WasmBuffer {
    const bytes = size * itemSize(dtype);
    const { ptr, cap } = this.heap.alloc(bytes);
    this.live++;
    this.liveBytes += bytes;
    return new WasmBuffer(dtype, size, ptr, cap);
  }
  upload(dtype: DType, data: TypedArray): WasmBuffer {
    const b = this.alloc(dtype, data.length);
    this.view(b).set(data);
    return b;
  }
  free(buf: DeviceBuffer): void {
    const b = this.check(buf, 'free');
    b.freed = true;
    this.heap.free(b.ptr, b.cap);
    this.live--;
    this.liveBytes -= b.size * itemSize(b.dtype);
  }
  /** A copy (the typed-array constructor copies several times faster than `slice` in V8). */
  read(buf: DeviceBuffer): Promise<TypedArray> {
    const v = this.view(buf);
    return Promise.resolve(new (v.constructor as new (src: TypedArray) => TypedArray)(v));
  }
  /** A view of the buffer in the memory (no copy; valid until the memory grows or the buffer is freed). */
  readSync(buf: DeviceBuffer): TypedArray {
    return this.view(buf);
  }

  source(kernel: Kernel): string {
    return renderWasmKernel(kernel, this.heap.limits).listing();
  }

  run(kernel: Kernel, inputs: readonly DeviceBuffer[], out: DeviceBuffer): void {
    const { o, n, k, args, rows } = this.bind({ kernel, inputs, out });
    const threads = k.pool && rows > 1 && n * k.work >= this.minParallelWork ? this.threadCount() : 1;
    if (threads > 1) {
      // Ranges of the split axis (all axes before it have size 1); `out` points at the range's first row.
      const rowBytes = (n / rows) * itemSize(kernel.outDtype);
      const parts = taskRanges(rows, threads).map(([lo, hi]) => [[o.ptr + lo * rowBytes, ...args, lo, hi]]);
      if (this.parallel(k.pool!, 'kernel', k.call, parts, true)) return;
    }
    k.call(o.ptr, ...args, 0, rows);
  }

  /** A kernel call checked and compiled: its output, size, compiled kernel, input arguments (ptr, size)… and rows. */
  private bind({ kernel, inputs, out }: KernelCall): { o: WasmBuffer; n: number; k: CompiledKernel; args: number[]; rows: number } {
    const o = this.check(out, 'run');
    const ins = inputs.map((b) => this.check(b, 'run'));
    const n = kernel.outShape.reduce((a, b) => a * b, 1);
    if (o.size < n || o.dtype !== kernel.outDtype)
      throw new ValueError(`wasm backend: kernel '${kernel.label}' writes ${kernel.outDtype}[${n}] into a ${o.dtype}[${o.size}] buffer`);
    const k = this.compile(kernel);
    const args: number[] = [];
    ins.forEach((b, i) => {
      // Unchecked loads may read up to maxIndex (beyond the buffer only where the value is discarded).
      const m = k.maxIndex[i];
      if (m >= b.size) this.heap.ensure(b.ptr + (m + 1) * itemSize(b.dtype));
      args.push(b.ptr, b.size);
    });
    return { o, n, k, args, rows: kernel.outShape[k.splitAxis] ?? 1 };
  }

  /**
   * A row group (`kernel/row_groups.ts`) block by block: kernel 1 on rows [lo, hi) of the
   * common split axis, kernel 2 on [lo, hi), …, then the next block, the blocks sized so that
   * a block's outputs take about `rowBlockBytes` (they are still in cache when the next kernel
   * reads them). With threads (the kernels' total `kernelWork` at least `minParallelWork`),
   * each thread takes a balanced range of rows and runs the whole sequence on it, by blocks: the
   * group's reads of its own outputs are row-local, so a thread reads only rows it wrote and
   * needs no barrier between kernels. Every element is computed by the same code as in `run`,
   * so results are the same for any blocks and thread count. Kernels that cannot run on a
   * range (the JavaScript fallback) or do not split at the group's rows run one by one.
   */
  runRows(calls: readonly KernelCall[]): void {
    const bound = calls.map((c) => this.bind(c));
    const rows = bound[0]?.rows ?? 0;
    if (rows < 2 || bound.some((b, i) => !b.k.ranged || b.rows !== rows || rowAxis(calls[i].kernel.outShape) !== b.k.splitAxis)) {
      for (const c of calls) this.run(c.kernel, c.inputs, c.out);
      return;
    }
    const rowBytes = bound.map((b, i) => (b.n / rows) * itemSize(calls[i].kernel.outDtype));
    const step = Math.max(1, Math.floor(this.rowBlockBytes / rowBytes.reduce((a, b) => a + b, 0)));
    const work = bound.reduce((w, b) => w + b.n * b.k.work, 0);
    const threads = bound.every((b) => b.k.pool) && work >= this.minParallelWork ? this.threadCount() : 1;
    // Per task (a balanced range of rows): [kernel index, out (at row lo), inputs…, lo, hi] per block of the range and kernel.
    const parts = taskRanges(rows, threads).map(([r0, r1]) => {
      const part: number[][] = [];
      for (let lo = r0; lo < r1; lo += step) {
        const hi = Math.min(r1, lo + step);
        bound.forEach(({ o, args }, i) => part.push([i, o.ptr + lo * rowBytes[i], ...args, lo, hi]));
      }
      return part;
    });
    const locals = bound.map((b) => b.k.call);
    if (threads > 1 && this.parallel(bound.map((b) => b.k.pool!), 'kernel', locals, parts, true)) return;
    for (const part of parts) for (const [i, ...args] of part) locals[i](...args);
  }

  /** Compile kernels now (`run` would compile them on first use). */
  prepare(kernels: readonly Kernel[]): Promise<void> {
    for (const k of kernels) this.compile(k);
    return Promise.resolve();
  }

  /**
   * The compiled kernel: looked up by the kernel's structure first (cheap, the eager path),
   * else rendered and looked up by the module's bytes (equal kernels built with other
   * sharing or variable names), else compiled.
   */
  private compile(kernel: Kernel): CompiledKernel {
    const structure = structureKey(kernel);
    let k = this.byStructure.get(structure);
    if (k) return k;
    const rendered = renderWasmKernel(kernel, this.heap.limits);
    const key = bytesKey(rendered.bytes);
    k = this.cache.get(key);
    if (!k) {
      const { call, module } = this.instantiate(kernel, rendered.bytes);
      const pool = module && !rendered.importsHelpers ? { id: this.modules++, module } : null;
      k = { call, maxIndex: rendered.maxIndex, pool, splitAxis: rendered.splitAxis, work: kernelWork(kernel), ranged: module !== null };
      this.cache.set(key, k);
    }
    this.byStructure.set(structure, k);
    return k;
  }

  private instantiate(kernel: Kernel, bytes: Uint8Array<ArrayBuffer>): { call: (...args: number[]) => void; module: WebAssembly.Module | null } {
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(bytes);
    } catch (e) {
      if (e instanceof RangeError) return { call: this.jsFallback(kernel), module: null };
      throw new ValueError(`wasm backend: generated kernel '${kernel.label}' failed to compile: ${(e as Error).message}\n${this.source(kernel)}`);
    }
    const instance = new WebAssembly.Instance(module, this.imports!);
    return { call: instance.exports.kernel as (...args: number[]) => void, module };
  }

  /** The JavaScript kernel on views of the memory (same arguments as the wasm function). */
  private jsFallback(kernel: Kernel): (...args: number[]) => void {
    const params = ['out', ...kernel.inputs.map((_, i) => `in${i}`), 'M'];
    const fn = new Function(...params, new JsRenderer().renderKernel(kernel)) as (...a: unknown[]) => void;
    const n = kernel.outShape.reduce((a, b) => a * b, 1);
    const at = (dtype: DType, ptr: number, size: number) => this.view(new WasmBuffer(dtype, size, ptr, 0));
    // (Always called for the whole output: lo = 0, hi = outShape[0].)
    return (out, ...rest) => fn(at(kernel.outDtype, out, n), ...kernel.inputs.map((d, i) => at(d, rest[2 * i], rest[2 * i + 1])), jsMath);
  }

  /** The hand-written routines (compiled on first use). */
  get routines(): RoutineExports {
    return this.routinesModule.exports;
  }
  private get routinesModule(): { exports: RoutineExports; pool: PoolModule } {
    if (!this.routinesOrNull) {
      const heap = this.heap;
      const module = new WebAssembly.Module(routinesModule(heap.limits));
      const exports = new WebAssembly.Instance(module, this.imports!).exports as unknown as RoutineExports;
      this.routinesOrNull = { exports, pool: { id: this.modules++, module } };
    }
    return this.routinesOrNull;
  }

  /** The pool, created on first use (null where threads are unavailable). */
  private get pool(): ThreadPool | null {
    if (this.poolOrNull === undefined) this.poolOrNull = createThreadPool(this.heap.memory);
    return this.poolOrNull;
  }
  /**
   * Run the parts on the pool — one per thread, or with `tasks` as tasks any thread takes
   * (`ThreadPool.runTasks`); false (and no threads from now on) if it cannot start its workers.
   */
  private parallel(mod: PoolModule | PoolModule[], name: string, local: LocalCall | LocalCall[], parts: number[][][], tasks = false): boolean {
    try {
      if (tasks) this.pool!.runTasks(mod, name, local, parts);
      else this.pool!.run(mod, name, local, parts);
      return true;
    } catch (e) {
      if (!(e instanceof ThreadsUnavailable)) throw e;
      this.poolOrNull!.close();
      this.poolOrNull = null;
      return false;
    }
  }

  /**
   * Threads to use now (`config.threads`; 1 where threads are unavailable), starting or
   * stopping workers to match (idle workers are kept while the setting is 1).
   */
  threadCount(): number {
    const want = config.threads === 0 ? hardwareThreads() : Math.max(1, Math.floor(config.threads));
    if (want <= 1) return 1;
    const pool = this.pool;
    if (!pool) return 1;
    if (pool.size !== want) pool.resize(want);
    return want;
  }

  routine<R extends RoutineName>(name: R, inputs: readonly DeviceBuffer[], outputs: readonly DeviceBuffer[], params: RoutineParams[R]): void {
    if (name === 'matmul' && outputs[0].dtype === 'float32') return this.matmulF32(inputs.map((b) => this.check(b, 'matmul')), this.check(outputs[0], 'matmul'), params as RoutineParams['matmul']);
    if (name === 'conv' && outputs[0].dtype === 'float32') {
      const ins = inputs.map((b) => this.check(b, 'conv'));
      if (this.routines.allFinite(ins[1].ptr, ins[1].size)) return this.convF32(ins, this.check(outputs[0], 'conv'), params as RoutineParams['conv']);
    }
    cpuRoutines[name](inputs.map((b) => this.view(b)), outputs.map((b) => this.view(b)), params);
  }

  /** Fused routines: the float32 softmax over the last axis (`wasm/softmax.ts`); attention stays a composition. */
  acceptsFused<F extends FusedName>(name: F, _params: FusedParams[F]): boolean {
    return name === 'softmax';
  }

  fused<F extends FusedName>(name: F, inputs: readonly DeviceBuffer[], outputs: readonly DeviceBuffer[], params: FusedParams[F]): void {
    if (name !== 'softmax') throw new ValueError(`wasm backend: no fused routine '${name}'`);
    const { rows, cols, guarded } = params as SoftmaxParams;
    const x = this.check(inputs[0], 'softmax'), out = this.check(outputs[0], 'softmax');
    const n = rows * cols;
    if (x.dtype !== 'float32' || out.dtype !== 'float32') throw new ValueError(`wasm backend: softmax: float32 operands expected, got ${x.dtype} → ${out.dtype}`);
    if (x.size < n || out.size < n) throw new ValueError(`wasm backend: softmax: buffers of ${x.size} and ${out.size} elements for ${rows}×${cols}`);
    if (n === 0) return;
    const { exports, pool } = this.routinesModule;
    const g = guarded ? 1 : 0;
    // Rows split between threads; about 30 operations per element (the exp's ~20 and three passes).
    const threads = rows > 1 && 30 * n >= this.minParallelWork ? this.threadCount() : 1;
    const parts = taskRanges(rows, threads).map(([lo, hi]) => [[x.ptr + 4 * lo * cols, out.ptr + 4 * lo * cols, hi - lo, cols, g]]);
    if (parts.length > 1 && this.parallel(pool, 'softmax', exports.softmax as (...a: number[]) => void, parts, true)) return;
    exports.softmax(x.ptr, out.ptr, rows, cols, g);
  }

  /**
   * float32 matmul with the SIMD routine (`wasm/gemm.ts`): one gemm per batch item, or one
   * over all rows when B is broadcast over a contiguous batch of A.
   */
  private matmulF32([a, b]: WasmBuffer[], out: WasmBuffer, p: RoutineParams['matmul']): void {
    const { batch, m, k, n, aBatchStride, bBatchStride } = p;
    if (batch <= 0 || m <= 0 || n <= 0) return;
    if (out.size < batch * m * n) throw new ValueError(`wasm backend: matmul: output buffer too small (${out.size} < ${batch * m * n})`);
    if (k <= 0) {
      this.view(out).fill(0, 0, batch * m * n);
      return;
    }
    const { exports, pool } = this.routinesModule;
    // One gemm per batch item (or one over all rows when B is shared by a contiguous A), each split in row blocks.
    const merged = batch > 1 && bBatchStride === 0 && aBatchStride === m * k;
    const items = merged ? [{ a: a.ptr, b: b.ptr, c: out.ptr, rows: batch * m }] : Array.from({ length: batch }, (_, i) => ({ a: a.ptr + 4 * i * aBatchStride, b: b.ptr + 4 * i * bBatchStride, c: out.ptr + 4 * i * m * n, rows: m }));
    const threads = 2 * batch * m * n * k >= this.minParallelFlops ? this.threadCount() : 1;
    // Row blocks: whole micro-tiles, enough blocks for every thread.
    const perItem = Math.ceil(threads / items.length);
    const calls: [number, number, number, number, number][] = [];
    for (const it of items) {
      const step = Math.ceil(it.rows / perItem / GEMM_SHAPE.mr) * GEMM_SHAPE.mr;
      for (let r = 0; r < it.rows; r += step) calls.push([it.a + 4 * r * k, it.b, it.c + 4 * r * n, Math.min(step, it.rows - r), 0]);
    }
    const parts = ranges(calls.length, threads);
    const works = parts.map(() => this.heap.alloc(gemmWorkspaceBytes(n)));
    try {
      const args = parts.map(([lo, hi], t) => calls.slice(lo, hi).map(([pa, pb, pc, rows]) => [pa, 4 * k, pb, 4 * n, pc, 4 * n, rows, n, k, works[t].ptr]));
      if (parts.length > 1 && this.parallel(pool, 'gemm', exports.gemm as (...a: number[]) => void, args)) return;
      for (const x of args.flat()) exports.gemm(...(x as Parameters<RoutineExports['gemm']>));
    } finally {
      for (const w of works) this.heap.free(w.ptr, w.cap);
    }
  }

  /**
   * float32 convolution with the implicit-GEMM routine (`wasm/conv.ts`): per (output batch
   * item, group) one GEMM of the group's kernel rows (O/G × I·taps) by the patches of its input
   * channels — a feature group takes its slice of input channels, a batch group its slice of
   * the lhs batch (`nb + g·N/bgc`, as in `routines/conv.ts`). With fewer than
   * `convMergeBelow` output positions the batch items of a group are merged into one GEMM's
   * columns, written to a scratch matrix and copied out. The columns go in chunks whose tap
   * table has at most `convTableEntries` entries; where there are fewer GEMMs than threads,
   * each is split in row blocks (whole micro-tiles; every block packs all the chunk's patches)
   * if it has at least as many rows as the chunk has columns, else in column blocks (whole
   * 8-column panels; every block packs all the kernel rows).
   */
  private convF32([lhs, rhs]: WasmBuffer[], out: WasmBuffer, p: RoutineParams['conv']): void {
    const nd0 = p.lhsShape.length - 2;
    const outShape = convOutputShape(p.lhsShape, p.rhsShape, {
      windowStrides: [...p.windowStrides], padding: p.padding.map(([lo, hi]): [number, number] => [lo, hi]), lhsDilation: [...p.lhsDilation],
      rhsDilation: [...p.rhsDilation], featureGroupCount: p.featureGroupCount, batchGroupCount: p.batchGroupCount,
    });
    const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
    const total = prod(outShape);
    if (out.size < total) throw new ValueError(`wasm backend: conv: output buffer too small (${out.size} < ${total})`);
    if (total === 0) return;
    const g: ConvGeometry = nd0 === 0
      ? { inSp: [1], winSp: [1], outSp: [1], strides: [1], padLo: [0], lhsDil: [1], rhsDil: [1] }
      : { inSp: p.lhsShape.slice(2), winSp: p.rhsShape.slice(2), outSp: outShape.slice(2), strides: p.windowStrides, padLo: p.padding.map((q) => q[0]), lhsDil: p.lhsDilation, rhsDil: p.rhsDilation };
    const [N, C] = p.lhsShape, [O, I] = p.rhsShape;
    const taps = prod(g.winSp), P = prod(g.outSp), inSize = prod(g.inSp), K = I * taps;
    if (K === 0) {
      this.view(out).fill(0, 0, total);
      return;
    }
    const phases = nd0 > 0 ? convPhases(g.inSp, g.winSp, g.outSp, g.strides, p.padding, g.lhsDil, g.rhsDil) : null;
    if (phases) return this.convPhased([lhs, rhs], out, p, outShape, phases);
    const { featureGroupCount: fgc, batchGroupCount: bgc } = p;
    const G = fgc * bgc, rows = O / G, nOut = N / bgc;
    // (Merged, the table holds offsets from the first item: they must stay below 2³¹.)
    const merge = nOut > 1 && P < this.convMergeBelow && 4 * N * C * inSize < 2 ** 31;
    const width = merge ? nOut * P : P; // GEMM columns
    const itemBytes = 4 * C * inSize; // between batch items of the image
    const blocks: { ptr: number; cap: number }[] = [];
    const alloc = (bytes: number) => (blocks.push(this.heap.alloc(bytes)), blocks[blocks.length - 1]);
    try {
      const scratch = merge ? alloc(4 * O * width) : null;
      // Per GEMM: the kernel rows, the image's first channel, the output (row stride 4·width).
      const items: { a: number; img: number; c: number }[] = [];
      for (let nb = 0; nb < (merge ? 1 : nOut); nb++)
        for (let q = 0; q < G; q++)
          items.push({
            a: rhs.ptr + 4 * q * rows * K,
            img: lhs.ptr + 4 * inSize * (fgc > 1 ? nb * C + q * I : (nb + q * nOut) * C),
            c: scratch ? scratch.ptr + 4 * q * rows * width : out.ptr + 4 * (nb * O + q * rows) * P,
          });
      const threads = 2 * nOut * O * K * P >= this.minParallelFlops ? this.threadCount() : 1;
      const { exports, pool } = this.routinesModule;
      const { mr, kc } = GEMM_SHAPE;
      const kcStep = Math.ceil(K / Math.ceil(K / kc)); // balanced k-slices
      const cols = Math.min(Math.ceil(width / 8) * 8, Math.max(8, Math.floor(this.convTableEntries / taps / 8) * 8));
      // Enough blocks for every thread: row blocks (whole micro-tiles), each packing all of the
      // chunk's patches, or column blocks (whole panels), each packing all of the kernel rows —
      // whichever repeats less packing.
      const perItem = Math.ceil(threads / items.length);
      const byRows = rows >= cols;
      const rowStep = byRows ? Math.ceil(rows / perItem / mr) * mr : rows;
      const colStep = byRows ? cols : Math.ceil(cols / perItem / 8) * 8;
      const tab = alloc(4 * taps * cols), modes = alloc(4 * taps * (cols / 8));
      const works = Array.from({ length: threads }, () => alloc(gemmWorkspaceBytes(Math.min(colStep, cols))));
      for (let j0 = 0; j0 < width; j0 += cols) {
        const n = Math.min(cols, width - j0);
        const t = this.tapTables.get(g, P, width, itemBytes, j0, cols);
        new Int32Array(this.heap.buffer, tab.ptr, t.tab.length).set(t.tab);
        new Int32Array(this.heap.buffer, modes.ptr, t.modes.length).set(t.modes);
        const calls: number[][] = [];
        for (const it of items)
          for (let r = 0; r < rows; r += rowStep)
            for (let c0 = 0; c0 < n; c0 += colStep)
              calls.push([it.a + 4 * r * K, 4 * K, it.img, 4 * inSize, tab.ptr, modes.ptr, cols, taps, c0, it.c + 4 * (r * width + j0 + c0), 4 * width, Math.min(rowStep, rows - r), Math.min(colStep, n - c0), K, kcStep]);
        const parts = ranges(calls.length, threads);
        const args = parts.map(([lo, hi], th) => calls.slice(lo, hi).map((x) => [...x, works[th].ptr]));
        if (parts.length > 1 && this.parallel(pool, 'conv', exports.conv, args)) continue;
        for (const x of args.flat()) exports.conv(...x);
      }
      if (scratch) {
        // scratch[o, nb·P + p] → out[nb, o, p]
        const src = new Float32Array(this.heap.buffer, scratch.ptr, O * width), dst = new Float32Array(this.heap.buffer, out.ptr, total);
        for (let o = 0; o < O; o++)
          for (let nb = 0; nb < nOut; nb++) dst.set(src.subarray(o * width + nb * P, o * width + (nb + 1) * P), (nb * O + o) * P);
      }
    } finally {
      for (const b of blocks) this.heap.free(b.ptr, b.cap);
    }
  }

  /**
   * An input-dilated float32 convolution (transposed; the input gradient of a strided one) as
   * one dense convolution per output phase (`routines/conv_phases.ts`): the phase's sub-kernel
   * gathered, its outputs computed by `convF32` into a scratch buffer and scattered to their
   * positions (every ∏d-th output, phase by phase); a phase without taps writes zeros.
   */
  private convPhased([lhs, rhs]: WasmBuffer[], out: WasmBuffer, p: RoutineParams['conv'], outShape: readonly number[], phases: readonly ConvPhase[]): void {
    const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
    const [O, I] = p.rhsShape, win = p.rhsShape.slice(2), outSp = outShape.slice(2);
    const items = outShape[0] * O, P = prod(outSp), taps = prod(win);
    const scratch = (size: number) => {
      const { ptr, cap } = this.heap.alloc(4 * Math.max(1, size));
      return new WasmBuffer('float32', size, ptr, cap);
    };
    for (const ph of phases) {
      const counts = ph.taps.map((t) => t.count), M = prod(ph.outSp), subTaps = prod(counts);
      // flat output positions of the phase, and flat kernel taps of its sub-kernel (row-major)
      const pos = gridIndices(outSp, ph.first, ph.step, ph.outSp);
      const tap = gridIndices(win, ph.taps.map((t) => t.first), ph.taps.map((t) => t.step), counts);
      if (subTaps === 0) {
        const o = this.view(out) as Float32Array;
        for (let it = 0; it < items; it++) for (let m = 0; m < M; m++) o[it * P + pos[m]] = 0;
        continue;
      }
      const w = scratch(O * I * subTaps), y = scratch(items * M);
      try {
        const src = this.view(rhs) as Float32Array, dst = this.view(w) as Float32Array;
        for (let oi = 0; oi < O * I; oi++) for (let t = 0; t < subTaps; t++) dst[oi * subTaps + t] = src[oi * taps + tap[t]];
        const ones = win.map(() => 1);
        this.convF32([lhs, w], y, { ...p, rhsShape: [O, I, ...counts], windowStrides: ones, padding: ph.padding, lhsDilation: ones, rhsDilation: ph.rhsDilation });
        const ys = this.view(y) as Float32Array, o = this.view(out) as Float32Array;
        for (let it = 0; it < items; it++) {
          const a = it * M, b = it * P;
          for (let m = 0; m < M; m++) o[b + pos[m]] = ys[a + m];
        }
      } finally {
        this.heap.free(w.ptr, w.cap);
        this.heap.free(y.ptr, y.cap);
      }
    }
  }

  memoryStats(): MemoryStats {
    return { buffers: this.live, bytes: this.liveBytes };
  }
  /** The thread pool's threads (counting the caller), workers started, and jobs split over workers; null while there is no pool (none needed yet, or threads unavailable here). */
  threadStats(): { threads: number; started: number; jobs: number } | null {
    const pool = this.poolOrNull;
    return pool ? { threads: pool.size, started: pool.started, jobs: pool.jobs } : null;
  }
  /** The memory and the allocator's bookkeeping. */
  heapStats(): HeapStats {
    return this.heap.stats();
  }
  /** Number of distinct compiled kernels (for tests of the cache). */
  get compiledKernels(): number {
    return this.cache.size;
  }
}

/**
 * A kernel's structure as a string: its signature and expression DAG, one entry per node
 * (shared nodes once), reduction variables numbered in order of appearance (eager kernels
 * get fresh names each time). Structurally equal kernels compute the same function.
 */
function structureKey(kernel: Kernel): string {
  const ids = new Map<Expr, number>();
  const vars = new Map<string, string>();
  const parts: string[] = [`${kernel.inputs.join(',')}>${kernel.outDtype}[${kernel.outShape.join(',')}]`];
  const v = (name: string) => (name[0] === 'i' ? name : (vars.get(name) ?? `?${name}`));
  const walk = (e: Expr): number => {
    let id = ids.get(e);
    if (id !== undefined) return id;
    let s: string;
    switch (e.k) {
      case 'const': s = `c:${e.dtype}:${Object.is(e.v, -0) ? '-0' : e.v}`; break;
      case 'var': s = v(e.name); break;
      case 'load': s = `l:${e.buf}:${e.dtype}#${walk(e.index)}`; break;
      case 'un': s = `u:${e.op}:${e.dtype}#${walk(e.x)}`; break;
      case 'bin': s = `b:${e.op}:${e.dtype}#${walk(e.a)}#${walk(e.b)}`; break;
      case 'select': s = `s:${e.dtype}#${walk(e.c)}#${walk(e.t)}#${walk(e.f)}`; break;
      case 'cast': case 'bitcast': s = `${e.k}:${e.dtype}#${walk(e.x)}`; break;
      case 'reduce':
        for (const x of e.vars) vars.set(x.name, `r${vars.size}`);
        s = `r:${e.op}:${e.dtype}:${e.vars.map((x) => `${v(x.name)}/${x.size}`).join(',')}#${walk(e.body)}`;
        break;
    }
    id = parts.length;
    parts.push(s);
    ids.set(e, id);
    return id;
  };
  walk(kernel.expr);
  return parts.join(';');
}

/** A string key holding the bytes (modules are small; a Map lookup on it is exact). */
function bytesKey(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  return s;
}
