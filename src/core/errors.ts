/** Error classes that are part of the API: every message names the operation and the shapes or values involved. */

export class VidaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** Shapes that do not fit an operation (`matmul: contracting dims differ: [2,3] @ [4,5]`). */
export class ShapeError extends VidaxError {}
/** A dtype an operation does not accept. */
export class DTypeError extends VidaxError {}
/** An axis outside `[-ndim, ndim)` or repeated. */
export class AxisError extends VidaxError {}
/** An index outside its axis or a malformed index spec (NumPy's IndexError). */
export class IndexError extends VidaxError {}
/** Malformed input values (ragged nested arrays, bad literal data). */
export class ValueError extends VidaxError {}
/** A traced value used where a concrete one is needed (JS `if`, `Number(x)`); use `lax.cond` / `lax.scan`. */
export class ConcretizationError extends VidaxError {}
/** A tracer that escaped the transformation that created it. */
export class TracerLeakError extends VidaxError {}
/** A NaN found by `config.debugNans`, naming the primitive that produced it. */
export class FloatingPointError extends VidaxError {}
/** An array used after `dispose()`. */
export class DisposedError extends VidaxError {}
/** A device backend failed: unavailable, lost, out of memory, a request beyond its limits, or a value it cannot read synchronously. */
export class DeviceError extends VidaxError {}

/** `[2,3]` formatting used in every shape message. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
