/**
 * A WebAssembly binary encoder: instruction sequences (`Code`), functions with locals
 * (`FunctionBuilder`) and modules (`ModuleBuilder`: types, imports including an imported
 * memory, functions, exports). Instruction sequences compose by concatenation, which is how
 * the kernel renderer builds expressions on the stack machine.
 *
 * Reference: the WebAssembly core specification 2.0, "Binary format", plus the SIMD128 and
 * non-trapping float-to-int proposals (both standard and validated by Node 20).
 */
import { OPS, type LaneOp, type MemLaneOp, type MemOp, type PlainOp } from './opcodes.js';

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
export const VALTYPE: Readonly<Record<ValType, number>> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };
/** A block's result: none, or one value. */
export type BlockType = ValType | null;

// ------------------------------------------------------------------ scalar encodings

/** Unsigned LEB128 of a u32. */
export function writeU32(out: number[], n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`wasm encoder: ${n} is not a u32`);
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

/** Signed LEB128 of an i32 (an unsigned value ≥ 2³¹ is taken as its two's complement). */
export function writeI32(out: number[], n: number): void {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) throw new RangeError(`wasm encoder: ${n} is not an i32`);
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** Signed LEB128 of an i64. */
export function writeI64(out: number[], n: bigint): void {
  n = BigInt.asIntN(64, n);
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

const scratch = new DataView(new ArrayBuffer(8));
function writeF32(out: number[], v: number): void {
  scratch.setFloat32(0, v, true);
  for (let i = 0; i < 4; i++) out.push(scratch.getUint8(i));
}
function writeF64(out: number[], v: number): void {
  scratch.setFloat64(0, v, true);
  for (let i = 0; i < 8; i++) out.push(scratch.getUint8(i));
}
const utf8 = new TextEncoder();
function writeName(out: number[], s: string): void {
  if (/^[\x00-\x7f]*$/.test(s)) {
    writeU32(out, s.length);
    for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
    return;
  }
  const b = utf8.encode(s);
  writeU32(out, b.length);
  for (const x of b) out.push(x);
}
function writeVec<T>(out: number[], xs: readonly T[], item: (x: T) => void): void {
  writeU32(out, xs.length);
  xs.forEach(item);
}

// ------------------------------------------------------------------ instructions

/** An instruction sequence; every method appends and returns `this`. */
export class Code {
  readonly bytes: number[] = [];

  private opcode(code: number): void {
    if (code > 0xff) {
      this.bytes.push(code >>> 16);
      writeU32(this.bytes, code & 0xffff);
    } else this.bytes.push(code);
  }

  /** An instruction without immediates (reserved zero bytes are written for memory.size/grow/fill/copy). */
  op(name: PlainOp): this {
    const [code, imm] = OPS[name];
    this.opcode(code);
    if (imm === 'zero') this.bytes.push(0);
    else if (imm === 'zero2') this.bytes.push(0, 0);
    return this;
  }
  /** Several immediate-free instructions in order. */
  ops(...names: PlainOp[]): this {
    for (const n of names) this.op(n);
    return this;
  }
  /** A load or store; `align` defaults to the natural alignment (log2 of bytes). */
  mem(name: MemOp, offset = 0, align?: number): this {
    const [code, , natural] = OPS[name];
    this.opcode(code);
    writeU32(this.bytes, align ?? natural);
    writeU32(this.bytes, offset);
    return this;
  }
  lane(name: LaneOp, lane: number): this {
    this.opcode(OPS[name][0]);
    this.bytes.push(lane);
    return this;
  }
  /** A load or store of one lane: memarg (natural alignment unless given), then the lane. */
  memLane(name: MemLaneOp, lane: number, offset = 0, align?: number): this {
    const [code, , natural] = OPS[name];
    this.opcode(code);
    writeU32(this.bytes, align ?? natural);
    writeU32(this.bytes, offset);
    this.bytes.push(lane);
    return this;
  }
  /** `i8x16.shuffle`: 16 byte indices into the concatenation of the two operands (0–31). */
  shuffle(lanes: ArrayLike<number>): this {
    if (lanes.length !== 16 || Array.prototype.some.call(lanes, (l: number) => !(l >= 0 && l < 32)))
      throw new RangeError('wasm encoder: i8x16.shuffle needs 16 lane indices in [0, 32)');
    this.opcode(OPS['i8x16.shuffle'][0]);
    for (let i = 0; i < 16; i++) this.bytes.push(lanes[i]);
    return this;
  }

  i32Const(v: number): this {
    this.opcode(OPS['i32.const'][0]);
    writeI32(this.bytes, v);
    return this;
  }
  i64Const(v: bigint): this {
    this.opcode(OPS['i64.const'][0]);
    writeI64(this.bytes, v);
    return this;
  }
  f32Const(v: number): this {
    this.opcode(OPS['f32.const'][0]);
    writeF32(this.bytes, v);
    return this;
  }
  f64Const(v: number): this {
    this.opcode(OPS['f64.const'][0]);
    writeF64(this.bytes, v);
    return this;
  }
  /** A v128 constant from its 16 bytes (little-endian lanes). */
  v128Const(bytes: ArrayLike<number>): this {
    if (bytes.length !== 16) throw new RangeError('wasm encoder: v128.const needs 16 bytes');
    this.opcode(OPS['v128.const'][0]);
    for (let i = 0; i < 16; i++) this.bytes.push(bytes[i] & 0xff);
    return this;
  }

  private indexed(code: number, i: number): this {
    this.opcode(code);
    writeU32(this.bytes, i);
    return this;
  }
  localGet(i: number): this {
    return this.indexed(OPS['local.get'][0], i);
  }
  localSet(i: number): this {
    return this.indexed(OPS['local.set'][0], i);
  }
  localTee(i: number): this {
    return this.indexed(OPS['local.tee'][0], i);
  }
  globalGet(i: number): this {
    return this.indexed(OPS['global.get'][0], i);
  }
  globalSet(i: number): this {
    return this.indexed(OPS['global.set'][0], i);
  }
  call(f: number): this {
    return this.indexed(OPS.call[0], f);
  }
  br(depth: number): this {
    return this.indexed(OPS.br[0], depth);
  }
  brIf(depth: number): this {
    return this.indexed(OPS.br_if[0], depth);
  }

  private structured(code: number, type: BlockType): this {
    this.opcode(code);
    this.bytes.push(type === null ? 0x40 : VALTYPE[type]);
    return this;
  }
  block(type: BlockType = null): this {
    return this.structured(OPS.block[0], type);
  }
  loop(type: BlockType = null): this {
    return this.structured(OPS.loop[0], type);
  }
  if(type: BlockType = null): this {
    return this.structured(OPS.if[0], type);
  }
  else(): this {
    return this.op('else');
  }
  end(): this {
    return this.op('end');
  }

  /** Append another sequence. */
  append(c: Code): this {
    for (const b of c.bytes) this.bytes.push(b);
    return this;
  }
  get length(): number {
    return this.bytes.length;
  }
}

// ------------------------------------------------------------------ functions and modules

/** A function under construction: its signature, locals (after the params) and body. */
export class FunctionBuilder {
  readonly locals: ValType[] = [];
  readonly body = new Code();
  constructor(readonly params: readonly ValType[], readonly results: readonly ValType[]) {}

  /** A fresh local of `type`; its index counts the params first. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }
  typeOf(index: number): ValType {
    return index < this.params.length ? this.params[index] : this.locals[index - this.params.length];
  }
}

export interface MemoryLimits {
  /** Pages of 64 KiB. */
  readonly initial: number;
  readonly maximum?: number;
  /** Shared memory (threads) needs a maximum. */
  readonly shared?: boolean;
}

type Import =
  | { kind: 'func'; module: string; name: string; type: number }
  | { kind: 'memory'; module: string; name: string; limits: MemoryLimits };

export class ModuleBuilder {
  private types: { params: readonly ValType[]; results: readonly ValType[] }[] = [];
  private typeKeys = new Map<string, number>();
  private imports: Import[] = [];
  private importedFuncs = 0;
  private funcs: { type: number; fn: FunctionBuilder }[] = [];
  private memories: MemoryLimits[] = [];
  private globals: { type: ValType; mutable: boolean; init: Code }[] = [];
  private exports: { name: string; kind: 0 | 2; index: number }[] = [];

  /** The index of a function type (deduplicated). */
  typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(',')}>${results.join(',')}`;
    let i = this.typeKeys.get(key);
    if (i === undefined) {
      i = this.types.length;
      this.types.push({ params, results });
      this.typeKeys.set(key, i);
    }
    return i;
  }

  /** Import a function; returns its function index. All imports precede defined functions. */
  importFunction(module: string, name: string, params: readonly ValType[], results: readonly ValType[]): number {
    if (this.funcs.length) throw new Error('wasm encoder: import functions before defining any');
    this.imports.push({ kind: 'func', module, name, type: this.typeIndex(params, results) });
    return this.importedFuncs++;
  }
  importMemory(module: string, name: string, limits: MemoryLimits): void {
    checkLimits(limits);
    this.imports.push({ kind: 'memory', module, name, limits });
  }
  /** Define a memory (index 0 unless one is imported). */
  memory(limits: MemoryLimits): number {
    checkLimits(limits);
    this.memories.push(limits);
    return this.memories.length - 1 + this.imports.filter((i) => i.kind === 'memory').length;
  }
  /** Define a global initialised by a constant expression (`init`, without the final `end`); returns its index. */
  addGlobal(type: ValType, mutable: boolean, init: Code): number {
    this.globals.push({ type, mutable, init });
    return this.globals.length - 1;
  }
  /** Add a function; returns its function index. */
  addFunction(fn: FunctionBuilder): number {
    this.funcs.push({ type: this.typeIndex(fn.params, fn.results), fn });
    return this.importedFuncs + this.funcs.length - 1;
  }
  exportFunction(name: string, index: number): void {
    this.exports.push({ name, kind: 0, index });
  }
  exportMemory(name: string, index = 0): void {
    this.exports.push({ name, kind: 2, index });
  }

  build(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, fill: (s: number[]) => void) => {
      const s: number[] = [];
      fill(s);
      out.push(id);
      writeU32(out, s.length);
      for (const b of s) out.push(b);
    };
    const valtypes = (s: number[], ts: readonly ValType[]) => writeVec(s, ts, (t) => s.push(VALTYPE[t]));
    section(1, (s) => writeVec(s, this.types, (t) => (s.push(0x60), valtypes(s, t.params), valtypes(s, t.results))));
    if (this.imports.length)
      section(2, (s) =>
        writeVec(s, this.imports, (im) => {
          writeName(s, im.module);
          writeName(s, im.name);
          if (im.kind === 'func') (s.push(0x00), writeU32(s, im.type));
          else (s.push(0x02), writeLimits(s, im.limits));
        }),
      );
    if (this.funcs.length) section(3, (s) => writeVec(s, this.funcs, (f) => writeU32(s, f.type)));
    if (this.memories.length) section(5, (s) => writeVec(s, this.memories, (m) => writeLimits(s, m)));
    if (this.globals.length)
      section(6, (s) =>
        writeVec(s, this.globals, (g) => {
          s.push(VALTYPE[g.type], g.mutable ? 1 : 0);
          for (const b of g.init.bytes) s.push(b);
          s.push(0x0b);
        }),
      );
    if (this.exports.length) section(7, (s) => writeVec(s, this.exports, (e) => (writeName(s, e.name), s.push(e.kind), writeU32(s, e.index))));
    if (this.funcs.length)
      section(10, (s) =>
        writeVec(s, this.funcs, ({ fn }) => {
          const body: number[] = [];
          // Locals as runs of equal types.
          const runs: [number, ValType][] = [];
          for (const t of fn.locals) {
            const last = runs.at(-1);
            if (last && last[1] === t) last[0]++;
            else runs.push([1, t]);
          }
          writeVec(body, runs, ([n, t]) => (writeU32(body, n), body.push(VALTYPE[t])));
          for (const b of fn.body.bytes) body.push(b);
          body.push(0x0b);
          writeU32(s, body.length);
          for (const b of body) s.push(b);
        }),
      );
    return Uint8Array.from(out);
  }
}

function checkLimits(l: MemoryLimits): void {
  if (l.shared && l.maximum === undefined) throw new Error('wasm encoder: a shared memory needs a maximum');
}
function writeLimits(s: number[], l: MemoryLimits): void {
  s.push(l.maximum === undefined ? 0x00 : l.shared ? 0x03 : 0x01);
  writeU32(s, l.initial);
  if (l.maximum !== undefined) writeU32(s, l.maximum);
}
