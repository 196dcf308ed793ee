/**
 * Golden values (PyTorch / NumPy, see scripts/golden/README.md) for `conv` and `matmul`:
 * every such case in test/fixtures/core-golden.json is checked against lax.convGeneralDilated
 * and np.matmul with the case's tolerance.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lax, np, type Array as VArray } from '../src/index.js';

type Num = number | 'nan' | 'inf' | '-inf';
interface Tensor {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Num[];
}
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
const toArray = (t: Tensor): VArray => {
  const data = t.data.map(decode);
  return lax.reshape(np.array(t.dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data), t.dtype), t.shape);
};

/** The ops this file covers, each mapped to the vidax call it checks. */
const RUNNERS: Record<string, (c: Case) => VArray> = {
  conv: (c) => {
    const p = c.params as { windowStrides: number[]; padding: [number, number][]; lhsDilation: number[]; rhsDilation: number[]; featureGroupCount: number };
    const known = new Set(['windowStrides', 'padding', 'lhsDilation', 'rhsDilation', 'featureGroupCount']);
    for (const k of Object.keys(c.params)) if (!known.has(k)) throw new Error(`${c.name}: unmapped conv param '${k}'`);
    return lax.convGeneralDilated(toArray(c.inputs.lhs), toArray(c.inputs.rhs), p.windowStrides, p.padding, {
      lhsDilation: p.lhsDilation, rhsDilation: p.rhsDilation, featureGroupCount: p.featureGroupCount,
    });
  },
  matmul: (c) => {
    if (Object.keys(c.params).length > 0) throw new Error(`${c.name}: unmapped matmul params ${JSON.stringify(c.params)}`);
    return np.matmul(toArray(c.inputs.a), toArray(c.inputs.b));
  },
};

const cases = fixture.cases.filter((c) => c.op in RUNNERS);

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
    const want = c.expected as Tensor;
    const got = op(c);
    assert.equal(got.shape, want.shape, `${c.name}: shape`);
    assert.is(got.dtype, want.dtype, `${c.name}: dtype`);
    const { rtol, atol } = c.tolerance ?? { rtol: 1e-5, atol: 1e-5 };
    const g = got.dataSync();
    want.data.forEach((raw, i) => {
      const w = decode(raw), v = g[i];
      if (!Number.isFinite(w)) {
        assert.ok(Object.is(v, w) || (Number.isNaN(w) && Number.isNaN(v)), `${c.name}[${i}]: got ${v}, want ${w}`);
        return;
      }
      assert.ok(Math.abs(v - w) <= atol + rtol * Math.abs(w), `${c.name}[${i}]: got ${v}, want ${w} (rtol ${rtol}, atol ${atol})`);
    });
  });
}

test.run();
