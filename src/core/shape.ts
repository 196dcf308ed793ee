/** Shape and axis arithmetic shared by every primitive. */
import { AxisError, ShapeError, fmtShape } from './errors.js';

export type Shape = readonly number[];

export function prod(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function shapeEq(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Normalise one possibly negative axis into `[0, ndim)`. */
export function normAxis(op: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim)
    throw new AxisError(`${op}: axis ${axis} is out of bounds for an array of rank ${ndim}`);
  return axis < 0 ? axis + ndim : axis;
}

/** Normalise `axis` (undefined/null = all axes, a number, or a list) into sorted unique axes. */
export function normAxes(op: string, axis: number | readonly number[] | null | undefined, ndim: number): number[] {
  if (axis === undefined || axis === null) return [...Array(ndim).keys()];
  const list = typeof axis === 'number' ? [axis] : axis;
  const out = list.map((a) => normAxis(op, a, ndim));
  if (new Set(out).size !== out.length) throw new AxisError(`${op}: repeated axis in ${JSON.stringify(list)}`);
  return out.sort((a, b) => a - b);
}

/** NumPy broadcasting of several shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = nd - s.length + i;
      const d = s[i];
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j])
        throw new ShapeError(`${op}: shapes ${shapes.map(fmtShape).join(', ')} cannot be broadcast together`);
    }
  }
  return out;
}

export function checkShape(op: string, shape: unknown): number[] {
  const s = typeof shape === 'number' ? [shape] : shape;
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0))
    throw new ShapeError(`${op}: invalid shape ${JSON.stringify(shape)}; expected non-negative integers`);
  return s;
}
