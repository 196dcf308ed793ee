/**
 * Interval analysis of int32 kernel expressions: the range of values an index expression can
 * take over the kernel's loop domain (output vars in [0, outShape[k]), reduction vars in
 * [0, size)). Renderers without bounds-checked memory (WebAssembly, CUDA) use it to prove a
 * load in bounds or to decide where to clamp: lowering may emit loads whose index falls
 * outside their buffer where a `select` discards the value (concatenate, pad) — harmless in
 * JavaScript, a trap in WebAssembly.
 *
 * A range that would leave int32 is widened to the whole int32 range, so the analysis is
 * sound under wrapping arithmetic: a node whose operands lie in their ranges and whose
 * mathematical range fits in int32 computes exactly that value.
 */
import type { BinOp, Expr, Kernel } from './ir.js';

export type Range = readonly [lo: number, hi: number];
export const INT32_MIN = -0x80000000;
export const INT32_MAX = 0x7fffffff;
export const FULL_RANGE: Range = [INT32_MIN, INT32_MAX];

const fit = (lo: number, hi: number): Range => (lo < INT32_MIN || hi > INT32_MAX || !(lo <= hi) ? FULL_RANGE : [lo, hi]);

export class IndexRanges {
  private memo = new Map<Expr, Range>();
  constructor(private varSizes: ReadonlyMap<string, number>) {}

  /** The ranges of a kernel's expressions: its output and reduction variables collected from the kernel. */
  static ofKernel(kernel: Kernel): IndexRanges {
    const sizes = new Map<string, number>(kernel.outShape.map((n, k) => [`i${k}`, n]));
    const seen = new Set<Expr>();
    const walk = (e: Expr): void => {
      if (seen.has(e)) return;
      seen.add(e);
      switch (e.k) {
        case 'const': case 'var': return;
        case 'load': return walk(e.index);
        case 'un': case 'cast': case 'bitcast': return walk(e.x);
        case 'bin': walk(e.a); return walk(e.b);
        case 'select': walk(e.c); walk(e.t); return walk(e.f);
        case 'reduce':
          for (const v of e.vars) sizes.set(v.name, v.size);
          return walk(e.body);
      }
    };
    walk(kernel.expr);
    return new IndexRanges(sizes);
  }

  /** The values `e` can take (the whole int32 range when nothing better is known). */
  of(e: Expr): Range {
    let r = this.memo.get(e);
    if (!r) {
      r = this.compute(e);
      this.memo.set(e, r);
    }
    return r;
  }

  private compute(e: Expr): Range {
    if (e.dtype === 'bool') return [0, 1];
    if (e.dtype !== 'int32') return FULL_RANGE;
    switch (e.k) {
      case 'const': return [e.v | 0, e.v | 0];
      case 'var': {
        const n = this.varSizes.get(e.name);
        return n === undefined ? FULL_RANGE : [0, Math.max(n - 1, 0)];
      }
      case 'select': {
        const [a0, a1] = this.of(e.t), [b0, b1] = this.of(e.f);
        return [Math.min(a0, b0), Math.max(a1, b1)];
      }
      case 'un':
        if (e.op === 'neg') {
          const [a0, a1] = this.of(e.x);
          return fit(-a1, -a0);
        }
        return FULL_RANGE;
      case 'bin': return this.binary(e.op, this.of(e.a), this.of(e.b));
      default: return FULL_RANGE;
    }
  }

  private binary(op: BinOp, [a0, a1]: Range, [b0, b1]: Range): Range {
    switch (op) {
      case 'add': return fit(a0 + b0, a1 + b1);
      case 'sub': return fit(a0 - b1, a1 - b0);
      case 'mul': {
        const ps = [a0 * b0, a0 * b1, a1 * b0, a1 * b1];
        return fit(Math.min(...ps), Math.max(...ps));
      }
      case 'div':
        // Truncating division by a positive constant is monotonic.
        return b0 === b1 && b0 > 0 ? fit(Math.trunc(a0 / b0), Math.trunc(a1 / b0)) : FULL_RANGE;
      case 'rem': {
        if (!(b0 === b1 && b0 > 0)) return FULL_RANGE;
        const d = b0 - 1;
        // The result has the dividend's sign and |result| ≤ min(|dividend|, d).
        return a0 >= 0 ? [0, Math.min(a1, d)] : [Math.max(a0, -d), a1 < 0 ? 0 : Math.min(a1, d)];
      }
      case 'max': return [Math.max(a0, b0), Math.max(a1, b1)];
      case 'min': return [Math.min(a0, b0), Math.min(a1, b1)];
      case 'and':
        if (a0 >= 0 && b0 >= 0) return [0, Math.min(a1, b1)];
        if (a0 >= 0) return [0, a1];
        if (b0 >= 0) return [0, b1];
        return FULL_RANGE;
      default: return FULL_RANGE;
    }
  }
}
