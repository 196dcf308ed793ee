/**
 * Case tables of the backend parity suites (no tests here; `backend_parity.test.ts` runs the
 * synchronous backends, `webgpu_parity.test.ts` the WebGPU one): edge values per dtype, the
 * elementwise primitives and kernel ops swept over them, and the composite functions that are
 * jit-compiled, differentiated and vmapped on each backend. Per-primitive specs and smooth
 * operand data come from `props/prim_cases.ts`.
 */
import type { DType } from '../src/core/dtype.js';
import type { BinOp, UnOp } from '../src/core/kernel/ir.js';
import type { Prim } from '../src/core/trace/primitive.js';
import { grad, jit, jvp, lax, np, random, vmap, type Array as VArray } from '../src/index.js';
import { hashSeed, type Operand, type Spec } from '../props/prim_cases.js';
import { lcg, prod } from './helpers.js';

export const SEED = Number(process.env.PROPS_SEED ?? 42);
/** Specs per primitive (each run with smooth and edge data). */
export const RUNS = Number(process.env.PROPS_RUNS ?? 12);

// ------------------------------------------------------------------ edge values

const pickFrom = (vs: readonly number[], r: () => number) => vs[Math.floor(r() * vs.length)];
export const FLOAT_EDGES = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 3, NaN, Infinity, -Infinity, 1e30, -1e30, 1e-40, -1e-40, 3e9, -3e9, 16777217];
export const INT_EDGES = [0, 1, -1, 2, -2, 3, 31, 32, 33, -32, 2 ** 31 - 1, -(2 ** 31), 7, -7];
export const UINT_EDGES = [0, 1, 2, 3, 31, 32, 33, 2 ** 31, 2 ** 31 - 1, 2 ** 32 - 1, 7];
/** Every edge value of a dtype. */
export const EDGES: Record<DType, readonly number[]> = { float32: FLOAT_EDGES, int32: INT_EDGES, uint32: UINT_EDGES, bool: [0, 1] };

/** Each element: an edge value (from `floatEdges` for float32) half the time, else an ordinary one. */
export function edgeData(dtype: DType, n: number, r: () => number, floatEdges: readonly number[] = FLOAT_EDGES): number[] {
  return Array.from({ length: n }, () => {
    const edge = r() < 0.5;
    switch (dtype) {
      case 'float32': return edge ? pickFrom(floatEdges, r) : (r() - 0.5) * 8;
      case 'int32': return edge ? pickFrom(INT_EDGES, r) : Math.floor(r() * 41) - 20;
      case 'uint32': return edge ? pickFrom(UINT_EDGES, r) : Math.floor(r() * 2 ** 32);
      case 'bool': return r() < 0.5 ? 1 : 0;
    }
  });
}

/** The case's operands with edge data (the spec's structure is kept). */
export function edgeOperands(spec: Spec, seed: number, floatEdges: readonly number[] = FLOAT_EDGES): Operand[] {
  const r = lcg(hashSeed(seed, 7));
  return spec.shapes.map((shape, i) => ({ shape, dtype: spec.dtypes[i], data: edgeData(spec.dtypes[i], prod(shape), r, floatEdges) }));
}

// ------------------------------------------------------------------ elementwise sweeps

export const UNARY: Prim[] = [
  'neg', 'sign', 'floor', 'ceil', 'round', 'is_finite', 'exp', 'expm1', 'log', 'log1p', 'tanh', 'logistic', 'sin', 'cos', 'tan',
  'atan', 'sqrt', 'rsqrt', 'abs', 'erf', 'erf_inv', 'not',
];
export const BINARY: Prim[] = [
  'add', 'sub', 'mul', 'div', 'rem', 'pow', 'max', 'min', 'atan2', 'and', 'or', 'xor', 'shift_left', 'shift_right_logical',
  'shift_right_arithmetic', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
];
export const KERNEL_BINARY: BinOp[] = ['add', 'sub', 'mul', 'div', 'rem', 'pow', 'max', 'min', 'atan2', 'and', 'or', 'xor', 'shl', 'shrl', 'shra', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
export const KERNEL_UNARY: UnOp[] = ['neg', 'abs', 'sign', 'floor', 'ceil', 'round', 'exp', 'expm1', 'log', 'log1p', 'sin', 'cos', 'tan', 'tanh', 'atan', 'sqrt', 'rsqrt', 'sigmoid', 'erf', 'erfinv', 'not', 'isfinite'];
export const INT_ONLY_OPS: ReadonlySet<BinOp> = new Set(['and', 'or', 'xor', 'shl', 'shrl', 'shra']);

// ------------------------------------------------------------------ composite functions

const rng = lcg(SEED);
export const f32 = (shape: number[], lo = -1, hi = 1): Operand => ({ shape, dtype: 'float32', data: Array.from({ length: prod(shape) }, () => lo + (hi - lo) * rng()) });
export const i32 = (shape: number[], lo: number, hi: number): Operand => ({ shape, dtype: 'int32', data: Array.from({ length: prod(shape) }, () => lo + Math.floor(rng() * (hi - lo + 1))) });

export const softmax = (x: VArray) => {
  const e = np.exp(np.sub(x, np.max(x, -1, true)));
  return np.div(e, np.sum(e, -1, true));
};
export const layerNorm = (x: VArray) => {
  const m = np.mean(x, -1, true);
  const d = np.sub(x, m);
  return np.div(d, np.sqrt(np.add(np.mean(np.square(d), -1, true), 1e-5)));
};
export const mlpLoss = (p: { w1: VArray; w2: VArray }, x: VArray) => np.mean(np.square(np.matmul(np.tanh(np.matmul(x, p.w1)), p.w2)));

/** [name, function, operands]: each is jit-compiled (and run eagerly) on the oracle and on the target. */
export const JIT_CASES: [string, (...a: any[]) => unknown, Operand[]][] = [
  ['elementwise chain', (x) => np.neg(np.sqrt(np.abs(np.add(np.mul(np.tanh(np.add(np.mul(x, 1.5), 0.25)), 2), x)))), [f32([3, 4])]],
  ['tanh·sigmoid chain', (x) => np.mul(np.tanh(x), lax.logistic(np.mul(x, 0.5))), [f32([1000], -4, 4)]],
  ['broadcasting', (x, v, c) => np.add(np.mul(x, v), c), [f32([3, 4]), f32([4]), f32([3, 1])]],
  ['sums, means, max, min, prod', (x) => [np.sum(x), np.mean(x, 0), np.max(x, 1), np.min(x, [0, 1]), np.prod(np.add(x, 1), 1, true)], [f32([5, 7])]],
  ['argmax/argmin', (x) => [np.argmax(x, 1), np.argmin(np.mul(x, x), 0)], [f32([5, 7])]],
  ['softmax', softmax, [f32([6, 33], -3, 3)]],
  ['layer norm', layerNorm, [f32([4, 17])]],
  ['logsumexp', (x) => np.logsumexp(x, 1), [f32([4, 9], -5, 5)]],
  ['a reduction of a reduction', (x) => np.max(np.sum(np.exp(x), 1)), [f32([3, 4])]],
  ['a reduction feeding arithmetic', (x) => np.mul(np.sum(x, 1), np.max(np.mul(np.mean(x, 1), 3), 0)), [f32([7, 13])]],
  ['movement', (x) => np.add(np.reshape(np.transpose(x), [2, 6]), np.flip(np.reshape(x, [2, 6]), 1)), [f32([3, 4])]],
  ['pad and concatenate', (x) => np.concatenate([np.pad(x, [[1, 0], [0, 2]]), np.sin(np.pad(x, [[0, 1], [2, 0]]))], 0), [f32([3, 4])]],
  ['strided slices', (x) => np.mul(lax.slice(x, [0, 1], [3, 4], [2, 2]), 3), [f32([3, 4])]],
  ['gather with negative indices', (x, i) => np.take(np.exp(x), i, 1), [f32([3, 4]), { shape: [4], dtype: 'int32', data: [3, 0, -1, 0] }]],
  ['dynamic slice and update', (x, s) => lax.dynamicUpdateSlice(x, np.ones([2, 2]), [s, s]), [f32([3, 4]), { shape: [], dtype: 'int32', data: [1] }]],
  ['matmul mix', (x, w, b) => np.sum(np.tanh(np.add(np.matmul(np.mul(x, 2), w), b)), 0), [f32([3, 4]), f32([4, 5]), f32([5])]],
  ['int arithmetic', (a, b) => [np.add(np.mul(a, b), 7), np.floorDivide(a, 3), np.mod(b, 4), np.maximum(a, b), np.floorDivide(a, b), np.mod(a, b)],
    [i32([3, 4], -9, 9), i32([3, 4], -3, 3)]],
  ['integer ops with literal operands', (a, u) => [
    lax.shiftRightArithmetic(a, 40), lax.shiftRightArithmetic(a, 31), lax.shiftLeft(a, 32), lax.shiftRightLogical(u, 33), lax.shiftLeft(u, 3),
    lax.div(a, 0), lax.div(a, -1), lax.div(a, 3), lax.div(a, -3), lax.rem(a, 0), lax.rem(a, -1), lax.rem(a, 5), lax.div(u, 0), lax.rem(u, 7),
    lax.pow(a, 3), lax.pow(a, -1), lax.max(a, -5), lax.min(u, 9),
  ], [{ shape: [8], dtype: 'int32', data: [0, 1, -1, 7, -7, 2 ** 31 - 1, -(2 ** 31), 100] }, { shape: [8], dtype: 'uint32', data: [0, 1, 2 ** 32 - 1, 7, 2 ** 31, 9, 10, 3] }]],
  ['float ops with literal operands', (x) => [np.mod(x, 0), lax.rem(x, 1.5), lax.pow(x, 2), lax.div(x, 0), np.maximum(x, NaN), lax.atan2(x, -0)],
    [{ shape: [8], dtype: 'float32', data: [0, -0, 1.5, -2.5, NaN, Infinity, -Infinity, 1e-40] }]],
  ['concatenate reading far outside an operand (clamped loads)', (small, big) => np.concatenate([big, small], 0), [f32([3]), f32([300000])]],
  ['bool logic and where', (x, y) => np.where(np.logicalAnd(np.greater(x, 0), np.logicalNot(np.less(y, 0))), np.exp(x), np.cos(y)), [f32([4, 5]), f32([4, 5])]],
  ['casts', (x) => [np.astype(np.mul(x, 100), 'int32'), np.astype(np.greater(x, 0), 'float32'), np.astype(np.astype(np.mul(x, 1e10), 'uint32'), 'float32')], [f32([11], -3, 3)]],
  ['cumsum and sort', (x) => [np.cumsum(x, 1), np.sort(np.mul(x, -1), 1)], [f32([3, 6])]],
  ['random normal from a key', (k) => random.normal(k, [5, 7]), [{ shape: [2], dtype: 'uint32', data: [0, 42] }]],
];

/** Operands of the transformation cases. */
export const TRANSFORM_DATA = { params: { w1: f32([8, 16]), w2: f32([16, 3]) }, x: f32([5, 8]), t: f32([5, 8]) };

/** [name, run(put)]: grad / vmap / jvp compositions; `put` places an operand on the backend under test. */
export const TRANSFORM_CASES: [string, (put: (o: Operand) => VArray) => unknown][] = [
  ['grad of an MLP loss', (put) => grad(mlpLoss)({ w1: put(TRANSFORM_DATA.params.w1), w2: put(TRANSFORM_DATA.params.w2) }, put(TRANSFORM_DATA.x))],
  ['jit(grad) of an MLP loss', (put) => jit(grad(mlpLoss))({ w1: put(TRANSFORM_DATA.params.w1), w2: put(TRANSFORM_DATA.params.w2) }, put(TRANSFORM_DATA.x))],
  ['vmap of softmax over rows', (put) => vmap((r: VArray) => softmax(r))(put(TRANSFORM_DATA.x))],
  ['vmap(grad) per example', (put) => vmap((xi: VArray) => grad((v: VArray) => np.sum(np.tanh(layerNorm(v))))(xi))(put(TRANSFORM_DATA.x))],
  ['jvp of layer norm', (put) => jvp(layerNorm, [put(TRANSFORM_DATA.x)], [put(TRANSFORM_DATA.t)])],
  ['jit(vmap(grad)) of a loss with an integer argument', (put) =>
    jit(vmap((xi: VArray, i: VArray) => grad((v: VArray) => np.sum(np.take(np.exp(v), i, 0)))(xi), { inAxes: [0, null] }))(put(TRANSFORM_DATA.x), put({ shape: [3], dtype: 'int32', data: [7, 0, -2] }))],
];
