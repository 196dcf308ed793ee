/**
 * Transposition of a linear jaxpr (the backward pass of reverse mode). A forward sweep
 * evaluates the equations that do not depend on the linear inputs (residual arithmetic,
 * rematerialised primal work); a backward sweep applies each linear equation's `transpose`
 * rule to accumulate cotangents. Everything binds on the current trace, so the backward
 * pass itself can be differentiated, batched or staged.
 */
import { ValueError } from '../errors.js';
import { Literal, Var, type Atom, type Eqn, type Jaxpr } from '../ir/jaxpr.js';
import { addTangents } from '../prims/ad_util.js';
import { UndefinedPrimal, Zero, type Tangent } from '../prims/rules.js';
import { rulesOf } from '../trace/rule_table.js';
import { bind } from '../trace/trace.js';
import type { Value } from '../trace/value.js';

/**
 * `args[i]` is the value of invar i, or `UndefinedPrimal` for a linear invar. `cts` are the
 * output cotangents. Returns the cotangent of each linear invar (Zero when none flows).
 */
export function backwardPass(jaxpr: Jaxpr, consts: readonly Value[], args: readonly (Value | UndefinedPrimal)[], cts: readonly Tangent[]): Tangent[] {
  const env = new Map<Var, Value>();
  const linear = new Set<Var>();
  jaxpr.constvars.forEach((v, i) => env.set(v, consts[i]));
  jaxpr.invars.forEach((v, i) => {
    const a = args[i];
    if (a instanceof UndefinedPrimal) linear.add(v);
    else env.set(v, a);
  });
  const read = (a: Atom): Value | UndefinedPrimal =>
    a instanceof Literal ? a.array : linear.has(a) ? new UndefinedPrimal(a.aval) : env.get(a)!;
  const linearEqns: Eqn[] = [];
  for (const e of jaxpr.eqns) {
    if (e.inputs.some((a) => a instanceof Var && linear.has(a))) {
      linearEqns.push(e);
      e.outvars.forEach((v) => linear.add(v));
    } else {
      const outs = bind(e.prim, e.inputs.map(read) as Value[], e.params);
      e.outvars.forEach((v, i) => env.set(v, outs[i]));
    }
  }
  const ctEnv = new Map<Var, Tangent>();
  const accum = (v: Var, ct: Tangent | null) => {
    if (ct === null || ct instanceof Zero || !linear.has(v)) return;
    const prev = ctEnv.get(v);
    ctEnv.set(v, prev ? addTangents(prev, ct) : ct);
  };
  jaxpr.outvars.forEach((a, i) => a instanceof Var && accum(a, cts[i]));
  for (let k = linearEqns.length - 1; k >= 0; k--) {
    const e = linearEqns[k];
    const outCts = e.outvars.map((v) => ctEnv.get(v) ?? new Zero(v.aval));
    e.outvars.forEach((v) => ctEnv.delete(v));
    if (outCts.every((c) => c instanceof Zero)) continue;
    const rule = rulesOf(e.prim).transpose;
    if (!rule) throw new ValueError(`transpose: primitive '${e.prim}' is applied to a linear (differentiated) value but has no transpose rule; it is not linear in that operand`);
    const inCts = rule(outCts, e.inputs.map(read), e.params);
    e.inputs.forEach((a, i) => a instanceof Var && accum(a, inCts[i]));
  }
  return jaxpr.invars.map((v, i) => (args[i] instanceof UndefinedPrimal ? (ctEnv.get(v) ?? new Zero(v.aval)) : new Zero(v.aval)));
}
