/**
 * WebAssembly renderer: a kernel becomes a module exporting one function
 * `kernel(out, in0, n0, in1, n1, …)` (byte addresses into the imported memory and element
 * counts) that writes the output in row-major order. The loop structure, the shared
 * temporaries and the hoisting come from the generic `KernelRenderer` (fragments are
 * instruction sequences: an expression is its operands' code followed by its own); the
 * scalar semantics, identical to the JavaScript oracle, live in `wasm_ops.ts`.
 *
 * Loads: WebAssembly traps outside the memory, while lowering may read out of a buffer where
 * a select then discards the value (concatenate). A load whose index range (interval
 * analysis over the loop domain) is provably ≥ 0 reads unchecked, and the runtime makes sure
 * the memory extends to the largest such index (`maxIndex`); any other load clamps its index
 * to [0, n) first (the value is never used when the clamp changes it).
 *
 * The output loops are scalar for now; the innermost block (level n of the emitter) is where
 * SIMD will go: when its loads are contiguous or constant in the last output index, four
 * elements at a time with f32x4/i32x4 ops and a scalar tail.
 */
import { itemSize, type DType } from '../../dtype.js';
import { IndexRanges } from '../../kernel/index_range.js';
import type { BinOp, Expr, Kernel, ReduceOp, UnOp } from '../../kernel/ir.js';
import { reduceIdentity } from '../../kernel/ir.js';
import { disassemble } from '../wasm/disasm.js';
import { FunctionBuilder, ModuleBuilder, type MemoryLimits, type ValType } from '../wasm/encoder.js';
import type { MemOp } from '../wasm/opcodes.js';
import { KernelRenderer } from './c_style.js';
import {
  binaryOp, bitcastOp, castOp, frag, helperSignature, toF32, toF64, unaryOp,
  type Frag, type HelperName, type OpContext, type WTy,
} from './wasm_ops.js';

export { helperImports } from './wasm_ops.js';

export interface WasmKernel {
  /** The module: imports `env.memory` and the helpers it calls from `m`, exports `kernel`. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Per input, the largest index read without a bounds check (−1 if none). */
  readonly maxIndex: readonly number[];
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

type Open = { kind: 'for'; v: number; n: number } | { kind: 'if' };

class WasmKernelRenderer extends KernelRenderer<Frag> implements OpContext {
  private module = new ModuleBuilder();
  private fn: FunctionBuilder;
  private locals = new Map<string, number>();
  private scratches = new Map<string, number>();
  private helpers = new Map<HelperName, number>();
  private open: Open[] = [];
  private ranges: IndexRanges;
  private maxIndex: number[];

  constructor(private kernel: Kernel, private memory: MemoryLimits) {
    super();
    this.module.importMemory('env', 'memory', memory);
    this.fn = new FunctionBuilder(['i32', ...kernel.inputs.flatMap((): ValType[] => ['i32', 'i32'])], []);
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
    return { bytes, maxIndex: this.maxIndex, listing: () => this.listing() };
  }

  private listing(): string {
    const { kernel, memory, fn } = this;
    const params = ['(param $out i32)', ...kernel.inputs.flatMap((d, k) => [`(param $in${k} i32)`, `(param $n${k} i32)`])];
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

  // ---- OpContext ----
  scratch(role: 'a' | 'b', ty: WTy): number {
    const key = `${role}:${ty}`;
    let i = this.scratches.get(key);
    if (i === undefined) this.scratches.set(key, (i = this.fn.local(ty)));
    return i;
  }
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
  forOpen(v: string, n: number): Frag {
    const i = this.localOf(v);
    this.open.push({ kind: 'for', v: i, n });
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
    return frag(null, (c) => {
      c.localGet(o.v).i32Const(1).op('i32.add').localTee(o.v).i32Const(o.n).ops('i32.lt_s').brIf(0).end();
      if (o.n <= 0) c.end();
    });
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
