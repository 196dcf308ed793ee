/**
 * vidax: a functional research DSL for diffusion models with JAX-style tracing.
 *
 *   import { np, lax, random, tree, config, scope, memoryStats } from 'vidax';
 */
import './core/init.js';

export * as np from './core/numpy/index.js';
export * as tree from './core/tree.js';
export * as lax from './core/lax_namespace.js';
export * as random from './core/random.js';
export * as nn from './nn/index.js';
export * as diffusion from './diffusion/index.js';
export { config, setThreads } from './core/config.js';
export { jvp, linearize, vjp, grad, valueAndGrad, type GradOptions } from './core/transforms/ad.js';
export { vmap, type VmapOptions } from './core/transforms/vmap.js';
export { jacfwd, jacrev, hessian, type JacobianOptions } from './core/transforms/jacobian.js';
export { customJvp, customVjp, checkpoint, type CustomJvpFn, type CustomVjpFn } from './core/transforms/custom.js';
export { stopGradient } from './core/lax.js';
export { jit, makeJaxpr, type JitOptions, type Jitted } from './core/transforms/jit.js';
export { ClosedJaxpr, Jaxpr } from './core/ir/jaxpr.js';
export { NDArray, scope } from './core/array.js';
export { memoryStats, setDefaultBackend, defaultBackendName as defaultBackend, backends as devices, type BackendName, type MemoryStats } from './core/backends/backend.js';
export { initWebGpu, devicePut, type WebGpuInfo, type WebGpuOptions } from './core/device.js';
export { Value as Array, Tracer } from './core/trace/value.js';
export { ShapedArray } from './core/aval.js';
export type { DType } from './core/dtype.js';
export * from './core/errors.js';
