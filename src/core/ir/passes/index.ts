/**
 * Jaxpr optimisation: inlining of nested calls, dead-code elimination, common-subexpression
 * elimination and constant folding, run to a fixed point with a typecheck after every pass
 * (a pass that breaks the IR fails loudly, naming itself).
 */
import { ClosedJaxpr, Jaxpr } from '../jaxpr.js';
import { JaxprTypeError, typecheckJaxpr } from '../typecheck.js';
import { cse } from './cse.js';
import { dce } from './dce.js';
import { foldConstants, type FoldOptions } from './fold.js';
import { inlineCalls } from './inline.js';

export { cse } from './cse.js';
export { dce } from './dce.js';
export { foldConstants, type FoldOptions } from './fold.js';
export { inlineCalls } from './inline.js';
export { paramsEqual, paramsKey } from './common.js';

export interface OptimizeOptions {
  /** Splice nested `jit` calls into the caller (default true). */
  inline?: boolean;
  /** Constant-folding options; `false` disables folding. */
  fold?: FoldOptions | false;
  /** Safety bound on the fixed-point iteration (default 16 rounds). */
  maxRounds?: number;
}

type Pass = [name: string, run: (cj: ClosedJaxpr) => ClosedJaxpr];

function checked(name: string, cj: ClosedJaxpr): ClosedJaxpr {
  try {
    typecheckJaxpr(cj.jaxpr);
  } catch (e) {
    // Typecheck failures and abstract-evaluation errors alike: the IR this pass produced is invalid.
    throw new JaxprTypeError(`after pass ${name}: ${(e as Error).message}`);
  }
  return cj;
}

/**
 * Optimise a jaxpr. A bare `Jaxpr` has no values for constants, so folding then only makes
 * literals (scalars); a `ClosedJaxpr` may also gain small folded constant arrays.
 */
export function optimize(j: ClosedJaxpr, opts?: OptimizeOptions): ClosedJaxpr;
export function optimize(j: Jaxpr, opts?: OptimizeOptions): Jaxpr;
export function optimize(j: ClosedJaxpr | Jaxpr, opts: OptimizeOptions = {}): ClosedJaxpr | Jaxpr {
  const open = j instanceof Jaxpr;
  // A bare jaxpr's constvars have no values: treat them as leading inputs, so they are kept.
  let cj = open ? new ClosedJaxpr(new Jaxpr([], [...j.constvars, ...j.invars], j.eqns, j.outvars), []) : j;
  const fold = opts.fold === false ? null : { ...(open ? { arrays: false } : {}), ...opts.fold };
  const passes: Pass[] = [
    ...(opts.inline === false ? [] : [['inline', inlineCalls] as Pass]),
    ['dce', dce],
    ['cse', cse],
    ...(fold ? [['fold', (c: ClosedJaxpr) => foldConstants(c, fold)] as Pass] : []),
  ];
  const initial = cj;
  const maxRounds = opts.maxRounds ?? 16;
  for (let round = 0; round < maxRounds; round++) {
    const before = cj;
    for (const [name, run] of passes) {
      const next = run(cj);
      if (next !== cj) cj = checked(name, next);
    }
    if (cj === before) break;
  }
  if (!open) return cj;
  if (cj === initial) return j;
  const k = (j as Jaxpr).constvars.length;
  return k === 0 ? cj.jaxpr : new Jaxpr(cj.jaxpr.invars.slice(0, k), cj.jaxpr.invars.slice(k), cj.jaxpr.eqns, cj.jaxpr.outvars);
}
