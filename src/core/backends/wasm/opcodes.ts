/**
 * The WebAssembly instructions the encoder can emit: name → [opcode, immediate kind,
 * natural alignment (log2 bytes, memory instructions only)]. Opcodes of the prefixed spaces
 * are `prefix << 16 | sub` (0xFC: saturating truncation and bulk memory; 0xFD: SIMD128).
 * One table serves both the encoder (`Code`) and the text listing (`disassemble`).
 */

/** Immediate operands: none; a u32 index (local, global, function, branch depth); a constant; a block type; a memarg; a SIMD lane; a memarg and a lane; 16 shuffle lane indices; reserved zero bytes. */
export type Imm = 'none' | 'idx' | 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'block' | 'mem' | 'lane' | 'memlane' | 'shuffle' | 'zero' | 'zero2';

const FC = 0xfc0000;
const FD = 0xfd0000;

export const OPS = {
  // control
  unreachable: [0x00, 'none'], nop: [0x01, 'none'], block: [0x02, 'block'], loop: [0x03, 'block'], if: [0x04, 'block'],
  else: [0x05, 'none'], end: [0x0b, 'none'], br: [0x0c, 'idx'], br_if: [0x0d, 'idx'], return: [0x0f, 'none'],
  call: [0x10, 'idx'], drop: [0x1a, 'none'], select: [0x1b, 'none'],
  // variables
  'local.get': [0x20, 'idx'], 'local.set': [0x21, 'idx'], 'local.tee': [0x22, 'idx'], 'global.get': [0x23, 'idx'], 'global.set': [0x24, 'idx'],
  // memory
  'i32.load': [0x28, 'mem', 2], 'i64.load': [0x29, 'mem', 3], 'f32.load': [0x2a, 'mem', 2], 'f64.load': [0x2b, 'mem', 3],
  'i32.load8_s': [0x2c, 'mem', 0], 'i32.load8_u': [0x2d, 'mem', 0], 'i32.load16_s': [0x2e, 'mem', 1], 'i32.load16_u': [0x2f, 'mem', 1],
  'i32.store': [0x36, 'mem', 2], 'i64.store': [0x37, 'mem', 3], 'f32.store': [0x38, 'mem', 2], 'f64.store': [0x39, 'mem', 3],
  'i32.store8': [0x3a, 'mem', 0], 'i32.store16': [0x3b, 'mem', 1],
  'memory.size': [0x3f, 'zero'], 'memory.grow': [0x40, 'zero'],
  // constants
  'i32.const': [0x41, 'i32'], 'i64.const': [0x42, 'i64'], 'f32.const': [0x43, 'f32'], 'f64.const': [0x44, 'f64'],
  // comparisons
  'i32.eqz': [0x45, 'none'], 'i32.eq': [0x46, 'none'], 'i32.ne': [0x47, 'none'], 'i32.lt_s': [0x48, 'none'], 'i32.lt_u': [0x49, 'none'],
  'i32.gt_s': [0x4a, 'none'], 'i32.gt_u': [0x4b, 'none'], 'i32.le_s': [0x4c, 'none'], 'i32.le_u': [0x4d, 'none'],
  'i32.ge_s': [0x4e, 'none'], 'i32.ge_u': [0x4f, 'none'],
  'i64.eqz': [0x50, 'none'], 'i64.eq': [0x51, 'none'], 'i64.ne': [0x52, 'none'], 'i64.lt_s': [0x53, 'none'], 'i64.lt_u': [0x54, 'none'],
  'i64.gt_s': [0x55, 'none'], 'i64.gt_u': [0x56, 'none'], 'i64.le_s': [0x57, 'none'], 'i64.le_u': [0x58, 'none'],
  'i64.ge_s': [0x59, 'none'], 'i64.ge_u': [0x5a, 'none'],
  'f32.eq': [0x5b, 'none'], 'f32.ne': [0x5c, 'none'], 'f32.lt': [0x5d, 'none'], 'f32.gt': [0x5e, 'none'], 'f32.le': [0x5f, 'none'], 'f32.ge': [0x60, 'none'],
  'f64.eq': [0x61, 'none'], 'f64.ne': [0x62, 'none'], 'f64.lt': [0x63, 'none'], 'f64.gt': [0x64, 'none'], 'f64.le': [0x65, 'none'], 'f64.ge': [0x66, 'none'],
  // i32 arithmetic
  'i32.clz': [0x67, 'none'], 'i32.ctz': [0x68, 'none'], 'i32.popcnt': [0x69, 'none'], 'i32.add': [0x6a, 'none'], 'i32.sub': [0x6b, 'none'],
  'i32.mul': [0x6c, 'none'], 'i32.div_s': [0x6d, 'none'], 'i32.div_u': [0x6e, 'none'], 'i32.rem_s': [0x6f, 'none'], 'i32.rem_u': [0x70, 'none'],
  'i32.and': [0x71, 'none'], 'i32.or': [0x72, 'none'], 'i32.xor': [0x73, 'none'], 'i32.shl': [0x74, 'none'], 'i32.shr_s': [0x75, 'none'],
  'i32.shr_u': [0x76, 'none'], 'i32.rotl': [0x77, 'none'], 'i32.rotr': [0x78, 'none'],
  // i64 arithmetic
  'i64.add': [0x7c, 'none'], 'i64.sub': [0x7d, 'none'], 'i64.mul': [0x7e, 'none'], 'i64.div_s': [0x7f, 'none'], 'i64.div_u': [0x80, 'none'],
  'i64.rem_s': [0x81, 'none'], 'i64.rem_u': [0x82, 'none'], 'i64.and': [0x83, 'none'], 'i64.or': [0x84, 'none'], 'i64.xor': [0x85, 'none'],
  'i64.shl': [0x86, 'none'], 'i64.shr_s': [0x87, 'none'], 'i64.shr_u': [0x88, 'none'],
  // f32 / f64 arithmetic
  'f32.abs': [0x8b, 'none'], 'f32.neg': [0x8c, 'none'], 'f32.ceil': [0x8d, 'none'], 'f32.floor': [0x8e, 'none'], 'f32.trunc': [0x8f, 'none'],
  'f32.nearest': [0x90, 'none'], 'f32.sqrt': [0x91, 'none'], 'f32.add': [0x92, 'none'], 'f32.sub': [0x93, 'none'], 'f32.mul': [0x94, 'none'],
  'f32.div': [0x95, 'none'], 'f32.min': [0x96, 'none'], 'f32.max': [0x97, 'none'], 'f32.copysign': [0x98, 'none'],
  'f64.abs': [0x99, 'none'], 'f64.neg': [0x9a, 'none'], 'f64.ceil': [0x9b, 'none'], 'f64.floor': [0x9c, 'none'], 'f64.trunc': [0x9d, 'none'],
  'f64.nearest': [0x9e, 'none'], 'f64.sqrt': [0x9f, 'none'], 'f64.add': [0xa0, 'none'], 'f64.sub': [0xa1, 'none'], 'f64.mul': [0xa2, 'none'],
  'f64.div': [0xa3, 'none'], 'f64.min': [0xa4, 'none'], 'f64.max': [0xa5, 'none'], 'f64.copysign': [0xa6, 'none'],
  // conversions
  'i32.wrap_i64': [0xa7, 'none'], 'i32.trunc_f32_s': [0xa8, 'none'], 'i32.trunc_f32_u': [0xa9, 'none'], 'i32.trunc_f64_s': [0xaa, 'none'],
  'i32.trunc_f64_u': [0xab, 'none'], 'i64.extend_i32_s': [0xac, 'none'], 'i64.extend_i32_u': [0xad, 'none'],
  'i64.trunc_f32_s': [0xae, 'none'], 'i64.trunc_f64_s': [0xb0, 'none'],
  'f32.convert_i32_s': [0xb2, 'none'], 'f32.convert_i32_u': [0xb3, 'none'], 'f32.convert_i64_s': [0xb4, 'none'], 'f32.demote_f64': [0xb6, 'none'],
  'f64.convert_i32_s': [0xb7, 'none'], 'f64.convert_i32_u': [0xb8, 'none'], 'f64.convert_i64_s': [0xb9, 'none'], 'f64.promote_f32': [0xbb, 'none'],
  'i32.reinterpret_f32': [0xbc, 'none'], 'i64.reinterpret_f64': [0xbd, 'none'], 'f32.reinterpret_i32': [0xbe, 'none'], 'f64.reinterpret_i64': [0xbf, 'none'],
  'i32.extend8_s': [0xc0, 'none'], 'i32.extend16_s': [0xc1, 'none'],
  // 0xFC: non-trapping float→int, bulk memory
  'i32.trunc_sat_f32_s': [FC | 0, 'none'], 'i32.trunc_sat_f32_u': [FC | 1, 'none'], 'i32.trunc_sat_f64_s': [FC | 2, 'none'],
  'i32.trunc_sat_f64_u': [FC | 3, 'none'], 'i64.trunc_sat_f32_s': [FC | 4, 'none'], 'i64.trunc_sat_f64_s': [FC | 6, 'none'],
  'memory.copy': [FC | 10, 'zero2'], 'memory.fill': [FC | 11, 'zero'],
  // 0xFD: SIMD128 (no relaxed SIMD: Node 20 needs a flag for it)
  'v128.load': [FD | 0x00, 'mem', 4], 'v128.load8x8_u': [FD | 0x02, 'mem', 3], 'v128.load32_splat': [FD | 0x09, 'mem', 2],
  'v128.load64_splat': [FD | 0x0a, 'mem', 3], 'v128.store': [FD | 0x0b, 'mem', 4], 'v128.const': [FD | 0x0c, 'v128'],
  'i8x16.shuffle': [FD | 0x0d, 'shuffle'],
  'i32x4.splat': [FD | 0x11, 'none'], 'i64x2.splat': [FD | 0x12, 'none'], 'f32x4.splat': [FD | 0x13, 'none'], 'f64x2.splat': [FD | 0x14, 'none'],
  'i32x4.extract_lane': [FD | 0x1b, 'lane'], 'i32x4.replace_lane': [FD | 0x1c, 'lane'],
  'f32x4.extract_lane': [FD | 0x1f, 'lane'], 'f32x4.replace_lane': [FD | 0x20, 'lane'],
  'f64x2.extract_lane': [FD | 0x21, 'lane'],
  'i32x4.eq': [FD | 0x37, 'none'], 'i32x4.ne': [FD | 0x38, 'none'], 'i32x4.lt_s': [FD | 0x39, 'none'], 'i32x4.lt_u': [FD | 0x3a, 'none'],
  'i32x4.gt_s': [FD | 0x3b, 'none'], 'i32x4.gt_u': [FD | 0x3c, 'none'], 'i32x4.le_s': [FD | 0x3d, 'none'], 'i32x4.le_u': [FD | 0x3e, 'none'],
  'i32x4.ge_s': [FD | 0x3f, 'none'], 'i32x4.ge_u': [FD | 0x40, 'none'],
  'f32x4.eq': [FD | 0x41, 'none'], 'f32x4.ne': [FD | 0x42, 'none'], 'f32x4.lt': [FD | 0x43, 'none'], 'f32x4.gt': [FD | 0x44, 'none'],
  'f32x4.le': [FD | 0x45, 'none'], 'f32x4.ge': [FD | 0x46, 'none'],
  'f64x2.eq': [FD | 0x47, 'none'], 'f64x2.ne': [FD | 0x48, 'none'], 'f64x2.lt': [FD | 0x49, 'none'], 'f64x2.gt': [FD | 0x4a, 'none'],
  'f64x2.le': [FD | 0x4b, 'none'], 'f64x2.ge': [FD | 0x4c, 'none'],
  'v128.not': [FD | 0x4d, 'none'], 'v128.and': [FD | 0x4e, 'none'], 'v128.andnot': [FD | 0x4f, 'none'], 'v128.or': [FD | 0x50, 'none'],
  'v128.xor': [FD | 0x51, 'none'], 'v128.bitselect': [FD | 0x52, 'none'], 'v128.any_true': [FD | 0x53, 'none'],
  'v128.load8_lane': [FD | 0x54, 'memlane', 0], 'v128.load32_lane': [FD | 0x56, 'memlane', 2], 'v128.store8_lane': [FD | 0x58, 'memlane', 0],
  'v128.store32_lane': [FD | 0x5a, 'memlane', 2], 'v128.store64_lane': [FD | 0x5b, 'memlane', 3], 'v128.load32_zero': [FD | 0x5c, 'mem', 2],
  'v128.load64_zero': [FD | 0x5d, 'mem', 3],
  'f32x4.demote_f64x2_zero': [FD | 0x5e, 'none'], 'f64x2.promote_low_f32x4': [FD | 0x5f, 'none'],
  'i8x16.narrow_i16x8_u': [FD | 0x66, 'none'], 'i16x8.narrow_i32x4_u': [FD | 0x86, 'none'],
  'i32x4.extend_low_i16x8_u': [FD | 0xa9, 'none'], 'i16x8.extend_low_i8x16_u': [FD | 0x89, 'none'],
  'f64x2.ceil': [FD | 0x74, 'none'], 'f64x2.floor': [FD | 0x75, 'none'], 'f64x2.trunc': [FD | 0x7a, 'none'], 'f64x2.nearest': [FD | 0x94, 'none'],
  'f32x4.ceil': [FD | 0x67, 'none'], 'f32x4.floor': [FD | 0x68, 'none'], 'f32x4.trunc': [FD | 0x69, 'none'], 'f32x4.nearest': [FD | 0x6a, 'none'],
  'i32x4.abs': [FD | 0xa0, 'none'], 'i32x4.neg': [FD | 0xa1, 'none'], 'i32x4.all_true': [FD | 0xa3, 'none'], 'i32x4.bitmask': [FD | 0xa4, 'none'],
  'i32x4.shl': [FD | 0xab, 'none'], 'i32x4.shr_s': [FD | 0xac, 'none'], 'i32x4.shr_u': [FD | 0xad, 'none'],
  'i32x4.add': [FD | 0xae, 'none'], 'i32x4.sub': [FD | 0xb1, 'none'], 'i32x4.mul': [FD | 0xb5, 'none'],
  'i32x4.min_s': [FD | 0xb6, 'none'], 'i32x4.min_u': [FD | 0xb7, 'none'], 'i32x4.max_s': [FD | 0xb8, 'none'], 'i32x4.max_u': [FD | 0xb9, 'none'],
  'f32x4.abs': [FD | 0xe0, 'none'], 'f32x4.neg': [FD | 0xe1, 'none'], 'f32x4.sqrt': [FD | 0xe3, 'none'], 'f32x4.add': [FD | 0xe4, 'none'],
  'f32x4.sub': [FD | 0xe5, 'none'], 'f32x4.mul': [FD | 0xe6, 'none'], 'f32x4.div': [FD | 0xe7, 'none'], 'f32x4.min': [FD | 0xe8, 'none'],
  'f32x4.max': [FD | 0xe9, 'none'], 'f32x4.pmin': [FD | 0xea, 'none'], 'f32x4.pmax': [FD | 0xeb, 'none'],
  'i64x2.shl': [FD | 0xcb, 'none'], 'i64x2.shr_s': [FD | 0xcc, 'none'], 'i64x2.shr_u': [FD | 0xcd, 'none'], 'i64x2.add': [FD | 0xce, 'none'],
  'i64x2.sub': [FD | 0xd1, 'none'],
  'f64x2.abs': [FD | 0xec, 'none'], 'f64x2.neg': [FD | 0xed, 'none'], 'f64x2.sqrt': [FD | 0xef, 'none'],
  'f64x2.add': [FD | 0xf0, 'none'], 'f64x2.sub': [FD | 0xf1, 'none'], 'f64x2.mul': [FD | 0xf2, 'none'], 'f64x2.div': [FD | 0xf3, 'none'],
  'f64x2.min': [FD | 0xf4, 'none'], 'f64x2.max': [FD | 0xf5, 'none'], 'f64x2.pmin': [FD | 0xf6, 'none'], 'f64x2.pmax': [FD | 0xf7, 'none'],
  'i32x4.trunc_sat_f32x4_s': [FD | 0xf8, 'none'], 'i32x4.trunc_sat_f32x4_u': [FD | 0xf9, 'none'],
  'f32x4.convert_i32x4_s': [FD | 0xfa, 'none'], 'f32x4.convert_i32x4_u': [FD | 0xfb, 'none'],
  'f64x2.convert_low_i32x4_s': [FD | 0xfe, 'none'], 'f64x2.convert_low_i32x4_u': [FD | 0xff, 'none'],
} as const satisfies Record<string, readonly [number, Imm] | readonly [number, Imm, number]>;

type Table = typeof OPS;
export type OpName = keyof Table;
type OpsWith<K extends Imm> = { [N in OpName]: Table[N][1] extends K ? N : never }[OpName];
/** Instructions without immediates (or only reserved zero bytes). */
export type PlainOp = OpsWith<'none' | 'zero' | 'zero2'>;
/** Loads and stores (a memarg immediate). */
export type MemOp = OpsWith<'mem'>;
/** SIMD lane access (a lane index immediate). */
export type LaneOp = OpsWith<'lane'>;
/** Loads and stores of one SIMD lane (a memarg and a lane index). */
export type MemLaneOp = OpsWith<'memlane'>;

/** The instruction of each opcode (for decoding). */
export const OPS_BY_CODE: ReadonlyMap<number, { name: OpName; imm: Imm }> = new Map(
  (Object.entries(OPS) as [OpName, readonly [number, Imm, number?]][]).map(([name, [code, imm]]) => [code, { name, imm }]),
);
