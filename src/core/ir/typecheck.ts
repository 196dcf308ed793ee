/**
 * Jaxpr typechecking, run after staging and after every pass: every variable is defined
 * once before use, and every equation's output avals are what its primitive's abstract
 * evaluation gives for its input avals.
 */
import { rulesOf } from '../trace/rule_table.js';
import { Var, type Jaxpr } from './jaxpr.js';

export class JaxprTypeError extends Error {
  override name = 'JaxprTypeError';
}

export function typecheckJaxpr(j: Jaxpr): void {
  const defined = new Set<Var>();
  const define = (v: Var, where: string) => {
    if (defined.has(v)) throw new JaxprTypeError(`typecheck: variable defined twice (${where})`);
    defined.add(v);
  };
  j.constvars.forEach((v) => define(v, 'constvar'));
  j.invars.forEach((v) => define(v, 'invar'));
  j.eqns.forEach((e, i) => {
    for (const a of e.inputs)
      if (a instanceof Var && !defined.has(a)) throw new JaxprTypeError(`typecheck: equation ${i} (${e.prim}) uses an undefined variable of type ${a.aval.str()}`);
    const want = rulesOf(e.prim).abstractEval(e.inputs.map((a) => a.aval), e.params);
    if (want.length !== e.outvars.length || want.some((w, k) => !w.strengthen().equals(e.outvars[k].aval.strengthen())))
      throw new JaxprTypeError(
        `typecheck: equation ${i} (${e.prim}) declares outputs ${e.outvars.map((v) => v.aval.str()).join(', ')} but its inputs give ${want.map((w) => w.str()).join(', ')}`,
      );
    e.outvars.forEach((v) => define(v, `equation ${i} (${e.prim})`));
  });
  for (const a of j.outvars) if (a instanceof Var && !defined.has(a)) throw new JaxprTypeError(`typecheck: output uses an undefined variable of type ${a.aval.str()}`);
}
