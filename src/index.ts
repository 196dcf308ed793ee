/**
 * vidax: a functional research DSL for diffusion models with JAX-style tracing.
 *
 *   import { np, lax, random, tree, config, scope, memoryStats } from 'vidax';
 */
import './core/init.js';

export * as np from './core/numpy/index.js';
export * as tree from './core/tree.js';
export { config } from './core/config.js';
export { NDArray, scope } from './core/array.js';
export { Value as Array, Tracer } from './core/trace/value.js';
export { ShapedArray } from './core/aval.js';
export type { DType } from './core/dtype.js';
export * from './core/errors.js';
