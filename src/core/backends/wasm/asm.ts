/**
 * A little structure over `FunctionBuilder` for hand-written routines: typed locals and
 * counted loops, so that a routine reads as nested loops rather than raw block/br pairs.
 */
import { Code, FunctionBuilder, type ValType } from './encoder.js';

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
