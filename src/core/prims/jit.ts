/**
 * The `jit` primitive: a call of a staged jaxpr, compiled by the backend when it runs
 * eagerly. Under transformations it stays a call: its jvp, batching and transpose rules
 * transform the inner jaxpr and bind a new `jit`, and partial evaluation splits it into
 * a known and an unknown call — so `grad(jit(f))` and `vmap(jit(f))` stay compiled.
 */
import { Jaxpr, Var } from '../ir/jaxpr.js';
import { ShapeError } from '../errors.js';
import { stage } from '../trace/staging.js';
import { evalJaxpr } from '../trace/eval_jaxpr.js';
import { bind } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { jvpFlat } from '../transforms/jvp.js';
import { partialEvalJaxpr } from '../transforms/partial_eval.js';
import { backwardPass } from '../transforms/transpose.js';
import { vmapFlat } from '../transforms/vmap.js';
import { instantiate, isZero } from './ad_util.js';
import { UndefinedPrimal, Zero, type RuleTable, type Tangent } from './rules.js';

export interface JitParams {
  /** The staged function; closed-over values were turned into leading inputs. */
  jaxpr: Jaxpr;
  name: string;
}

declare module '../trace/primitive.js' {
  interface PrimParams {
    jit: JitParams;
  }
}

/** How `jit` runs eagerly: set by the jit lowering (compiled kernels); interpretation until then. */
let runCompiled: (jaxpr: Jaxpr, args: readonly Value[]) => Value[] = (jaxpr, args) => evalJaxpr(jaxpr, [], args);
export function setJitRunner(run: typeof runCompiled): void {
  runCompiled = run;
}

const call = (jaxpr: Jaxpr, name: string, args: readonly Value[]): Value[] => bind('jit', args, { jaxpr, name });

/** A closed jaxpr with its consts turned into leading invars (what `jit` params hold). */
export function openJaxpr(j: Jaxpr): Jaxpr {
  return j.constvars.length === 0 ? j : new Jaxpr([], [...j.constvars, ...j.invars], j.eqns, j.outvars);
}

export const jitRules: RuleTable<'jit'> = {
  jit: {
    kind: 'interpret',
    abstractEval: (avals, { jaxpr, name }) => {
      const want = jaxpr.inAvals;
      if (avals.length !== want.length || avals.some((a, i) => a.dtype !== want[i].dtype || a.shape.join() !== want[i].shape.join()))
        throw new ShapeError(`jit(${name}): called with ${avals.map((a) => a.str()).join(', ')} but compiled for ${want.map((a) => a.str()).join(', ')}`);
      return jaxpr.outAvals;
    },
    impl: (args, { jaxpr }) => runCompiled(jaxpr, args),

    jvp: (primals, tangents, { jaxpr, name }) => {
      const nz = tangents.map((t) => !isZero(t));
      const tanIns = tangents.filter((t): t is Value => !isZero(t));
      const n = primals.length;
      const jvpJaxpr = stage((...xs) => {
        const ps = xs.slice(0, n);
        let k = n;
        const ts: Tangent[] = tangents.map((t, i) => (nz[i] ? xs[k++] : new Zero((t as Zero).aval)));
        const [po, to] = jvpFlat((...a) => evalJaxpr(jaxpr, [], a), ps, ts);
        return [...po, ...to];
      }, [...primals.map((p) => p.aval), ...tanIns.map((t) => t.aval)]);
      const outs = call(openJaxpr(jvpJaxpr.jaxpr), `jvp(${name})`, [...jvpJaxpr.consts, ...primals, ...tanIns]);
      const m = outs.length / 2;
      return [outs.slice(0, m), outs.slice(m)];
    },

    batch: (args, dims, { jaxpr, name }, size) => {
      const batched = stage((...xs) => vmapFlat((...a) => evalJaxpr(jaxpr, [], a), xs, dims, jaxpr.outAvals.map(() => 0), size), args.map((a) => a.aval));
      const outs = call(openJaxpr(batched.jaxpr), `vmap(${name})`, [...batched.consts, ...args]);
      return [outs, outs.map(() => 0)];
    },

    transpose: (cts, args, { jaxpr, name }) => {
      const nonlinear = args.filter((a): a is Value => !(a instanceof UndefinedPrimal));
      const ctIns = cts.filter((c): c is Value => !isZero(c));
      const t = stage((...xs) => {
        let k = 0;
        const full = args.map((a) => (a instanceof UndefinedPrimal ? a : xs[k++]));
        const outCts: Tangent[] = cts.map((c) => (isZero(c) ? c : xs[k++]));
        const inCts = backwardPass(jaxpr, [], full, outCts);
        return inCts.filter((_, i) => args[i] instanceof UndefinedPrimal).map(instantiate);
      }, [...nonlinear.map((a) => a.aval), ...ctIns.map((c) => c.aval)]);
      const res = call(openJaxpr(t.jaxpr), `transpose(${name})`, [...t.consts, ...nonlinear, ...ctIns]);
      let k = 0;
      return args.map((a) => (a instanceof UndefinedPrimal ? res[k++] : null));
    },

    partialEval: (eqn, unknown) => {
      const { jaxpr, name } = eqn.params;
      const pe = partialEvalJaxpr(jaxpr, unknown);
      const residuals = pe.known.outvars.slice(pe.known.outvars.length - pe.numResiduals).map((r) => new Var(r.aval));
      const knownOuts = eqn.outvars.filter((_, i) => !pe.outUnknown[i]);
      const unknownOuts = eqn.outvars.filter((_, i) => pe.outUnknown[i]);
      return {
        known: { prim: 'jit', inputs: eqn.inputs.filter((_, i) => !unknown[i]), outvars: [...knownOuts, ...residuals], params: { jaxpr: openJaxpr(pe.known), name: `known(${name})` } },
        unknown: { prim: 'jit', inputs: [...residuals, ...eqn.inputs.filter((_, i) => unknown[i])], outvars: unknownOuts, params: { jaxpr: pe.unknown, name: `unknown(${name})` } },
        outUnknown: pe.outUnknown,
        numResiduals: pe.numResiduals,
      };
    },
  },
};
