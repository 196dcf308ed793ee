/** The `np` namespace: NumPy-like functions over arrays (camelCase names). */
export { array, type ArrayLike } from './convert.js';
export * from './creation.js';
export {
  add, sub, mul, div, floorDivide, mod, pow, maximum, minimum, arctan2, neg, abs, sign, square, exp, expm1, log, log1p,
  sqrt, rsqrt, sin, cos, tan, tanh, arctan, sigmoid, erf, erfinv, floor, ceil, round, clip, where, equal, notEqual, less,
  lessEqual, greater, greaterEqual, logicalAnd, logicalOr, logicalXor, logicalNot, isnan, isfinite, isinf, astype, broadcastTo,
} from './elementwise.js';
export * from './reductions.js';
export * from './sorting.js';
export * from './shape_ops.js';
export * from './slicing.js';
export * from './linalg.js';
