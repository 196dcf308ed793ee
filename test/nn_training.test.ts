/**
 * Training smoke tests: small networks built from the nn layers, trained on the CPU with a
 * jitted `valueAndGrad` + optimizer step, must reach a stated loss within a bounded number of
 * steps. Data sets are synthetic and generated with vidax's own PRNG from fixed keys, so every
 * run is the same; the bounds sit well above what training reaches (measured values are noted
 * beside each bound) so that they catch a broken optimizer or layer, not float noise.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jit, np, random, tree, valueAndGrad, type Array as VArray } from '../src/index.js';
import { logSoftmax, relu } from '../src/nn/activations.js';
import { conv } from '../src/nn/conv.js';
import { linear } from '../src/nn/linear.js';
import * as O from '../src/nn/optim.js';
import { warmupCosineDecaySchedule } from '../src/nn/schedules.js';

type Tree = tree.PyTree<VArray>;

/** Mean cross-entropy of integer `labels` (N) under `logits` (N, k). */
function crossEntropy(logits: VArray, labels: VArray): VArray {
  const k = logits.shape[1];
  const onehot = np.equal(labels.reshape([-1, 1]), np.arange(k)).astype('float32');
  return logSoftmax(logits).mul(onehot).sum(-1).mean().neg();
}

const accuracy = (logits: VArray, labels: VArray): number => np.equal(np.argmax(logits, -1), labels).astype('float32').mean().item() as number;

/**
 * Train `params` for `steps` full-batch steps of `opt` on `loss(params, x, y)` with one jitted
 * step; the final parameters, the loss of the last step and the number of compiled signatures.
 */
function train<S>(loss: (p: Tree, x: VArray, y: VArray) => VArray, opt: O.GradientTransformation<S>, params: Tree, x: VArray, y: VArray, steps: number) {
  const step = jit((p: Tree, s: S, xb: VArray, yb: VArray) => {
    const [l, g] = valueAndGrad(loss)(p, xb, yb);
    const [u, ns] = opt.update(g as Tree, s, p);
    return [O.applyUpdates(p, u), ns, l] as [Tree, S, VArray];
  });
  let state = opt.init(params);
  let last = NaN;
  for (let i = 0; i < steps; i++) {
    const [p, s, l] = step(params, state, x, y);
    [params, state] = [p, s];
    if (i === steps - 1) last = l.item() as number;
  }
  return { params, last, compiled: step.cacheSize };
}

/**
 * Three interleaved spirals (the CS231n toy set): class c has radii 0.05…1 and angles
 * 4c…4(c + 1) plus N(0, 0.2²) noise; points (3n, 2), labels (3n) int32.
 */
function spirals(key: VArray, n: number): [VArray, VArray] {
  const r = np.linspace(0.05, 1, n);
  const keys = [...random.split(key, 3)];
  const xs = keys.map((k, c) => {
    const t = np.linspace(4 * c, 4 * (c + 1), n).add(random.normal(k, [n]).mul(0.2));
    return np.stack([r.mul(np.sin(t)), r.mul(np.cos(t))], 1);
  });
  return [np.concatenate(xs, 0), np.concatenate([0, 1, 2].map((c) => np.full([n], c, 'int32')), 0)];
}

test('MLP (linear layers) on 3-class spirals: AdamW + clipping + warm-up cosine schedule reaches CE < 0.05 in 150 steps', () => {
  const [x, y] = spirals(random.key(0), 100);
  const [xTest, yTest] = spirals(random.key(5), 100);
  const layers = [linear({ inFeatures: 2, outFeatures: 32 }), linear({ inFeatures: 32, outFeatures: 32 }), linear({ inFeatures: 32, outFeatures: 3 })];
  const keys = [...random.split(random.key(1), 3)];
  const params0 = layers.map((l, i) => l.init(keys[i])) as unknown as Tree;
  const mlp = (p: Tree, xb: VArray): VArray => {
    const ps = p as unknown as { w: VArray; b: VArray }[];
    return layers.reduce((h, l, i) => (i === 0 ? l.apply(ps[i], h) : l.apply(ps[i], relu(h))), xb);
  };
  const loss = (p: Tree, xb: VArray, yb: VArray) => crossEntropy(mlp(p, xb), yb);
  const initial = loss(params0, x, y).item() as number;
  const opt = O.chain(
    O.clipByGlobalNorm(1),
    O.adamw(warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.02, warmupSteps: 20, decaySteps: 300 }), {
      weightDecay: 1e-4,
      mask: (p) => tree.map((leaf: VArray) => leaf.ndim === 2, p) as tree.PyTree<boolean>, // kernels only
    }),
  );
  const { params, last, compiled } = train(loss, opt, params0, x, y, 150);
  assert.ok(Math.abs(initial - Math.log(3)) < 0.2, `initial CE ${initial} ≈ ln 3`);
  // Measured: CE 0.0021 after 150 steps (about the same for other initialisation keys), train and held-out accuracy 1.0.
  assert.ok(last < 0.05, `cross-entropy after 150 steps: ${last}`);
  const trainAcc = accuracy(mlp(params, x), y), testAcc = accuracy(mlp(params, xTest), yTest);
  assert.ok(trainAcc >= 0.98, `train accuracy ${trainAcc}`);
  assert.ok(testAcc >= 0.95, `held-out accuracy ${testAcc}`);
  assert.is(compiled, 1, 'one compiled step for the whole run');
});

/**
 * 8×8 single-channel images holding one bar through the whole image, horizontal (label 0) or
 * vertical (label 1) at a random row/column, plus N(0, 0.5²) pixel noise; (n, 1, 8, 8), (n).
 */
function bars(key: VArray, n: number, size = 8): [VArray, VArray] {
  const [kl, kp, kn] = random.split(key, 3);
  const labels = random.randint(kl, [n], 0, 2);
  const pos = random.randint(kp, [n], 0, size).reshape([n, 1, 1]);
  const rows = np.iota('int32', [n, size, size], 1), cols = np.iota('int32', [n, size, size], 2);
  const clean = np.where(np.equal(labels.reshape([n, 1, 1]), 0), np.equal(rows, pos), np.equal(cols, pos)).astype('float32');
  return [clean.add(random.normal(kn, [n, size, size]).mul(0.5)).reshape([n, 1, size, size]), labels];
}

test('conv net on noisy horizontal vs vertical bars: SGD with Nesterov momentum reaches CE < 0.1 in 150 steps', () => {
  const [x, y] = bars(random.key(0), 64);
  const [xTest, yTest] = bars(random.key(99), 256);
  const c1 = conv({ dims: 2, inChannels: 1, outChannels: 8, kernelSize: 3, padding: 'SAME' });
  const c2 = conv({ dims: 2, inChannels: 8, outChannels: 8, kernelSize: 3, stride: 2, padding: 'SAME' });
  const head = linear({ inFeatures: 8, outFeatures: 2 });
  const [k1, k2, k3] = random.split(random.key(1), 3);
  const params0 = { c1: c1.init(k1), c2: c2.init(k2), head: head.init(k3) } as unknown as Tree;
  type P = { c1: { w: VArray; b: VArray }; c2: { w: VArray; b: VArray }; head: { w: VArray; b: VArray } };
  // conv 3×3 → relu → conv 3×3 stride 2 → relu → global mean pool → linear.
  const net = (p: Tree, xb: VArray): VArray => {
    const q = p as unknown as P;
    return head.apply(q.head, relu(c2.apply(q.c2, relu(c1.apply(q.c1, xb)))).mean([2, 3]));
  };
  const loss = (p: Tree, xb: VArray, yb: VArray) => crossEntropy(net(p, xb), yb);
  const { params, last, compiled } = train(loss, O.sgd(0.05, { momentum: 0.9, nesterov: true }), params0, x, y, 150);
  // Measured: CE 0.023 after 150 steps and held-out accuracy 0.984 (CE 0.023–0.041 and
  // accuracy 0.94–0.98 over four initialisation keys).
  assert.ok(last < 0.1, `cross-entropy after 150 steps: ${last}`);
  const testAcc = accuracy(net(params, xTest), yTest);
  assert.ok(testAcc >= 0.9, `held-out accuracy ${testAcc}`);
  assert.is(compiled, 1, 'one compiled step for the whole run');
});

test.run();
