/**
 * Checkpoints: parameter pytrees saved to and loaded from safetensors files (format in
 * `safetensors.ts`), so PyTorch, JAX and the `safetensors` tools read what vidax writes and
 * vice versa.
 *
 * A leaf's tensor name is its path as `flattenWithPaths` (params.ts) gives it: object keys and
 * array indices joined by dots (`{down: [{conv: {w}}]}` → `down.0.conv.w`). The file metadata
 * holds `format: "vidax"`, the JSON of the config (`config`) and the training step (`step`).
 *
 * Writes are atomic: the file is written to `<path>.tmp-<random>` one tensor at a time, synced,
 * then renamed over `path`; if anything fails (a device read, the disk) the temporary file is
 * removed and whatever was at `path` is untouched. Loads check the file completely and the tree
 * name by name before any array is made. Node's `fs` is imported only when a file is touched,
 * so bundles for browsers (which use `encodeSafetensors` / `decodeSafetensors`) do not need it.
 */
import { NDArray } from '../core/array.js';
import { defaultBackend } from '../core/backends/backend.js';
import type { DType } from '../core/dtype.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from '../core/errors.js';
import { ShapedArray } from '../core/aval.js';
import * as tree from '../core/tree.js';
import { Value, type Value as Array } from '../core/trace/value.js';
import { flattenWithPaths, type ParamTree } from './params.js';
import { decodeSafetensors, planLayout, tensorBytes, FILE_DTYPE, type DecodedTensor, type Layout, type PlacedTensor, type Safetensors } from './safetensors.js';

/** What a leaf of the expected tree must tell `loadCheckpoint`: an array, a `ShapedArray` or `{shape, dtype}`. */
export interface LeafSpec {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/**
 * The tree `loadCheckpoint` returns for an expected tree of type `T`: every leaf becomes an
 * array. A generic `PyTree<…>` gives `PyTree<Array>`.
 */
export type Loaded<T> = [T] extends [tree.PyTree<infer L>] ? (tree.PyTree<L> extends T ? tree.PyTree<Array> : LoadedNode<T>) : LoadedNode<T>;
type LoadedNode<T> = T extends LeafSpec
  ? Array
  : T extends null | undefined
    ? T
    : T extends object
      ? { -readonly [K in keyof T]: Loaded<T[K]> }
      : T;

/** What `loadCheckpoint` returns. */
export interface Checkpoint<P> {
  /** The arrays, in the structure of the expected tree. */
  readonly params: P;
  /** The config saved with the checkpoint (`{}` when none was saved). */
  readonly metadata: Record<string, unknown>;
  /** The training step saved with the checkpoint, if any. */
  readonly step: number | undefined;
  /** The file's raw `__metadata__` strings (e.g. `{format: "pt"}` from PyTorch). */
  readonly fileMetadata: Readonly<Record<string, string>>;
}

/** Options of `saveCheckpoint`. */
export interface SaveOptions {
  /** JSON-serializable config saved as the `config` metadata entry. */
  readonly metadata?: Record<string, unknown>;
  /** Training step (a non-negative integer) saved as the `step` metadata entry. */
  readonly step?: number;
}

/** Options of `loadCheckpoint`. */
export interface LoadOptions {
  /** With `false`, tensors in the file that the expected tree does not name are ignored (default `true`: an error). */
  readonly strict?: boolean;
}

// ------------------------------------------------------------------------------- leaves

const isLeafSpec = (x: unknown): x is LeafSpec =>
  typeof x === 'object' &&
  x !== null &&
  !globalThis.Array.isArray(x) &&
  globalThis.Array.isArray((x as LeafSpec).shape) &&
  (x as LeafSpec).shape.every((d) => typeof d === 'number') &&
  typeof (x as LeafSpec).dtype === 'string';

const describe = (x: unknown): string => (x === null ? 'null' : typeof x === 'object' ? (x.constructor?.name ?? 'object') : typeof x);

// ------------------------------------------------------------------------------- files

async function nodeFs(op: string): Promise<typeof import('node:fs/promises')> {
  try {
    return await import('node:fs/promises');
  } catch {
    throw new ValueError(`${op}: needs Node's file system (node:fs/promises); without it use encodeSafetensors / decodeSafetensors on bytes`);
  }
}

function randomSuffix(): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(6))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Write the file of `layout` to a temporary name, tensor by tensor, sync it and rename it to `path`. */
async function writeAtomically(op: string, path: string, layout: Layout, bytesOf: (t: PlacedTensor) => Promise<Uint8Array>): Promise<void> {
  const fs = await nodeFs(op);
  const tmp = `${path}.tmp-${randomSuffix()}`;
  const file = await fs.open(tmp, 'wx');
  let open = true;
  try {
    const writeAll = async (bytes: Uint8Array): Promise<void> => {
      for (let off = 0; off < bytes.length; ) off += (await file.write(bytes, off, bytes.length - off)).bytesWritten;
    };
    await writeAll(layout.header);
    for (const t of layout.order) await writeAll(await bytesOf(t));
    await file.sync();
    open = false;
    await file.close();
    await fs.rename(tmp, path);
  } catch (e) {
    // The first error is the one to report; closing an already failing handle may fail too.
    if (open) await file.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Save named concrete arrays and string metadata as a safetensors file at `path`, atomically
 * (see the module comment). Each array is read with `await x.data()` only when its turn comes.
 */
export async function saveSafetensors(
  path: string,
  arrays: ReadonlyMap<string, Array> | Readonly<Record<string, Array>>,
  metadata: Readonly<Record<string, string>> = {},
  op = 'saveSafetensors',
): Promise<void> {
  const named = arrays instanceof Map ? arrays : new Map(Object.entries(arrays));
  for (const [name, x] of named) {
    if (!(x instanceof Value)) throw new ValueError(`${op}: tensor '${name}' is a ${describe(x)}, expected an array`);
    if (!(x instanceof NDArray)) throw new ValueError(`${op}: tensor '${name}' is a traced value ${x.aval.str()}; save concrete arrays, outside jit/grad/vmap`);
  }
  const layout = planLayout([...named].map(([name, x]) => ({ name, dtype: x.dtype, shape: x.shape })), metadata, op);
  await writeAtomically(op, path, layout, async (t) => tensorBytes(t, await named.get(t.name)!.data(), op));
}

/** Read the safetensors file at `path`: every tensor as an array (converted as `decodeSafetensors` says), and its metadata. */
export async function loadSafetensors(path: string): Promise<{ arrays: Map<string, Array>; metadata: Record<string, string> }> {
  const { tensors, metadata } = await readFile('loadSafetensors', path);
  return { arrays: new Map([...tensors].map(([name, t]) => [name, toArray(t)])), metadata: { ...metadata } };
}

async function readFile(op: string, path: string): Promise<Safetensors<DecodedTensor>> {
  const fs = await nodeFs(op);
  return decodeSafetensors(await fs.readFile(path), { label: `${op}(${path})` });
}

function toArray(t: DecodedTensor): Array {
  return NDArray.fromData(defaultBackend(), t.data, t.shape, t.dtype);
}

// ------------------------------------------------------------------------------- checkpoints

/**
 * Save the parameter tree `params` (leaves: concrete arrays) at `path` as a safetensors file
 * named by tree paths, with `format: "vidax"`, the config JSON and the step as metadata.
 */
export async function saveCheckpoint(path: string, params: ParamTree, options: SaveOptions = {}): Promise<void> {
  const op = 'saveCheckpoint';
  const named = new Map<string, Array>();
  for (const [name, x] of flattenWithPaths<unknown>(params)) {
    if (!(x instanceof Value)) throw new ValueError(`${op}: leaf '${name}' is a ${describe(x)}, expected an array`);
    named.set(name, x);
  }
  const metadata: Record<string, string> = { format: 'vidax' };
  if (options.metadata !== undefined) {
    const json = typeof options.metadata === 'object' && options.metadata !== null ? JSON.stringify(options.metadata) : undefined;
    if (json === undefined || globalThis.Array.isArray(options.metadata)) {
      throw new ValueError(`${op}: metadata must be a JSON-serializable object, got ${describe(options.metadata)}`);
    }
    metadata.config = json;
  }
  if (options.step !== undefined) {
    if (!Number.isSafeInteger(options.step) || options.step < 0) throw new ValueError(`${op}: step must be a non-negative integer, got ${options.step}`);
    metadata.step = JSON.stringify(options.step);
  }
  await saveSafetensors(path, named, metadata, op);
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 10).map((n) => `'${n}'`).join(', ');
  return names.length > 10 ? `${shown} and ${names.length - 10} more` : shown;
}

/**
 * Load the checkpoint at `path` into the structure of `like`, whose leaves (arrays, `ShapedArray`s
 * or `{shape, dtype}`) give the expected shape and dtype of each tensor. Every expected name must
 * be in the file with that shape and dtype (after the conversions of `decodeSafetensors`, so a
 * float64 file loads as float32), and, unless `strict` is false, the file must hold no other
 * tensor. A mismatch is an error naming the tensor and the expected and found shape or dtype.
 */
export async function loadCheckpoint<T>(path: string, like: T, options: LoadOptions = {}): Promise<Checkpoint<Loaded<T>>> {
  const op = `loadCheckpoint(${path})`;
  // Plain {shape, dtype} leaves become ShapedArrays, so that the tree's nodes are the only plain objects.
  const likeTree = tree.mapWith({ isLeaf: isLeafSpec }, (x: unknown) => (isLeafSpec(x) && !(x instanceof Value) ? new ShapedArray(x.shape, x.dtype) : x), like as tree.PyTree<unknown>);
  const expected = flattenWithPaths<unknown>(likeTree as object | null | undefined);
  for (const [name, spec] of expected) {
    if (!isLeafSpec(spec)) throw new ValueError(`${op}: leaf '${name}' of the expected tree is a ${describe(spec)}; expected an array or {shape, dtype}`);
  }
  const file = await readFile('loadCheckpoint', path);
  const missing = expected.filter(([name]) => !file.tensors.has(name)).map(([name]) => name);
  if (missing.length > 0) throw new ValueError(`${op}: the file has no tensor ${listNames(missing)} (${missing.length} of the ${expected.length} expected are missing)`);
  if (options.strict ?? true) {
    const names = new Set(expected.map(([name]) => name));
    const extra = [...file.tensors.keys()].filter((name) => !names.has(name));
    if (extra.length > 0) throw new ValueError(`${op}: the file has tensors the expected tree does not: ${listNames(extra)} (pass {strict: false} to ignore them)`);
  }
  const found = expected.map(([name, leaf]) => {
    const spec = leaf as LeafSpec;
    const t = file.tensors.get(name)!;
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new ShapeError(`${op}: tensor '${name}' has shape ${fmtShape(t.shape)} in the file but the expected tree has ${fmtShape(spec.shape)}`);
    }
    if (t.dtype !== spec.dtype) {
      const stored = t.fileDtype === FILE_DTYPE[t.dtype] ? t.dtype : `${t.dtype} (stored as ${t.fileDtype})`;
      throw new DTypeError(`${op}: tensor '${name}' has dtype ${stored} in the file but the expected tree has ${spec.dtype}`);
    }
    return t;
  });
  const params = tree.structure(likeTree).unflatten(found.map(toArray)) as Loaded<T>;
  return { params, ...parseMetadata(op, file.metadata), fileMetadata: file.metadata };
}

function parseMetadata(op: string, meta: Readonly<Record<string, string>>): { metadata: Record<string, unknown>; step: number | undefined } {
  let metadata: Record<string, unknown> = {};
  if (meta.config !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(meta.config);
    } catch (e) {
      throw new ValueError(`${op}: metadata 'config' is not valid JSON (${(e as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || globalThis.Array.isArray(parsed)) {
      throw new ValueError(`${op}: metadata 'config' is ${meta.config.slice(0, 80)}, expected a JSON object`);
    }
    metadata = parsed as Record<string, unknown>;
  }
  let step: number | undefined;
  if (meta.step !== undefined) {
    step = /^(0|[1-9][0-9]*)$/.test(meta.step) ? Number(meta.step) : NaN;
    if (!Number.isSafeInteger(step)) throw new ValueError(`${op}: metadata 'step' is ${JSON.stringify(meta.step)}, expected a non-negative integer`);
  }
  return { metadata, step };
}
