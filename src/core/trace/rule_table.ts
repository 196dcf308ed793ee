/**
 * The installed primitive rule table. The tracing machinery sits below the primitive
 * families in the import order, so the table (built in `prims/registry.ts`) is installed
 * here once by `init.ts` and looked up at call time.
 */
import type { RuleTable, Rules } from '../prims/rules.js';
import type { Prim } from './primitive.js';

let table: RuleTable<Prim> | null = null;

export function installRules(rules: RuleTable<Prim>): void {
  table = rules;
}

export function rulesOf<P extends Prim>(prim: P): Rules<P> {
  if (!table) throw new Error('vidax: primitive rules are not installed (import vidax through src/index.ts)');
  const r = table[prim];
  if (!r) throw new Error(`vidax: unknown primitive '${prim}'`);
  return r as Rules<P>;
}
