/**
 * The safetensors file format (https://github.com/huggingface/safetensors, README "Format",
 * validation rules of `safetensors/src/tensor.rs`), encoded and decoded between bytes and
 * named tensors. Pure: no file system, so it works in browsers too (`checkpoint.ts` adds files).
 *
 * Layout: an 8-byte little-endian u64 `N`, then `N` bytes of UTF-8 JSON
 * `{"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}, …}`
 * (may be padded at the end with spaces), then the data buffer: each tensor row-major and
 * little-endian at `[begin, end)` relative to the start of the buffer. The tensors must cover
 * the buffer exactly: sorted by offsets, each begins where the previous one ends, the last
 * one ends at the end of the file, and `end - begin = prod(shape) * itemsize`.
 *
 * Writing follows the reference writer byte for byte where vidax has a choice: tensors ordered
 * by decreasing dtype alignment (F32, U32, I32, BOOL), then by name; compact JSON with
 * `__metadata__` first (keys sorted) and the tensors in data order; the header padded with
 * spaces to a multiple of 8 bytes, so that every tensor is aligned in the file.
 *
 * Reading gives vidax dtypes. F32, I32, U32 and BOOL are read as they are (BOOL bytes must be
 * 0 or 1). Other dtypes are converted: F16 and BF16 to float32 (exact); F64 to float32
 * (round to nearest even, overflow to ±Infinity, NaN stays NaN); I8, U8, I16, U16 to int32
 * (exact); I64 to int32 and U64 to uint32, where a value out of range is an error. The FP8,
 * FP6, FP4 and complex dtypes are rejected as unsupported; any other dtype is unknown.
 */
import { checkDType, type DType, type TypedArray } from '../core/dtype.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from '../core/errors.js';

/** A named tensor's contents: row-major `data` of `prod(shape)` elements of `dtype`. */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

/** A tensor read from a file; `fileDtype` is the safetensors dtype it was stored as ("F64", …). */
export interface DecodedTensor extends Tensor {
  readonly fileDtype: string;
}

/** The contents of a safetensors file: tensors by name and the free-form string metadata. */
export interface Safetensors<T extends Tensor = Tensor> {
  readonly tensors: ReadonlyMap<string, T>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A tensor's name, dtype and shape: what the header says about it. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** A tensor's place in the data buffer. */
export interface PlacedTensor extends TensorSpec {
  readonly begin: number;
  readonly end: number;
}

/** Where everything goes in a file: the first `header.length` bytes, then the tensors in `order`. */
export interface Layout {
  /** The 8-byte header length followed by the padded JSON header. */
  readonly header: Uint8Array;
  /** The tensors in data order with their offsets in the data buffer. */
  readonly order: readonly PlacedTensor[];
  /** Length of the data buffer in bytes. */
  readonly dataBytes: number;
}

/** The reference implementation's limit on the JSON header (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

/** The safetensors name of each vidax dtype. */
export const FILE_DTYPE: Readonly<Record<DType, string>> = { float32: 'F32', int32: 'I32', uint32: 'U32', bool: 'BOOL' };

const ITEMSIZE: Readonly<Record<DType, number>> = { float32: 4, int32: 4, uint32: 4, bool: 1 };

/** Rank of each dtype in the reference writer's ordering (its `Dtype` enum order). */
const ALIGNMENT_RANK: Readonly<Record<DType, number>> = { bool: 0, int32: 1, uint32: 2, float32: 3 };

/** Dtypes of the format that vidax does not read. */
const UNSUPPORTED = new Set(['F4', 'F6_E2M3', 'F6_E3M2', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'C64']);

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// ------------------------------------------------------------------------------- reading

/** How one file dtype is read: its item size, the vidax dtype it becomes, and the decoder. */
interface FileDType {
  readonly itemsize: number;
  readonly dtype: DType;
  readonly read: (view: DataView, n: number, fail: (what: string) => never) => TypedArray;
}

function readWith<T extends TypedArray>(make: (n: number) => T, get: (view: DataView, byte: number) => number, itemsize: number) {
  return (view: DataView, n: number): T => {
    const out = make(n);
    for (let i = 0; i < n; i++) out[i] = get(view, i * itemsize);
    return out;
  };
}

/** A native little-endian dtype: one copy of the bytes on little-endian hosts. */
function native(dtype: DType, get: (view: DataView, byte: number) => number): FileDType['read'] {
  const slow = readWith((n) => new (typedArrayOf(dtype))(n), get, ITEMSIZE[dtype]);
  return (view, n) => {
    if (!LITTLE_ENDIAN_HOST) return slow(view, n);
    const copy = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
    return new (typedArrayOf(dtype))(copy as ArrayBuffer);
  };
}

function typedArrayOf(dtype: DType): { new (n: number): TypedArray; new (b: ArrayBuffer): TypedArray } {
  return { float32: Float32Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array }[dtype];
}

/** IEEE 754 binary16 to a number (exact in float32). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function readBigInts(view: DataView, n: number, signed: boolean, lo: bigint, hi: bigint, fail: (what: string) => never): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = signed ? view.getBigInt64(i * 8, true) : view.getBigUint64(i * 8, true);
    if (v < lo || v > hi) fail(`element ${i} = ${v} does not fit ${signed ? 'int32' : 'uint32'}`);
    out[i] = Number(v);
  }
  return out;
}

const FILE_DTYPES: Readonly<Record<string, FileDType>> = {
  F32: { itemsize: 4, dtype: 'float32', read: native('float32', (v, b) => v.getFloat32(b, true)) },
  I32: { itemsize: 4, dtype: 'int32', read: native('int32', (v, b) => v.getInt32(b, true)) },
  U32: { itemsize: 4, dtype: 'uint32', read: native('uint32', (v, b) => v.getUint32(b, true)) },
  BOOL: {
    itemsize: 1,
    dtype: 'bool',
    read: (view, n, fail) => {
      const out = new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + n));
      const bad = out.findIndex((b) => b > 1);
      if (bad >= 0) fail(`element ${bad} is byte ${out[bad]}, but BOOL bytes must be 0 or 1`);
      return out;
    },
  },
  F64: { itemsize: 8, dtype: 'float32', read: readWith((n) => new Float32Array(n), (v, b) => v.getFloat64(b, true), 8) },
  F16: { itemsize: 2, dtype: 'float32', read: readWith((n) => new Float32Array(n), (v, b) => halfToNumber(v.getUint16(b, true)), 2) },
  BF16: {
    itemsize: 2,
    dtype: 'float32',
    read: (view, n) => {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    },
  },
  I8: { itemsize: 1, dtype: 'int32', read: readWith((n) => new Int32Array(n), (v, b) => v.getInt8(b), 1) },
  U8: { itemsize: 1, dtype: 'int32', read: readWith((n) => new Int32Array(n), (v, b) => v.getUint8(b), 1) },
  I16: { itemsize: 2, dtype: 'int32', read: readWith((n) => new Int32Array(n), (v, b) => v.getInt16(b, true), 2) },
  U16: { itemsize: 2, dtype: 'int32', read: readWith((n) => new Int32Array(n), (v, b) => v.getUint16(b, true), 2) },
  I64: { itemsize: 8, dtype: 'int32', read: (v, n, fail) => Int32Array.from(readBigInts(v, n, true, -(2n ** 31n), 2n ** 31n - 1n, fail)) },
  U64: { itemsize: 8, dtype: 'uint32', read: (v, n, fail) => Uint32Array.from(readBigInts(v, n, false, 0n, 2n ** 32n - 1n, fail)) },
};

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Element count of `shape`, or an error naming `what` when it is not a list of counts or overflows. */
function numel(shape: unknown, what: string, op: string): number {
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new ValueError(`${op}: ${what} has shape ${JSON.stringify(shape)}; a shape must be a list of non-negative integers`);
  }
  const n = shape.reduce((a: number, b: number) => a * b, 1);
  if (!Number.isSafeInteger(n)) throw new ValueError(`${op}: ${what} has shape ${fmtShape(shape)}, whose size overflows`);
  return n;
}

interface HeaderEntry {
  readonly name: string;
  readonly file: FileDType;
  readonly fileDtype: string;
  readonly shape: number[];
  readonly count: number;
  readonly begin: number;
  readonly end: number;
}

function parseEntry(name: string, info: unknown, op: string): HeaderEntry {
  const what = `tensor '${name}'`;
  if (!isRecord(info)) throw new ValueError(`${op}: ${what}: header entry is ${JSON.stringify(info)}, expected {"dtype", "shape", "data_offsets"}`);
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string') throw new ValueError(`${op}: ${what} has dtype ${JSON.stringify(dtype)}, expected a string such as "F32"`);
  const file = FILE_DTYPES[dtype];
  if (!file) {
    const supported = Object.keys(FILE_DTYPES).join(', ');
    throw new DTypeError(
      UNSUPPORTED.has(dtype)
        ? `${op}: ${what} has unsupported dtype ${dtype}; vidax reads ${supported}`
        : `${op}: ${what} has unknown dtype ${JSON.stringify(dtype)}; vidax reads ${supported}`,
    );
  }
  const n = numel(shape, what, op);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new ValueError(`${op}: ${what} has data_offsets ${JSON.stringify(offsets)}, expected [begin, end] with 0 <= begin <= end`);
  }
  const [begin, end] = offsets as [number, number];
  if (end - begin !== n * file.itemsize) {
    throw new ValueError(
      `${op}: ${what} is ${dtype}${fmtShape(shape as number[])}, which takes ${n * file.itemsize} bytes, but its data_offsets [${begin}, ${end}] span ${end - begin} bytes`,
    );
  }
  return { name, file, fileDtype: dtype, shape: shape as number[], count: n, begin, end };
}

function parseMetadata(meta: unknown, op: string): Record<string, string> {
  if (!isRecord(meta)) throw new ValueError(`${op}: __metadata__ is ${JSON.stringify(meta)}, expected an object of strings`);
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== 'string') throw new ValueError(`${op}: __metadata__ entry '${k}' is ${JSON.stringify(v)}, but metadata values must be strings`);
  }
  return { ...(meta as Record<string, string>) };
}

/** Options of `decodeSafetensors`. */
export interface DecodeOptions {
  /** Prefix of error messages (default `decodeSafetensors`); e.g. the function and file name. */
  readonly label?: string;
}

/**
 * Parse and validate a safetensors file held in `bytes`. Every rule of the format is checked
 * (header length within the file and under 100 MB, UTF-8 JSON object, known dtypes, sizes
 * matching shapes, offsets covering the buffer exactly with no gap or overlap, nothing
 * truncated or trailing); a violation is a `ValueError` (`DTypeError` for dtypes) that names
 * the tensor at fault. Data are copied, so `bytes` may be reused afterwards.
 */
export function decodeSafetensors(bytes: Uint8Array, options: DecodeOptions = {}): Safetensors<DecodedTensor> {
  const op = options.label ?? 'decodeSafetensors';
  if (bytes.length < 8) {
    throw new ValueError(`${op}: the file is ${bytes.length} bytes, too short for the 8-byte header length; it is truncated or not a safetensors file`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new ValueError(`${op}: the header length is ${n} bytes, over the format's limit of ${MAX_HEADER_BYTES}; the file is corrupted or not a safetensors file`);
  }
  const headerBytes = Number(n);
  if (8 + headerBytes > bytes.length) {
    throw new ValueError(`${op}: the header length is ${headerBytes} bytes, beyond the end of the file (${bytes.length} bytes); the file is truncated or not a safetensors file`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    throw new ValueError(`${op}: the header is not valid UTF-8`);
  }
  if (!text.startsWith('{')) throw new ValueError(`${op}: the header does not start with '{'; the file is corrupted or not a safetensors file`);
  let header: Record<string, unknown>; // JSON text that starts with '{' parses to an object
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ValueError(`${op}: the header is not valid JSON (${(e as Error).message})`);
  }

  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = parseMetadata(info, op);
    else entries.push(parseEntry(name, info, op));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  entries.forEach((e, i) => {
    if (e.begin < covered) {
      throw new ValueError(`${op}: tensor '${e.name}' at data_offsets [${e.begin}, ${e.end}] overlaps tensor '${entries[i - 1]!.name}', which ends at ${covered}`);
    }
    if (e.begin > covered) {
      throw new ValueError(`${op}: bytes [${covered}, ${e.begin}) of the data buffer belong to no tensor (gap before tensor '${e.name}'); the tensors must cover the buffer`);
    }
    covered = e.end;
  });
  const available = bytes.length - 8 - headerBytes;
  if (covered > available) {
    throw new ValueError(
      `${op}: the file is truncated: its tensors need ${covered} data bytes (a file of ${8 + headerBytes + covered} bytes) but only ${available} follow the header (the file is ${bytes.length} bytes)`,
    );
  }
  if (covered < available) {
    throw new ValueError(`${op}: ${available - covered} bytes after the last tensor (data ends at ${covered}, the buffer is ${available} bytes) belong to no tensor`);
  }

  const base = 8 + headerBytes;
  const tensors = new Map<string, DecodedTensor>();
  for (const e of [...entries].sort((a, b) => compareNames(a.name, b.name))) {
    const slice = new DataView(bytes.buffer, bytes.byteOffset + base + e.begin, e.end - e.begin);
    const fail = (what: string): never => {
      throw new ValueError(`${op}: tensor '${e.name}' (${e.fileDtype}${fmtShape(e.shape)}): ${what}`);
    };
    tensors.set(e.name, { dtype: e.file.dtype, shape: e.shape, data: e.file.read(slice, e.count, fail), fileDtype: e.fileDtype });
  }
  return { tensors, metadata };
}

// ------------------------------------------------------------------------------- writing

/** Orders strings by Unicode code points (the byte order of their UTF-8, as the reference writer sorts). */
function compareNames(a: string, b: string): number {
  const ia = a[Symbol.iterator](), ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next(), y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/**
 * Plan a file: validate the tensor specs and `metadata`, order the tensors as the reference
 * writer does, and build the header. `op` names the caller in error messages.
 */
export function planLayout(specs: Iterable<TensorSpec>, metadata: Readonly<Record<string, string>> = {}, op = 'encodeSafetensors'): Layout {
  const seen = new Set<string>();
  const list: TensorSpec[] = [];
  for (const s of specs) {
    if (typeof s.name !== 'string') throw new ValueError(`${op}: tensor name ${String(s.name)} is not a string`);
    if (s.name === METADATA_KEY) throw new ValueError(`${op}: '${METADATA_KEY}' is reserved and cannot name a tensor`);
    if (seen.has(s.name)) throw new ValueError(`${op}: tensor name '${s.name}' appears twice`);
    seen.add(s.name);
    checkDType(`${op}: tensor '${s.name}'`, s.dtype);
    numel(s.shape, `tensor '${s.name}'`, op);
    list.push({ name: s.name, dtype: s.dtype, shape: [...s.shape] });
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new ValueError(`${op}: metadata '${k}' is ${JSON.stringify(v)}, but metadata values must be strings`);
  }
  list.sort((a, b) => ALIGNMENT_RANK[b.dtype] - ALIGNMENT_RANK[a.dtype] || compareNames(a.name, b.name));
  let offset = 0;
  const order = list.map((s) => {
    const begin = offset;
    offset += s.shape.reduce((a, b) => a * b, 1) * ITEMSIZE[s.dtype];
    return { ...s, begin, end: offset };
  });

  const parts: string[] = [];
  const metaKeys = Object.keys(metadata).sort(compareNames);
  if (metaKeys.length > 0) {
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${metaKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  for (const t of order) {
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${FILE_DTYPE[t.dtype]}","shape":[${t.shape.join(',')}],"data_offsets":[${t.begin},${t.end}]}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES) throw new ValueError(`${op}: the header would be ${padded} bytes, over the format's limit of ${MAX_HEADER_BYTES}`);
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, order, dataBytes: offset };
}

/**
 * The little-endian bytes of `data` as tensor `spec` of the file (bool as 0/1 bytes). On
 * little-endian hosts this is a view of `data` for the 4-byte dtypes.
 */
export function tensorBytes(spec: TensorSpec, data: TypedArray, op = 'encodeSafetensors'): Uint8Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) {
    throw new ShapeError(`${op}: tensor '${spec.name}' has shape ${fmtShape(spec.shape)} (${n} elements) but ${data.length} data elements`);
  }
  if (spec.dtype === 'bool') return Uint8Array.from(data, (v) => (v !== 0 ? 1 : 0));
  const Expected = typedArrayOf(spec.dtype);
  if (!(data instanceof Expected)) throw new ValueError(`${op}: tensor '${spec.name}' is ${spec.dtype} but its data is a ${data.constructor.name}`);
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  const set = { float32: view.setFloat32, int32: view.setInt32, uint32: view.setUint32 }[spec.dtype].bind(view);
  data.forEach((v, i) => set(i * 4, v, true));
  return out;
}

/** Encode named tensors and string metadata as a safetensors file (see `planLayout` for the layout). */
export function encodeSafetensors(contents: {
  readonly tensors: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;
  readonly metadata?: Readonly<Record<string, string>>;
}): Uint8Array {
  const named = contents.tensors instanceof Map ? contents.tensors : new Map(Object.entries(contents.tensors));
  const layout = planLayout([...named].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })), contents.metadata ?? {});
  const out = new Uint8Array(layout.header.length + layout.dataBytes);
  out.set(layout.header, 0);
  for (const t of layout.order) out.set(tensorBytes(t, named.get(t.name)!.data), layout.header.length + t.begin);
  return out;
}
