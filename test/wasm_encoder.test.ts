/**
 * The WebAssembly binary encoder: LEB128 and constants, then small modules instantiated and
 * run — integer/float arithmetic, comparisons, conversions, loads and stores with offsets,
 * control flow, locals, calls (imported and defined), an imported (shared) memory and the
 * SIMD128 subset — and the disassembler reading back what was written.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { disassemble } from '../src/core/backends/wasm/disasm.js';
import { Code, FunctionBuilder, ModuleBuilder, writeI32, writeI64, writeU32, type ValType } from '../src/core/backends/wasm/encoder.js';

const bytesOf = (f: (out: number[]) => void): number[] => {
  const out: number[] = [];
  f(out);
  return out;
};

/** A module with one exported function `f` (and a defined, exported memory unless `memory` is false). */
function single(params: ValType[], results: ValType[], body: (c: Code, fn: FunctionBuilder) => void, opts: { memory?: boolean; imports?: Record<string, unknown> } = {}) {
  const m = new ModuleBuilder();
  if (opts.memory !== false) {
    m.memory({ initial: 1 });
    m.exportMemory('mem');
  }
  const fn = new FunctionBuilder(params, results);
  body(fn.body, fn);
  m.exportFunction('f', m.addFunction(fn));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(m.build()), (opts.imports ?? {}) as WebAssembly.Imports);
  return { f: inst.exports.f as (...a: any[]) => any, mem: inst.exports.mem as WebAssembly.Memory | undefined, body: fn.body };
}

test('LEB128: unsigned and signed encodings', () => {
  assert.equal(bytesOf((o) => writeU32(o, 0)), [0]);
  assert.equal(bytesOf((o) => writeU32(o, 127)), [0x7f]);
  assert.equal(bytesOf((o) => writeU32(o, 128)), [0x80, 0x01]);
  assert.equal(bytesOf((o) => writeU32(o, 624485)), [0xe5, 0x8e, 0x26]);
  assert.equal(bytesOf((o) => writeU32(o, 0xffffffff)), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.equal(bytesOf((o) => writeI32(o, 63)), [0x3f]);
  assert.equal(bytesOf((o) => writeI32(o, 64)), [0xc0, 0x00]);
  assert.equal(bytesOf((o) => writeI32(o, -1)), [0x7f]);
  assert.equal(bytesOf((o) => writeI32(o, -64)), [0x40]);
  assert.equal(bytesOf((o) => writeI32(o, -65)), [0xbf, 0x7f]);
  assert.equal(bytesOf((o) => writeI32(o, -123456)), [0xc0, 0xbb, 0x78]);
  assert.equal(bytesOf((o) => writeI32(o, 0xffffffff)), [0x7f], 'an unsigned value is its two’s complement');
  assert.equal(bytesOf((o) => writeI64(o, -1n)), [0x7f]);
  assert.equal(bytesOf((o) => writeI64(o, 2n ** 40n)), [0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
  assert.throws(() => writeU32([], -1), /u32/);
  assert.throws(() => writeI32([], 2 ** 33), /i32/);
});

test('i32 and i64 arithmetic, comparisons and constants', () => {
  const { f } = single(['i32', 'i32'], ['i32'], (c) => c.localGet(0).localGet(1).op('i32.mul').i32Const(-7).op('i32.add'));
  assert.is(f(6, 7), 35);
  assert.is(f(0x10000, 0x10000), -7, 'wraps');
  const div = single(['i32', 'i32'], ['i32'], (c) => c.localGet(0).localGet(1).op('i32.div_u')).f;
  assert.is(div(-1, 2), 0x7fffffff);
  const cmp = single(['i32', 'i32'], ['i32'], (c) => c.localGet(0).localGet(1).op('i32.lt_u').localGet(0).localGet(1).op('i32.lt_s').i32Const(2).ops('i32.mul', 'i32.add')).f;
  assert.is(cmp(-1, 1), 2);
  assert.is(cmp(1, -1), 1);
  const big = single(['i64', 'i64'], ['i64'], (c) => c.localGet(0).localGet(1).op('i64.mul').i64Const(-(2n ** 40n)).op('i64.add')).f;
  assert.is(big(3n * 2n ** 20n, 2n ** 20n), 2n * 2n ** 40n);
  const shifts = single(['i32', 'i32'], ['i32'], (c) => c.localGet(0).localGet(1).op('i32.shr_s')).f;
  assert.is(shifts(-8, 33), -4, 'shift counts are taken mod 32');
});

test('f32 and f64 arithmetic round like Math.fround', () => {
  const { f } = single(['f32', 'f32'], ['f32'], (c) => c.localGet(0).localGet(1).op('f32.add').f32Const(3).op('f32.mul'));
  assert.is(f(0.1, 0.2), Math.fround(Math.fround(Math.fround(0.1) + Math.fround(0.2)) * 3));
  const g = single(['f64'], ['f64'], (c) => c.localGet(0).op('f64.sqrt').f64Const(0.5).ops('f64.min', 'f64.neg')).f;
  assert.is(g(2), -0.5);
  assert.is(g(0.01), -0.1);
  const near = single(['f32'], ['f32'], (c) => c.localGet(0).op('f32.nearest')).f;
  assert.equal([2.5, 3.5, -2.5, -0.5].map(near), [2, 4, -2, -0]);
});

test('conversions: saturating truncation, demote/promote, reinterpret, extend', () => {
  const sat = single(['f32'], ['i32'], (c) => c.localGet(0).op('i32.trunc_sat_f32_s')).f;
  assert.equal([1.9, -1.9, NaN, 3e9, -3e9].map(sat), [1, -1, 0, 2147483647, -2147483648]);
  const satU = single(['f64'], ['i32'], (c) => c.localGet(0).op('i32.trunc_sat_f64_u')).f;
  assert.equal([5.5, -3, 5e9].map((x) => satU(x) >>> 0), [5, 0, 4294967295]);
  const bits = single(['f32'], ['i32'], (c) => c.localGet(0).op('i32.reinterpret_f32')).f;
  assert.is(bits(1), 0x3f800000);
  const demote = single(['f64'], ['f32'], (c) => c.localGet(0).ops('f32.demote_f64', 'f64.promote_f32', 'f32.demote_f64')).f;
  assert.is(demote(0.1), Math.fround(0.1));
  const ext = single(['i32'], ['i64'], (c) => c.localGet(0).op('i64.extend_i32_u')).f;
  assert.is(ext(-1), 2n ** 32n - 1n);
  const conv = single(['i32'], ['f32'], (c) => c.localGet(0).op('f32.convert_i32_u')).f;
  assert.is(conv(-1), Math.fround(2 ** 32 - 1));
});

test('loads and stores with offsets and alignment, memory.size/grow', () => {
  const { f, mem } = single(['i32'], ['i32'], (c) =>
    c.localGet(0).i32Const(0x01020304).mem('i32.store', 8)
      .localGet(0).mem('i32.load8_u', 9)
      .localGet(0).f32Const(1.5).mem('f32.store', 16, 0)
      .localGet(0).mem('f32.load', 16).op('i32.trunc_sat_f32_s').op('i32.add')
      .op('memory.size').op('i32.add'));
  assert.is(f(100), 3 + 1 + 1);
  assert.is(new Uint8Array(mem!.buffer)[108], 4);
  assert.is(new Uint32Array(mem!.buffer, 108, 1)[0], 0x01020304);
  const grow = single([], ['i32'], (c) => c.i32Const(1).op('memory.grow').op('memory.size').op('i32.add')).f;
  assert.is(grow(), 1 + 2);
});

test('control flow: loop with br_if, block exit, if/else with a result, select, locals', () => {
  // sum of 0..n-1, stopping early at 100
  const { f } = single(['i32'], ['i32'], (c, fn) => {
    const i = fn.local('i32'), acc = fn.local('i32');
    c.block().loop()
      .localGet(i).localGet(0).op('i32.ge_s').brIf(1)
      .localGet(acc).localGet(i).op('i32.add').localTee(acc).i32Const(100).op('i32.gt_s').brIf(1)
      .localGet(i).i32Const(1).op('i32.add').localSet(i).br(0)
      .end().end()
      .localGet(acc);
  });
  assert.is(f(5), 10);
  assert.is(f(0), 0);
  assert.is(f(1000), 105);
  const sign = single(['f32'], ['f32'], (c) => c.localGet(0).f32Const(0).op('f32.lt').if('f32').f32Const(-1).else().f32Const(1).end()).f;
  assert.equal([sign(-3), sign(2)], [-1, 1]);
  const sel = single(['i32', 'i32', 'i32'], ['i32'], (c) => c.localGet(0).localGet(1).localGet(2).op('select')).f;
  assert.equal([sel(7, 8, 1), sel(7, 8, 0)], [7, 8]);
});

test('calls: imported JS functions and defined functions', () => {
  const m = new ModuleBuilder();
  const exp = m.importFunction('m', 'exp', ['f64'], ['f64']);
  const twice = new FunctionBuilder(['f64'], ['f64']);
  twice.body.localGet(0).localGet(0).op('f64.add');
  const twiceIdx = m.addFunction(twice);
  const main = new FunctionBuilder(['f64'], ['f64']);
  main.body.localGet(0).call(exp).call(twiceIdx);
  m.exportFunction('main', m.addFunction(main));
  assert.throws(() => m.importFunction('m', 'late', [], []), /before/);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(m.build()), { m: { exp: Math.exp } });
  assert.is((inst.exports.main as (x: number) => number)(1), 2 * Math.E);
});

test('an imported shared memory (threads) and an imported plain memory', () => {
  for (const shared of [true, false]) {
    const limits = shared ? { initial: 1, maximum: 4, shared: true } : { initial: 1 };
    const memory = new WebAssembly.Memory(limits);
    const m = new ModuleBuilder();
    m.importMemory('env', 'memory', limits);
    const fn = new FunctionBuilder(['i32', 'i32'], []);
    fn.body.localGet(0).localGet(1).mem('i32.store');
    m.exportFunction('poke', m.addFunction(fn));
    const inst = new WebAssembly.Instance(new WebAssembly.Module(m.build()), { env: { memory } });
    (inst.exports.poke as (a: number, v: number) => void)(64, 1234);
    assert.is(new Int32Array(memory.buffer)[16], 1234);
    assert.is(memory.buffer instanceof SharedArrayBuffer, shared);
  }
  assert.throws(() => new ModuleBuilder().importMemory('env', 'memory', { initial: 1, shared: true }), /maximum/);
});

test('SIMD128: v128 loads/stores, f32x4/i32x4 arithmetic, splat, lanes, conversions', () => {
  const { f, mem } = single(['i32'], ['f32'], (c) =>
    // out[0..3] = a[0..3] * b[0..3] + splat(0.5); returns lane 2 of sqrt(out)
    c.localGet(0).op('i32x4.splat').op('drop').i32Const(64)
      .i32Const(0).mem('v128.load').i32Const(16).mem('v128.load').op('f32x4.mul').f32Const(0.5).op('f32x4.splat').op('f32x4.add')
      .mem('v128.store')
      .i32Const(64).mem('v128.load').op('f32x4.sqrt').lane('f32x4.extract_lane', 2));
  const view = new Float32Array(mem!.buffer);
  view.set([1, 2, 3, 4], 0);
  view.set([5, 6, 7, 8], 4);
  assert.is(f(0), Math.fround(Math.sqrt(21.5)));
  assert.equal([...view.subarray(16, 20)], [5.5, 12.5, 21.5, 32.5]);
  const ints = single(['i32', 'i32'], ['i32'], (c) =>
    c.localGet(0).op('i32x4.splat').localGet(1).op('i32x4.splat').op('i32x4.mul').v128Const([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]).op('i32x4.add')
      .op('f32x4.convert_i32x4_s').f32Const(0.5).lane('f32x4.replace_lane', 1).op('i32x4.trunc_sat_f32x4_s').lane('i32x4.extract_lane', 3)).f;
  assert.is(ints(6, 7), 46);
  const cmp = single(['f32'], ['i32'], (c) =>
    c.localGet(0).op('f32x4.splat').f32Const(1).op('f32x4.splat').op('f32x4.gt').op('i32x4.bitmask')).f;
  assert.equal([cmp(2), cmp(0)], [15, 0]);
});

test('SIMD128: shuffles, lane stores, f64x2 halves, narrowing; globals', () => {
  const m = new ModuleBuilder();
  m.memory({ initial: 1 });
  m.exportMemory('mem');
  const g = m.addGlobal('v128', true, new Code().v128Const(new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer)));
  const fn = new FunctionBuilder(['i32'], []);
  const v = fn.local('v128');
  // mem[x..x+3]: the bytes of g as u8 (narrowed twice, lane 1 of four copies); mem[x+16..]: g reversed;
  // mem[x+32..]: g / 2 in f64 halves, demoted and joined
  const rev = [12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3];
  fn.body.localGet(0).globalGet(g).op('i32x4.trunc_sat_f32x4_u').localTee(v).localGet(v).op('i16x8.narrow_i32x4_u').localTee(v).localGet(v)
    .op('i8x16.narrow_i16x8_u').memLane('v128.store32_lane', 1, 0, 0);
  fn.body.localGet(0).globalGet(g).globalGet(g).shuffle(rev).mem('v128.store', 16);
  fn.body.localGet(0).i32Const(16).op('i32.add').globalGet(g).op('f64x2.promote_low_f32x4').f64Const(2).op('f64x2.splat').op('f64x2.div').op('f32x4.demote_f64x2_zero')
    .globalGet(g).globalGet(g).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]).op('f64x2.promote_low_f32x4').f64Const(2).op('f64x2.splat').op('f64x2.div')
    .op('f32x4.demote_f64x2_zero').shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]).mem('v128.store', 16);
  m.exportFunction('f', m.addFunction(fn));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(m.build()), {});
  (inst.exports.f as (x: number) => void)(32);
  const mem = (inst.exports.mem as WebAssembly.Memory).buffer;
  assert.equal([...new Uint8Array(mem, 32, 4)], [1, 2, 3, 4], 'the narrowed bytes');
  assert.equal([...new Float32Array(mem, 48, 4)], [4, 3, 2, 1], 'reversed');
  assert.equal([...new Float32Array(mem, 64, 4)], [0.5, 1, 1.5, 2], 'halved in f64');
  assert.match(disassemble(fn.body.bytes), /global\.get 0\n\s*i8x16\.shuffle 12 13 14 15/);
  assert.match(disassemble(fn.body.bytes), /v128\.store32_lane align=1 1/);
  assert.throws(() => new Code().shuffle([32, ...new Array(15).fill(0)]), /lane indices/);
});

test('the disassembler lists what the encoder wrote', () => {
  const c = new Code().i32Const(-5).localGet(2).op('i32.add').block('f32').f32Const(1.5).end().mem('f64.load', 8).op('i32.trunc_sat_f32_u')
    .lane('f32x4.extract_lane', 3).loop().br(0).end();
  assert.is(disassemble(c.bytes), [
    'i32.const -5', 'local.get 2', 'i32.add', 'block (result f32)', '  f32.const 1.5', 'end', 'f64.load offset=8 align=8', 'i32.trunc_sat_f32_u',
    'f32x4.extract_lane 3', 'loop', '  br 0', 'end',
  ].join('\n'));
});

test.run();
