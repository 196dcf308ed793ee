/**
 * Inlining of nested `jit` calls: a call's body is spliced into the caller with fresh
 * variables (the same staged jaxpr may be called several times), so the caller's passes
 * and kernel fusion see across the call boundary, as XLA inlines calls before fusing.
 */
import { Var, type Atom, type ClosedJaxpr, type Eqn, type Jaxpr } from '../jaxpr.js';
import { Subst, rebuild } from './common.js';

const CALLS: ReadonlySet<string> = new Set(['jit']);

function callee(e: Eqn): Jaxpr | null {
  if (!CALLS.has(e.prim)) return null;
  const j = (e.params as { jaxpr?: Jaxpr }).jaxpr;
  return j && j.constvars.length === 0 ? j : null;
}

export function inlineCalls(cj: ClosedJaxpr): ClosedJaxpr {
  const j = cj.jaxpr;
  if (!j.eqns.some((e) => callee(e))) return cj;
  const subst = new Subst();
  const eqns: Eqn[] = [];
  const emit = (list: readonly Eqn[], s: Subst, fresh: boolean): void => {
    for (const e0 of list) {
      const e = s.eqn(e0);
      const body = callee(e);
      if (body) {
        const inner = new Subst();
        body.invars.forEach((v, i) => inner.set(v, e.inputs[i]));
        emit(body.eqns, inner, true);
        e.outvars.forEach((v, i) => s.set(v, inner.atom(body.outvars[i])));
        continue;
      }
      if (!fresh) {
        eqns.push(e);
        continue;
      }
      const outvars = e.outvars.map((v) => {
        const w = new Var(v.aval);
        s.set(v, w);
        return w;
      });
      eqns.push({ ...e, outvars });
    }
  };
  emit(j.eqns, subst, false);
  const outvars: Atom[] = j.outvars.map((a) => subst.atom(a));
  return rebuild(cj, j.constvars, cj.consts, eqns, outvars);
}
