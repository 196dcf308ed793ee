/**
 * `jit` and `makeJaxpr`. `jit(f)` stages `f` once per input signature (shapes, dtypes, weak
 * types, static arguments, pytree structure, PRNG layout) into a jaxpr, optimises it, and
 * binds the `jit` primitive, which the backend compiles into fused kernels.
 */
import { NDArray, unscoped } from '../array.js';
import { defaultBackend } from '../backends/backend.js';
import { config } from '../config.js';
import { ValueError } from '../errors.js';
import type { ClosedJaxpr, Jaxpr } from '../ir/jaxpr.js';
import { optimize } from '../ir/passes/index.js';
import { markOptimized, programFor } from '../kernel/program.js';
import type { Program } from '../kernel/lower.js';
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
  /** For `jit`: the optimised jaxpr with its consts as leading inputs (what the primitive holds). */
  open?: Jaxpr;
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
function stageFor(f: AnyFn, args: readonly unknown[], statics: readonly number[], cache: Map<string, Staged>, op: string, opt = false): { staged: Staged; leaves: Value[] } {
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
    // The staged jaxpr is cached beyond this call, so its literals and consts must not belong to the caller's `scope`.
    staged = unscoped((): Staged => {
      let jaxpr = stage(flatFun(op, g, inDef, store), leaves.map((l) => l.aval));
      let open: Jaxpr | undefined;
      if (opt) {
        jaxpr = optimize(jaxpr);
        open = markOptimized(openJaxpr(jaxpr.jaxpr));
      }
      return { jaxpr, open, outDef: store.out! };
    });
    cache.set(key, staged);
  }
  return { staged, leaves };
}

export interface Jitted<F extends AnyFn> {
  (...args: Parameters<F>): ReturnType<F>;
  /**
   * What these arguments compile to: the optimised jaxpr (and its text), the generated
   * source of every kernel (as the backend compiles it) and the lowered program.
   */
  lower(...args: Parameters<F>): Lowered;
  /** Number of distinct signatures staged so far. */
  readonly cacheSize: number;
}

export interface Lowered {
  jaxpr: ClosedJaxpr;
  text: string;
  kernels: string[];
  program: Program;
  /**
   * Compile the program's kernels on its backend before the first call (JAX's
   * `jit(f).lower(x).compile()`): on WebGPU the pipelines are created asynchronously, so a UI
   * or a training loop can warm up without blocking; elsewhere kernels compile at once.
   */
  compile(): Promise<void>;
}

export function jit<F extends AnyFn>(f: F, opts: JitOptions = {}): Jitted<F> {
  const cache = new Map<string, Staged>();
  const name = opts.name ?? (f.name || 'fn');
  const statics = (args: readonly unknown[]) => (opts.staticArgnums === undefined ? [] : normArgnums('jit', opts.staticArgnums, args.length));
  const run = (...args: unknown[]) => {
    const { staged, leaves } = stageFor(f, args, statics(args), cache, 'jit', true);
    const outs = bind('jit', [...staged.jaxpr.consts, ...leaves], { jaxpr: staged.open!, name });
    return unflattenOut(staged.outDef, outs);
  };
  const jitted = run as unknown as Jitted<F>;
  Object.defineProperty(jitted, 'lower', {
    value: (...args: unknown[]) => {
      const { staged, leaves } = stageFor(f, args, statics(args), cache, 'jit', true);
      const inputs = [...staged.jaxpr.consts, ...leaves];
      if (!inputs.every((a) => a instanceof NDArray))
        throw new ValueError('jit(...).lower: arguments and closed-over values must be concrete arrays (call lower outside transformations)');
      const { program, inputs: used } = programFor(staged.open!, inputs as NDArray[]);
      used.forEach((a, i) => a !== inputs[i] && a.dispose()); // row-major copies of offset views
      const backend = (inputs[0] as NDArray | undefined)?.backend ?? defaultBackend();
      const kernels = program.steps.flatMap((s) => (s.kind === 'kernel' ? [backend.source(s.kernel)] : []));
      const compile = () => backend.prepare?.(program.steps.flatMap((s) => (s.kind === 'kernel' ? [s.kernel] : []))) ?? Promise.resolve();
      return { jaxpr: staged.jaxpr, text: staged.jaxpr.toString(), kernels, program, compile };
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
