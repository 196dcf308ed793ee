/**
 * Matching chains of equations in a jaxpr, for the lowering-time patterns of fused routines
 * (`attention_pattern.ts`, `softmax_pattern.ts`): an index of producers, consumers and outputs,
 * and a `Chain` that walks back from an equation recording every equation it matches, then
 * checks that the chain's intermediates are used nowhere else.
 *
 * The softmax tail is shared by both patterns: `matchSoftmaxTail` recognises
 *
 *   p = e / broadcast(sum'),  e = exp(s − broadcast(max'))     over the last axis of s
 *
 * exactly as `nn.softmax` stages it (max' = stop_gradient(select_n(is_finite(max), 0, max)),
 * sum' = select_n(sum = 0, sum, 1)) or unguarded (max' = max, sum' = sum), with max and sum
 * reshaped row reductions of s and of e.
 */
import { Literal, Var, type Atom, type Eqn, type Jaxpr } from '../ir/jaxpr.js';
import type { Prim } from '../trace/primitive.js';

export const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
export const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Who produces and who reads each variable of a jaxpr, and which variables are its outputs. */
export class JaxprIndex {
  readonly producer = new Map<Var, number>();
  readonly consumers = new Map<Var, number[]>();
  readonly outputs: ReadonlySet<Var>;
  constructor(readonly jaxpr: Jaxpr) {
    jaxpr.eqns.forEach((e, i) => {
      for (const v of e.outvars) this.producer.set(v, i);
      for (const a of e.inputs) if (a instanceof Var) this.consumers.set(a, [...(this.consumers.get(a) ?? []), i]);
    });
    this.outputs = new Set(jaxpr.outvars.filter((a): a is Var => a instanceof Var));
  }
  /** Whether `a` is the output of an equation of primitive `prim`. */
  producedBy(a: Atom, prim: Prim): boolean {
    return a instanceof Var && this.jaxpr.eqns[this.producer.get(a) ?? -1]?.prim === prim;
  }
}

/** A chain being matched backwards from equation `at`: the equations it has taken so far. */
export class Chain {
  readonly used = new Set<number>();
  constructor(readonly ix: JaxprIndex, readonly at: number) {
    this.used.add(at);
  }

  /** The equation producing `a` if it is `prim`, recorded as part of the chain. */
  def<P extends Prim>(a: Atom | undefined, prim: P): Eqn<P> | null {
    if (!(a instanceof Var)) return null;
    const i = this.ix.producer.get(a);
    if (i === undefined || this.ix.jaxpr.eqns[i].prim !== prim) return null;
    this.used.add(i);
    return this.ix.jaxpr.eqns[i] as Eqn<P>;
  }

  /** `a` is a broadcast of a float literal equal to `value` (any value when undefined) to `shape`; returns the literal. */
  literalBroadcast(a: Atom | undefined, shape: readonly number[], value?: number): number | null {
    const b = this.def(a, 'broadcast_in_dim');
    const x = b?.inputs[0];
    if (!b || !(x instanceof Literal) || x.aval.ndim !== 0 || typeof x.value !== 'number' || b.params.broadcastDimensions.length !== 0) return null;
    if (!same(b.outvars[0].aval.shape, shape) || b.outvars[0].aval.dtype !== 'float32') return null;
    return value === undefined || x.value === value ? x.value : null;
  }

  /** `a` is the reshape of a reduction over the last axis of `of` to (…, 1). */
  rowReduce(a: Atom | undefined, prim: 'reduce_max' | 'reduce_sum', of: Atom): boolean {
    const rs = this.def(a, 'reshape');
    const red = this.def(rs?.inputs[0], prim);
    if (!rs || !red || red.inputs[0] !== of) return false;
    const shape = of.aval.shape;
    return same(red.params.axes, [shape.length - 1]) && same(rs.params.newSizes, [...shape.slice(0, -1), 1]);
  }

  /** Whether `match(a)` holds, recording nothing (a probe of one of several forms). */
  probe(match: () => boolean): boolean {
    const before = [...this.used];
    const ok = match();
    this.used.clear();
    for (const i of before) this.used.add(i);
    return ok;
  }

  /**
   * Whether every intermediate of the chain is used only inside it and is not an output of the
   * jaxpr. Equations `mayStay` accepts (literal broadcasts, a transpose of an operand) are
   * dropped from the chain where something else reads them; any other escape fails the match.
   */
  closed(mayStay: (e: Eqn) => boolean): boolean {
    const { consumers, outputs, jaxpr } = this.ix;
    const inside = (x: Var) => (consumers.get(x) ?? []).every((c) => this.used.has(c)) && !outputs.has(x);
    for (const i of [...this.used]) {
      if (i === this.at) continue;
      const e = jaxpr.eqns[i];
      if (e.outvars.every(inside)) continue;
      if ((e.prim === 'broadcast_in_dim' && e.inputs[0] instanceof Literal) || mayStay(e)) this.used.delete(i);
      else return false;
    }
    return true;
  }

  /** Whether `x` is produced outside the chain (an operand of the fused step cannot be one of its own intermediates). */
  outside(x: Var): boolean {
    return !this.used.has(this.ix.producer.get(x) ?? -1);
  }
}

/**
 * The softmax tail ending in `p` (see the file comment): the logits s and whether nn.softmax's
 * guards are present; the matched equations are recorded in `chain`.
 */
export function matchSoftmaxTail(chain: Chain, p: Atom): { s: Atom; guarded: boolean } | null {
  const full = p.aval.shape;
  const r = full.length;
  if (r < 1 || p.aval.dtype !== 'float32') return null;
  const rowShape = [...full.slice(0, -1), 1];
  const { ix } = chain;

  // p = e / broadcast(sum'), e = exp(s − broadcast(max'))
  const div = chain.def(p, 'div');
  const ex = chain.def(div?.inputs[0], 'exp');
  const sub = chain.def(ex?.inputs[0], 'sub');
  if (!div || !ex || !sub) return null;
  const s = sub.inputs[0];
  if (!same(s.aval.shape, full) || s.aval.dtype !== 'float32') return null;
  /** The (…, 1) row value broadcast to the full shape (with one column the optimiser drops that broadcast). */
  const row = (a: Atom): Atom | null => {
    if (full[r - 1] === 1 && !ix.producedBy(a, 'broadcast_in_dim')) return a;
    const b = chain.def(a, 'broadcast_in_dim');
    return b && same(b.params.shape, full) && same(b.params.broadcastDimensions, range(r)) && same(b.inputs[0].aval.shape, rowShape) ? b.inputs[0] : null;
  };
  const sumRow = row(div.inputs[1]);
  const maxRow = row(sub.inputs[1]);
  if (!sumRow || !maxRow) return null;
  if (chain.rowReduce(sumRow, 'reduce_sum', ex.outvars[0]) && chain.rowReduce(maxRow, 'reduce_max', s)) return { s, guarded: false };
  // sum' = select_n(sum == 0, sum, 1); max' = stop_gradient(select_n(is_finite(max), 0, max))
  const selS = chain.def(sumRow, 'select_n');
  const eq = chain.def(selS?.inputs[0], 'eq');
  const sum = selS?.inputs[1];
  if (!selS || !eq || !sum || eq.inputs[0] !== sum || chain.literalBroadcast(eq.inputs[1], rowShape, 0) === null || chain.literalBroadcast(selS.inputs[2], rowShape, 1) === null) return null;
  if (!chain.rowReduce(sum, 'reduce_sum', ex.outvars[0])) return null;
  const sg = chain.def(maxRow, 'stop_gradient');
  const selM = chain.def(sg?.inputs[0], 'select_n');
  const fin = chain.def(selM?.inputs[0], 'is_finite');
  const max = selM?.inputs[2];
  if (!sg || !selM || !fin || !max || fin.inputs[0] !== max || chain.literalBroadcast(selM.inputs[1], rowShape, 0) === null) return null;
  if (!chain.rowReduce(max, 'reduce_max', s)) return null;
  return { s, guarded: true };
}
