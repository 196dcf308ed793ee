/**
 * The public `lax` namespace: the primitive-level operations of `lax.ts` plus structured
 * control flow (`cond`, `switch`, `scan`, `whileLoop`, `foriLoop`, `map`).
 */
export * from './lax.js';
export { cond, switchOn as switch, scan, map, whileLoop, foriLoop, type ScanOptions } from './control_flow.js';
