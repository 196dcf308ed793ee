/**
 * NumPy-style methods on every array value, eager or traced: `x.add(y).mean()`.
 * Each `numpy/*` file exports a record of functions whose first argument is the array;
 * they are installed here on `Value.prototype`, and typed by the declaration below.
 */
import type { DType } from './dtype.js';
import type { ArrayLike } from './numpy/convert.js';
import { elementwiseMethods } from './numpy/elementwise.js';
import { linalgMethods } from './numpy/linalg.js';
import { reductionMethods } from './numpy/reductions.js';
import { shapeMethods } from './numpy/shape_ops.js';
import { slicingMethods } from './numpy/slicing.js';
import { slice } from './numpy/slicing.js';
import { sortingMethods } from './numpy/sorting.js';
import { Value } from './trace/value.js';

type Bin = (y: ArrayLike) => Value;
type Un = () => Value;

declare module './trace/value.js' {
  interface Value {
    add: Bin; sub: Bin; mul: Bin; div: Bin; floorDivide: Bin; mod: Bin; pow: Bin; maximum: Bin; minimum: Bin; arctan2: Bin;
    neg: Un; abs: Un; sign: Un; square: Un; exp: Un; expm1: Un; log: Un; log1p: Un; sqrt: Un; rsqrt: Un; sin: Un; cos: Un;
    tan: Un; tanh: Un; arctan: Un; sigmoid: Un; erf: Un; erfinv: Un; floor: Un; ceil: Un; round: Un;
    clip(lo?: ArrayLike | null, hi?: ArrayLike | null): Value;
    equal: Bin; notEqual: Bin; less: Bin; lessEqual: Bin; greater: Bin; greaterEqual: Bin;
    logicalAnd: Bin; logicalOr: Bin; logicalXor: Bin; logicalNot: Un; isnan: Un; isfinite: Un; isinf: Un;
    astype(dtype: DType): Value;
    broadcastTo(shape: readonly number[]): Value;
    /** Iterate over the first axis, like a JAX or NumPy array: `const [a, b] = random.split(key)`. */
    [Symbol.iterator](): Iterator<Value>;
  }
}

/** Install `fns` as methods: `x.name(...args)` calls `fns.name(x, ...args)`. */
export function installMethods(fns: Record<string, (x: never, ...args: never[]) => unknown>): void {
  for (const [name, fn] of Object.entries(fns)) {
    Object.defineProperty(Value.prototype, name, {
      value: function (this: Value, ...args: unknown[]) {
        return (fn as (...a: unknown[]) => unknown)(this, ...args);
      },
      writable: true,
      configurable: true,
    });
  }
}

Object.defineProperty(Value.prototype, Symbol.iterator, {
  value: function* (this: Value): Generator<Value> {
    if (this.ndim === 0) throw new TypeError(`iteration over a 0-d array ${this.aval.str()}`);
    for (let i = 0; i < this.shape[0]; i++) yield slice(this, i);
  },
  writable: true,
  configurable: true,
});

installMethods(elementwiseMethods);
installMethods(reductionMethods);
installMethods(sortingMethods);
installMethods(shapeMethods);
installMethods(slicingMethods);
installMethods(linalgMethods);
