/**
 * Constant folding: an equation whose inputs are all literals or concrete constants, and
 * whose outputs are small, is evaluated once at compile time. A scalar result becomes a
 * literal; a small non-scalar result becomes a new constvar (when the caller can hold
 * constants). Broadcasts and iotas are never folded into arrays: inside a kernel they are
 * free index arithmetic, while a folded constant would be a buffer to load. Higher-order
 * primitives are left alone (their bodies are folded after inlining).
 */
import { NDArray } from '../../array.js';
import { rulesOf } from '../../trace/rule_table.js';
import { bind, currentTrace, withTrace, type Trace } from '../../trace/trace.js';
import type { Value } from '../../trace/value.js';
import { Literal, Var, type Atom, type ClosedJaxpr, type Eqn } from '../jaxpr.js';
import { Subst, rebuild } from './common.js';

export interface FoldOptions {
  /** Fold small non-scalar results into new constvars (default true). */
  arrays?: boolean;
  /** The largest output (elements) folded into a constvar (default 64). */
  maxSize?: number;
}

/** Generators whose non-scalar outputs cost nothing inside a kernel. */
const CHEAP_GENERATORS: ReadonlySet<string> = new Set(['broadcast_in_dim', 'iota']);

function rootTrace(): Trace {
  let t = currentTrace();
  while (t.parent) t = t.parent;
  return t;
}

/** The concrete, live array behind an atom, if there is one. */
function concrete(a: Atom, constOf: Map<Var, Value>): NDArray | null {
  const v = a instanceof Literal ? a.array : constOf.get(a);
  return v instanceof NDArray && !v.isDisposed ? v : null;
}

export function foldConstants(cj: ClosedJaxpr, opts: FoldOptions = {}): ClosedJaxpr {
  const { arrays = true, maxSize = 64 } = opts;
  const j = cj.jaxpr;
  const constOf = new Map<Var, Value>(j.constvars.map((v, i) => [v, cj.consts[i]]));
  const subst = new Subst();
  const newConstvars: Var[] = [];
  const newConsts: Value[] = [];
  const eqns: Eqn[] = [];
  let changed = false;
  for (const e0 of j.eqns) {
    const e = subst.eqn(e0);
    if (e !== e0) changed = true;
    const folded = tryFold(e, constOf, arrays, maxSize);
    if (!folded) {
      eqns.push(e);
      continue;
    }
    changed = true;
    e.outvars.forEach((v, i) => {
      const out = folded[i];
      if (v.aval.ndim === 0) {
        const x = out.dataSync()[0];
        subst.set(v, new Literal(v.aval.dtype === 'bool' ? x !== 0 : x, v.aval, out));
      } else {
        const c = new Var(v.aval);
        newConstvars.push(c);
        newConsts.push(out);
        constOf.set(c, out);
        subst.set(v, c);
      }
    });
  }
  if (!changed) return cj;
  return rebuild(cj, [...j.constvars, ...newConstvars], [...cj.consts, ...newConsts], eqns, j.outvars.map((a) => subst.atom(a)));
}

function tryFold(e: Eqn, constOf: Map<Var, Value>, arrays: boolean, maxSize: number): NDArray[] | null {
  if (rulesOf(e.prim).kind === 'interpret') return null;
  const scalarOnly = !arrays || CHEAP_GENERATORS.has(e.prim);
  if (!e.outvars.every((v) => v.aval.ndim === 0 || (!scalarOnly && v.aval.size <= maxSize))) return null;
  const args: NDArray[] = [];
  for (const a of e.inputs) {
    const c = concrete(a, constOf);
    if (!c) return null;
    args.push(c);
  }
  try {
    const outs = withTrace(rootTrace(), () => bind(e.prim, args, e.params));
    if (!outs.every((o) => o instanceof NDArray)) return null;
    const arr = outs as NDArray[];
    // Scalars are read back into literals; only backends with host memory can do that here.
    for (const [i, o] of arr.entries()) if (e.outvars[i].aval.ndim === 0) o.dataSync();
    return arr;
  } catch {
    // Leave the equation to fail (or not) at run time, where the error names its inputs.
    return null;
  }
}
