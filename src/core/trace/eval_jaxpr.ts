/** Evaluating a jaxpr: bind each equation on the current trace (so it composes with every transformation). */
import { Literal, type Atom, type ClosedJaxpr, type Jaxpr, type Var } from '../ir/jaxpr.js';
import { bind } from './trace.js';
import type { Value } from './value.js';

export function evalJaxpr(jaxpr: Jaxpr, consts: readonly Value[], args: readonly Value[]): Value[] {
  const env = new Map<Var, Value>();
  const read = (a: Atom): Value => (a instanceof Literal ? a.array : env.get(a)!);
  jaxpr.constvars.forEach((v, i) => env.set(v, consts[i]));
  jaxpr.invars.forEach((v, i) => env.set(v, args[i]));
  for (const e of jaxpr.eqns) {
    const outs = bind(e.prim, e.inputs.map(read), e.params);
    e.outvars.forEach((v, i) => env.set(v, outs[i]));
  }
  return jaxpr.outvars.map(read);
}

export function evalClosedJaxpr(cj: ClosedJaxpr, args: readonly Value[]): Value[] {
  return evalJaxpr(cj.jaxpr, cj.consts, args);
}
