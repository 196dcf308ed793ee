/**
 * Forward-mode differentiation: a trace whose tracers carry (primal, tangent) pairs, with
 * symbolic zeros. Each primitive's `jvp` rule runs on the parent trace, so jvp nests with
 * every other transformation (grad of grad, vmap of jvp, …).
 */
import type { ShapedArray } from '../aval.js';
import { isFloat } from '../dtype.js';
import { ValueError } from '../errors.js';
import { instantiate, zerosOf } from '../prims/ad_util.js';
import { Zero, type Tangent } from '../prims/rules.js';
import type { Prim, PrimParams } from '../trace/primitive.js';
import { rulesOf } from '../trace/rule_table.js';
import { bind, checkLeak, currentTrace, newTag, withTrace, type Trace } from '../trace/trace.js';
import { Tracer, type Value } from '../trace/value.js';

export class JVPTracer extends Tracer {
  constructor(trace: JVPTrace, readonly primal: Value, readonly tangent: Value) {
    super(trace);
  }
  get aval(): ShapedArray {
    return this.primal.aval;
  }
}

export class JVPTrace implements Trace {
  readonly tag = newTag();
  readonly parent: Trace = currentTrace();

  describe(): string {
    return `JVPTrace(tag=${this.tag})`;
  }

  /** A tracer for (primal, tangent); a zero or integer tangent needs no tracer. */
  pack(primal: Value, tangent: Tangent): Value {
    if (tangent instanceof Zero || !isFloat(primal.dtype)) return primal;
    return new JVPTracer(this, primal, tangent);
  }

  private unpack(op: string, x: Value): [Value, Tangent] {
    if (x instanceof JVPTracer && x.trace === this) return [x.primal, x.tangent];
    checkLeak(op, x);
    return [x, new Zero(x.aval)];
  }

  process<P extends Prim>(prim: P, args: readonly Value[], params: PrimParams[P]): Value[] {
    const pairs = args.map((a) => this.unpack(prim, a));
    const primals = pairs.map((p) => p[0]);
    const tangents = pairs.map((p) => p[1]);
    if (tangents.every((t) => t instanceof Zero)) return withTrace(this.parent, () => bind(prim, primals, params));
    const rule = rulesOf(prim).jvp;
    if (!rule) throw new ValueError(`jvp: primitive '${prim}' has no differentiation rule`);
    const [outs, outTangents] = withTrace(this.parent, () => rule(primals, tangents, params));
    return outs.map((o, i) => this.pack(o, outTangents[i]));
  }
}

/**
 * Run `fn` on primals with the given tangents (flat lists); returns the primal outputs and
 * their tangents, zeros instantiated (so callers always get arrays).
 */
export function jvpFlat(fn: (...args: Value[]) => readonly Value[], primals: readonly Value[], tangents: readonly Tangent[]): [Value[], Value[]] {
  const trace = new JVPTrace();
  const ins = primals.map((p, i) => trace.pack(p, tangents[i]));
  const outs = withTrace(trace, () => fn(...ins));
  const po: Value[] = [], to: Value[] = [];
  withTrace(trace.parent, () => {
    for (const o of outs) {
      if (o instanceof JVPTracer && o.trace === trace) {
        po.push(o.primal);
        to.push(instantiate(o.tangent));
      } else {
        checkLeak('jvp output', o);
        po.push(o);
        to.push(zerosOf(o.aval));
      }
    }
  });
  return [po, to];
}
