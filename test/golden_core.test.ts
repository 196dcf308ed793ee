/**
 * Golden values for the core numpy ops (reductions, sorting, quantiles, special functions)
 * from `test/fixtures/core-golden.json` (NumPy / SciPy / PyTorch references; schema in
 * scripts/golden/README.md). Every case whose op is in `OPS` runs as its own test; conv and
 * matmul cases are checked by their own suite.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { np } from '../src/index.js';
import type { Array as VArray } from '../src/index.js';
import { assertGolden, fixtureArray, goldenCases, type GoldenCase } from './helpers.js';

const cases = goldenCases();

type Axis = number | number[] | null;
const p = (c: GoldenCase) => c.params as { axis: Axis; keepdims?: boolean; ddof?: number; q?: number | number[] };
const red = (f: (x: VArray, o: { axis: Axis; keepdims?: boolean }) => VArray) => (c: GoldenCase, i: Record<string, VArray>) => f(i.x, { axis: p(c).axis, keepdims: p(c).keepdims });
const unary = (f: (x: VArray) => VArray) => (_c: GoldenCase, i: Record<string, VArray>) => f(i.x);

/** Every op this suite owns, and how to run a case of it. */
const OPS: Record<string, (c: GoldenCase, inputs: Record<string, VArray>) => VArray> = {
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
  const unknown = [...new Set(cases.map((c) => c.op))].filter((op) => !(op in OPS) && !ELSEWHERE.has(op));
  assert.equal(unknown, [], `fixture ops with no runner: ${unknown.join(', ')}`);
  for (const op of Object.keys(OPS)) assert.ok(cases.some((c) => c.op === op), `no golden case for ${op}`);
});

for (const c of cases) {
  if (ELSEWHERE.has(c.op)) continue;
  test(`${c.op}: ${c.name}`, () => {
    const run = OPS[c.op];
    assert.ok(run, `${c.name}: op ${c.op} has no runner in this suite`);
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, fixtureArray(t)]));
    assertGolden(c, run(c, inputs), { rtol: 0, atol: 0 }, { signedZero: SIGNED_ZERO.has(c.op) });
  });
}

test.run();
