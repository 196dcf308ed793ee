/**
 * The shape of a primitive's rules. Every primitive has an abstract evaluation (shape and
 * dtype checking, run at trace time so errors name the op and shapes) and one way to run:
 *
 * - `expr`: the primitive is a scalar expression of its inputs' elements (elementwise,
 *   movement, reductions, gathers). Eager execution renders one kernel per application;
 *   lowering under `jit` composes these expressions, which is what kernel fusion is.
 *   `view` optionally executes it eagerly without copying (transpose, slice, broadcast…).
 * - `routine`: the primitive calls a hand-written backend routine (matmul, conv, sort…).
 *
 * The transformations' rules sit beside them: `jvp` (forward mode; every primitive),
 * `batch` (vmap; every primitive), `transpose` (reverse mode; linear primitives only) and,
 * for higher-order primitives holding jaxprs, `partialEval`.
 */
import type { ShapedArray } from '../aval.js';
import type { NDArray } from '../array.js';
import type { Expr } from '../kernel/ir.js';
import type { Prim, PrimParams } from '../trace/primitive.js';
import type { Value } from '../trace/value.js';
import type { Eqn } from '../ir/jaxpr.js';

/** A symbolic zero tangent/cotangent: known to be zero without an array behind it. */
export class Zero {
  constructor(readonly aval: ShapedArray) {}
}
export type Tangent = Value | Zero;

/** In a transpose rule: the linear input whose cotangent is being computed (its value is unknown). */
export class UndefinedPrimal {
  constructor(readonly aval: ShapedArray) {}
}

/** The batch dimension of a vmapped value, or null when the value is the same for every example. */
export type BatchDim = number | null;

export interface TransformRules<P extends Prim> {
  /**
   * Forward mode: given primal inputs and their tangents (symbolic `Zero`s included), the
   * primal outputs and their tangents. Runs on the parent trace; tangent outputs must be
   * linear in the tangent inputs, with coefficients computed from the primals.
   */
  jvp(primals: readonly Value[], tangents: readonly Tangent[], params: PrimParams[P]): [Value[], Tangent[]];
  /** vmap: outputs and their batch dims, given inputs with batch dims (at least one non-null). */
  batch(args: readonly Value[], dims: readonly BatchDim[], params: PrimParams[P], axisSize: number): [Value[], BatchDim[]];
  /**
   * Reverse mode, for primitives linear in the inputs marked `UndefinedPrimal`: the
   * cotangents of those inputs (null for the others) from the output cotangents.
   */
  transpose?(cts: readonly Tangent[], args: readonly (Value | UndefinedPrimal)[], params: PrimParams[P]): (Tangent | null)[];
  /**
   * Partial evaluation of a higher-order primitive whose inputs are partly unknown (see
   * `transforms/partial_eval.ts`); the default treats the whole equation as unknown.
   */
  partialEval?(eqn: Eqn<P>, unknown: readonly boolean[]): PartialEvalResult | null;
}

/** How partial evaluation splits one higher-order equation into a known and an unknown part. */
export interface PartialEvalResult {
  /** Runs with the known inputs; outputs the known outputs then the residuals. */
  readonly known: Eqn;
  /** Runs with the residuals then the unknown inputs; outputs the unknown outputs. */
  readonly unknown: Eqn;
  readonly outUnknown: readonly boolean[];
  readonly numResiduals: number;
}

/** A lazily indexed operand: its element at a logical index, as a kernel expression. */
export type IndexFn = (idx: readonly Expr[]) => Expr;

export interface ExprRule<P extends Prim> {
  readonly kind: 'expr';
  expr(params: PrimParams[P], ins: readonly IndexFn[], inAvals: readonly ShapedArray[], out: ShapedArray): IndexFn;
  view?(x: NDArray, params: PrimParams[P], out: ShapedArray): NDArray | null;
}

export interface RoutineRule<P extends Prim> {
  readonly kind: 'routine';
  impl(args: readonly NDArray[], params: PrimParams[P], outs: readonly ShapedArray[]): NDArray[];
}

/** Higher-order primitives (jit, control flow, custom rules) run by interpreting their jaxprs. */
export interface InterpretRule<P extends Prim> {
  readonly kind: 'interpret';
  impl(args: readonly Value[], params: PrimParams[P]): Value[];
}

export type Rules<P extends Prim> = {
  abstractEval(avals: readonly ShapedArray[], params: PrimParams[P]): ShapedArray[];
} & (ExprRule<P> | RoutineRule<P> | InterpretRule<P>) &
  TransformRules<P>;

export type RuleTable<K extends Prim> = { readonly [P in K]: Rules<P> };
