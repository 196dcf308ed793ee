/**
 * Differentiation APIs. `jvp` is forward mode; `linearize` is jvp followed by partial
 * evaluation (the tangent computation becomes a linear jaxpr over residuals); `vjp` and
 * `grad` transpose that linear jaxpr, so only linear primitives need transpose rules.
 */
import { ShapedArray } from '../aval.js';
import { isFloat } from '../dtype.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { fullOf, instantiate, zerosOf } from '../prims/ad_util.js';
import { UndefinedPrimal, Zero, type Tangent } from '../prims/rules.js';
import { evalJaxpr } from '../trace/eval_jaxpr.js';
import { stage } from '../trace/staging.js';
import type { Value } from '../trace/value.js';
import * as tree from '../tree.js';
import { flatFun, flattenArgs, normArgnums, unflattenOut, type AnyFn } from './api_util.js';
import { jvpFlat } from './jvp.js';
import { partialEvalJaxpr } from './partial_eval.js';
import { backwardPass } from './transpose.js';

/** `jvp(f, primals, tangents)` → `[primalsOut, tangentsOut]`; primals and tangents are lists of argument pytrees. */
export function jvp<F extends AnyFn>(f: F, primals: readonly unknown[], tangents: readonly unknown[]): [ReturnType<F>, ReturnType<F>] {
  const [ps, pDef] = flattenArgs('jvp', primals);
  const [ts, tDef] = flattenArgs('jvp', tangents);
  if (!pDef.equals(tDef)) throw new ValueError(`jvp: primal and tangent structures differ: ${pDef} vs ${tDef}`);
  ps.forEach((p, i) => {
    if (p.dtype !== ts[i].dtype || p.shape.join() !== ts[i].shape.join())
      throw new ShapeError(`jvp: primal ${i} is ${p.aval.str()} but its tangent is ${ts[i].aval.str()}; they must have the same shape and dtype`);
  });
  const store: { out?: tree.TreeDef } = {};
  const [po, to] = jvpFlat(flatFun('jvp', f, pDef, store), ps, ts);
  return [unflattenOut(store.out, po) as ReturnType<F>, unflattenOut(store.out, to) as ReturnType<F>];
}

/** A linearized function: residuals plus the linear jaxpr from tangents to output tangents. */
export interface Linearized {
  outs: Value[];
  outDef: tree.TreeDef;
  /** tangents → output tangents (evaluates the linear jaxpr). */
  jvpFn: (tangents: readonly Tangent[]) => Value[];
  /** output cotangents → input cotangents (transposes it). */
  vjpFn: (cts: readonly Tangent[]) => Tangent[];
}

/** jvp staged into a jaxpr, then split: the known (primal) part runs now, the linear part is kept. */
export function linearizeFlat(op: string, fn: (...a: Value[]) => Value[], primals: readonly Value[], store: { out?: tree.TreeDef }): Linearized {
  const n = primals.length;
  const avals = primals.map((p) => p.aval.strengthen());
  const jaxpr = stage((...args) => {
    const [po, to] = jvpFlat(fn, args.slice(0, n), args.slice(n));
    return [...po, ...to];
  }, [...avals, ...avals]);
  const nOut = jaxpr.outAvals.length / 2;
  const pe = partialEvalJaxpr(jaxpr.jaxpr, [...avals.map(() => false), ...avals.map(() => true)]);
  const knownOuts = evalJaxpr(pe.known, jaxpr.consts, primals);
  const numKnownOuts = knownOuts.length - pe.numResiduals;
  const residuals = knownOuts.slice(numKnownOuts);
  // Primal outputs never depend on tangents; tangent outputs may be known (zero) or unknown.
  const outs = knownOuts.slice(0, nOut);
  const tangentUnknown = pe.outUnknown.slice(nOut);
  const unknownAvals = pe.unknown.outAvals;
  return {
    outs,
    outDef: store.out!,
    jvpFn: (tangents) => {
      const u = evalJaxpr(pe.unknown, [], [...residuals, ...tangents.map(instantiate)]);
      let k = 0;
      return tangentUnknown.map((unk, i) => (unk ? u[k++] : zerosOf(outs[i].aval)));
    },
    vjpFn: (cts) => {
      const unknownCts: Tangent[] = [];
      tangentUnknown.forEach((unk, i) => unk && unknownCts.push(cts[i]));
      if (unknownCts.length !== unknownAvals.length) throw new Error(`${op}: internal error: cotangent count mismatch`);
      const args = [...residuals, ...avals.map((a) => new UndefinedPrimal(a))];
      return backwardPass(pe.unknown, [], args, unknownCts).slice(residuals.length);
    },
  };
}

/** `linearize(f, ...primals)` → `[out, fJvp]` where `fJvp(...tangents)` is the linear map t ↦ J t. */
export function linearize<F extends AnyFn>(f: F, ...primals: Parameters<F>): [ReturnType<F>, (...tangents: Parameters<F>) => ReturnType<F>] {
  const [ps, inDef] = flattenArgs('linearize', primals);
  const store: { out?: tree.TreeDef } = {};
  const lin = linearizeFlat('linearize', flatFun('linearize', f, inDef, store), ps, store);
  const fJvp = (...tangents: unknown[]) => {
    const [ts, tDef] = flattenArgs('linearize', tangents);
    if (!tDef.equals(inDef)) throw new ValueError(`linearize: tangent structure ${tDef} differs from the primal structure ${inDef}`);
    return unflattenOut(lin.outDef, lin.jvpFn(ts)) as ReturnType<F>;
  };
  return [unflattenOut(lin.outDef, lin.outs) as ReturnType<F>, fJvp as (...t: Parameters<F>) => ReturnType<F>];
}

/** `vjp(f, ...primals)` → `[out, fVjp]` where `fVjp(ct)` gives one cotangent per primal argument (a list). */
export function vjp<F extends AnyFn>(f: F, ...primals: Parameters<F>): [ReturnType<F>, (ct: ReturnType<F>) => Parameters<F>] {
  const [ps, inDef] = flattenArgs('vjp', primals);
  const store: { out?: tree.TreeDef } = {};
  const lin = linearizeFlat('vjp', flatFun('vjp', f, inDef, store), ps, store);
  const fVjp = (ct: unknown) => {
    const [cts, ctDef] = flattenArgs('vjp', [ct]);
    const outDef = tree.structure([unflattenOut(lin.outDef, lin.outs)] as tree.PyTree<unknown>);
    if (!ctDef.equals(outDef)) throw new ValueError(`vjp: cotangent structure ${ctDef} differs from the output structure ${outDef}`);
    cts.forEach((c, i) => {
      const o = lin.outs[i];
      if (c.shape.join() !== o.shape.join()) throw new ShapeError(`vjp: cotangent ${i} has shape ${fmtShape(c.shape)} but the output has shape ${fmtShape(o.shape)}`);
    });
    const inCts = lin.vjpFn(cts).map((c, i) => (c instanceof Zero ? zerosOf(ps[i].aval.strengthen()) : c));
    return tree.unflatten(inDef, inCts) as Parameters<F>;
  };
  return [unflattenOut(lin.outDef, lin.outs) as ReturnType<F>, fVjp as (ct: ReturnType<F>) => Parameters<F>];
}

export interface GradOptions {
  /** Which positional arguments to differentiate (default 0); a list gives a list of gradients. */
  argnums?: number | readonly number[];
  /** `f` returns `[value, aux]`; aux is returned alongside, not differentiated. */
  hasAux?: boolean;
}

/** `valueAndGrad(f, opts)(...args)` → `[value, grad]` (and `[[value, aux], grad]` with hasAux). */
export function valueAndGrad<F extends AnyFn>(f: F, opts: GradOptions = {}): (...args: Parameters<F>) => [unknown, unknown] {
  const argnumsOpt = opts.argnums ?? 0;
  return (...args) => {
    const argnums = normArgnums('grad', argnumsOpt, args.length);
    const g = (...d: unknown[]) => {
      const full = [...args];
      argnums.forEach((a, k) => (full[a] = d[k]));
      const r = f(...full);
      if (opts.hasAux && (!Array.isArray(r) || r.length !== 2)) throw new ValueError('grad: with hasAux the function must return [value, aux]');
      return r;
    };
    const [ds, dDef] = flattenArgs('grad', argnums.map((i) => args[i]));
    ds.forEach((d, i) => {
      if (!isFloat(d.dtype)) throw new DTypeError(`grad: differentiated arguments must be float32, but leaf ${i} of argnums ${JSON.stringify(argnumsOpt)} is ${d.aval.str()}`);
    });
    // With hasAux the aux leaves are extra outputs of the staged function (so no tracer escapes), with zero cotangents.
    const store: { out?: tree.TreeDef } = {};
    const lin = linearizeFlat('grad', flatFun('grad', g, dDef, store), ds, store);
    const value = lin.outs[0];
    if (!value || value.ndim !== 0 || !isFloat(value.dtype) || (!opts.hasAux && lin.outs.length !== 1))
      throw new ShapeError(`grad: the function must return a float32 scalar, got ${lin.outs.map((o) => o.aval.str()).join(', ') || 'nothing'}${opts.hasAux ? ' (as the first of [value, aux])' : ''}`);
    const cts = [fullOf(new ShapedArray([], 'float32'), 1), ...lin.outs.slice(1).map((o) => new Zero(o.aval))];
    const inCts = lin.vjpFn(cts).map((c, i) => (c instanceof Zero ? zerosOf(ds[i].aval.strengthen()) : instantiate(c)));
    const grads = tree.unflatten(dDef, inCts) as unknown[];
    const gOut = typeof argnumsOpt === 'number' ? grads[0] : grads;
    const out = unflattenOut(lin.outDef, lin.outs);
    return [opts.hasAux ? out : value, gOut];
  };
}

/** `grad(f, opts)(...args)`: the gradient of a scalar-valued `f` (with hasAux: `[grad, aux]`). */
export function grad<F extends AnyFn>(f: F, opts: GradOptions = {}): (...args: Parameters<F>) => any {
  const vg = valueAndGrad(f, opts);
  return (...args) => {
    const [v, g] = vg(...args);
    return opts.hasAux ? [g, (v as unknown[])[1]] : g;
  };
}
