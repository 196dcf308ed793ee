/**
 * Folding the lowering-time patterns of fused routines into a jaxpr's equations
 * (`attention_pattern.ts`, `softmax_pattern.ts`): `foldFused` is the hook `lower.ts` calls.
 * It returns the equations with each match the backend accepts (`Backend.acceptsFused`)
 * removed but for its final equation, whose inputs become the routine's operands and which is
 * marked with the routine to run (`CallStep.fused`); the program executor then calls
 * `runFused` (`run_fused.ts`). Attention is matched first: its softmax is part of it.
 */
import type { FusedName, FusedParams } from '../backends/backend.js';
import type { Eqn, Jaxpr, Var } from '../ir/jaxpr.js';
import { matchAttention } from './attention_pattern.js';
import { matchSoftmax } from './softmax_pattern.js';

/** A fused routine a step runs in place of its equation. */
export interface FusedCall {
  readonly name: FusedName;
  readonly params: FusedParams[FusedName];
}

/** Whether the target backend runs routine `name` with these parameters. */
export type AcceptsFused = <F extends FusedName>(name: F, params: FusedParams[F]) => boolean;

interface Fold {
  readonly at: number;
  readonly eqns: ReadonlySet<number>;
  readonly inputs: readonly Var[];
  readonly call: FusedCall;
}

/** The jaxpr's equations with accepted matches folded (see the file comment); without matches, the equations as they are. */
export function foldFused(jaxpr: Jaxpr, accepts: AcceptsFused): { eqns: readonly Eqn[]; fused: Map<Eqn, FusedCall> } {
  const folds: Fold[] = [];
  const claimed = new Set<number>();
  const take = (f: Fold) => {
    if ([...f.eqns].some((i) => claimed.has(i))) return;
    for (const i of f.eqns) claimed.add(i);
    folds.push(f);
  };
  for (const m of matchAttention(jaxpr))
    if (accepts('attention', m.params)) take({ at: m.at, eqns: m.eqns, inputs: [m.q, m.k, m.v, ...(m.mask ? [m.mask] : [])], call: { name: 'attention', params: m.params } });
  for (const m of matchSoftmax(jaxpr)) if (accepts('softmax', m.params)) take({ at: m.at, eqns: m.eqns, inputs: [m.x], call: { name: 'softmax', params: m.params } });

  const fused = new Map<Eqn, FusedCall>();
  if (!folds.length) return { eqns: jaxpr.eqns, fused };
  const at = new Map(folds.map((f) => [f.at, f]));
  const eqns: Eqn[] = [];
  jaxpr.eqns.forEach((e, i) => {
    const f = at.get(i);
    if (f) {
      const folded: Eqn = { ...e, inputs: [...f.inputs] };
      fused.set(folded, f.call);
      eqns.push(folded);
    } else if (!claimed.has(i)) eqns.push(e);
  });
  return { eqns, fused };
}
