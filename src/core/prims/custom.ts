/**
 * Higher-order primitives for user-defined differentiation and rematerialisation:
 * `custom_jvp_call` (a function with its own jvp rule), `custom_vjp_call` with its linear
 * companion `custom_lin` (a function with its own forward/backward pair), and `remat`
 * (checkpointing: the backward pass recomputes the function's intermediates instead of
 * storing them).
 */
import { ShapedArray } from '../aval.js';
import { ValueError } from '../errors.js';
import { Jaxpr, Var } from '../ir/jaxpr.js';
import { evalJaxpr } from '../trace/eval_jaxpr.js';
import { stage } from '../trace/staging.js';
import { bind } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { jvpFlat } from '../transforms/jvp.js';
import { partialEvalJaxpr } from '../transforms/partial_eval.js';
import { backwardPass } from '../transforms/transpose.js';
import { vmapFlat } from '../transforms/vmap.js';
import { instantiate, isZero, moveBatchDim } from './ad_util.js';
import { openJaxpr } from './jit.js';
import { UndefinedPrimal, Zero, type RuleTable, type Tangent } from './rules.js';

/** A user jvp rule over flat values: (primals, tangents) → [primal outs, tangent outs]. */
export type FlatJvpRule = (primals: readonly Value[], tangents: readonly Value[]) => [Value[], Value[]];
/** A user forward pass over flat values: primals → [outs, residuals]. */
export type FlatFwd = (primals: readonly Value[]) => [Value[], Value[]];
/** A user backward pass over flat values: (residuals, output cotangents) → input cotangents. */
export type FlatBwd = (residuals: readonly Value[], cts: readonly Value[]) => Value[];

declare module '../trace/primitive.js' {
  interface PrimParams {
    /** Operands: consts (no tangents allowed), then the arguments. */
    custom_jvp_call: { fun: Jaxpr; jvp: FlatJvpRule; numConsts: number; name: string };
    custom_vjp_call: { fun: Jaxpr; fwd: FlatFwd; bwd: FlatBwd; numConsts: number; name: string };
    /** Operands: residuals, then tangents; linear in the tangents; its transpose is the user's bwd. */
    custom_lin: { bwd: FlatBwd; numResiduals: number; outAvals: readonly ShapedArray[]; name: string };
    remat: { jaxpr: Jaxpr; name: string };
  }
}

const outAvalsOf = (j: Jaxpr) => j.outAvals;
const run = (j: Jaxpr) => (...a: Value[]) => evalJaxpr(j, [], a);

function checkConstTangents(op: string, name: string, tangents: readonly Tangent[], numConsts: number): void {
  if (tangents.slice(0, numConsts).some((t) => !isZero(t)))
    throw new ValueError(`${op}(${name}): the function closes over a value that is being differentiated; pass it as an explicit argument instead`);
}

export const customRules: RuleTable<'custom_jvp_call' | 'custom_vjp_call' | 'custom_lin' | 'remat'> = {
  custom_jvp_call: {
    kind: 'interpret',
    abstractEval: (_a, { fun }) => outAvalsOf(fun),
    impl: (args, { fun }) => evalJaxpr(fun, [], args),
    jvp: (primals, tangents, { jvp, numConsts, name }) => {
      checkConstTangents('customJvp', name, tangents, numConsts);
      const ps = primals.slice(numConsts);
      const ts = tangents.slice(numConsts).map(instantiate);
      const [outs, tOuts] = jvp(ps, ts);
      return [outs, tOuts];
    },
    batch: (args, dims, { fun, jvp, numConsts, name }, size) => {
      const moved = args.map((a, i) => moveBatchDim(a, dims[i], 0, size));
      const out0 = () => outAvalsOf(fun).map(() => 0);
      const batched = stage((...xs) => vmapFlat(run(fun), xs, xs.map(() => 0), out0(), size), moved.map((a) => a.aval));
      // The batched jvp rule sees every primal and tangent with its batch dim at 0.
      const batchedJvp: FlatJvpRule = (ps, ts) => {
        const n = ps.length;
        const outs = vmapFlat(
          (...xs) => {
            const [o, t] = jvp(xs.slice(0, n), xs.slice(n));
            return [...o, ...t];
          },
          [...ps, ...ts],
          [...ps, ...ts].map(() => 0),
          [...out0(), ...out0()],
          size,
        );
        return [outs.slice(0, outs.length / 2), outs.slice(outs.length / 2)];
      };
      const outs = bind('custom_jvp_call', [...batched.consts, ...moved], { fun: openJaxpr(batched.jaxpr), jvp: batchedJvp, numConsts: batched.consts.length + numConsts, name: `vmap(${name})` });
      return [outs, outs.map(() => 0)];
    },
  },

  custom_vjp_call: {
    kind: 'interpret',
    abstractEval: (_a, { fun }) => outAvalsOf(fun),
    impl: (args, { fun }) => evalJaxpr(fun, [], args),
    jvp: (primals, tangents, { fwd, bwd, numConsts, name, fun }) => {
      checkConstTangents('customVjp', name, tangents, numConsts);
      const [outs, res] = fwd(primals.slice(numConsts));
      const ts = tangents.slice(numConsts);
      if (!ts.some((t) => !isZero(t))) return [outs, outs.map((o) => new Zero(o.aval))];
      const tOuts = bind('custom_lin', [...res, ...ts.map(instantiate)], { bwd, numResiduals: res.length, outAvals: outAvalsOf(fun), name });
      return [outs, tOuts];
    },
    batch: (args, dims, { fun, fwd, bwd, numConsts, name }, size) => {
      const moved = args.map((a, i) => moveBatchDim(a, dims[i], 0, size));
      const zeros = (n: number) => Array.from({ length: n }, () => 0);
      const batched = stage((...xs) => vmapFlat(run(fun), xs, zeros(xs.length), zeros(fun.outvars.length), size), moved.map((a) => a.aval));
      let numRes = 0;
      const bFwd: FlatFwd = (ps) => {
        const flat = vmapFlat((...xs) => {
          const [o, r] = fwd(xs);
          numRes = r.length;
          return [...o, ...r];
        }, ps, zeros(ps.length), () => zeros(fun.outvars.length + numRes), size);
        return [flat.slice(0, fun.outvars.length), flat.slice(fun.outvars.length)];
      };
      const bBwd: FlatBwd = (res, cts) => vmapFlat((...xs) => bwd(xs.slice(0, res.length), xs.slice(res.length)), [...res, ...cts], zeros(res.length + cts.length), () => zeros(moved.length - numConsts), size);
      const outs = bind('custom_vjp_call', [...batched.consts, ...moved], { fun: openJaxpr(batched.jaxpr), fwd: bFwd, bwd: bBwd, numConsts: batched.consts.length + numConsts, name: `vmap(${name})` });
      return [outs, outs.map(() => 0)];
    },
  },

  custom_lin: {
    kind: 'interpret',
    abstractEval: (_a, { outAvals }) => [...outAvals],
    impl: (_args, { name }) => {
      throw new ValueError(`customVjp(${name}): forward-mode differentiation (jvp, jacfwd) of a function with a custom vjp is not supported; use customJvp, or reverse mode`);
    },
    // Linear in the tangent operands: its own tangent is custom_lin of their tangents (residuals must be constant).
    jvp: (primals, tangents, params) => {
      const out = bind('custom_lin', primals, params);
      if (tangents.slice(0, params.numResiduals).some((t) => !isZero(t)))
        throw new ValueError(`customVjp(${params.name}): differentiating the backward pass with respect to its residuals is not supported; use customJvp for higher-order derivatives`);
      const ts = tangents.slice(params.numResiduals);
      if (!ts.some((t) => !isZero(t))) return [out, out.map((o) => new Zero(o.aval))];
      return [out, bind('custom_lin', [...primals.slice(0, params.numResiduals), ...ts.map(instantiate)], params)];
    },
    // vmap: the user's bwd is vmapped, everything carrying its batch dim at 0.
    batch: (args, dims, { bwd, numResiduals, outAvals, name }, size) => {
      const moved = args.map((a, i) => moveBatchDim(a, dims[i], 0, size));
      const nIn = moved.length - numResiduals;
      const zeros = (n: number) => Array.from({ length: n }, () => 0);
      const bBwd: FlatBwd = (res, cts) => vmapFlat((...xs) => bwd(xs.slice(0, res.length), xs.slice(res.length)), [...res, ...cts], zeros(res.length + cts.length), zeros(nIn), size);
      const bOut = outAvals.map((a) => new ShapedArray([size, ...a.shape], a.dtype, a.weakType));
      const outs = bind('custom_lin', moved, { bwd: bBwd, numResiduals, outAvals: bOut, name: `vmap(${name})` });
      return [outs, outs.map(() => 0)];
    },
    transpose: (cts, args, { bwd, numResiduals, outAvals }) => {
      const res = args.slice(0, numResiduals) as Value[];
      const inCts = bwd(res, cts.map((c, i) => (isZero(c) ? instantiate(new Zero(outAvals[i])) : c)));
      return [...res.map(() => null), ...inCts];
    },
  },

  remat: {
    kind: 'interpret',
    abstractEval: (_a, { jaxpr }) => outAvalsOf(jaxpr),
    impl: (args, { jaxpr }) => evalJaxpr(jaxpr, [], args),
    jvp: (primals, tangents, { jaxpr, name }) => {
      const nz = tangents.map((t) => !isZero(t));
      const tIns = tangents.filter((t): t is Value => !isZero(t));
      const n = primals.length;
      const j = stage((...xs) => {
        let k = n;
        const ts: Tangent[] = tangents.map((t, i) => (nz[i] ? xs[k++] : (t as Zero)));
        const [po, to] = jvpFlat(run(jaxpr), xs.slice(0, n), ts);
        return [...po, ...to];
      }, [...primals.map((p) => p.aval), ...tIns.map((t) => t.aval)]);
      const outs = bind('remat', [...j.consts, ...primals, ...tIns], { jaxpr: openJaxpr(j.jaxpr), name });
      return [outs.slice(0, outs.length / 2), outs.slice(outs.length / 2)];
    },
    batch: (args, dims, { jaxpr, name }, size) => {
      const b = stage((...xs) => vmapFlat(run(jaxpr), xs, dims, jaxpr.outvars.map(() => 0), size), args.map((a) => a.aval));
      const outs = bind('remat', [...b.consts, ...args], { jaxpr: openJaxpr(b.jaxpr), name });
      return [outs, outs.map(() => 0)];
    },
    /**
     * Checkpointing: the known side computes only the outputs and saves the remat's *inputs*
     * as residuals; the unknown side recomputes the intermediates it needs from them.
     */
    partialEval: (eqn, unknown) => {
      const { jaxpr, name } = eqn.params;
      const pe = partialEvalJaxpr(jaxpr, unknown);
      const knownIns = eqn.inputs.filter((_, i) => !unknown[i]);
      const residuals = knownIns.map((a) => new Var(a.aval));
      const knownOutvars = eqn.outvars.filter((_, i) => !pe.outUnknown[i]);
      const innerKnownIns = jaxpr.invars.filter((_, i) => !unknown[i]);
      const knownJaxpr = new Jaxpr([], innerKnownIns, pe.known.eqns, [...pe.known.outvars.slice(0, knownOutvars.length), ...innerKnownIns]);
      const unknownJaxpr = new Jaxpr([], [...innerKnownIns, ...jaxpr.invars.filter((_, i) => unknown[i])], jaxpr.eqns, jaxpr.outvars.filter((_, i) => pe.outUnknown[i]));
      return {
        known: { prim: 'remat', inputs: knownIns, outvars: [...knownOutvars, ...residuals], params: { jaxpr: knownJaxpr, name } },
        unknown: { prim: 'remat', inputs: [...residuals, ...eqn.inputs.filter((_, i) => unknown[i])], outvars: eqn.outvars.filter((_, i) => pe.outUnknown[i]), params: { jaxpr: unknownJaxpr, name } },
        outUnknown: pe.outUnknown,
        numResiduals: residuals.length,
      };
    },
    transpose: (cts, args, { jaxpr }) => backwardPass(jaxpr, [], args, cts).map((c, i) => (args[i] instanceof UndefinedPrimal ? c : null)),
  },
};
