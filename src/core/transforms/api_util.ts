/** Pytree plumbing shared by the transformations: flatten arguments, wrap functions of flat leaves. */
import { ValueError } from '../errors.js';
import { toValue } from '../numpy/convert.js';
import { Value } from '../trace/value.js';
import * as tree from '../tree.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFn = (...args: any[]) => any;

/** Flatten a list of argument pytrees; JS numbers/booleans become weakly typed scalars. */
export function flattenArgs(op: string, args: readonly unknown[]): [Value[], tree.TreeDef] {
  const [leaves, def] = tree.flatten(args as tree.PyTree<unknown>);
  return [
    leaves.map((l, i) => {
      if (l instanceof Value || typeof l === 'number' || typeof l === 'boolean') return toValue(op, l as number);
      throw new ValueError(`${op}: argument leaf ${i} is ${typeof l === 'object' ? (l as object).constructor?.name : typeof l}; expected arrays, numbers or booleans (pytrees of them)`);
    }),
    def,
  ];
}

/** Flatten a function's output pytree into arrays, checking its leaves. */
export function flattenOut(op: string, out: unknown): [Value[], tree.TreeDef] {
  const [leaves, def] = tree.flatten(out as tree.PyTree<unknown>);
  return [
    leaves.map((l, i) => {
      if (l instanceof Value) return l;
      if (typeof l === 'number' || typeof l === 'boolean') return toValue(op, l);
      throw new ValueError(`${op}: the function returned a non-array leaf at position ${i} (${typeof l}); return arrays or pytrees of arrays`);
    }),
    def,
  ];
}

/**
 * `f` as a function of flat leaves: it rebuilds the argument pytrees, calls `f`, and flattens
 * the result; the output structure is stored in `store.out` when it runs.
 */
export function flatFun(op: string, f: AnyFn, inDef: tree.TreeDef, store: { out?: tree.TreeDef }): (...leaves: Value[]) => Value[] {
  return (...leaves) => {
    const args = tree.unflatten(inDef, leaves) as unknown[];
    const [outs, def] = flattenOut(op, (f as (...a: unknown[]) => unknown)(...args));
    store.out = def;
    return outs;
  };
}

export function unflattenOut(def: tree.TreeDef | undefined, leaves: readonly Value[]): unknown {
  return def ? tree.unflatten(def, leaves) : leaves;
}

/** Normalise `argnums` (number or list, negative allowed) against the argument count. */
export function normArgnums(op: string, argnums: number | readonly number[], nargs: number): number[] {
  const list = typeof argnums === 'number' ? [argnums] : [...argnums];
  return list.map((a) => {
    if (!Number.isInteger(a) || a < -nargs || a >= nargs) throw new ValueError(`${op}: argnums ${JSON.stringify(argnums)} out of range for ${nargs} positional arguments`);
    return a < 0 ? a + nargs : a;
  });
}
