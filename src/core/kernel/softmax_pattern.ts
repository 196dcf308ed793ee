/**
 * Softmax over the last axis as a lowering-time pattern, not a primitive: on a backend that
 * offers the fused `softmax` routine (`Backend.acceptsFused`; the wasm backend), the chain
 * `chain_match.ts` calls the softmax tail — row max (with nn.softmax's is_finite / select_n /
 * stop_gradient guard, or none), sub, exp, row sum (with the sum = 0 → 1 guard, or none), div —
 * of float32 logits s of any rank ≥ 1, whose intermediates are used nowhere else (and are not
 * outputs), becomes one fused step reading s. Under `grad` the forward intermediates feed the
 * backward pass, so a differentiated softmax keeps its kernels.
 */
import type { SoftmaxParams } from '../backends/backend.js';
import { Var, type Jaxpr } from '../ir/jaxpr.js';
import { Chain, JaxprIndex, matchSoftmaxTail } from './chain_match.js';

export interface SoftmaxMatch {
  /** Index of the final div (where the fused step goes). */
  readonly at: number;
  /** Indices of the equations the fused step replaces (the final one included). */
  readonly eqns: ReadonlySet<number>;
  /** The logits. */
  readonly x: Var;
  readonly params: SoftmaxParams;
}

/** Every softmax chain in the jaxpr (see the file comment), in equation order. */
export function matchSoftmax(jaxpr: Jaxpr): SoftmaxMatch[] {
  const ix = new JaxprIndex(jaxpr);
  const matches: SoftmaxMatch[] = [];
  jaxpr.eqns.forEach((e, at) => {
    if (e.prim !== 'div') return;
    const chain = new Chain(ix, at);
    const sm = matchSoftmaxTail(chain, e.outvars[0]);
    if (!sm || !(sm.s instanceof Var) || !chain.closed(() => false) || !chain.outside(sm.s)) return;
    const shape = sm.s.aval.shape;
    const cols = shape[shape.length - 1];
    matches.push({ at, eqns: chain.used, x: sm.s, params: { rows: cols === 0 ? 0 : sm.s.aval.size / cols, cols, guarded: sm.guarded } });
  });
  return matches;
}
