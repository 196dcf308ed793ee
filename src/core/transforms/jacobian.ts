/**
 * Jacobians and Hessians: `jacfwd` pushes forward a basis of the input space with vmapped
 * jvp (cost ∝ input size), `jacrev` pulls back a basis of the output space with vmapped vjp
 * (cost ∝ output size), `hessian = jacfwd(jacrev(f))`. The result is nested like JAX's:
 * the output structure, each leaf holding the input structure, with arrays of shape
 * `out.shape + in.shape`.
 */
import { DTypeError } from '../errors.js';
import * as lax from '../lax.js';
import { instantiate } from '../prims/ad_util.js';
import type { Value } from '../trace/value.js';
import * as tree from '../tree.js';
import { linearizeFlat } from './ad.js';
import { flatFun, flattenArgs, normArgnums, type AnyFn } from './api_util.js';
import { jvpFlat } from './jvp.js';
import { vmapFlat } from './vmap.js';

export interface JacobianOptions {
  argnums?: number | readonly number[];
}

/** Basis vectors for the concatenation of `leaves`: for each leaf, an array [total, ...leaf.shape]. */
function basis(leaves: readonly Value[]): Value[] {
  const sizes = leaves.map((l) => l.size);
  const total = sizes.reduce((a, b) => a + b, 0);
  let offset = 0;
  return leaves.map((l, j) => {
    // Row k of the identity restricted to this leaf's columns [offset, offset + size).
    const rows = lax.broadcastedIota('int32', [total, sizes[j]], 0);
    const cols = lax.add(lax.broadcastedIota('int32', [total, sizes[j]], 1), offset);
    offset += sizes[j];
    return lax.reshape(lax.convertElementType(lax.eq(rows, cols), l.dtype), [total, ...l.shape]);
  });
}

/** Split a stacked [total, ...] result into per-leaf blocks of shape `leaf.shape + rest` (or `rest + leaf.shape`). */
function splitBlocks(x: Value, leaves: readonly Value[], leafFirst: boolean): Value[] {
  let start = 0;
  const rest = x.shape.slice(1);
  return leaves.map((l) => {
    const block = lax.slice(x, [start, ...rest.map(() => 0)], [start + l.size, ...rest]);
    start += l.size;
    const shaped = lax.reshape(block, [...l.shape, ...rest]);
    if (leafFirst) return shaped;
    const nl = l.ndim, nr = rest.length;
    return lax.transpose(shaped, [...Array(nr).keys()].map((i) => i + nl).concat([...Array(nl).keys()]));
  });
}

function setup(op: string, f: AnyFn, argnumsOpt: number | readonly number[], args: unknown[]) {
  const argnums = normArgnums(op, argnumsOpt, args.length);
  const [xs, dDef] = flattenArgs(op, argnums.map((i) => args[i]));
  xs.forEach((x, i) => {
    if (x.dtype !== 'float32') throw new DTypeError(`${op}: differentiated arguments must be float32, but leaf ${i} is ${x.aval.str()}`);
  });
  const g = (...d: unknown[]) => {
    const full = [...args];
    argnums.forEach((a, k) => (full[a] = d[k]));
    return f(...full);
  };
  const store: { out?: tree.TreeDef } = {};
  return { xs, dDef, fn: flatFun(op, g, dDef, store), store };
}

/** Nest per-(output, input) blocks like JAX: output structure outside, input structure inside. */
function nest(blocks: Value[][], outDef: tree.TreeDef, dDef: tree.TreeDef, argnums: number | readonly number[]): unknown {
  return tree.unflatten(outDef, blocks.map((row) => {
    const inTree = tree.unflatten(dDef, row) as unknown[];
    return (typeof argnums === 'number' ? inTree[0] : inTree) as never;
  }));
}

export function jacfwd<F extends AnyFn>(f: F, opts: JacobianOptions = {}): (...args: Parameters<F>) => any {
  const argnums = opts.argnums ?? 0;
  return (...args) => {
    const { xs, dDef, fn, store } = setup('jacfwd', f, argnums, args);
    const ts = basis(xs);
    const total = ts[0]?.shape[0] ?? 0;
    let outs: Value[] = [];
    const stacked = vmapFlat((...t) => {
      const [o, to] = jvpFlat(fn, xs, t);
      outs = o;
      return to;
    }, ts, ts.map(() => 0), () => outs.map(() => 0), total);
    // stacked[i]: [total, ...out_i.shape] → per input leaf: out_i.shape + in_j.shape
    return nest(stacked.map((s) => splitBlocks(s, xs, false)), store.out!, dDef, argnums);
  };
}

export function jacrev<F extends AnyFn>(f: F, opts: JacobianOptions = {}): (...args: Parameters<F>) => any {
  const argnums = opts.argnums ?? 0;
  return (...args) => {
    const { xs, dDef, fn, store } = setup('jacrev', f, argnums, args);
    const lin = linearizeFlat('jacrev', fn, xs, store);
    const cts = basis(lin.outs);
    const total = cts[0]?.shape[0] ?? 0;
    const stacked = vmapFlat((...c) => lin.vjpFn(c).map(instantiate), cts, cts.map(() => 0), xs.map(() => 0), total);
    // stacked[j]: [total, ...in_j.shape] → per output leaf i: out_i.shape + in_j.shape
    const perInput = stacked.map((s) => splitBlocks(s, lin.outs, true));
    const blocks = lin.outs.map((_, i) => perInput.map((p) => p[i]));
    return nest(blocks, lin.outDef, dDef, argnums);
  };
}

/** `hessian(f)`: second derivatives of a scalar function, `jacfwd(jacrev(f))`. */
export function hessian<F extends AnyFn>(f: F, opts: JacobianOptions = {}): (...args: Parameters<F>) => any {
  return jacfwd(jacrev(f, opts), opts);
}
