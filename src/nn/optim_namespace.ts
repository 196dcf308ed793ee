/** `nn.optim`: gradient transformations (optax semantics) and learning-rate schedules. */
export * from './optim.js';
export * from './schedules.js';
