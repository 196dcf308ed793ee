/**
 * The differentiation laws JAX tests itself with, for every first-order primitive of the
 * table in `prim_cases.ts`:
 *
 * - jvp against central finite differences along a random direction t:
 *   J t ≈ (f(x + εt) − f(x − εt)) / 2ε. Integer and bool outputs must get zero tangents.
 * - the inner-product identity of vjp against jvp: ⟨J t, c⟩ = ⟨t, Jᵀ c⟩ for random t, c
 *   (every primitive differentiable in some float operand), with cotangents of exactly the
 *   primals' shapes and dtypes.
 *
 * Float operands are the differentiated ones; integer operands (indices, starts, predicates)
 * are held fixed. Runs: 20 per primitive per law (PROPS_RUNS overrides).
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jvp, vjp, type Array as VArray } from '../src/index.js';
import { assertClose, lcg } from '../test/helpers.js';
import { propsOptions } from './options.js';
import { CASES, applyPrim, assertProperty, describe, f32Array, floatOperands, hashSeed, operands, partialPrim, readBack, toArray, uni, type PrimCase, type Spec } from './prim_cases.js';

const RUNS = 20;
/**
 * Central differences in float32 with ε = 1e-2: the truncation error is ε²/6·|f'''| ≈ 1.7e-5·|f'''|
 * and the rounding error ≈ ulp(f)/ε ≈ 6e-8·|f|/1e-2 = 6e-6·|f|. The domains keep |f'''| ≲ 50 and
 * |f| ≲ 30 (sums of up to 256 O(1) terms aside, whose rounding stays ≈ 1e-3), so both stay
 * below the 2e-3 absolute part with a wide margin; rtol 2e-2 covers large derivatives.
 */
const FD_TOL = { rtol: 2e-2, atol: 2e-3 };
/** ⟨J t, c⟩ vs ⟨t, Jᵀ c⟩: float32 sums of products; relative to Σ|terms| on either side. */
const IP_RTOL = 1e-4;

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
const absDot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + Math.abs(v * b[i]), 0);

/** Whether some sampled instance of the case has a float operand (and, with `floatOut`, a float output). */
function applies(c: PrimCase, floatOut: boolean): boolean {
  return fc.sample(c.spec, { seed: 1, numRuns: 30 }).some((spec, k) => {
    const ops = operands(c, spec, hashSeed(k));
    if (floatOperands(ops).length === 0) return false;
    return !floatOut || applyPrim(c, spec, ops.map(toArray)).some((o) => o.dtype === 'float32');
  });
}

function checkJvpAgainstFd(c: PrimCase, spec: Spec, seed: number): void {
  const ops = operands(c, spec, seed);
  const idx = floatOperands(ops);
  if (idx.length === 0) return;
  const eps = c.eps ?? 1e-2;
  const r = lcg(hashSeed(seed, 7));
  // Perturbed points rounded to float32; the direction is what they actually differ by.
  const xp: number[][] = [], xm: number[][] = [], t: number[][] = [];
  for (const i of idx) {
    const dir = uni(-1, 1)(ops[i].data.length, r);
    xp.push(ops[i].data.map((v, j) => Math.fround(v + eps * dir[j])));
    xm.push(ops[i].data.map((v, j) => Math.fround(v - eps * dir[j])));
    t.push(xp[xp.length - 1].map((v, j) => (v - xm[xm.length - 1][j]) / (2 * eps)));
  }
  const args = ops.map(toArray);
  const f = partialPrim(c, spec, args, idx);
  const [outs, touts] = jvp(f, idx.map((i) => args[i]), idx.map((i, k) => f32Array(ops[i].shape, t[k])));
  const plus = f(...idx.map((i, k) => f32Array(ops[i].shape, xp[k])));
  const minus = f(...idx.map((i, k) => f32Array(ops[i].shape, xm[k])));
  outs.forEach((o, k) => {
    const got = readBack(touts[k]);
    assert.equal([...touts[k].shape], [...o.shape], `${describe(c, spec)}: tangent ${k} shape`);
    if (o.dtype !== 'float32' || c.zeroJvp) {
      assert.ok(got.every((v) => v === 0), `${describe(c, spec)}: output ${k} (${o.dtype}) must have a zero tangent, got ${got.slice(0, 8)}`);
      return;
    }
    const y = readBack(o), p = readBack(plus[k]), m = readBack(minus[k]);
    // Non-finite outputs (empty max windows, …) have no derivative to compare against.
    const keep = y.map((v, j) => Number.isFinite(v) && Number.isFinite(p[j]) && Number.isFinite(m[j]));
    const want = p.map((v, j) => (v - m[j]) / (2 * eps)).filter((_, j) => keep[j]);
    assertClose(got.filter((_, j) => keep[j]), want, FD_TOL, `${describe(c, spec)}: tangent of output ${k} vs central differences`);
  });
}

function checkInnerProduct(c: PrimCase, spec: Spec, seed: number): void {
  const ops = operands(c, spec, seed);
  const idx = floatOperands(ops);
  if (idx.length === 0) return;
  const r = lcg(hashSeed(seed, 11));
  const args = ops.map(toArray);
  const f = partialPrim(c, spec, args, idx);
  const xs = idx.map((i) => args[i]);
  const t = idx.map((i) => uni(-1, 1)(ops[i].data.length, r));
  const [outs, touts] = jvp(f, xs, idx.map((i, k) => f32Array(ops[i].shape, t[k])));
  if (!outs.some((o) => o.dtype === 'float32')) return;
  const cs = outs.map((o) => (o.dtype === 'float32' ? uni(-1, 1)(o.size, r) : new Array<number>(o.size).fill(0)));
  const [, pullback] = vjp(f, ...xs);
  const cts = pullback(outs.map((o, k) => toArray({ shape: [...o.shape], dtype: o.dtype, data: cs[k] }))) as VArray[];
  cts.forEach((ct, k) => {
    assert.equal([...ct.shape], ops[idx[k]].shape, `${describe(c, spec)}: cotangent ${k} shape`);
    assert.is(ct.dtype, 'float32', `${describe(c, spec)}: cotangent ${k} dtype`);
  });
  let lhs = 0, rhs = 0, scale = 0;
  outs.forEach((o, k) => {
    if (o.dtype !== 'float32') return;
    const jt = readBack(touts[k]);
    lhs += dot(jt, cs[k]);
    scale += absDot(jt, cs[k]);
  });
  cts.forEach((ct, k) => {
    const g = readBack(ct);
    rhs += dot(t[k], g);
    scale += absDot(t[k], g);
  });
  assert.ok(Number.isFinite(lhs) && Number.isFinite(rhs), `${describe(c, spec)}: non-finite inner products ${lhs}, ${rhs}`);
  assert.ok(Math.abs(lhs - rhs) <= IP_RTOL * scale + 1e-6, `${describe(c, spec)}: <J t, c> = ${lhs} but <t, J^T c> = ${rhs} (scale ${scale})`);
}

const seedArb = fc.nat();
for (const c of CASES) {
  if (applies(c, false))
    test(`${c.prim}: jvp matches central differences`, () => {
      assertProperty(fc.property(c.spec, seedArb, (spec, seed) => checkJvpAgainstFd(c, spec, hashSeed(seed))), propsOptions(RUNS));
    });
  if (applies(c, true))
    test(`${c.prim}: vjp is the transpose of jvp (<J t, c> = <t, J^T c>)`, () => {
      assertProperty(fc.property(c.spec, seedArb, (spec, seed) => checkInnerProduct(c, spec, hashSeed(seed))), propsOptions(RUNS));
    });
}

test.run();
