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
 * `foldAttention` is the hook `lower.ts` calls: it returns the jaxpr's equations with each
 * accepted match removed but for its final dot_general, whose inputs become (q, k, v[, mask])
 * and which is marked with the fused routine to run (`CallStep.fused`); the program executor
 * then calls `runFused` (`run_fused.ts`).
 */
import type { AttentionParams, FusedName, FusedParams } from '../backends/backend.js';
import { Literal, Var, type Atom, type Eqn, type Jaxpr } from '../ir/jaxpr.js';
import type { Prim } from '../trace/primitive.js';

/** A fused routine a step runs in place of its equation. */
export interface FusedCall {
  readonly name: FusedName;
  readonly params: FusedParams[FusedName];
}

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

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Every attention chain in the jaxpr (see the file comment), in equation order. */
export function matchAttention(jaxpr: Jaxpr): AttentionMatch[] {
  const eqns = jaxpr.eqns;
  const producer = new Map<Var, number>();
  const consumers = new Map<Var, number[]>();
  eqns.forEach((e, i) => {
    for (const v of e.outvars) producer.set(v, i);
    for (const a of e.inputs) if (a instanceof Var) consumers.set(a, [...(consumers.get(a) ?? []), i]);
  });
  const outputs = new Set(jaxpr.outvars.filter((a): a is Var => a instanceof Var));
  const claimed = new Set<number>();
  const matches: AttentionMatch[] = [];
  eqns.forEach((e, at) => {
    const m = matchAt(at);
    if (!m || [...m.eqns].some((i) => claimed.has(i))) return;
    for (const i of m.eqns) claimed.add(i);
    matches.push(m);
  });
  return matches;

  function matchAt(at: number): AttentionMatch | null {
    const used = new Set<number>([at]);
    /** The equation producing `a` if it is `prim`, recorded as part of the chain. */
    const def = <P extends Prim>(a: Atom | undefined, prim: P): Eqn<P> | null => {
      if (!(a instanceof Var)) return null;
      const i = producer.get(a);
      if (i === undefined || eqns[i].prim !== prim) return null;
      used.add(i);
      return eqns[i] as Eqn<P>;
    };
    /** `a` is a broadcast of a float literal equal to `value` (any value when undefined) to `shape`; returns the literal. */
    const literalBroadcast = (a: Atom | undefined, shape: readonly number[], value?: number): number | null => {
      const b = def(a, 'broadcast_in_dim');
      const x = b?.inputs[0];
      if (!b || !(x instanceof Literal) || x.aval.ndim !== 0 || typeof x.value !== 'number' || b.params.broadcastDimensions.length !== 0) return null;
      if (!same(b.outvars[0].aval.shape, shape) || b.outvars[0].aval.dtype !== 'float32') return null;
      return value === undefined || x.value === value ? x.value : null;
    };
    /** reshape of a reduction over the last axis of `of` to (…, 1). */
    const rowReduce = (a: Atom | undefined, prim: 'reduce_max' | 'reduce_sum', of: Atom): boolean => {
      const rs = def(a, 'reshape');
      const red = def(rs?.inputs[0], prim);
      if (!rs || !red || red.inputs[0] !== of) return false;
      const shape = of.aval.shape;
      return same(red.params.axes, [shape.length - 1]) && same(rs.params.newSizes, [...shape.slice(0, -1), 1]);
    };

    // out = dot_general(p, v)
    const pv = eqns[at];
    if (pv.prim !== 'dot_general' || pv.outvars[0].aval.dtype !== 'float32') return null;
    const [p, v] = pv.inputs;
    const r = p.aval.ndim, nb = r - 2;
    if (r < 2 || !(v instanceof Var) || v.aval.ndim !== r) return null;
    const dnPv = (pv as Eqn<'dot_general'>).params.dimensionNumbers;
    if (!same(dnPv.contracting[0], [r - 1]) || !same(dnPv.contracting[1], [r - 2]) || !same(dnPv.batch[0], range(nb)) || !same(dnPv.batch[1], range(nb))) return null;
    const full = p.aval.shape;
    const rowShape = [...full.slice(0, -1), 1];

    // p = e / broadcast(sum'), e = exp(s − broadcast(max'))
    const div = def(p, 'div');
    const ex = def(div?.inputs[0], 'exp');
    const sub = def(ex?.inputs[0], 'sub');
    if (!div || !ex || !sub) return null;
    const s = sub.inputs[0];
    /** The (…, 1) row value broadcast to the scores' shape (with lk = 1 the optimiser drops that broadcast). */
    const row = (a: Atom): Atom | null => {
      if (full[r - 1] === 1 && !(a instanceof Var && eqns[producer.get(a) ?? -1]?.prim === 'broadcast_in_dim')) return a;
      const b = def(a, 'broadcast_in_dim');
      return b && same(b.params.shape, full) && same(b.params.broadcastDimensions, range(r)) && same(b.inputs[0].aval.shape, rowShape) ? b.inputs[0] : null;
    };
    const sumRow = row(div.inputs[1]);
    const maxRow = row(sub.inputs[1]);
    if (!sumRow || !maxRow) return null;
    let guarded: boolean;
    if (rowReduce(sumRow, 'reduce_sum', ex.outvars[0]) && rowReduce(maxRow, 'reduce_max', s)) guarded = false;
    else {
      // sum' = select_n(sum == 0, sum, 1); max' = stop_gradient(select_n(is_finite(max), 0, max))
      const selS = def(sumRow, 'select_n');
      const eq = def(selS?.inputs[0], 'eq');
      const sum = selS?.inputs[1];
      if (!selS || !eq || !sum || eq.inputs[0] !== sum || literalBroadcast(eq.inputs[1], rowShape, 0) === null || literalBroadcast(selS.inputs[2], rowShape, 1) === null) return null;
      if (!rowReduce(sum, 'reduce_sum', ex.outvars[0])) return null;
      const sg = def(maxRow, 'stop_gradient');
      const selM = def(sg?.inputs[0], 'select_n');
      const fin = def(selM?.inputs[0], 'is_finite');
      const max = selM?.inputs[2];
      if (!sg || !selM || !fin || !max || fin.inputs[0] !== max || literalBroadcast(selM.inputs[1], rowShape, 0) === null) return null;
      if (!rowReduce(max, 'reduce_max', s)) return null;
      guarded = true;
    }

    // s = [dot · c | dot / c] [+ mask], either operand order for + and ·.
    let mask: Var | null = null;
    let scale: AttentionParams['scale'] = null;
    let logits: Atom = s;
    const scaled = (a: Atom): { dot: Atom; scale: AttentionParams['scale'] } | null => {
      const mulE = def(a, 'mul');
      if (mulE) {
        for (const [x, c] of [[0, 1], [1, 0]]) {
          const value = literalBroadcast(mulE.inputs[c], full);
          if (value !== null) return { dot: mulE.inputs[x], scale: { op: 'mul', value } };
        }
        return null;
      }
      const divE = def(a, 'div');
      if (divE) {
        const value = literalBroadcast(divE.inputs[1], full);
        return value === null ? null : { dot: divE.inputs[0], scale: { op: 'div', value } };
      }
      return { dot: a, scale: null };
    };
    const isQk = (a: Atom) => a instanceof Var && eqns[producer.get(a) ?? -1]?.prim === 'dot_general';
    /** Whether `o` is a (scaled) q·kᵀ, recording nothing. */
    const isChain = (o: Atom) => {
      const before = [...used];
      const sc = scaled(o);
      used.clear();
      for (const i of before) used.add(i);
      return sc !== null && isQk(sc.dot);
    };
    const addE = def(logits, 'add');
    if (addE) {
      const order = [0, 1].find((x) => isChain(addE.inputs[x]));
      const m = order === undefined ? undefined : addE.inputs[1 - order];
      if (order === undefined || !(m instanceof Var) || !same(m.aval.shape, full) || m.aval.dtype !== 'float32') return null;
      mask = m;
      logits = addE.inputs[order];
    }
    const sc = scaled(logits);
    if (!sc) return null;
    scale = sc.scale;

    // dot = dot_general(q, transpose(k)) or dot_general(q, k) contracting k's last axis.
    const qk = def(sc.dot, 'dot_general');
    if (!qk) return null;
    const [q, kt] = qk.inputs;
    const dn = qk.params.dimensionNumbers;
    if (!(q instanceof Var) || q.aval.ndim !== r || !same(dn.contracting[0], [r - 1]) || !same(dn.batch[0], range(nb)) || !same(dn.batch[1], range(nb))) return null;
    let k: Atom | undefined;
    if (same(dn.contracting[1], [r - 1])) k = kt;
    else if (same(dn.contracting[1], [r - 2])) {
      const tr = def(kt, 'transpose');
      if (!tr || !same(tr.params.permutation, [...range(nb), nb + 1, nb])) return null;
      k = tr.inputs[0];
    }
    if (!(k instanceof Var) || k.aval.ndim !== r) return null;
    const [lq, d] = q.aval.shape.slice(nb), [lk, dv] = v.aval.shape.slice(nb);
    if (!same(k.aval.shape, [...q.aval.shape.slice(0, nb), lk, d]) || [q, k, v].some((x) => x.aval.dtype !== 'float32')) return null;

    // Every intermediate is used only inside the chain (literal broadcasts and kᵀ shared elsewhere stay).
    const inside = (x: Var) => (consumers.get(x) ?? []).every((c) => used.has(c)) && !outputs.has(x);
    for (const i of [...used]) {
      if (i === at) continue;
      const e = eqns[i];
      if (e.outvars.every(inside)) continue;
      if ((e.prim === 'broadcast_in_dim' && e.inputs[0] instanceof Literal) || (e.prim === 'transpose' && e.inputs[0] === k)) used.delete(i);
      else return null;
    }
    if ([q, k, v, mask].some((x) => x !== null && used.has(producer.get(x) ?? -1))) return null;
    const batch = q.aval.shape.slice(0, nb).reduce((a, b) => a * b, 1);
    return { at, eqns: used, q, k, v, mask, params: { batch, lq, lk, d, dv, scale, mask: mask !== null, guarded } };
  }
}

/**
 * The lowering hook: the jaxpr's equations with each match `accepts` takes folded into its
 * final dot_general, whose inputs become (q, k, v[, mask]); `fused` names the routine each
 * folded equation runs. Without matches the equations are returned as they are.
 */
export function foldAttention(jaxpr: Jaxpr, accepts: (p: AttentionParams) => boolean): { eqns: readonly Eqn[]; fused: Map<Eqn, FusedCall> } {
  const fused = new Map<Eqn, FusedCall>();
  const matches = matchAttention(jaxpr).filter((m) => accepts(m.params));
  if (!matches.length) return { eqns: jaxpr.eqns, fused };
  const drop = new Set(matches.flatMap((m) => [...m.eqns]));
  const at = new Map(matches.map((m) => [m.at, m]));
  const eqns: Eqn[] = [];
  jaxpr.eqns.forEach((e, i) => {
    const m = at.get(i);
    if (m) {
      const folded: Eqn = { ...e, inputs: [m.q, m.k, m.v, ...(m.mask ? [m.mask] : [])] };
      fused.set(folded, { name: 'attention', params: m.params });
      eqns.push(folded);
    } else if (!drop.has(i)) eqns.push(e);
  });
  return { eqns, fused };
}
