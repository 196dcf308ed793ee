/**
 * A little structure over `FunctionBuilder` for hand-written routines: typed locals and
 * counted loops, so that a routine reads as nested loops rather than raw block/br pairs.
 */
import { Code, FunctionBuilder, type ModuleBuilder, type ValType } from './encoder.js';

/** An i32 operand: a local's index (`{ local }`), a constant, or code pushing it. */
export type I32 = number | { readonly local: number } | ((c: Code) => unknown);

export class Asm {
  readonly fn: FunctionBuilder;
  readonly c: Code;
  constructor(params: readonly ValType[], results: readonly ValType[] = []) {
    this.fn = new FunctionBuilder(params, results);
    this.c = this.fn.body;
  }

  local(type: ValType): number {
    return this.fn.local(type);
  }
  i32(): number {
    return this.fn.local('i32');
  }
  v128(): number {
    return this.fn.local('v128');
  }

  /** Push an i32 operand. */
  push(x: I32): this {
    pushI32(this.c, x);
    return this;
  }
  /** local = x */
  set(local: number, x: I32): this {
    this.push(x);
    this.c.localSet(local);
    return this;
  }
  /** local += x */
  addTo(local: number, x: I32): this {
    this.c.localGet(local);
    this.push(x);
    this.c.op('i32.add').localSet(local);
    return this;
  }

  /** `for (i = from; i < to; i += step) body()` (signed comparison; `to` is re-evaluated each time). */
  for(i: number, from: I32, to: I32, step: I32, body: () => void): this {
    this.set(i, from);
    this.c.block().loop();
    this.c.localGet(i);
    this.push(to);
    this.c.op('i32.ge_s').brIf(1);
    body();
    this.addTo(i, step);
    this.c.br(0).end().end();
    return this;
  }

  /** `while (i <u end) body()` (unsigned: byte addresses may pass 2³¹; `end` is re-evaluated each time). */
  upTo(i: number, end: I32, body: () => void): this {
    return this.while((c) => {
      c.localGet(i);
      this.push(end);
      c.op('i32.lt_u');
    }, body);
  }

  /** `while (cond) body()`: `cond` pushes an i32. */
  while(cond: (c: Code) => unknown, body: () => void): this {
    this.c.block().loop();
    cond(this.c);
    this.c.op('i32.eqz').brIf(1);
    body();
    this.c.br(0).end().end();
    return this;
  }

  /** `if (cond) then() [else otherwise()]`. */
  if(cond: (c: Code) => unknown, then: () => void, otherwise?: () => void): this {
    cond(this.c);
    this.c.if();
    then();
    if (otherwise) {
      this.c.else();
      otherwise();
    }
    this.c.end();
    return this;
  }
}

/** A local's index as an i32 operand. */
export const L = (local: number): I32 => ({ local });

/** Push an i32 operand onto `c`. */
export function pushI32(c: Code, x: I32): void {
  if (typeof x === 'number') c.i32Const(x);
  else if (typeof x === 'function') x(c);
  else c.localGet(x.local);
}

/** Code pushing min(a, b) of two i32 operands (signed). */
export const minI32 = (a: I32, b: I32) => (c: Code) => {
  for (const x of [a, b, a, b]) pushI32(c, x);
  c.op('i32.lt_s').op('select');
};

/**
 * Scratch locals of `fn` by role and type: the same local for every request of one role and
 * type (for temporaries whose uses never overlap, such as the math expansions' registers).
 */
export function scratchLocals(fn: FunctionBuilder): (role: string, ty: ValType) => number {
  const locals = new Map<string, number>();
  return (role, ty) => {
    const key = `${role}:${ty}`;
    let i = locals.get(key);
    if (i === undefined) locals.set(key, (i = fn.local(ty)));
    return i;
  };
}

/**
 * Code pushing a v128 constant, held in a mutable global of `mod` (one per distinct value): V8
 * materialises a `v128.const` at every use (three instructions each, in a loop), while a
 * mutable global is one load, usually folded into the instruction that uses it.
 */
export function vectorConstants(mod: ModuleBuilder): (bytes: Uint8Array) => (c: Code) => unknown {
  const globals = new Map<string, number>();
  return (bytes) => {
    const key = bytes.join(',');
    let g = globals.get(key);
    if (g === undefined) globals.set(key, (g = mod.addGlobal('v128', true, new Code().v128Const(bytes))));
    const index = g;
    return (c) => c.globalGet(index);
  };
}
