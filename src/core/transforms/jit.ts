/**
 * `jit` and `makeJaxpr`. `jit(f)` stages `f` once per input signature (shapes, dtypes, weak
 * types, static arguments, pytree structure, PRNG layout) into a jaxpr, optimises it, and
 * binds the `jit` primitive, which the backend compiles into fused kernels.
 */
import { config } from '../config.js';
import { ValueError } from '../errors.js';
import type { ClosedJaxpr } from '../ir/jaxpr.js';
import { openJaxpr } from '../prims/jit.js';
import { stage } from '../trace/staging.js';
import { bind } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import * as tree from '../tree.js';
import { flatFun, flattenArgs, normArgnums, unflattenOut, type AnyFn } from './api_util.js';

export interface JitOptions {
  /** Positional arguments that are static: hashed into the cache key (by JSON), not traced. */
  staticArgnums?: number | readonly number[];
  /** A name for the compiled function in jaxprs and profiles (default: the function's name). */
  name?: string;
}

interface Staged {
  jaxpr: ClosedJaxpr;
  outDef: tree.TreeDef;
}

function staticKey(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    throw new ValueError(`jit: static argument ${String(v)} is not JSON-serialisable, so it cannot be part of the cache key`);
  }
}

/** Stage `f` for `args` (static ones bound), returning the closed jaxpr and the flat dynamic leaves. */
function stageFor(f: AnyFn, args: readonly unknown[], statics: readonly number[], cache: Map<string, Staged>, op: string): { staged: Staged; leaves: Value[] } {
  const dyn = args.filter((_, i) => !statics.includes(i));
  const [leaves, inDef] = flattenArgs(op, dyn);
  const key = [
    inDef.toString(),
    leaves.map((l) => `${l.aval.str()}${l.weakType ? '*' : ''}`).join(','),
    statics.map((i) => staticKey(args[i])).join('|'),
    config.threefryPartitionable,
  ].join(';');
  let staged = cache.get(key);
  if (!staged) {
    const store: { out?: tree.TreeDef } = {};
    const g = (...d: unknown[]) => {
      const full: unknown[] = [];
      let k = 0;
      for (let i = 0; i < args.length; i++) full.push(statics.includes(i) ? args[i] : d[k++]);
      return f(...full);
    };
    const jaxpr = stage(flatFun(op, g, inDef, store), leaves.map((l) => l.aval));
    staged = { jaxpr, outDef: store.out! };
    cache.set(key, staged);
  }
  return { staged, leaves };
}

export interface Jitted<F extends AnyFn> {
  (...args: Parameters<F>): ReturnType<F>;
  /** The staged jaxpr and the generated kernel sources for these arguments. */
  lower(...args: Parameters<F>): { jaxpr: ClosedJaxpr; text: string };
  /** Number of distinct signatures staged so far. */
  readonly cacheSize: number;
}

export function jit<F extends AnyFn>(f: F, opts: JitOptions = {}): Jitted<F> {
  const cache = new Map<string, Staged>();
  const name = opts.name ?? (f.name || 'fn');
  const statics = (args: readonly unknown[]) => (opts.staticArgnums === undefined ? [] : normArgnums('jit', opts.staticArgnums, args.length));
  const run = (...args: unknown[]) => {
    const { staged, leaves } = stageFor(f, args, statics(args), cache, 'jit');
    const outs = bind('jit', [...staged.jaxpr.consts, ...leaves], { jaxpr: openJaxpr(staged.jaxpr.jaxpr), name });
    return unflattenOut(staged.outDef, outs);
  };
  const jitted = run as unknown as Jitted<F>;
  Object.defineProperty(jitted, 'lower', {
    value: (...args: unknown[]) => {
      const { staged } = stageFor(f, args, statics(args), cache, 'jit');
      return { jaxpr: staged.jaxpr, text: staged.jaxpr.toString() };
    },
  });
  Object.defineProperty(jitted, 'cacheSize', { get: () => cache.size });
  return jitted;
}

/** `makeJaxpr(f, { staticArgnums })(...args)`: the jaxpr `f` stages to for these arguments. */
export function makeJaxpr<F extends AnyFn>(f: F, opts: { staticArgnums?: number | readonly number[] } = {}): (...args: Parameters<F>) => ClosedJaxpr {
  return (...args) => {
    const statics = opts.staticArgnums === undefined ? [] : normArgnums('makeJaxpr', opts.staticArgnums, args.length);
    return stageFor(f, args, statics, new Map(), 'makeJaxpr').staged.jaxpr;
  };
}
