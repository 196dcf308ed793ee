/**
 * Pytrees: nested JS arrays and plain objects whose leaves are values.
 *
 * A node is a JS array, a plain object (prototype `Object.prototype` or
 * `null`) or `null`/`undefined` (an empty node with no leaves, like JAX's
 * `None`). Everything else (numbers, strings, class instances, typed arrays,
 * ...) is a leaf. Object keys are traversed in sorted order, like JAX dicts,
 * and rebuilt objects are fresh plain objects. Inputs are never mutated.
 *
 * Deviation from JAX: `null` and `undefined` are the same structural node
 * (both print as `None`); each rebuilds as the value seen when flattening.
 */
import { ValueError } from './errors.js';

/** A nested structure of arrays / plain objects with leaves of type `T`. */
export type PyTree<T> =
  | T
  | null
  | undefined
  | readonly PyTree<T>[]
  | { readonly [k: string]: PyTree<T> };

/** Options shared by `flatten`, `leaves`, `structure` and `mapWith`. */
export interface TreeOptions {
  /** Treat `x` as a leaf even if it is an array, plain object or null. */
  readonly isLeaf?: (x: unknown) => boolean;
}

/** @internal Node of a TreeDef. */
export type TreeNode =
  | { readonly kind: 'leaf' }
  | { readonly kind: 'none'; readonly value: null | undefined }
  | { readonly kind: 'array'; readonly children: readonly TreeNode[] }
  | { readonly kind: 'object'; readonly keys: readonly string[]; readonly children: readonly TreeNode[] };

const LEAF: TreeNode = Object.freeze({ kind: 'leaf' });

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function countLeaves(n: TreeNode): number {
  if (n.kind === 'leaf') return 1;
  if (n.kind === 'none') return 0;
  let c = 0;
  for (const ch of n.children) c += countLeaves(ch);
  return c;
}

function nodeEquals(a: TreeNode, b: TreeNode): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'leaf' || a.kind === 'none') return true;
  const bc = (b as typeof a).children;
  if (a.children.length !== bc.length) return false;
  if (a.kind === 'object') {
    const bk = (b as typeof a).keys;
    if (a.keys.some((k, i) => k !== bk[i])) return false;
  }
  return a.children.every((c, i) => nodeEquals(c, bc[i]!));
}

/** Python-style single-quoted key. */
function quote(k: string): string {
  return `'${k.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function nodeString(n: TreeNode): string {
  switch (n.kind) {
    case 'leaf':
      return '*';
    case 'none':
      return 'None';
    case 'array':
      return `[${n.children.map(nodeString).join(', ')}]`;
    case 'object':
      return `{${n.keys.map((k, i) => `${quote(k)}: ${nodeString(n.children[i]!)}`).join(', ')}}`;
  }
}

/** The structure of a pytree with its leaves removed. Immutable. */
export class TreeDef {
  /** Number of leaves a tree of this structure holds. */
  readonly numLeaves: number;

  /** @internal Use `structure` or `flatten` to obtain a TreeDef. */
  constructor(readonly node: TreeNode) {
    this.numLeaves = countLeaves(node);
    Object.freeze(this);
  }

  /** Structural equality (same nesting, same sorted keys, same leaf slots). */
  equals(other: TreeDef): boolean {
    return this === other || nodeEquals(this.node, other.node);
  }

  /** JAX-like rendering, e.g. `PyTreeDef({'a': *, 'b': [*, *]})`. */
  toString(): string {
    return `PyTreeDef(${nodeString(this.node)})`;
  }

  /** Rebuild a tree of this structure from `leaves` (see `unflatten`). */
  unflatten<T>(leaves: readonly T[]): PyTree<T> {
    return unflatten(this, leaves);
  }
}

function build(x: unknown, out: unknown[], isLeaf: ((x: unknown) => boolean) | undefined): TreeNode {
  if (isLeaf?.(x)) {
    out.push(x);
    return LEAF;
  }
  if (x === null || x === undefined) return { kind: 'none', value: x };
  if (Array.isArray(x)) return { kind: 'array', children: x.map((c) => build(c, out, isLeaf)) };
  if (isPlainObject(x)) {
    const keys = Object.keys(x).sort();
    return { kind: 'object', keys, children: keys.map((k) => build(x[k], out, isLeaf)) };
  }
  out.push(x);
  return LEAF;
}

/** Flatten `t` into its leaves (depth first, sorted keys) and structure. */
export function flatten<T>(t: PyTree<T>, options: TreeOptions = {}): [T[], TreeDef] {
  const out: T[] = [];
  const node = build(t, out as unknown[], options.isLeaf);
  return [out, new TreeDef(node)];
}

/** The leaves of `t` in flatten order. */
export function leaves<T>(t: PyTree<T>, options: TreeOptions = {}): T[] {
  return flatten(t, options)[0];
}

/** The structure of `t`. */
export function structure<T>(t: PyTree<T>, options: TreeOptions = {}): TreeDef {
  return flatten(t, options)[1];
}

/** Rebuild a tree of structure `treedef` whose leaves are `leaves`, in order. */
export function unflatten<T>(treedef: TreeDef, leaves: readonly T[]): PyTree<T> {
  if (leaves.length !== treedef.numLeaves) {
    throw new ValueError(`tree.unflatten: expected ${treedef.numLeaves} leaves, got ${Array.isArray(leaves) ? leaves.length : typeof leaves}`);
  }
  let i = 0;
  const rebuild = (n: TreeNode): PyTree<T> => {
    switch (n.kind) {
      case 'leaf':
        return leaves[i++] as T;
      case 'none':
        return n.value;
      case 'array':
        return n.children.map(rebuild);
      case 'object':
        return Object.fromEntries(n.keys.map((k, j) => [k, rebuild(n.children[j]!)]));
    }
  };
  return rebuild(treedef.node);
}

/**
 * Apply `f` leafwise. With extra trees, `f` receives the matching leaf of each;
 * every tree must have exactly the structure of `t`.
 */
export function mapWith<T, U>(
  options: TreeOptions,
  f: (x: T, ...rest: any[]) => U,
  t: PyTree<T>,
  ...rest: readonly PyTree<unknown>[]
): PyTree<U> {
  const [xs, def] = flatten(t, options);
  const others = rest.map((r, j) => {
    const [ls, d] = flatten(r, options);
    if (!d.equals(def)) {
      throw new ValueError(`tree.map: tree ${j + 1} has structure ${d} but tree 0 has structure ${def}`);
    }
    return ls;
  });
  return unflatten(def, xs.map((x, i) => f(x, ...others.map((ls) => ls[i]))));
}

/** `mapWith` with default options: `map(f, t, ...rest)`. */
export function map<T, U>(
  f: (x: T, ...rest: any[]) => U,
  t: PyTree<T>,
  ...rest: readonly PyTree<unknown>[]
): PyTree<U> {
  return mapWith({}, f, t, ...rest);
}
