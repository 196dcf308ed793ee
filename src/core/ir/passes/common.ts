/**
 * Shared plumbing of the jaxpr passes: atom substitution, equation rebuilding and a
 * structural key for primitive params (deep equality, nested jaxprs compared by identity).
 */
import { ClosedJaxpr, Jaxpr, Literal, Var, type Atom, type Eqn } from '../jaxpr.js';

/** A substitution of variables by atoms (a var replaced by an earlier var or a literal). */
export class Subst {
  private map = new Map<Var, Atom>();
  /** Replace `v` by `a` (resolved now, so lookups are one step). */
  set(v: Var, a: Atom): void {
    this.map.set(v, this.atom(a));
  }
  get size(): number {
    return this.map.size;
  }
  atom(a: Atom): Atom {
    return a instanceof Literal ? a : (this.map.get(a) ?? a);
  }
  /** The equation with its inputs substituted (the same object when nothing changes). */
  eqn(e: Eqn): Eqn {
    const inputs = e.inputs.map((a) => this.atom(a));
    return inputs.every((a, i) => a === e.inputs[i]) ? e : { ...e, inputs };
  }
}

/** A closed jaxpr rebuilt from parts (constvars paired with their values). */
export function rebuild(cj: ClosedJaxpr, constvars: readonly Var[], consts: readonly unknown[], eqns: readonly Eqn[], outvars: readonly Atom[]): ClosedJaxpr {
  const j = cj.jaxpr;
  return new ClosedJaxpr(new Jaxpr(constvars, j.invars, eqns, outvars), consts as ClosedJaxpr['consts']);
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;
function identity(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}

/**
 * A canonical string for a params record such that two records get the same key exactly
 * when they are deeply equal: arrays and plain objects structurally (key order ignored),
 * numbers by `Object.is` (NaN equals NaN, -0 differs from 0), jaxprs and other class
 * instances and functions by identity.
 */
export function paramsKey(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'undefined': return 'u';
    case 'number': return Object.is(v, -0) ? 'n-0' : `n${v}`;
    case 'string': return JSON.stringify(v);
    case 'boolean': return v ? 'T' : 'F';
    case 'bigint': return `b${v}`;
    case 'function': case 'symbol': return `#${typeof v === 'function' ? identity(v) : String(v)}`;
  }
  if (Array.isArray(v)) return `[${v.map(paramsKey).join(',')}]`;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return `#${identity(v as object)}`;
  const entries = Object.entries(v as object).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${paramsKey(x)}`).join(',')}}`;
}

/** Deep equality of params (nested jaxprs by identity). */
export function paramsEqual(a: unknown, b: unknown): boolean {
  return paramsKey(a) === paramsKey(b);
}

/** A key for an atom: its variable identity, or a literal's dtype, weak type and value. */
export function atomKey(a: Atom): string {
  if (a instanceof Var) return `v${a.id}`;
  const v = typeof a.value === 'boolean' ? (a.value ? 1 : 0) : a.value;
  return `l${a.aval.dtype}${a.aval.weakType ? '*' : ''}${Object.is(v, -0) ? '-0' : v}`;
}
