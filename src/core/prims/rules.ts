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
 * The transformations add their rules (jvp, transpose, batching) to this record.
 */
import type { ShapedArray } from '../aval.js';
import type { NDArray } from '../array.js';
import type { Expr } from '../kernel/ir.js';
import type { Prim, PrimParams } from '../trace/primitive.js';

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

export type Rules<P extends Prim> = {
  abstractEval(avals: readonly ShapedArray[], params: PrimParams[P]): ShapedArray[];
} & (ExprRule<P> | RoutineRule<P>);

export type RuleTable<K extends Prim> = { readonly [P in K]: Rules<P> };
