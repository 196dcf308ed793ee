/**
 * The kernel renderer shared by every backend (JavaScript, WGSL, CUDA C, WebAssembly).
 *
 * It walks a kernel expression DAG once, binds shared sub-expressions to temporaries,
 * hoists each node (and each reduction loop) to the outermost loop level whose index
 * variables it uses, and emits loops and statements through a handful of syntax hooks.
 * Backends override only the hooks: how an operator, a cast, a load or a loop is spelled.
 *
 * The walk is generic over the fragment type `F`: source text for the C-style languages
 * (`CStyleRenderer`), instruction sequences for WebAssembly. Both compose an expression from
 * the fragments of its operands (text by interpolation, a stack machine by concatenation),
 * so one emitter serves both. Hooks are called in properly nested order: each `forOpen` or
 * `ifOpen` is matched by the next unmatched `closeBlock` call, so a renderer may keep the
 * open blocks on a stack.
 */
import type { DType } from '../../dtype.js';
import { reduceIdentity, type BinOp, type Expr, type Kernel, type ReduceOp, type UnOp } from '../../kernel/ir.js';

/**
 * What a renderer learns about an innermost loop (see `innerLoopPrefix`): the innermost
 * output loop of a loop nest, or the innermost loop of a reduction.
 */
export interface InnerLoop {
  /** The value computed per iteration: the kernel's expression, or the reduction's body. */
  readonly root: Expr;
  /** The loop variable and trip count. */
  readonly v: string;
  readonly size: number;
  /** An output loop: its axis; or a reduction: its op, accumulator (a temporary) and dtype. */
  readonly kind: { readonly axis: number } | { readonly op: ReduceOp; readonly acc: string; readonly dtype: DType };
  /** The temporary bound to `e` outside the loop (declared before it), if any. */
  outerName(e: Expr): string | undefined;
  /** Whether `e` depends on the loop's variable. */
  varies(e: Expr): boolean;
}

export abstract class KernelRenderer<F> {
  // ---- syntax hooks ----
  abstract constant(v: number, dtype: DType): F;
  /** A read of a temporary or an index variable. */
  abstract ref(name: string, dtype: DType): F;
  /** `dtype` is the operand's dtype (`isfinite` yields bool). */
  abstract unary(op: UnOp, x: F, dtype: DType): F;
  /** `dtype` is the operands' dtype (comparisons yield bool). */
  abstract binary(op: BinOp, a: F, b: F, dtype: DType): F;
  abstract select(c: F, t: F, f: F, dtype: DType): F;
  abstract cast(x: F, from: DType, to: DType): F;
  abstract bitcast(x: F, from: DType, to: DType): F;
  /** `at` is the index expression itself (a renderer may use its range to elide bounds checks). */
  abstract load(buf: number, index: F, dtype: DType, at: Expr): F;
  abstract declare(name: string, value: F, dtype: DType, mutable: boolean): F;
  abstract assign(name: string, value: F): F;
  abstract forOpen(v: string, n: number): F;
  abstract ifOpen(cond: F): F;
  abstract closeBlock(): F;
  /** Logical and/or of two bools (either may short-circuit). */
  abstract logicalAnd(a: F, b: F): F;
  abstract logicalOr(a: F, b: F): F;
  /** Several statements as one. */
  abstract line(stmts: F[]): F;
  /** A statement at loop depth `depth` of the output nest. */
  abstract indent(stmt: F, depth: number): F;
  /** The row-major flat index over a reduction's variables (argmax/argmin's result). */
  abstract argIndex(vars: readonly { readonly name: string; readonly size: number }[]): F;

  /** The update of a reduction accumulator; backends may widen (the JS oracle sums in f64). */
  accumulate(op: 'sum' | 'prod' | 'max' | 'min', acc: F, x: F, dtype: DType): F {
    return this.binary(op === 'sum' ? 'add' : op === 'prod' ? 'mul' : op, acc, x, dtype);
  }

  /**
   * Called just before an innermost loop opens — the innermost output loop of a loop-nest
   * render (once every temporary is bound), and the innermost loop of each sum, product, max
   * or min reduction (once its body is rendered); code returned goes right before that loop
   * (a renderer may run a vectorised part of the loop there and start the scalar loop where
   * it stopped).
   */
  innerLoopPrefix(_loop: InnerLoop): F | null {
    return null;
  }

  /** Initial accumulator value of a reduction whose (rendered) body is `_body`. */
  reduceInit(op: ReduceOp, dtype: DType, _body?: F): F {
    return this.constant(reduceIdentity(op, dtype), dtype);
  }

  /**
   * Render the statements computing the kernel's scalar for the current output index and
   * passing it to `store(valueExpr)`. With `loopNest`, the output dims become a loop nest
   * (a CPU kernel) and work is hoisted out of the output loops it does not depend on;
   * without it the caller supplies the output indices (a GPU thread per element).
   */
  renderBody(kernel: Kernel, store: (value: F) => F, loopNest = false): F[] {
    return new BodyEmitter<F>(this, kernel.expr, loopNest ? kernel.outShape : null).emit(store);
  }
}

/** The C-style languages: fragments are source text. */
export abstract class CStyleRenderer extends KernelRenderer<string> {
  ref(name: string): string {
    return name;
  }
  closeBlock(): string {
    return '}';
  }
  logicalAnd(a: string, b: string): string {
    return `${a} && ${b}`;
  }
  logicalOr(a: string, b: string): string {
    return `(${a} || ${b})`;
  }
  line(stmts: string[]): string {
    return stmts.join(' ');
  }
  indent(stmt: string, depth: number): string {
    return '  '.repeat(depth) + stmt;
  }
  argIndex(vars: readonly { readonly name: string; readonly size: number }[]): string {
    return vars.reduce((f, v, i) => (i === 0 ? v.name : `(${f}) * ${v.size} + ${v.name}`), '');
  }
}

/** One walk over one expression; holds the temporaries and loop blocks. */
class BodyEmitter<F> {
  private refs = new Map<Expr, number>();
  private free = new Map<Expr, ReadonlySet<string>>();
  private varLevel = new Map<string, number>();
  private names = new Map<Expr, string>();
  private blocks: F[][] = [[]];
  private tmp = 0;

  /** `outLoops`: output dims rendered as loops; output var i_k then lives at level k+1. */
  constructor(private r: KernelRenderer<F>, private root: Expr, private outLoops: readonly number[] | null) {
    this.count(root);
    if (outLoops) {
      outLoops.forEach((_, k) => this.varLevel.set(`i${k}`, k + 1));
      this.blocks = outLoops.map((): F[] => []).concat([[]]);
    }
  }

  emit(store: (value: F) => F): F[] {
    const v = this.expr(this.root);
    const n = this.outLoops?.length ?? 0;
    this.blocks[n].push(store(v));
    if (!this.outLoops) return this.blocks[0];
    const r = this.r;
    const lines: F[] = [];
    this.outLoops.forEach((size, k) => {
      lines.push(...this.blocks[k].map((l) => r.indent(l, k)));
      if (k === n - 1) {
        const prefix = r.innerLoopPrefix({
          root: this.root, v: `i${k}`, size, kind: { axis: k },
          outerName: (e) => (this.level(e) < n ? this.names.get(e) : undefined),
          varies: (e) => this.freeVars(e).has(`i${k}`),
        });
        if (prefix !== null) lines.push(r.indent(prefix, k));
      }
      lines.push(r.indent(r.forOpen(`i${k}`, size), k));
    });
    lines.push(...this.blocks[n].map((l) => r.indent(l, n)));
    for (let k = n - 1; k >= 0; k--) lines.push(r.indent(r.closeBlock(), k));
    return lines;
  }

  private count(e: Expr): void {
    const n = this.refs.get(e) ?? 0;
    this.refs.set(e, n + 1);
    if (n > 0) return;
    for (const c of children(e)) this.count(c);
  }

  private freeVars(e: Expr): ReadonlySet<string> {
    const memo = this.free.get(e);
    if (memo) return memo;
    let out: Set<string>;
    if (e.k === 'var') out = new Set([e.name]);
    else {
      out = new Set();
      for (const c of children(e)) for (const v of this.freeVars(c)) out.add(v);
      if (e.k === 'reduce') for (const v of e.vars) out.delete(v.name);
    }
    this.free.set(e, out);
    return out;
  }

  private level(e: Expr): number {
    let l = 0;
    for (const v of this.freeVars(e)) l = Math.max(l, this.varLevel.get(v) ?? 0);
    return l;
  }

  private bind(e: Expr, value: F, dtype: DType): F {
    const name = `t${this.tmp++}`;
    this.blocks[this.level(e)].push(this.r.declare(name, value, dtype, false));
    this.names.set(e, name);
    return this.r.ref(name, dtype);
  }

  private expr(e: Expr): F {
    const named = this.names.get(e);
    if (named) return this.r.ref(named, e.dtype);
    if (e.k === 'reduce') return this.reduce(e);
    const s = this.inline(e);
    const trivial = e.k === 'const' || e.k === 'var';
    return !trivial && (this.refs.get(e) ?? 0) > 1 ? this.bind(e, s, e.dtype) : s;
  }

  private inline(e: Exclude<Expr, { k: 'reduce' }>): F {
    const r = this.r;
    switch (e.k) {
      case 'const': return r.constant(e.v, e.dtype);
      case 'var': return r.ref(e.name, e.dtype);
      case 'load': return r.load(e.buf, this.expr(e.index), e.dtype, e.index);
      case 'un': return r.unary(e.op, this.expr(e.x), e.x.dtype);
      case 'bin': return r.binary(e.op, this.expr(e.a), this.expr(e.b), e.a.dtype);
      case 'select': return r.select(this.expr(e.c), this.expr(e.t), this.expr(e.f), e.dtype);
      case 'cast': return r.cast(this.expr(e.x), e.x.dtype, e.dtype);
      case 'bitcast': return r.bitcast(this.expr(e.x), e.x.dtype, e.dtype);
    }
  }

  private reduce(e: Extract<Expr, { k: 'reduce' }>): F {
    const r = this.r;
    const L = this.level(e);
    for (const v of e.vars) this.varLevel.set(v.name, L + 1);
    const outer = this.blocks[L];
    const saved = this.blocks[L + 1];
    const inner: F[] = [];
    this.blocks[L + 1] = inner;
    const acc = `t${this.tmp++}`;
    const bodyDtype = e.body.dtype;
    const arg = e.op === 'argmax' || e.op === 'argmin';
    const valName = arg ? `${acc}v` : acc;
    const x = this.expr(e.body);
    // Accumulators are declared (in the outer block, before the loops) ahead of their first use.
    const decls = arg
      ? [r.declare(valName, r.reduceInit(e.op, bodyDtype, x), bodyDtype, true), r.declare(acc, r.constant(0, 'int32'), 'int32', true)]
      : [r.declare(acc, r.reduceInit(e.op, e.dtype, x), e.dtype, true)];
    if (arg) {
      const val = r.ref(valName, bodyDtype);
      const better = e.op === 'argmax' ? r.binary('gt', x, val, bodyDtype) : r.binary('lt', x, val, bodyDtype);
      // NumPy semantics: the first NaN wins; otherwise the first extremum.
      const cond = bodyDtype === 'float32'
        ? r.logicalAnd(r.binary('eq', val, val, bodyDtype), r.logicalOr(better, r.binary('ne', x, x, bodyDtype)))
        : better;
      const flat = r.argIndex(e.vars);
      inner.push(r.line([r.ifOpen(cond), r.assign(valName, x), r.assign(acc, flat), r.closeBlock()]));
    } else {
      inner.push(r.assign(acc, r.accumulate(e.op, r.ref(acc, e.dtype), x, e.dtype)));
    }
    outer.push(...decls);
    e.vars.forEach((v, k) => {
      if (k === e.vars.length - 1 && !arg) {
        const prefix = r.innerLoopPrefix({
          root: e.body, v: v.name, size: v.size, kind: { op: e.op, acc, dtype: e.dtype },
          outerName: (x) => (this.level(x) <= L ? this.names.get(x) : undefined),
          varies: (x) => this.freeVars(x).has(v.name),
        });
        if (prefix !== null) outer.push(prefix);
      }
      outer.push(r.forOpen(v.name, v.size));
    });
    outer.push(...inner);
    for (let i = 0; i < e.vars.length; i++) outer.push(r.closeBlock());
    this.blocks[L + 1] = saved;
    this.names.set(e, acc);
    return r.ref(acc, e.dtype);
  }
}

export function children(e: Expr): Expr[] {
  switch (e.k) {
    case 'const': case 'var': return [];
    case 'load': return [e.index];
    case 'un': case 'cast': case 'bitcast': return [e.x];
    case 'bin': return [e.a, e.b];
    case 'select': return [e.c, e.t, e.f];
    case 'reduce': return [e.body];
  }
}
