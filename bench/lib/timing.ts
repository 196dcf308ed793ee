/**
 * Timing loops of the single-backend benchmarks: a function run a few times untimed (pipelines
 * compiled, caches warm), then timed `iters` times, each run awaited; the median is reported
 * (the upper one of an even count), which the noise of a shared machine moves least.
 */

/** The median of `xs` (for an even count, the upper of the two middle values). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms of `once` over `iters` timed runs after `warmup` untimed ones. */
export async function medianMs(once: () => Promise<unknown>, iters: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await once();
  const ts: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await once();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}
