/**
 * Golden resampling values (torch.nn.functional in float64, cross-checked with SciPy/NumPy; the
 * ops, params and conventions are listed in the docstring of scripts/golden/generate_nn_sampling.py,
 * the file layout in scripts/golden/README.md): every case of test/fixtures/nn-sampling-golden.json runs eagerly and
 * under jit and is compared with the case tolerance.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jit, type Array as VArray } from '../src/index.js';
import { avgPool, maxPool, resizeBilinear, upsampleNearest } from '../src/nn/sampling.js';
import { assertGolden, fixtureArray, type GoldenCase } from './helpers.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/nn-sampling-golden.json', import.meta.url), 'utf8')) as { generator: string; cases: GoldenCase[] };

type Params = Record<string, any>;

const OPS: Record<string, (x: VArray, p: Params) => VArray> = {
  resize_bilinear: (x, p) => resizeBilinear(x, p.size, { alignCorners: p.alignCorners, axes: p.axes }),
  upsample_nearest: (x, p) => upsampleNearest(x, p.factor, p.axes),
  avg_pool: (x, p) => avgPool(x, p.window, { stride: p.stride, padding: p.padding, countIncludePad: p.countIncludePad }),
  max_pool: (x, p) => maxPool(x, p.window, { stride: p.stride, padding: p.padding }),
};

test('the fixture covers every op and both align_corners conventions', () => {
  assert.is(fixture.generator, 'scripts/golden/generate_nn_sampling.py');
  const ops = new Set(fixture.cases.map((c) => c.op));
  assert.equal([...ops].sort(), Object.keys(OPS).sort());
  const resize = fixture.cases.filter((c) => c.op === 'resize_bilinear');
  assert.ok(resize.some((c) => c.params.alignCorners === true) && resize.some((c) => c.params.alignCorners === false));
  const avg = fixture.cases.filter((c) => c.op === 'avg_pool');
  assert.ok(avg.some((c) => c.params.countIncludePad === true) && avg.some((c) => c.params.countIncludePad === false));
});

for (const c of fixture.cases) {
  test(`${c.name} (${c.op})`, () => {
    const f = OPS[c.op];
    assert.ok(f, `unknown op ${c.op}`);
    const x = fixtureArray(c.inputs.x!);
    const tol = c.tolerance ?? { rtol: 1e-5, atol: 1e-5 };
    assertGolden(c, f!(x, c.params), tol);
    assertGolden({ ...c, name: `${c.name} under jit` }, jit((v: VArray) => f!(v, c.params))(x), tol);
  });
}

test.run();
