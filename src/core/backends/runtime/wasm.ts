/**
 * The WebAssembly backend: buffers live in one `WebAssembly.Memory` (see `wasm_heap.ts`),
 * kernels are rendered to one small module each (`render/wasm.ts`), compiled once per
 * module and cached, and routines run the JavaScript routines on typed-array views of the
 * memory (hand-tuned wasm routines come next). The memory is host memory, so `readSync`
 * works as on the CPU backend.
 *
 * Modules are compiled synchronously (`run` is synchronous). Browsers refuse synchronous
 * compilation of large modules on the main thread (a RangeError); such a kernel falls back
 * to the JavaScript kernel, run on views of the memory, which has the same semantics.
 */
import { itemSize, storageOf, type DType, type TypedArray } from '../../dtype.js';
import { ValueError } from '../../errors.js';
import type { Expr, Kernel } from '../../kernel/ir.js';
import { jsMath } from '../../kernel/js_math.js';
import type { Backend, DeviceBuffer, MemoryStats, RoutineName, RoutineParams } from '../backend.js';
import { JsRenderer } from '../render/js.js';
import { helperImports, renderWasmKernel } from '../render/wasm.js';
import { cpuRoutines } from './cpu_routines.js';
import { WasmHeap, type HeapStats } from './wasm_heap.js';

export class WasmBuffer implements DeviceBuffer {
  readonly backend = 'wasm' as const;
  /** Set once freed (a second free is an error). */
  freed = false;
  constructor(readonly dtype: DType, readonly size: number, readonly ptr: number, readonly cap: number) {}
}

interface CompiledKernel {
  /** `kernel(out, in0, n0, in1, n1, …)`, or the JS fallback with the same arguments. */
  readonly call: (...args: number[]) => void;
  readonly maxIndex: readonly number[];
}

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  private heapOrNull: WasmHeap | null = null;
  private cache = new Map<string, CompiledKernel>();
  private byStructure = new Map<string, CompiledKernel>();
  private imports: WebAssembly.Imports | null = null;
  private live = 0;
  private liveBytes = 0;

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
  read(buf: DeviceBuffer): Promise<TypedArray> {
    return Promise.resolve(this.view(buf).slice());
  }
  /** A view of the buffer in the memory (no copy; valid until the memory grows or the buffer is freed). */
  readSync(buf: DeviceBuffer): TypedArray {
    return this.view(buf);
  }

  source(kernel: Kernel): string {
    return renderWasmKernel(kernel, this.heap.limits).listing();
  }

  run(kernel: Kernel, inputs: readonly DeviceBuffer[], out: DeviceBuffer): void {
    const o = this.check(out, 'run');
    const ins = inputs.map((b) => this.check(b, 'run'));
    const n = kernel.outShape.reduce((a, b) => a * b, 1);
    if (o.size < n || o.dtype !== kernel.outDtype)
      throw new ValueError(`wasm backend: kernel '${kernel.label}' writes ${kernel.outDtype}[${n}] into a ${o.dtype}[${o.size}] buffer`);
    const k = this.compile(kernel);
    const args = [o.ptr];
    ins.forEach((b, i) => {
      // Unchecked loads may read up to maxIndex (beyond the buffer only where the value is discarded).
      const m = k.maxIndex[i];
      if (m >= b.size) this.heap.ensure(b.ptr + (m + 1) * itemSize(b.dtype));
      args.push(b.ptr, b.size);
    });
    k.call(...args);
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
      k = { call: this.instantiate(kernel, rendered.bytes), maxIndex: rendered.maxIndex };
      this.cache.set(key, k);
    }
    this.byStructure.set(structure, k);
    return k;
  }

  private instantiate(kernel: Kernel, bytes: Uint8Array<ArrayBuffer>): (...args: number[]) => void {
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(bytes);
    } catch (e) {
      if (e instanceof RangeError) return this.jsFallback(kernel);
      throw new ValueError(`wasm backend: generated kernel '${kernel.label}' failed to compile: ${(e as Error).message}\n${this.source(kernel)}`);
    }
    const instance = new WebAssembly.Instance(module, this.imports!);
    return instance.exports.kernel as (...args: number[]) => void;
  }

  /** The JavaScript kernel on views of the memory (same arguments as the wasm function). */
  private jsFallback(kernel: Kernel): (...args: number[]) => void {
    const params = ['out', ...kernel.inputs.map((_, i) => `in${i}`), 'M'];
    const fn = new Function(...params, new JsRenderer().renderKernel(kernel)) as (...a: unknown[]) => void;
    const n = kernel.outShape.reduce((a, b) => a * b, 1);
    const at = (dtype: DType, ptr: number, size: number) => this.view(new WasmBuffer(dtype, size, ptr, 0));
    return (out, ...rest) => fn(at(kernel.outDtype, out, n), ...kernel.inputs.map((d, i) => at(d, rest[2 * i], rest[2 * i + 1])), jsMath);
  }

  routine<R extends RoutineName>(name: R, inputs: readonly DeviceBuffer[], outputs: readonly DeviceBuffer[], params: RoutineParams[R]): void {
    cpuRoutines[name](inputs.map((b) => this.view(b)), outputs.map((b) => this.view(b)), params);
  }

  memoryStats(): MemoryStats {
    return { buffers: this.live, bytes: this.liveBytes };
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
