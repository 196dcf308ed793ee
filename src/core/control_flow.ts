/**
 * Structured control flow (the `lax` namespace's `cond`, `switch`, `scan`, `whileLoop`,
 * `foriLoop`, `map`): JavaScript `if`/`for` cannot branch or loop on traced values, these
 * can. Each stages its functions once into jaxprs and binds one primitive (`cond`, `scan`,
 * `while`, see prims/control.ts), so the result works eagerly, under `jit`, and under
 * every transformation: jvp and vmap everywhere, grad through cond, switch, scan and
 * foriLoop with static bounds.
 *
 * Functions take and return pytrees of arrays (nested arrays / plain objects), as in JAX.
 * A JS number in a carry is a weakly typed scalar; when the body makes it a float32 array
 * of the same shape, the initial value is promoted (JS cannot tell `0` from `0.0`).
 */
import { NDArray } from './array.js';
import { ShapedArray } from './aval.js';
import { DeviceError, DTypeError, ShapeError, ValueError } from './errors.js';
import * as lax from './lax.js';
import { scalar, toValue } from './numpy/convert.js';
import { convert } from './numpy/elementwise.js';
import { joinConsts, stageOpen, type OpenJaxpr } from './prims/control_jaxpr.js';
import { shapeEq } from './shape.js';
import { bind } from './trace/trace.js';
import { Tracer, type Value } from './trace/value.js';
import * as tree from './tree.js';
import { flattenArgs, flattenOut, type AnyFn } from './transforms/api_util.js';

// ------------------------------------------------------------------ pytree and type helpers

/** An initial carry for a carry of type `T`: array leaves may be given as JS numbers or booleans. */
export type CarryInit<T> = T extends Value
  ? Value | number | boolean
  : T extends readonly unknown[]
    ? { readonly [K in keyof T]: CarryInit<T[K]> }
    : T extends object
      ? { readonly [K in keyof T]: CarryInit<T[K]> }
      : T;

/** A readable path per leaf of a structure (`carry[1].h`), in flatten order. */
function leafPaths(def: tree.TreeDef, root: string): string[] {
  const out: string[] = [];
  const walk = (n: tree.TreeNode, path: string): void => {
    if (n.kind === 'leaf') out.push(path);
    else if (n.kind === 'array') n.children.forEach((c, i) => walk(c, `${path}[${i}]`));
    else if (n.kind === 'object') n.children.forEach((c, i) => walk(c, /^[A-Za-z_$][\w$]*$/.test(n.keys[i]) ? `${path}.${n.keys[i]}` : `${path}[${JSON.stringify(n.keys[i])}]`));
  };
  walk(def.node, root);
  return out;
}

/** The structure of `[x]` (what `flattenArgs(op, [x])` returns) as the structure of `x`. */
const inner = (def: tree.TreeDef): tree.TreeDef => new tree.TreeDef((def.node as { readonly children: readonly tree.TreeNode[] }).children[0]);
const unflat1 = (def: tree.TreeDef, leaves: readonly Value[]): unknown => (tree.unflatten(def, leaves) as unknown[])[0];
const fmt = (avals: readonly ShapedArray[]): string => `(${avals.map((a) => a.str()).join(', ')})`;
const sameType = (a: ShapedArray, b: ShapedArray): boolean => a.dtype === b.dtype && shapeEq(a.shape, b.shape);

/**
 * A carry that must keep its type across iterations: null when `outs` match `init`, else the
 * initial values promoted where a weakly typed initial value met another dtype; throws
 * (naming the leaf and both types) when they cannot match.
 */
function matchCarry(op: string, paths: readonly string[], init: readonly Value[], outs: readonly ShapedArray[]): Value[] | null {
  let promoted = false;
  const next = init.map((x, i) => {
    const o = outs[i];
    if (sameType(x.aval, o)) return x;
    if (shapeEq(x.shape, o.shape) && x.weakType) {
      promoted = true;
      return convert(x, o.dtype, o.weakType);
    }
    const why = shapeEq(x.shape, o.shape) ? 'the dtypes differ' : 'the shapes differ';
    throw new ShapeError(
      `${op}: the body function's carry output ${paths[i]} has type ${o.str()} but the input carry ${paths[i]} has type ${x.aval.str()} (${why}); ` +
        `the carry must keep its shape and dtype across iterations (carry input ${fmt(init.map((v) => v.aval))}, output ${fmt(outs)})`,
    );
  });
  return promoted ? next : null;
}

function describe(x: unknown): string {
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  return x === null ? 'null' : typeof x === 'object' ? (x as object).constructor?.name ?? 'an object' : typeof x;
}

// ------------------------------------------------------------------ cond / switch

/** Stage each branch on the operands, check they agree, and bind `cond`. */
function branchOn(op: string, index: Value, fns: readonly AnyFn[], names: readonly string[], operands: readonly unknown[]): unknown {
  const [leaves, inDef] = flattenArgs(op, operands);
  const avals = leaves.map((l) => l.aval);
  const stageBranch = (fn: AnyFn, to?: readonly (ShapedArray | null)[]): OpenJaxpr & { def: tree.TreeDef } => {
    let def: tree.TreeDef | undefined;
    const s = stageOpen((...xs) => {
      const [outs, d] = flattenOut(op, fn(...(tree.unflatten(inDef, xs) as unknown[])));
      def = d;
      return outs.map((o, i) => (to?.[i] ? convert(o, to[i]!.dtype, to[i]!.weakType) : o));
    }, avals);
    return { ...s, def: def! };
  };
  let staged = fns.map((f) => stageBranch(f));
  const def = staged[0].def;
  staged.forEach((s, k) => {
    if (!s.def.equals(def)) throw new ValueError(`${op}: ${names[k]} returns ${s.def} but ${names[0]} returns ${def}; every branch must return the same structure`);
  });
  const outAvals = staged.map((s) => s.jaxpr.outAvals);
  const paths = leafPaths(def, 'output');
  // Types must agree per leaf; a weakly typed leaf (a JS number) takes the others' dtype.
  const targets = outAvals[0].map((_, i) => {
    const as = outAvals.map((a) => a[i]);
    if (as.every((a) => sameType(a, as[0]))) return null;
    if (as.every((a) => shapeEq(a.shape, as[0].shape))) {
      const strong = [...new Set(as.filter((a) => !a.weakType).map((a) => a.dtype))];
      if (strong.length === 1) return new ShapedArray(as[0].shape, strong[0]);
      if (strong.length === 0 && as.some((a) => a.dtype === 'float32')) return new ShapedArray(as[0].shape, 'float32', true);
    }
    const k = as.findIndex((a) => !sameType(a, as[0]));
    throw new ShapeError(
      `${op}: ${names[k]} and ${names[0]} return different types for ${paths[i] ?? 'the output'}: ${as[k].str()} vs ${as[0].str()} ` +
        `(${names[0]} returns ${fmt(outAvals[0])}, ${names[k]} returns ${fmt(outAvals[k])}); every branch must return the same shapes and dtypes`,
    );
  });
  if (targets.some((t) => t)) staged = fns.map((f) => stageBranch(f, targets));
  const joined = joinConsts(staged);
  const outs = bind('cond', [index, ...joined.consts, ...leaves], { branches: joined.jaxprs });
  return tree.unflatten(def, outs);
}

/**
 * `cond(pred, trueFn, falseFn, ...operands)`: `trueFn(...operands)` if the scalar `pred`
 * is true, else `falseFn(...operands)`. Both branches are traced (they must return the same
 * structure, shapes and dtypes); only the chosen one runs. An integer pred means `pred != 0`.
 * Under vmap with a batched pred both run and the results are selected per example.
 */
export function cond<R>(pred: unknown, trueFn: (...operands: any[]) => R, falseFn: (...operands: any[]) => unknown, ...operands: unknown[]): R {
  const p = toValue('cond', pred as number);
  if (p.ndim !== 0) throw new ShapeError(`cond: the predicate must be a scalar, got ${p.aval.str()}; for an elementwise choice use np.where or lax.select`);
  let index: Value;
  if (p.dtype === 'bool') index = convert(p, 'int32');
  else if (p.dtype === 'int32' || p.dtype === 'uint32') index = convert(lax.ne(p, 0), 'int32');
  else throw new DTypeError(`cond: the predicate must be a bool or integer scalar, got ${p.aval.str()}`);
  return branchOn('cond', index, [falseFn, trueFn], ['falseFn', 'trueFn'], operands) as R;
}

/**
 * `switch(index, branches, ...operands)`: `branches[index](...operands)`, with `index`
 * clamped to `[0, branches.length - 1]` as jax.lax.switch does. (Exported as `lax.switch`.)
 */
export function switchOn<R>(index: unknown, branches: readonly ((...operands: any[]) => R)[], ...operands: unknown[]): R {
  if (!Array.isArray(branches) || branches.length === 0 || branches.some((b) => typeof b !== 'function'))
    throw new ValueError('switch: branches must be a non-empty list of functions');
  const i = toValue('switch', index as number);
  if (i.ndim !== 0 || (i.dtype !== 'int32' && i.dtype !== 'uint32')) throw new DTypeError(`switch: the index must be an integer scalar, got ${i.aval.str()}`);
  if (branches.length === 1) return branches[0](...operands);
  const idx = lax.clamp(0, convert(i, 'int32'), branches.length - 1);
  return branchOn('switch', idx, branches, branches.map((_, k) => `branch ${k}`), operands) as R;
}

// ------------------------------------------------------------------ scan

export interface ScanOptions {
  /** The number of iterations; required when xs has no arrays, else it must match their leading size. */
  length?: number;
  /** Iterate from the last element of xs to the first (ys keep the order of xs). */
  reverse?: boolean;
}

/**
 * `scan(f, init, xs, { length, reverse })` → `[carry, ys]`, the loop
 *
 *     carry = init; for i: [carry, ys[i]] = f(carry, xs[i]); return [carry, ys]
 *
 * over the leading axis of every leaf of the pytree `xs` (which may be null, with
 * `length`). `f` must return `[carry, y]` with the carry's structure and types unchanged;
 * the ys are stacked along a new leading axis. Differentiable in both modes.
 */
export function scan<C, X, Y>(f: (carry: C, x: X) => readonly [C, Y], init: CarryInit<C>, xs?: X | null, opts: ScanOptions = {}): [C, Y] {
  const op = 'scan';
  let [initLeaves, initDef] = flattenArgs(op, [init]);
  const [xsLeaves, xsDef] = flattenArgs(op, [xs]);
  const xPaths = leafPaths(inner(xsDef), 'xs');
  let length = opts.length;
  if (length !== undefined && (!Number.isInteger(length) || length < 0)) throw new ValueError(`scan: length must be a non-negative integer, got ${length}`);
  xsLeaves.forEach((x, i) => {
    if (x.ndim === 0) throw new ShapeError(`scan: ${xPaths[i]} is a scalar ${x.aval.str()}; every xs leaf needs a leading axis to scan over`);
    if (length === undefined) length = x.shape[0];
    else if (x.shape[0] !== length)
      throw new ShapeError(`scan: ${xPaths[i]} has leading size ${x.shape[0]} but ${opts.length !== undefined ? `length is ${opts.length}` : `${xPaths[0]} has ${length}`} (xs: ${fmt(xsLeaves.map((l) => l.aval))})`);
  });
  if (length === undefined) throw new ValueError('scan: pass { length } when xs has no arrays');
  const nk = initLeaves.length;
  const xAvals = xsLeaves.map((x) => new ShapedArray(x.shape.slice(1), x.dtype, x.weakType));
  const carryPaths = leafPaths(inner(initDef), 'carry');
  const stageBody = (carry: readonly Value[]) => {
    const defs: { c?: tree.TreeDef; y?: tree.TreeDef } = {};
    const body = stageOpen((...flat) => {
      const r = f(unflat1(initDef, flat.slice(0, nk)) as C, unflat1(xsDef, flat.slice(nk)) as X);
      if (!Array.isArray(r) || r.length !== 2) throw new ValueError(`scan: the body function must return [carry, y], got ${describe(r)}`);
      const [cl, cDef] = flattenOut(op, [r[0]]);
      const [yl, yDef] = flattenOut(op, [r[1]]);
      defs.c = cDef;
      defs.y = yDef;
      return [...cl, ...yl];
    }, [...carry.map((c) => c.aval), ...xAvals]);
    if (!defs.c!.equals(initDef)) throw new ValueError(`scan: the body function returns a carry of structure ${inner(defs.c!)} but the initial carry has structure ${inner(initDef)}`);
    return { body, yDef: defs.y! };
  };
  let { body, yDef } = stageBody(initLeaves);
  const promoted = matchCarry(op, carryPaths, initLeaves, body.jaxpr.outAvals.slice(0, nk));
  if (promoted) {
    initLeaves = promoted;
    ({ body, yDef } = stageBody(initLeaves));
    matchCarry(op, carryPaths, initLeaves, body.jaxpr.outAvals.slice(0, nk));
  }
  const outs = bind('scan', [...body.consts, ...initLeaves, ...xsLeaves], { jaxpr: body.jaxpr, numConsts: body.consts.length, numCarry: nk, length, reverse: !!opts.reverse });
  return [unflat1(initDef, outs.slice(0, nk)) as C, unflat1(yDef, outs.slice(nk)) as Y];
}

/** `map(f, xs)`: `f` applied to each slice of `xs` along the leading axis, results stacked (a scan, so sequential). */
export function map<X, Y>(f: (x: X) => Y, xs: X): Y {
  return scan((c: null, x: X) => [c, f(x)] as const, null, xs)[1];
}

// ------------------------------------------------------------------ while / fori

/**
 * `whileLoop(condFn, bodyFn, init)`: `carry = init; while (condFn(carry)) carry = bodyFn(carry)`.
 * `condFn` returns a bool scalar; `bodyFn` keeps the carry's structure and types. Works with
 * jvp and vmap (a batched predicate runs until every example is done); reverse mode needs
 * a static trip count: use `scan` or `foriLoop` with JS-number bounds.
 */
export function whileLoop<C>(condFn: (carry: C) => unknown, bodyFn: (carry: C) => C, init: CarryInit<C>): C {
  const op = 'whileLoop';
  let [initLeaves, initDef] = flattenArgs(op, [init]);
  const paths = leafPaths(inner(initDef), 'carry');
  const stageBody = (carry: readonly Value[]) => {
    let def: tree.TreeDef | undefined;
    const body = stageOpen((...flat) => {
      const [outs, d] = flattenOut(op, [bodyFn(unflat1(initDef, flat) as C)]);
      def = d;
      return outs;
    }, carry.map((c) => c.aval));
    if (!def!.equals(initDef)) throw new ValueError(`whileLoop: bodyFn returns a carry of structure ${inner(def!)} but the initial carry has structure ${inner(initDef)}`);
    return body;
  };
  let body = stageBody(initLeaves);
  const promoted = matchCarry(op, paths, initLeaves, body.jaxpr.outAvals);
  if (promoted) {
    initLeaves = promoted;
    body = stageBody(initLeaves);
    matchCarry(op, paths, initLeaves, body.jaxpr.outAvals);
  }
  const condJ = stageOpen((...flat) => flattenOut(op, [condFn(unflat1(initDef, flat) as C)])[0], initLeaves.map((c) => c.aval));
  const c = condJ.jaxpr.outAvals;
  if (c.length !== 1 || c[0].ndim !== 0 || c[0].dtype !== 'bool') throw new DTypeError(`whileLoop: condFn must return a bool scalar, got ${fmt(c)}`);
  const outs = bind('while', [...condJ.consts, ...body.consts, ...initLeaves], {
    condJaxpr: condJ.jaxpr, bodyJaxpr: body.jaxpr, condNconsts: condJ.consts.length, bodyNconsts: body.consts.length,
  });
  return unflat1(initDef, outs) as C;
}

/** A loop bound: a JS integer or a concrete integer scalar is static; a traced one is not. */
function staticBound(x: number | Value): number | null {
  if (typeof x === 'number') {
    if (!Number.isInteger(x)) throw new ValueError(`foriLoop: bounds must be integers, got ${x}`);
    return x;
  }
  if (x instanceof NDArray && x.ndim === 0 && x.dtype !== 'float32' && x.dtype !== 'bool') {
    if (!x.backend.hostMemory)
      throw new DeviceError(`foriLoop: a bound on the ${x.backend.name} backend cannot be read synchronously; pass the bound as a JS number (e.g. Number((await x.data())[0]))`);
    return Number(x.item());
  }
  return null;
}

function intBound(x: number | Value): Value {
  const v = toValue('foriLoop', x);
  if (v.ndim !== 0 || (v.dtype !== 'int32' && v.dtype !== 'uint32')) throw new DTypeError(`foriLoop: bounds must be integer scalars, got ${v.aval.str()}`);
  return convert(v, 'int32');
}

/**
 * `foriLoop(lower, upper, bodyFn, init)`: `carry = init; for (i = lower; i < upper; i++)
 * carry = bodyFn(i, carry)`, with `i` an int32 scalar. Static bounds (JS numbers or concrete
 * arrays) lower to `scan`, so the loop is reverse-differentiable; traced bounds lower to
 * `whileLoop`.
 */
export function foriLoop<C>(lower: number | Value, upper: number | Value, bodyFn: (i: Value, carry: C) => C, init: CarryInit<C>): C {
  const lo = staticBound(lower), hi = staticBound(upper);
  if (lo !== null && hi !== null && !(lower instanceof Tracer) && !(upper instanceof Tracer)) {
    const [[, out]] = scan(([i, c]: readonly [Value, C]) => [[lax.add(i, 1), bodyFn(i, c)] as const, null] as const, [scalar(lo, 'int32'), init] as const, null, {
      length: Math.max(0, hi - lo),
    });
    return out;
  }
  const [, , out] = whileLoop(
    ([i, u]: readonly [Value, Value, C]) => lax.lt(i, u),
    ([i, u, c]: readonly [Value, Value, C]) => [lax.add(i, 1), u, bodyFn(i, c)] as const,
    [intBound(lower), intBound(upper), init] as const,
  );
  return out;
}
