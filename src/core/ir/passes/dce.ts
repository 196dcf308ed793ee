/**
 * Dead-code elimination: drop every equation none of whose outputs is used (by a later
 * equation or as a jaxpr output), and every constvar nothing uses. Invars and outvars
 * are kept, so the signature never changes. Every primitive is pure, so an unused
 * equation has no effect to preserve.
 */
import { Var, type ClosedJaxpr, type Eqn } from '../jaxpr.js';
import { rebuild } from './common.js';

export function dce(cj: ClosedJaxpr): ClosedJaxpr {
  const j = cj.jaxpr;
  const live = new Set<Var>();
  for (const a of j.outvars) if (a instanceof Var) live.add(a);
  const kept: Eqn[] = [];
  for (let i = j.eqns.length - 1; i >= 0; i--) {
    const e = j.eqns[i];
    if (!e.outvars.some((v) => live.has(v))) continue;
    kept.push(e);
    for (const a of e.inputs) if (a instanceof Var) live.add(a);
  }
  kept.reverse();
  const keepConst = j.constvars.map((v) => live.has(v));
  if (kept.length === j.eqns.length && keepConst.every(Boolean)) return cj;
  return rebuild(
    cj,
    j.constvars.filter((_, i) => keepConst[i]),
    cj.consts.filter((_, i) => keepConst[i]),
    kept,
    j.outvars,
  );
}
