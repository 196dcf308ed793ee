/**
 * Staging: a trace that records every primitive applied to its tracers as an equation,
 * producing a jaxpr (JAX's DynamicJaxprTrace). Values from enclosing traces or concrete
 * arrays used inside become constvars (scalars become literals); the jaxpr is typechecked
 * before it is returned.
 */
import type { ShapedArray } from '../aval.js';
import { NDArray } from '../array.js';
import { ClosedJaxpr, Jaxpr, Literal, Var, type Atom, type Eqn } from '../ir/jaxpr.js';
import { typecheckJaxpr } from '../ir/typecheck.js';
import type { Prim, PrimParams } from './primitive.js';
import { rulesOf } from './rule_table.js';
import { bind, checkLeak, currentTrace, newTag, rootTrace, withTrace, type Trace } from './trace.js';
import { Tracer, type Value } from './value.js';

export class JaxprTracer extends Tracer {
  constructor(trace: JaxprTrace, readonly v: Var) {
    super(trace);
  }
  get aval(): ShapedArray {
    return this.v.aval;
  }
}

export class JaxprTrace implements Trace {
  readonly tag = newTag();
  readonly parent: Trace = currentTrace();
  readonly eqns: Eqn[] = [];
  private constVars = new Map<Value, Var>();

  describe(): string {
    return `JaxprTrace(tag=${this.tag})`;
  }

  newArg(aval: ShapedArray): JaxprTracer {
    return new JaxprTracer(this, new Var(aval));
  }

  /** The atom for a value: our tracer's var, a literal for a concrete scalar, or a constvar. */
  atom(op: string, x: Value): Atom {
    if (x instanceof JaxprTracer && x.trace === this) return x.v;
    checkLeak(op, x);
    if (x instanceof NDArray && x.ndim === 0 && x.backend.hostMemory) {
      const v = x.dataSync()[0];
      return new Literal(x.dtype === 'bool' ? v !== 0 : v, x.aval, x);
    }
    let v = this.constVars.get(x);
    if (!v) this.constVars.set(x, (v = new Var(x.aval)));
    return v;
  }

  process<P extends Prim>(prim: P, args: readonly Value[], params: PrimParams[P]): Value[] {
    const inputs = args.map((a) => this.atom(prim, a));
    // Scalar arithmetic on literals (the casts of JS numbers, mostly) is folded right away, as JAX does.
    const rule = rulesOf(prim);
    if (rule.kind === 'expr' && inputs.length > 0 && inputs.every((a) => a instanceof Literal)) {
      const outAvals = rule.abstractEval(inputs.map((a) => a.aval), params);
      if (outAvals.every((o) => o.ndim === 0)) return withTrace(rootTrace(), () => bind(prim, inputs.map((a) => (a as Literal).array), params));
    }
    const outAvals = rule.abstractEval(inputs.map((a) => a.aval), params);
    const outvars = outAvals.map((a) => new Var(a));
    this.eqns.push({ prim, inputs, outvars, params });
    return outvars.map((v) => new JaxprTracer(this, v));
  }

  /** Close over the constants: the finished jaxpr of `ins → outs`. */
  finish(ins: readonly JaxprTracer[], outs: readonly Value[]): ClosedJaxpr {
    const outAtoms = outs.map((o) => this.atom('jaxpr output', o));
    const consts = [...this.constVars.keys()];
    const jaxpr = new Jaxpr([...this.constVars.values()], ins.map((t) => t.v), this.eqns, outAtoms);
    typecheckJaxpr(jaxpr);
    return new ClosedJaxpr(jaxpr, consts);
  }
}

/** Stage `fn` on abstract inputs into a closed jaxpr. */
export function stage(fn: (...args: Value[]) => readonly Value[], inAvals: readonly ShapedArray[]): ClosedJaxpr {
  const trace = new JaxprTrace();
  const ins = inAvals.map((a) => trace.newArg(a));
  const outs = withTrace(trace, () => fn(...ins));
  return trace.finish(ins, outs);
}
