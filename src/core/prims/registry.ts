/**
 * The primitive rule table: every primitive's rules, gathered from the family files and
 * typed exhaustively over `Prim`, so a primitive missing a rule is a compile error.
 */
import type { Prim } from '../trace/primitive.js';
import { contractRules } from './contract.js';
import { controlRules } from './control.js';
import { customRules } from './custom.js';
import { elementwiseRules } from './elementwise.js';
import { indexingRules } from './indexing.js';
import { jitRules } from './jit.js';
import { movementRules } from './movement.js';
import { randomRules } from './random.js';
import { reduceRules } from './reduce.js';
import type { RuleTable } from './rules.js';
import { sortRules } from './sort.js';

export const rules: RuleTable<Prim> = {
  ...elementwiseRules,
  ...reduceRules,
  ...movementRules,
  ...contractRules,
  ...indexingRules,
  ...sortRules,
  ...randomRules,
  ...jitRules,
  ...controlRules,
  ...customRules,
};

export const primitives = Object.keys(rules) as Prim[];
