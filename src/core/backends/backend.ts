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

/**
 * Fused routines: compositions a backend may run as one routine (not primitives, not in
 * `RoutineParams`: the CPU oracle keeps the composition; WebGPU runs attention, wasm softmax).
 * The jit emits one only where the backend's `acceptsFused` says yes (`kernel/fused_patterns.ts`).
 */
export interface AttentionParams {
  /** out (batch, lq, dv) = softmax(q (batch, lq, d) · k (batch, lk, d)ᵀ, scaled, + mask) · v (batch, lk, dv). */
  batch: number; lq: number; lk: number; d: number; dv: number;
  /** The scores times (`mul`) or divided by (`div`) this float32 constant; null: unscaled. */
  scale: { op: 'mul' | 'div'; value: number } | null;
  /** An additive (batch, lq, lk) operand after the scale (a fifth input). */
  mask: boolean;
  /** nn.softmax's guards: a non-finite row max counts as 0, a zero row sum as 1. */
  guarded: boolean;
}
/** out (rows, cols) = softmax of x (rows, cols) over its last axis, as nn.softmax stages it. */
export interface SoftmaxParams {
  rows: number; cols: number;
  /** nn.softmax's guards: a non-finite row max counts as 0, a zero row sum as 1. */
  guarded: boolean;
}
export interface FusedParams {
  attention: AttentionParams;
  softmax: SoftmaxParams;
}
export type FusedName = keyof FusedParams;

/** One kernel run: `run(kernel, inputs, out)`. */
export interface KernelCall {
  readonly kernel: Kernel;
  readonly inputs: readonly DeviceBuffer[];
  readonly out: DeviceBuffer;
}

export interface MemoryStats {
  /** Live buffers and their bytes, per backend. */
  readonly buffers: number;
  readonly bytes: number;
}

export interface Backend {
  readonly name: BackendName;
  /** Whether buffers live in host memory, so `readSync` works (CPU and wasm; not WebGPU). */
  readonly hostMemory: boolean;
  alloc(dtype: DType, size: number): DeviceBuffer;
  upload(dtype: DType, data: TypedArray): DeviceBuffer;
  free(buf: DeviceBuffer): void;
  /** The buffer's contents as a fresh typed array the caller owns (never a view of the buffer). */
  read(buf: DeviceBuffer): Promise<TypedArray>;
  /** Synchronous read; only backends whose memory is host memory support it. */
  readSync(buf: DeviceBuffer): TypedArray;
  /**
   * Compile kernels ahead of their first `run` (cached as `run` would cache them); WebGPU
   * creates its pipelines asynchronously. Optional: backends without it compile on first run.
   */
  prepare?(kernels: readonly Kernel[]): Promise<void>;
  /** Compile (cached by source) and run a kernel, writing its whole output buffer. */
  run(kernel: Kernel, inputs: readonly DeviceBuffer[], out: DeviceBuffer): void;
  /**
   * Optional: run a row group (`kernel/row_groups.ts`: kernels whose reads of one another's
   * outputs are row-local), e.g. block by block over their rows; the results must equal
   * running the calls one by one with `run`. Absent: the executor runs them one by one.
   */
  runRows?(calls: readonly KernelCall[]): void;
  /** The generated source for a kernel (what `run` compiles). */
  source(kernel: Kernel): string;
  routine<R extends RoutineName>(name: R, inputs: readonly DeviceBuffer[], outputs: readonly DeviceBuffer[], params: RoutineParams[R]): void;
  memoryStats(): MemoryStats;
  /**
   * `config.debugNans` where `readSync` does not work (WebGPU): check a float buffer for NaNs
   * once its value arrives and throw `error(flatIndex)` of the first at the next read.
   */
  checkNansLater?(buf: DeviceBuffer, error: (flatIndex: number) => Error): void;
  /** Whether `fused` runs routine `name` with these parameters (absent: no fused routines). */
  acceptsFused?<F extends FusedName>(name: F, params: FusedParams[F]): boolean;
  /** Run a fused routine `acceptsFused` accepted; operands are contiguous row-major buffers. */
  fused?<F extends FusedName>(name: F, inputs: readonly DeviceBuffer[], outputs: readonly DeviceBuffer[], params: FusedParams[F]): void;
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
/** The default backend's name (JAX's `jax.default_backend()`; exported as `defaultBackend`). */
export function defaultBackendName(): BackendName {
  return defaultName;
}
export function backends(): BackendName[] {
  return [...registry.keys()];
}

/** Live buffers and bytes per registered backend (tests assert it returns to its starting point). */
export function memoryStats(): Partial<Record<BackendName, MemoryStats>> {
  return Object.fromEntries([...registry].map(([n, b]) => [n, b.memoryStats()]));
}
