/**
 * The jaxpr IR: a function in A-normal form. Plain immutable data — invars, a list of
 * equations (primitive, input atoms, output vars, params) and outvars — that transformations
 * read and write, passes rewrite, lowering compiles and `toString()` prints in JAX's
 * canonical form (`{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b) }`).
 */
import type { ShapedArray } from '../aval.js';
import type { Prim, PrimParams } from '../trace/primitive.js';
import type { Value } from '../trace/value.js';

let varIds = 0;

/** A variable: identity matters; names are assigned when printing. */
export class Var {
  readonly id = varIds++;
  constructor(readonly aval: ShapedArray) {}
}

/** A scalar constant inlined into an equation (weakly typed JS numbers, mostly); `array` is its value. */
export class Literal {
  constructor(readonly value: number | boolean, readonly aval: ShapedArray, readonly array: Value) {}
}

export type Atom = Var | Literal;

export interface Eqn<P extends Prim = Prim> {
  readonly prim: P;
  readonly inputs: readonly Atom[];
  readonly outvars: readonly Var[];
  readonly params: PrimParams[P];
}

export class Jaxpr {
  constructor(
    /** Inputs bound to closed-over values (see ClosedJaxpr.consts). */
    readonly constvars: readonly Var[],
    readonly invars: readonly Var[],
    readonly eqns: readonly Eqn[],
    readonly outvars: readonly Atom[],
  ) {}
  get inAvals(): ShapedArray[] {
    return this.invars.map((v) => v.aval);
  }
  get outAvals(): ShapedArray[] {
    return this.outvars.map((v) => v.aval);
  }
  toString(): string {
    return printJaxpr(this);
  }
}

/** A jaxpr with values for its constvars. */
export class ClosedJaxpr {
  constructor(readonly jaxpr: Jaxpr, readonly consts: readonly Value[]) {
    if (consts.length !== jaxpr.constvars.length) throw new Error(`ClosedJaxpr: ${consts.length} consts for ${jaxpr.constvars.length} constvars`);
  }
  get inAvals(): ShapedArray[] {
    return this.jaxpr.inAvals;
  }
  get outAvals(): ShapedArray[] {
    return this.jaxpr.outAvals;
  }
  toString(): string {
    return printJaxpr(this.jaxpr);
  }
}

// ------------------------------------------------------------------ printing

/** JAX's variable names: a … z, ba … bz, ca … */
function varName(i: number): string {
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s.length > 1 ? String.fromCharCode(s.charCodeAt(0) + 1) + s.slice(1) : s;
}

function fmtLiteral(l: Literal): string {
  if (typeof l.value === 'boolean') return l.value ? 'True' : 'False';
  if (l.aval.dtype === 'float32') {
    if (Number.isNaN(l.value)) return 'nan';
    if (!Number.isFinite(l.value)) return l.value > 0 ? 'inf' : '-inf';
    const s = String(l.value);
    return /[.e]/.test(s) ? s : `${s}.0`;
  }
  return String(l.value);
}

/** Variable names shared by a jaxpr and the jaxprs nested in its params, so every name is unique. */
class Namer {
  private names = new Map<Var, string>();
  name(v: Var): string {
    let n = this.names.get(v);
    if (!n) this.names.set(v, (n = varName(this.names.size)));
    return n;
  }
}

function fmtParam(v: unknown, names: Namer, indent: string): string {
  if (v instanceof ClosedJaxpr || v instanceof Jaxpr) {
    const j = v instanceof ClosedJaxpr ? v.jaxpr : v;
    return printJaxpr(j, indent + '  ', names).trimStart();
  }
  if (Array.isArray(v)) return `(${v.map((x) => fmtParam(x, names, indent)).join(', ')}${v.length === 1 ? ',' : ''})`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}=${fmtParam(x, names, indent)}`).join(', ')}}`;
  if (typeof v === 'function') return v.name || '<fn>';
  return String(v);
}

export function printJaxpr(j: Jaxpr, indent = '', names = new Namer()): string {
  const name = (v: Var): string => names.name(v);
  const atom = (a: Atom): string => (a instanceof Literal ? fmtLiteral(a) : name(a));
  const decl = (v: Var): string => `${name(v)}:${v.aval.str()}`;
  const head = `{ lambda ${j.constvars.map(decl).join(' ')}; ${j.invars.map(decl).join(' ')}. let`;
  let nested = false;
  const eqns = j.eqns.map((e) => {
    const params = Object.entries(e.params as object).filter(([, v]) => v !== undefined);
    const isJaxpr = (x: unknown) => x instanceof ClosedJaxpr || x instanceof Jaxpr;
    nested ||= params.some(([, v]) => isJaxpr(v) || (Array.isArray(v) && v.some(isJaxpr)));
    const p = params.length ? `[${params.map(([k, v]) => `${k}=${fmtParam(v, names, indent + '    ')}`).join(' ')}]` : '';
    return `${e.outvars.map(decl).join(' ')} = ${e.prim}${p} ${e.inputs.map(atom).join(' ')}`.trimEnd();
  });
  const result = `in (${j.outvars.map(atom).join(', ')}${j.outvars.length === 1 ? ',' : ''}) }`;
  // Like JAX's pretty-printer: one line when it fits in 80 columns, else one equation per line.
  const oneLine = `${indent}${head} ${eqns.join(' ')}${eqns.length ? ' ' : ''}${result}`;
  if (!nested && eqns.length <= 1 && oneLine.length <= 80) return oneLine;
  return [`${indent}${head}`, ...eqns.map((l) => `${indent}    ${l}`), `${indent}  ${result}`].join('\n');
}
