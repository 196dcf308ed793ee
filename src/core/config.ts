/** Global settings (kept few: transformations and randomness are explicit). */
export const config = {
  /**
   * Which threefry layout `random.split` / `random.bits` use. `true` matches JAX ≥ 0.5.0,
   * where `jax_threefry_partitionable` defaults to True; `false` matches earlier JAX.
   */
  threefryPartitionable: true,
  /** Check every eager primitive output for NaN and throw naming the primitive (slow; for debugging). */
  debugNans: false,
};
export type Config = typeof config;
