/**
 * The backend interface every runtime implements (CPU now; WebGPU and CUDA later), and the
 * registry that picks the default. Eager execution and compiled programs both go through it.
 *
 * A backend owns buffers, runs kernels (scalar-expression programs from `kernel/ir.ts`,
 * compiled and cached by source) and a small set of hand-written routines (matmul,
 * convolution, sort, scans, scatter, the PRNG) that are never fused into.
 */
import type { DType, TypedArray } from '../dtype.js';
import type { Kernel } from '../kernel/ir.js';
import { ValueError } from '../errors.js';

export type BackendName = 'cpu' | 'webgpu' | 'cuda' | 'wasm';

export interface DeviceBuffer {
  readonly backend: BackendName;
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
}

/** Static parameters of each routine; operands are contiguous row-major buffers. */
export interface RoutineParams {
  /** out[b] = a[b] @ b[b]; a (batch,m,k), b (batch,k,n); a batch stride of 0 broadcasts. */
  matmul: { batch: number; m: number; k: number; n: number; aBatchStride: number; bBatchStride: number };
  /** XLA ConvGeneralDilated in (N,C,spatial…) × (O,I,window…) → (N,O,spatial…) layout. */
  conv: {
    lhsShape: readonly number[];
    rhsShape: readonly number[];
    windowStrides: readonly number[];
    padding: readonly (readonly [number, number])[];
    lhsDilation: readonly number[];
    rhsDilation: readonly number[];
    featureGroupCount: number;
    batchGroupCount: number;
  };
  /** Stable ascending sort of each row of (rows, n), NaNs last; with a second operand carried along. */
  sort: { rows: number; n: number };
  /** Inclusive scan along the middle axis of (outer, n, inner). */
  cumulative: { outer: number; n: number; inner: number; op: 'sum' | 'prod' | 'max' | 'min'; reverse: boolean };
  /** Threefry-2x32 over four equally sized uint32 operands (k0, k1, x0, x1) → (y0, y1). */
  threefry: { size: number };
  /** out = operand; out[o, idx[j], i] += updates[o, j, i] over (outer, n, inner) with m indices. */
  scatterAdd: { outer: number; n: number; m: number; inner: number };
}
export type RoutineName = keyof RoutineParams;

export interface MemoryStats {
  /** Live buffers and their bytes, per backend. */
  readonly buffers: number;
  readonly bytes: number;
}

export interface Backend {
  readonly name: BackendName;
  alloc(dtype: DType, size: number): DeviceBuffer;
  upload(dtype: DType, data: TypedArray): DeviceBuffer;
  free(buf: DeviceBuffer): void;
  read(buf: DeviceBuffer): Promise<TypedArray>;
  /** Synchronous read; only backends whose memory is host memory support it. */
  readSync(buf: DeviceBuffer): TypedArray;
  /** Compile (cached by source) and run a kernel, writing its whole output buffer. */
  run(kernel: Kernel, inputs: readonly DeviceBuffer[], out: DeviceBuffer): void;
  /** The generated source for a kernel (what `run` compiles). */
  source(kernel: Kernel): string;
  routine<R extends RoutineName>(name: R, inputs: readonly DeviceBuffer[], outputs: readonly DeviceBuffer[], params: RoutineParams[R]): void;
  memoryStats(): MemoryStats;
}

const registry = new Map<BackendName, Backend>();
let defaultName: BackendName = 'cpu';

export function registerBackend(b: Backend): void {
  registry.set(b.name, b);
}
export function getBackend(name?: BackendName): Backend {
  const b = registry.get(name ?? defaultName);
  if (!b) throw new ValueError(`getBackend: backend '${name ?? defaultName}' is not available; available: ${[...registry.keys()].join(', ')}`);
  return b;
}
export function setDefaultBackend(name: BackendName): void {
  getBackend(name);
  defaultName = name;
}
export function defaultBackend(): Backend {
  return getBackend(defaultName);
}
export function backends(): BackendName[] {
  return [...registry.keys()];
}

/** Live buffers and bytes per registered backend (tests assert it returns to its starting point). */
export function memoryStats(): Partial<Record<BackendName, MemoryStats>> {
  return Object.fromEntries([...registry].map(([n, b]) => [n, b.memoryStats()]));
}
