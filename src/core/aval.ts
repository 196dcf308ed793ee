/** Abstract values: what a tracer knows about an array (shape, dtype, weak type). */
import type { DType } from './dtype.js';
import { fmtShape } from './errors.js';
import { prod, shapeEq, type Shape } from './shape.js';

export class ShapedArray {
  constructor(readonly shape: Shape, readonly dtype: DType, readonly weakType = false) {}
  get ndim(): number { return this.shape.length; }
  get size(): number { return prod(this.shape); }
  equals(o: ShapedArray): boolean {
    return this.dtype === o.dtype && this.weakType === o.weakType && shapeEq(this.shape, o.shape);
  }
  strengthen(): ShapedArray { return this.weakType ? new ShapedArray(this.shape, this.dtype) : this; }
  /** JAX's short form: `f32[3,4]`. */
  str(): string {
    const d = { float32: 'f32', int32: 'i32', uint32: 'u32', bool: 'bool' }[this.dtype];
    return `${d}${fmtShape(this.shape)}`;
  }
  toString(): string { return this.str(); }
}
