/**
 * The values primitives operate on: concrete arrays (`NDArray`, in `array.ts`) and tracers.
 * Both share this base class, on which `array_methods.ts` installs the NumPy-style methods
 * (`x.add(y).mean()`), so user code is the same whether it runs eagerly or under a trace.
 */
import type { ShapedArray } from '../aval.js';
import type { DType, TypedArray } from '../dtype.js';
import { ConcretizationError } from '../errors.js';
import type { Trace } from './trace.js';

export abstract class Value {
  abstract get aval(): ShapedArray;
  get shape(): readonly number[] {
    return this.aval.shape;
  }
  get dtype(): DType {
    return this.aval.dtype;
  }
  get ndim(): number {
    return this.aval.shape.length;
  }
  get size(): number {
    return this.aval.size;
  }
  get weakType(): boolean {
    return this.aval.weakType;
  }

  // Reading values needs a concrete array; tracers throw ConcretizationError (see Tracer).
  abstract data(): Promise<TypedArray>;
  abstract dataSync(): TypedArray;
  abstract item(): number | boolean;
  abstract toNested(): NestedArray;
  /** Release the array's buffer now (a no-op for tracers). */
  abstract dispose(): void;
}

export type NestedArray = number | boolean | NestedArray[];

/** A value under a transformation: it belongs to exactly one trace. */
export abstract class Tracer extends Value {
  constructor(readonly trace: Trace) {
    super();
  }

  private concretize(what: string): never {
    throw new ConcretizationError(
      `${what} of a traced array ${this.aval.str()} under ${this.trace.describe()}: its value is not known while tracing. ` +
        `Use lax.cond / lax.switch for data-dependent branches, lax.whileLoop / lax.scan / lax.foriLoop for loops, ` +
        `or mark the argument static (jit's staticArgnums).`,
    );
  }
  data(): never {
    this.concretize('data() was called');
  }
  dataSync(): never {
    this.concretize('dataSync() was called');
  }
  item(): never {
    this.concretize('item() was called');
  }
  toNested(): never {
    this.concretize('toNested() was called');
  }
  dispose(): void {}
  [Symbol.toPrimitive](): never {
    this.concretize('JavaScript needed the concrete value (if/while condition, Number(x), template string)');
  }
  override valueOf(): never {
    this.concretize('valueOf() was called');
  }
  override toString(): string {
    return `Traced<${this.aval.str()}> with ${this.trace.describe()}`;
  }
}
