/**
 * Turning JS data into arrays: `np.array` (nested arrays, typed arrays, scalars) and the
 * conversion of operands (`toValue`): a JS number becomes a weakly typed scalar so that
 * `x.mul(2)` keeps x's dtype (JAX's weak types).
 */
import { NDArray, type NestedArray } from '../array.js';
import { defaultBackend } from '../backends/backend.js';
import { checkDType, coerceScalar, scalarDType, storageOf, type DType, type TypedArray } from '../dtype.js';
import { DeviceError, ValueError } from '../errors.js';
import { Value } from '../trace/value.js';

/** Anything an op accepts as an array operand. */
export type ArrayLike = Value | number | boolean | NestedArray | TypedArray;

function typedDType(d: TypedArray): DType {
  if (d instanceof Int32Array) return 'int32';
  if (d instanceof Uint32Array) return 'uint32';
  return 'float32';
}

/** Shape and flat row-major values of nested JS arrays; ragged input is an error naming the path. */
function flattenNested(op: string, data: NestedArray): { shape: number[]; flat: (number | boolean)[] } {
  const shape: number[] = [];
  for (let d: NestedArray = data; Array.isArray(d); d = d[0]) {
    shape.push(d.length);
    if (d.length === 0) break;
  }
  const flat: (number | boolean)[] = [];
  const walk = (x: NestedArray, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(x)) throw new ValueError(`${op}: ragged nested array: element ${path} is a list but expected a scalar at depth ${depth} (shape so far ${JSON.stringify(shape)})`);
      if (typeof x !== 'number' && typeof x !== 'boolean') throw new ValueError(`${op}: ${path ? `element ${path}` : 'the value'} is ${x === null ? 'null' : typeof x}, expected a number, a boolean or nested arrays of them`);
      flat.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth])
      throw new ValueError(`${op}: ragged nested array: element ${path || '[]'} has ${Array.isArray(x) ? `length ${x.length}` : 'a scalar'} but expected length ${shape[depth]} (shape ${JSON.stringify(shape)})`);
    x.forEach((y, i) => walk(y, depth + 1, `${path}[${i}]`));
  };
  walk(data, 0, '');
  return { shape, flat };
}

/**
 * `np.array(data, dtype?)`. Without a dtype: booleans give bool, typed arrays keep their
 * type, and JS numbers give float32 (JS cannot tell `1` from `1.0`; pass `'int32'` for ints).
 */
export function array(data: ArrayLike, dtype?: DType): NDArray {
  if (dtype !== undefined) checkDType('array', dtype);
  if (data instanceof NDArray) return dtype && dtype !== data.dtype ? castArray(data, dtype) : data;
  if (data instanceof Value) throw new ValueError('array: cannot make a concrete array from a traced value');
  const b = defaultBackend();
  if (ArrayBuffer.isView(data)) {
    const d = dtype ?? typedDType(data as TypedArray);
    const src = data as TypedArray;
    const store = new (storageOf(d))(src.length);
    for (let i = 0; i < src.length; i++) store[i] = coerceScalar(src[i], d);
    return NDArray.fromData(b, store, [src.length], d);
  }
  const { shape, flat } = flattenNested('array', data as NestedArray);
  const d = dtype ?? (flat.length > 0 && flat.every((v) => typeof v === 'boolean') ? 'bool' : 'float32');
  const store = new (storageOf(d))(flat.length);
  for (let i = 0; i < flat.length; i++) store[i] = coerceScalar(flat[i], d);
  return NDArray.fromData(b, store, shape, d);
}

function castArray(x: NDArray, dtype: DType): NDArray {
  if (!x.backend.hostMemory)
    throw new DeviceError(`array: converting a ${x.aval.str()} array on the ${x.backend.name} backend to ${dtype} reads it on the host, which cannot be done synchronously; use np.astype(x, '${dtype}') (a cast on the device) or np.array(await x.data(), '${dtype}')`);
  const src = x.dataSync();
  const store = new (storageOf(dtype))(src.length);
  for (let i = 0; i < src.length; i++) store[i] = coerceScalar(src[i], dtype);
  return NDArray.fromData(x.backend, store, x.shape, dtype);
}

/** A scalar array; weakly typed unless `dtype` is given. */
export function scalar(v: number | boolean, dtype?: DType): NDArray {
  const d = dtype ?? scalarDType(v);
  const store = new (storageOf(d))(1);
  store[0] = coerceScalar(v, d);
  return NDArray.fromData(defaultBackend(), store, [], d, dtype === undefined && typeof v === 'number');
}

/** Operand conversion used by every op: arrays and tracers pass through, JS scalars become weak scalars. */
export function toValue(op: string, x: ArrayLike): Value {
  if (x instanceof Value) return x;
  if (typeof x === 'number' || typeof x === 'boolean') return scalar(x);
  if (Array.isArray(x) || ArrayBuffer.isView(x)) return array(x);
  throw new ValueError(`${op}: expected an array, a number or a boolean, got ${x === null ? 'null' : typeof x}`);
}
