/**
 * Golden values for the core numpy ops (reductions, sorting, quantiles, special functions)
 * from `test/fixtures/core-golden.json` (NumPy / SciPy / PyTorch references; schema in
 * scripts/golden/README.md). Every case whose op is in `OPS` runs as its own test; conv and
 * matmul cases are checked by their own suite.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { np } from '../src/index.js';
import type { Array as VArray, DType } from '../src/index.js';

type Num = number | 'nan' | 'inf' | '-inf';
interface Tensor { shape: number[]; dtype: DType; data: Num[] }
interface Case {
  name: string;
  op: string;
  inputs: Record<string, Tensor>;
  params: Record<string, unknown>;
  expected: Tensor | Record<string, Tensor>;
  tolerance?: { rtol: number; atol: number };
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/core-golden.json', import.meta.url), 'utf8')) as { cases: Case[] };

const decode = (v: Num): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v);

/** A fixture tensor as an array (nested JS data through np.array; exact for float32 values). */
function input(t: Tensor): VArray {
  const data = t.data.map(decode);
  const build = (dim: number, off: number): unknown => {
    if (dim === t.shape.length) return data[off];
    const step = t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.shape[dim] }, (_, i) => build(dim + 1, off + i * step));
  };
  return np.array(build(0, 0) as number[], t.dtype);
}

type Axis = number | number[] | null;
const p = (c: Case) => c.params as { axis: Axis; keepdims?: boolean; ddof?: number; q?: number | number[] };
const red = (f: (x: VArray, o: { axis: Axis; keepdims?: boolean }) => VArray) => (c: Case, i: Record<string, VArray>) => f(i.x, { axis: p(c).axis, keepdims: p(c).keepdims });
const unary = (f: (x: VArray) => VArray) => (_c: Case, i: Record<string, VArray>) => f(i.x);

/** Every op this suite owns, and how to run a case of it. */
const OPS: Record<string, (c: Case, inputs: Record<string, VArray>) => VArray> = {
  sum: red(np.sum),
  mean: red(np.mean),
  prod: red(np.prod),
  max: red(np.max),
  min: red(np.min),
  logsumexp: red(np.logsumexp),
  var: (c, i) => np.var(i.x, { axis: p(c).axis, keepdims: p(c).keepdims, ddof: p(c).ddof }),
  std: (c, i) => np.std(i.x, { axis: p(c).axis, keepdims: p(c).keepdims, ddof: p(c).ddof }),
  argmax: (c, i) => np.argmax(i.x, { axis: p(c).axis as number | null, keepdims: p(c).keepdims }),
  argmin: (c, i) => np.argmin(i.x, { axis: p(c).axis as number | null, keepdims: p(c).keepdims }),
  cumsum: (c, i) => np.cumsum(i.x, p(c).axis as number | null),
  sort: (c, i) => np.sort(i.x, p(c).axis as number | null),
  argsort: (c, i) => np.argsort(i.x, p(c).axis as number | null),
  quantile: (c, i) => np.quantile(i.x, p(c).q!, { axis: p(c).axis, keepdims: p(c).keepdims }),
  percentile: (c, i) => np.percentile(i.x, p(c).q!, { axis: p(c).axis, keepdims: p(c).keepdims }),
  erf: unary(np.erf),
  erfinv: unary(np.erfinv),
  log1p: unary(np.log1p),
  expm1: unary(np.expm1),
  sigmoid: unary(np.sigmoid),
  round: unary(np.round),
  floor: unary(np.floor),
  sign: unary(np.sign),
  arctan2: (_c, i) => np.arctan2(i.y, i.x),
};
/** Ops whose golden cases belong to other suites. */
const ELSEWHERE = new Set(['conv', 'matmul']);
/** Ops for which the sign of a zero result is part of the expected value. */
const SIGNED_ZERO = new Set(['log1p', 'expm1', 'arctan2', 'round', 'floor', 'sign']);

test('every fixture op is covered by this suite or listed as belonging elsewhere', () => {
  const unknown = [...new Set(fixture.cases.map((c) => c.op))].filter((op) => !(op in OPS) && !ELSEWHERE.has(op));
  assert.equal(unknown, [], `fixture ops with no runner: ${unknown.join(', ')}`);
  for (const op of Object.keys(OPS)) assert.ok(fixture.cases.some((c) => c.op === op), `no golden case for ${op}`);
});

function fmt(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

function check(c: Case, actual: VArray): void {
  const exp = c.expected as Tensor;
  assert.ok('shape' in exp, `${c.name}: multi-output expected values are not supported by this suite`);
  assert.equal([...actual.shape], exp.shape, `${c.name}: shape`);
  assert.is(actual.dtype, exp.dtype, `${c.name}: dtype`);
  const got = Array.from(actual.dataSync());
  const want = exp.data.map(decode);
  const { rtol, atol } = c.tolerance ?? { rtol: 0, atol: 0 };
  const bad: string[] = [];
  want.forEach((e, k) => {
    const a = got[k];
    let ok: boolean;
    if (Number.isNaN(e)) ok = Number.isNaN(a);
    else if (!Number.isFinite(e)) ok = a === e;
    else if (e === 0 && SIGNED_ZERO.has(c.op)) ok = Object.is(a, e);
    else ok = Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok) bad.push(`[${k}] got ${fmt(a)}, expected ${fmt(e)}`);
  });
  assert.ok(bad.length === 0, `${c.name} (${c.op}, rtol ${rtol}, atol ${atol}): ${bad.length}/${want.length} mismatches: ${bad.slice(0, 8).join('; ')}`);
}

for (const c of fixture.cases) {
  if (ELSEWHERE.has(c.op)) continue;
  test(`${c.op}: ${c.name}`, () => {
    const run = OPS[c.op];
    assert.ok(run, `${c.name}: op ${c.op} has no runner in this suite`);
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, input(t)]));
    check(c, run(c, inputs));
  });
}

test.run();
