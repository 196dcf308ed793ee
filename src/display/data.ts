/**
 * Reading numbers out of whatever a notebook cell hands the display helpers: a vidax `Array`
 * (or any object with `shape`, `dtype` and an async `data()`), a typed array, or nested JS
 * arrays of numbers and booleans. The display module reads arrays only through this structural
 * interface, so it never imports the vidax core and works with arrays of any backend
 * (`await x.data()` reads GPU buffers back).
 */

/** The structural view of an array that the display helpers read (a vidax `Array` is one). */
export interface HostArray {
  readonly shape: readonly number[];
  readonly dtype: string;
  data(): Promise<ArrayLike<number>>;
}

/** Nested JS arrays of numbers or booleans (rectangular). */
export type NestedNumbers = number | boolean | readonly NestedNumbers[];

/** Anything the display helpers accept as an array. */
export type ArrayInput = HostArray | ArrayLike<number> | NestedNumbers;

/** An array read into host memory: row-major values as float64 plus shape and dtype. */
export interface Numbers {
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly values: Float64Array;
}

/** Errors raised by the display helpers; the message names the helper and the shapes involved. */
export class DisplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DisplayError';
  }
}

/** `[2,3]`, as every vidax shape message prints it. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** True for a vidax-style array (shape, dtype and an async `data()`). */
export function isHostArray(x: unknown): x is HostArray {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x && typeof (x as HostArray).data === 'function';
}

/** True for any value `readNumbers` accepts. */
export function isArrayInput(x: unknown): x is ArrayInput {
  return typeof x === 'number' || typeof x === 'boolean' || Array.isArray(x) || ArrayBuffer.isView(x) || isHostArray(x);
}

function typedDtype(x: ArrayBufferView): string {
  if (x instanceof Float32Array) return 'float32';
  if (x instanceof Float64Array) return 'float64';
  if (x instanceof Int32Array || x instanceof Int16Array || x instanceof Int8Array) return 'int32';
  if (x instanceof Uint32Array || x instanceof Uint16Array) return 'uint32';
  if (x instanceof Uint8Array || x instanceof Uint8ClampedArray) return 'uint8';
  return 'float64';
}

/** Shape of rectangular nested arrays; throws on ragged input. */
function nestedShape(op: string, x: NestedNumbers): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = x;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0] as NestedNumbers;
  }
  const check = (v: NestedNumbers, depth: number, path: number[]): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean')
        throw new DisplayError(`${op}: expected numbers or booleans in nested arrays, got ${typeof v} at index [${path.join(',')}]`);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth])
      throw new DisplayError(`${op}: ragged nested array: index [${path.join(',')}] has ${Array.isArray(v) ? `length ${v.length}` : 'a scalar'} where length ${shape[depth]} was expected`);
    v.forEach((e, i) => check(e as NestedNumbers, depth + 1, [...path, i]));
  };
  check(x, 0, []);
  return shape;
}

/** Read an array input into host memory (awaiting `data()` for vidax arrays). `op` names the caller in errors. */
export async function readNumbers(op: string, x: ArrayInput): Promise<Numbers> {
  if (isHostArray(x)) {
    const data = await x.data();
    return { shape: [...x.shape], dtype: x.dtype, values: Float64Array.from(data, Number) };
  }
  if (ArrayBuffer.isView(x)) {
    const t = x as unknown as ArrayLike<number> & ArrayBufferView;
    return { shape: [t.length], dtype: typedDtype(t), values: Float64Array.from(t, Number) };
  }
  if (typeof x === 'number' || typeof x === 'boolean' || Array.isArray(x)) {
    const shape = nestedShape(op, x as NestedNumbers);
    const flat: (number | boolean)[] = [];
    const collect = (v: NestedNumbers): void => {
      if (Array.isArray(v)) (v as readonly NestedNumbers[]).forEach(collect);
      else flat.push(v as number | boolean);
    };
    collect(x as NestedNumbers);
    const allBool = flat.length > 0 && flat.every((v) => typeof v === 'boolean');
    const allInt = flat.every((v) => typeof v === 'boolean' || Number.isInteger(v));
    return { shape, dtype: allBool ? 'bool' : allInt ? 'int32' : 'float32', values: Float64Array.from(flat, Number) };
  }
  throw new DisplayError(`${op}: expected an array (a vidax Array, a typed array or nested number arrays), got ${x === null ? 'null' : typeof x}`);
}

/** Read an input that must be one-dimensional (a scalar counts as length 1). */
export async function readVector(op: string, name: string, x: ArrayInput): Promise<Float64Array> {
  const n = await readNumbers(op, x);
  if (n.shape.length > 1 && n.shape.filter((d) => d !== 1).length > 1)
    throw new DisplayError(`${op}: ${name} must be one-dimensional, got shape ${fmtShape(n.shape)}`);
  return n.values;
}

/** True for dtypes whose values are integers (pixel defaults and table formatting differ). */
export function isIntegerDtype(dtype: string): boolean {
  return /^(u?int\d*|bool)$/.test(dtype);
}
