/**
 * Vectorising map: a trace whose tracers carry a batch dimension (or none, for values that
 * are the same across the batch). Each primitive's `batch` rule runs on the parent trace.
 */
import { ShapedArray } from '../aval.js';
import { AxisError, ShapeError, ValueError } from '../errors.js';
import { moveBatchDim } from '../prims/ad_util.js';
import type { BatchDim } from '../prims/rules.js';
import type { Prim, PrimParams } from '../trace/primitive.js';
import { rulesOf } from '../trace/rule_table.js';
import { bind, checkLeak, currentTrace, newTag, withTrace, type Trace } from '../trace/trace.js';
import { Tracer, type Value } from '../trace/value.js';
import * as tree from '../tree.js';
import { flatFun, flattenArgs, unflattenOut, type AnyFn } from './api_util.js';

export class BatchTracer extends Tracer {
  constructor(trace: BatchTrace, readonly val: Value, readonly bdim: number) {
    super(trace);
  }
  get aval(): ShapedArray {
    const a = this.val.aval;
    return new ShapedArray(a.shape.filter((_, i) => i !== this.bdim), a.dtype, a.weakType);
  }
}

export class BatchTrace implements Trace {
  readonly tag = newTag();
  readonly parent: Trace = currentTrace();
  constructor(readonly axisSize: number) {}

  describe(): string {
    return `BatchTrace(tag=${this.tag}, size=${this.axisSize})`;
  }

  pack(val: Value, bdim: BatchDim): Value {
    return bdim === null ? val : new BatchTracer(this, val, bdim);
  }
  private unpack(op: string, x: Value): [Value, BatchDim] {
    if (x instanceof BatchTracer && x.trace === this) return [x.val, x.bdim];
    checkLeak(op, x);
    return [x, null];
  }

  process<P extends Prim>(prim: P, args: readonly Value[], params: PrimParams[P]): Value[] {
    const pairs = args.map((a) => this.unpack(prim, a));
    const vals = pairs.map((p) => p[0]);
    const dims = pairs.map((p) => p[1]);
    if (dims.every((d) => d === null)) return withTrace(this.parent, () => bind(prim, vals, params));
    const rule = rulesOf(prim).batch;
    if (!rule) throw new ValueError(`vmap: primitive '${prim}' has no batching rule`);
    const [outs, outDims] = withTrace(this.parent, () => rule(vals, dims, params, this.axisSize));
    return outs.map((o, i) => this.pack(o, outDims[i]));
  }
}

/**
 * Run `fn` over flat inputs with the given batch dims; outputs come back with their batch
 * dims moved to `outAxes` (or to what `outAxes()` says once `fn` has run).
 */
export function vmapFlat(
  fn: (...a: Value[]) => readonly Value[],
  args: readonly Value[],
  inDims: readonly BatchDim[],
  outAxesSpec: readonly BatchDim[] | (() => readonly BatchDim[]),
  axisSize: number,
): Value[] {
  const trace = new BatchTrace(axisSize);
  const ins = args.map((a, i) => trace.pack(a, inDims[i]));
  const outs = withTrace(trace, () => fn(...ins));
  const outAxes = typeof outAxesSpec === 'function' ? outAxesSpec() : outAxesSpec;
  return withTrace(trace.parent, () =>
    outs.map((o, i) => {
      const [val, dim] = o instanceof BatchTracer && o.trace === trace ? [o.val, o.bdim] : [o, null];
      if (!(o instanceof BatchTracer && o.trace === trace)) checkLeak('vmap output', o);
      const to = outAxes[i];
      if (to === null) {
        if (dim !== null) throw new ValueError(`vmap: outAxes is null for output ${i}, but it varies along the mapped axis`);
        return val;
      }
      const nd = val.ndim + (dim === null ? 1 : 0);
      return moveBatchDim(val, dim, to < 0 ? to + nd : to, axisSize);
    }),
  );
}

export type InAxes = number | null | readonly unknown[];

export interface VmapOptions {
  /** Mapped axis per positional argument: a number/null for all, or one entry per argument (a number, null, or a pytree prefix of it). */
  inAxes?: InAxes;
  /** Where the mapped axis goes in each output (a number/null for all, or a pytree matching the output). */
  outAxes?: number | null | unknown;
  /** Needed when no input is mapped. */
  axisSize?: number;
}

/** Broadcast a pytree prefix of axis specs (number/null leaves) onto the leaves of `full`. */
function broadcastPrefix(op: string, prefix: unknown, full: unknown, what: string): BatchDim[] {
  if (prefix === null || typeof prefix === 'number') return tree.leaves(full as tree.PyTree<unknown>).map(() => prefix as BatchDim);
  if (Array.isArray(prefix) && Array.isArray(full) && prefix.length === full.length)
    return prefix.flatMap((p, i) => broadcastPrefix(op, p, full[i], `${what}[${i}]`));
  if (prefix && typeof prefix === 'object' && full && typeof full === 'object' && !Array.isArray(full))
    return Object.keys(full as object).sort().flatMap((k) => broadcastPrefix(op, (prefix as Record<string, unknown>)[k] ?? null, (full as Record<string, unknown>)[k], `${what}.${k}`));
  throw new ValueError(`${op}: ${what} spec ${JSON.stringify(prefix)} does not match the structure of the value`);
}

/** `vmap(f, { inAxes, outAxes, axisSize })`: f mapped over a leading (or given) axis of its arguments. */
export function vmap<F extends AnyFn>(f: F, opts: VmapOptions = {}): (...args: Parameters<F>) => ReturnType<F> {
  const inAxesOpt = opts.inAxes ?? 0;
  return ((...args: unknown[]) => {
    if (Array.isArray(inAxesOpt) && inAxesOpt.length !== args.length)
      throw new ValueError(`vmap: inAxes has ${inAxesOpt.length} entries but the function got ${args.length} positional arguments`);
    const [leaves, inDef] = flattenArgs('vmap', args);
    const dims = broadcastPrefix('vmap', Array.isArray(inAxesOpt) ? inAxesOpt : args.map(() => inAxesOpt), args, 'inAxes');
    // Name leaves by argument (and leaf within it) in error messages.
    const names: string[] = args.flatMap((a, k) => {
      const n = tree.leaves(a as tree.PyTree<unknown>).length;
      return Array.from({ length: n }, (_, j) => (n === 1 ? `argument ${k}` : `argument ${k} leaf ${j}`));
    });
    const sizes: string[] = [];
    let size = opts.axisSize;
    const normDims = leaves.map((l, i) => {
      const d = dims[i];
      if (d === null) return null;
      if (!Number.isInteger(d) || d < -l.ndim || d >= l.ndim) throw new AxisError(`vmap: inAxes ${d} is out of range for ${names[i]} of shape ${l.aval.str()}`);
      const nd = d < 0 ? d + l.ndim : d;
      sizes.push(`${names[i]} ${l.aval.str()} has size ${l.shape[nd]} along axis ${nd}`);
      if (size === undefined) size = l.shape[nd];
      else if (size !== l.shape[nd]) throw new ShapeError(`vmap: mapped axes have different sizes: ${sizes.join('; ')}${opts.axisSize !== undefined ? ` (axisSize ${opts.axisSize})` : ''}`);
      return nd;
    });
    if (size === undefined) throw new ValueError('vmap: no argument is mapped (all inAxes are null); pass axisSize');
    const store: { out?: tree.TreeDef } = {};
    const fn = flatFun('vmap', f, inDef, store);
    let outAxes: BatchDim[] = [];
    const wrapped = (...xs: Value[]) => {
      const outs = fn(...xs);
      const outTree = unflattenOut(store.out, outs);
      outAxes = broadcastPrefix('vmap', opts.outAxes ?? 0, outTree, 'outAxes');
      return outs;
    };
    const outs = vmapFlat(wrapped, leaves, normDims, () => outAxes, size);
    return unflattenOut(store.out, outs);
  }) as (...args: Parameters<F>) => ReturnType<F>;
}
