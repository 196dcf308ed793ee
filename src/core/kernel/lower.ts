/**
 * Lowering: an (optimised) jaxpr becomes a `Program`, a list of steps over numbered buffers
 * ("refs"): fused kernels, routine calls and interpreted calls (nested jit, control flow).
 *
 * Fusion is composition of the `expr` rules: each expression primitive maps its inputs'
 * IndexFns to its output's IndexFn, so a variable that is not materialised is simply its
 * producer's expression, inlined wherever it is indexed. A variable is materialised (gets
 * a buffer and a kernel of its own) when
 *  - it is a jaxpr output, is produced by a routine/interpreted call, or feeds one;
 *  - its expression contains a reduction and it is used twice, or by a consumer that reads
 *    each element several times (a broadcast: the reduction would rerun per element);
 *  - it is used by several kernels and recomputing it in all of them costs more than one
 *    round trip through memory (the cost model at `MATERIALIZE_COST`).
 * An elementwise chain feeding a reduction thus becomes one kernel with the chain in the
 * reduction's body. Memory planning records, per step, the buffers whose last use it is,
 * so the executor frees (or reuses) them at once; jaxpr inputs and outputs are never freed.
 *
 * Lowering produces plain data and imports no backend; `program.ts` runs it.
 */
import type { ShapedArray } from '../aval.js';
import { Literal, Var, type Atom, type Eqn, type Jaxpr } from '../ir/jaxpr.js';
import type { ExprRule, IndexFn } from '../prims/rules.js';
import { rulesOf } from '../trace/rule_table.js';
import { canonicalKernelExpr, ExprInterner } from './canonical.js';
import { add, cnst, idx, load, mul, outVar, type Expr, type Kernel } from './ir.js';
import { foldFused, type AcceptsFused, type FusedCall } from './fused_patterns.js';
import { simplifyIndices } from './simplify_index.js';

/** How a kernel reads an input whose layout is not row-major (an NDArray view provides this). */
export interface InputLayout {
  loadAt(slot: number, idxs: readonly Expr[]): Expr;
}

/** A step operand: a buffer ref or a literal scalar. */
export type Operand = { readonly ref: number } | { readonly literal: Literal };

export interface KernelStep {
  readonly kind: 'kernel';
  readonly kernel: Kernel;
  /** Refs bound to the kernel's input slots, in slot order. */
  readonly args: readonly number[];
  readonly out: number;
  /** Refs whose last use is this step (freed after it runs). */
  readonly free: readonly number[];
}

export interface CallStep {
  readonly kind: 'routine' | 'interpret';
  readonly eqn: Eqn;
  readonly args: readonly Operand[];
  readonly outs: readonly number[];
  readonly free: readonly number[];
  /** A fused routine run in place of `eqn` (see `fused_patterns.ts`). */
  readonly fused?: FusedCall;
}

/**
 * A movement primitive (reshape, transpose, slice…) whose result only feeds routine or
 * interpreted calls: run as a zero-copy view of its operand (`ExprRule.view`), not a kernel.
 */
export interface ViewStep {
  readonly kind: 'view';
  readonly eqn: Eqn;
  readonly arg: number;
  readonly out: number;
  readonly free: readonly number[];
}

export type Step = KernelStep | CallStep | ViewStep;

export interface Program {
  /** The jaxpr this program computes (constvars, if any, are leading inputs). */
  readonly jaxpr: Jaxpr;
  /** The aval of every ref: inputs first, then materialised intermediates and outputs. */
  readonly avals: readonly ShapedArray[];
  readonly numInputs: number;
  readonly steps: readonly Step[];
  readonly outputs: readonly Operand[];
}

/**
 * The recompute-or-materialise cost model, in units of one cheap arithmetic op per element
 * (`ownCost`: a transcendental weighs 4, index arithmetic and loads are free). A value of
 * weight c that k > 1 kernels would evaluate costs (k − 1)·c extra per element when each
 * kernel recomputes it. Materialising it instead costs one write and one read more per
 * element than fusing (the producing kernel reads its inputs once and writes it; each
 * consumer then reads it in place of those inputs), and fused kernels over large arrays are
 * bound by memory traffic rather than arithmetic, so an access weighs 2: the value is
 * materialised when (k − 1)·c > MATERIALIZE_COST = 2 + 2. So exp(x − m) feeding a row sum and
 * a division (softmax: c = 7, k = 2) is computed once, while x + 1 read by two kernels is
 * recomputed. The model counts work, not any backend's speeds, so every backend lowers the
 * same program.
 */
export const MATERIALIZE_COST = 4;

const TRANSCENDENTAL: ReadonlySet<string> = new Set([
  'exp', 'expm1', 'log', 'log1p', 'sin', 'cos', 'tan', 'tanh', 'atan', 'sqrt', 'rsqrt', 'sigmoid', 'erf', 'erfinv', 'pow', 'atan2',
]);

/** The arithmetic weight of one primitive's own expression (index arithmetic and loads are free). */
function ownCost(e: Expr, seen = new Set<Expr>()): { cost: number; reduces: boolean } {
  let cost = 0;
  let reduces = false;
  const walk = (x: Expr): void => {
    if (seen.has(x)) return;
    seen.add(x);
    switch (x.k) {
      case 'const': case 'var': return;
      case 'load': return walk(x.index);
      case 'un': cost += TRANSCENDENTAL.has(x.op) ? 4 : 1; return walk(x.x);
      case 'bin': cost += x.dtype === 'int32' && x.a.dtype === 'int32' ? 0 : TRANSCENDENTAL.has(x.op) ? 4 : 1; walk(x.a); return walk(x.b);
      case 'select': cost += 1; walk(x.c); walk(x.t); return walk(x.f);
      case 'cast': case 'bitcast': cost += 1; return walk(x.x);
      case 'reduce': reduces = true; cost += 1; return walk(x.body);
    }
  };
  walk(e);
  return { cost, reduces };
}

const outIndex = (shape: readonly number[]): Expr[] => shape.map((_, i) => outVar(i));

/** The load of a row-major buffer at a logical index (size-1 dims ignored). */
function contiguousLoad(slot: number, idxs: readonly Expr[], aval: ShapedArray): Expr {
  let e: Expr = idx(0);
  let stride = 1;
  for (let d = aval.ndim - 1; d >= 0; d--) {
    if (aval.shape[d] !== 1) e = add(e, mul(idxs[d], idx(stride)));
    stride *= aval.shape[d];
  }
  return load(slot, e, aval.dtype);
}

/** The kernel being built: its input slots and the memo of indexed values. */
class KernelBuilder {
  readonly args: number[] = [];
  private slots = new Map<number, number>();
  private memo = new Map<string, Expr>();
  private interner = new ExprInterner();
  readonly prims = new Map<number, string>();

  slot(ref: number): number {
    let s = this.slots.get(ref);
    if (s === undefined) {
      s = this.args.length;
      this.slots.set(ref, s);
      this.args.push(ref);
    }
    return s;
  }

  /** A value indexed twice at the same (structurally equal) index is built once and shared. */
  indexed(key: string, idxs: readonly Expr[], build: () => Expr): Expr {
    const k = `${key}|${idxs.map((e) => this.interner.id(e)).join(',')}`;
    let e = this.memo.get(k);
    if (!e) this.memo.set(k, (e = build()));
    return e;
  }
}

interface VarInfo {
  /** Indices of the equations reading the variable. */
  consumers: number[];
  materialized: boolean;
  cost: number;
  reduces: boolean;
}

export interface LowerOptions {
  /** Per jaxpr input (constvars first), how kernels load it; null or missing: row-major. */
  layouts?: readonly (InputLayout | null | undefined)[];
  /** Whether the target backend runs a fused routine (attention, softmax) with these parameters (`fused_patterns.ts`); absent: never. */
  acceptsFused?: AcceptsFused;
}

export function lowerJaxpr(jaxpr: Jaxpr, opts: LowerOptions = {}): Program {
  const invars = [...jaxpr.constvars, ...jaxpr.invars];
  // Chains the backend runs as fused routines are folded into one call each (`fused_patterns.ts`).
  const { eqns, fused: fusedCalls } = opts.acceptsFused ? foldFused(jaxpr, opts.acceptsFused) : { eqns: jaxpr.eqns, fused: new Map<Eqn, FusedCall>() };
  const kinds = eqns.map((e) => (fusedCalls.has(e) ? 'routine' : rulesOf(e.prim).kind));
  const isOutput = new Set<Var>(jaxpr.outvars.filter((a): a is Var => a instanceof Var));
  const invarSet = new Set<Var>(invars);

  // ---- uses and decisions ----
  const info = new Map<Var, VarInfo>();
  eqns.forEach((e, i) => {
    if (kinds[i] === 'expr' && e.outvars.length !== 1) throw new Error(`lower: expression primitive ${e.prim} must have one output, has ${e.outvars.length}`);
    for (const v of e.outvars) info.set(v, { consumers: [], materialized: kinds[i] !== 'expr', cost: 0, reduces: false });
    for (const a of new Set(e.inputs)) if (a instanceof Var) info.get(a)?.consumers.push(i);
  });
  const fused = (a: Atom): VarInfo | null => {
    const vi = a instanceof Var ? info.get(a) : undefined;
    return vi && !vi.materialized ? vi : null;
  };
  // Movement chains that only feed calls can run as views (decided consumers first).
  const viewCandidate = new Set<Var>();
  for (let i = eqns.length - 1; i >= 0; i--) {
    const e = eqns[i];
    if (kinds[i] !== 'expr' || e.inputs.length !== 1 || !(e.inputs[0] instanceof Var)) continue;
    const rule = rulesOf(e.prim);
    const v = e.outvars[0];
    const cs = info.get(v)!.consumers;
    if (rule.kind === 'expr' && rule.view && !isOutput.has(v) && cs.length > 0 && cs.every((c) => kinds[c] !== 'expr' || viewCandidate.has(eqns[c].outvars[0])))
      viewCandidate.add(v);
  }
  const hasRef = (a: Atom): boolean => a instanceof Var && (invarSet.has(a) || info.get(a)?.materialized === true);
  // Forward: forced materialisation, and reductions that would be re-evaluated.
  eqns.forEach((e, i) => {
    if (kinds[i] !== 'expr') return;
    const v = e.outvars[0];
    const vi = info.get(v)!;
    // The primitive's own expression over placeholder loads: its arithmetic weight and whether it reduces.
    const rule = rulesOf(e.prim) as ExprRule<typeof e.prim>;
    const placeholders = e.inputs.map((a, k): IndexFn => (ix) => load(k, ix[0] ?? idx(0), a.aval.dtype));
    const own = ownCost(rule.expr(e.params, placeholders, e.inputs.map((a) => a.aval), v.aval)(outIndex(v.aval.shape)));
    vi.cost = own.cost;
    vi.reduces = own.reduces;
    for (const a of new Set(e.inputs)) {
      const u = fused(a);
      if (u) {
        vi.cost += u.cost;
        vi.reduces ||= u.reduces;
      }
    }
    const forced = isOutput.has(v) || vi.consumers.some((c) => kinds[c] !== 'expr');
    const rerun = vi.reduces && (vi.consumers.length > 1 || vi.consumers.some((c) => eqns[c].outvars[0].aval.size > v.aval.size));
    vi.materialized = forced || rerun || (viewCandidate.has(v) && hasRef(e.inputs[0]));
  });
  // Backward: a value shared by k > 1 kernels is materialised when recomputing it costs more than memory (`MATERIALIZE_COST`).
  const roots = new Map<Var, Set<Var>>();
  for (let i = eqns.length - 1; i >= 0; i--) {
    const e = eqns[i];
    if (kinds[i] !== 'expr') continue;
    const v = e.outvars[0];
    const vi = info.get(v)!;
    if (!vi.materialized) {
      const r = new Set<Var>();
      for (const c of vi.consumers) for (const x of roots.get(eqns[c].outvars[0]) ?? []) r.add(x);
      if (r.size > 1 && (r.size - 1) * vi.cost > MATERIALIZE_COST) vi.materialized = true;
      else roots.set(v, r);
    }
    if (vi.materialized) roots.set(v, new Set([v]));
  }

  // ---- refs ----
  const avals: ShapedArray[] = invars.map((v) => v.aval);
  const refOf = new Map<Var, number>(invars.map((v, i) => [v, i]));
  const newRef = (v: Var): number => {
    avals.push(v.aval);
    refOf.set(v, avals.length - 1);
    return avals.length - 1;
  };
  const layouts = opts.layouts ?? [];

  // ---- index functions ----
  let builder: KernelBuilder | null = null;
  const current = (): KernelBuilder => {
    if (!builder) throw new Error('lower: an index function was called outside kernel construction');
    return builder;
  };
  const composed = new Map<Var, IndexFn>();
  const fnOf = (a: Atom): IndexFn => {
    if (a instanceof Literal) {
      const c = cnst(typeof a.value === 'boolean' ? (a.value ? 1 : 0) : a.value, a.aval.dtype);
      return () => c;
    }
    const ref = refOf.get(a);
    if (ref !== undefined) {
      const layout = ref < invars.length ? layouts[ref] : null;
      return (ix) => {
        const b = current();
        return b.indexed(`r${ref}`, ix, () => (layout ? layout.loadAt(b.slot(ref), ix) : contiguousLoad(b.slot(ref), ix, a.aval)));
      };
    }
    const f = composed.get(a);
    if (!f) throw new Error(`lower: variable ${a.aval.str()} is used before it is defined`);
    return f;
  };

  // ---- steps ----
  const steps: Step[] = [];
  const kernelStep = (v: Var, i: number): void => {
    const b = (builder = new KernelBuilder());
    try {
      const body = composed.get(v)!(outIndex(v.aval.shape));
      const prims = [...b.prims.entries()].sort(([x], [y]) => x - y).map(([, p]) => p);
      const label = prims.length > 12 ? [...prims.slice(0, 12), '…'].join('+') : prims.join('+');
      const kernel: Kernel = {
        inputs: b.args.map((r) => avals[r].dtype),
        outShape: v.aval.shape,
        outDtype: v.aval.dtype,
        expr: canonicalKernelExpr(simplifyIndices(body, v.aval.shape)),
        label: label || eqns[i].prim,
      };
      steps.push({ kind: 'kernel', kernel, args: b.args, out: newRef(v), free: [] });
    } finally {
      builder = null;
    }
  };
  eqns.forEach((e, i) => {
    if (kinds[i] === 'expr') {
      const v = e.outvars[0];
      const vi = info.get(v)!;
      if (!vi.materialized && vi.consumers.length === 0) return; // dead
      const rule = rulesOf(e.prim) as ExprRule<typeof e.prim>;
      const raw = rule.expr(e.params, e.inputs.map(fnOf), e.inputs.map((a) => a.aval), v.aval);
      composed.set(v, (ix) => {
        const b = current();
        return b.indexed(`v${v.id}`, ix, () => {
          b.prims.set(i, e.prim);
          return raw(ix);
        });
      });
      if (!vi.materialized) return;
      const input = e.inputs[0];
      if (viewCandidate.has(v) && input instanceof Var && refOf.has(input)) steps.push({ kind: 'view', eqn: e, arg: refOf.get(input)!, out: newRef(v), free: [] });
      else kernelStep(v, i);
      return;
    }
    const args: Operand[] = e.inputs.map((a) => {
      if (a instanceof Literal) return { literal: a };
      const ref = refOf.get(a);
      if (ref === undefined) throw new Error(`lower: ${e.prim} reads a value that was not materialised`);
      return { ref };
    });
    steps.push({ kind: kinds[i] as 'routine' | 'interpret', eqn: e, args, outs: e.outvars.map(newRef), free: [], ...(fusedCalls.has(e) ? { fused: fusedCalls.get(e) } : {}) });
  });
  const outputs: Operand[] = jaxpr.outvars.map((a) => (a instanceof Literal ? { literal: a } : { ref: refOf.get(a)! }));

  return { jaxpr, avals, numInputs: invars.length, steps: planFrees(steps, avals.length, invars.length, outputs), outputs };
}

/** Attach to each step the refs whose last use it is (never inputs or outputs). */
function planFrees(steps: Step[], numRefs: number, numInputs: number, outputs: readonly Operand[]): Step[] {
  const last = new Array<number>(numRefs).fill(-1);
  const reads = (s: Step): number[] =>
    s.kind === 'kernel' ? [...s.args] : s.kind === 'view' ? [s.arg] : s.args.flatMap((a) => ('ref' in a ? [a.ref] : []));
  const writes = (s: Step): number[] => (s.kind === 'kernel' || s.kind === 'view' ? [s.out] : [...s.outs]);
  steps.forEach((s, k) => {
    for (const r of writes(s)) last[r] = Math.max(last[r], k);
    for (const r of reads(s)) last[r] = k;
  });
  const keep = new Set<number>(outputs.flatMap((o) => ('ref' in o ? [o.ref] : [])));
  const free: number[][] = steps.map(() => []);
  for (let r = numInputs; r < numRefs; r++) if (!keep.has(r) && last[r] >= 0) free[last[r]].push(r);
  return steps.map((s, k) => ({ ...s, free: free[k] }));
}

/** The buffers a program writes per run: intermediates and outputs (views are not buffers). */
export function bufferCount(p: Program): { intermediates: number; outputs: number } {
  const outs = new Set(p.outputs.flatMap((o) => ('ref' in o ? [o.ref] : [])));
  const written = p.steps.flatMap((s) => (s.kind === 'kernel' ? [s.out] : s.kind === 'view' ? [] : s.outs));
  const o = written.filter((r) => outs.has(r)).length;
  return { intermediates: written.length - o, outputs: o };
}
