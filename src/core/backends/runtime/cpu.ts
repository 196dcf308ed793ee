/**
 * The CPU backend: buffers are typed arrays owned by the garbage collector, kernels are
 * rendered to JavaScript and compiled once per source with `new Function`. It is the
 * reference oracle every other backend is tested against.
 */
import { storageOf, type DType, type TypedArray } from '../../dtype.js';
import type { Kernel } from '../../kernel/ir.js';
import { jsMath } from '../../kernel/js_math.js';
import { ValueError } from '../../errors.js';
import type { Backend, DeviceBuffer, MemoryStats, RoutineName, RoutineParams } from '../backend.js';
import { JsRenderer } from '../render/js.js';
import { cpuRoutines } from './cpu_routines.js';

export class CpuBuffer implements DeviceBuffer {
  readonly backend = 'cpu' as const;
  constructor(readonly dtype: DType, readonly data: TypedArray) {}
  get size(): number {
    return this.data.length;
  }
}

type CompiledKernel = (out: TypedArray, ...rest: unknown[]) => void;

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly hostMemory = true;
  private renderer = new JsRenderer();
  private cache = new Map<string, CompiledKernel>();
  /** Compiled programs' kernels run again and again: skip rendering their source each time. */
  private byKernel = new WeakMap<Kernel, CompiledKernel>();
  private live = 0;
  private liveBytes = 0;

  alloc(dtype: DType, size: number): CpuBuffer {
    const data = new (storageOf(dtype))(size);
    this.live++;
    this.liveBytes += data.byteLength;
    return new CpuBuffer(dtype, data);
  }
  upload(dtype: DType, data: TypedArray): CpuBuffer {
    const b = this.alloc(dtype, data.length);
    b.data.set(data);
    return b;
  }
  free(buf: DeviceBuffer): void {
    this.live--;
    this.liveBytes -= (buf as CpuBuffer).data.byteLength;
  }
  read(buf: DeviceBuffer): Promise<TypedArray> {
    const d = (buf as CpuBuffer).data;
    return Promise.resolve(new (d.constructor as new (src: TypedArray) => TypedArray)(d));
  }
  readSync(buf: DeviceBuffer): TypedArray {
    return (buf as CpuBuffer).data;
  }
  source(kernel: Kernel): string {
    return this.renderer.renderKernel(kernel);
  }
  run(kernel: Kernel, inputs: readonly DeviceBuffer[], out: DeviceBuffer): void {
    const fn = this.byKernel.get(kernel) ?? this.compile(kernel);
    fn((out as CpuBuffer).data, ...inputs.map((b) => (b as CpuBuffer).data), jsMath);
  }
  private compile(kernel: Kernel): CompiledKernel {
    const src = this.source(kernel);
    let fn = this.cache.get(src);
    if (!fn) {
      const params = ['out', ...kernel.inputs.map((_, i) => `in${i}`), 'M'];
      try {
        fn = new Function(...params, src) as CompiledKernel;
      } catch (e) {
        throw new ValueError(`cpu backend: generated kernel '${kernel.label}' failed to compile: ${(e as Error).message}\n${src}`);
      }
      this.cache.set(src, fn);
    }
    this.byKernel.set(kernel, fn);
    return fn;
  }
  routine<R extends RoutineName>(name: R, inputs: readonly DeviceBuffer[], outputs: readonly DeviceBuffer[], params: RoutineParams[R]): void {
    const ins = inputs.map((b) => (b as CpuBuffer).data);
    const outs = outputs.map((b) => (b as CpuBuffer).data);
    cpuRoutines[name](ins, outs, params);
  }
  memoryStats(): MemoryStats {
    return { buffers: this.live, bytes: this.liveBytes };
  }
  /** Number of distinct compiled kernels (for tests of the cache). */
  get compiledKernels(): number {
    return this.cache.size;
  }
}
