/**
 * `diffusion`: the diffusion math as composable pure functions over the log-SNR λ —
 * schedules, x/ε/v parameterizations, the forward process, losses, samplers, guidance,
 * thresholding, distillation targets and conditioning augmentation.
 */
export * from './schedules.js';
export * from './parameterization.js';
export * from './forward.js';
export * from './losses.js';
export * from './samplers.js';
export * from './guidance.js';
export * from './thresholding.js';
export * from './distillation.js';
export * from './conditioning.js';
