/**
 * The per-primitive table the transformation laws are stated over (no tests here; see
 * `ad_primitives.test.ts` and `transforms.test.ts`). For every first-order primitive: a
 * fast-check arbitrary of its static structure (shapes 0..4 per dim, dtypes, params, all
 * plain JSON so counterexamples print) and a sampler of operand values from a seed, in a
 * domain where the op is smooth: log/sqrt/rsqrt/pow bases positive, divisors away from 0,
 * erf_inv in (−0.9, 0.9), and for piecewise ops (abs, floor, round, max, sort, argmax,
 * reduce/window/cumulative max …) values away from kinks and ties, so central differences
 * with a step of 1e-2 never cross one. Higher-order primitives (jit, custom_*, remat, control
 * flow) have their own tests and are not in the table.
 */
import fc from 'fast-check';
import { NDArray } from '../src/core/array.js';
import { defaultBackend } from '../src/core/backends/backend.js';
import { storageOf, type DType } from '../src/core/dtype.js';
import type { Prim } from '../src/core/trace/primitive.js';
import { bind } from '../src/core/trace/trace.js';
import type { Value } from '../src/core/trace/value.js';
import { lcg, prod } from '../test/helpers.js';

export type Rng = () => number;
/** Values of `n` elements drawn from a domain. */
export type Domain = (n: number, r: Rng) => number[];

/** The static structure of one application: params, then operand shapes and dtypes (plus free-form extras). */
export interface Spec {
  params: Record<string, unknown>;
  shapes: number[][];
  dtypes: DType[];
  [extra: string]: unknown;
}

export interface PrimCase {
  prim: Prim;
  spec: fc.Arbitrary<Spec>;
  /** Operand data for a spec (default: each operand from `defaultDomain` of its dtype). */
  sample?(spec: Spec, r: Rng): number[][];
  /** Central-difference step (default 1e-2). */
  eps?: number;
  /** The jvp is zero by definition, not the derivative of the values (stop_gradient). */
  zeroJvp?: boolean;
}

export interface Operand {
  shape: number[];
  dtype: DType;
  data: number[];
}

// ------------------------------------------------------------------ domains

const randInt = (lo: number, hi: number, r: Rng): number => lo + Math.floor(r() * (hi - lo + 1));
export const uni = (lo: number, hi: number): Domain => (n, r) => Array.from({ length: n }, () => lo + (hi - lo) * r());
/** |x| in [lo, hi] with a random sign. */
export const away = (lo: number, hi: number): Domain => (n, r) => uni(lo, hi)(n, r).map((v) => (r() < 0.5 ? -v : v));
export const ints = (lo: number, hi: number): Domain => (n, r) => Array.from({ length: n }, () => randInt(lo, hi, r));
const nonzeroInts = (m: number): Domain => (n, r) => ints(1, m)(n, r).map((v) => (r() < 0.5 ? -v : v));
const bools: Domain = ints(0, 1);
const pick = (vs: readonly number[]): Domain => (n, r) => Array.from({ length: n }, () => vs[Math.floor(r() * vs.length)]);
/** Pairwise distinct values ≥ gap/2 apart (a shuffled grid with jitter of ±gap/4): no ties anywhere. */
export const distinct = (gap = 0.05): Domain => (n, r) => {
  const perm = shuffle([...Array(n).keys()], r);
  return perm.map((k) => (k - (n - 1) / 2) * gap + (r() - 0.5) * gap * 0.5);
};
/** Values at least 0.1 from any integer. */
const nonInt = (lo: number, hi: number): Domain => (n, r) => Array.from({ length: n }, () => randInt(lo, hi - 1, r) + 0.1 + 0.8 * r());
/** Values at least 0.1 from any integer and any half-integer (round's jumps). */
const roundSafe: Domain = (n, r) => Array.from({ length: n }, () => randInt(-3, 2, r) + (r() < 0.5 ? 0.1 : 0.6) + 0.3 * r());
/** Mostly finite values with some ±inf and NaN. */
const specials: Domain = (n, r) => uni(-2, 2)(n, r).map((v) => (r() < 0.8 ? v : [Infinity, -Infinity, NaN][Math.floor(r() * 3)]));
/** int32 bit patterns of ordinary float32 values (so their bitcast is a normal float). */
const floatBits: Domain = (n, r) => Array.from(new Int32Array(Float32Array.from(away(0.01, 100)(n, r)).buffer));

export function defaultDomain(d: DType): Domain {
  switch (d) {
    case 'float32': return uni(-2, 2);
    case 'int32': return ints(-5, 5);
    case 'uint32': return ints(0, 2 ** 32 - 1);
    case 'bool': return bools;
  }
}

function shuffle<T>(xs: T[], r: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
const subset = (n: number, r: Rng): number[] => [...Array(n).keys()].filter(() => r() < 0.5);
/** A dim size in [0, max], zero only now and then (so most instances are not empty). */
const dimSize = (max: number, r: Rng): number => (r() < 0.05 || max === 0 ? 0 : randInt(1, max, r));

// ------------------------------------------------------------------ structure arbitraries

/** A dim of 0..4 (1..maxDim): empty dims are kept rare (1 in 21) so that most instances have data. */
const dimArb = (minDim: number, maxDim: number) =>
  minDim > 0 ? fc.integer({ min: minDim, max: maxDim }) : fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 1, max: maxDim }), weight: 20 });
const shapeArb = (minRank = 0, maxRank = 3, minDim = 0, maxDim = 4) =>
  fc.array(dimArb(minDim, maxDim), { minLength: minRank, maxLength: maxRank });
/** A structure drawn from a base arbitrary plus a seeded generator (shrinks on both). */
const seeded = <T>(base: fc.Arbitrary<T>, f: (x: T, r: Rng) => Spec): fc.Arbitrary<Spec> =>
  fc.tuple(base, fc.nat()).map(([x, s]) => f(x, lcg(s)));
const dtypeArb = (...ds: DType[]) => fc.constantFrom(...ds);

/** A case whose operands are independent, each from a domain (float domains apply to float32 operands only). */
function indep(prim: Prim, spec: fc.Arbitrary<Spec>, doms: readonly (Domain | undefined)[] = [], extra: Partial<PrimCase> = {}): PrimCase {
  return {
    prim, spec, ...extra,
    sample: (s, r) => s.shapes.map((sh, i) => (s.dtypes[i] === 'float32' && doms[i] ? doms[i]! : defaultDomain(s.dtypes[i]))(prod(sh), r)),
  };
}

// ------------------------------------------------------------------ elementwise

const sameShapes = (k: number, ...ds: DType[]) =>
  fc.tuple(shapeArb(0, 3), dtypeArb(...ds)).map(([s, d]): Spec => ({ params: {}, shapes: Array(k).fill(s), dtypes: Array(k).fill(d) }));

const FLOAT_UNARY: [Prim, Domain][] = [
  ['floor', nonInt(-3, 3)], ['ceil', nonInt(-3, 3)], ['round', roundSafe], ['is_finite', specials],
  ['exp', uni(-2, 2)], ['expm1', uni(-2, 2)], ['log', uni(0.5, 3)], ['log1p', uni(-0.5, 3)],
  ['tanh', uni(-3, 3)], ['logistic', uni(-4, 4)], ['sin', uni(-3, 3)], ['cos', uni(-3, 3)],
  ['tan', uni(-1.2, 1.2)], ['atan', uni(-3, 3)], ['sqrt', uni(0.5, 3)], ['rsqrt', uni(0.5, 3)],
  ['erf', uni(-2, 2)], ['erf_inv', uni(-0.9, 0.9)],
];

/** With int32 operands integer data; with float32, the domain (away from abs's and sign's kink at 0). */
const NUMERIC_UNARY: [Prim, Domain][] = [['neg', uni(-3, 3)], ['sign', away(0.1, 3)], ['abs', away(0.1, 3)]];

/** max/min: y = x ± [0.1, 1], never a tie. */
const separatedPair = (s: Spec, r: Rng): number[][] => {
  if (s.dtypes[0] !== 'float32') return s.shapes.map((sh) => ints(-3, 3)(prod(sh), r));
  const x = uni(-2, 2)(prod(s.shapes[0]), r);
  const d = away(0.1, 1)(x.length, r);
  return [x, x.map((v, i) => v + d[i])];
};

/** rem(x, y): x/y at least 0.1 from an integer (rem's jumps), |y| in [0.5, 1.5]. */
const remPair = (s: Spec, r: Rng): number[][] => {
  const n = prod(s.shapes[0]);
  if (s.dtypes[0] !== 'float32') return [ints(-9, 9)(n, r), nonzeroInts(4)(n, r)];
  const y = away(0.5, 1.5)(n, r), q = nonInt(-3, 3)(n, r);
  return [q.map((v, i) => v * y[i]), y];
};

const intPair = (lo: number, hi: number, second: Domain) => (s: Spec, r: Rng): number[][] => {
  const n = prod(s.shapes[0]);
  const first = s.dtypes[0] === 'uint32' ? ints(0, 2 ** 32 - 1) : s.dtypes[0] === 'bool' ? bools : ints(lo, hi);
  return [first(n, r), second(n, r)];
};

const elementwise: PrimCase[] = [
  ...FLOAT_UNARY.map(([p, d]) => indep(p, sameShapes(1, 'float32'), [d])),
  ...NUMERIC_UNARY.map(([p, d]) => indep(p, sameShapes(1, 'float32', 'int32'), [d])),
  indep('not', sameShapes(1, 'int32', 'uint32', 'bool')),
  indep('stop_gradient', sameShapes(1, 'float32'), [], { zeroJvp: true }),
  ...(['add', 'sub', 'mul'] as Prim[]).map((p) => indep(p, sameShapes(2, 'float32', 'int32'))),
  { prim: 'div', spec: sameShapes(2, 'float32', 'int32'), sample: (s, r) => {
    const n = prod(s.shapes[0]);
    return s.dtypes[0] === 'float32' ? [uni(-2, 2)(n, r), away(0.5, 2)(n, r)] : [ints(-9, 9)(n, r), nonzeroInts(4)(n, r)];
  } },
  { prim: 'rem', spec: sameShapes(2, 'float32', 'int32'), sample: remPair },
  indep('pow', sameShapes(2, 'float32'), [uni(0.5, 2), uni(-2, 2)]),
  { prim: 'max', spec: sameShapes(2, 'float32', 'int32'), sample: separatedPair },
  { prim: 'min', spec: sameShapes(2, 'float32', 'int32'), sample: separatedPair },
  indep('atan2', sameShapes(2, 'float32'), [away(0.3, 1.5), away(0.3, 1.5)]),
  ...(['and', 'or', 'xor'] as Prim[]).map((p) => indep(p, sameShapes(2, 'int32', 'uint32', 'bool'))),
  ...(['shift_left', 'shift_right_logical', 'shift_right_arithmetic'] as Prim[]).map((p): PrimCase =>
    ({ prim: p, spec: sameShapes(2, 'int32', 'uint32'), sample: intPair(-(2 ** 31), 2 ** 31 - 1, ints(0, 31)) })),
  // Comparisons: values from a small set so that ties occur (their outputs are bool; only the
  // zero-tangent part of the jvp law applies).
  ...(['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as Prim[]).map((p) => indep(p, sameShapes(2, 'float32', 'int32'), [pick([-1, 0, 0.5, 1]), pick([-1, 0, 0.5, 1])])),

  {
    prim: 'select_n',
    spec: fc.tuple(shapeArb(0, 3), fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.boolean(), dtypeArb('float32', 'int32')).map(([s, k, boolPred, scalarPred, d]): Spec => {
      const pd: DType = boolPred && k <= 2 ? 'bool' : 'int32';
      return { params: {}, shapes: [scalarPred ? [] : s, ...Array(k).fill(s)], dtypes: [pd, ...Array(k).fill(d)] };
    }),
    sample: (s, r) => s.shapes.map((sh, i) =>
      (i > 0 ? defaultDomain(s.dtypes[i]) : s.dtypes[0] === 'bool' ? bools : ints(0, s.shapes.length - 2))(prod(sh), r)),
  },
  {
    prim: 'convert_element_type',
    spec: fc.tuple(shapeArb(0, 3), fc.constantFrom<[DType, DType]>(['float32', 'float32'], ['float32', 'int32'], ['int32', 'float32'], ['bool', 'float32'], ['float32', 'bool'], ['int32', 'uint32']))
      .map(([s, [from, to]]): Spec => ({ params: { newDtype: to, weakType: false }, shapes: [s], dtypes: [from] })),
    // Float inputs away from integers: truncation to int32 and the test against 0 for bool are locally constant.
    sample: (s, r) => [(s.dtypes[0] === 'float32' ? nonInt(-3, 3) : defaultDomain(s.dtypes[0]))(prod(s.shapes[0]), r)],
  },
  {
    prim: 'bitcast_convert_type',
    spec: fc.tuple(shapeArb(0, 3), fc.constantFrom<[DType, DType]>(['float32', 'int32'], ['float32', 'uint32'], ['int32', 'float32'], ['uint32', 'int32']))
      .map(([s, [from, to]]): Spec => ({ params: { newDtype: to }, shapes: [s], dtypes: [from] })),
    sample: (s, r) => [(s.dtypes[0] === 'int32' ? floatBits : defaultDomain(s.dtypes[0]))(prod(s.shapes[0]), r)],
  },
  {
    prim: 'iota',
    spec: seeded(fc.tuple(shapeArb(1, 3), dtypeArb('int32', 'float32')), ([s, d], r) =>
      ({ params: { dtype: d, shape: s, dimension: randInt(0, s.length - 1, r) }, shapes: [], dtypes: [] })),
  },
];

// ------------------------------------------------------------------ reductions, windows, scans

/** A shape and a subset of its axes; with `nonEmpty`, the reduced axes have size ≥ 1. */
const axesSpec = (ds: DType[], nonEmpty: boolean, params: (axes: number[]) => Record<string, unknown>) =>
  seeded(fc.tuple(shapeArb(0, 4), dtypeArb(...ds)), ([s, d], r) => {
    const axes = subset(s.length, r);
    const shape = nonEmpty ? s.map((n, i) => (axes.includes(i) ? Math.max(n, 1) : n)) : s;
    return { params: params(axes), shapes: [shape], dtypes: [d] };
  });

const oneAxisSpec = (ds: DType[], minAxisDim: number, params: (axis: number, r: Rng) => Record<string, unknown>) =>
  seeded(fc.tuple(shapeArb(1, 3), dtypeArb(...ds)), ([s, d], r) => {
    const axis = randInt(0, s.length - 1, r);
    return { params: params(axis, r), shapes: [s.map((n, i) => (i === axis ? Math.max(n, minAxisDim) : n))], dtypes: [d] };
  });

/** Products stay O(1): |x| in [0.5, 1.5], with an exact zero now and then (the derivative there is exact too). */
const prodDomain: Domain = (n, r) => away(0.5, 1.5)(n, r).map((v) => (r() < 0.1 ? 0 : v));

const windowSpec = (ds: DType[]) =>
  seeded(fc.tuple(shapeArb(1, 3), dtypeArb(...ds)), ([s, d], r) => ({
    params: {
      windowDimensions: s.map((n) => randInt(1, Math.max(1, Math.min(3, n)), r)), windowStrides: s.map(() => randInt(1, 2, r)),
      padding: s.map(() => [randInt(0, 1, r), randInt(0, 1, r)]), baseDilation: s.map(() => randInt(1, 2, r)),
      windowDilation: s.map(() => randInt(1, 2, r)),
    },
    shapes: [s], dtypes: [d],
  }));

const reductions: PrimCase[] = [
  indep('reduce_sum', axesSpec(['float32', 'int32'], false, (axes) => ({ axes }))),
  indep('reduce_prod', axesSpec(['float32', 'int32'], false, (axes) => ({ axes })), [prodDomain]),
  indep('reduce_max', axesSpec(['float32', 'int32'], true, (axes) => ({ axes })), [distinct()]),
  indep('reduce_min', axesSpec(['float32', 'int32'], true, (axes) => ({ axes })), [distinct()]),
  // Ties are allowed (first occurrence wins; the output is int32, so only the zero-tangent law applies).
  indep('argmax', oneAxisSpec(['float32', 'int32'], 1, (axis) => ({ axis, indexDtype: 'int32' })), [pick([-1, 0, 0.5, 1])]),
  indep('argmin', oneAxisSpec(['float32', 'int32'], 1, (axis) => ({ axis, indexDtype: 'int32' })), [pick([-1, 0, 0.5, 1])]),
  indep('reduce_window_sum', windowSpec(['float32', 'int32'])),
  indep('reduce_window_max', windowSpec(['float32', 'int32']), [distinct()]),
  indep('reduce_window_min', windowSpec(['float32', 'int32']), [distinct()]),
  indep('cumsum', oneAxisSpec(['float32', 'int32'], 0, (axis, r) => ({ axis, reverse: r() < 0.5 }))),
  indep('cumprod', oneAxisSpec(['float32'], 0, (axis, r) => ({ axis, reverse: r() < 0.5 })), [prodDomain]),
  indep('cummax', oneAxisSpec(['float32', 'int32'], 0, (axis, r) => ({ axis, reverse: r() < 0.5 })), [distinct()]),
  indep('cummin', oneAxisSpec(['float32', 'int32'], 0, (axis, r) => ({ axis, reverse: r() < 0.5 })), [distinct()]),
];

// ------------------------------------------------------------------ movement

const MOVE_DTYPES: DType[] = ['float32', 'float32', 'int32', 'bool'];

/** A row-major regrouping of `shape`: its prime factors shuffled into new dims, with some 1s. */
function regroup(shape: number[], r: Rng): number[] {
  if (prod(shape) === 0) return shuffle([...shape, ...(r() < 0.5 ? [1] : [])], r);
  const factors: number[] = [];
  for (let n of shape) for (let p = 2; n > 1; p++) while (n % p === 0) (factors.push(p), (n /= p));
  shuffle(factors, r);
  const k = randInt(factors.length ? 1 : 0, Math.min(4, Math.max(factors.length, 1)), r);
  const out = Array<number>(k).fill(1);
  factors.forEach((f) => (out[randInt(0, k - 1, r)] *= f));
  if (r() < 0.3 && out.length < 4) out.splice(randInt(0, out.length, r), 0, 1);
  return out;
}

const movement: PrimCase[] = [
  indep('broadcast_in_dim', seeded(fc.tuple(shapeArb(0, 4), dtypeArb(...MOVE_DTYPES)), ([out, d], r) => {
    const dims = subset(out.length, r);
    return { params: { shape: out, broadcastDimensions: dims }, shapes: [dims.map((k) => (r() < 0.3 ? 1 : out[k]))], dtypes: [d] };
  })),
  indep('reshape', seeded(fc.tuple(shapeArb(0, 4), dtypeArb(...MOVE_DTYPES)), ([s, d], r) => ({ params: { newSizes: regroup(s, r) }, shapes: [s], dtypes: [d] }))),
  indep('transpose', seeded(fc.tuple(shapeArb(0, 4), dtypeArb(...MOVE_DTYPES)), ([s, d], r) =>
    ({ params: { permutation: shuffle([...s.keys()], r) }, shapes: [s], dtypes: [d] }))),
  indep('slice', seeded(fc.tuple(shapeArb(0, 3), dtypeArb(...MOVE_DTYPES)), ([s, d], r) => {
    // Mostly non-empty slices: start in [0, n), limit in (start, n]; now and then an empty one.
    const start = s.map((n) => (n === 0 || r() < 0.05 ? randInt(0, n, r) : randInt(0, n - 1, r)));
    const limit = s.map((n, i) => (start[i] === n || r() < 0.05 ? randInt(start[i], n, r) : randInt(start[i] + 1, n, r)));
    return { params: { startIndices: start, limitIndices: limit, strides: s.map(() => randInt(1, 3, r)) }, shapes: [s], dtypes: [d] };
  })),
  indep('pad', seeded(fc.tuple(shapeArb(0, 3), dtypeArb('float32', 'float32', 'int32')), ([s, d], r) => ({
    params: {
      config: s.map((n) => {
        const lo = randInt(-2, 2, r), hi = randInt(-2, 2, r), int = randInt(0, 2, r);
        return lo + hi + n + Math.max(0, n - 1) * int >= 0 ? [lo, hi, int] : [0, 0, int];
      }),
    },
    shapes: [s, []], dtypes: [d, d],
  }))),
  indep('concatenate', seeded(fc.tuple(shapeArb(1, 3), fc.integer({ min: 1, max: 3 }), dtypeArb(...MOVE_DTYPES)), ([s, k, d], r) => {
    const dim = randInt(0, s.length - 1, r);
    return { params: { dimension: dim }, shapes: Array.from({ length: k }, () => s.map((n, i) => (i === dim ? dimSize(3, r) : n))), dtypes: Array(k).fill(d) };
  })),
  indep('rev', seeded(fc.tuple(shapeArb(0, 4), dtypeArb(...MOVE_DTYPES)), ([s, d], r) => ({ params: { dimensions: subset(s.length, r) }, shapes: [s], dtypes: [d] }))),
];

// ------------------------------------------------------------------ contractions

/** dot_general: batch, contracting and free dims of both sides, each side's dims in a random order. */
const dotSpec = seeded(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), dtypeArb('float32', 'float32', 'int32')),
  ([nb, nc, nl, nr, d], r) => {
    const sz = () => dimSize(3, r);
    const b = Array.from({ length: nb }, sz), c = Array.from({ length: nc }, sz);
    const lf = Array.from({ length: nl }, sz), rf = Array.from({ length: nr }, sz);
    // Position of each logical dim (batch…, contracting…, free…) in the operand.
    const place = (sizes: number[]) => {
      const perm = shuffle([...sizes.keys()], r);
      const shape = Array<number>(sizes.length);
      perm.forEach((pos, k) => (shape[pos] = sizes[k]));
      return { shape, at: (k: number) => perm[k] };
    };
    const L = place([...b, ...c, ...lf]), R = place([...b, ...c, ...rf]);
    const dims = (P: typeof L, from: number, n: number) => Array.from({ length: n }, (_, k) => P.at(from + k));
    return {
      params: { dimensionNumbers: { contracting: [dims(L, nb, nc), dims(R, nb, nc)], batch: [dims(L, 0, nb), dims(R, 0, nb)] } },
      shapes: [L.shape, R.shape], dtypes: [d, d],
    };
  });

/** conv_general_dilated: 1 or 2 spatial dims, feature or batch groups, strides, padding, dilations, permuted layouts. */
const convSpec = seeded(fc.tuple(fc.integer({ min: 1, max: 2 }), fc.constantFrom<[number, number]>([1, 1], [2, 1], [1, 2]), dtypeArb('float32', 'float32', 'int32')), ([ns, [fgc, bgc], d], r) => {
  const n = bgc * randInt(1, 2, r), cin = randInt(1, 2, r), o = fgc * bgc * randInt(1, 2, r);
  const spatial = Array.from({ length: ns }, () => randInt(1, 4, r)), kernel = spatial.map(() => randInt(1, 3, r));
  const params = {
    windowStrides: spatial.map(() => randInt(1, 2, r)),
    padding: spatial.map(() => [randInt(0, 1, r), randInt(-1, 1, r)]),
    lhsDilation: spatial.map(() => randInt(1, 2, r)),
    rhsDilation: spatial.map(() => randInt(1, 2, r)),
    dimensionNumbers: { lhsSpec: shuffle([...Array(ns + 2).keys()], r), rhsSpec: shuffle([...Array(ns + 2).keys()], r), outSpec: shuffle([...Array(ns + 2).keys()], r) },
    featureGroupCount: fgc, batchGroupCount: bgc,
  };
  const lay = (spec: number[], canon: number[]) => {
    const s = Array<number>(canon.length);
    spec.forEach((dim, k) => (s[dim] = canon[k]));
    return s;
  };
  return { params, shapes: [lay(params.dimensionNumbers.lhsSpec, [n, cin * fgc, ...spatial]), lay(params.dimensionNumbers.rhsSpec, [o, cin, ...kernel])], dtypes: [d, d] };
});

/** conv_general_dilated padding may crop (a negative high pad); redraw specs whose output would be invalid. */
function convValid(s: Spec): boolean {
  const p = s.params as { padding: number[][]; lhsDilation: number[]; dimensionNumbers: { lhsSpec: number[] } };
  return p.padding.every(([lo, hi], i) => {
    const inS = s.shapes[0][p.dimensionNumbers.lhsSpec[i + 2]];
    return (inS - 1) * p.lhsDilation[i] + 1 + lo + hi >= 0;
  });
}

const contractions: PrimCase[] = [
  indep('dot_general', dotSpec),
  indep('conv_general_dilated', convSpec.filter(convValid)),
];

// ------------------------------------------------------------------ indexing, sort, random

/** gather/scatter_add: operand, int32 indices (negative ones wrap, out-of-range ones clamp), axis. */
const takeSpec = (withUpdates: boolean) =>
  seeded(fc.tuple(shapeArb(1, 3), shapeArb(0, 2, 0, 3), dtypeArb('float32', 'float32', 'int32')), ([s, ind, d], r) => {
    const axis = randInt(0, s.length - 1, r);
    const x = s.map((n, i) => (i === axis ? Math.max(n, 1) : n));
    const out = [...x.slice(0, axis), ...ind, ...x.slice(axis + 1)];
    return { params: { axis }, shapes: withUpdates ? [x, ind, out] : [x, ind], dtypes: withUpdates ? [d, 'int32', d] : [d, 'int32'] };
  });
const takeSample = (s: Spec, r: Rng): number[][] => {
  const n = s.shapes[0][s.params.axis as number];
  return s.shapes.map((sh, i) => (i === 1 ? ints(-n - 1, n) : defaultDomain(s.dtypes[i]))(prod(sh), r));
};

/** Scalar int32 starts, sometimes out of range (they are clamped so the window fits). */
const dynSpec = (update: boolean) =>
  seeded(fc.tuple(shapeArb(0, 3), dtypeArb('float32', 'float32', 'int32', 'bool')), ([s, d], r) => {
    const win = s.map((n) => dimSize(n, r));
    const starts = s.map((): number[] => []);
    return update
      ? { params: {}, shapes: [s, win, ...starts], dtypes: [d, d, ...s.map((): DType => 'int32')] }
      : { params: { sliceSizes: win }, shapes: [s, ...starts], dtypes: [d, ...s.map((): DType => 'int32')] };
  });
const dynSample = (update: boolean) => (s: Spec, r: Rng): number[][] => {
  const k = update ? 2 : 1;
  return s.shapes.map((sh, i) => (i < k ? defaultDomain(s.dtypes[i])(prod(sh), r) : ints(-2, s.shapes[0][i - k] + 1)(1, r)));
};

const indexing: PrimCase[] = [
  { prim: 'gather', spec: takeSpec(false), sample: takeSample },
  { prim: 'scatter_add', spec: takeSpec(true), sample: takeSample },
  { prim: 'dynamic_slice', spec: dynSpec(false), sample: dynSample(false) },
  { prim: 'dynamic_update_slice', spec: dynSpec(true), sample: dynSample(true) },
  {
    prim: 'sort',
    spec: seeded(fc.tuple(shapeArb(1, 3), fc.integer({ min: 1, max: 2 }), dtypeArb('float32', 'int32'), dtypeArb('float32', 'int32')), ([s, k, kd, cd], r) =>
      ({ params: { dimension: randInt(0, s.length - 1, r), numOperands: k }, shapes: Array(k).fill(s), dtypes: [kd, cd].slice(0, k) })),
    // Float keys are distinct (the permutation is locally constant); int keys have ties (stability).
    sample: (s, r) => s.shapes.map((sh, i) => (i === 0 && s.dtypes[0] === 'float32' ? distinct() : i === 0 ? ints(-2, 2) : defaultDomain(s.dtypes[i]))(prod(sh), r)),
  },
  indep('threefry2x32', shapeArb(0, 3).map((s): Spec => ({ params: {}, shapes: Array(4).fill(s), dtypes: Array(4).fill('uint32') }))),
];

/** Every first-order primitive's case. */
export const CASES: readonly PrimCase[] = [...elementwise, ...reductions, ...movement, ...contractions, ...indexing];

/** Higher-order primitives: tested by their own suites, not by this table. */
export const HIGHER_ORDER: ReadonlySet<string> = new Set(['jit', 'custom_jvp_call', 'custom_vjp_call', 'custom_lin', 'remat', 'cond', 'scan', 'while', 'switch']);

// ------------------------------------------------------------------ instances

/** A well-mixed 32-bit seed from a seed and a stream number (adjacent LCG seeds give correlated streams). */
export function hashSeed(seed: number, stream = 0): number {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The operands of `spec` with data drawn from `seed`. */
export function operands(c: PrimCase, spec: Spec, seed: number): Operand[] {
  const r = lcg(hashSeed(seed, 1));
  const data = c.sample ? c.sample(spec, r) : spec.shapes.map((sh, i) => defaultDomain(spec.dtypes[i])(prod(sh), r));
  return spec.shapes.map((shape, i) => ({ shape, dtype: spec.dtypes[i], data: data[i] }));
}

/** A concrete array holding an operand's data (built directly, without any primitive). */
export function toArray(o: Operand): Value {
  return NDArray.fromData(defaultBackend(), new (storageOf(o.dtype))(o.data), o.shape, o.dtype);
}

export const readBack = (v: Value): number[] => Array.from(v.dataSync());

/** Apply the case's primitive to operands. */
export const applyPrim = (c: PrimCase, spec: Spec, args: readonly Value[]): Value[] => bind(c.prim, args, spec.params as never);

/** The float32 operands: the ones differentiated (integer operands are indices, starts, predicates). */
export const floatOperands = (ops: readonly Operand[]): number[] => ops.flatMap((o, i) => (o.dtype === 'float32' ? [i] : []));

/** The primitive as a function of the operands at `idx` only, the others fixed to `args`. */
export function partialPrim(c: PrimCase, spec: Spec, args: readonly Value[], idx: readonly number[]): (...d: Value[]) => Value[] {
  return (...d) => {
    const full = [...args];
    idx.forEach((i, k) => (full[i] = d[k]));
    return applyPrim(c, spec, full);
  };
}

export const f32Array = (shape: number[], data: number[]): Value => toArray({ shape, dtype: 'float32', data });

/** Row-major data of `datas` (each of `shape`) stacked along a new axis `axis`. */
export function stackData(datas: readonly (readonly number[])[], shape: readonly number[], axis: number): number[] {
  const outer = prod(shape.slice(0, axis)), inner = prod(shape.slice(axis));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (const d of datas) for (let i = 0; i < inner; i++) out.push(d[o * inner + i]);
  return out;
}

/**
 * `fc.assert`, but the failure message carries the failing assertion's own message (uvu
 * prints only the message, and fast-check keeps the original error as its `cause`).
 */
export function assertProperty<Ts>(prop: fc.IProperty<Ts>, params: fc.Parameters<Ts>): void {
  const d = fc.check(prop, params);
  if (!d.failed) return;
  const why = d.errorInstance instanceof Error ? d.errorInstance.message : String(d.errorInstance);
  throw new Error(`property failed after ${d.numRuns} runs (seed ${d.seed}, path "${d.counterexamplePath}", shrunk ${d.numShrinks} times)\ncounterexample: ${fc.stringify(d.counterexample)}\n${why}`);
}

/** A short description of a spec for messages. */
export const describe = (c: PrimCase, s: Spec): string =>
  `${c.prim}(${s.shapes.map((sh, i) => `${s.dtypes[i]}[${sh}]`).join(', ')}) ${JSON.stringify(s.params)}`;
