/**
 * What `wasm_browser.test.ts` runs in the browser, shared by its page (`wasm_page.ts`, the
 * main thread) and its module worker (`wasm_worker.ts`): a set of computations (a jit-fused
 * elementwise chain, a jit softmax, a matmul, a conv, the jit gradient of a small MLP, sort,
 * cumsum, random bits and uniforms), each run on the `wasm` backend and on the `cpu` oracle in
 * the same page, and the comparison of the two; in the worker also wasm on 2 threads against
 * wasm on 1 (bit for bit: every element is computed by the same code whichever thread runs it).
 *
 * Sizes: `small` (the main thread, where the pool never starts) and `large`, where the
 * matmul, conv and MLP matmuls exceed the backend's `minParallelFlops` (2²² flops) and the
 * fused kernels its `minParallelWork` (2²¹), so they are split over the pool's workers.
 *
 * Tolerance against the oracle: sort, cumsum (the JavaScript routine on both backends) and
 * random (threefry + bit casts) must be bit-identical; the floating-point computations use the
 * web demo's composite bound |wasm − oracle| ≤ 1e-4·|oracle| + 1e-5·max|oracle| (native
 * exp/tanh within a few ulps, f32 accumulation against the oracle's f64 sums).
 */
import { getBackend, setDefaultBackend, type BackendName } from '../../src/core/backends/backend.js';
import type { WasmBackend } from '../../src/core/backends/runtime/wasm.js';
import { config, grad, jit, lax, np, random, setThreads, type Array as VArray } from '../../src/index.js';

export type Size = 'small' | 'large';
/** The main thread; a worker whose pool has just been created (its workers not started yet); a worker with a running pool. */
export type Where = 'main thread' | 'worker, pool starting' | 'worker';

/** One element that differs: index, got, want. */
export type Mismatch = readonly [number, number, number];

export interface CaseReport {
  readonly name: string;
  /** Elements compared (all outputs together). */
  readonly elements: number;
  /** Whether the oracle comparison was bit for bit. */
  readonly exact: boolean;
  /** Whether this case is large enough to be split over threads (`large` sizes only). */
  readonly splits: boolean;
  /** Elements that differ from the oracle (at most MAX_REPORTED, then `oracleMismatchCount`). */
  readonly oracleMismatches: readonly Mismatch[];
  readonly oracleMismatchCount: number;
  /** Elements whose bits differ between the multi-thread and the single-thread run (worker only). */
  readonly threadMismatches: readonly Mismatch[] | null;
  readonly threadMismatchCount: number;
  /** Jobs the pool split over workers during this case's multi-thread run (0 without a pool). */
  readonly jobs: number;
  readonly ms: number;
}

/** A run of every case in one context. */
export interface SuiteReport {
  readonly where: Where;
  readonly size: Size;
  /** `config.threads` of the checked run. */
  readonly threads: number;
  readonly crossOriginIsolated: boolean;
  readonly sharedArrayBuffer: boolean;
  /** Whether the wasm memory is a shared one. */
  readonly heapShared: boolean;
  /** The pool after the run (`WasmBackend.threadStats()`), null where there is none. */
  readonly pool: { readonly threads: number; readonly started: number; readonly jobs: number } | null;
  readonly cases: readonly CaseReport[];
}

/** What the page sends to Node (the worker's suite is forwarded by the page). */
export type WasmPageMessage = { readonly kind: 'suite'; readonly suite: SuiteReport } | { readonly kind: 'error'; readonly error: string } | { readonly kind: 'done' };

const MAX_REPORTED = 5;

interface Case {
  readonly name: string;
  readonly exact: boolean;
  /** Split over threads at this size. */
  readonly splits: boolean;
  /** Runs on the default backend; returns the outputs. */
  run(): VArray[];
}

/** Deterministic data in [lo, hi) (a small LCG keyed by `seed`). */
function data(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32));
}
const arr = (shape: number[], seed: number, lo = -1, hi = 1) => np.array(data(shape.reduce((a, b) => a * b, 1), seed, lo, hi)).reshape(shape);

const fusedChain = jit((x: VArray, y: VArray) => np.sub(np.mul(np.tanh(np.add(np.mul(x, y), 0.5)), np.exp(np.neg(np.square(x)))), np.mul(y, 0.25)));
const softmax = jit((x: VArray) => {
  const e = np.exp(np.sub(x, np.max(x, -1, true)));
  return np.div(e, np.sum(e, -1, true));
});
const mlpLoss = (p: { w1: VArray; w2: VArray }, x: VArray) => np.mean(np.square(np.matmul(np.tanh(np.matmul(x, p.w1)), p.w2)));
const mlpGrad = jit(grad(mlpLoss));

function cases(size: Size): Case[] {
  const large = size === 'large';
  // [rows, cols] of the elementwise chain and softmax; matmul m×k·k×n; conv x [N, C, H, W], w [O, C, 3, 3]; MLP x [B, D], w1 [D, H], w2 [H, O].
  const [r, c] = large ? [512, 512] : [64, 96];
  const [sr, sc] = large ? [512, 1024] : [48, 80];
  const [m, k, n] = large ? [256, 192, 160] : [128, 96, 80];
  const [N, C, H, O] = large ? [2, 8, 32, 16] : [2, 3, 12, 8];
  const [B, D, Hd, Od] = large ? [256, 128, 128, 64] : [16, 12, 20, 4];
  return [
    { name: 'jit fused elementwise chain', exact: false, splits: large, run: () => [fusedChain(arr([r, c], 1), arr([r, c], 2))] },
    { name: 'jit softmax over rows', exact: false, splits: large, run: () => [softmax(arr([sr, sc], 3, -4, 4))] },
    { name: `matmul ${m}×${k}·${k}×${n}`, exact: false, splits: large, run: () => [np.matmul(arr([m, k], 4), arr([k, n], 5))] },
    { name: `conv [${N},${C},${H},${H}] * [${O},${C},3,3]`, exact: false, splits: large, run: () => [lax.conv(arr([N, C, H, H], 6), arr([O, C, 3, 3], 7), [1, 1], 'SAME')] },
    {
      name: 'jit grad of an MLP loss',
      exact: false,
      splits: large,
      run: () => {
        const g = mlpGrad({ w1: arr([D, Hd], 8, -0.2, 0.2), w2: arr([Hd, Od], 9, -0.2, 0.2) }, arr([B, D], 10));
        return [g.w1, g.w2];
      },
    },
    { name: 'sort along rows', exact: true, splits: false, run: () => [np.sort(arr([sr, sc], 11))] },
    { name: 'cumsum along rows', exact: true, splits: false, run: () => [np.cumsum(arr([sr, sc], 12), 1)] },
    {
      name: 'random bits and uniform',
      exact: true,
      splits: false,
      run: () => {
        const [k1, k2] = random.unstackKeys(random.split(random.key(42)));
        return [random.bits(k1, [r, c]), random.uniform(k2, [r, c])];
      },
    },
  ];
}

/** `fn` with `name` as the default backend (the cpu backend again afterwards). */
function on<T>(name: BackendName, fn: () => T): T {
  setDefaultBackend(name);
  try {
    return fn();
  } finally {
    setDefaultBackend('cpu');
  }
}

/** Run `c` on backend `name`; its outputs, flattened into one Float64Array (exact for float32, int32, uint32). */
function runOn(name: BackendName, c: Case): Float64Array {
  return on(name, () => {
    const outs = c.run();
    const flat = Float64Array.from(outs.flatMap((o) => Array.from(o.dataSync() as ArrayLike<number>)));
    for (const o of outs) o.dispose();
    return flat;
  });
}

/** Run the case on `name` and drop the results (no read-back: runs follow each other closely). */
function computeOn(name: BackendName, c: Case): void {
  on(name, () => {
    for (const o of c.run()) o.dispose();
  });
}

/** Elements of `got` that differ from `want`: bit for bit, or beyond the composite bound. */
function differences(got: Float64Array, want: Float64Array, exact: boolean): { list: Mismatch[]; count: number } {
  if (got.length !== want.length) return { list: [[-1, got.length, want.length]], count: 1 };
  let scale = 0;
  for (const w of want) if (Number.isFinite(w)) scale = Math.max(scale, Math.abs(w));
  const list: Mismatch[] = [];
  let count = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    const same = Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w));
    if (same || (!exact && Math.abs(g - w) <= 1e-4 * Math.abs(w) + 1e-5 * scale)) continue;
    if (count++ < MAX_REPORTED) list.push([i, g, w]);
  }
  return { list, count };
}

/**
 * Run every case of `size` on the oracle and on wasm with `setThreads(threads)`, and with
 * `compareThreads` also on wasm with one thread (bits compared with the first wasm run).
 */
export function runSuite(where: Where, size: Size, threads: number, compareThreads: boolean): SuiteReport {
  const wasm = getBackend('wasm') as WasmBackend;
  const saved = config.threads;
  const reports: CaseReport[] = [];
  try {
    for (const c of cases(size)) {
      const t0 = performance.now();
      const want = runOn('cpu', c);
      setThreads(threads);
      const jobs0 = wasm.threadStats()?.jobs ?? 0;
      const got = runOn('wasm', c);
      const split = () => (wasm.threadStats()?.jobs ?? 0) - jobs0;
      // Kernels hand rows out as tasks: a worker still waking up may take none of a short job, so
      // a case sized to split runs again, back to back (the worker then polls), until one did.
      for (let again = 0; again < 8 && threads > 1 && c.splits && split() === 0; again++) computeOn('wasm', c);
      const jobs = split();
      let thread: { list: Mismatch[]; count: number } | null = null;
      if (compareThreads) {
        setThreads(1);
        thread = differences(runOn('wasm', c), got, true);
      }
      const oracle = differences(got, want, c.exact);
      reports.push({
        name: c.name, elements: want.length, exact: c.exact, splits: c.splits,
        oracleMismatches: oracle.list, oracleMismatchCount: oracle.count,
        threadMismatches: thread?.list ?? null, threadMismatchCount: thread?.count ?? 0,
        jobs, ms: Math.round(performance.now() - t0),
      });
    }
  } finally {
    setThreads(saved);
  }
  return {
    where, size, threads,
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    sharedArrayBuffer: typeof SharedArrayBuffer !== 'undefined',
    heapShared: wasm.heapStats().shared,
    pool: wasm.threadStats(),
    cases: reports,
  };
}
