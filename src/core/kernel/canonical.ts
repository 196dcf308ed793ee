/**
 * Structural identity of kernel expressions. Fusion builds expressions by composing index
 * functions, so the same value can be built twice as distinct but equal trees; the renderer
 * shares work by object identity. `canonicalKernelExpr` hash-conses a kernel's expression
 * (equal subtrees become one node, rendered once into a temporary) and renames reduction
 * variables `r0, r1, …` in order of appearance, so equal kernels render to equal source
 * (and hit the backend's compile cache) whatever fresh names they were built with.
 */
import type { Expr } from './ir.js';

/** Assigns every expression a number such that structurally equal expressions share it. */
export class ExprInterner {
  private ids = new Map<Expr, number>();
  private table = new Map<string, number>();

  id(e: Expr): number {
    const known = this.ids.get(e);
    if (known !== undefined) return known;
    let key: string;
    switch (e.k) {
      case 'const': key = `c${e.dtype}:${Object.is(e.v, -0) ? '-0' : e.v}`; break;
      case 'var': key = `v${e.name}`; break;
      case 'load': key = `l${e.buf}:${e.dtype}:${this.id(e.index)}`; break;
      case 'un': key = `u${e.op}:${e.dtype}:${this.id(e.x)}`; break;
      case 'bin': key = `b${e.op}:${e.dtype}:${this.id(e.a)}:${this.id(e.b)}`; break;
      case 'select': key = `s${e.dtype}:${this.id(e.c)}:${this.id(e.t)}:${this.id(e.f)}`; break;
      case 'cast': key = `C${e.dtype}:${this.id(e.x)}`; break;
      case 'bitcast': key = `B${e.dtype}:${this.id(e.x)}`; break;
      case 'reduce': key = `r${e.op}:${e.dtype}:${e.vars.map((v) => `${v.name}/${v.size}`).join(',')}:${this.id(e.body)}`; break;
    }
    let id = this.table.get(key);
    if (id === undefined) this.table.set(key, (id = this.table.size));
    this.ids.set(e, id);
    return id;
  }
}

/** The expression with equal subtrees merged and reduction variables renamed `r0, r1, …`. */
export function canonicalKernelExpr(root: Expr): Expr {
  const interner = new ExprInterner();
  const rename = new Map<string, string>();
  const done = new Map<Expr, Expr>();
  const canon = new Map<number, Expr>();
  const walk = (e: Expr): Expr => {
    const memo = done.get(e);
    if (memo) return memo;
    let out: Expr;
    switch (e.k) {
      case 'const': out = e; break;
      case 'var': {
        const n = rename.get(e.name);
        out = n ? { k: 'var', name: n, dtype: 'int32' } : e;
        break;
      }
      case 'load': out = { ...e, index: walk(e.index) }; break;
      case 'un': out = { ...e, x: walk(e.x) }; break;
      case 'bin': out = { ...e, a: walk(e.a), b: walk(e.b) }; break;
      case 'select': out = { ...e, c: walk(e.c), t: walk(e.t), f: walk(e.f) }; break;
      case 'cast': case 'bitcast': out = { ...e, x: walk(e.x) }; break;
      case 'reduce': {
        const vars = e.vars.map((v) => {
          const name = `r${rename.size}`;
          rename.set(v.name, name);
          return { name, size: v.size };
        });
        out = { ...e, vars, body: walk(e.body) };
        break;
      }
    }
    const id = interner.id(out);
    const shared = canon.get(id);
    if (shared) out = shared;
    else canon.set(id, out);
    done.set(e, out);
    return out;
  };
  return walk(root);
}
