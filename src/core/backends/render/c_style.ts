/**
 * The C-style kernel renderer shared by every backend (JavaScript, WGSL, CUDA C).
 *
 * It walks a kernel expression DAG once, binds shared sub-expressions to temporaries,
 * hoists each node (and each reduction loop) to the outermost loop level whose index
 * variables it uses, and emits loops and statements through a handful of syntax hooks.
 * Backends override only the hooks: how an operator, a cast, a load or a loop is spelled.
 */
import type { DType } from '../../dtype.js';
import { reduceIdentity, type BinOp, type Expr, type Kernel, type ReduceOp, type UnOp } from '../../kernel/ir.js';

export abstract class CStyleRenderer {
  // ---- syntax hooks ----
  abstract constant(v: number, dtype: DType): string;
  /** `dtype` is the operand's dtype (`isfinite` yields bool). */
  abstract unary(op: UnOp, x: string, dtype: DType): string;
  /** `dtype` is the operands' dtype (comparisons yield bool). */
  abstract binary(op: BinOp, a: string, b: string, dtype: DType): string;
  abstract select(c: string, t: string, f: string, dtype: DType): string;
  abstract cast(x: string, from: DType, to: DType): string;
  abstract bitcast(x: string, from: DType, to: DType): string;
  abstract load(buf: number, index: string, dtype: DType): string;
  abstract declare(name: string, value: string, dtype: DType, mutable: boolean): string;
  abstract assign(name: string, value: string): string;
  abstract forOpen(v: string, n: number): string;
  abstract ifOpen(cond: string): string;
  closeBlock(): string {
    return '}';
  }

  /** The update of a reduction accumulator; backends may widen (the JS oracle sums in f64). */
  accumulate(op: 'sum' | 'prod' | 'max' | 'min', acc: string, x: string, dtype: DType): string {
    return this.binary(op === 'sum' ? 'add' : op === 'prod' ? 'mul' : op, acc, x, dtype);
  }

  /** Initial accumulator value of a reduction. */
  reduceInit(op: ReduceOp, dtype: DType): string {
    return this.constant(reduceIdentity(op, dtype), dtype);
  }

  /**
   * Render the statements computing the kernel's scalar for the current output index and
   * passing it to `store(valueExpr)`. With `loopNest`, the output dims become a loop nest
   * (a CPU kernel) and work is hoisted out of the output loops it does not depend on;
   * without it the caller supplies the output indices (a GPU thread per element).
   */
  renderBody(kernel: Kernel, store: (value: string) => string, loopNest = false): string[] {
    return new BodyEmitter(this, kernel.expr, loopNest ? kernel.outShape : null).emit(store);
  }
}

/** One walk over one expression; holds the temporaries and loop blocks. */
class BodyEmitter {
  private refs = new Map<Expr, number>();
  private free = new Map<Expr, ReadonlySet<string>>();
  private varLevel = new Map<string, number>();
  private names = new Map<Expr, string>();
  private blocks: string[][] = [[]];
  private tmp = 0;

  /** `outLoops`: output dims rendered as loops; output var i_k then lives at level k+1. */
  constructor(private r: CStyleRenderer, private root: Expr, private outLoops: readonly number[] | null) {
    this.count(root);
    if (outLoops) {
      outLoops.forEach((_, k) => this.varLevel.set(`i${k}`, k + 1));
      this.blocks = outLoops.map(() => []).concat([[]]);
    }
  }

  emit(store: (value: string) => string): string[] {
    const v = this.expr(this.root);
    const n = this.outLoops?.length ?? 0;
    this.blocks[n].push(store(v));
    if (!this.outLoops) return this.blocks[0];
    const lines: string[] = [];
    this.outLoops.forEach((size, k) => {
      lines.push(...this.blocks[k].map((l) => '  '.repeat(k) + l), '  '.repeat(k) + this.r.forOpen(`i${k}`, size));
    });
    lines.push(...this.blocks[n].map((l) => '  '.repeat(n) + l));
    for (let k = n - 1; k >= 0; k--) lines.push('  '.repeat(k) + this.r.closeBlock());
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

  private bind(e: Expr, value: string, dtype: DType): string {
    const name = `t${this.tmp++}`;
    this.blocks[this.level(e)].push(this.r.declare(name, value, dtype, false));
    this.names.set(e, name);
    return name;
  }

  private expr(e: Expr): string {
    const named = this.names.get(e);
    if (named) return named;
    if (e.k === 'reduce') return this.reduce(e);
    const s = this.inline(e);
    const trivial = e.k === 'const' || e.k === 'var';
    return !trivial && (this.refs.get(e) ?? 0) > 1 ? this.bind(e, s, e.dtype) : s;
  }

  private inline(e: Exclude<Expr, { k: 'reduce' }>): string {
    const r = this.r;
    switch (e.k) {
      case 'const': return r.constant(e.v, e.dtype);
      case 'var': return e.name;
      case 'load': return r.load(e.buf, this.expr(e.index), e.dtype);
      case 'un': return r.unary(e.op, this.expr(e.x), e.x.dtype);
      case 'bin': return r.binary(e.op, this.expr(e.a), this.expr(e.b), e.a.dtype);
      case 'select': return r.select(this.expr(e.c), this.expr(e.t), this.expr(e.f), e.dtype);
      case 'cast': return r.cast(this.expr(e.x), e.x.dtype, e.dtype);
      case 'bitcast': return r.bitcast(this.expr(e.x), e.x.dtype, e.dtype);
    }
  }

  private reduce(e: Extract<Expr, { k: 'reduce' }>): string {
    const r = this.r;
    const L = this.level(e);
    for (const v of e.vars) this.varLevel.set(v.name, L + 1);
    const outer = this.blocks[L];
    const saved = this.blocks[L + 1];
    const inner: string[] = [];
    this.blocks[L + 1] = inner;
    const acc = `t${this.tmp++}`;
    const bodyDtype = e.body.dtype;
    const arg = e.op === 'argmax' || e.op === 'argmin';
    const val = arg ? `${acc}v` : acc;
    const x = this.expr(e.body);
    if (arg) {
      const flat = e.vars.reduce((f, v, i) => (i === 0 ? v.name : `(${f}) * ${v.size} + ${v.name}`), '');
      const better = e.op === 'argmax' ? r.binary('gt', x, val, bodyDtype) : r.binary('lt', x, val, bodyDtype);
      // NumPy semantics: the first NaN wins; otherwise the first extremum.
      const cond = bodyDtype === 'float32'
        ? `${r.binary('eq', val, val, bodyDtype)} && (${better} || ${r.binary('ne', x, x, bodyDtype)})`
        : better;
      inner.push(`${r.ifOpen(cond)} ${r.assign(val, x)} ${r.assign(acc, flat)} ${r.closeBlock()}`);
      outer.push(r.declare(val, r.reduceInit(e.op, bodyDtype), bodyDtype, true));
      outer.push(r.declare(acc, r.constant(0, 'int32'), 'int32', true));
    } else {
      inner.push(r.assign(acc, r.accumulate(e.op, acc, x, e.dtype)));
      outer.push(r.declare(acc, r.reduceInit(e.op, e.dtype), e.dtype, true));
    }
    for (const v of e.vars) outer.push(r.forOpen(v.name, v.size));
    outer.push(...inner);
    for (let i = 0; i < e.vars.length; i++) outer.push(r.closeBlock());
    this.blocks[L + 1] = saved;
    this.names.set(e, acc);
    return acc;
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
