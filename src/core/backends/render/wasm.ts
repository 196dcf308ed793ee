/**
 * WebAssembly renderer: a kernel becomes a module exporting one function
 * `kernel(out, in0, n0, in1, n1, …, lo, hi)` (byte addresses into the imported memory and
 * element counts) that writes the output in row-major order — the rows [lo, hi) of its split
 * axis (the first output dimension longer than 1; those before it have size 1), `out`
 * pointing at row `lo`, so that threads can share a kernel. A kernel without output dims
 * ignores them. The loop structure, the shared temporaries and the hoisting come from the
 * generic `KernelRenderer` (fragments are instruction sequences: an expression is its
 * operands' code followed by its own); the scalar semantics, identical to the JavaScript
 * oracle but for the native exp/log/tanh/sigmoid (`wasm_math.ts`), live in `wasm_ops.ts`.
 *
 * Loads: WebAssembly traps outside the memory, while lowering may read out of a buffer where
 * a select then discards the value (concatenate). A load whose index range (interval
 * analysis over the loop domain) is provably ≥ 0 reads unchecked, and the runtime makes sure
 * the memory extends to the largest such index (`maxIndex`); any other load clamps its index
 * to [0, n) first (the value is never used when the clamp changes it).
 *
 * SIMD: the innermost output loop runs four elements at a time where it can (`vectorLoop`),
 * then finishes in the scalar loop. Its expression is walked again with vector semantics
 * (`wasm_simd.ts`, lane for lane equal to the scalar ones): loop-invariant subexpressions are
 * computed once before the loop and splatted (temporaries the emitter bound outside the loop
 * are reused), loads contiguous in the loop variable become `v128.load`, other varying loads
 * are gathered lane by lane. A reduction in the loop whose body reads contiguously in the loop
 * variable (Σ_r x[r, i], a reduction over a leading axis) runs per lane (`vreduce`: each lane
 * the scalar loop's own reduction, float sums and products in f64 lanes rounded once by their
 * consumer — bit for bit the scalar result), sixteen outputs per iteration while sixteen
 * remain (each step of the reduction then reads a whole cache line of its row, where four
 * outputs would revisit every line four times), then four; any other reduction in the loop, a call into
 * JavaScript or an op without a vector form leaves the loop scalar. The innermost loop of a sum, product, max or
 * min reduction is vectorised the same way: four body values at a time, kept in per-lane
 * accumulators combined in a fixed order after the loop (`vectorAccumulator`: float32 sums in
 * f64 lanes, within γ_{n/4+3}·Σ|x| of the exact sum like the oracle's sequential f64 sum;
 * max, min and integer sums exact), products folded in the scalar loop's order.
 * Vector constants live in mutable globals (`vconst`).
 */
import { itemSize, type DType } from '../../dtype.js';
import { IndexRanges } from '../../kernel/index_range.js';
import type { BinOp, Expr, Kernel, ReduceOp, UnOp } from '../../kernel/ir.js';
import { reduceIdentity } from '../../kernel/ir.js';
import { scratchLocals, vectorConstants } from '../wasm/asm.js';
import { disassemble } from '../wasm/disasm.js';
import { Code, FunctionBuilder, ModuleBuilder, type MemoryLimits, type ValType } from '../wasm/encoder.js';
import type { MemOp } from '../wasm/opcodes.js';
import { children, KernelRenderer, type InnerLoop } from './c_style.js';
import {
  binaryOp, bitcastOp, castOp, frag, helperSignature, toF32, toF64, unaryOp,
  type Frag, type HelperName, type OpContext, type WTy,
} from './wasm_ops.js';
import {
  f4const, i4const, norm, NotVectorizable, vBinary, vBitcast, vCast, vfrag, vRound, vSelect, vShiftBy, vUnary,
  type VecContext, type VFrag, type VVal,
} from './wasm_simd.js';

export { helperImports } from './wasm_ops.js';

export interface WasmKernel {
  /** The module: imports `env.memory` and the helpers it calls from `m`, exports `kernel`. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Per input, the largest index read without a bounds check (−1 if none). */
  readonly maxIndex: readonly number[];
  /** Whether the innermost output loop runs four elements at a time. */
  readonly vectorized: boolean;
  /** How many reduction loops run four iterations at a time. */
  readonly vectorReductions: number;
  /** The output axis split between threads (`lo`, `hi`): the first one longer than 1. */
  readonly splitAxis: number;
  /** Whether the module imports JavaScript helpers (module `m`). */
  readonly importsHelpers: boolean;
  /** A WAT-like listing of the module (the backend's `source`). */
  listing(): string;
}

const LOAD: Record<DType, MemOp> = { float32: 'f32.load', int32: 'i32.load', uint32: 'i32.load', bool: 'i32.load8_u' };
const STORE: Record<DType, MemOp> = { float32: 'f32.store', int32: 'i32.store', uint32: 'i32.store', bool: 'i32.store8' };
/** An operand no longer than this is evaluated unconditionally by a `select` instead of an if/else. */
const CHEAP_SELECT_BYTES = 16;

/** Render a kernel to a module importing a memory of these limits. */
export function renderWasmKernel(kernel: Kernel, memory: MemoryLimits): WasmKernel {
  return new WasmKernelRenderer(kernel, memory).render();
}

/** An open loop: `do` (a do-while over [0, n)) or `while` (a checked loop up to `end`, from a start set before it). */
type Open = { kind: 'for'; v: number; n: number; form: 'do' | 'while'; end: (c: Code) => unknown } | { kind: 'if' };

const IOTA = new Uint8Array(Int32Array.from([0, 1, 2, 3]).buffer);
/** An innermost loop shorter than this stays scalar. */
const MIN_VECTOR_TRIP = 4;

class WasmKernelRenderer extends KernelRenderer<Frag> implements OpContext, VecContext {
  private module = new ModuleBuilder();
  private fn: FunctionBuilder;
  private locals = new Map<string, number>();
  /** Scratch locals by role (`scratchLocals`). */
  readonly scratch: (role: string, ty: ValType) => number;
  private helpers = new Map<HelperName, number>();
  private open: Open[] = [];
  private ranges: IndexRanges;
  private maxIndex: number[];
  /** Parameters: the split loop's range. */
  private readonly lo: number;
  private readonly hi: number;
  /** The output axis whose loop runs over [lo, hi): the first one longer than 1 (all before it have size 1). */
  private readonly splitAxis: number;
  /** Loop variables whose scalar loop continues where a vector loop stopped. */
  private continued = new Set<string>();
  /** Whether the innermost output loop is vectorised. */
  private vectorOutput = false;

  constructor(private kernel: Kernel, private memory: MemoryLimits) {
    super();
    this.module.importMemory('env', 'memory', memory);
    this.fn = new FunctionBuilder(['i32', ...kernel.inputs.flatMap((): ValType[] => ['i32', 'i32']), 'i32', 'i32'], []);
    this.scratch = scratchLocals(this.fn);
    this.lo = 1 + 2 * kernel.inputs.length;
    this.hi = this.lo + 1;
    this.splitAxis = Math.max(0, kernel.outShape.findIndex((d) => d > 1));
    this.ranges = IndexRanges.ofKernel(kernel);
    this.maxIndex = kernel.inputs.map(() => -1);
  }

  render(): WasmKernel {
    const { kernel } = this;
    const elt = itemSize(kernel.outDtype);
    const store = (v: Frag): Frag =>
      frag(null, (c) =>
        c.localGet(0).append((kernel.outDtype === 'float32' ? toF32(v) : v).code).mem(STORE[kernel.outDtype])
          .localGet(0).i32Const(elt).op('i32.add').localSet(0));
    for (const line of this.renderBody(kernel, store, true)) this.fn.body.append(line.code);
    if (this.open.length) throw new Error('wasm renderer: unbalanced blocks');
    const index = this.module.addFunction(this.fn);
    this.module.exportFunction('kernel', index);
    const bytes = this.module.build();
    return { bytes, maxIndex: this.maxIndex, vectorized: this.vectorOutput, splitAxis: this.splitAxis, vectorReductions: [...this.continued].filter((v) => !/^i\d+$/.test(v)).length, importsHelpers: this.helpers.size > 0, listing: () => this.listing() };
  }

  private listing(): string {
    const { kernel, memory, fn } = this;
    const params = ['(param $out i32)', ...kernel.inputs.flatMap((d, k) => [`(param $in${k} i32)`, `(param $n${k} i32)`]), '(param $lo i32)', '(param $hi i32)'];
    const names = new Map([...this.locals].map(([n, i]) => [i, n]));
    const locals = fn.locals.map((t, i) => `(local ${names.has(fn.params.length + i) ? `$${names.get(fn.params.length + i)} ` : ''}${t})`);
    const limits = `${memory.initial}${memory.maximum === undefined ? '' : ` ${memory.maximum}`}${memory.shared ? ' shared' : ''}`;
    return [
      `;; ${kernel.label}: ${kernel.inputs.join(', ')} -> ${kernel.outDtype}[${kernel.outShape.join(',')}]`,
      `(import "env" "memory" (memory ${limits}))`,
      ...[...this.helpers.keys()].map((h, i) => `(import "m" "${h}" (func ${i}))`),
      `(func (export "kernel") ${params.join(' ')}`,
      ...(locals.length ? [`  ${locals.join(' ')}`] : []),
      disassemble(fn.body.bytes, 1),
      ')',
    ].join('\n');
  }

  // ---- OpContext, VecContext ----
  vscratch(role: 'va' | 'vb'): number {
    return this.scratch(role, 'v128');
  }
  readonly mathLocal = (ty: 'f32' | 'i32' | 'v128', k: number): number => this.scratch(`m${k}`, ty);
  /** Vector constants live in mutable globals (`vectorConstants`). */
  readonly vconst = vectorConstants(this.module);
  helper(name: HelperName): number {
    let i = this.helpers.get(name);
    if (i === undefined) {
      const [params, results] = helperSignature(name);
      this.helpers.set(name, (i = this.module.importFunction('m', name, params, results)));
    }
    return i;
  }

  /** The local of a temporary or index variable (index variables are created on first use). */
  private localOf(name: string, ty: WTy = 'i32'): number {
    let i = this.locals.get(name);
    if (i === undefined) this.locals.set(name, (i = this.fn.local(ty)));
    return i;
  }
  private coerceTo(x: Frag, ty: ValType): Frag {
    if (x.ty === ty) return x;
    if (ty === 'f64') return toF64(x);
    if (ty === 'f32') return toF32(x);
    throw new Error(`wasm renderer: cannot store a ${x.ty} in a ${ty} local`);
  }

  // ---- syntax hooks ----
  constant(v: number, dtype: DType): Frag {
    if (dtype === 'float32') {
      const x = Math.fround(v);
      return frag('f32', (c) => c.f32Const(x), x);
    }
    const i = dtype === 'bool' ? (v ? 1 : 0) : dtype === 'uint32' ? (v >>> 0) | 0 : v | 0;
    return frag('i32', (c) => c.i32Const(i), i);
  }
  ref(name: string): Frag {
    const i = this.localOf(name);
    return frag(this.fn.typeOf(i) as WTy, (c) => c.localGet(i));
  }
  unary(op: UnOp, x: Frag, dtype: DType): Frag {
    return unaryOp(this, op, x, dtype);
  }
  binary(op: BinOp, a: Frag, b: Frag, dtype: DType): Frag {
    return binaryOp(this, op, a, b, dtype);
  }
  select(cond: Frag, t: Frag, f: Frag): Frag {
    // JS truthiness of a float predicate: NaN and ±0 are false.
    const c = cond.ty === 'i32' ? cond : frag('i32', (code) => code.append(toF64(cond).code).op('f64.abs').f64Const(0).op('f64.gt'));
    const ty: WTy = t.ty === 'f64' || f.ty === 'f64' ? 'f64' : (t.ty as WTy);
    const [tv, fv] = [this.coerceTo(t, ty), this.coerceTo(f, ty)];
    if (tv.code.length <= CHEAP_SELECT_BYTES && fv.code.length <= CHEAP_SELECT_BYTES)
      return frag(ty, (code) => code.append(tv.code).append(fv.code).append(c.code).op('select'));
    return frag(ty, (code) => code.append(c.code).if(ty).append(tv.code).else().append(fv.code).end());
  }
  cast(x: Frag, from: DType, to: DType): Frag {
    return castOp(x, from, to);
  }
  bitcast(x: Frag, from: DType, to: DType): Frag {
    return bitcastOp(x, from, to);
  }
  load(buf: number, index: Frag, dtype: DType, at: Expr): Frag {
    const base = 1 + 2 * buf, size = 2 + 2 * buf;
    const shift = Math.log2(itemSize(dtype));
    const ty: WTy = dtype === 'float32' ? 'f32' : 'i32';
    const [lo, hi] = this.ranges.of(at);
    if (lo >= 0) {
      this.maxIndex[buf] = Math.max(this.maxIndex[buf], hi);
      if (index.k !== undefined) return frag(ty, (c) => c.localGet(base).mem(LOAD[dtype], index.k! << shift));
      return frag(ty, (c) => {
        c.localGet(base).append(index.code);
        if (shift) c.i32Const(shift).op('i32.shl');
        c.op('i32.add').mem(LOAD[dtype]);
      });
    }
    // index <u n ? index : 0
    const s = this.scratch('a', 'i32');
    return frag(ty, (c) => {
      c.localGet(base).append(index.code).localTee(s).i32Const(0).localGet(s).localGet(size).ops('i32.lt_u', 'select');
      if (shift) c.i32Const(shift).op('i32.shl');
      c.op('i32.add').mem(LOAD[dtype]);
    });
  }
  declare(name: string, value: Frag): Frag {
    const i = this.localOf(name, value.ty as WTy);
    return frag(null, (c) => c.append(this.coerceTo(value, this.fn.typeOf(i)).code).localSet(i));
  }
  assign(name: string, value: Frag): Frag {
    const i = this.localOf(name, value.ty as WTy);
    return frag(null, (c) => c.append(this.coerceTo(value, this.fn.typeOf(i)).code).localSet(i));
  }
  /** Code pushing the end of an output loop: `hi` for the split one, else its size. */
  private loopEnd(axis: number, n: number): (c: Code) => unknown {
    return axis === this.splitAxis ? (c) => c.localGet(this.hi) : (c) => c.i32Const(n);
  }
  forOpen(v: string, n: number): Frag {
    const i = this.localOf(v);
    const axis = /^i\d+$/.test(v) ? Number(v.slice(1)) : -1;
    const continued = this.continued.has(v);
    if (axis === this.splitAxis || continued) {
      // A checked loop: the outermost one runs over [lo, hi); the one after a vector loop continues where it stopped.
      const end = this.loopEnd(axis, n);
      this.open.push({ kind: 'for', v: i, n, form: 'while', end });
      return frag(null, (c) => {
        if (!continued) c.localGet(this.lo).localSet(i);
        c.block().loop().localGet(i);
        end(c);
        c.op('i32.ge_s').brIf(1);
      });
    }
    this.open.push({ kind: 'for', v: i, n, form: 'do', end: (c) => c.i32Const(n) });
    // A do-while loop; an empty range skips it.
    return frag(null, (c) => {
      if (n <= 0) c.i32Const(0).if();
      c.i32Const(0).localSet(i).loop();
    });
  }
  ifOpen(cond: Frag): Frag {
    this.open.push({ kind: 'if' });
    return frag(null, (c) => c.append(cond.code).if());
  }
  closeBlock(): Frag {
    const o = this.open.pop();
    if (!o) throw new Error('wasm renderer: closeBlock without an open block');
    if (o.kind === 'if') return frag(null, (c) => c.end());
    if (o.form === 'while') return frag(null, (c) => c.localGet(o.v).i32Const(1).op('i32.add').localSet(o.v).br(0).end().end());
    return frag(null, (c) => {
      c.localGet(o.v).i32Const(1).op('i32.add').localTee(o.v).i32Const(o.n).ops('i32.lt_s').brIf(0).end();
      if (o.n <= 0) c.end();
    });
  }

  // ---- the vector loop ----

  override innerLoopPrefix(loop: InnerLoop): Frag | null {
    if (loop.size < MIN_VECTOR_TRIP) return null;
    const kind = loop.kind;
    if ('op' in kind && kind.op !== 'sum' && kind.op !== 'prod' && kind.op !== 'max' && kind.op !== 'min') return null;
    try {
      const code = this.vectorLoop(loop);
      this.continued.add(loop.v);
      if ('axis' in kind) this.vectorOutput = true;
      return { code, ty: null };
    } catch (e) {
      if (e instanceof NotVectorizable) return null;
      throw e;
    }
  }

  /**
   * Invariant code (hoisted values) then a loop over four iterations at a time while four
   * remain, storing four output elements, or folding four body values into a reduction's
   * accumulator one after the other (the scalar loop's order, so the result is the same); the
   * loop variable is left where the scalar loop takes over.
   */
  private vectorLoop(loop: InnerLoop): Code {
    const { kernel } = this;
    const iv = this.localOf(loop.v);
    const pre = new Code();
    const after = new Code();

    // How often each varying node is used (shared ones are computed once per iteration); in the
    // body of a reduction in the loop, nodes that depend on its variables are counted per reduction step.
    const uses = new Map<Expr, number>();
    const stepUses = new Map<Expr, number>();
    const free = freeVariables();
    const count = (e: Expr, reduceVars: ReadonlySet<string> | null = null): void => {
      const inStep = reduceVars !== null && [...free(e)].some((v) => reduceVars.has(v));
      if (!inStep && !loop.varies(e)) return;
      const m = inStep ? stepUses : uses;
      const n = m.get(e) ?? 0;
      m.set(e, n + 1);
      if (n > 0) return;
      if (e.k === 'reduce') {
        if (reduceVars !== null || 'op' in loop.kind || e.op === 'argmax' || e.op === 'argmin')
          throw new NotVectorizable('a reduction in the innermost loop');
        const vars = new Set(e.vars.map((v) => v.name));
        return count(e.body, vars);
      }
      children(e).forEach((c) => count(c, inStep ? reduceVars : null));
    };
    count(loop.root);

    const hoisted = new Map<Expr, { val: VVal; scalar: number }>();
    const hoist = (e: Expr): { val: VVal; scalar: number } => {
      let h = hoisted.get(e);
      if (h) return h;
      const s = this.scalarOf(e, loop);
      const scalar = this.fn.local(s.ty as ValType);
      const v = this.fn.local('v128');
      pre.append(s.code).localSet(scalar).localGet(scalar).op(s.ty === 'f64' ? 'f64x2.splat' : s.ty === 'f32' ? 'f32x4.splat' : 'i32x4.splat').localSet(v);
      const val: VVal = s.ty === 'f64' ? { ty: 'wide', splat: v } : vfrag(s.ty === 'f32' ? 'f4' : 'i4', (c) => c.localGet(v));
      hoisted.set(e, (h = { val, scalar }));
      return h;
    };
    const invariant = (e: Expr): VVal => {
      if (e.k === 'const') return e.dtype === 'float32' ? f4const(this, e.v) : i4const(this, this.constant(e.v, e.dtype).k!);
      return hoist(e).val;
    };

    /** A shared node's value: computed (and teed into a local) at its first use, read from the local after. */
    const share = (e: Expr, v: VVal, m: Map<Expr, number>, memo: Map<Expr, VVal>): VVal => {
      if ((m.get(e) ?? 0) > 1 && v.ty !== 'wide') {
        if (v.ty === 'w4') {
          memo.set(e, { ...v, code: new Code() });
          return v;
        }
        const l = this.fn.local('v128');
        memo.set(e, vfrag(v.ty, (c) => c.localGet(l), v.mask));
        return vfrag(v.ty, (c) => c.append(v.code).localTee(l), v.mask);
      }
      return v;
    };

    /**
     * The vector values of `groups` consecutive groups of four iterations (i + 4g … i + 4g + 3):
     * `value(g)` for the root, each group with its own shared temporaries; a reduction in the
     * loop runs one set of loops for all groups (`vreduce`).
     */
    const grouped = (groups: number) => {
      const bound = Array.from({ length: groups }, () => new Map<Expr, VVal>());
      const reduced = new Map<Expr, VVal[]>();
      const vexpr = (e: Expr, g: number): VVal => {
        if (!loop.varies(e)) return invariant(e);
        const b = bound[g].get(e);
        if (b) return b;
        if (e.k === 'reduce') {
          // The first group to reach it (group 0: groups are built in order) runs the loops for all.
          let r = reduced.get(e);
          if (!r) reduced.set(e, (r = vreduce(e)));
          return share(e, r[g], uses, bound[g]);
        }
        return share(e, vinline(e, g, (x) => vexpr(x, g), (x) => this.vectorLoad(x, loop, pre, g)), uses, bound[g]);
      };
      /** One op of group g, its operands by `rec`, loads by `vload`. */
      const vinline = (e: Expr, g: number, rec: (x: Expr) => VVal, vload: (x: Extract<Expr, { k: 'load' }>) => VVal): VVal => {
        switch (e.k) {
          case 'var': return vfrag('i4', (c) => c.localGet(iv).i32Const(4 * g).op('i32.add').op('i32x4.splat').append(new Code().v128Const(IOTA)).op('i32x4.add'));
          case 'load': return vload(e);
          case 'un': return vUnary(this, e.op, rec(e.x), e.x.dtype);
          case 'bin': {
            if (e.op === 'shl' || e.op === 'shrl' || e.op === 'shra') {
              if (loop.varies(e.b) || stepUses.has(e.b)) throw new NotVectorizable('a shift by a varying amount');
              const a = rec(e.a);
              const amount = e.b.k === 'const' ? this.constant(e.b.v, e.b.dtype) : { code: new Code().localGet(hoist(e.b).scalar) };
              return vShiftBy(this, e.op, a, amount, e.a.dtype);
            }
            const a = rec(e.a);
            return vBinary(this, e.op, a, rec(e.b), e.a.dtype);
          }
          case 'select': {
            // Operands in the order their code runs (shared nodes are bound at their first use).
            const t = rec(e.t), f = rec(e.f);
            return vSelect(this, rec(e.c), t, f, e.c.dtype);
          }
          case 'cast': return vCast(this, rec(e.x), e.x.dtype, e.dtype);
          case 'bitcast': return vBitcast(rec(e.x), e.x.dtype, e.dtype);
          case 'const': case 'reduce': throw new NotVectorizable(e.k);
        }
      };

      /**
       * A reduction whose value varies in the loop (a reduction over a leading axis: Σ_r x[r, i]):
       * each lane runs its own reduction, its steps in the scalar loop's order — float sums and
       * products in f64 halves (a wide vector, rounded once by its consumer), so every lane equals
       * the scalar result bit for bit. One set of loops serves every group (a step reads the
       * groups' adjacent vectors of a row: whole cache lines at a time). The body's nodes that do
       * not depend on the reduction's variables are computed once before its loops, those that
       * depend on them alone are splatted per step; its loads must be contiguous in the loop
       * variable (`v128.load`s from a base recomputed per step): a body reading across the loop
       * (x[i, r]) is a row reduction, whose own loop is vectorised instead. Returns each group's
       * value; the first carries the loops' code.
       */
      const vreduce = (e: Extract<Expr, { k: 'reduce' }>): VVal[] => {
        const op = e.op as 'sum' | 'prod' | 'max' | 'min';
        if (e.dtype !== e.body.dtype) throw new NotVectorizable('a reduction changing the dtype');
        const before = new Code(), step = new Code(), init = new Code();
        const bases = new Map<Expr, number>();
        const wide = e.dtype === 'float32' && (op === 'sum' || op === 'prod');
        const accs = Array.from({ length: groups }, (_, g) => {
          const stepBound = new Map<Expr, VVal>();
          const outside = new Map<Expr, VVal>();
          const rec = (x: Expr): VVal => {
            if (!stepUses.has(x)) {
              // Independent of the reduction's variables: invariant, or computed before its loops.
              if (!loop.varies(x)) return invariant(x);
              let o = outside.get(x);
              if (!o) {
                const v = vexpr(x, g);
                if (v.ty !== 'f4' && v.ty !== 'i4') throw new NotVectorizable('a wide value in a reduction body');
                const l = this.fn.local('v128');
                before.append(v.code).localSet(l);
                outside.set(x, (o = vfrag(v.ty, (c) => c.localGet(l), v.mask)));
              }
              return o;
            }
            const b = stepBound.get(x);
            if (b) return b;
            let v: VVal;
            if (!loop.varies(x)) {
              // Depends on the reduction's variables only: the scalar value, splatted.
              const s = this.scalarOf(x, loop);
              if (s.ty === 'f64') throw new NotVectorizable('a wide value in a reduction body');
              v = vfrag(s.ty === 'f32' ? 'f4' : 'i4', (c) => c.append(s.code).op(s.ty === 'f32' ? 'f32x4.splat' : 'i32x4.splat'));
            } else
              v = vinline(x, g, rec, (l) => {
                // A row reduction (x[i, r]) gathers here: its own loop is vectorised instead.
                if (!this.contiguousTerms(l.index, loop)) throw new NotVectorizable('a reduction reading across the loop');
                return this.vectorLoad(l, loop, step, g, bases);
              });
            return share(x, v, stepUses, stepBound);
          };
          const value = rec(e.body);
          if (value.ty !== 'f4' && value.ty !== 'i4') throw new NotVectorizable('a wide reduction body');
          const lanes = norm(value);
          const [lo, hi] = [this.fn.local('v128'), this.fn.local('v128')];
          if (wide) {
            const [t, x] = [this.fn.local('v128'), this.fn.local('v128')];
            const high = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
            const f64op = op === 'sum' ? 'f64x2.add' : 'f64x2.mul';
            init.f64Const(reduceIdentity(op, 'float32')).op('f64x2.splat').localTee(lo).localSet(hi);
            // acc ⊕ x per lane, the accumulator first as in the scalar loop
            step.append(lanes.code).localTee(t).op('f64x2.promote_low_f32x4').localSet(x).localGet(lo).localGet(x).op(f64op).localSet(lo)
              .localGet(t).localGet(t).shuffle(high).op('f64x2.promote_low_f32x4').localSet(x).localGet(hi).localGet(x).op(f64op).localSet(hi);
          } else {
            const identity = reduceIdentity(op, e.dtype);
            init.append((e.dtype === 'float32' ? f4const(this, identity) : i4const(this, this.constant(identity, e.dtype).k!)).code).localSet(lo);
            const current = vfrag(lanes.ty, (c) => c.localGet(lo));
            step.append(vBinary(this, op === 'sum' ? 'add' : op === 'prod' ? 'mul' : op, current, lanes, e.dtype).code).localSet(lo);
          }
          return { lo, hi, ty: lanes.ty };
        });
        // The reduction's loops (row-major over its variables, as the scalar loops), skipped when empty.
        const code = new Code().append(before).append(init);
        if (e.vars.every((v) => v.size > 0)) {
          for (const v of e.vars) code.i32Const(0).localSet(this.localOf(v.name)).loop();
          code.append(step);
          for (const v of [...e.vars].reverse()) {
            const r = this.localOf(v.name);
            code.localGet(r).i32Const(1).op('i32.add').localTee(r).i32Const(v.size).op('i32.lt_s').brIf(0).end();
          }
        }
        return accs.map(({ lo, hi, ty }, g) => {
          const run = g === 0 ? code : new Code();
          return wide ? { ty: 'w4', code: run, lo, hi } : vfrag(ty, (c) => c.append(run).localGet(lo));
        });
      };
      return (g: number): VVal => vexpr(loop.root, g);
    };

    const kind = loop.kind;
    const axis = 'axis' in kind ? kind.axis : -1;
    /** The vector loop's body for `groups` groups of four iterations. */
    const bodyOf = (groups: number): Code => {
      const value = grouped(groups);
      const body = new Code();
      for (let g = 0; g < groups; g++) {
        let v = value(g);
        if (v.ty === 'wide') throw new NotVectorizable('a wide result');
        if (v.ty === 'w4') v = vRound(v);
        if ('axis' in kind) {
          const elt = itemSize(kernel.outDtype);
          body.localGet(0);
          if (kernel.outDtype === 'bool') {
            const s = this.vscratch('va');
            body.append(norm(v).code).localTee(s).localGet(s).op('i16x8.narrow_i32x4_u').localTee(s).localGet(s).op('i8x16.narrow_i16x8_u').memLane('v128.store32_lane', 0, 4 * g, 0);
          } else body.append(v.code).mem('v128.store', 16 * g * (elt / 4), 0);
        } else {
          const { op, acc, dtype } = kind as { op: 'sum' | 'prod' | 'max' | 'min'; acc: string; dtype: DType };
          const partial = this.vectorAccumulator(op, acc, dtype, loop.root.dtype);
          pre.append(partial.init);
          body.append(partial.step(norm(v)));
          after.append(partial.finish);
        }
      }
      if ('axis' in kind) body.localGet(0).i32Const(4 * groups * itemSize(kernel.outDtype)).op('i32.add').localSet(0);
      return body;
    };
    // An output loop computing reductions takes four groups (sixteen outputs) at a time first:
    // each step of the reductions then reads a whole cache line of each row.
    const wideGroups = 'axis' in kind && [...uses.keys()].some((e) => e.k === 'reduce') ? 4 : 1;
    const bodies = wideGroups > 1 ? [bodyOf(wideGroups), bodyOf(1)] : [bodyOf(1)];

    // while (i + 4·groups <= end) { body; i += 4·groups }, for each body in turn
    const code = new Code().append(pre);
    code.append(axis === this.splitAxis ? new Code().localGet(this.lo) : new Code().i32Const(0)).localSet(iv);
    bodies.forEach((body, k) => {
      const step = 4 * (k === 0 ? wideGroups : 1);
      code.block().loop().localGet(iv).i32Const(step - 1).op('i32.add');
      this.loopEnd(axis, loop.size)(code);
      code.op('i32.ge_s').brIf(1).append(body).localGet(iv).i32Const(step).op('i32.add').localSet(iv).br(0).end().end();
    });
    return code.append(after);
  }

  /**
   * How the vector loop of a reduction folds four body values per iteration into the
   * accumulator `acc`: `init` (before the loop), `step` (the lanes on the stack) and `finish`
   * (after it, before the scalar loop takes the remaining iterations).
   *
   * - float32 sum: four partial sums, one per lane, in f64 (two f64x2 accumulators: lanes 0–1
   *   and 2–3), combined after the loop as acc + ((p0 + p2) + (p1 + p3)). Each partial adds
   *   at most ⌈n/4⌉ terms and three more additions combine them, so the f64 result differs
   *   from the exact sum by at most γ_{⌈n/4⌉+3}·Σ|x| (γ_k = k·2⁻⁵³/(1 − k·2⁻⁵³)), against
   *   γ_{n−1}·Σ|x| for the oracle's sequential f64 sum: both are far below the final f32
   *   rounding, so the two results differ by at most about an f32 ulp of the sum (plus
   *   2γ_n·Σ|x| under heavy cancellation). The order depends only on the row length, never on
   *   the thread count (threads split output rows, not reductions): results are deterministic.
   * - max/min (any dtype), integer and bool sums: one vector accumulator with the lane-wise op,
   *   folded lane by lane after the loop. These ops are associative and commutative exactly
   *   (wrap-around integer addition; max/min propagate NaN and order −0 < +0 in any order),
   *   so the result equals the sequential one bit for bit.
   * - products: each body value is folded in the scalar loop's order (f64 products are not
   *   reassociated), as before.
   */
  private vectorAccumulator(op: 'sum' | 'prod' | 'max' | 'min', acc: string, dtype: DType, bodyTy: DType): { init: Code; step: (v: VFrag) => Code; finish: Code } {
    const fold = (c: Code, x: Frag): Code => c.append(this.assign(acc, this.accumulate(op, this.ref(acc), x, dtype)).code);
    const laneOf = (local: number, l: number): Frag =>
      bodyTy === 'float32' ? frag('f32', (c) => c.localGet(local).lane('f32x4.extract_lane', l)) : frag('i32', (c) => c.localGet(local).lane('i32x4.extract_lane', l));
    if (op === 'prod' || dtype !== bodyTy) {
      // acc = acc ⊕ lane 0, then ⊕ lane 1, … (the renderer's own scalar accumulate)
      const lanes = this.fn.local('v128');
      return {
        init: new Code(),
        step: (v) => {
          const c = new Code().append(v.code).localSet(lanes);
          for (let l = 0; l < 4; l++) fold(c, laneOf(lanes, l));
          return c;
        },
        finish: new Code(),
      };
    }
    if (dtype === 'float32' && op === 'sum') {
      const [lo, hi, t] = [this.fn.local('v128'), this.fn.local('v128'), this.fn.local('v128')];
      const high = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
      const total = frag('f64', (c) => c.localGet(lo).localGet(hi).op('f64x2.add').localTee(t).lane('f64x2.extract_lane', 0).localGet(t).lane('f64x2.extract_lane', 1).op('f64.add'));
      return {
        init: new Code().f64Const(0).op('f64x2.splat').localTee(lo).localSet(hi),
        step: (v) =>
          new Code().append(v.code).localTee(t).op('f64x2.promote_low_f32x4').localGet(lo).op('f64x2.add').localSet(lo)
            .localGet(t).localGet(t).shuffle(high).op('f64x2.promote_low_f32x4').localGet(hi).op('f64x2.add').localSet(hi),
        finish: fold(new Code(), total),
      };
    }
    if (dtype === 'float32') return this.floatExtremum(op as 'max' | 'min', fold);
    const a = this.fn.local('v128');
    const identity = reduceIdentity(op, dtype);
    const init = i4const(this, this.constant(identity, dtype).k!);
    const current = vfrag('i4', (c) => c.localGet(a));
    const finish = new Code();
    for (let l = 0; l < 4; l++) fold(finish, laneOf(a, l));
    return {
      init: new Code().append(init.code).localSet(a),
      step: (v) => new Code().append(vBinary(this, op === 'sum' ? 'add' : op, current, v, dtype).code).localSet(a),
      finish,
    };
  }

  /**
   * float32 max/min over four lanes without `f32x4.max`'s long dependency chain (V8 expands it
   * to a NaN- and zero-fixing sequence): each value's bits b become the integer key
   * b ^ ((b >> 31) & 0x7fffffff), whose signed order is the float order with −0 < +0, and the
   * lanes keep the largest (smallest) key with `i32x4.max_s` (`min_s`); a second accumulator
   * ORs the lanes' x ≠ x masks. After the loop the keys map back (the map is its own
   * inverse), lanes that saw a NaN become NaN, and the lanes fold into the accumulator with
   * the scalar max/min. Exactly the sequential result: max/min is associative and commutative.
   */
  private floatExtremum(op: 'max' | 'min', fold: (c: Code, x: Frag) => Code): { init: Code; step: (v: VFrag) => Code; finish: Code } {
    const [keys, nans, t] = [this.fn.local('v128'), this.fn.local('v128'), this.fn.local('v128')];
    const toKey = (c: Code): Code => c.localTee(t).localGet(t).i32Const(31).op('i32x4.shr_s').append(i4const(this, 0x7fffffff).code).ops('v128.and', 'v128.xor');
    const start = op === 'max' ? -Infinity : Infinity;
    const finish = new Code().append(f4const(this, NaN).code).localGet(keys);
    toKey(finish).localGet(nans).op('v128.bitselect').localSet(keys);
    for (let l = 0; l < 4; l++) fold(finish, frag('f32', (c) => c.localGet(keys).lane('f32x4.extract_lane', l)));
    return {
      init: toKey(new Code().append(f4const(this, start).code)).localSet(keys).append(i4const(this, 0).code).localSet(nans),
      step: (v) =>
        toKey(new Code().append(v.code)).localGet(keys).op(op === 'max' ? 'i32x4.max_s' : 'i32x4.min_s').localSet(keys)
          .localGet(t).localGet(t).op('f32x4.ne').localGet(nans).op('v128.or').localSet(nans),
      finish,
    };
  }

  /** A load in the vector loop: `v128.load` where the index is (invariant) + i, else four scalar loads. */
  private vectorLoad(e: Extract<Expr, { k: 'load' }>, loop: InnerLoop, pre: Code, group = 0, bases?: Map<Expr, number>): VFrag {
    const iv = this.localOf(loop.v);
    const ty = e.dtype === 'float32' ? 'f4' : 'i4';
    const shift = Math.log2(itemSize(e.dtype));
    const terms = this.contiguousTerms(e.index, loop);
    const [lo, hi] = this.ranges.of(e.index);
    // Group g reads elements i + 4g … i + 4g + 3: a constant byte offset.
    const offset = 4 * group * itemSize(e.dtype);
    const load = (c: Code): void => {
      if (e.dtype === 'bool') c.mem('v128.load32_zero', offset, 0).ops('i16x8.extend_low_i8x16_u', 'i32x4.extend_low_i16x8_u');
      else c.mem('v128.load', offset, 0);
    };
    const cached = bases?.get(e);
    if (cached !== undefined)
      return vfrag(ty, (c) => {
        c.localGet(cached).localGet(iv);
        if (shift) c.i32Const(shift).op('i32.shl');
        load(c.op('i32.add'));
      });
    if (terms && lo >= 0) {
      this.maxIndex[e.buf] = Math.max(this.maxIndex[e.buf], hi);
      // address of element (Σ terms) + i = in + (Σ terms) << shift + i << shift
      const base = this.fn.local('i32');
      bases?.set(e, base);
      pre.localGet(1 + 2 * e.buf);
      if (terms.length) {
        terms.forEach(([sign, t], k) => {
          if (k === 0 && sign < 0) pre.i32Const(0);
          pre.append(this.scalarOf(t, loop).code);
          if (k > 0 || sign < 0) pre.op(sign < 0 ? 'i32.sub' : 'i32.add');
        });
        if (shift) pre.i32Const(shift).op('i32.shl');
        pre.op('i32.add');
      }
      pre.localSet(base);
      return vfrag(ty, (c) => {
        c.localGet(base).localGet(iv);
        if (shift) c.i32Const(shift).op('i32.shl');
        load(c.op('i32.add'));
      });
    }
    // Gather: the scalar load at i + 4g, …, i + 4g + 3 (the loop variable is stepped and restored).
    const one = this.load(e.buf, this.scalarOf(e.index, loop), e.dtype, e.index);
    const lanes = ty === 'f4' ? 'f32x4' : 'i32x4';
    return vfrag(ty, (c) => {
      for (let l = 0; l < 4; l++) {
        const by = l === 0 ? 4 * group : 1;
        if (by) c.localGet(iv).i32Const(by).op('i32.add').localSet(iv);
        c.append(one.code);
        if (l === 0) c.op(`${lanes}.splat`);
        else c.lane(`${lanes}.replace_lane`, l);
      }
      c.localGet(iv).i32Const(3 + 4 * group).op('i32.sub').localSet(iv);
    });
  }

  /** `index` as (Σ ± invariant terms) + i, or null if it is not of that form. */
  private contiguousTerms(index: Expr, loop: InnerLoop): [number, Expr][] | null {
    if (index.k === 'var') return index.name === loop.v ? [] : null;
    if (index.k !== 'bin' || index.dtype !== 'int32') return null;
    const { op, a, b } = index;
    if (op === 'add' && !loop.varies(a)) {
      const r = this.contiguousTerms(b, loop);
      return r && [[1, a], ...r];
    }
    if ((op === 'add' || op === 'sub') && !loop.varies(b)) {
      const r = this.contiguousTerms(a, loop);
      return r && [...r, [op === 'add' ? 1 : -1, b]];
    }
    return null;
  }

  /**
   * Scalar code for `e` inside the innermost loop but outside the emitter's statements:
   * temporaries bound outside the loop are read, everything else is computed inline.
   */
  private scalarOf(e: Expr, loop: InnerLoop): Frag {
    const name = loop.outerName(e);
    if (name !== undefined) return this.ref(name);
    switch (e.k) {
      case 'const': return this.constant(e.v, e.dtype);
      case 'var': return this.ref(e.name);
      case 'load': return this.load(e.buf, this.scalarOf(e.index, loop), e.dtype, e.index);
      case 'un': return this.unary(e.op, this.scalarOf(e.x, loop), e.x.dtype);
      case 'bin': return this.binary(e.op, this.scalarOf(e.a, loop), this.scalarOf(e.b, loop), e.a.dtype);
      case 'select': return this.select(this.scalarOf(e.c, loop), this.scalarOf(e.t, loop), this.scalarOf(e.f, loop));
      case 'cast': return this.cast(this.scalarOf(e.x, loop), e.x.dtype, e.dtype);
      case 'bitcast': return this.bitcast(this.scalarOf(e.x, loop), e.x.dtype, e.dtype);
      case 'reduce': throw new NotVectorizable('a reduction without a temporary');
    }
  }
  logicalAnd(a: Frag, b: Frag): Frag {
    return frag('i32', (c) => c.append(a.code).append(b.code).op('i32.and'));
  }
  logicalOr(a: Frag, b: Frag): Frag {
    return frag('i32', (c) => c.append(a.code).append(b.code).op('i32.or'));
  }
  line(stmts: Frag[]): Frag {
    return frag(null, (c) => stmts.forEach((s) => c.append(s.code)));
  }
  indent(stmt: Frag): Frag {
    return stmt;
  }
  argIndex(vars: readonly { readonly name: string; readonly size: number }[]): Frag {
    return frag('i32', (c) =>
      vars.forEach((v, k) => {
        if (k > 0) c.i32Const(v.size).op('i32.mul');
        c.localGet(this.localOf(v.name));
        if (k > 0) c.op('i32.add');
      }));
  }

  /** Float sums and products accumulate in f64, as the oracle does. */
  override accumulate(op: 'sum' | 'prod' | 'max' | 'min', acc: Frag, x: Frag, dtype: DType): Frag {
    if (dtype === 'float32' && (op === 'sum' || op === 'prod'))
      return frag('f64', (c) => c.append(toF64(acc).code).append(toF64(x).code).op(op === 'sum' ? 'f64.add' : 'f64.mul'));
    return super.accumulate(op, acc, x, dtype);
  }
  /** The accumulator's type: f64 for float sums and products, and wherever the body is already f64. */
  override reduceInit(op: ReduceOp, dtype: DType, body?: Frag): Frag {
    const v = reduceIdentity(op, dtype);
    if (dtype === 'float32' && (op === 'sum' || op === 'prod' || body?.ty === 'f64')) return frag('f64', (c) => c.f64Const(v));
    return this.constant(v, dtype);
  }
}

/** A memoised map from an expression to its free index variables (a reduction binds its own). */
function freeVariables(): (e: Expr) => ReadonlySet<string> {
  const memo = new Map<Expr, Set<string>>();
  const free = (e: Expr): Set<string> => {
    let out = memo.get(e);
    if (out) return out;
    out = e.k === 'var' ? new Set([e.name]) : new Set(children(e).flatMap((c) => [...free(c)]));
    if (e.k === 'reduce') for (const v of e.vars) out.delete(v.name);
    memo.set(e, out);
    return out;
  };
  return free;
}
