/** Global settings (kept few: transformations and randomness are explicit). */
export const config = {
  /**
   * Which threefry layout `random.split` / `random.bits` use. `true` matches JAX ≥ 0.5.0,
   * where `jax_threefry_partitionable` defaults to True; `false` matches earlier JAX.
   */
  threefryPartitionable: true,
  /** Check every eager primitive output for NaN and throw naming the primitive (slow; for debugging). */
  debugNans: false,
  /**
   * Threads the `wasm` backend splits large kernels and float32 matmuls over, counting the
   * calling thread: 1 runs everything on the calling thread, 0 uses one thread per core. More
   * than one needs SharedArrayBuffer, worker threads and a calling thread that may block
   * (Node, or a browser worker of a cross-origin-isolated page, which is what gives it
   * SharedArrayBuffer; there workers start once the calling thread yields, and until then
   * their shares run on the caller); elsewhere the backend stays single-threaded. Results do not
   * depend on it: every element is computed by the same code whichever thread runs it.
   * Default 0 (all cores), like PyTorch and ONNX Runtime.
   */
  threads: 0,
};
export type Config = typeof config;

/** Set `config.threads` (an integer ≥ 0; 0: one thread per core). */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`setThreads: expected an integer ≥ 0, got ${n}`);
  config.threads = n;
}
