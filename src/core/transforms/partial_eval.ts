/**
 * Partial evaluation of a jaxpr (JAX's `partial_eval_jaxpr_nounits`): given which inputs are
 * unknown, split the jaxpr into a *known* jaxpr, computable now, and an *unknown* jaxpr
 * that takes the residuals (known values the unknown part needs) and the unknown inputs.
 * Linearize is jvp followed by this split, with tangents unknown.
 */
import { Jaxpr, Var, type Atom, type Eqn } from '../ir/jaxpr.js';
import { typecheckJaxpr } from '../ir/typecheck.js';
import { rulesOf } from '../trace/rule_table.js';

export interface PartialEvalJaxpr {
  /** constvars and known invars → known outputs (in order) then residuals. */
  readonly known: Jaxpr;
  /** residuals then unknown invars → unknown outputs (in order). */
  readonly unknown: Jaxpr;
  readonly outUnknown: readonly boolean[];
  readonly numResiduals: number;
}

/** `unknownIns` is over `jaxpr.invars`; constvars are known. */
export function partialEvalJaxpr(jaxpr: Jaxpr, unknownIns: readonly boolean[]): PartialEvalJaxpr {
  const unknownVars = new Set<Var>(jaxpr.invars.filter((_, i) => unknownIns[i]));
  const isUnknown = (a: Atom): boolean => a instanceof Var && unknownVars.has(a);
  const knownEqns: Eqn[] = [], unknownEqns: Eqn[] = [];
  for (const e of jaxpr.eqns) {
    const mask = e.inputs.map(isUnknown);
    if (!mask.some(Boolean)) {
      knownEqns.push(e);
      continue;
    }
    const split = rulesOf(e.prim).partialEval?.(e as never, mask) ?? null;
    if (split) {
      knownEqns.push(split.known);
      unknownEqns.push(split.unknown);
      e.outvars.forEach((v, i) => split.outUnknown[i] && unknownVars.add(v));
    } else {
      unknownEqns.push(e);
      e.outvars.forEach((v) => unknownVars.add(v));
    }
  }
  // Residuals: known variables read by the unknown side, in order of first use.
  const residuals: Var[] = [];
  const seen = new Set<Var>();
  for (const e of unknownEqns)
    for (const a of e.inputs)
      if (a instanceof Var && !unknownVars.has(a) && !seen.has(a)) {
        seen.add(a);
        residuals.push(a);
      }
  const outUnknown = jaxpr.outvars.map(isUnknown);
  const known = new Jaxpr(jaxpr.constvars, jaxpr.invars.filter((_, i) => !unknownIns[i]), knownEqns, [...jaxpr.outvars.filter((_, i) => !outUnknown[i]), ...residuals]);
  const unknown = new Jaxpr([], [...residuals, ...jaxpr.invars.filter((_, i) => unknownIns[i])], unknownEqns, jaxpr.outvars.filter((_, i) => outUnknown[i]));
  typecheckJaxpr(known);
  typecheckJaxpr(unknown);
  return { known, unknown, outUnknown, numResiduals: residuals.length };
}
