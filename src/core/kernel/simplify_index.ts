/**
 * Index arithmetic simplification. Fusion composes index functions: a reshape unravels a flat
 * index into coordinates (`div`/`rem` by the dims) and the next view ravels them again, so a
 * group norm's loads carry chains like ((((i0·32 + i1) div 32)·32 + (i0·32 + i1) rem 32)·2048 +
 * r0) rem 32 + … that are, over the kernel's domain, just i0·65536 + i1·2048 + r0. The chains
 * cost integer divisions per element and hide contiguity from the renderers (a load that is
 * not affine in the innermost variable is not vectorized).
 *
 * Each int32 expression is put in linear form Σ cᵢ·tᵢ + c₀ over atoms — variables, (B div d),
 * ((B div a) rem k) with B a linear form, and anything else kept whole — and these identities,
 * exact for integers, are applied where interval facts (variables range over [0, size), see
 * `index_range.ts`) make them hold:
 *
 * - (k·Q + R) div k = Q + R div k and (k·Q + R) rem k = R rem k, for S = k·Q + R ≥ 0 and R ≥ 0
 *   (truncating division is flooring there); R div k = 0 and R rem k = R when 0 ≤ R < k;
 *   coefficients of R are reduced mod k inside a rem;
 * - (B div a) div k = B div (a·k) for B ≥ 0;
 * - c·((B div a) rem k) + c·k·(B div (a·k)) = c·(B div a), and B div 1 = B (unravel then ravel);
 * - a variable of size 1, and a linear form whose range is one value, is that constant; an int32
 *   comparison its ranges decide is that boolean.
 *
 * Nothing is rewritten where a range could leave int32 (the analysis is then the whole int32
 * range) or a divisor is not a positive constant, so the result computes the same values as
 * the input under the kernel's wrapping int32 arithmetic.
 */
import { ExprInterner } from './canonical.js';
import { IndexRanges, INT32_MAX, INT32_MIN, type Range } from './index_range.js';
import { bin, cast, idx, load, select, un, type BinOp, type Expr } from './ir.js';

type Atom =
  | { readonly kind: 'var' | 'other'; readonly expr: Expr }
  | { readonly kind: 'div'; readonly base: Lin; readonly d: number }
  | { readonly kind: 'rem'; readonly base: Lin; readonly a: number; readonly k: number };

interface Lin {
  /** Atom key → atom and coefficient (never 0). */
  readonly terms: Map<string, { readonly atom: Atom; readonly c: number }>;
  readonly c0: number;
}

const COMPARE: ReadonlySet<BinOp> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
const inInt32 = ([lo, hi]: Range) => lo >= INT32_MIN && hi <= INT32_MAX && lo > INT32_MIN && hi < INT32_MAX;

class Simplifier {
  private interner = new ExprInterner();
  private memo = new Map<Expr, Expr>();
  // (Fusion shares subtrees: every analysis is memoised per node, so shared chains cost once.)
  private lins = new Map<Expr, Lin>();
  private keys = new WeakMap<Lin, string>();
  private linRanges = new WeakMap<Lin, Range | null>();
  constructor(private ranges: IndexRanges) {}

  // ---- linear forms
  private linKey(l: Lin): string {
    let key = this.keys.get(l);
    if (key === undefined) this.keys.set(l, (key = [...l.terms.keys()].sort().map((k) => `${l.terms.get(k)!.c}*${k}`).join('+') + `+${l.c0}`));
    return key;
  }
  private atomKey(a: Atom): string {
    switch (a.kind) {
      case 'var': case 'other': return `e${this.interner.id(a.expr)}`;
      case 'div': return `(${this.linKey(a.base)})/${a.d}`;
      case 'rem': return `(${this.linKey(a.base)})/${a.a}%${a.k}`;
    }
  }
  private constLin = (c: number): Lin => ({ terms: new Map(), c0: c });
  private atomLin(atom: Atom, c = 1): Lin {
    return { terms: new Map([[this.atomKey(atom), { atom, c }]]), c0: 0 };
  }
  private addLin(x: Lin, y: Lin, sy = 1): Lin {
    const terms = new Map(x.terms);
    for (const [k, t] of y.terms) {
      const c = (terms.get(k)?.c ?? 0) + sy * t.c;
      if (c === 0) terms.delete(k);
      else terms.set(k, { atom: t.atom, c });
    }
    return this.recombine({ terms, c0: x.c0 + sy * y.c0 });
  }
  private scaleLin(x: Lin, s: number): Lin {
    if (s === 0) return this.constLin(0);
    return { terms: new Map([...x.terms].map(([k, t]) => [k, { atom: t.atom, c: t.c * s }])), c0: x.c0 * s };
  }

  /** c·((B div a) rem k) + c·k·(B div (a·k)) → c·(B div a) (B div 1 = B), to a fixed point. */
  private recombine(l: Lin): Lin {
    for (const [key, t] of l.terms) {
      if (t.atom.kind !== 'rem') continue;
      const { base, a, k } = t.atom;
      const dKey = this.atomKey({ kind: 'div', base, d: a * k });
      const d = l.terms.get(dKey);
      if (!d || d.c !== t.c * k) continue;
      const terms = new Map(l.terms);
      terms.delete(key);
      terms.delete(dKey);
      const whole = a === 1 ? base : this.atomLin({ kind: 'div', base, d: a });
      return this.addLin({ terms, c0: l.c0 }, this.scaleLin(whole, t.c));
    }
    return l;
  }

  // ---- ranges
  private atomRange(a: Atom): Range | null {
    switch (a.kind) {
      case 'var': case 'other': {
        const r = this.ranges.of(a.expr);
        return inInt32(r) ? r : null;
      }
      case 'div': {
        const r = this.linRange(a.base);
        return r && [Math.floor(r[0] / a.d), Math.floor(r[1] / a.d)];
      }
      case 'rem': {
        const r = this.linRange(a.base);
        return r && [0, Math.min(a.k - 1, Math.floor(r[1] / a.a))];
      }
    }
  }
  private linRange(l: Lin): Range | null {
    if (this.linRanges.has(l)) return this.linRanges.get(l)!;
    const r = this.computeLinRange(l);
    this.linRanges.set(l, r);
    return r;
  }
  private computeLinRange(l: Lin): Range | null {
    let lo = l.c0, hi = l.c0;
    for (const { atom, c } of l.terms.values()) {
      const r = this.atomRange(atom);
      if (!r) return null;
      lo += Math.min(c * r[0], c * r[1]);
      hi += Math.max(c * r[0], c * r[1]);
    }
    return inInt32([lo, hi]) ? [lo, hi] : null;
  }

  // ---- div and rem by a positive constant
  /** S = k·Q + R with R the terms whose coefficient k does not divide (reduced mod k when `mod`) and c₀ mod k. */
  private split(s: Lin, k: number, mod: boolean): { q: Lin; r: Lin } {
    const qt = new Map<string, { atom: Atom; c: number }>(), rt = new Map<string, { atom: Atom; c: number }>();
    for (const [key, t] of s.terms) {
      if (t.c % k === 0) qt.set(key, { atom: t.atom, c: t.c / k });
      else rt.set(key, { atom: t.atom, c: mod ? ((t.c % k) + k) % k : t.c });
    }
    const r0 = ((s.c0 % k) + k) % k;
    return { q: { terms: qt, c0: (s.c0 - r0) / k }, r: { terms: rt, c0: r0 } };
  }
  private divLin(s: Lin, k: number): Lin | null {
    if (k === 1) return s;
    const rs = this.linRange(s);
    if (!rs || rs[0] < 0) return null;
    const { q, r } = this.split(s, k, false);
    const rr = this.linRange(r);
    if (!rr || rr[0] < 0) return this.atomLin({ kind: 'div', base: s, d: k });
    if (rr[1] < k) return q;
    // (B div a) div k = B div (a·k)
    const only = r.terms.size === 1 && r.c0 === 0 ? [...r.terms.values()][0] : null;
    const inner = only && only.c === 1 && only.atom.kind === 'div' ? this.atomLin({ kind: 'div', base: only.atom.base, d: only.atom.d * k }) : this.atomLin({ kind: 'div', base: r, d: k });
    return this.addLin(q, inner);
  }
  private remLin(s: Lin, k: number): Lin | null {
    const rs = this.linRange(s);
    if (!rs || rs[0] < 0) return null;
    if (rs[1] < k) return s;
    const { r } = this.split(s, k, true);
    const rr = this.linRange(r);
    if (!rr || rr[0] < 0) return this.atomLin({ kind: 'rem', base: s, a: 1, k });
    if (rr[1] < k) return r;
    const only = r.terms.size === 1 && r.c0 === 0 ? [...r.terms.values()][0] : null;
    if (only && only.c === 1 && only.atom.kind === 'div') return this.atomLin({ kind: 'rem', base: only.atom.base, a: only.atom.d, k });
    return this.atomLin({ kind: 'rem', base: r, a: 1, k });
  }

  // ---- expressions
  /** The linear form of an int32 expression (children simplified first). */
  private lin(e: Expr): Lin {
    let l = this.lins.get(e);
    if (!l) this.lins.set(e, (l = this.computeLin(e)));
    return l;
  }
  private computeLin(e: Expr): Lin {
    if (e.k === 'const') return this.constLin(e.v | 0);
    if (e.k === 'var') {
      const [lo, hi] = this.ranges.of(e);
      return lo === hi ? this.constLin(lo) : this.atomLin({ kind: 'var', expr: e });
    }
    if (e.k === 'bin') {
      const cb = e.b.k === 'const' ? e.b.v | 0 : null, ca = e.a.k === 'const' ? e.a.v | 0 : null;
      switch (e.op) {
        case 'add': return this.addLin(this.lin(e.a), this.lin(e.b));
        case 'sub': return this.addLin(this.lin(e.a), this.lin(e.b), -1);
        case 'mul':
          if (cb !== null) return this.scaleLin(this.lin(e.a), cb);
          if (ca !== null) return this.scaleLin(this.lin(e.b), ca);
          break;
        case 'div': case 'rem':
          if (cb !== null && cb > 0) {
            const out = e.op === 'div' ? this.divLin(this.lin(e.a), cb) : this.remLin(this.lin(e.a), cb);
            if (out) return out;
          }
          break;
      }
    }
    return this.atomLin({ kind: 'other', expr: this.generic(e) });
  }

  private atomExpr(a: Atom): Expr {
    switch (a.kind) {
      case 'var': case 'other': return a.expr;
      case 'div': return bin('div', this.linExpr(a.base), idx(a.d));
      case 'rem': return bin('rem', a.a === 1 ? this.linExpr(a.base) : bin('div', this.linExpr(a.base), idx(a.a)), idx(a.k));
    }
  }
  private linExpr(l: Lin): Expr {
    const r = this.linRange(l);
    if (r && r[0] === r[1]) return idx(r[0]);
    let e: Expr = idx(0);
    for (const key of [...l.terms.keys()].sort()) {
      const { atom, c } = l.terms.get(key)!;
      e = bin('add', e, bin('mul', this.atomExpr(atom), idx(c)));
    }
    return bin('add', e, idx(l.c0));
  }

  /** `e` with its int32 index arithmetic simplified. */
  simplify(e: Expr): Expr {
    let out = this.memo.get(e);
    if (out) return out;
    if (e.dtype === 'int32' && (e.k === 'var' || e.k === 'const' || (e.k === 'bin' && (e.op === 'add' || e.op === 'sub' || e.op === 'mul' || e.op === 'div' || e.op === 'rem')))) {
      out = this.linExpr(this.lin(e));
    } else out = this.generic(e);
    this.memo.set(e, out);
    return out;
  }

  /** `e` rebuilt over simplified children (int32 comparisons the ranges decide become constants). */
  private generic(e: Expr): Expr {
    switch (e.k) {
      case 'const': case 'var': return e;
      case 'load': return load(e.buf, this.simplify(e.index), e.dtype);
      case 'un': return un(e.op, this.simplify(e.x));
      case 'cast': return cast(this.simplify(e.x), e.dtype);
      case 'bitcast': return { ...e, x: this.simplify(e.x) };
      case 'select': return select(this.simplify(e.c), this.simplify(e.t), this.simplify(e.f));
      case 'reduce': return { ...e, body: this.simplify(e.body) };
      case 'bin': {
        const a = this.simplify(e.a), b = this.simplify(e.b);
        if (COMPARE.has(e.op) && a.dtype === 'int32') {
          const decided = this.compare(e.op, this.ranges.of(a), this.ranges.of(b));
          if (decided !== null) return { k: 'const', v: decided ? 1 : 0, dtype: 'bool' };
        }
        return bin(e.op, a, b);
      }
    }
  }

  private compare(op: BinOp, ra: Range, rb: Range): boolean | null {
    if (!inInt32(ra) || !inInt32(rb)) return null;
    const [a0, a1] = ra, [b0, b1] = rb;
    switch (op) {
      case 'lt': return a1 < b0 ? true : a0 >= b1 ? false : null;
      case 'le': return a1 <= b0 ? true : a0 > b1 ? false : null;
      case 'gt': return a0 > b1 ? true : a1 <= b0 ? false : null;
      case 'ge': return a0 >= b1 ? true : a1 < b0 ? false : null;
      case 'eq': return a0 === a1 && b0 === b1 && a0 === b0 ? true : a1 < b0 || b1 < a0 ? false : null;
      case 'ne': return a0 === a1 && b0 === b1 && a0 === b0 ? false : a1 < b0 || b1 < a0 ? true : null;
      default: return null;
    }
  }
}

/** `expr`, a kernel expression over output variables i0… (sizes `outShape`) and its reductions' variables, with its index arithmetic simplified. */
export function simplifyIndices(expr: Expr, outShape: readonly number[]): Expr {
  const ranges = IndexRanges.ofKernel({ inputs: [], outShape, outDtype: expr.dtype, expr, label: '' });
  return new Simplifier(ranges).simplify(expr);
}
