/**
 * `random`: bit-compatibility with JAX (published values from scripts/golden/jax-random-spec.md,
 * each in the `jax_threefry_partitionable` mode it was published for), statistical sanity,
 * determinism, shapes, dtypes, errors and traceability.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapedArray } from '../src/core/aval.js';
import { rules } from '../src/core/prims/registry.js';
import { currentTrace, newTag, withTrace, type Trace } from '../src/core/trace/trace.js';
import type { Prim, PrimParams } from '../src/core/trace/primitive.js';
import { Tracer, type Value } from '../src/core/trace/value.js';
import { threefry2x32 } from '../src/core/backends/routines/threefry.js';
import { DTypeError, ShapeError, ValueError, config, np, random } from '../src/index.js';

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

/** Run `fn` with the given layout, restoring the previous setting afterwards. */
const inMode = random.threefryPartitionable;
const legacy = <T>(fn: () => T): T => inMode(false, fn);
const partitionable = <T>(fn: () => T): T => inMode(true, fn);

const vals = (x: Value): number[] => Array.from(x.dataSync());
const row = (keys: Value, i: number): Value => random.unstackKeys(keys)[i];

/** JAX's float32 assertAllClose: |a - b| <= atol + rtol |b| with atol = rtol = 1e-6. */
function allClose(actual: Value, expected: number[], msg = ''): void {
  const a = vals(actual);
  assert.is(a.length, expected.length, `${msg} length`);
  a.forEach((v, i) => {
    const tol = 1e-6 + 1e-6 * Math.abs(expected[i]);
    assert.ok(Math.abs(v - expected[i]) <= tol, `${msg}[${i}]: got ${v}, expected ${expected[i]} (tol ${tol})`);
  });
}

function moments(x: ArrayLike<number>): { mean: number; variance: number; skew: number; kurtosis: number; min: number; max: number } {
  const n = x.length;
  let s = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    s += x[i];
    min = Math.min(min, x[i]);
    max = Math.max(max, x[i]);
  }
  const mean = s / n;
  let m2 = 0, m3 = 0, m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return { mean, variance: m2, skew: m3 / m2 ** 1.5, kurtosis: m4 / (m2 * m2), min, max };
}

/** |observed − expected| within `k` standard errors. */
function within(name: string, observed: number, expected: number, stdErr: number, k = 5): void {
  assert.ok(Math.abs(observed - expected) <= k * stdErr, `${name}: ${observed} vs ${expected} (±${k}×${stdErr.toExponential(2)})`);
}

function counts(x: ArrayLike<number>, n: number): number[] {
  const c = new Array<number>(n).fill(0);
  for (let i = 0; i < x.length; i++) c[x[i]]++;
  return c;
}

const N = 100_000;
const BOTH = [
  ['legacy', false],
  ['partitionable', true],
] as const;

// ---------------------------------------------------------------------------------------
// keys and seeds (tests/random_test.py::test_prng_seeds_and_keys)
// ---------------------------------------------------------------------------------------

test('key: published seed → key table, x32 mode (default)', () => {
  const cases: [number, number[]][] = [
    [0, [0, 0]], [1, [0, 1]], [2, [0, 2]], [3, [0, 3]],
    [-1, [0, 4294967295]], [-2, [0, 4294967294]], [-3, [0, 4294967293]],
    [2 ** 31 - 1 + 100, [0, 2147483747]], [2 ** 31 - 1 + 101, [0, 2147483748]],
    [-(2 ** 31) - 100, [0, 2147483548]], [-(2 ** 31) - 101, [0, 2147483547]],
  ];
  for (const [seed, want] of cases) {
    const k = random.key(seed);
    assert.is(k.dtype, 'uint32');
    assert.equal(k.shape, [2]);
    assert.equal(vals(k), want, `seed ${seed}`);
  }
  assert.equal(vals(random.PRNGKey(0)), [0, 0]);
});

test('key: published seed → key table, x64 mode (64-bit seeds)', () => {
  // Rows of the table whose seed is a Python int or int64 (a JS number plays that role).
  const cases: [number, number[]][] = [
    [0, [0, 0]], [3, [0, 3]], [-1, [4294967295, 4294967295]], [-3, [4294967295, 4294967293]],
    [2 ** 31 - 1 + 100, [0, 2147483747]], [-(2 ** 31) - 100, [4294967295, 2147483548]],
    [-(2 ** 31) - 101, [4294967295, 2147483547]],
  ];
  for (const [seed, want] of cases) assert.equal(vals(random.key(seed, { x64: true })), want, `seed ${seed}`);
  assert.equal(vals(random.key(2 ** 40 + 5, { x64: true })), [256, 5]);
  assert.equal(vals(random.key(2 ** 40 + 5)), [0, 5]);
});

test('key: int32 / uint32 scalar seeds (rows typed int32 and uint32)', () => {
  assert.equal(vals(random.key(np.array(-2, 'int32'))), [0, 4294967294]);
  assert.equal(vals(random.key(np.array(1, 'int32'))), [0, 1]);
  assert.equal(vals(random.key(np.array(2 ** 31 - 1 + 101, 'uint32'))), [0, 2147483748]);
  assert.equal(vals(random.key(np.array(2, 'uint32'))), [0, 2]);
});

// ---------------------------------------------------------------------------------------
// split, fold_in, bits: published values
// ---------------------------------------------------------------------------------------

test('legacy: split(PRNGKey(0), 4) and fold_in(PRNGKey(0), 4) (testPRNGValues)', () =>
  legacy(() => {
    const k = random.PRNGKey(0);
    const s = random.split(k, 4);
    assert.equal(s.shape, [4, 2]);
    assert.is(s.dtype, 'uint32');
    assert.equal(vals(s), [2285895361, 1501764800, 1518642379, 4090693311, 433833334, 4221794875, 839183663, 3740430601]);
    assert.equal(vals(random.foldIn(k, 4)), [2285895361, 433833334]);
  }));

test('fold_in is the same in both layouts', () => {
  const a = legacy(() => vals(random.foldIn(random.key(0), 4)));
  const b = partitionable(() => vals(random.foldIn(random.key(0), 4)));
  assert.equal(a, b);
  // data as an int32 / uint32 scalar array, and negative data modulo 2^32.
  assert.equal(vals(random.foldIn(random.key(0), np.array(4, 'int32'))), a);
  assert.equal(vals(random.foldIn(random.key(7), -1)), vals(random.foldIn(random.key(7), np.array(2 ** 32 - 1, 'uint32'))));
});

test('partitionable: split(PRNGKey(72), 3)[i] == fold_in(PRNGKey(72), i) (test_threefry_split_fold_in_symmetry)', () =>
  partitionable(() => {
    const k = random.PRNGKey(72);
    const s = random.split(k, 3);
    for (let i = 0; i < 3; i++) assert.equal(vals(row(s, i)), vals(random.foldIn(k, i)), `row ${i}`);
    // The symmetry does not hold in the legacy layout.
    legacy(() => assert.not.equal(vals(row(random.split(k, 3), 1)), vals(random.foldIn(k, 1))));
  }));

test('legacy: _random_bits(PRNGKey(1701), width, (3,)) (testRngRandomBits)', () =>
  legacy(() => {
    const k = random.PRNGKey(1701);
    assert.equal(vals(random.randomBits(k, 8, [3])), [216, 115, 43]);
    assert.equal(vals(random.randomBits(k, 16, [3])), [41682, 1300, 55017]);
    assert.equal(vals(random.randomBits(k, 32, [3])), [56197195, 4200222568, 961309823]);
    assert.equal(vals(random.bits(k, [3])), [56197195, 4200222568, 961309823]);
  }));

test('legacy: bits values of _RANDOM_VALUES_CASES (seed adler32("bitsthreefry2x32"))', () =>
  legacy(() => {
    const k = random.PRNGKey(942802475);
    assert.equal(vals(random.randomBits(k, 8, [5])), [10, 158, 82, 54, 158]);
    assert.equal(vals(random.randomBits(k, 16, [5])), [6738, 38161, 50695, 57337, 61600]);
    assert.equal(vals(random.bits(k, [5], 'uint32')), [1978747883, 4134381225, 3628107870, 689687174, 2788938207]);
  }));

// ---------------------------------------------------------------------------------------
// samplers: published values (_RANDOM_VALUES_CASES, legacy layout, shape (5,))
// ---------------------------------------------------------------------------------------

test('legacy: uniform (seed 1338574713)', () =>
  legacy(() => allClose(random.uniform(random.PRNGKey(1338574713), [5]), [0.298671, 0.073213, 0.873356, 0.260549, 0.412797], 'uniform')));

test('legacy: normal (seed 1193674498)', () =>
  legacy(() => allClose(random.normal(random.PRNGKey(1193674498), [5]), [-1.173234, -1.511662, 0.070593, -0.099764, 1.052845], 'normal')));

test('legacy: truncated_normal lower=0 upper=2 (seed 2846034731)', () =>
  legacy(() =>
    allClose(random.truncatedNormal(random.PRNGKey(2846034731), 0, 2, [5]), [0.582807, 1.709771, 0.159513, 0.861376, 0.36148], 'truncated_normal'),
  ));

test('legacy: bernoulli p=0.5 (seed 1612777541)', () =>
  legacy(() => {
    const b = random.bernoulli(random.PRNGKey(1612777541), 0.5, [5]);
    assert.is(b.dtype, 'bool');
    assert.equal(vals(b), [0, 1, 1, 1, 0]);
  }));

test('legacy: randint minval=0 maxval=10 int32 (seed 1319372649)', () =>
  legacy(() => {
    const r = random.randint(random.PRNGKey(1319372649), [5], 0, 10, 'int32');
    assert.is(r.dtype, 'int32');
    assert.equal(vals(r), [0, 5, 7, 7, 5]);
  }));

test('legacy: randint(PRNGKey(0), (3, 3), 0, 8) (testPRNGValues)', () =>
  legacy(() => {
    const r = random.randint(random.PRNGKey(0), [3, 3], 0, 8);
    assert.equal(r.shape, [3, 3]);
    assert.equal(vals(r), [2, 1, 3, 6, 1, 5, 6, 3, 4]);
  }));

test('legacy: gumbel (seed 1179715317)', () =>
  legacy(() => allClose(random.gumbel(random.PRNGKey(1179715317), [5]), [2.06701, 0.911726, 0.145736, 0.185427, -0.00711], 'gumbel')));

test('legacy: exponential (seed 1942292768)', () =>
  legacy(() => allClose(random.exponential(random.PRNGKey(1942292768), [5]), [0.526067, 0.043046, 0.039932, 0.46427, 0.123886], 'exponential')));

// ---------------------------------------------------------------------------------------
// the jax.random module docstring, in both layouts
// ---------------------------------------------------------------------------------------

test('partitionable (JAX ≥ 0.5 docs): uniform(key(0)) = 0.947667, uniform(split(key(0))[1]) = 0.00729382', () =>
  partitionable(() => {
    assert.equal(vals(random.key(0)), [0, 0]);
    const u = random.uniform(random.key(0));
    assert.equal(u.shape, []);
    allClose(u, [0.947667], 'uniform(key(0))');
    const [, subkey] = random.unstackKeys(random.split(random.key(0)));
    allClose(random.uniform(subkey), [0.00729382], 'uniform(subkey)');
  }));

test('legacy (JAX < 0.5 docs): uniform(key(0)) = 0.41845703, uniform(split(key(0))[1]) = 0.10536897', () =>
  legacy(() => {
    allClose(random.uniform(random.key(0)), [0.41845703], 'uniform(key(0))');
    const [, subkey] = random.unstackKeys(random.split(random.key(0)));
    allClose(random.uniform(subkey), [0.10536897], 'uniform(subkey)');
  }));

test('legacy: normal(key(123), (3,)) as printed in Deep Learning with Python, 3rd ed. (corroboration)', () =>
  legacy(() => {
    allClose(random.normal(random.key(123), [3]), [-0.1470326, 0.5524756, 1.648498], 'normal');
    const k = row(random.split(random.key(123), 1), 0);
    allClose(random.normal(k, [3]), [0.5362355, -1.1920372, 2.450225], 'normal after split(num=1)');
  }));

test('the default layout is partitionable (JAX ≥ 0.5.0)', () => {
  assert.is(config.threefryPartitionable, true);
  allClose(random.uniform(random.key(0)), [0.947667]);
  assert.is(random.threefryPartitionable(false, () => config.threefryPartitionable), false);
  assert.is(config.threefryPartitionable, true);
  allClose(random.threefryPartitionable(false, () => random.uniform(random.key(0))), [0.41845703]);
});

// ---------------------------------------------------------------------------------------
// layout properties
// ---------------------------------------------------------------------------------------

test('uniform is exactly the float built from the top 23 bits', () => {
  for (const [name, mode] of BOTH)
    inMode(mode, () => {
      const k = random.key(11);
      const b = vals(random.bits(k, [257]));
      const u = vals(random.uniform(k, [257]));
      const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
      b.forEach((w, i) => {
        u32[0] = (w >>> 9) | 0x3f800000;
        assert.is(u[i], Math.fround(f32[0] - 1), `${name}[${i}]`);
      });
    });
});

/** Direct JS evaluation of the two counter layouts (spec §1a, §3, §5) on the scalar block function. */
function legacyWords(key: number[], count: number[]): number[] {
  const n = count.length, h = (n + (n % 2)) / 2;
  const padded = Uint32Array.from([...count, ...(n % 2 ? [0] : [])]);
  const [y0, y1] = threefry2x32(key[0], key[1], padded.subarray(0, h), padded.subarray(h));
  return [...y0, ...y1].slice(0, n);
}
const iotaList = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

test('bits and split agree with a direct JS evaluation of both layouts (sizes 0..9)', () => {
  const k = random.key(987654321, { x64: true });
  const kw = vals(k);
  for (let n = 0; n <= 9; n++) {
    const [y0, y1] = threefry2x32(kw[0], kw[1], new Uint32Array(n), Uint32Array.from(iotaList(n)));
    partitionable(() => {
      assert.equal(vals(random.bits(k, [n])), Array.from(y0, (v, i) => (v ^ y1[i]) >>> 0), `partitionable bits n=${n}`);
      assert.equal(vals(random.split(k, n)), iotaList(n).flatMap((i) => [y0[i], y1[i]]), `partitionable split n=${n}`);
    });
    legacy(() => {
      assert.equal(vals(random.bits(k, [n])), legacyWords(kw, iotaList(n)), `legacy bits n=${n}`);
      assert.equal(vals(random.split(k, n)), legacyWords(kw, iotaList(2 * n)), `legacy split n=${n}`);
      const w8 = legacyWords(kw, iotaList(Math.ceil(n / 4))).flatMap((w) => [0, 1, 2, 3].map((j) => (w >>> (8 * j)) & 0xff));
      assert.equal(vals(random.randomBits(k, 8, [n])), w8.slice(0, n), `legacy 8-bit n=${n}`);
    });
  }
});

test('partitionable: a draw of k values is a prefix of a larger draw; legacy: it is not', () => {
  partitionable(() => {
    const k = random.key(3);
    const big = vals(random.bits(k, [6]));
    assert.equal(vals(random.bits(k, [5])), big.slice(0, 5));
    assert.equal(vals(random.bits(k, [2, 3])), big);
    assert.equal(vals(random.bits(k)), big.slice(0, 1));
  });
  legacy(() => {
    const k = random.key(3);
    assert.not.equal(vals(random.bits(k, [5])), vals(random.bits(k, [6])).slice(0, 5));
    assert.equal(vals(random.bits(k, [2, 3])), vals(random.bits(k, [6])));
  });
});

test('partitionable 8/16-bit draws are the low bits of the 32-bit draws', () =>
  partitionable(() => {
    const k = random.key(5);
    const w = vals(random.bits(k, [7]));
    assert.equal(vals(random.randomBits(k, 8, [7])), w.map((x) => x & 0xff));
    assert.equal(vals(random.randomBits(k, 16, [7])), w.map((x) => x & 0xffff));
  }));

test('split results destructure like JAX arrays: const [key, subkey] = split(key)', () => {
  for (const [name, mode] of BOTH)
    inMode(mode, () => {
      const keys = random.split(random.key(1), 3);
      const [a, b, c] = keys;
      assert.equal([a, b, c].map((k) => k.shape), [[2], [2], [2]]);
      assert.equal([...vals(a), ...vals(b), ...vals(c)], vals(keys), name);
      assert.equal([...keys].length, 3);
      const [k0, sub] = random.split(random.key(0));
      assert.equal(vals(sub), vals(random.unstackKeys(random.split(random.key(0)))[1]), name);
      assert.equal(vals(k0), vals(random.unstackKeys(random.split(random.key(0)))[0]), name);
      // Batched / shaped splits iterate over their first axis.
      const [first] = random.split(random.key(2), [2, 3]);
      assert.equal(first.shape, [3, 2]);
    });
});

test('split with a shape, num=0 and num=1; batched keys split like each key alone', () => {
  for (const [name, mode] of BOTH)
    inMode(mode, () => {
      const k = random.key(9);
      const flat = vals(random.split(k, 6));
      const shaped = random.split(k, [2, 3]);
      assert.equal(shaped.shape, [2, 3, 2], name);
      assert.equal(vals(shaped), flat, name);
      assert.equal(random.split(k, 0).shape, [0, 2]);
      assert.equal(random.split(k, 1).shape, [1, 2]);
      const keys = random.split(k, 3);
      const batched = random.split(keys, 4);
      assert.equal(batched.shape, [3, 4, 2]);
      const each = random.unstackKeys(keys).flatMap((kk) => vals(random.split(kk, 4)));
      assert.equal(vals(batched), each, name);
      const folded = random.foldIn(keys, 17);
      assert.equal(folded.shape, [3, 2]);
      assert.equal(vals(folded), random.unstackKeys(keys).flatMap((kk) => vals(random.foldIn(kk, 17))), name);
    });
});

test('determinism: the same key gives the same numbers; other keys differ', () => {
  for (const [name, mode] of BOTH)
    inMode(mode, () => {
      const a = vals(random.bits(random.key(42), [64]));
      assert.equal(vals(random.bits(random.key(42), [64])), a, name);
      assert.equal(vals(random.normal(random.key(42), [16])), vals(random.normal(random.key(42), [16])), name);
      assert.not.equal(vals(random.bits(random.key(43), [64])), a, name);
      const [k1, k2] = random.unstackKeys(random.split(random.key(42)));
      assert.not.equal(vals(random.bits(k1, [8])), vals(random.bits(k2, [8])), name);
      assert.not.equal(vals(random.foldIn(random.key(42), 1)), vals(random.foldIn(random.key(42), 2)), name);
    });
});

// ---------------------------------------------------------------------------------------
// statistics (1e5 samples, deterministic keys, bounds at 5 standard errors)
// ---------------------------------------------------------------------------------------

for (const [name, mode] of BOTH) {
  test(`${name}: uniform moments and range`, () =>
    inMode(mode, () => {
      const u = random.uniform(random.key(1), [N]).dataSync() as Float32Array;
      const m = moments(u);
      within('mean', m.mean, 0.5, Math.sqrt(1 / 12 / N));
      within('variance', m.variance, 1 / 12, Math.sqrt((1 / 80 - 1 / 144) / N));
      assert.ok(m.min >= 0 && m.max < 1, `range [${m.min}, ${m.max}]`);
      const v = random.uniform(random.key(2), [N], { minval: -3, maxval: 5 }).dataSync() as Float32Array;
      const mv = moments(v);
      within('mean [-3,5)', mv.mean, 1, 8 * Math.sqrt(1 / 12 / N));
      assert.ok(mv.min >= -3 && mv.max < 5);
    }));

  test(`${name}: normal moments`, () =>
    inMode(mode, () => {
      const x = random.normal(random.key(3), [N]).dataSync() as Float32Array;
      const m = moments(x);
      within('mean', m.mean, 0, Math.sqrt(1 / N));
      within('variance', m.variance, 1, Math.sqrt(2 / N));
      within('skew', m.skew, 0, Math.sqrt(6 / N));
      within('kurtosis', m.kurtosis, 3, Math.sqrt(24 / N));
      assert.ok(x.every(Number.isFinite));
    }));

  test(`${name}: truncated normal stays strictly inside its bounds`, () =>
    inMode(mode, () => {
      const x = random.truncatedNormal(random.key(4), -1, 2, [N]).dataSync() as Float32Array;
      assert.ok(x.every((v) => v > -1 && v < 2));
      // Mean of N(0,1) truncated to [-1, 2]: (φ(-1) − φ(2)) / (Φ(2) − Φ(-1)).
      const phi = (t: number) => Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI);
      const mean = (phi(-1) - phi(2)) / (0.9772498680518208 - 0.15865525393145707);
      within('mean', moments(x).mean, mean, Math.sqrt(1 / N));
      // Bounds far in the tail are still respected (clipped to nextafter).
      const t = random.truncatedNormal(random.key(5), 5, 6, [1000]).dataSync();
      assert.ok(t.every((v) => v > 5 && v < 6), 'tail bounds');
    }));

  test(`${name}: bernoulli, randint, gumbel, exponential frequencies and means`, () =>
    inMode(mode, () => {
      const b = vals(random.bernoulli(random.key(6), 0.3, [N]));
      within('bernoulli p', b.reduce((a, v) => a + v, 0) / N, 0.3, Math.sqrt(0.21 / N));
      const r = random.randint(random.key(7), [N], -5, 5).dataSync();
      assert.ok(r.every((v) => v >= -5 && v < 5));
      counts(Array.from(r, (v) => v + 5), 10).forEach((c, i) => within(`randint freq ${i - 5}`, c / N, 0.1, Math.sqrt(0.09 / N)));
      const big = random.randint(random.key(8), [N], 0, 100_000).dataSync();
      assert.ok(big.every((v) => v >= 0 && v < 100_000));
      within('randint [0, 1e5) mean', moments(big).mean, 49_999.5, 100_000 / Math.sqrt(12 * N));
      const g = moments(random.gumbel(random.key(9), [N]).dataSync());
      within('gumbel mean', g.mean, 0.5772156649, Math.PI / Math.sqrt(6 * N));
      // Var of the sample variance is (μ4 − σ⁴)/N, with excess kurtosis 12/5 for the Gumbel law.
      within('gumbel variance', g.variance, Math.PI ** 2 / 6, (Math.sqrt(4.4 / N) * Math.PI ** 2) / 6);
      const e = moments(random.exponential(random.key(10), [N]).dataSync());
      within('exponential mean', e.mean, 1, Math.sqrt(1 / N));
      assert.ok(e.min >= 0);
    }));

  test(`${name}: categorical frequencies follow softmax(logits)`, () =>
    inMode(mode, () => {
      const p = [0.1, 0.2, 0.3, 0.4];
      const logits = np.array(p.map(Math.log));
      const c = random.categorical(random.key(11), logits, { shape: [N] });
      assert.equal(c.shape, [N]);
      assert.is(c.dtype, 'int32');
      counts(c.dataSync(), 4).forEach((n, i) => within(`freq ${i}`, n / N, p[i], Math.sqrt((p[i] * (1 - p[i])) / N)));
      // Categories along axis 0, one distribution per column; -inf logits are never drawn.
      const cols = np.array([[0, Math.log(0.5), -Infinity], [Math.log(3), Math.log(0.5), 0]]);
      const d = random.categorical(random.key(12), cols, { axis: 0, shape: [N / 10, 3] });
      assert.equal(d.shape, [N / 10, 3]);
      const dv = d.dataSync();
      const col = (j: number) => Array.from({ length: N / 10 }, (_, i) => dv[i * 3 + j]);
      within('col 0 P(1)', col(0).reduce((a, v) => a + v, 0) / (N / 10), 0.75, Math.sqrt(0.1875 / (N / 10)));
      within('col 1 P(1)', col(1).reduce((a, v) => a + v, 0) / (N / 10), 0.5, Math.sqrt(0.25 / (N / 10)));
      assert.ok(col(2).every((v) => v === 1), 'a -inf logit is never drawn');
    }));

  test(`${name}: permutation is a permutation; rows move together unless independent`, () =>
    inMode(mode, () => {
      for (const n of [0, 1, 2, 10, 2000]) {
        const p = random.permutation(random.key(13), n);
        assert.is(p.dtype, 'int32');
        assert.equal(p.shape, [n]);
        const v = vals(p);
        assert.equal([...v].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), `n=${n}`);
        if (n >= 10) assert.not.equal(v, Array.from({ length: n }, (_, i) => i), `n=${n} is shuffled`);
      }
      // An integer and the matching arange give the same permutation.
      assert.equal(vals(random.permutation(random.key(14), 50)), vals(random.permutation(random.key(14), np.arange(50))));
      // 2-D: whole rows (axis 0) or columns (axis 1) move, by the permutation of their indices.
      const x = np.array(Array.from({ length: 6 }, (_, i) => Array.from({ length: 4 }, (_, j) => 10 * i + j)), 'int32');
      const rowsP = vals(random.permutation(random.key(15), 6));
      const byRow = vals(random.permutation(random.key(15), x));
      assert.equal(byRow, rowsP.flatMap((i) => [0, 1, 2, 3].map((j) => 10 * i + j)));
      const colsP = vals(random.permutation(random.key(16), 4));
      const byCol = vals(random.permutation(random.key(16), x, { axis: 1 }));
      assert.equal(byCol, [0, 1, 2, 3, 4, 5].flatMap((i) => colsP.map((j) => 10 * i + j)));
      // independent: every column is a permutation of itself, not all the same one.
      const ind = random.permutation(random.key(17), np.array(Array.from({ length: 50 }, (_, i) => [i, i, i, i]), 'int32'), { independent: true });
      const iv = vals(ind);
      const column = (j: number) => Array.from({ length: 50 }, (_, i) => iv[i * 4 + j]);
      for (let j = 0; j < 4; j++) assert.equal([...column(j)].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
      assert.not.equal(column(0), column(1));
      // shuffle = JAX's _shuffle: independent slices.
      assert.equal(vals(random.shuffle(random.key(17), np.array(Array.from({ length: 50 }, (_, i) => [i, i, i, i]), 'int32'))), iv);
    }));

  test(`${name}: permutation positions are uniform (20000 independent shuffles of 5)`, () =>
    inMode(mode, () => {
      const m = 20_000;
      const x = np.array(Array.from({ length: 5 }, (_, i) => new Array<number>(m).fill(i)), 'int32');
      const s = random.permutation(random.key(18), x, { independent: true }).dataSync();
      for (let pos = 0; pos < 5; pos++) {
        let c = 0;
        for (let j = 0; j < m; j++) if (s[pos * m + j] === 0) c++;
        within(`P(0 at ${pos})`, c / m, 0.2, Math.sqrt(0.16 / m));
      }
    }));
}

// ---------------------------------------------------------------------------------------
// randint edge cases
// ---------------------------------------------------------------------------------------

test('randint: maxval <= minval gives minval (JAX issue #222), no error', () => {
  assert.equal(vals(random.randint(random.key(0), [4], 5, 5)), [5, 5, 5, 5]);
  assert.equal(vals(random.randint(random.key(0), [4], 7, 3)), [7, 7, 7, 7]);
  const mx = np.array([3, 10, 3], 'int32');
  const r = vals(random.randint(random.key(1), [200, 3], np.array([3, 0, 9], 'int32'), mx));
  for (let i = 0; i < 200; i++) {
    assert.is(r[i * 3], 3);
    assert.ok(r[i * 3 + 1] >= 0 && r[i * 3 + 1] < 10);
    assert.is(r[i * 3 + 2], 9);
  }
});

test('randint: the full int32 / uint32 range (span wraps to 0, XLA x % 0 = x)', () => {
  for (const [name, mode] of BOTH)
    inMode(mode, () => {
      const k = random.key(21);
      const lower = vals(random.bits(row(random.split(k), 1), [64]));
      const full = vals(random.randint(k, [64], -(2 ** 31), 2 ** 31));
      assert.equal(full, lower.map((w) => (w + 2 ** 31) | 0), name);
      assert.equal(vals(random.randint(k, [64], 0, 2 ** 32, 'uint32')), lower, name);
      // maxval just above int32 max: span 2^31, so values fill [0, 2^31 - 1].
      const half = vals(random.randint(k, [64], 0, 2 ** 31));
      assert.ok(half.every((v) => v >= 0));
      assert.ok(half.some((v) => v > 2 ** 30));
    });
});

test('randint: uint32 dtype, float and negative bounds', () => {
  const u = random.randint(random.key(22), [1000], 10, 20, 'uint32');
  assert.is(u.dtype, 'uint32');
  assert.ok(vals(u).every((v) => v >= 10 && v < 20));
  // Float bounds are truncated (JAX: astype(int)); negative bounds clip to 0 for uint32.
  assert.equal(vals(random.randint(random.key(22), [10], 2.9, 3.5)), new Array(10).fill(2));
  assert.ok(vals(random.randint(random.key(22), [100], -5, 3, 'uint32')).every((v) => v < 3));
});

// ---------------------------------------------------------------------------------------
// shapes, dtypes and parameters
// ---------------------------------------------------------------------------------------

test('shapes and dtypes of every sampler', () => {
  const k = random.key(0);
  const cases: [string, Value, number[], string][] = [
    ['bits', random.bits(k, [2, 3]), [2, 3], 'uint32'],
    ['bits scalar', random.bits(k), [], 'uint32'],
    ['randomBits 8', random.randomBits(k, 8, 4), [4], 'uint32'],
    ['uniform', random.uniform(k, [2, 0, 3]), [2, 0, 3], 'float32'],
    ['uniform number shape', random.uniform(k, 3), [3], 'float32'],
    ['normal', random.normal(k, [4, 1]), [4, 1], 'float32'],
    ['normal scalar', random.normal(k), [], 'float32'],
    ['truncatedNormal', random.truncatedNormal(k, np.array([-1, 0]), 1), [2], 'float32'],
    ['bernoulli', random.bernoulli(k, np.array([0.1, 0.9])), [2], 'bool'],
    ['bernoulli scalar', random.bernoulli(k), [], 'bool'],
    ['randint', random.randint(k, [3], 0, 5), [3], 'int32'],
    ['gumbel', random.gumbel(k, [5]), [5], 'float32'],
    ['exponential', random.exponential(k, [5]), [5], 'float32'],
    ['categorical', random.categorical(k, np.array([[0, 1, 2], [2, 1, 0]])), [2], 'int32'],
    ['categorical prefix', random.categorical(k, np.array([[0, 1, 2], [2, 1, 0]]), { shape: [7, 2] }), [7, 2], 'int32'],
    ['permutation', random.permutation(k, 5), [5], 'int32'],
    ['split', random.split(k), [2, 2], 'uint32'],
    ['foldIn', random.foldIn(k, 3), [2], 'uint32'],
  ];
  for (const [name, v, shape, dtype] of cases) {
    assert.equal(v.shape, shape, name);
    assert.is(v.dtype, dtype, name);
  }
});

test('array-valued parameters broadcast against the shape', () => {
  const k = random.key(30);
  const lo = np.array([0, 10, 100]);
  const u = vals(random.uniform(k, [50, 3], { minval: lo, maxval: np.array([1, 11, 101]) }));
  for (let i = 0; i < 150; i++) assert.ok(u[i] >= [0, 10, 100][i % 3] && u[i] < [1, 11, 101][i % 3]);
  const b = vals(random.bernoulli(k, np.array([0, 1]), [20, 2]));
  for (let i = 0; i < 40; i++) assert.is(b[i], i % 2);
  const t = vals(random.truncatedNormal(k, np.array([-2, 1]), np.array([-1, 2])));
  assert.ok(t[0] > -2 && t[0] < -1 && t[1] > 1 && t[1] < 2);
});

// ---------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------

function throwsWith(fn: () => unknown, cls: new (...a: never[]) => Error, ...parts: string[]): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, cls);
    for (const p of parts) assert.ok((e as Error).message.includes(p), `"${(e as Error).message}" should mention "${p}"`);
    return;
  }
  assert.unreachable(`expected ${cls.name} mentioning ${parts.join(', ')}`);
}

test('errors: keys of the wrong shape or dtype name the function and the shape', () => {
  throwsWith(() => random.uniform(np.array([1, 2, 3], 'uint32')), ShapeError, 'random.uniform', '[3]');
  throwsWith(() => random.normal(random.split(random.key(0), 3), [2]), ShapeError, 'random.normal', '[3,2]', 'vmap');
  throwsWith(() => random.bits(np.array([0, 1])), DTypeError, 'random.bits', 'uint32', 'f32[2]');
  throwsWith(() => random.split(np.array(3, 'uint32')), ShapeError, 'random.split', '[]');
  throwsWith(() => random.foldIn(np.array([[1, 2, 3]], 'uint32'), 1), ShapeError, 'random.foldIn', '[1,3]');
  throwsWith(() => random.randint([0, 1] as unknown as Value, [2], 0, 3), ValueError, 'random.randint', 'JS array');
  // A Uint32Array key is accepted.
  assert.equal(random.uniform(Uint32Array.of(0, 0) as unknown as Value).shape, []);
});

test('errors: seeds, data, shapes, dtypes and parameters', () => {
  throwsWith(() => random.key(1.5), ValueError, 'random.key', '1.5');
  throwsWith(() => random.key(2 ** 53), ValueError, 'random.key');
  throwsWith(() => random.key(np.array([1, 2], 'int32')), DTypeError, 'random.key', 'i32[2]');
  throwsWith(() => random.foldIn(random.key(0), 0.5), ValueError, 'random.foldIn');
  throwsWith(() => random.foldIn(random.key(0), np.array(1)), DTypeError, 'random.foldIn', 'f32[]');
  throwsWith(() => random.uniform(random.key(0), [-1]), ShapeError, 'random.uniform');
  throwsWith(() => random.uniform(random.key(0), [2], { dtype: 'int32' }), DTypeError, 'random.uniform', 'int32');
  throwsWith(() => random.uniform(random.key(0), [2], { minval: np.array([0, 0, 0]) }), ShapeError, 'random.uniform');
  throwsWith(() => random.uniform(random.key(0), [3], { minval: np.array([[0, 0, 0], [1, 1, 1]]) }), ShapeError, 'random.uniform', '[2,3]', '[3]');
  throwsWith(() => random.normal(random.key(0), [2], 'int32'), DTypeError, 'random.normal');
  throwsWith(() => random.bits(random.key(0), [2], 'int32'), DTypeError, 'random.bits', 'int32');
  throwsWith(() => random.randint(random.key(0), [2], 0, 5, 'float32'), DTypeError, 'random.randint', 'float32');
  throwsWith(() => random.randint(random.key(0), [2], np.array([0, 1, 2], 'int32'), 5), ShapeError, 'random.randint');
  throwsWith(() => random.bernoulli(random.key(0), np.array([0, 1], 'int32')), DTypeError, 'random.bernoulli');
  throwsWith(() => random.bernoulli(random.key(0), np.array([0.5, 0.5]), [3]), ShapeError, 'random.bernoulli');
  throwsWith(() => random.categorical(random.key(0), np.array([1, 2]), { axis: 1 }), Error, 'random.categorical', 'axis 1');
  throwsWith(() => random.categorical(random.key(0), np.array([[1, 2], [3, 4]]), { shape: [3] }), ShapeError, 'random.categorical', '[3]');
  // A batch dim of size 1 broadcasts to the requested shape, as in JAX.
  assert.equal(random.categorical(random.key(0), np.array([[1, 2]]), { shape: [3] }).shape, [3]);
  throwsWith(() => random.permutation(random.key(0), -1), ValueError, 'random.permutation');
  throwsWith(() => random.permutation(random.key(0), np.array(3, 'int32')), ShapeError, 'random.permutation');
  throwsWith(() => random.randomBits(random.key(0), 12 as 8, [2]), ValueError, 'random.randomBits');
});

// ---------------------------------------------------------------------------------------
// traceability: everything runs on abstract values (no concrete reads)
// ---------------------------------------------------------------------------------------

class AbstractTracer extends Tracer {
  constructor(trace: Trace, readonly aval: ShapedArray) {
    super(trace);
  }
}

/** A trace that only propagates shapes and dtypes; any concrete read throws ConcretizationError. */
class ShapeTrace implements Trace {
  readonly tag = newTag();
  readonly parent = currentTrace();
  readonly prims = new Set<string>();
  process<P extends Prim>(prim: P, args: readonly Value[], params: PrimParams[P]): Value[] {
    this.prims.add(prim);
    return rules[prim].abstractEval(args.map((a) => a.aval), params).map((av) => new AbstractTracer(this, av));
  }
  describe(): string {
    return 'ShapeTrace';
  }
}

test('every function traces with an abstract key (jit / vmap ready)', () => {
  for (const [name, mode] of BOTH)
    inMode(mode, () => {
      const t = new ShapeTrace();
      const k = new AbstractTracer(t, new ShapedArray([2], 'uint32'));
      const seed = new AbstractTracer(t, new ShapedArray([], 'int32'));
      const out = withTrace(t, () => ({
        key: random.key(seed),
        split: random.split(k, 3),
        splitRow: [...random.split(k, 3)][2],
        foldIn: random.foldIn(k, seed),
        bits: random.bits(k, [4]),
        bits8: random.randomBits(k, 8, [5]),
        uniform: random.uniform(k, [2, 3], { minval: new AbstractTracer(t, new ShapedArray([3], 'float32')) }),
        normal: random.normal(k, [4]),
        truncatedNormal: random.truncatedNormal(k, -1, 1, [4]),
        bernoulli: random.bernoulli(k, 0.2, [4]),
        randint: random.randint(k, [4], 0, 10),
        gumbel: random.gumbel(k, [4]),
        exponential: random.exponential(k, [4]),
        categorical: random.categorical(k, new AbstractTracer(t, new ShapedArray([3, 5], 'float32'))),
        permutation: random.permutation(k, 7),
        permuteArray: random.permutation(k, new AbstractTracer(t, new ShapedArray([4, 6], 'float32')), { axis: 1 }),
      }));
      const want: Record<string, string> = {
        key: 'u32[2]', split: 'u32[3,2]', splitRow: 'u32[2]', foldIn: 'u32[2]', bits: 'u32[4]', bits8: 'u32[5]', uniform: 'f32[2,3]', normal: 'f32[4]',
        truncatedNormal: 'f32[4]', bernoulli: 'bool[4]', randint: 'i32[4]', gumbel: 'f32[4]', exponential: 'f32[4]',
        categorical: 'i32[3]', permutation: 'i32[7]', permuteArray: 'f32[4,6]',
      };
      for (const [fn, v] of Object.entries(out)) {
        assert.instance(v, AbstractTracer, `${name} ${fn}`);
        assert.is(v.aval.str(), want[fn], `${name} ${fn}`);
      }
      assert.ok(t.prims.has('threefry2x32') && t.prims.has('sort') && t.prims.has('argmax'), [...t.prims].join(','));
    });
});

test.run();
