/**
 * Index simplification (`kernel/simplify_index.ts`): on random index expressions of the kinds
 * fusion builds — ravel/unravel chains of reshapes over random shapes, affine combinations,
 * div/rem by constants, slices' offsets, a gather index kept whole, comparisons — the simplified
 * expression computes the same int32 value at every point of the domain (each variable over
 * [0, size)), evaluated exactly as the renderers do (wrapping +, −, ·; truncating div and
 * rem); and the reshape round trips fusion produces become the plain affine index.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bin, flatIndex, idx, load, outVar, unravel, varRef, type Expr } from '../src/core/kernel/ir.js';
import { simplifyIndices } from '../src/core/kernel/simplify_index.js';
import { lcg } from './helpers.js';

const rng = lcg(23);
const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];

/** Exact int32 evaluation (the renderers' semantics); loads read `gather[i]`. */
function evaluate(e: Expr, env: Map<string, number>, gather: Int32Array): number {
  switch (e.k) {
    case 'const': return e.v | 0;
    case 'var': return env.get(e.name)!;
    case 'load': return gather[((evaluate(e.index, env, gather) % gather.length) + gather.length) % gather.length];
    case 'select': return evaluate(e.c, env, gather) ? evaluate(e.t, env, gather) : evaluate(e.f, env, gather);
    case 'bin': {
      const a = evaluate(e.a, env, gather), b = evaluate(e.b, env, gather);
      switch (e.op) {
        case 'add': return (a + b) | 0;
        case 'sub': return (a - b) | 0;
        case 'mul': return Math.imul(a, b);
        case 'div': return b === 0 ? 0 : (a / b) | 0;
        case 'rem': return b === 0 ? 0 : a % b | 0;
        case 'max': return Math.max(a, b);
        case 'lt': return a < b ? 1 : 0;
        case 'ge': return a >= b ? 1 : 0;
        default: throw new Error(e.op);
      }
    }
    default: throw new Error(e.k);
  }
}

/** A random index expression over `vars` (name, size). */
function randomIndex(vars: [string, number][], depth: number): Expr {
  const v = () => {
    const [name] = pick(vars);
    return name.startsWith('i') ? outVar(Number(name.slice(1))) : varRef(name);
  };
  if (depth === 0) return rng() < 0.8 ? v() : idx(int(-3, 40));
  const x = () => randomIndex(vars, depth - 1);
  switch (int(0, 9)) {
    case 0: return bin('add', x(), x());
    case 1: return bin('sub', x(), x());
    case 2: return bin('mul', x(), idx(int(-4, 64)));
    case 3: return bin('div', x(), idx(pick([1, 2, 3, 4, 7, 8, 32, 64])));
    case 4: return bin('rem', x(), idx(pick([1, 2, 3, 4, 7, 8, 32, 64])));
    case 5: {
      // a reshape round trip: unravel a flat index of the vars into a random shape and ravel it into another
      const flat = flatIndex(vars.map(([n]) => (n.startsWith('i') ? outVar(Number(n.slice(1))) : varRef(n))), vars.map(([, s]) => s));
      const total = vars.reduce((p, [, s]) => p * s, 1);
      const shape = factor(total);
      const coords = unravel(flat, shape);
      return flatIndex(coords, shape);
    }
    case 6: return load(0, x(), 'int32');
    case 7: return bin('max', x(), x());
    case 8: {
      // c₁·(X rem k) + c₂·(X div k): the unravel-ravel pair, with matching (c₂ = c₁·k) or other coefficients
      const X = x(), k = pick([2, 3, 8]), c1 = pick([1, 2, 3]);
      const c2 = pick([c1 * k, c1 * k + 1, c1, k]);
      return bin('add', bin('mul', bin('rem', X, idx(k)), idx(c1)), bin('mul', bin('div', X, idx(k)), idx(c2)));
    }
    default: return bin('add', bin('mul', x(), idx(int(1, 9))), x());
  }
}

/** A random factorisation of n into a shape. */
function factor(n: number): number[] {
  const out: number[] = [];
  while (n > 1 && out.length < 4) {
    const ds = Array.from({ length: n }, (_, i) => i + 1).filter((d) => d > 1 && n % d === 0);
    const d = pick(ds);
    out.push(d);
    n /= d;
  }
  if (n > 1) out.push(n);
  return out.length ? out : [1];
}

test('random index expressions: the simplified form computes the same values over the whole domain', () => {
  const gather = Int32Array.from({ length: 97 }, (_, i) => (i * 37) % 101 - 20);
  let points = 0;
  for (let c = 0; c < 400; c++) {
    const vars: [string, number][] = [['i0', int(1, 5)], ['i1', int(1, 8)], ['r0', int(1, 12)]];
    const index = randomIndex(vars, int(1, 4));
    const body = load(0, index, 'float32');
    const expr: Expr = { k: 'reduce', op: 'sum', vars: [{ name: 'r0', size: vars[2][1] }], body, dtype: 'float32' };
    const simple = simplifyIndices(expr, [vars[0][1], vars[1][1]]);
    assert.ok(simple.k === 'reduce' && simple.body.k === 'load');
    const after = (simple as { body: { index: Expr } }).body.index;
    const env = new Map<string, number>();
    for (let a = 0; a < vars[0][1]; a++)
      for (let b = 0; b < vars[1][1]; b++)
        for (let r = 0; r < vars[2][1]; r++) {
          env.set('i0', a).set('i1', b).set('r0', r);
          const want = evaluate(index, env, gather), got = evaluate(after, env, gather);
          if (want !== got) assert.unreachable(`case ${c} at i0=${a} i1=${b} r0=${r}: ${got}, expected ${want}`);
          points++;
        }
  }
  assert.ok(points > 10000);
});

test('reshape round trips become the affine index; decided comparisons become constants', () => {
  // [8, 32, 2048] viewed as [8, 64, 32, 32] and back, as a group norm's loads do, with a size-1 axis
  const flat = flatIndex([outVar(0), outVar(1), outVar(2), varRef('r0')], [8, 32, 1, 2048]);
  const fine = unravel(flat, [8, 64, 32, 32]);
  const back = flatIndex(fine, [8, 64, 32, 32]);
  const expr: Expr = { k: 'reduce', op: 'sum', vars: [{ name: 'r0', size: 2048 }], body: load(0, back, 'float32'), dtype: 'float32' };
  const s = simplifyIndices(expr, [8, 32, 1]) as { body: { index: Expr } };
  const show = (e: Expr): string => (e.k === 'bin' ? `(${show(e.a)} ${e.op} ${show(e.b)})` : e.k === 'var' ? e.name : e.k === 'const' ? String(e.v) : e.k);
  assert.is(show(s.body.index), '(((i0 mul 65536) add (i1 mul 2048)) add r0)');
  const cmp = simplifyIndices(bin('lt', bin('add', outVar(0), idx(3)), idx(12)), [9]);
  assert.equal(cmp, { k: 'const', v: 1, dtype: 'bool' });
  const open = simplifyIndices(bin('lt', outVar(0), idx(5)), [9]);
  assert.is(open.k, 'bin', 'undecided comparisons stay');
});

test.run();
