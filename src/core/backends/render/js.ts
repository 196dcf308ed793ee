/**
 * JavaScript renderer: kernels become plain JS loops over typed arrays.
 *
 * Values are JS numbers; float32 semantics come from rounding every float op with
 * `Math.fround` (so the CPU oracle agrees with f32 GPU arithmetic), int32/uint32 wrap with
 * `|0` / `>>>0`, and bools are 0/1. Reductions accumulate sums and products in f64 before
 * the final f32 store. Functions without a JS builtin live in `jsMath` (passed as `M`).
 */
import type { DType } from '../../dtype.js';
import type { BinOp, Kernel, UnOp } from '../../kernel/ir.js';
import { CStyleRenderer } from './c_style.js';

const fr = (s: string) => `Math.fround(${s})`;

const FLOAT_UN: Record<UnOp, (x: string) => string> = {
  neg: (x) => `(-${x})`,
  abs: (x) => `Math.abs(${x})`,
  sign: (x) => `Math.sign(${x})`,
  floor: (x) => `Math.floor(${x})`,
  ceil: (x) => `Math.ceil(${x})`,
  round: (x) => `M.roundEven(${x})`,
  exp: (x) => fr(`Math.exp(${x})`),
  expm1: (x) => fr(`Math.expm1(${x})`),
  log: (x) => fr(`Math.log(${x})`),
  log1p: (x) => fr(`Math.log1p(${x})`),
  sin: (x) => fr(`Math.sin(${x})`),
  cos: (x) => fr(`Math.cos(${x})`),
  tan: (x) => fr(`Math.tan(${x})`),
  tanh: (x) => fr(`Math.tanh(${x})`),
  atan: (x) => fr(`Math.atan(${x})`),
  sqrt: (x) => fr(`Math.sqrt(${x})`),
  rsqrt: (x) => fr(`1 / Math.sqrt(${x})`),
  sigmoid: (x) => fr(`M.sigmoid(${x})`),
  erf: (x) => fr(`M.erf(${x})`),
  erfinv: (x) => `M.erfinv(${x})`,
  not: (x) => `(${x} ? 0 : 1)`,
  isfinite: (x) => `(Number.isFinite(${x}) ? 1 : 0)`,
};

function wrap(s: string, dtype: DType): string {
  return dtype === 'int32' ? `((${s}) | 0)` : dtype === 'uint32' ? `((${s}) >>> 0)` : dtype === 'bool' ? `((${s}) ? 1 : 0)` : fr(s);
}

const CMP: Partial<Record<BinOp, string>> = { eq: '===', ne: '!==', lt: '<', le: '<=', gt: '>', ge: '>=' };

export class JsRenderer extends CStyleRenderer {
  constant(v: number, dtype: DType): string {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'Infinity';
    if (v === -Infinity) return '(-Infinity)';
    const x = dtype === 'float32' ? Math.fround(v) : v;
    return Object.is(x, -0) ? '(-0)' : x < 0 ? `(${x})` : String(x);
  }

  unary(op: UnOp, x: string, dtype: DType): string {
    if (dtype === 'float32') return FLOAT_UN[op](x);
    switch (op) {
      case 'neg': return wrap(`-${x}`, dtype);
      case 'abs': return dtype === 'int32' ? `(Math.abs(${x}) | 0)` : x;
      case 'sign': return dtype === 'int32' ? `Math.sign(${x})` : `(${x} ? 1 : 0)`;
      case 'not': return dtype === 'bool' ? `(${x} ^ 1)` : wrap(`~${x}`, dtype);
      case 'floor': case 'ceil': case 'round': return x;
      case 'isfinite': return '1';
      default: return wrap(FLOAT_UN[op](x), dtype);
    }
  }

  binary(op: BinOp, a: string, b: string, dtype: DType): string {
    const cmp = CMP[op];
    if (cmp) return `(${a} ${cmp} ${b} ? 1 : 0)`;
    const isF = dtype === 'float32';
    switch (op) {
      case 'add': return dtype === 'bool' ? `(${a} | ${b})` : wrap(`${a} + ${b}`, dtype);
      case 'sub': return wrap(`${a} - ${b}`, dtype);
      case 'mul': return isF ? fr(`${a} * ${b}`) : dtype === 'bool' ? `(${a} & ${b})` : wrap(`Math.imul(${a}, ${b})`, dtype);
      // Integer x/0 is all ones and x%0 is x, as XLA's CPU and GPU backends do; a positive
      // literal divisor (index arithmetic) takes the fast path.
      case 'div': return isF ? fr(`${a} / ${b}`) : /^[1-9]\d*$/.test(b) ? wrap(`${a} / ${b}`, dtype) : wrap(`M.idiv(${a}, ${b})`, dtype);
      case 'rem': return isF ? fr(`${a} % ${b}`) : /^[1-9]\d*$/.test(b) ? wrap(`${a} % ${b}`, dtype) : wrap(`M.irem(${a}, ${b})`, dtype);
      case 'pow': return isF ? fr(`Math.pow(${a}, ${b})`) : wrap(`M.ipow(${a}, ${b})`, dtype);
      case 'max': return `Math.max(${a}, ${b})`;
      case 'min': return `Math.min(${a}, ${b})`;
      case 'atan2': return fr(`Math.atan2(${a}, ${b})`);
      case 'and': return wrap(`${a} & ${b}`, dtype === 'bool' ? 'int32' : dtype);
      case 'or': return wrap(`${a} | ${b}`, dtype === 'bool' ? 'int32' : dtype);
      case 'xor': return wrap(`${a} ^ ${b}`, dtype === 'bool' ? 'int32' : dtype);
      case 'shl': return wrap(`M.shl(${a}, ${b})`, dtype);
      case 'shrl': return wrap(`M.shrl(${a}, ${b})`, dtype);
      case 'shra': return wrap(`M.shra(${a}, ${b})`, dtype);
      default: throw new Error(`js renderer: unknown binary op ${op}`);
    }
  }

  override accumulate(op: 'sum' | 'prod' | 'max' | 'min', acc: string, x: string, dtype: DType): string {
    if (dtype === 'float32' && op === 'sum') return `${acc} + ${x}`;
    if (dtype === 'float32' && op === 'prod') return `${acc} * ${x}`;
    return super.accumulate(op, acc, x, dtype);
  }

  select(c: string, t: string, f: string): string {
    return `(${c} ? ${t} : ${f})`;
  }

  cast(x: string, from: DType, to: DType): string {
    if (to === 'bool') return `(${x} !== 0 ? 1 : 0)`;
    if (from === 'float32') return to === 'int32' ? `M.f2i(${x})` : to === 'uint32' ? `M.f2u(${x})` : x;
    if (to === 'float32') return fr(x);
    return to === 'int32' ? `(${x} | 0)` : `(${x} >>> 0)`;
  }

  bitcast(x: string, from: DType, to: DType): string {
    if (from === 'float32') return to === 'int32' ? `(M.f2bits(${x}) | 0)` : `M.f2bits(${x})`;
    if (to === 'float32') return `M.bits2f(${x})`;
    return to === 'int32' ? `(${x} | 0)` : `(${x} >>> 0)`;
  }

  load(buf: number, index: string): string {
    return `in${buf}[${index}]`;
  }
  declare(name: string, value: string, _dtype: DType, mutable: boolean): string {
    return `${mutable ? 'let' : 'const'} ${name} = ${value};`;
  }
  assign(name: string, value: string): string {
    return `${name} = ${value};`;
  }
  forOpen(v: string, n: number): string {
    return `for (let ${v} = 0; ${v} < ${n}; ${v}++) {`;
  }
  ifOpen(cond: string): string {
    return `if (${cond}) {`;
  }

  /** Full source of `function (out, in0, …, M)` writing the kernel's output in row-major order. */
  renderKernel(kernel: Kernel): string {
    return [`// ${kernel.label}`, 'let o = 0;', ...this.renderBody(kernel, (v) => `out[o++] = ${v};`, true)].join('\n');
  }
}
