/**
 * Common-subexpression elimination: an equation applying the same primitive to the same
 * inputs (variables by identity, literals by dtype, weak type and value) with deeply equal
 * params (nested jaxprs by identity) as an earlier one is dropped, and its outputs are
 * replaced by the earlier equation's outputs. Sound because every primitive is pure and
 * deterministic (randomness is an explicit key operand).
 */
import type { ClosedJaxpr, Eqn } from '../jaxpr.js';
import { Subst, atomKey, paramsKey, rebuild } from './common.js';

export function cse(cj: ClosedJaxpr): ClosedJaxpr {
  const j = cj.jaxpr;
  const subst = new Subst();
  const seen = new Map<string, Eqn>();
  const eqns: Eqn[] = [];
  let changed = false;
  for (const e0 of j.eqns) {
    const e = subst.eqn(e0);
    if (e !== e0) changed = true;
    const key = `${e.prim}(${e.inputs.map(atomKey).join(',')})${paramsKey(e.params)}`;
    const prev = seen.get(key);
    // Outputs must agree exactly (weak types included) for one to stand for the other.
    if (prev && prev.outvars.length === e.outvars.length && prev.outvars.every((v, i) => v.aval.equals(e.outvars[i].aval))) {
      e.outvars.forEach((v, i) => subst.set(v, prev.outvars[i]));
      changed = true;
      continue;
    }
    if (!prev) seen.set(key, e);
    eqns.push(e);
  }
  if (!changed) return cj;
  return rebuild(cj, j.constvars, cj.consts, eqns, j.outvars.map((a) => subst.atom(a)));
}
