/**
 * Parameter-tree utilities: dotted paths, counting, trainable/frozen partitions, casting and
 * the global norm.
 *
 * Paths name a leaf by the keys and JS-array indices leading to it, joined with dots:
 * `{ down: [{ conv: { w } }] }` has the leaf `"down.0.conv.w"`. Leaves are listed in
 * `tree.flatten` order (object keys sorted), and every function here keeps `tree`'s node rules
 * (plain objects and JS arrays are nodes; `null`/`undefined` are empty nodes). So that a path
 * names exactly one leaf, object keys must be non-empty and contain no '.'.
 */
import { DTypeError, ValueError } from '../core/errors.js';
import type { DType } from '../core/dtype.js';
import * as np from '../core/numpy/index.js';
import { Value } from '../core/trace/value.js';
import * as tree from '../core/tree.js';
import type { Params } from './module.js';

type Array = Value;

/**
 * What these functions accept: a parameter pytree of any static type, including layer parameter
 * interfaces (which TypeScript does not consider assignable to the index-signature type `Params`).
 */
export type ParamTree = object | null | undefined;

type Visit = (path: string, leaf: unknown) => void;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || globalThis.Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

const join = (prefix: string, part: string | number): string => (prefix === '' ? String(part) : `${prefix}.${part}`);

/** Depth-first walk in `tree.flatten` order; with `emptyAsLeaf`, `null`/`undefined` are visited as leaves. */
function walk(op: string, node: unknown, path: string, visit: Visit, emptyAsLeaf: boolean): void {
  if (node === null || node === undefined) {
    if (emptyAsLeaf) visit(path, node);
  } else if (globalThis.Array.isArray(node)) {
    node.forEach((child, i) => walk(op, child, join(path, i), visit, emptyAsLeaf));
  } else if (isPlainObject(node)) {
    for (const k of Object.keys(node).sort()) {
      if (k === '' || k.includes('.')) throw new ValueError(`${op}: key ${JSON.stringify(k)} under ${JSON.stringify(path)} cannot be part of a dotted path (keys must be non-empty and contain no '.')`);
      walk(op, node[k], join(path, k), visit, emptyAsLeaf);
    }
  } else {
    visit(path, node);
  }
}

/** `[path, leaf]` for every leaf, in `tree.leaves` order; paths like `"down.0.conv.w"`. */
export function flattenWithPaths<T = Array>(params: ParamTree): [string, T][] {
  const out: [string, T][] = [];
  walk('flattenWithPaths', params, '', (p, leaf) => out.push([p, leaf as T]), false);
  return out;
}

/** `fn(path, leaf)` applied to every leaf; the result has the structure of `params`. */
export function mapWithPath<T = Array, U = Array>(fn: (path: string, leaf: T) => U, params: ParamTree): tree.PyTree<U> {
  const mapped = flattenWithPaths<T>(params).map(([p, leaf]) => fn(p, leaf));
  return tree.structure(params as tree.PyTree<unknown>).unflatten(mapped);
}

/** The total number of scalars in the array leaves of `params`. */
export function countParams(params: ParamTree): number {
  return flattenWithPaths(params).reduce((n, [p, leaf]) => {
    if (!(leaf instanceof Value)) throw new ValueError(`countParams: the leaf at ${JSON.stringify(p)} is not an array (${typeof leaf})`);
    return n + leaf.size;
  }, 0);
}

/**
 * `partition(params, isTrainable)` → `[trainable, frozen]`: two trees of `params`' layout, the
 * first holding the leaves whose `isTrainable(path, leaf)` is true and `null` elsewhere, the
 * second the rest. `null` is an empty pytree node, so `grad` over `trainable` ignores the frozen
 * leaves entirely (e.g. a frozen text encoder):
 *
 *   const [train, frozen] = partition(params, (p) => !p.startsWith('textEncoder.'));
 *   const g = grad((t) => loss(merge(t, frozen), batch))(train);
 */
export function partition<P extends ParamTree>(params: P, isTrainable: (path: string, leaf: Array) => boolean): [P, P] {
  const trainable = mapWithPath<Array, Array | null>((p, leaf) => (isTrainable(p, leaf) ? leaf : null), params);
  const frozen = mapWithPath<Array, Array | null>((p, leaf) => (isTrainable(p, leaf) ? null : leaf), params);
  return [trainable as P, frozen as P];
}

/**
 * `merge(...parts)`: the inverse of `partition`: trees of one layout in which every leaf slot is
 * filled in at most one of them (`null` in the others) are combined into one tree.
 */
export function merge<P extends ParamTree>(...parts: P[]): P {
  if (parts.length === 0) throw new ValueError('merge: expected at least one tree');
  const slots = parts.map((t) => {
    const entries: [string, unknown][] = [];
    walk('merge', t, '', (p, leaf) => entries.push([p, leaf]), true);
    return entries;
  });
  const [first] = slots;
  slots.forEach((s, j) => {
    if (s.length !== first!.length || s.some(([p], i) => p !== first![i]![0]))
      throw new ValueError(`merge: tree ${j} does not have the layout of tree 0 (paths ${JSON.stringify(s.map(([p]) => p).slice(0, 6))} vs ${JSON.stringify(first!.map(([p]) => p).slice(0, 6))})`);
  });
  const merged = first!.map(([p], i) => {
    const filled = slots.map((s) => s[i]![1]).filter((v) => v !== null && v !== undefined);
    if (filled.length > 1) throw new ValueError(`merge: the leaf at ${JSON.stringify(p)} is present in ${filled.length} trees; each slot must be filled in at most one`);
    return filled.length === 1 ? filled[0] : first![i]![1];
  });
  const emptyAsLeaf = { isLeaf: (x: unknown) => x === null || x === undefined };
  return tree.structure(parts[0] as tree.PyTree<unknown>, emptyAsLeaf).unflatten(merged) as P;
}

/**
 * `cast(params, dtype)`: floating-point leaves converted to `dtype`; integer and boolean leaves
 * (step counters, token ids) are left as they are.
 */
export function cast<P extends ParamTree>(params: P, dtype: DType): P {
  return mapWithPath<Array, Array>((p, leaf) => {
    if (!(leaf instanceof Value)) throw new DTypeError(`cast: the leaf at ${JSON.stringify(p)} is not an array (${typeof leaf})`);
    return leaf.dtype === 'float32' ? np.astype(leaf, dtype) : leaf;
  }, params) as P;
}

/** `globalNorm(t)`: √(Σ x²) over every element of every leaf (optax's `global_norm`); 0 for a tree with no leaves. */
export function globalNorm(t: ParamTree): Array {
  const squares = tree.leaves<Array>(t as Params).map((leaf) => np.sum(np.square(leaf.astype('float32'))));
  return np.sqrt(squares.reduce((acc: Array, s) => acc.add(s), np.zeros([])));
}
