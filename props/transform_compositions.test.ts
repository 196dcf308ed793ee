/**
 * Laws of composed transformations, per first-order primitive of `prim_cases.ts`. The rules
 * a primitive's jvp and transpose emit are themselves differentiated and batched by
 * `grad(grad f)`, `vmap(grad f)` and per-example gradients, so they get the same checks:
 *
 * - forward over forward: the jvp of t ↦ J(x)t in x matches central differences of it
 *   (JAX's `check_grads(order=2)`), so jvp rules are differentiable;
 * - vmap over tangents: vmap of x ↦ jvp(f, x, t) over a batch of t (primals shared) equals
 *   stacking, so the linear maps the jvp rules build batch;
 * - vmap over cotangents: vmap of the vjp pullback over a batch of cotangents equals
 *   stacking, so transpose rules batch (with their residuals unbatched).
 *
 * Runs: 20 per primitive per law (PROPS_RUNS overrides).
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jvp, vjp, vmap, type Array as VArray } from '../src/index.js';
import { assertClose, lcg, type Tolerance } from '../test/helpers.js';
import { propsOptions } from './options.js';
import {
  CASES, applyPrim, assertProperty, describe, f32Array, floatOperands, hashSeed, operands, partialPrim, readBack, stackData, toArray, uni,
  type PrimCase, type Spec,
} from './prim_cases.js';

const RUNS = 20;
/** As for first derivatives (see ad_primitives.test.ts): the domains keep the fourth derivatives moderate. */
const FD_TOL: Tolerance = { rtol: 2e-2, atol: 2e-3 };
const VMAP_TOL: Tolerance = { rtol: 1e-5, atol: 1e-5 };

const insertAt = <T>(xs: readonly T[], at: number, v: T): T[] => [...xs.slice(0, at), v, ...xs.slice(at)];

/** The case's float operands and the primitive as a function of them, or null when it has none. */
function setup(c: PrimCase, spec: Spec, seed: number) {
  const ops = operands(c, spec, seed);
  const idx = floatOperands(ops);
  if (idx.length === 0) return null;
  const args = ops.map(toArray);
  return { ops, idx, xs: idx.map((i) => args[i]), f: partialPrim(c, spec, args, idx), r: lcg(hashSeed(seed, 5)) };
}

function checkSecondOrder(c: PrimCase, spec: Spec, seed: number): void {
  const s = setup(c, spec, seed);
  if (!s) return;
  const { ops, idx, f, r } = s;
  const eps = c.eps ?? 1e-2;
  const t = idx.map((i) => f32Array(ops[i].shape, uni(-1, 1)(ops[i].data.length, r)));
  const h = (...x: VArray[]) => jvp(f, x, t)[1];
  const xp: number[][] = [], xm: number[][] = [], dir: number[][] = [];
  for (const i of idx) {
    const d = uni(-1, 1)(ops[i].data.length, r);
    const p = ops[i].data.map((v, j) => Math.fround(v + eps * d[j])), m = ops[i].data.map((v, j) => Math.fround(v - eps * d[j]));
    xp.push(p), xm.push(m), dir.push(p.map((v, j) => (v - m[j]) / (2 * eps)));
  }
  const [h0, dh] = jvp(h, s.xs, idx.map((i, k) => f32Array(ops[i].shape, dir[k])));
  const plus = h(...idx.map((i, k) => f32Array(ops[i].shape, xp[k]))), minus = h(...idx.map((i, k) => f32Array(ops[i].shape, xm[k])));
  h0.forEach((o, k) => {
    const got = readBack(dh[k]);
    if (o.dtype !== 'float32' || c.zeroJvp) return assert.ok(got.every((v) => v === 0), `${describe(c, spec)}: second-order tangent ${k} must be zero`);
    const y = readBack(o), p = readBack(plus[k]), m = readBack(minus[k]);
    const keep = y.map((v, j) => Number.isFinite(v) && Number.isFinite(p[j]) && Number.isFinite(m[j]));
    const want = p.map((v, j) => (v - m[j]) / (2 * eps)).filter((_, j) => keep[j]);
    assertClose(got.filter((_, j) => keep[j]), want, FD_TOL, `${describe(c, spec)}: jvp of the jvp (output ${k}) vs central differences`);
  });
}

/** vmap of `g` over batches of `ins` (random batch axes) against stacking `g` over the examples. */
function checkBatched(what: string, g: (...a: VArray[]) => VArray[], examples: number[][][], shapes: number[][], r: () => number): void {
  const size = examples.length;
  const axes = shapes.map((sh) => Math.floor(r() * (sh.length + 1)));
  const batched = shapes.map((sh, i) => f32Array(insertAt(sh, axes[i], size), stackData(examples.map((e) => e[i]), sh, axes[i])));
  const outs = examples.map((e) => g(...e.map((d, i) => f32Array(shapes[i], d))));
  const got = vmap(g, { inAxes: axes })(...batched) as VArray[];
  outs[0].forEach((o, k) => {
    const msg = `${what} inAxes ${JSON.stringify(axes)} size ${size}: output ${k}`;
    assert.equal([...got[k].shape], [size, ...o.shape], `${msg} shape`);
    assertClose(readBack(got[k]), stackData(outs.map((e) => readBack(e[k])), [...o.shape], 0), VMAP_TOL, msg);
  });
}

function checkVmapOfJvp(c: PrimCase, spec: Spec, seed: number, size: number): void {
  const s = setup(c, spec, seed);
  if (!s) return;
  const { ops, idx, xs, f, r } = s;
  const shapes = idx.map((i) => ops[i].shape);
  const examples = Array.from({ length: size }, () => shapes.map((sh, i) => uni(-1, 1)(ops[idx[i]].data.length, r)));
  const tangentsOut = (...t: VArray[]) => jvp(f, xs, t)[1].filter((o) => o.dtype === 'float32');
  checkBatched(`vmap over tangents of jvp(${describe(c, spec)})`, tangentsOut, examples, shapes, r);
}

function checkVmapOfVjp(c: PrimCase, spec: Spec, seed: number, size: number): void {
  const s = setup(c, spec, seed);
  if (!s) return;
  const { xs, f, r } = s;
  const [outs, pullback] = vjp(f, ...xs);
  const floatOuts = outs.flatMap((o, k) => (o.dtype === 'float32' ? [k] : []));
  if (floatOuts.length === 0) return;
  const shapes = floatOuts.map((k) => [...outs[k].shape]);
  const examples = Array.from({ length: size }, () => floatOuts.map((k) => uni(-1, 1)(outs[k].size, r)));
  // Cotangents of non-float outputs are zeros (shared by every example).
  const pull = (...cts: VArray[]) => {
    let n = 0;
    return pullback(outs.map((o) => (o.dtype === 'float32' ? cts[n++] : toArray({ shape: [...o.shape], dtype: o.dtype, data: new Array<number>(o.size).fill(0) })))) as VArray[];
  };
  checkBatched(`vmap over cotangents of vjp(${describe(c, spec)})`, pull, examples, shapes, r);
}

/** Whether some sampled instance has a float operand and a float output. */
function applies(c: PrimCase): boolean {
  return fc.sample(c.spec, { seed: 1, numRuns: 30 }).some((spec, k) => {
    const ops = operands(c, spec, hashSeed(k));
    return floatOperands(ops).length > 0 && applyPrim(c, spec, ops.map(toArray)).some((o) => o.dtype === 'float32');
  });
}

const seedArb = fc.nat();
const sizeArb = fc.integer({ min: 1, max: 3 });
for (const c of CASES.filter(applies)) {
  test(`${c.prim}: jvp of jvp matches central differences`, () => {
    assertProperty(fc.property(c.spec, seedArb, (spec, seed) => checkSecondOrder(c, spec, hashSeed(seed))), propsOptions(RUNS));
  });
  test(`${c.prim}: vmap over tangents of jvp equals stacking`, () => {
    assertProperty(fc.property(c.spec, seedArb, sizeArb, (spec, seed, size) => checkVmapOfJvp(c, spec, hashSeed(seed), size)), propsOptions(RUNS));
  });
  test(`${c.prim}: vmap over cotangents of vjp equals stacking`, () => {
    assertProperty(fc.property(c.spec, seedArb, sizeArb, (spec, seed, size) => checkVmapOfVjp(c, spec, hashSeed(seed), size)), propsOptions(RUNS));
  });
}

test.run();
