/**
 * Row groups: runs of consecutive kernels of a program that may execute block by block over
 * rows (cache blocking across kernels). Softmax lowers to four kernels — row max, e = exp(x −
 * max), row sum of e, e / sum — each streaming the whole array through memory; run on rows
 * [lo, hi) one kernel after the other, a block's intermediates are still in cache when the
 * next kernel reads them.
 *
 * A kernel's rows are the extent of its row axis: the first output axis longer than 1 (those
 * before it have size 1; axis 0 when there is none) — the axis the wasm kernels split between
 * threads. Rows [lo, hi) of an output are the flat elements [lo·R, hi·R), R = size / rows.
 * Consecutive kernel steps form a group when they all have the same rows (more than one) and
 * every read of a buffer written earlier in the group is row-local: output row i reads only
 * row i of that buffer. That is decided from the load's index expression (over the kernel's
 * output and reduction variables): it must be affine in the row variable — c·i + rest, with
 * `rest` free of it — with c = R and rest ∈ [0, R) for every value of the other variables
 * (interval analysis, `index_range.ts`). Sums, differences, multiplication by a constant and
 * division or remainder by a positive constant that divides c keep the form; anything else
 * involving the row variable (a gather's data-dependent index, a select on it) is taken as
 * not row-local. A transpose, a reduction over the row axis or a broadcast of one row to all
 * thus end a group; buffers the group does not write (inputs, earlier results) may be read
 * anywhere.
 *
 * Running the kernels of a group block by block computes every output element with the same
 * code from the same values as running them one by one, whatever the blocks. The analysis is
 * backend-independent plain data; `program.ts` hands a group to a backend's optional
 * `runRows`, and runs its kernels one by one on other backends.
 */
import { IndexRanges, INT32_MAX, type Range } from './index_range.js';
import type { Expr, Kernel } from './ir.js';
import type { KernelStep, Program } from './lower.js';

/** Steps [start, end) of a program: at least two kernel steps with the same rows. */
export interface RowGroup {
  readonly start: number;
  readonly end: number;
  readonly rows: number;
}

/** The row axis of an output shape: the first axis longer than 1 (0 when there is none). */
export function rowAxis(shape: readonly number[]): number {
  return Math.max(0, shape.findIndex((d) => d > 1));
}

/** The number of rows of a kernel's output (1 for a scalar). */
export function kernelRows(kernel: Kernel): number {
  return kernel.outShape[rowAxis(kernel.outShape)] ?? 1;
}

/** `coef`·row + rest, rest ∈ `rest` for every value of the other variables. */
interface Affine {
  readonly coef: number;
  readonly rest: Range;
}

/**
 * Whether every load of input `slot` in `kernel` reads only row i of a buffer with rows of
 * `rowSize` elements when computing output row i (see the file comment).
 */
export function readsRowLocal(kernel: Kernel, slot: number, rowSize: number): boolean {
  const rows = kernelRows(kernel);
  const row = `i${rowAxis(kernel.outShape)}`;
  const ranges = IndexRanges.ofKernel(kernel);
  const mentions = new Map<Expr, boolean>();
  const uses = (e: Expr): boolean => {
    let m = mentions.get(e);
    if (m === undefined) {
      switch (e.k) {
        case 'const': m = false; break;
        case 'var': m = e.name === row; break;
        case 'load': m = uses(e.index); break;
        case 'un': case 'cast': case 'bitcast': m = uses(e.x); break;
        case 'bin': m = uses(e.a) || uses(e.b); break;
        case 'select': m = uses(e.c) || uses(e.t) || uses(e.f); break;
        case 'reduce': m = uses(e.body); break;
      }
      mentions.set(e, m);
    }
    return m;
  };
  const constant = (e: Expr): number | null => {
    const [lo, hi] = ranges.of(e);
    return !uses(e) && lo === hi ? lo : null;
  };
  const affine = (e: Expr): Affine | null => {
    if (e.dtype !== 'int32') return null;
    if (!uses(e)) return { coef: 0, rest: ranges.of(e) };
    if (e.k === 'var') return { coef: 1, rest: [0, 0] };
    if (e.k !== 'bin') return null;
    if (e.op === 'add' || e.op === 'sub') {
      const a = affine(e.a), b = affine(e.b);
      if (!a || !b) return null;
      return e.op === 'add'
        ? { coef: a.coef + b.coef, rest: [a.rest[0] + b.rest[0], a.rest[1] + b.rest[1]] }
        : { coef: a.coef - b.coef, rest: [a.rest[0] - b.rest[1], a.rest[1] - b.rest[0]] };
    }
    if (e.op === 'mul') {
      const [x, k] = constant(e.b) !== null ? [e.a, constant(e.b)!] : [e.b, constant(e.a)];
      const a = k === null ? null : affine(x);
      if (!a || k === null) return null;
      const ends = [a.rest[0] * k, a.rest[1] * k];
      return { coef: a.coef * k, rest: [Math.min(...ends), Math.max(...ends)] };
    }
    if (e.op === 'div' || e.op === 'rem') {
      // (c·i + rest) with c a multiple of d and the operand in [0, 2³¹): the row term passes through whole.
      const d = constant(e.b);
      const a = affine(e.a);
      if (!a || d === null || d <= 0 || a.coef < 0 || a.coef % d !== 0 || a.rest[0] < 0 || a.coef * (rows - 1) + a.rest[1] > INT32_MAX) return null;
      return e.op === 'div'
        ? { coef: a.coef / d, rest: [Math.floor(a.rest[0] / d), Math.floor(a.rest[1] / d)] }
        : { coef: 0, rest: [0, Math.min(a.rest[1], d - 1)] };
    }
    return null;
  };
  const seen = new Set<Expr>();
  const local = (e: Expr): boolean => {
    if (seen.has(e)) return true;
    seen.add(e);
    switch (e.k) {
      case 'const': case 'var': return true;
      case 'load': {
        if (!local(e.index)) return false;
        if (e.buf !== slot) return true;
        const a = affine(e.index);
        // Wrapping add/sub/mul agree with the exact value mod 2³², so an exact index in [0, 2³¹) is the computed one.
        return a !== null && a.coef === rowSize && a.rest[0] >= 0 && a.rest[1] < rowSize && rowSize * (rows - 1) + a.rest[1] <= INT32_MAX;
      }
      case 'un': case 'cast': case 'bitcast': return local(e.x);
      case 'bin': return local(e.a) && local(e.b);
      case 'select': return local(e.c) && local(e.t) && local(e.f);
      case 'reduce': return local(e.body);
    }
  };
  return local(kernel.expr);
}

const memo = new WeakMap<Program, readonly RowGroup[]>();

/** The row groups of a program (computed once per program). */
export function rowGroups(p: Program): readonly RowGroup[] {
  let groups = memo.get(p);
  if (!groups) {
    groups = findRowGroups(p);
    memo.set(p, groups);
  }
  return groups;
}

function findRowGroups(p: Program): RowGroup[] {
  const groups: RowGroup[] = [];
  let start = -1;
  let rows = 0;
  /** Refs written in the current group → their row size. */
  let written = new Map<number, number>();
  const close = (end: number): void => {
    if (start >= 0 && end - start >= 2) groups.push({ start, end, rows });
    start = -1;
  };
  p.steps.forEach((s, k) => {
    if (s.kind !== 'kernel') return close(k);
    const n = s.kernel.outShape.reduce((a, b) => a * b, 1);
    const r = kernelRows(s.kernel);
    const fits = (step: KernelStep): boolean => step.args.every((ref, slot) => !written.has(ref) || readsRowLocal(step.kernel, slot, written.get(ref)!));
    if (start < 0 || r !== rows || n === 0 || !fits(s)) {
      close(k);
      if (r < 2 || n === 0) return;
      start = k;
      rows = r;
      written = new Map();
    }
    written.set(s.out, n / r);
  });
  close(p.steps.length);
  return groups;
}
