/**
 * `NDArray`: the concrete, immutable array. It is a (possibly strided) view of a backend
 * buffer: transposes, broadcasts, slices and flips share the buffer (offset and strides,
 * strides may be 0 or negative); everything else writes a new contiguous buffer.
 *
 * Memory: CPU buffers belong to the garbage collector; device buffers are released by
 * `dispose()`, `using`, `scope()` or, as a last resort, a FinalizationRegistry. Buffers are
 * reference-counted across the views that share them.
 */
import { ShapedArray } from './aval.js';
import { storageOf, type DType, type TypedArray } from './dtype.js';
import { DisposedError, ValueError } from './errors.js';
import { formatArray } from './format.js';
import { add, idx, load, mul, outVar, type Expr, type Kernel } from './kernel/ir.js';
import { stridesOf, type Shape } from './shape.js';
import type { Backend, DeviceBuffer } from './backends/backend.js';
import { Value, type NestedArray } from './trace/value.js';
export type { NestedArray } from './trace/value.js';

/** A backend buffer shared by the views of it. */
class Storage {
  refs = 0;
  constructor(readonly backend: Backend, readonly buffer: DeviceBuffer) {}
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0) this.backend.free(this.buffer);
  }
}

const finalizer = new FinalizationRegistry<Storage>((s) => s.release());

/** Arrays created while a `scope` runs, innermost scope last. */
const scopes: Set<NDArray>[] = [];


export class NDArray extends Value {
  #disposed = false;
  readonly #storage: Storage;

  private constructor(
    readonly aval: ShapedArray,
    storage: Storage,
    /** Element strides of the view (may be 0 or negative). */
    readonly strides: readonly number[],
    /** Element offset of index (0,…,0) in the buffer. */
    readonly offset: number,
  ) {
    super();
    this.#storage = storage;
    storage.retain();
    finalizer.register(this, storage, this);
    scopes.at(-1)?.add(this);
  }

  /** A new contiguous array owning `buffer`. */
  static fromBuffer(backend: Backend, buffer: DeviceBuffer, shape: Shape, dtype: DType, weakType = false): NDArray {
    return new NDArray(new ShapedArray(shape, dtype, weakType), new Storage(backend, buffer), stridesOf(shape), 0);
  }
  /** A new contiguous array holding a copy of `data`. */
  static fromData(backend: Backend, data: TypedArray, shape: Shape, dtype: DType, weakType = false): NDArray {
    return NDArray.fromBuffer(backend, backend.upload(dtype, data), shape, dtype, weakType);
  }

  /** Another view of the same buffer. */
  view(aval: ShapedArray, strides: readonly number[], offset: number): NDArray {
    this.check('view');
    return new NDArray(aval, this.#storage, strides, offset);
  }

  get backend(): Backend {
    return this.#storage.backend;
  }
  /** The underlying buffer (a view may see only part of it). */
  get buffer(): DeviceBuffer {
    this.check('buffer');
    return this.#storage.buffer;
  }
  get isDisposed(): boolean {
    return this.#disposed;
  }
  /** Row-major, offset 0, covering the whole buffer. */
  get isContiguous(): boolean {
    const s = stridesOf(this.shape);
    return this.offset === 0 && this.size === this.#storage.buffer.size && this.shape.every((d, i) => d === 1 || s[i] === this.strides[i]);
  }

  check(op: string): void {
    if (this.#disposed) throw new DisposedError(`${op}: array ${this.aval.str()} was used after dispose()`);
  }

  /** The load of this view at logical index `idxs` from input buffer slot `slot` of a kernel. */
  loadAt(slot: number, idxs: readonly Expr[]): Expr {
    let e: Expr = idx(this.offset);
    this.shape.forEach((d, i) => {
      if (d !== 1 && this.strides[i] !== 0) e = add(e, mul(idxs[i], idx(this.strides[i])));
    });
    return load(slot, e, this.dtype);
  }

  /** This array as a contiguous buffer (itself if already contiguous). */
  contiguous(): NDArray {
    this.check('contiguous');
    if (this.isContiguous) return this;
    const kernel: Kernel = {
      inputs: [this.dtype],
      outShape: this.shape,
      outDtype: this.dtype,
      expr: this.loadAt(0, this.shape.map((_, i) => outVar(i))),
      label: 'copy',
    };
    const out = this.backend.alloc(this.dtype, this.size);
    this.backend.run(kernel, [this.buffer], out);
    return NDArray.fromBuffer(this.backend, out, this.shape, this.dtype, this.weakType);
  }

  /** The elements in row-major order (a fresh copy). */
  override async data(): Promise<TypedArray> {
    const c = this.contiguous();
    try {
      return await c.backend.read(c.buffer); // a fresh copy (the Backend contract)
    } finally {
      if (c !== this) c.dispose();
    }
  }
  /** Synchronous `data()`; only on backends whose memory is host memory (the CPU). */
  override dataSync(): TypedArray {
    const c = this.contiguous();
    try {
      return new (storageOf(this.dtype))(c.backend.readSync(c.buffer));
    } finally {
      if (c !== this) c.dispose();
    }
  }
  /** Nested JS arrays of numbers (booleans for bool arrays). */
  override toNested(): NestedArray {
    const d = this.dataSync();
    const conv = (v: number) => (this.dtype === 'bool' ? v !== 0 : v);
    const build = (dim: number, off: number): NestedArray => {
      if (dim === this.ndim) return conv(d[off]);
      const step = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, off + i * step));
    };
    return build(0, 0);
  }
  /** The single element of a size-1 array. */
  override item(): number | boolean {
    if (this.size !== 1) throw new ValueError(`item: only size-1 arrays can be converted to a scalar, got shape ${this.aval.str()}`);
    const v = this.dataSync()[0];
    return this.dtype === 'bool' ? v !== 0 : v;
  }
  /** NumPy-style printing: `Array([1., 2.], dtype=float32)`. */
  override toString(): string {
    if (this.#disposed) return `Array(<disposed>, ${this.aval.str()})`;
    return formatArray(this.dataSync(), this.shape, this.dtype);
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
  [Symbol.toPrimitive](hint: string): number | boolean | string {
    if (hint === 'string') return this.toString();
    return this.item();
  }

  /** Release the buffer now (views keep it alive until they are disposed too). Idempotent. */
  override dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    finalizer.unregister(this);
    this.#storage.release();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Run `fn` and dispose every array created inside it that is not part of its result
 * (any pytree of arrays). Scopes nest; `fn` must be synchronous.
 */
export function scope<T>(fn: () => T, keep: (result: T) => readonly unknown[] = defaultKeep): T {
  const created = new Set<NDArray>();
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const a of created) a.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) throw new ValueError('scope: the function returned a Promise; scope only supports synchronous functions');
  const kept = new Set(keep(result));
  for (const a of created) {
    if (kept.has(a)) scopes.at(-1)?.add(a);
    else a.dispose();
  }
  return result;
}

/**
 * Run `fn` outside every active `scope`: arrays it creates are owned by the garbage collector
 * (used for what outlives the call, such as the constants of a cached compiled function).
 */
export function unscoped<T>(fn: () => T): T {
  const saved = scopes.splice(0, scopes.length);
  try {
    return fn();
  } finally {
    scopes.push(...saved);
  }
}

function defaultKeep(result: unknown): unknown[] {
  const out: unknown[] = [];
  const walk = (x: unknown): void => {
    if (x instanceof NDArray) out.push(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) Object.values(x).forEach(walk);
  };
  walk(result);
  return out;
}
