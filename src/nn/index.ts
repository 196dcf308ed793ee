/**
 * `nn`: layers as pure `{ init(key, …) → params, apply(params, x, opts?) → y }` pairs over
 * pytrees, activations, parameter utilities and safetensors checkpoints; initializers under
 * `nn.init` and optax-style optimizers and learning-rate schedules under `nn.optim`.
 */
export * from './module.js';
export * from './activations.js';
export * from './linear.js';
export * from './conv.js';
export * from './sampling.js';
export * from './norm.js';
export * from './dropout.js';
export * from './attention.js';
export * from './embeddings.js';
export * from './film.js';
export * from './residual.js';
export * from './params.js';
export * from './checkpoint.js';
export { decodeSafetensors, encodeSafetensors, type Safetensors, type Tensor, type DecodedTensor } from './safetensors.js';
export * as init from './init.js';
export * as optim from './optim_namespace.js';
