/**
 * The workloads of the peer benchmark (issue 8), each as a full-size instance (timed) and a
 * small one (checked for numerical agreement across libraries). Inputs are generated once in
 * plain Float32Arrays from a seeded generator, so every library computes on the same numbers.
 *
 *   matmul   (m,k)·(k,n), 1024³                               2·m·k·n FLOP
 *   conv     3×3, stride 1, SAME, NCHW × OIHW: 8×64×32×32, 64→64  2·n·o·h·w·c·9 FLOP
 *   chain    tanh(x)·sigmoid(x) over 4M elements (fusable elementwise chain)
 *   softmax  softmax over the last axis of 4096×1024
 *   mlp      gradient of a 3-layer tanh MLP (width 1024, batch 256, MSE loss) with respect to
 *            all six parameters; 3 forward + 3 weight-gradient + 2 input-gradient matmuls =
 *            16·batch·width² FLOP (4.3 GFLOP)
 */

export type WorkloadKind = 'matmul' | 'conv' | 'chain' | 'softmax' | 'mlp';
export const WORKLOADS: readonly WorkloadKind[] = ['matmul', 'conv', 'chain', 'softmax', 'mlp'];

export interface MlpParams {
  w1: Float32Array; b1: Float32Array;
  w2: Float32Array; b2: Float32Array;
  w3: Float32Array; b3: Float32Array;
}
/** Order of the MLP gradient outputs every library returns. */
export const MLP_PARAM_ORDER = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3'] as const;

export type Instance =
  | { kind: 'matmul'; m: number; k: number; n: number; a: Float32Array; b: Float32Array }
  | { kind: 'conv'; n: number; c: number; h: number; w: number; o: number; kh: number; kw: number; x: Float32Array; filter: Float32Array }
  | { kind: 'chain'; size: number; x: Float32Array }
  | { kind: 'softmax'; rows: number; cols: number; x: Float32Array }
  | { kind: 'mlp'; batch: number; width: number; x: Float32Array; y: Float32Array; params: MlpParams };

/** mulberry32: a small seeded generator (the benchmark needs reproducible, not random, data). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` values uniform in [-scale, scale). */
function uniform(size: number, scale: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * r() - 1) * scale;
  return out;
}

export function makeInstance(kind: WorkloadKind, small: boolean): Instance {
  switch (kind) {
    case 'matmul': {
      // The small instance is not square, so a transposed operand cannot pass the check.
      const [m, k, n] = small ? [40, 56, 72] : [1024, 1024, 1024];
      return { kind, m, k, n, a: uniform(m * k, 1, 1), b: uniform(k * n, 1, 2) };
    }
    case 'conv': {
      const [n, c, h, w, o] = small ? [2, 5, 7, 6, 4] : [8, 64, 32, 32, 64];
      return { kind, n, c, h, w, o, kh: 3, kw: 3, x: uniform(n * c * h * w, 1, 3), filter: uniform(o * c * 9, 1 / Math.sqrt(c * 9), 4) };
    }
    case 'chain': {
      const size = small ? 1000 : 4 << 20;
      return { kind, size, x: uniform(size, 4, 5) };
    }
    case 'softmax': {
      const [rows, cols] = small ? [16, 33] : [4096, 1024];
      return { kind, rows, cols, x: uniform(rows * cols, 4, 6) };
    }
    case 'mlp': {
      const [batch, width] = small ? [8, 24] : [256, 1024];
      const s = 1 / Math.sqrt(width);
      const params: MlpParams = {
        w1: uniform(width * width, s, 7), b1: uniform(width, 0.1, 8),
        w2: uniform(width * width, s, 9), b2: uniform(width, 0.1, 10),
        w3: uniform(width * width, s, 11), b3: uniform(width, 0.1, 12),
      };
      return { kind, batch, width, x: uniform(batch * width, 1, 13), y: uniform(batch * width, 1, 14), params };
    }
  }
}

/** Floating-point operations of one run (multiply-adds count 2); 0 where not meaningful. */
export function flops(inst: Instance): number {
  switch (inst.kind) {
    case 'matmul': return 2 * inst.m * inst.k * inst.n;
    case 'conv': return 2 * inst.n * inst.o * inst.h * inst.w * inst.c * inst.kh * inst.kw;
    case 'mlp': return 16 * inst.batch * inst.width * inst.width;
    default: return 0;
  }
}

/** Whether the summary reports throughput (GFLOP/s) or time (ms), as in the issue. */
export function reportsThroughput(kind: WorkloadKind): boolean {
  return kind === 'matmul' || kind === 'conv';
}

export function title(inst: Instance): string {
  switch (inst.kind) {
    case 'matmul': return `matmul ${inst.m}×${inst.k} · ${inst.k}×${inst.n}`;
    case 'conv': return `conv ${inst.kh}×${inst.kw}, ${inst.n}×${inst.c}×${inst.h}×${inst.w}, ${inst.c}→${inst.o} (NCHW, SAME)`;
    case 'chain': return `tanh(x)·sigmoid(x), ${inst.size >= 1 << 20 ? `${inst.size / (1 << 20)}M` : inst.size} elements`;
    case 'softmax': return `softmax rows ${inst.rows}×${inst.cols}`;
    case 'mlp': return `grad of 3-layer MLP ${inst.width}, batch ${inst.batch} (${(flops(inst) / 1e9).toFixed(1)} GFLOP)`;
  }
}

/** Transpose NCHW ↔ NHWC data (for libraries whose convolution is channels-last only). */
export function nchwToNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) out[((b * h + i) * w + j) * c + ch] = x[((b * c + ch) * h + i) * w + j];
  return out;
}
export function nhwcToNchw(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) out[((b * c + ch) * h + i) * w + j] = x[((b * h + i) * w + j) * c + ch];
  return out;
}
/** OIHW filter → HWIO. */
export function oihwToHwio(f: Float32Array, o: number, i: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(f.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = f[((a * i + b) * kh + y) * kw + x];
  return out;
}
