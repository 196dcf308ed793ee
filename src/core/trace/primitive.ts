/**
 * Primitive names and their static parameters. Each primitive family file (`prims/*.ts`)
 * adds its primitives to `PrimParams` by declaration merging, next to its rules, so the
 * rule table in `prims/registry.ts` can be typed exhaustively over `Prim`.
 */

// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface PrimParams {}

export type Prim = keyof PrimParams;
