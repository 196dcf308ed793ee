/**
 * User-defined differentiation rules and checkpointing, as in JAX:
 *
 *   const f = customJvp((x) => …);
 *   f.defJvp(([x], [t]) => [f(x), t.mul(…)]);
 *
 *   const g = customVjp((x) => …);
 *   g.defVjp((x) => [out, residuals], (residuals, ct) => [ctX]);
 *
 *   const h = checkpoint((x) => …);   // recomputed, not stored, in the backward pass
 */
import { ValueError } from '../errors.js';
import { openJaxpr } from '../prims/jit.js';
import type { FlatBwd, FlatFwd, FlatJvpRule } from '../prims/custom.js';
import { stage } from '../trace/staging.js';
import { bind } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import * as tree from '../tree.js';
import { flatFun, flattenArgs, flattenOut, unflattenOut, type AnyFn } from './api_util.js';

/** Stage `f` on the given flat leaves; returns the open jaxpr (consts leading) and its consts. */
function stageFlat(op: string, f: AnyFn, leaves: readonly Value[], inDef: tree.TreeDef) {
  const store: { out?: tree.TreeDef } = {};
  const cj = stage(flatFun(op, f, inDef, store), leaves.map((l) => l.aval));
  return { jaxpr: openJaxpr(cj.jaxpr), consts: cj.consts, outDef: store.out! };
}

export type CustomJvpFn<F extends AnyFn> = F & {
  /** Set the rule: `(primals, tangents) => [primalOut, tangentOut]`, primals/tangents as argument lists. */
  defJvp(rule: (primals: Parameters<F>, tangents: Parameters<F>) => [ReturnType<F>, ReturnType<F>]): CustomJvpFn<F>;
};

export function customJvp<F extends AnyFn>(f: F): CustomJvpFn<F> {
  let rule: ((p: Parameters<F>, t: Parameters<F>) => [ReturnType<F>, ReturnType<F>]) | null = null;
  const name = f.name || 'fn';
  const wrapped = ((...args: unknown[]) => {
    if (!rule) throw new ValueError(`customJvp(${name}): call defJvp(rule) before using the function`);
    const [leaves, inDef] = flattenArgs('customJvp', args);
    const { jaxpr, consts, outDef } = stageFlat('customJvp', f, leaves, inDef);
    const r = rule;
    const jvp: FlatJvpRule = (ps, ts) => {
      const [po, to] = r(tree.unflatten(inDef, [...ps]) as Parameters<F>, tree.unflatten(inDef, [...ts]) as Parameters<F>);
      const [pl, pDef] = flattenOut('customJvp rule', po);
      const [tl, tDef] = flattenOut('customJvp rule', to);
      if (!pDef.equals(outDef) || !tDef.equals(outDef))
        throw new ValueError(`customJvp(${name}): the rule returned structures ${pDef} and ${tDef}, expected ${outDef} (the function's output)`);
      pl.forEach((p, i) => {
        if (p.aval.shape.join() !== jaxpr.outAvals[i].shape.join() || tl[i].shape.join() !== p.shape.join())
          throw new ValueError(`customJvp(${name}): rule output ${i} is ${p.aval.str()} with tangent ${tl[i].aval.str()}, expected ${jaxpr.outAvals[i].str()}`);
      });
      return [pl, tl];
    };
    const outs = bind('custom_jvp_call', [...consts, ...leaves], { fun: jaxpr, jvp, numConsts: consts.length, name });
    return unflattenOut(outDef, outs);
  }) as CustomJvpFn<F>;
  wrapped.defJvp = (r) => {
    rule = r;
    return wrapped;
  };
  return wrapped;
}

export type CustomVjpFn<F extends AnyFn> = F & {
  /**
   * Set the pair: `fwd(...args) => [out, residuals]` (residuals any pytree of arrays) and
   * `bwd(residuals, ct) => cotangents`, one per positional argument (a list).
   */
  defVjp<R>(fwd: (...args: Parameters<F>) => [ReturnType<F>, R], bwd: (residuals: R, ct: ReturnType<F>) => unknown[]): CustomVjpFn<F>;
};

export function customVjp<F extends AnyFn>(f: F): CustomVjpFn<F> {
  let pair: { fwd: (...a: unknown[]) => [unknown, unknown]; bwd: (r: unknown, ct: unknown) => unknown[] } | null = null;
  const name = f.name || 'fn';
  const wrapped = ((...args: unknown[]) => {
    if (!pair) throw new ValueError(`customVjp(${name}): call defVjp(fwd, bwd) before using the function`);
    const p = pair;
    const [leaves, inDef] = flattenArgs('customVjp', args);
    const { jaxpr, consts, outDef } = stageFlat('customVjp', f, leaves, inDef);
    let resDef: tree.TreeDef | undefined;
    const fwd: FlatFwd = (ps) => {
      const [out, res] = p.fwd(...(tree.unflatten(inDef, [...ps]) as unknown[]));
      const [ol, oDef] = flattenOut('customVjp fwd', out);
      if (!oDef.equals(outDef)) throw new ValueError(`customVjp(${name}): fwd returned an output of structure ${oDef}, expected ${outDef}`);
      const [rl, rDef] = flattenOut('customVjp fwd residuals', res);
      resDef = rDef;
      return [ol, rl];
    };
    const bwd: FlatBwd = (res, cts) => {
      const out = p.bwd(unflattenOut(resDef, res), unflattenOut(outDef, cts));
      if (!Array.isArray(out) || out.length !== args.length)
        throw new ValueError(`customVjp(${name}): bwd must return a list with one cotangent per positional argument (${args.length}), got ${Array.isArray(out) ? out.length : typeof out}`);
      const [cl, cDef] = flattenOut('customVjp bwd', out);
      if (!cDef.equals(inDef)) throw new ValueError(`customVjp(${name}): bwd returned cotangents of structure ${cDef}, expected ${inDef}`);
      cl.forEach((c, i) => {
        if (c.shape.join() !== leaves[i].shape.join()) throw new ValueError(`customVjp(${name}): cotangent ${i} is ${c.aval.str()}, expected the shape of ${leaves[i].aval.str()}`);
      });
      return cl;
    };
    const outs = bind('custom_vjp_call', [...consts, ...leaves], { fun: jaxpr, fwd, bwd, numConsts: consts.length, name });
    return unflattenOut(outDef, outs);
  }) as CustomVjpFn<F>;
  wrapped.defVjp = (fwd, bwd) => {
    pair = { fwd: fwd as never, bwd: bwd as never };
    return wrapped;
  };
  return wrapped;
}

/** `checkpoint(f)` (JAX's `jax.checkpoint` / remat): reverse mode recomputes f's intermediates instead of storing them. */
export function checkpoint<F extends AnyFn>(f: F): F {
  const name = f.name || 'fn';
  return ((...args: unknown[]) => {
    const [leaves, inDef] = flattenArgs('checkpoint', args);
    const { jaxpr, consts, outDef } = stageFlat('checkpoint', f, leaves, inDef);
    return unflattenOut(outDef, bind('remat', [...consts, ...leaves], { jaxpr, name }));
  }) as F;
}
