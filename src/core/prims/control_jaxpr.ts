/**
 * Jaxpr-level transformations used by the control-flow rules (`control.ts`): the jvp, the
 * batching and the partial evaluation of a whole jaxpr, each returning a new jaxpr plus the
 * pattern of which outputs carry tangents / a batch dim / are unknown. They are JAX's
 * `ad.jvp_jaxpr`, `batching.batch_jaxpr` and `pe.partial_eval_jaxpr_nounits` with
 * `instantiate`; the fixed points of scan and while are computed with them.
 *
 * Every jaxpr here is *open*: no constvars, closed-over values are leading invars.
 */
import { ShapedArray } from '../aval.js';
import { Jaxpr, Literal, Var, type Atom } from '../ir/jaxpr.js';
import { evalJaxpr } from '../trace/eval_jaxpr.js';
import { stage } from '../trace/staging.js';
import { checkLeak, withTrace } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { JVPTrace, JVPTracer } from '../transforms/jvp.js';
import { partialEvalJaxpr } from '../transforms/partial_eval.js';
import { BatchTrace, BatchTracer } from '../transforms/vmap.js';
import { hasTangent, moveBatchDim, zerosOf } from './ad_util.js';
import { Zero } from './rules.js';

/** An open jaxpr and the values of its leading const inputs. */
export interface OpenJaxpr {
  readonly jaxpr: Jaxpr;
  readonly consts: Value[];
}

/** Stage `fn` into an open jaxpr: the closed-over values become leading inputs (returned as `consts`). */
export function stageOpen(fn: (...args: Value[]) => readonly Value[], avals: readonly ShapedArray[]): OpenJaxpr {
  const c = stage(fn, avals);
  const j = c.jaxpr;
  return { jaxpr: new Jaxpr([], [...j.constvars, ...j.invars], j.eqns, j.outvars), consts: [...c.consts] };
}

/** `jaxpr` with its inputs and outputs reordered (`ins[k]` is the old index of new input k). */
export function permuteJaxpr(j: Jaxpr, ins: readonly number[], outs: readonly number[] = j.outvars.map((_, i) => i)): Jaxpr {
  return new Jaxpr(j.constvars, ins.map((i) => j.invars[i]), j.eqns, outs.map((i) => j.outvars[i]));
}

/** `jaxpr` taking extra, unused inputs of `avals` inserted at position `at`. */
export function withUnusedInputs(j: Jaxpr, at: number, avals: readonly ShapedArray[]): Jaxpr {
  const extra = avals.map((a) => new Var(a));
  return new Jaxpr(j.constvars, [...j.invars.slice(0, at), ...extra, ...j.invars.slice(at)], j.eqns, j.outvars);
}

export const indicesWhere = (mask: readonly boolean[], want = true): number[] => mask.flatMap((m, i) => (m === want ? [i] : []));
export const orMasks = (a: readonly boolean[], b: readonly boolean[]): boolean[] => a.map((x, i) => x || b[i]);
/** Whether every true entry of `a` is true in `b`. */
export const subsetOf = (a: readonly boolean[], b: readonly boolean[]): boolean => a.every((x, i) => !x || b[i]);

export interface JvpJaxpr extends OpenJaxpr {
  /** Which outputs have a (nonzero or instantiated) tangent output. */
  readonly outNz: boolean[];
}

/**
 * The jvp of `jaxpr`: inputs `[consts…, primals…, tangents of the inputs marked nz…]`,
 * outputs `[primals…, tangents of outputs in outNz…]`. An output's tangent is present when
 * it is nonzero or marked in `inst` (instantiated as zeros; integer outputs never are).
 */
export function jvpJaxpr(jaxpr: Jaxpr, nz: readonly boolean[], inst: readonly boolean[]): JvpJaxpr {
  const n = jaxpr.invars.length;
  const outNz: boolean[] = [];
  const avals = jaxpr.inAvals;
  const staged = stageOpen((...xs) => {
    const trace = new JVPTrace();
    let k = n;
    const ins = xs.slice(0, n).map((p, i) => trace.pack(p, nz[i] ? xs[k++] : new Zero(p.aval)));
    const outs = withTrace(trace, () => evalJaxpr(jaxpr, [], ins));
    return withTrace(trace.parent, () => {
      const po: Value[] = [], to: Value[] = [];
      outs.forEach((o, i) => {
        if (o instanceof JVPTracer && o.trace === trace) {
          po.push(o.primal);
          to.push(o.tangent);
          outNz[i] = true;
        } else {
          checkLeak('jvp of a control-flow body', o);
          po.push(o);
          outNz[i] = !!inst[i] && hasTangent(o.aval);
          if (outNz[i]) to.push(zerosOf(o.aval));
        }
      });
      return [...po, ...to];
    });
  }, [...avals, ...avals.filter((_, i) => nz[i])]);
  return { ...staged, outNz };
}

export interface BatchJaxpr extends OpenJaxpr {
  /** Which outputs are batched (along dim 0). */
  readonly outBatched: boolean[];
}

/**
 * The batched `jaxpr`: inputs marked `batched` get a leading batch dim of `size`; outputs
 * are batched along dim 0 when they vary over the batch or are marked in `inst`.
 */
export function batchJaxpr(jaxpr: Jaxpr, batched: readonly boolean[], size: number, inst: readonly boolean[]): BatchJaxpr {
  const outBatched: boolean[] = [];
  const avals = jaxpr.inAvals.map((a, i) => (batched[i] ? new ShapedArray([size, ...a.shape], a.dtype, a.weakType) : a));
  const staged = stageOpen((...xs) => {
    const trace = new BatchTrace(size);
    const ins = xs.map((x, i) => trace.pack(x, batched[i] ? 0 : null));
    const outs = withTrace(trace, () => evalJaxpr(jaxpr, [], ins));
    return withTrace(trace.parent, () =>
      outs.map((o, i) => {
        if (o instanceof BatchTracer && o.trace === trace) {
          outBatched[i] = true;
          return moveBatchDim(o.val, o.bdim, 0, size);
        }
        checkLeak('vmap of a control-flow body', o);
        outBatched[i] = !!inst[i];
        return inst[i] ? moveBatchDim(o, null, 0, size) : o;
      }),
    );
  }, avals);
  return { ...staged, outBatched };
}

export interface PartialEvalInst {
  /** known inputs → known outputs, then the residuals. */
  readonly known: Jaxpr;
  /** residuals, then unknown inputs → unknown outputs. */
  readonly unknown: Jaxpr;
  readonly outUnknown: boolean[];
  readonly numResiduals: number;
}

/**
 * `partialEvalJaxpr` with JAX's `instantiate`: outputs marked in `inst` are unknown even
 * when they are computable from the known inputs (their known value becomes a residual, or
 * a literal of the unknown jaxpr), so that e.g. a loop carry is unknown on both sides.
 */
export function partialEvalInst(jaxpr: Jaxpr, unknownIns: readonly boolean[], inst: readonly boolean[]): PartialEvalInst {
  const pe = partialEvalJaxpr(jaxpr, unknownIns);
  const nKnown = pe.known.outvars.length - pe.numResiduals;
  const knownOuts = pe.known.outvars.slice(0, nKnown);
  const residuals = pe.known.outvars.slice(nKnown);
  const resIns = pe.unknown.invars.slice(0, pe.numResiduals);
  const unknownIns2 = pe.unknown.invars.slice(pe.numResiduals);
  const keptKnown: Atom[] = [], unknownOuts: Atom[] = [], extraRes: Atom[] = [], extraIns: Var[] = [];
  let ki = 0, ui = 0;
  const outUnknown = jaxpr.outvars.map((_, i) => {
    if (pe.outUnknown[i]) {
      unknownOuts.push(pe.unknown.outvars[ui++]);
      return true;
    }
    const a = knownOuts[ki++];
    if (!inst[i]) {
      keptKnown.push(a);
      return false;
    }
    if (a instanceof Literal) unknownOuts.push(a);
    else {
      const v = new Var(a.aval);
      extraRes.push(a);
      extraIns.push(v);
      unknownOuts.push(v);
    }
    return true;
  });
  return {
    known: new Jaxpr(pe.known.constvars, pe.known.invars, pe.known.eqns, [...keptKnown, ...residuals, ...extraRes]),
    unknown: new Jaxpr([], [...resIns, ...extraIns, ...unknownIns2], pe.unknown.eqns, unknownOuts),
    outUnknown,
    numResiduals: residuals.length + extraRes.length,
  };
}

/**
 * Branch jaxprs with their own consts (leading inputs) → jaxprs that all take every
 * branch's consts as leading inputs, each ignoring the others' (JAX's
 * `_initial_style_jaxprs_with_common_consts`): what `cond` needs, one operand list for all.
 */
export function joinConsts(branches: readonly OpenJaxpr[]): { jaxprs: Jaxpr[]; consts: Value[] } {
  const consts = branches.flatMap((b) => b.consts);
  const jaxprs = branches.map((b, k) => {
    const own = b.jaxpr.invars.slice(0, b.consts.length);
    const ins = branches.flatMap((o, j) => (j === k ? own : o.consts.map((c) => new Var(c.aval))));
    return new Jaxpr([], [...ins, ...b.jaxpr.invars.slice(b.consts.length)], b.jaxpr.eqns, b.jaxpr.outvars);
  });
  return { jaxprs, consts };
}
