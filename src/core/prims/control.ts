/**
 * Structured control flow: `cond` (n-way branch on an int32 index), `scan` (a loop of a
 * fixed length with a carry, slicing xs and stacking ys) and `while` (a loop with a
 * data-dependent exit). Each holds open jaxprs in its params (closed-over values are
 * leading operands) and runs eagerly by interpreting them, as jax.lax does on the host.
 * Their rules transform the inner jaxprs (`control_jaxpr.ts`) and bind the primitive again,
 * so every transformation composes with loops and branches:
 *
 * - jvp: the body's jvp; for loops a fixed point over which carries have nonzero tangents.
 * - batch: the batched body; a batched `cond` index becomes a select over all branches, a
 *   batched `while` predicate runs until every example is done, selecting per example.
 * - partial evaluation (linearize): each branch / the loop body is split into a known and
 *   an unknown part; scan residuals are stacked per iteration (JAX's `_scan_partial_eval`).
 * - transpose (reverse mode): of each branch; of a linear scan, a scan running backwards
 *   whose carries accumulate the consts' cotangents. `while` has no transpose.
 */
import { ShapedArray } from '../aval.js';
import { NDArray, scope } from '../array.js';
import { DeviceError, DTypeError, ShapeError, ValueError } from '../errors.js';
import { Jaxpr, Var, type Atom, type Eqn } from '../ir/jaxpr.js';
import * as lax from '../lax.js';
import { shapeEq } from '../shape.js';
import { evalJaxpr } from '../trace/eval_jaxpr.js';
import { bind, bind1 } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { partialEvalJaxpr } from '../transforms/partial_eval.js';
import { backwardPass } from '../transforms/transpose.js';
import { vmapFlat } from '../transforms/vmap.js';
import { addTangents, instantiate, isZero, moveBatchDim, zerosOf } from './ad_util.js';
import {
  batchJaxpr, indicesWhere, joinConsts, jvpJaxpr, orMasks, partialEvalInst, permuteJaxpr, stageOpen, subsetOf, withUnusedInputs,
  type BatchJaxpr, type JvpJaxpr,
} from './control_jaxpr.js';
import { UndefinedPrimal, Zero, type RuleTable, type Tangent } from './rules.js';

export interface CondParams {
  /** One open jaxpr per branch, all of the same signature: operands (after the index) → outputs. */
  branches: readonly Jaxpr[];
}
export interface ScanParams {
  /** [consts…, carry…, x slices…] → [carry…, y slices…]. */
  jaxpr: Jaxpr;
  numConsts: number;
  numCarry: number;
  length: number;
  /** Iterate from the last index to the first (ys stay in xs order). */
  reverse: boolean;
}
export interface WhileParams {
  /** [cond consts…, carry…] → [bool scalar]. */
  condJaxpr: Jaxpr;
  /** [body consts…, carry…] → [carry…]. */
  bodyJaxpr: Jaxpr;
  condNconsts: number;
  bodyNconsts: number;
}

declare module '../trace/primitive.js' {
  interface PrimParams {
    /** Operands: int32 scalar index (clamped to the branches), then the branches' operands. */
    cond: CondParams;
    /** Operands: consts, initial carry, xs (each with a leading axis of `length`). */
    scan: ScanParams;
    /** Operands: cond consts, body consts, initial carry. */
    while: WhileParams;
  }
}

// ------------------------------------------------------------------ helpers

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
const count = (m: readonly boolean[]): number => m.filter(Boolean).length;
const fmt = (avals: readonly ShapedArray[]): string => `(${avals.map((a) => a.str()).join(', ')})`;
/** Shape and dtype agree (weak types are ignored, as in JAX's `typematch`). */
const sameType = (a: ShapedArray, b: ShapedArray): boolean => a.dtype === b.dtype && shapeEq(a.shape, b.shape);
const sameTypes = (a: readonly ShapedArray[], b: readonly ShapedArray[]): boolean => a.length === b.length && a.every((x, i) => sameType(x, b[i]));
const stacked = (a: ShapedArray, length: number): ShapedArray => new ShapedArray([length, ...a.shape], a.dtype, a.weakType);

function checkIns(what: string, want: readonly ShapedArray[], got: readonly ShapedArray[]): void {
  if (!sameTypes(want, got)) throw new ShapeError(`${what} takes ${fmt(want)} but got ${fmt(got)}`);
}

/** Element `i` of `x` along its leading axis (eager). */
function indexAt(x: Value, i: number): Value {
  return lax.reshape(lax.slice(x, [i, ...x.shape.slice(1).map(() => 0)], [i + 1, ...x.shape.slice(1)]), x.shape.slice(1));
}

/** Stack per-iteration values along a new leading axis (eager; concatenated 64 at a time). */
function stackAll(parts: readonly Value[], slice: ShapedArray): Value {
  if (parts.length === 0) return zerosOf(new ShapedArray([0, ...slice.shape], slice.dtype));
  let level = parts.map((p) => lax.reshape(p, [1, ...p.shape]));
  while (level.length > 1) {
    const next: Value[] = [];
    for (let i = 0; i < level.length; i += 64) next.push(i + 1 === level.length ? level[i] : lax.concatenate(level.slice(i, i + 64), 0));
    level = next;
  }
  return level[0];
}

const evalOpen = (j: Jaxpr) => (...a: Value[]): Value[] => evalJaxpr(j, [], a);

/** The residual vars of a partial evaluation's known outputs and of the unknown jaxpr's inputs. */
function residualsOf(pe: { known: Jaxpr; unknown: Jaxpr; numResiduals: number }): { known: Atom[]; unknown: Var[] } {
  const n = pe.known.outvars.length - pe.numResiduals;
  return { known: pe.known.outvars.slice(n), unknown: pe.unknown.invars.slice(0, pe.numResiduals) };
}

// ------------------------------------------------------------------ cond

function condJvp(primals: readonly Value[], tangents: readonly Tangent[], { branches }: CondParams): [Value[], Tangent[]] {
  const [index, ...ops] = primals;
  const nz = tangents.slice(1).map((t) => !isZero(t));
  const nOut = branches[0].outvars.length;
  const outNz = branches.map((b) => jvpJaxpr(b, nz, []).outNz).reduce(orMasks);
  const joined = joinConsts(branches.map((b) => jvpJaxpr(b, nz, outNz)));
  const tanIns = tangents.slice(1).filter((t): t is Value => !isZero(t));
  const outs = bind('cond', [index, ...joined.consts, ...ops, ...tanIns], { branches: joined.jaxprs });
  let k = nOut;
  return [outs.slice(0, nOut), outNz.map((z, i) => (z ? outs[k++] : new Zero(outs[i].aval)))];
}

function condBatch(args: readonly Value[], dims: readonly (number | null)[], { branches }: CondParams, size: number): [Value[], (number | null)[]] {
  const [index, ...ops] = args;
  const [idim, ...odims] = dims;
  if (idim !== null) {
    // A batched index: run every branch on every example and select (jax `_cond_batching_rule`).
    // A branch sees the operands of the examples that did not choose it through stop_gradient,
    // so reverse mode sends them no cotangent (not even a NaN·0) through that branch.
    const idx = lax.clamp(0, moveBatchDim(index, idim, 0, size), branches.length - 1);
    const opsB = ops.map((o, i) => moveBatchDim(o, odims[i], 0, size));
    const bcast = (p: Value, shape: readonly number[]) => lax.broadcastInDim(p, shape, [0]);
    const perBranch = branches.map((b, k) => {
      const guarded = opsB.map((o) => (o.dtype === 'float32' ? lax.select(bcast(lax.eq(idx, k), o.shape), o, bind1('stop_gradient', [o], {})) : o));
      return vmapFlat(evalOpen(b), guarded, guarded.map(() => 0), b.outvars.map(() => 0), size);
    });
    const outs = perBranch[0].map((o, j) => (branches.length === 1 ? o : lax.selectN(bcast(idx, o.shape), ...perBranch.map((p) => p[j]))));
    return [outs, outs.map(() => 0)];
  }
  const inB = odims.map((d) => d !== null);
  const opsB = ops.map((o, i) => (inB[i] ? moveBatchDim(o, odims[i], 0, size) : o));
  const outB = branches.map((b) => batchJaxpr(b, inB, size, []).outBatched).reduce(orMasks);
  const joined = joinConsts(branches.map((b) => batchJaxpr(b, inB, size, outB)));
  const outs = bind('cond', [index, ...joined.consts, ...opsB], { branches: joined.jaxprs });
  return [outs, outB.map((b) => (b ? 0 : null))];
}

function condTranspose(cts: readonly Tangent[], args: readonly (Value | UndefinedPrimal)[], { branches }: CondParams): (Tangent | null)[] {
  const [index, ...ops] = args;
  if (index instanceof UndefinedPrimal) throw new ValueError('transpose of cond: the branch index cannot be linear');
  const lin = ops.map((o) => o instanceof UndefinedPrimal);
  const res = ops.filter((o): o is Value => !(o instanceof UndefinedPrimal));
  const ctVals = cts.map(instantiate);
  const transposed = branches.map((b) =>
    stageOpen((...xs) => {
      let k = 0;
      const full = ops.map((o) => (o instanceof UndefinedPrimal ? o : xs[k++]));
      return backwardPass(b, [], full, xs.slice(k)).filter((_, i) => lin[i]).map(instantiate);
    }, [...res.map((r) => r.aval), ...ctVals.map((c) => c.aval)]),
  );
  const joined = joinConsts(transposed);
  const outs = bind('cond', [index, ...joined.consts, ...res, ...ctVals], { branches: joined.jaxprs });
  let k = 0;
  return [null, ...lin.map((l) => (l ? outs[k++] : null))];
}

/** jax `_cond_partial_eval`: split each branch; the known cond outputs every branch's residuals (zeros for the others'). */
function condPartialEval(eqn: Eqn<'cond'>, unknown: readonly boolean[]) {
  const { branches } = eqn.params;
  if (unknown[0]) return null;
  const opsUk = unknown.slice(1);
  const outUk = branches.map((b) => partialEvalJaxpr(b, opsUk).outUnknown).reduce(orMasks);
  const pes = branches.map((b) => partialEvalInst(b, opsUk, outUk));
  const resAvals = pes.map((pe) => residualsOf(pe).known.map((a) => a.aval));
  const known = joinConsts(
    pes.map((pe, k) =>
      stageOpen((...xs) => {
        const outs = evalJaxpr(pe.known, [], xs);
        const nk = outs.length - pe.numResiduals;
        return [...outs.slice(0, nk), ...resAvals.flatMap((avals, j) => (j === k ? outs.slice(nk) : avals.map((a) => zerosOf(a))))];
      }, pe.known.inAvals),
    ),
  );
  if (known.consts.length) throw new Error('cond partial eval: internal error: the known branches captured arrays');
  const unknownBranches = pes.map((pe, k) => {
    const ins = resAvals.flatMap((avals, j) => (j === k ? residualsOf(pe).unknown : avals.map((a) => new Var(a))));
    return new Jaxpr([], [...ins, ...pe.unknown.invars.slice(pe.numResiduals)], pe.unknown.eqns, pe.unknown.outvars);
  });
  const resVars = resAvals.flat().map((a) => new Var(a));
  const ops = eqn.inputs.slice(1);
  return {
    known: { prim: 'cond', inputs: [eqn.inputs[0], ...ops.filter((_, i) => !opsUk[i])], outvars: [...eqn.outvars.filter((_, i) => !outUk[i]), ...resVars], params: { branches: known.jaxprs } } as Eqn,
    unknown: { prim: 'cond', inputs: [eqn.inputs[0], ...resVars, ...ops.filter((_, i) => opsUk[i])], outvars: eqn.outvars.filter((_, i) => outUk[i]), params: { branches: unknownBranches } } as Eqn,
    outUnknown: outUk,
    numResiduals: resVars.length,
  };
}

// ------------------------------------------------------------------ scan

function scanJvp(primals: readonly Value[], tangents: readonly Tangent[], p: ScanParams): [Value[], Tangent[]] {
  const { jaxpr, numConsts: nc, numCarry: nk } = p;
  const n = primals.length, ny = jaxpr.outvars.length - nk;
  const nz = tangents.map((t) => !isZero(t));
  const constNz = nz.slice(0, nc), xsNz = nz.slice(nc + nk);
  let carryNz = nz.slice(nc, nc + nk);
  let j: JvpJaxpr;
  for (;;) {
    j = jvpJaxpr(jaxpr, [...constNz, ...carryNz, ...xsNz], [...carryNz, ...Array<boolean>(ny).fill(false)]);
    const out = j.outNz.slice(0, nk);
    if (subsetOf(out, carryNz)) break;
    carryNz = orMasks(carryNz, out);
  }
  const ysNz = j.outNz.slice(nk);
  const jc = j.consts.length, cT = count(constNz), kT = count(carryNz), xT = count(xsNz), yT = count(ysNz);
  const t0 = jc + n; // the first tangent input of the jvp jaxpr
  const body = permuteJaxpr(
    j.jaxpr,
    [...range(0, jc + nc), ...range(t0, t0 + cT), ...range(jc + nc, jc + nc + nk), ...range(t0 + cT, t0 + cT + kT), ...range(jc + nc + nk, t0), ...range(t0 + cT + kT, t0 + cT + kT + xT)],
    [...range(0, nk), ...range(nk + ny, nk + ny + kT), ...range(nk, nk + ny), ...range(nk + ny + kT, nk + ny + kT + yT)],
  );
  const tan = (off: number, mask: readonly boolean[]) => indicesWhere(mask).map((i) => instantiate(tangents[off + i]));
  const outs = bind(
    'scan',
    [...j.consts, ...primals.slice(0, nc), ...tan(0, constNz), ...primals.slice(nc, nc + nk), ...tan(nc, carryNz), ...primals.slice(nc + nk), ...tan(nc + nk, xsNz)],
    { ...p, jaxpr: body, numConsts: jc + nc + cT, numCarry: nk + kT },
  );
  const primalOuts = [...outs.slice(0, nk), ...outs.slice(nk + kT, nk + kT + ny)];
  let kc = nk, ky = nk + kT + ny;
  const tangentOuts = [...carryNz.map((z, i) => (z ? outs[kc++] : new Zero(primalOuts[i].aval))), ...ysNz.map((z, i) => (z ? outs[ky++] : new Zero(primalOuts[nk + i].aval)))];
  return [primalOuts, tangentOuts];
}

function scanBatch(args: readonly Value[], dims: readonly (number | null)[], p: ScanParams, size: number): [Value[], (number | null)[]] {
  const { jaxpr, numConsts: nc, numCarry: nk } = p;
  const ny = jaxpr.outvars.length - nk;
  const bat = dims.map((d) => d !== null);
  const constB = bat.slice(0, nc), xsB = bat.slice(nc + nk);
  let carryB = bat.slice(nc, nc + nk);
  let b: BatchJaxpr;
  for (;;) {
    b = batchJaxpr(jaxpr, [...constB, ...carryB, ...xsB], size, [...carryB, ...Array<boolean>(ny).fill(false)]);
    const out = b.outBatched.slice(0, nk);
    if (subsetOf(out, carryB)) break;
    carryB = orMasks(carryB, out);
  }
  const inB = [...constB, ...carryB, ...xsB];
  // Batch dims: consts and carries at 0; xs at 1 (axis 0 is the scanned one).
  const moved = args.map((a, i) => (inB[i] ? moveBatchDim(a, dims[i], i < nc + nk ? 0 : 1, size) : a));
  const outs = bind('scan', [...b.consts, ...moved], { ...p, jaxpr: b.jaxpr, numConsts: b.consts.length + nc });
  return [outs, b.outBatched.map((x, i) => (x ? (i < nk ? 0 : 1) : null))];
}

/**
 * jax `_scan_partial_eval`: carries are unknown by a fixed point; the known scan runs the
 * known part of the body and emits the residuals the unknown part needs, stacked per
 * iteration as extra ys. Residuals that are known consts or known xs are passed directly.
 */
function scanPartialEval(eqn: Eqn<'scan'>, unknown: readonly boolean[]) {
  const p = eqn.params;
  const { jaxpr, numConsts: nc, numCarry: nk, length } = p;
  const ny = jaxpr.outvars.length - nk;
  const constUk = unknown.slice(0, nc), xsUk = unknown.slice(nc + nk);
  let carryUk = unknown.slice(nc, nc + nk);
  for (;;) {
    const out = partialEvalJaxpr(jaxpr, [...constUk, ...carryUk, ...xsUk]).outUnknown.slice(0, nk);
    if (subsetOf(out, carryUk)) break;
    carryUk = orMasks(carryUk, out);
  }
  const inUk = [...constUk, ...carryUk, ...xsUk];
  const pe = partialEvalInst(jaxpr, inUk, [...carryUk, ...Array<boolean>(ny).fill(false)]);
  const ysUk = pe.outUnknown.slice(nk);
  const res = residualsOf(pe);
  const constRes: { inner: Var; outer: Atom }[] = [], xsRes: { inner: Var; outer: Atom }[] = [];
  const stackedRes: { known: Atom; inner: Var; outer: Var }[] = [];
  res.known.forEach((a, r) => {
    const i = a instanceof Var ? jaxpr.invars.indexOf(a) : -1;
    if (i >= 0 && i < nc) constRes.push({ inner: res.unknown[r], outer: eqn.inputs[i] });
    else if (i >= nc + nk) xsRes.push({ inner: res.unknown[r], outer: eqn.inputs[i] });
    else stackedRes.push({ known: a, inner: res.unknown[r], outer: new Var(stacked(a.aval, length)) });
  });
  const nKnownOuts = pe.known.outvars.length - pe.numResiduals;
  const knownBody = new Jaxpr([], pe.known.invars, pe.known.eqns, [...pe.known.outvars.slice(0, nKnownOuts), ...stackedRes.map((s) => s.known)]);
  const uIns = pe.unknown.invars.slice(pe.numResiduals);
  const uc = count(constUk), uk = count(carryUk);
  const unknownBody = new Jaxpr(
    [],
    [...constRes.map((c) => c.inner), ...uIns.slice(0, uc), ...uIns.slice(uc, uc + uk), ...uIns.slice(uc + uk), ...stackedRes.map((s) => s.inner), ...xsRes.map((x) => x.inner)],
    pe.unknown.eqns,
    pe.unknown.outvars,
  );
  const carryOuts = eqn.outvars.slice(0, nk), yOuts = eqn.outvars.slice(nk);
  const ins = (mask: readonly boolean[], off: number) => eqn.inputs.slice(off, off + mask.length).filter((_, i) => mask[i]);
  return {
    known: {
      prim: 'scan',
      inputs: eqn.inputs.filter((_, i) => !inUk[i]),
      outvars: [...carryOuts.filter((_, i) => !carryUk[i]), ...yOuts.filter((_, i) => !ysUk[i]), ...stackedRes.map((s) => s.outer)],
      params: { ...p, jaxpr: knownBody, numConsts: nc - uc, numCarry: nk - uk },
    } as Eqn,
    unknown: {
      prim: 'scan',
      inputs: [...constRes.map((c) => c.outer), ...ins(constUk, 0), ...ins(carryUk, nc), ...ins(xsUk, nc + nk), ...stackedRes.map((s) => s.outer), ...xsRes.map((x) => x.outer)],
      outvars: [...carryOuts.filter((_, i) => carryUk[i]), ...yOuts.filter((_, i) => ysUk[i])],
      params: { ...p, jaxpr: unknownBody, numConsts: constRes.length + uc, numCarry: uk },
    } as Eqn,
    outUnknown: [...carryUk, ...ysUk],
    numResiduals: stackedRes.length + constRes.length + xsRes.length,
  };
}

/**
 * Transpose of a scan linear in its carries and in the consts/xs marked undefined (jax
 * `_scan_transpose`): a scan in the opposite direction over the transposed body, carrying
 * the cotangents of the linear consts (accumulated) and of the carry, emitting the
 * cotangents of the linear xs as ys. Non-linear consts and xs (residuals) are passed along.
 */
function scanTranspose(cts: readonly Tangent[], args: readonly (Value | UndefinedPrimal)[], p: ScanParams): (Tangent | null)[] {
  const { jaxpr, numConsts: nc, numCarry: nk, length, reverse } = p;
  const ins = jaxpr.inAvals, outAvals = jaxpr.outAvals;
  const isLin = args.map((a) => a instanceof UndefinedPrimal);
  const linConsts = indicesWhere(isLin.slice(0, nc));
  const resConsts = indicesWhere(isLin.slice(0, nc), false);
  const linXs = indicesWhere(isLin.slice(nc + nk)).map((i) => nc + nk + i);
  const resXs = indicesWhere(isLin.slice(nc + nk), false).map((i) => nc + nk + i);
  const ctCarry = cts.slice(0, nk).map(instantiate);
  const ysNz = cts.slice(nk).map((c) => !isZero(c));
  const ctYs = cts.slice(nk).filter((c): c is Value => !isZero(c));
  const nl = linConsts.length, nr = resConsts.length;
  const t = stageOpen(
    (...xs) => {
      const ires = xs.slice(0, nr), ctC = xs.slice(nr, nr + nl), ctK = xs.slice(nr + nl, nr + nl + nk);
      const ctY = xs.slice(nr + nl + nk, nr + nl + nk + ctYs.length), eres = xs.slice(nr + nl + nk + ctYs.length);
      let ri = 0, ei = 0, yi = 0;
      const full = ins.map((a, i) => {
        if (i < nc) return isLin[i] ? new UndefinedPrimal(a) : ires[ri++];
        if (i < nc + nk) return new UndefinedPrimal(a);
        return isLin[i] ? new UndefinedPrimal(a) : eres[ei++];
      });
      const outCts = [...ctK, ...ysNz.map((z, j) => (z ? ctY[yi++] : new Zero(outAvals[nk + j])))];
      const inCts = backwardPass(jaxpr, [], full, outCts);
      return [
        ...linConsts.map((i, k) => instantiate(addTangents(ctC[k], inCts[i]))),
        ...range(nc, nc + nk).map((i) => instantiate(inCts[i])),
        ...linXs.map((i) => instantiate(inCts[i])),
      ];
    },
    [
      ...resConsts.map((i) => ins[i]),
      ...linConsts.map((i) => ins[i].strengthen()),
      ...ctCarry.map((c) => c.aval),
      ...ctYs.map((c) => new ShapedArray(c.shape.slice(1), c.dtype, c.weakType)),
      ...resXs.map((i) => ins[i]),
    ],
  );
  const outs = bind(
    'scan',
    [...t.consts, ...resConsts.map((i) => args[i] as Value), ...linConsts.map((i) => zerosOf(ins[i])), ...ctCarry, ...ctYs, ...resXs.map((i) => args[i] as Value)],
    { jaxpr: t.jaxpr, numConsts: t.consts.length + nr, numCarry: nl + nk, length, reverse: !reverse },
  );
  const result: (Tangent | null)[] = args.map(() => null);
  linConsts.forEach((i, k) => (result[i] = outs[k]));
  range(0, nk).forEach((j) => isLin[nc + j] && (result[nc + j] = outs[nl + j]));
  linXs.forEach((i, k) => (result[i] = outs[nl + nk + k]));
  return result;
}

// ------------------------------------------------------------------ while

function whileJvp(primals: readonly Value[], tangents: readonly Tangent[], p: WhileParams): [Value[], Tangent[]] {
  const { condJaxpr, bodyJaxpr, condNconsts: cn, bodyNconsts: bn } = p;
  const nz = tangents.map((t) => !isZero(t));
  const bconstNz = nz.slice(cn, cn + bn);
  let carryNz = nz.slice(cn + bn);
  const nk = carryNz.length;
  let j: JvpJaxpr;
  for (;;) {
    j = jvpJaxpr(bodyJaxpr, [...bconstNz, ...carryNz], carryNz);
    if (subsetOf(j.outNz, carryNz)) break;
    carryNz = orMasks(carryNz, j.outNz);
  }
  const jc = j.consts.length, bT = count(bconstNz), kT = count(carryNz);
  const t0 = jc + bn + nk;
  const body = permuteJaxpr(j.jaxpr, [...range(0, jc + bn), ...range(t0, t0 + bT), ...range(jc + bn, t0), ...range(t0 + bT, t0 + bT + kT)]);
  const carryTanAvals = indicesWhere(carryNz).map((i) => bodyJaxpr.invars[bn + i].aval);
  const cond = withUnusedInputs(condJaxpr, condJaxpr.invars.length, carryTanAvals);
  const tan = (off: number, mask: readonly boolean[]) => indicesWhere(mask).map((i) => instantiate(tangents[off + i]));
  const outs = bind(
    'while',
    [...primals.slice(0, cn), ...j.consts, ...primals.slice(cn, cn + bn), ...tan(cn, bconstNz), ...primals.slice(cn + bn), ...tan(cn + bn, carryNz)],
    { condJaxpr: cond, bodyJaxpr: body, condNconsts: cn, bodyNconsts: jc + bn + bT },
  );
  let k = nk;
  return [outs.slice(0, nk), carryNz.map((z, i) => (z ? outs[k++] : new Zero(outs[i].aval)))];
}

function whileBatch(args: readonly Value[], dims: readonly (number | null)[], p: WhileParams, size: number): [Value[], (number | null)[]] {
  const { condJaxpr, bodyJaxpr, condNconsts: cn, bodyNconsts: bn } = p;
  const bat = dims.map((d) => d !== null);
  const cconstB = bat.slice(0, cn), bconstB = bat.slice(cn, cn + bn);
  let carryB = bat.slice(cn + bn);
  for (;;) {
    const out = batchJaxpr(bodyJaxpr, [...bconstB, ...carryB], size, carryB).outBatched;
    if (subsetOf(out, carryB)) break;
    carryB = orMasks(carryB, out);
  }
  const predBatched = batchJaxpr(condJaxpr, [...cconstB, ...carryB], size, [false]).outBatched[0];
  // A batched predicate: every carry is batched, and finished examples keep their values.
  if (predBatched) carryB = carryB.map(() => true);
  const inB = [...cconstB, ...bconstB, ...carryB];
  const moved = args.map((a, i) => (inB[i] ? moveBatchDim(a, dims[i], 0, size) : a));
  const cconsts = moved.slice(0, cn), bconsts = moved.slice(cn, cn + bn), init = moved.slice(cn + bn);
  if (!predBatched) {
    const body = batchJaxpr(bodyJaxpr, [...bconstB, ...carryB], size, carryB);
    const cond = batchJaxpr(condJaxpr, [...cconstB, ...carryB], size, [false]);
    const outs = bind('while', [...cond.consts, ...cconsts, ...body.consts, ...bconsts, ...init], {
      condJaxpr: cond.jaxpr, bodyJaxpr: body.jaxpr, condNconsts: cond.consts.length + cn, bodyNconsts: body.consts.length + bn,
    });
    return [outs, carryB.map((b) => (b ? 0 : null))];
  }
  const cDims = cconstB.map((b) => (b ? 0 : null)), bDims = bconstB.map((b) => (b ? 0 : null)), kDims = carryB.map(() => 0);
  const preds = (cc: Value[], carry: Value[]) => vmapFlat(evalOpen(condJaxpr), [...cc, ...carry], [...cDims, ...kDims], [0], size)[0];
  const cAvals = cconsts.map((c) => c.aval), bAvals = bconsts.map((c) => c.aval), kAvals = init.map((c) => c.aval);
  const cond = stageOpen((...xs) => {
    const pr = lax.convertElementType(preds(xs.slice(0, cn), xs.slice(cn)), 'int32');
    return [lax.gt(lax.reduceMax(pr, [0]), 0)];
  }, [...cAvals, ...kAvals]);
  const body = stageOpen((...xs) => {
    const carry = xs.slice(cn + bn);
    const pr = preds(xs.slice(0, cn), carry);
    const next = vmapFlat(evalOpen(bodyJaxpr), [...xs.slice(cn, cn + bn), ...carry], [...bDims, ...kDims], kDims, size);
    return next.map((v, i) => lax.select(lax.broadcastInDim(pr, v.shape, [0]), v, carry[i]));
  }, [...cAvals, ...bAvals, ...kAvals]);
  const outs = bind('while', [...cond.consts, ...cconsts, ...body.consts, ...cconsts, ...bconsts, ...init], {
    condJaxpr: cond.jaxpr, bodyJaxpr: body.jaxpr, condNconsts: cond.consts.length + cn, bodyNconsts: body.consts.length + cn + bn,
  });
  return [outs, outs.map(() => 0)];
}

/**
 * jax `_while_partial_eval`: when the predicate depends only on known values, a while over
 * the known carries computes the known outputs; the unknown outputs come from the whole
 * loop, rerun with the known inputs as residuals (its known outputs are discarded).
 */
function whilePartialEval(eqn: Eqn<'while'>, unknown: readonly boolean[]) {
  const p = eqn.params;
  const { condJaxpr, bodyJaxpr, condNconsts: cn, bodyNconsts: bn } = p;
  const cconstUk = unknown.slice(0, cn), bconstUk = unknown.slice(cn, cn + bn);
  let carryUk = unknown.slice(cn + bn);
  for (;;) {
    const out = partialEvalJaxpr(bodyJaxpr, [...bconstUk, ...carryUk]).outUnknown;
    if (subsetOf(out, carryUk)) break;
    carryUk = orMasks(carryUk, out);
  }
  const condPe = partialEvalJaxpr(condJaxpr, [...cconstUk, ...carryUk]);
  if (condPe.outUnknown[0] || carryUk.every(Boolean)) return null;
  const bodyPe = partialEvalJaxpr(bodyJaxpr, [...bconstUk, ...carryUk]);
  // The known body's outputs: those of the known carries (a carry may be unknown yet computed from known values).
  const knownOuts = bodyPe.known.outvars.slice(0, bodyPe.known.outvars.length - bodyPe.numResiduals);
  const keep = indicesWhere(bodyPe.outUnknown, false).map((i) => !carryUk[i]);
  const known = new Jaxpr([], bodyPe.known.invars, bodyPe.known.eqns, knownOuts.filter((_, k) => keep[k]));
  const cond = new Jaxpr([], condPe.known.invars, condPe.known.eqns, condPe.known.outvars.slice(0, 1));
  const knownIn = [...cconstUk, ...bconstUk, ...carryUk].map((u) => !u);
  return {
    known: {
      prim: 'while',
      inputs: eqn.inputs.filter((_, i) => knownIn[i]),
      outvars: eqn.outvars.filter((_, i) => !carryUk[i]),
      params: { condJaxpr: cond, bodyJaxpr: known, condNconsts: count(cconstUk.map((u) => !u)), bodyNconsts: count(bconstUk.map((u) => !u)) },
    } as Eqn,
    unknown: { ...eqn, outvars: eqn.outvars.map((v, i) => (carryUk[i] ? v : new Var(v.aval))) } as Eqn,
    outUnknown: carryUk,
    numResiduals: 0,
  };
}

// ------------------------------------------------------------------ rules

export const controlRules: RuleTable<'cond' | 'scan' | 'while'> = {
  cond: {
    kind: 'interpret',
    abstractEval: ([index, ...ops], { branches }) => {
      if (index.ndim !== 0 || index.dtype !== 'int32') throw new DTypeError(`cond: the branch index must be an int32 scalar, got ${index.str()}`);
      if (branches.length === 0) throw new ValueError('cond: needs at least one branch');
      branches.forEach((b, k) => checkIns(`cond: branch ${k}`, b.inAvals, ops));
      const out = branches[0].outAvals;
      branches.forEach((b, k) => {
        if (!sameTypes(b.outAvals, out)) throw new ShapeError(`cond: branch ${k} returns ${fmt(b.outAvals)} but branch 0 returns ${fmt(out)}`);
      });
      return out.map((a, i) => new ShapedArray(a.shape, a.dtype, branches.every((b) => b.outAvals[i].weakType)));
    },
    impl: ([index, ...ops], { branches }) => {
      if (index instanceof NDArray && !index.backend.hostMemory && branches.length > 1) {
        // The index cannot be read synchronously (WebGPU): run every branch and select, as vmap(cond) does.
        const idx = lax.clamp(0, index, branches.length - 1);
        const per = branches.map((b) => evalJaxpr(b, [], ops));
        return per[0].map((o, j) => lax.selectN(lax.broadcastInDim(idx, o.shape, []), ...per.map((p) => p[j])));
      }
      const i = Math.min(Math.max(Number(index.item()), 0), branches.length - 1);
      return evalJaxpr(branches[i], [], ops);
    },
    jvp: condJvp,
    batch: condBatch,
    transpose: condTranspose,
    partialEval: condPartialEval,
  },

  scan: {
    kind: 'interpret',
    abstractEval: (avals, { jaxpr, numConsts: nc, numCarry: nk, length }) => {
      const ins = jaxpr.inAvals, outs = jaxpr.outAvals;
      if (!Number.isInteger(length) || length < 0) throw new ValueError(`scan: length must be a non-negative integer, got ${length}`);
      if (avals.length !== ins.length || nc + nk > ins.length || outs.length < nk)
        throw new ShapeError(`scan: ${avals.length} operands (${nc} consts, ${nk} carries) for a body taking ${ins.length} and returning ${outs.length}`);
      checkIns('scan: the body (consts, carry)', ins.slice(0, nc + nk), avals.slice(0, nc + nk));
      avals.slice(nc + nk).forEach((a, j) => {
        const s = ins[nc + nk + j];
        if (!sameType(a, stacked(s, length))) throw new ShapeError(`scan: xs operand ${j} is ${a.str()} but the body takes slices ${s.str()} of ${length} of them`);
      });
      outs.slice(0, nk).forEach((o, i) => {
        if (!sameType(o, ins[nc + i])) throw new ShapeError(`scan: the body's carry output ${i} is ${o.str()} but its carry input is ${ins[nc + i].str()}; the carry must keep its shape and dtype`);
      });
      return [...outs.slice(0, nk), ...outs.slice(nk).map((a) => stacked(a, length))];
    },
    impl: (args, { jaxpr, numConsts: nc, numCarry: nk, length, reverse }) => {
      const consts = args.slice(0, nc), xs = args.slice(nc + nk);
      let carry = args.slice(nc, nc + nk);
      const ys: Value[][] = jaxpr.outvars.slice(nk).map(() => new Array<Value>(length));
      for (let k = 0; k < length; k++) {
        const i = reverse ? length - 1 - k : k;
        // Each iteration's temporaries are released as soon as it ends.
        const outs = scope(() => evalJaxpr(jaxpr, [], [...consts, ...carry, ...xs.map((x) => indexAt(x, i))]), (r) => r);
        carry = outs.slice(0, nk);
        outs.slice(nk).forEach((y, j) => (ys[j][i] = y));
      }
      return [...carry, ...ys.map((parts, j) => stackAll(parts, jaxpr.outvars[nk + j].aval))];
    },
    jvp: scanJvp,
    batch: scanBatch,
    transpose: scanTranspose,
    partialEval: scanPartialEval,
  },

  while: {
    kind: 'interpret',
    abstractEval: (avals, { condJaxpr, bodyJaxpr, condNconsts: cn, bodyNconsts: bn }) => {
      const init = avals.slice(cn + bn);
      checkIns('while: the cond function', condJaxpr.inAvals, [...avals.slice(0, cn), ...init]);
      checkIns('while: the body function', bodyJaxpr.inAvals, [...avals.slice(cn, cn + bn), ...init]);
      const c = condJaxpr.outAvals;
      if (c.length !== 1 || c[0].dtype !== 'bool' || c[0].ndim !== 0) throw new DTypeError(`while: the cond function must return one bool scalar, got ${fmt(c)}`);
      const outs = bodyJaxpr.outAvals;
      if (!sameTypes(outs, init)) throw new ShapeError(`while: the body function returns ${fmt(outs)} but the carry is ${fmt(init)}; the carry must keep its shapes and dtypes`);
      return outs;
    },
    impl: (args, { condJaxpr, bodyJaxpr, condNconsts: cn, bodyNconsts: bn }) => {
      const cc = args.slice(0, cn), bc = args.slice(cn, cn + bn);
      let carry = args.slice(cn + bn);
      const onDevice = carry.find((c) => c instanceof NDArray && !c.backend.hostMemory) as NDArray | undefined;
      if (onDevice)
        throw new DeviceError(
          `lax.whileLoop: the loop state lives on the ${onDevice.backend.name} backend, whose arrays cannot be read synchronously, and a while loop reads its predicate after every iteration; ` +
            'use lax.foriLoop with JS-number bounds or lax.scan (a fixed number of iterations), or run the loop on the CPU (devicePut to cpu)',
        );
      while (scope(() => evalJaxpr(condJaxpr, [], [...cc, ...carry])[0].item(), () => [])) carry = scope(() => evalJaxpr(bodyJaxpr, [], [...bc, ...carry]), (r) => r);
      return carry;
    },
    jvp: whileJvp,
    batch: whileBatch,
    transpose: () => {
      throw new ValueError(
        'Reverse-mode differentiation (grad/vjp) does not work through lax.whileLoop: its number of iterations is only known at run time. ' +
          'Use lax.scan, or lax.foriLoop with static (JS number) bounds, which lowers to scan; forward mode (jvp) does work.',
      );
    },
    partialEval: whilePartialEval,
  },
};
