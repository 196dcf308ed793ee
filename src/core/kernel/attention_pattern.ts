/**
 * Attention as a lowering-time pattern, not a primitive (XLA fuses multi-head attention the
 * same way): on a backend that offers the fused `attention` routine (`Backend.acceptsFused`),
 * the chain
 *
 *   s = dot_general(q, kᵀ)            q (B…, lq, d); k (B…, lk, d), read through a transpose
 *                                      of its last two axes or contracted on its last axis
 *   s = s · c  |  s / c               optional; c a broadcast float32 literal
 *   s = s + mask                      optional; mask (B…, lq, lk), either operand order
 *   p = softmax(s) over the last axis  exactly as `nn.softmax` stages it (max, with the
 *                                      is_finite / select_n / stop_gradient guard; sub; exp;
 *                                      sum, with the sum = 0 → 1 guard; div) or the unguarded
 *                                      form (max, sub, exp, sum, div)
 *   out = dot_general(p, v)           v (B…, lk, dv)
 *
 * whose intermediates are used nowhere else (and are not outputs) becomes one fused step. The
 * match is strict: every equation, parameter (axes, shapes, broadcast dimensions, dimension
 * numbers) and constant must be as listed; anything else keeps the unfused kernels. Literal
 * broadcasts and the transpose of k that the chain shares with other code stay in place.
 *
 * The softmax in the middle is `chain_match.ts`'s softmax tail; folding matches into fused
 * steps is `fused_patterns.ts`'s.
 */
import type { AttentionParams } from '../backends/backend.js';
import { Var, type Atom, type Eqn, type Jaxpr } from '../ir/jaxpr.js';
import { Chain, JaxprIndex, matchSoftmaxTail, range, same } from './chain_match.js';

export interface AttentionMatch {
  /** Index of the final dot_general (where the fused step goes). */
  readonly at: number;
  /** Indices of the equations the fused step replaces (the final one included). */
  readonly eqns: ReadonlySet<number>;
  readonly q: Var;
  readonly k: Var;
  readonly v: Var;
  readonly mask: Var | null;
  readonly params: AttentionParams;
}

/** Every attention chain in the jaxpr (see the file comment), in equation order. */
export function matchAttention(jaxpr: Jaxpr): AttentionMatch[] {
  const ix = new JaxprIndex(jaxpr);
  const claimed = new Set<number>();
  const matches: AttentionMatch[] = [];
  jaxpr.eqns.forEach((_, at) => {
    const m = matchAttentionAt(ix, at);
    if (!m || [...m.eqns].some((i) => claimed.has(i))) return;
    for (const i of m.eqns) claimed.add(i);
    matches.push(m);
  });
  return matches;
}

function matchAttentionAt(ix: JaxprIndex, at: number): AttentionMatch | null {
  const chain = new Chain(ix, at);
  // out = dot_general(p, v)
  const pv = ix.jaxpr.eqns[at];
  if (pv.prim !== 'dot_general' || pv.outvars[0].aval.dtype !== 'float32') return null;
  const [p, v] = pv.inputs;
  const r = p.aval.ndim, nb = r - 2;
  if (r < 2 || !(v instanceof Var) || v.aval.ndim !== r) return null;
  const dnPv = (pv as Eqn<'dot_general'>).params.dimensionNumbers;
  if (!same(dnPv.contracting[0], [r - 1]) || !same(dnPv.contracting[1], [r - 2]) || !same(dnPv.batch[0], range(nb)) || !same(dnPv.batch[1], range(nb))) return null;
  const full = p.aval.shape;

  // p = softmax(s) over the last axis
  const sm = matchSoftmaxTail(chain, p);
  if (!sm) return null;

  // s = [dot · c | dot / c] [+ mask], either operand order for + and ·.
  let mask: Var | null = null;
  let logits: Atom = sm.s;
  const scaled = (a: Atom): { dot: Atom; scale: AttentionParams['scale'] } | null => {
    const mulE = chain.def(a, 'mul');
    if (mulE) {
      for (const [x, c] of [[0, 1], [1, 0]]) {
        const value = chain.literalBroadcast(mulE.inputs[c], full);
        if (value !== null) return { dot: mulE.inputs[x], scale: { op: 'mul', value } };
      }
      return null;
    }
    const divE = chain.def(a, 'div');
    if (divE) {
      const value = chain.literalBroadcast(divE.inputs[1], full);
      return value === null ? null : { dot: divE.inputs[0], scale: { op: 'div', value } };
    }
    return { dot: a, scale: null };
  };
  /** Whether `o` is a (scaled) q·kᵀ. */
  const isChain = (o: Atom) =>
    chain.probe(() => {
      const sc = scaled(o);
      return sc !== null && ix.producedBy(sc.dot, 'dot_general');
    });
  const addE = chain.def(logits, 'add');
  if (addE) {
    const order = [0, 1].find((x) => isChain(addE.inputs[x]));
    const m = order === undefined ? undefined : addE.inputs[1 - order];
    if (order === undefined || !(m instanceof Var) || !same(m.aval.shape, full) || m.aval.dtype !== 'float32') return null;
    mask = m;
    logits = addE.inputs[order];
  }
  const sc = scaled(logits);
  if (!sc) return null;

  // dot = dot_general(q, transpose(k)) or dot_general(q, k) contracting k's last axis.
  const qk = chain.def(sc.dot, 'dot_general');
  if (!qk) return null;
  const [q, kt] = qk.inputs;
  const dn = qk.params.dimensionNumbers;
  if (!(q instanceof Var) || q.aval.ndim !== r || !same(dn.contracting[0], [r - 1]) || !same(dn.batch[0], range(nb)) || !same(dn.batch[1], range(nb))) return null;
  let k: Atom | undefined;
  if (same(dn.contracting[1], [r - 1])) k = kt;
  else if (same(dn.contracting[1], [r - 2])) {
    const tr = chain.def(kt, 'transpose');
    if (!tr || !same(tr.params.permutation, [...range(nb), nb + 1, nb])) return null;
    k = tr.inputs[0];
  }
  if (!(k instanceof Var) || k.aval.ndim !== r) return null;
  const [lq, d] = q.aval.shape.slice(nb), [lk, dv] = v.aval.shape.slice(nb);
  if (!same(k.aval.shape, [...q.aval.shape.slice(0, nb), lk, d]) || [q, k, v].some((x) => x.aval.dtype !== 'float32')) return null;

  // Every intermediate is used only inside the chain (literal broadcasts and kᵀ shared elsewhere stay).
  if (!chain.closed((e) => e.prim === 'transpose' && e.inputs[0] === k)) return null;
  if (![q, k, v, mask].every((x) => x === null || chain.outside(x))) return null;
  const batch = q.aval.shape.slice(0, nb).reduce((a, b) => a * b, 1);
  return { at, eqns: chain.used, q, k, v, mask, params: { batch, lq, lk, d, dv, scale: sc.scale, mask: mask !== null, guarded: sm.guarded } };
}
