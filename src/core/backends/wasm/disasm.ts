/**
 * A text listing of instruction bytes (one instruction per line, WAT names, nested blocks
 * indented): what the wasm backend shows as a kernel's "source", and a check in tests that
 * the encoder wrote what was meant.
 */
import { OPS_BY_CODE } from './opcodes.js';

const VALTYPE_NAMES: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128' };

/** Decode an instruction sequence (a function body without its locals). */
export function disassemble(bytes: ArrayLike<number>, indent = 0): string {
  let p = 0;
  const u32 = (): number => {
    let r = 0, mul = 1, b: number;
    do {
      b = bytes[p++];
      r += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return r;
  };
  const sleb = (): bigint => {
    let r = 0n, shift = 0n, b: number;
    do {
      b = bytes[p++];
      r |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    return b & 0x40 ? r - (1n << shift) : r;
  };
  const float = (n: 4 | 8): number => {
    const v = new DataView(Uint8Array.from({ length: n }, (_, i) => bytes[p + i]).buffer);
    p += n;
    return n === 4 ? v.getFloat32(0, true) : v.getFloat64(0, true);
  };
  const lines: string[] = [];
  let depth = indent;
  while (p < bytes.length) {
    const first = bytes[p++];
    const code = first === 0xfc || first === 0xfd ? (first << 16) | u32() : first;
    const op = OPS_BY_CODE.get(code);
    if (!op) throw new Error(`disassemble: unknown opcode 0x${code.toString(16)} at byte ${p}`);
    let text: string = op.name;
    switch (op.imm) {
      case 'idx': text += ` ${u32()}`; break;
      case 'i32': case 'i64': text += ` ${sleb()}`; break;
      case 'f32': text += ` ${float(4)}`; break;
      case 'f64': text += ` ${float(8)}`; break;
      case 'block': {
        const t = bytes[p++];
        if (t !== 0x40) text += ` (result ${VALTYPE_NAMES[t] ?? t})`;
        break;
      }
      case 'mem': {
        const align = u32(), offset = u32();
        text += `${offset ? ` offset=${offset}` : ''} align=${1 << align}`;
        break;
      }
      case 'lane': text += ` ${bytes[p++]}`; break;
      case 'memlane': {
        const align = u32(), offset = u32();
        text += `${offset ? ` offset=${offset}` : ''} align=${1 << align} ${bytes[p++]}`;
        break;
      }
      case 'shuffle': text += ` ${Array.from({ length: 16 }, () => bytes[p++]).join(' ')}`; break;
      case 'v128': text += ` i8x16 ${Array.from({ length: 16 }, () => bytes[p++]).join(' ')}`; break;
      case 'zero': p += 1; break;
      case 'zero2': p += 2; break;
      case 'none': break;
    }
    if (op.name === 'end' || op.name === 'else') depth--;
    lines.push('  '.repeat(Math.max(depth, 0)) + text);
    if (op.name === 'block' || op.name === 'loop' || op.name === 'if' || op.name === 'else') depth++;
  }
  return lines.join('\n');
}
