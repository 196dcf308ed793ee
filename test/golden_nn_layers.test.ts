/**
 * Golden values for the nn layers (PyTorch in float64; the op table and the mapping of PyTorch
 * weights to vidax parameter trees are in scripts/golden/generate_nn_layers.py): every case of
 * test/fixtures/nn-layers-golden.json runs through the vidax layer (src/nn) with its parameters
 * mapped from the fixture, and the forward value and the gradients of sum(out · ct) with respect
 * to the inputs and every parameter are compared with the case tolerance, eagerly (vjp) and
 * under jit (jit of the vjp).
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jit, np, vjp, type Array as VArray } from '../src/index.js';
import { gelu, logSoftmax, silu, softmax, softplus } from '../src/nn/activations.js';
import { multiHeadAttention, relativePositionBias, relativePositionBucket } from '../src/nn/attention.js';
import { fourierFeatures, guidanceEmbedding, sinusoidalEmbedding } from '../src/nn/embeddings.js';
import { groupNorm, layerNorm, rmsNorm } from '../src/nn/norm.js';
import { resBlock } from '../src/nn/residual.js';
import { assertClose, decode, fixtureArray, type GoldenCase, type Tensor } from './helpers.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/nn-layers-golden.json', import.meta.url), 'utf8')) as { cases: GoldenCase[] };

type Inputs = Record<string, VArray>;
/**
 * A case as a function of the differentiated inputs (a record of fixture names), plus the names
 * of those inputs; constants (masks, fixed projections) are closed over.
 */
interface Spec {
  wrt: string[];
  f: (p: Inputs) => VArray;
}

const num = (c: GoldenCase, k: string): number => c.params[k] as number;
const onlyX = (fn: (x: VArray) => VArray): Spec => ({ wrt: ['x'], f: (p) => fn(p.x) });

const PREFIXES = ['query', 'key', 'value', 'out'] as const;

const BUILDERS: Record<string, (c: GoldenCase, inp: Inputs) => Spec> = {
  gelu: () => onlyX((x) => gelu(x)),
  gelu_tanh: () => onlyX((x) => gelu(x, { approximate: true })),
  silu: () => onlyX(silu),
  softplus: () => onlyX(softplus),
  softmax: (c) => onlyX((x) => softmax(x, num(c, 'axis'))),
  log_softmax: (c) => onlyX((x) => logSoftmax(x, num(c, 'axis'))),
  layer_norm: (c, inp) => {
    const layer = layerNorm({ features: inp.x.shape[inp.x.ndim - 1], eps: num(c, 'eps') });
    return { wrt: ['x', 'scale', 'bias'], f: (p) => layer.apply({ scale: p.scale, bias: p.bias }, p.x) };
  },
  group_norm: (c, inp) => {
    const layer = groupNorm({ groups: num(c, 'groups'), channels: inp.x.shape[1], eps: num(c, 'eps') });
    return { wrt: ['x', 'scale', 'bias'], f: (p) => layer.apply({ scale: p.scale, bias: p.bias }, p.x) };
  },
  rms_norm: (c, inp) => {
    const layer = rmsNorm({ features: inp.x.shape[inp.x.ndim - 1], eps: num(c, 'eps') });
    return { wrt: ['x', 'scale'], f: (p) => layer.apply({ scale: p.scale }, p.x) };
  },
  multi_head_attention: (c, inp) => {
    const heads = num(c, 'heads');
    const cross = 'context' in inp;
    const layer = multiHeadAttention({ features: inp.x.shape[2], heads, kvFeatures: cross ? inp.context.shape[2] : undefined });
    const mask = np.notEqual(inp.mask, 0);
    const rel = c.params.relativePositionBias as { numBuckets: number; maxDistance: number; bidirectional: boolean } | undefined;
    const relLayer = rel && relativePositionBias({ heads, ...rel });
    const wrt = ['x', ...(cross ? ['context'] : []), ...PREFIXES.flatMap((k) => [`${k}_w`, `${k}_b`]), ...(rel ? ['rel_embedding'] : [])];
    return {
      wrt,
      f: (p) => {
        const wb = (k: string) => ({ w: p[`${k}_w`], b: p[`${k}_b`] });
        const params = { query: wb('query'), key: wb('key'), value: wb('value'), out: wb('out') };
        const bias = relLayer?.apply({ embedding: p.rel_embedding }, p.x.shape[1]);
        return layer.apply(params, p.x, { context: cross ? p.context : undefined, mask, bias });
      },
    };
  },
  sinusoidal_embedding: (c) => {
    const { dim, maxPeriod, flipSinToCos, downscaleFreqShift, scale } = c.params as { dim: number; maxPeriod: number; flipSinToCos: boolean; downscaleFreqShift: number; scale: number };
    return { wrt: [], f: (p) => sinusoidalEmbedding(p.t, dim, { maxPeriod, flipSinToCos, downscaleFreqShift, scale }) };
  },
  guidance_embedding: (c) => ({ wrt: [], f: (p) => guidanceEmbedding(p.t, num(c, 'dim'), { scale: num(c, 'scale'), maxPeriod: num(c, 'maxPeriod') }) }),
  fourier_features: (c, inp) => {
    const layer = fourierFeatures({ inFeatures: inp.x.shape[inp.x.ndim - 1], features: num(c, 'features') });
    return { wrt: ['x'], f: (p) => layer.apply({ projection: inp.projection }, p.x) };
  },
  res_block: (c, inp) => {
    const layer = resBlock({
      inChannels: inp.x.shape[1], outChannels: inp.conv1_w.shape[0], embDim: inp.emb.shape[1],
      groups: num(c, 'groups'), dims: num(c, 'dims') as 2 | 3, eps: num(c, 'eps'),
    });
    const wb = (p: Inputs, k: string) => ({ w: p[`${k}_w`], b: p[`${k}_b`] });
    const sb = (p: Inputs, k: string) => ({ scale: p[`${k}_scale`], bias: p[`${k}_bias`] });
    const names = ['norm1_scale', 'norm1_bias', 'conv1_w', 'conv1_b', 'emb_w', 'emb_b', 'norm2_scale', 'norm2_bias', 'conv2_w', 'conv2_b', 'skip_w', 'skip_b'];
    return {
      wrt: ['x', 'emb', ...names],
      f: (p) =>
        layer.apply(
          { norm1: sb(p, 'norm1'), conv1: wb(p, 'conv1'), emb: wb(p, 'emb'), norm2: sb(p, 'norm2'), conv2: wb(p, 'conv2'), skip: wb(p, 'skip') },
          p.x,
          { emb: p.emb },
        ),
    };
  },
};

function check(c: GoldenCase, variant: string, key: string, got: VArray): void {
  const exp = (c.expected as Record<string, Tensor>)[key];
  assert.ok(exp, `${c.name}: no expected '${key}'`);
  const what = `${c.name} [${variant}] ${key}`;
  assert.equal([...got.shape], exp.shape, `${what}: shape`);
  assertClose(got.dataSync(), exp.data.map(decode), c.tolerance!, what);
}

/** Value and gradients of sum(out · ct) with respect to `spec.wrt`, by vjp. */
function valueAndGrads(spec: Spec, inputs: Inputs, ct: VArray | undefined): [VArray, Inputs] {
  const consts = Object.fromEntries(Object.entries(inputs).filter(([k]) => !spec.wrt.includes(k)));
  const primal = Object.fromEntries(spec.wrt.map((k) => [k, inputs[k]]));
  const [out, pull] = vjp((p: Inputs) => spec.f({ ...consts, ...p }), primal);
  return [out, ct ? (pull(ct)[0] as Inputs) : {}];
}

for (const c of fixture.cases) {
  test(`${c.op}: ${c.name}`, () => {
    const build = BUILDERS[c.op];
    assert.ok(build, `no builder for op '${c.op}'`);
    const inputs: Inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, fixtureArray(t)]));
    const spec = build(c, inputs);
    const ct = spec.wrt.length > 0 ? inputs.ct : undefined;
    const expectedKeys = Object.keys(c.expected).filter((k) => k !== 'buckets');
    assert.equal(expectedKeys.sort(), ['out', ...spec.wrt.map((k) => `${k}_grad`)].sort(), `${c.name}: expected keys`);
    const variants: Record<string, () => [VArray, Inputs]> = {
      eager: () => valueAndGrads(spec, inputs, ct),
      jit: () => jit((i: Inputs) => valueAndGrads(spec, i, ct === undefined ? undefined : i.ct))(inputs) as [VArray, Inputs],
    };
    for (const [variant, run] of Object.entries(variants)) {
      const [out, grads] = run();
      check(c, variant, 'out', out);
      for (const k of spec.wrt) check(c, variant, `${k}_grad`, grads[k]);
    }
  });
}

test('relative position buckets: T5 (HF transformers, torch) table of the relative-bias case', () => {
  const c = fixture.cases.find((x) => x.op === 'multi_head_attention' && 'buckets' in (x.expected as object));
  assert.ok(c, 'a multi_head_attention case with buckets');
  const rel = c.params.relativePositionBias as { numBuckets: number; maxDistance: number; bidirectional: boolean };
  const table = (c.expected as Record<string, Tensor>).buckets;
  const [tq, tk] = table.shape;
  const got: number[] = [];
  for (let i = 0; i < tq; i++) for (let j = 0; j < tk; j++) got.push(relativePositionBucket(j - i, rel));
  assert.equal(got, table.data);
});

test('fourier features: the projection is frozen (zero gradient)', () => {
  const c = fixture.cases.find((x) => x.op === 'fourier_features')!;
  const x = fixtureArray(c.inputs.x);
  const layer = fourierFeatures({ inFeatures: x.shape[x.ndim - 1], features: c.params.features as number });
  const [, pull] = vjp((p: { projection: VArray }) => layer.apply(p, x), { projection: fixtureArray(c.inputs.projection) });
  const [g] = pull(fixtureArray(c.inputs.ct));
  assert.ok(Array.from(g.projection.dataSync()).every((v) => v === 0), 'projection gradient is exactly 0');
});

test.run();
