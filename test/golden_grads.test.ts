/**
 * Golden gradients (PyTorch autograd in float64, see scripts/golden/generate_grads.py and the
 * "Gradient fixtures" section of scripts/golden/README.md): every case of
 * test/fixtures/grad-golden.json is computed with vidax's public API (np / lax compositions
 * differentiated by vjp, grad, jvp) and compared, values and gradients, with the case tolerance.
 *
 * Each first-order case runs five ways: vjp(f), grad of sum(f · ct) (with hasAux for the value),
 * vjp(jit(f)), jit(vjp(f)) and jit(grad(·)). Hessian-vector products run forward-over-reverse
 * (jvp of grad) and reverse-over-reverse (grad of ⟨grad, v⟩), each also with jit inside and
 * outside. Full Hessians are assembled from basis directions by loops and by vmap.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grad, jit, jvp, lax, np, valueAndGrad, vjp, vmap, type Array as VArray } from '../src/index.js';
import { assertClose, decode, fixtureArray, type GoldenCase, type Tensor } from './helpers.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/grad-golden.json', import.meta.url), 'utf8')) as { generator: string; cases: GoldenCase[] };

type Fn = (...xs: VArray[]) => VArray;

// ---------------------------------------------------------------- compositions under test

/** Softmax along the last axis as exp(s − logsumexp(s)). */
const softmax = (s: VArray): VArray => np.exp(np.sub(s, np.logsumexp(s, { axis: -1, keepdims: true })));

/** float32 one-hot [N, C] of int32 labels [N] (a comparison, no gather). */
const oneHot = (labels: VArray, numClasses: number): VArray => np.astype(np.equal(np.expandDims(labels, 1), np.arange(numClasses)), 'float32');

/** Softmax cross-entropy: reduce_n(logsumexp(z[n]) − z[n, labels[n]]), the label term by one-hot. */
function softmaxCrossEntropy(logits: VArray, labels: VArray, reduction: 'mean' | 'sum'): VArray {
  const picked = np.sum(np.mul(oneHot(labels, logits.shape[1]), logits), 1);
  const perExample = np.sub(np.logsumexp(logits, 1), picked);
  return reduction === 'mean' ? np.mean(perExample) : np.sum(perExample);
}

/** The same loss with the label logit picked by takeAlongAxis (a gather; its transpose is scatter_add). */
function softmaxCrossEntropyGather(logits: VArray, labels: VArray, reduction: 'mean' | 'sum'): VArray {
  const picked = np.squeeze(np.takeAlongAxis(logits, np.expandDims(labels, 1), 1), 1);
  const perExample = np.sub(np.logsumexp(logits, 1), picked);
  return reduction === 'mean' ? np.mean(perExample) : np.sum(perExample);
}

/** Group norm of x [N, C, …]: normalise over each group of C/G channels and all spatial dims, then scale/shift per channel. */
function groupNorm(x: VArray, scale: VArray, shift: VArray, groups: number, eps: number): VArray {
  const [n, c] = x.shape;
  const xg = np.reshape(x, [n, groups, -1]);
  const mu = np.mean(xg, { axis: 2, keepdims: true });
  const variance = np.var(xg, { axis: 2, keepdims: true });
  const y = np.reshape(np.mul(np.sub(xg, mu), np.rsqrt(np.add(variance, eps))), x.shape);
  const bshape = [1, c, ...x.shape.slice(2).map(() => 1)];
  return np.add(np.mul(y, np.reshape(scale, bshape)), np.reshape(shift, bshape));
}

/** Scaled dot-product attention over q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,Dv] with an optional additive mask. */
function attention(q: VArray, k: VArray, v: VArray, scale: number, mask?: VArray): VArray {
  let s = np.mul(np.einsum('bhqd,bhkd->bhqk', q, k), scale);
  if (mask) s = np.add(s, mask);
  return np.einsum('bhqk,bhkd->bhqd', softmax(s), v);
}

/** A two-layer tanh MLP's mean softmax cross-entropy. */
function mlpXent(W1: VArray, b1: VArray, W2: VArray, b2: VArray, X: VArray, labels: VArray): VArray {
  const hidden = np.tanh(np.add(np.matmul(X, np.transpose(W1)), b1));
  return softmaxCrossEntropy(np.add(np.matmul(hidden, np.transpose(W2)), b2), labels, 'mean');
}

// ---------------------------------------------------------------- case specs

/** f(wrt…) with cotangent `ct` (null: f is a scalar): expected `outKey` and one gradient key per wrt input. */
interface VjpSpec {
  kind: 'vjp';
  wrt: string[];
  f: Fn;
  outKey: string;
  gradKeys: string[];
  ct: string | null;
  uses: string[];
}
/** Scalar f(wrt…); directions `v_<name>`; expected value, grad_<name>, hvp_<name>. */
interface HvpSpec {
  kind: 'hvp';
  wrt: string[];
  f: Fn;
  uses: string[];
}
/** Scalar f(wrt…); expected value, grad (flattened, concatenated) and the full Hessian. */
interface HessSpec {
  kind: 'hessian';
  wrt: string[];
  f: Fn;
  uses: string[];
}
type Spec = VjpSpec | HvpSpec | HessSpec;

const input = (c: GoldenCase, k: string): VArray => {
  const t = c.inputs[k];
  if (!t) throw new Error(`${c.name}: no input '${k}'`);
  return fixtureArray(t);
};

const BUILDERS: Record<string, (c: GoldenCase) => Spec> = {
  conv_grad: (c) => {
    const p = c.params as { windowStrides: number[]; padding: [number, number][]; lhsDilation: number[]; rhsDilation: number[]; featureGroupCount: number };
    const f: Fn = (lhs, rhs) =>
      lax.convGeneralDilated(lhs, rhs, p.windowStrides, p.padding, { lhsDilation: p.lhsDilation, rhsDilation: p.rhsDilation, featureGroupCount: p.featureGroupCount });
    return { kind: 'vjp', wrt: ['lhs', 'rhs'], f, outKey: 'out', gradKeys: ['lhs_grad', 'rhs_grad'], ct: 'ct', uses: ['lhs', 'rhs', 'ct'] };
  },
  matmul_grad: () => ({ kind: 'vjp', wrt: ['a', 'b'], f: (a, b) => np.matmul(a, b), outKey: 'out', gradKeys: ['a_grad', 'b_grad'], ct: 'ct', uses: ['a', 'b', 'ct'] }),
  softmax_cross_entropy: (c) => {
    const labels = input(c, 'labels');
    const reduction = c.params.reduction as 'mean' | 'sum';
    return { kind: 'vjp', wrt: ['logits'], f: (z) => softmaxCrossEntropy(z, labels, reduction), outKey: 'loss', gradKeys: ['logits_grad'], ct: null, uses: ['logits', 'labels'] };
  },
  group_norm: (c) => {
    const { groups, eps } = c.params as { groups: number; eps: number };
    return {
      kind: 'vjp', wrt: ['x', 'scale', 'shift'], f: (x, s, b) => groupNorm(x, s, b, groups, eps),
      outKey: 'out', gradKeys: ['x_grad', 'scale_grad', 'shift_grad'], ct: 'ct', uses: ['x', 'scale', 'shift', 'ct'],
    };
  },
  attention: (c) => {
    const scale = c.params.scale as number;
    const mask = 'mask' in c.inputs ? input(c, 'mask') : undefined;
    return {
      kind: 'vjp', wrt: ['q', 'k', 'v'], f: (q, k, v) => attention(q, k, v, scale, mask),
      outKey: 'out', gradKeys: ['q_grad', 'k_grad', 'v_grad'], ct: 'ct', uses: ['q', 'k', 'v', 'ct', ...(mask ? ['mask'] : [])],
    };
  },
  hvp_tanh_sq: () => ({ kind: 'hvp', wrt: ['W', 'x'], f: (W, x) => np.sum(np.square(np.tanh(np.matmul(W, x)))), uses: ['W', 'x'] }),
  hvp_mlp_xent: (c) => {
    const X = input(c, 'X'), labels = input(c, 'labels');
    return { kind: 'hvp', wrt: ['W1', 'b1', 'W2', 'b2'], f: (W1, b1, W2, b2) => mlpXent(W1, b1, W2, b2, X, labels), uses: ['W1', 'b1', 'W2', 'b2', 'X', 'labels'] };
  },
  hessian_lse_tanh: (c) => {
    const A = input(c, 'A');
    return { kind: 'hessian', wrt: ['x'], f: (x) => np.add(np.logsumexp(np.matmul(A, x)), np.sum(np.mul(np.mul(x, x), np.tanh(x)))), uses: ['x', 'A'] };
  },
  hessian_scalars: () => ({
    kind: 'hessian', wrt: ['a', 'b', 'c'],
    f: (a, b, c) => np.add(np.add(np.mul(np.mul(a, b), c), np.sin(np.mul(a, b))), np.mul(np.mul(b, b), np.exp(np.mul(c, 0.5)))),
    uses: ['a', 'b', 'c'],
  }),
};

/** The expected keys a spec produces. */
function expectedKeys(s: Spec): string[] {
  if (s.kind === 'vjp') return [s.outKey, ...s.gradKeys];
  if (s.kind === 'hvp') return ['value', ...s.wrt.map((k) => `grad_${k}`), ...s.wrt.map((k) => `hvp_${k}`)];
  return ['value', 'grad', 'hessian'];
}

// ---------------------------------------------------------------- comparison

function check(c: GoldenCase, variant: string, key: string, got: unknown): void {
  const exp = (c.expected as Record<string, Tensor>)[key];
  if (!exp) throw new Error(`${c.name}: no expected '${key}'`);
  const what = `${c.name} [${variant}] ${key}`;
  assert.ok(got && typeof got === 'object' && 'shape' in got, `${what}: not an array`);
  const g = got as VArray;
  assert.equal([...g.shape], exp.shape, `${what}: shape`);
  assert.is(g.dtype, exp.dtype, `${what}: dtype`);
  assertClose(g.dataSync(), exp.data.map(decode), c.tolerance!, what);
}

const argnums = (n: number): number[] => [...Array(n).keys()];
/** ⟨xs, ys⟩ summed over a list of arrays. */
const vdotAll = (xs: readonly VArray[], ys: readonly VArray[]): VArray => xs.map((x, i) => np.sum(np.mul(x, ys[i]))).reduce((a, b) => np.add(a, b));

// ---------------------------------------------------------------- first order

type VjpResult = { out: VArray; grads: VArray[] };
/** The loss sum(f · ct) (or f itself for scalar f) with f's output as aux. */
const lossWithAux = (f: Fn, ct: VArray | null) => (...xs: VArray[]) => {
  const o = f(...xs);
  return [ct ? np.sum(np.mul(o, ct)) : o, o];
};
const ctOf = (c: GoldenCase, s: VjpSpec): VArray => (s.ct ? input(c, s.ct) : np.ones([]));

const VJP_VARIANTS: Record<string, (s: VjpSpec, xs: VArray[], ct: VArray, hasCt: boolean) => VjpResult> = {
  'vjp(f)': (s, xs, ct) => {
    const [out, pull] = vjp(s.f, ...xs);
    return { out, grads: pull(ct) as VArray[] };
  },
  'grad(sum(f*ct))': (s, xs, ct, hasCt) => {
    const [g, out] = grad(lossWithAux(s.f, hasCt ? ct : null), { argnums: argnums(xs.length), hasAux: true })(...xs) as [VArray[], VArray];
    return { out, grads: g };
  },
  'vjp(jit(f))': (s, xs, ct) => {
    const [out, pull] = vjp(jit(s.f), ...xs);
    return { out, grads: pull(ct) as VArray[] };
  },
  'jit(vjp(f))': (s, xs, ct) => {
    const n = xs.length;
    const r = jit((...a: VArray[]) => {
      const [o, pull] = vjp(s.f, ...a.slice(0, n));
      return [o, ...(pull(a[n]) as VArray[])];
    })(...xs, ct) as VArray[];
    return { out: r[0], grads: r.slice(1) };
  },
  'jit(valueAndGrad)': (s, xs, ct, hasCt) => {
    const n = xs.length;
    const r = jit((...a: VArray[]) => valueAndGrad(lossWithAux(s.f, hasCt ? a[n] : null), { argnums: argnums(n), hasAux: true })(...a.slice(0, n)))(...xs, ct) as [[VArray, VArray], VArray[]];
    return { out: r[0][1], grads: r[1] };
  },
};

// ---------------------------------------------------------------- second order

type HvpResult = { value?: VArray; grads?: VArray[]; hvps: VArray[] };
const gradAll = (f: Fn, n: number) => (...xs: VArray[]) => grad(f, { argnums: argnums(n) })(...xs) as VArray[];
/** Forward-over-reverse: jvp of (value, grads) along v gives (⟨g, v⟩, H v). */
const fwdOverRev = (f: Fn, xs: VArray[], vs: VArray[]): HvpResult => {
  const n = xs.length;
  const [[value, grads], [, hvps]] = jvp((...a: VArray[]) => valueAndGrad(f, { argnums: argnums(n) })(...a), xs, vs) as [[VArray, VArray[]], [VArray, VArray[]]];
  return { value, grads, hvps };
};
/** Reverse-over-reverse: grad of ⟨grad f, v⟩. */
const revOverRev = (f: Fn, xs: VArray[], vs: VArray[]): HvpResult => {
  const n = xs.length;
  const hvps = grad((...a: VArray[]) => vdotAll(gradAll(f, n)(...a), vs), { argnums: argnums(n) })(...xs) as VArray[];
  return { hvps };
};
const jitted = (h: (f: Fn, xs: VArray[], vs: VArray[]) => HvpResult) => (f: Fn, xs: VArray[], vs: VArray[]): HvpResult => {
  const n = xs.length;
  const r = jit((...a: VArray[]) => {
    const o = h(f, a.slice(0, n), a.slice(n));
    return o.value && o.grads ? [o.hvps, o.value, o.grads] : [o.hvps];
  })(...xs, ...vs) as [VArray[], VArray?, VArray[]?];
  return { hvps: r[0], value: r[1], grads: r[2] };
};

const HVP_VARIANTS: Record<string, (f: Fn, xs: VArray[], vs: VArray[]) => HvpResult> = {
  'jvp(grad f)': fwdOverRev,
  'grad(<grad f, v>)': revOverRev,
  'jit(jvp(grad f))': jitted(fwdOverRev),
  'jit(grad(<grad f, v>))': jitted(revOverRev),
  'jvp(grad(jit f))': (f, xs, vs) => fwdOverRev(jit(f), xs, vs),
  'grad(<grad(jit f), v>)': (f, xs, vs) => revOverRev(jit(f), xs, vs),
  'jvp(jit(grad f))': (f, xs, vs) => ({ hvps: (jvp(jit(gradAll(f, xs.length)), xs, vs) as [VArray[], VArray[]])[1] }),
  'grad(<jit(grad f), v>)': (f, xs, vs) => ({
    hvps: grad((...a: VArray[]) => vdotAll(jit(gradAll(f, xs.length))(...a), vs), { argnums: argnums(xs.length) })(...xs) as VArray[],
  }),
};

/** The gradient over all inputs, flattened and concatenated. */
const flatGrad = (f: Fn, n: number) => (...xs: VArray[]): VArray => np.concatenate(gradAll(f, n)(...xs).map((g) => np.ravel(g)));
/** Basis direction i over the flattened, concatenated inputs, split back into per-input tangents. */
function basis(xs: readonly VArray[], i: number): VArray[] {
  let offset = 0;
  return xs.map((x) => {
    const size = x.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (i >= offset && i < offset + size) data[i - offset] = 1;
    offset += size;
    return np.reshape(np.array(data, 'float32'), x.shape);
  });
}
const totalSize = (xs: readonly VArray[]): number => xs.reduce((a, x) => a + x.shape.reduce((p, d) => p * d, 1), 0);
/** The identity matrix's columns split per input: tangent batch for input j is [n, …shape_j]. */
function basisBatch(xs: readonly VArray[]): VArray[] {
  const n = totalSize(xs);
  const eye = np.eye(n);
  let offset = 0;
  return xs.map((x) => {
    const size = x.shape.reduce((a, b) => a * b, 1);
    const cols = np.slice(eye, { start: 0, stop: n }, { start: offset, stop: offset + size });
    offset += size;
    return np.reshape(cols, [n, ...x.shape]);
  });
}

/** Hessian rows H[i, :] = J(grad f) e_i (forward over reverse). */
const hessFwdLoop = (f: Fn, xs: VArray[]): VArray =>
  np.stack([...Array(totalSize(xs)).keys()].map((i) => (jvp(flatGrad(f, xs.length), xs, basis(xs, i)) as [VArray, VArray])[1]));
/** Hessian rows H[i, :] = grad ⟨grad f, e_i⟩ (reverse over reverse). */
const hessRevLoop = (f: Fn, xs: VArray[]): VArray =>
  np.stack([...Array(totalSize(xs)).keys()].map((i) => {
    const e = np.concatenate(basis(xs, i).map((b) => np.ravel(b)));
    return flatGrad((...a: VArray[]) => np.sum(np.mul(flatGrad(f, xs.length)(...a), e)), xs.length)(...xs);
  }));

const HESS_VARIANTS: Record<string, (f: Fn, xs: VArray[]) => VArray> = {
  'jvp(grad f) per basis vector': hessFwdLoop,
  'grad(<grad f, e_i>) per basis vector': hessRevLoop,
  'vmap(jvp(grad f)) over the basis': (f, xs) => vmap((...ts: VArray[]) => (jvp(flatGrad(f, xs.length), xs, ts) as [VArray, VArray])[1])(...basisBatch(xs)),
  'vmap(vjp(grad f)) over the basis': (f, xs) => {
    const [, pull] = vjp(flatGrad(f, xs.length), ...xs);
    const rows = vmap((e: VArray) => np.concatenate((pull(e) as VArray[]).map((r) => np.ravel(r))))(np.eye(totalSize(xs)));
    return rows;
  },
  'jit(jvp(grad f) per basis vector)': (f, xs) => jit((...a: VArray[]) => hessFwdLoop(f, a))(...xs),
  'jit(grad(<grad f, e_i>) per basis vector)': (f, xs) => jit((...a: VArray[]) => hessRevLoop(f, a))(...xs),
  'jvp(grad(jit f)) per basis vector': (f, xs) => hessFwdLoop(jit(f), xs),
};

// ---------------------------------------------------------------- tests

const cases = fixture.cases;

test('the gradient fixture has every family, and every case maps to a spec that covers it', () => {
  assert.is(fixture.generator, 'scripts/golden/generate_grads.py');
  const ops = new Set(cases.map((c) => c.op));
  for (const op of Object.keys(BUILDERS)) assert.ok(ops.has(op), `fixture has ${op} cases`);
  assert.ok(cases.filter((c) => c.op === 'conv_grad' && c.inputs.lhs.shape.length === 5).length >= 2, '3-D conv cases present');
  for (const c of cases) {
    const build = BUILDERS[c.op];
    assert.ok(build, `${c.name}: op '${c.op}' is not mapped`);
    assert.ok(c.tolerance, `${c.name}: has a tolerance`);
    const s = build(c);
    assert.equal(expectedKeys(s).sort(), Object.keys(c.expected).sort(), `${c.name}: expected keys`);
    const dirs = s.kind === 'hvp' ? s.wrt.map((k) => `v_${k}`) : [];
    assert.equal([...s.uses, ...dirs].sort(), Object.keys(c.inputs).sort(), `${c.name}: inputs used`);
  }
});

for (const c of cases) {
  const build = BUILDERS[c.op];
  if (!build) continue;
  const spec = build(c);
  if (spec.kind === 'vjp') {
    for (const [variant, run] of Object.entries(VJP_VARIANTS)) {
      test(`${c.op}: ${c.name} [${variant}]`, () => {
        const xs = spec.wrt.map((k) => input(c, k));
        const r = run(spec, xs, ctOf(c, spec), spec.ct !== null);
        check(c, variant, spec.outKey, r.out);
        assert.is(r.grads.length, spec.gradKeys.length, `${c.name} [${variant}]: gradient count`);
        spec.gradKeys.forEach((k, i) => check(c, variant, k, r.grads[i]));
      });
    }
  } else if (spec.kind === 'hvp') {
    for (const [variant, run] of Object.entries(HVP_VARIANTS)) {
      test(`${c.op}: ${c.name} [${variant}]`, () => {
        const xs = spec.wrt.map((k) => input(c, k));
        const vs = spec.wrt.map((k) => input(c, `v_${k}`));
        const r = run(spec.f, xs, vs);
        if (r.value) check(c, variant, 'value', r.value);
        if (r.grads) spec.wrt.forEach((k, i) => check(c, variant, `grad_${k}`, r.grads![i]));
        assert.is(r.hvps.length, spec.wrt.length, `${c.name} [${variant}]: hvp count`);
        spec.wrt.forEach((k, i) => check(c, variant, `hvp_${k}`, r.hvps[i]));
      });
    }
    test(`${c.op}: ${c.name} [value and grad, eager and jit]`, () => {
      const xs = spec.wrt.map((k) => input(c, k));
      for (const [variant, vg] of [['valueAndGrad', valueAndGrad(spec.f, { argnums: argnums(xs.length) })], ['jit(valueAndGrad)', jit(valueAndGrad(spec.f, { argnums: argnums(xs.length) }))]] as const) {
        const [v, gs] = vg(...xs) as [VArray, VArray[]];
        check(c, variant, 'value', v);
        spec.wrt.forEach((k, i) => check(c, variant, `grad_${k}`, gs[i]));
      }
    });
  } else {
    test(`${c.op}: ${c.name} [value and flattened grad, eager and jit]`, () => {
      const xs = spec.wrt.map((k) => input(c, k));
      check(c, 'f', 'value', spec.f(...xs));
      check(c, 'jit(f)', 'value', jit(spec.f)(...xs));
      check(c, 'grad', 'grad', flatGrad(spec.f, xs.length)(...xs));
      check(c, 'jit(grad)', 'grad', jit(flatGrad(spec.f, xs.length))(...xs));
    });
    for (const [variant, run] of Object.entries(HESS_VARIANTS)) {
      test(`${c.op}: ${c.name} [${variant}]`, () => {
        check(c, variant, 'hessian', run(spec.f, spec.wrt.map((k) => input(c, k))));
      });
    }
  }
}

// The label term by gather (takeAlongAxis) instead of one-hot: checks gather's jvp and scatter_add's transpose.
for (const c of cases.filter((k) => k.op === 'softmax_cross_entropy')) {
  test(`softmax_cross_entropy: ${c.name} [takeAlongAxis label pick, grad and jit(grad)]`, () => {
    const logits = input(c, 'logits'), labels = input(c, 'labels');
    const loss = (z: VArray) => softmaxCrossEntropyGather(z, labels, c.params.reduction as 'mean' | 'sum');
    for (const [variant, vg] of [['valueAndGrad', valueAndGrad(loss)], ['jit(valueAndGrad)', jit(valueAndGrad(loss))]] as const) {
      const [v, g] = vg(logits) as [VArray, VArray];
      check(c, variant, 'loss', v);
      check(c, variant, 'logits_grad', g);
    }
  });
}

test.run();
