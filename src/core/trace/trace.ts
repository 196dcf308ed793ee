/**
 * Stackless, tagged tracing (Autodidax 2 / modern JAX): there is one current trace; every
 * primitive application goes through `bind`, which hands it to that trace. A transformation
 * installs its trace with `withTrace`; the trace knows its parent (the trace to which it
 * emits the operations it performs) and a unique tag, and each tracer belongs to one trace.
 */
import { TracerLeakError } from '../errors.js';
import type { Prim, PrimParams } from './primitive.js';
import { Tracer, type Value } from './value.js';

export interface Trace {
  /** Unique, increasing: a trace created later has a larger tag. */
  readonly tag: number;
  /** The trace that receives the operations this trace performs; null for the eager trace. */
  readonly parent: Trace | null;
  /** Apply a primitive to values; tracers of other, enclosing traces are treated as constants. */
  process<P extends Prim>(prim: P, args: readonly Value[], params: PrimParams[P]): Value[];
  /** A short description used in error messages ("JVPTrace(tag=3)"). */
  describe(): string;
}

let nextTag = 1;
export function newTag(): number {
  return nextTag++;
}

let current: Trace;
let root: Trace;

export function currentTrace(): Trace {
  return current;
}

/** Run `fn` with `trace` as the current trace. */
export function withTrace<T>(trace: Trace, fn: () => T): T {
  const saved = current;
  current = trace;
  try {
    return fn();
  } finally {
    current = saved;
  }
}

/** Install the root (eager) trace; called once by `eval.ts`. */
export function setRootTrace(t: Trace): void {
  current = root = t;
}

/** The eager trace (for constant folding while staging). */
export function rootTrace(): Trace {
  return root;
}

/** Apply a primitive on the current trace. */
export function bind<P extends Prim>(prim: P, args: readonly Value[], params: PrimParams[P]): Value[] {
  return current.process(prim, args, params);
}
/** `bind` for single-output primitives. */
export function bind1<P extends Prim>(prim: P, args: readonly Value[], params: PrimParams[P]): Value {
  return current.process(prim, args, params)[0];
}

/** Whether `t` is the current trace or one of its ancestors (i.e. its tracers are still valid). */
export function isLive(t: Trace): boolean {
  for (let c: Trace | null = current; c; c = c.parent) if (c === t) return true;
  return false;
}

/** Throw TracerLeakError for a tracer whose transformation has already returned. */
export function checkLeak(op: string, x: Value): void {
  if (x instanceof Tracer && !isLive(x.trace))
    throw new TracerLeakError(
      `${op}: a tracer ${x.aval.str()} from ${x.trace.describe()} escaped its transformation ` +
        `(it was stored outside the function, e.g. in a closure or global, and used after the transformation returned). ` +
        `Return it from the function instead.`,
    );
}
