/**
 * Golden values (PyTorch / NumPy, see scripts/golden/README.md) for `conv` and `matmul`:
 * every such case in test/fixtures/core-golden.json is checked against lax.convGeneralDilated
 * and np.matmul with the case's tolerance.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lax, np, type Array as VArray } from '../src/index.js';
import { assertGolden, fixtureArray, goldenCases, type GoldenCase } from './helpers.js';

/** The ops this file covers, each mapped to the vidax call it checks. */
const RUNNERS: Record<string, (c: GoldenCase) => VArray> = {
  conv: (c) => {
    const p = c.params as { windowStrides: number[]; padding: [number, number][]; lhsDilation: number[]; rhsDilation: number[]; featureGroupCount: number };
    const known = new Set(['windowStrides', 'padding', 'lhsDilation', 'rhsDilation', 'featureGroupCount']);
    for (const k of Object.keys(c.params)) if (!known.has(k)) throw new Error(`${c.name}: unmapped conv param '${k}'`);
    return lax.convGeneralDilated(fixtureArray(c.inputs.lhs), fixtureArray(c.inputs.rhs), p.windowStrides, p.padding, {
      lhsDilation: p.lhsDilation, rhsDilation: p.rhsDilation, featureGroupCount: p.featureGroupCount,
    });
  },
  matmul: (c) => {
    if (Object.keys(c.params).length > 0) throw new Error(`${c.name}: unmapped matmul params ${JSON.stringify(c.params)}`);
    return np.matmul(fixtureArray(c.inputs.a), fixtureArray(c.inputs.b));
  },
};

const cases = goldenCases().filter((c) => c.op in RUNNERS);

test('the fixture has conv and matmul cases, and every one maps to a runner', () => {
  assert.ok(cases.filter((c) => c.op === 'conv').length >= 10, 'conv cases present');
  assert.ok(cases.filter((c) => c.op === 'matmul').length >= 5, 'matmul cases present');
  for (const c of cases) {
    assert.ok('shape' in c.expected, `${c.name}: expected must be a single tensor`);
    const inputs = Object.keys(c.inputs).sort().join(',');
    assert.is(inputs, c.op === 'conv' ? 'lhs,rhs' : 'a,b', `${c.name}: unmapped inputs ${inputs}`);
  }
});

for (const c of cases) {
  test(`${c.op}: ${c.name}`, () => {
    const op = RUNNERS[c.op];
    if (!op) throw new Error(`${c.name}: op '${c.op}' is not mapped`);
    assertGolden(c, op(c), { rtol: 1e-5, atol: 1e-5 });
  });
}

test.run();
