/** fast-check settings shared by every property file: a fixed seed in CI, deeper runs locally via PROPS_RUNS. */
import type { Parameters } from 'fast-check';

export function propsOptions<T>(runs = 100): Parameters<T> {
  return {
    seed: Number(process.env.PROPS_SEED ?? 42),
    numRuns: Number(process.env.PROPS_RUNS ?? runs),
  };
}
