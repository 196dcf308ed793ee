/**
 * NumPy-style methods on every array value, eager or traced: `x.add(y).mean()`.
 * Each `numpy/*` file exports a record of functions whose first argument is the array;
 * they are installed here on `Value.prototype`, and typed by the declaration below.
 */
import type { DType } from './dtype.js';
import type { ArrayLike } from './numpy/convert.js';
import { elementwiseMethods } from './numpy/elementwise.js';
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

installMethods(elementwiseMethods);
