/**
 * Up- and down-sampling: nearest-neighbour upsampling, bilinear (multilinear) resizing with
 * PyTorch's two `align_corners` conventions, average and max pooling, and a strided-convolution
 * downsampling layer.
 *
 * Axes. Every function works on any rank and takes the axes to resample. Without them, a
 * per-axis argument (`size`, a factor or window array) applies to the last axes, one each, and a
 * single number applies to the spatial axes of a channels-first batch, axes 2… of
 * `(N, C, *spatial)` (pass axes for an unbatched example, e.g. under `vmap`). So a video
 * `(N, C, T, H, W)` is resized in space only with `resizeBilinear(v, [h, w])` (or
 * `upsampleNearest(v, [2, 2])`), and frames are repeated in time with `upsampleNearest(v, 2, [2])`
 * (Imagen Video upsamples conditioning videos bilinearly in space and by frame repetition in time).
 *
 * Index arithmetic depends only on static shapes and is done here in float64; the arrays only
 * see gathers, weights and window reductions, so everything runs under `jit`, `vmap` and `grad`.
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../core/errors.js';
import * as lax from '../core/lax_namespace.js';
import * as np from '../core/numpy/index.js';
import type { Value as Array } from '../core/trace/value.js';
import { conv, type ConvLayout, type ConvPadding, type ConvParams } from './conv.js';
import { checkPositiveInt, type Initializer, type Layer } from './module.js';

function resolveAxes(op: string, x: Array, axes: readonly number[] | undefined, defaultAxes: () => number[]): number[] {
  const list = axes ? [...axes] : defaultAxes();
  const out = list.map((a) => {
    const n = a < 0 ? a + x.ndim : a;
    if (!Number.isInteger(n) || n < 0 || n >= x.ndim) throw new ShapeError(`${op}: axis ${a} is out of range for an input of shape ${fmtShape(x.shape)}`);
    return n;
  });
  if (new Set(out).size !== out.length) throw new ValueError(`${op}: repeated axis in ${fmtShape(list)}`);
  return out;
}

/** The default axes: the last `arg.length` for a per-axis array, else axes 2… of `(N, C, *spatial)`. */
function defaultAxes(op: string, x: Array, arg: number | readonly number[]): () => number[] {
  return () => {
    if (typeof arg !== 'number') {
      if (arg.length > x.ndim) throw new ShapeError(`${op}: ${fmtShape(arg)} has more entries than the input of shape ${fmtShape(x.shape)} has axes`);
      return [...globalThis.Array(arg.length).keys()].map((i) => x.ndim - arg.length + i);
    }
    if (x.ndim < 3) throw new ShapeError(`${op}: the default axes are the spatial axes of (N, C, *spatial), but the input has shape ${fmtShape(x.shape)}; pass axes`);
    return [...globalThis.Array(x.ndim - 2).keys()].map((i) => i + 2);
  };
}

function perAxis(op: string, name: string, v: number | readonly number[], n: number): number[] {
  const list = typeof v === 'number' ? new globalThis.Array<number>(n).fill(v) : [...v];
  if (list.length !== n) throw new ValueError(`${op}: ${name} ${fmtShape(list)} must have one entry per resampled axis (${n})`);
  for (const x of list) checkPositiveInt(op, name, x);
  return list;
}

// ------------------------------------------------------------------ nearest

/**
 * `upsampleNearest(x, factor, axes?)`: repeats every element `factor` times along each axis in
 * `axes` (one factor for all, or one per axis). This is `torch.nn.functional.interpolate(x,
 * scale_factor=factor, mode='nearest')` for integer factors, and `np.repeat` along each axis.
 */
export function upsampleNearest(x: Array, factor: number | readonly number[], axes?: readonly number[]): Array {
  const op = 'upsampleNearest';
  const ax = resolveAxes(op, x, axes, defaultAxes(op, x, factor));
  const factors = perAxis(op, 'factor', factor, ax.length);
  let y = x;
  ax.forEach((a, i) => {
    const f = factors[i]!;
    if (f === 1) return;
    const shape = [...y.shape];
    const expanded = np.broadcastTo(np.expandDims(y, a + 1), [...shape.slice(0, a + 1), f, ...shape.slice(a + 1)]);
    y = np.reshape(expanded, [...shape.slice(0, a), shape[a]! * f, ...shape.slice(a + 1)]);
  });
  return y;
}

// ------------------------------------------------------------------ bilinear

export interface ResizeOptions {
  /**
   * PyTorch's `align_corners` (default false).
   * - false: pixels are unit cells and the image spans [0, n]; output index i samples input
   *   coordinate (i + ½)·(n_in / n_out) − ½, clamped below at 0 (half-pixel centres; what
   *   `jax.image.resize` uses for upsampling, and OpenCV/TF2 default).
   * - true: pixels are points and the first and last pixels of input and output coincide;
   *   output index i samples i·(n_in − 1)/(n_out − 1) (0 when n_out = 1).
   * Either way the two nearest input pixels are blended linearly, and sampling beyond the
   * last pixel repeats it. No antialiasing filter is applied when downsampling, as in
   * `torch.nn.functional.interpolate(..., antialias=False)`.
   */
  alignCorners?: boolean;
  /** The axes to resize, one per entry of `size` (default: the last `size.length` axes). */
  axes?: readonly number[];
}

/** Source indices and weights of linear interpolation along one axis, as PyTorch's `compute_source_index_and_lambda`. */
export function linearResizeWeights(inSize: number, outSize: number, alignCorners: boolean): { i0: number[]; i1: number[]; w1: number[] } {
  const scale = alignCorners ? (outSize > 1 ? (inSize - 1) / (outSize - 1) : 0) : inSize / outSize;
  const i0: number[] = [], i1: number[] = [], w1: number[] = [];
  for (let o = 0; o < outSize; o++) {
    const src = alignCorners ? scale * o : Math.max(scale * (o + 0.5) - 0.5, 0);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0.push(lo);
    i1.push(lo < inSize - 1 ? lo + 1 : lo);
    w1.push(Math.min(Math.max(src - lo, 0), 1));
  }
  return { i0, i1, w1 };
}

/**
 * `resizeBilinear(x, size, opts?)`: linear interpolation along each resized axis in turn, so
 * 1, 2 and 3 axes give PyTorch's `linear`, `bilinear` and `trilinear` modes of
 * `torch.nn.functional.interpolate(x, size=size, align_corners=…)`; both conventions are
 * described at `ResizeOptions.alignCorners`. Works for up- and downsampling, non-square sizes
 * and any leading axes (resize a video's frames with `size = [h, w]`).
 */
export function resizeBilinear(x: Array, size: readonly number[], opts: ResizeOptions = {}): Array {
  const op = 'resizeBilinear';
  const alignCorners = opts.alignCorners ?? false;
  if (x.dtype !== 'float32') throw new DTypeError(`${op}: expected a float32 input, got ${x.dtype} of shape ${fmtShape(x.shape)}`);
  const ax = resolveAxes(op, x, opts.axes, defaultAxes(op, x, size));
  if (ax.length !== size.length) throw new ValueError(`${op}: size ${fmtShape(size)} and axes ${fmtShape(ax)} must have the same length`);
  size.forEach((s) => checkPositiveInt(op, 'size', s));
  let y = x;
  ax.forEach((a, i) => {
    const inSize = y.shape[a]!, outSize = size[i]!;
    if (inSize === outSize) return; // both conventions sample the pixels themselves
    const { i0, i1, w1 } = linearResizeWeights(inSize, outSize, alignCorners);
    const wShape = y.shape.map((s, j) => (j === a ? outSize : 1));
    const weight1 = np.reshape(np.array(Float32Array.from(w1)), wShape);
    const weight0 = np.reshape(np.array(Float32Array.from(w1, (w) => 1 - w)), wShape);
    const lo = np.take(y, np.array(Int32Array.from(i0), 'int32'), a);
    const hi = np.take(y, np.array(Int32Array.from(i1), 'int32'), a);
    y = lo.mul(weight0).add(hi.mul(weight1));
  });
  return y;
}

// ------------------------------------------------------------------ pooling

/**
 * Pooling padding of the pooled axes: `'VALID'` (default, none), `'SAME'` (output ⌈n / stride⌉,
 * as JAX), a number p or one per axis (p on both sides, PyTorch's `padding=p`), or `[low, high]`
 * pairs.
 */
export type PoolPadding = 'SAME' | 'VALID' | number | readonly number[] | readonly (readonly [number, number])[];

export interface PoolOptions {
  /** Default: the window (non-overlapping windows, as PyTorch). */
  stride?: number | readonly number[];
  padding?: PoolPadding;
  /** The pooled axes, one per window entry (default: see the file header). */
  axes?: readonly number[];
}

export interface AvgPoolOptions extends PoolOptions {
  /**
   * Divide by the full window size, counting padded positions as zeros (default true, PyTorch's
   * `count_include_pad=True` and flax's default); false divides each window by the number of
   * input elements it covers (`count_include_pad=False`), so border averages are not pulled
   * towards 0.
   */
  countIncludePad?: boolean;
}

interface PoolPlan {
  window: number[];
  stride: number[];
  pads: [number, number][];
  axes: number[];
}

function poolPlan(op: string, x: Array, window: number | readonly number[], opts: PoolOptions): PoolPlan {
  const axes = resolveAxes(op, x, opts.axes, defaultAxes(op, x, window));
  const win = perAxis(op, 'window', window, axes.length);
  const stride = perAxis(op, 'stride', opts.stride ?? win, axes.length);
  const p = opts.padding ?? 'VALID';
  let pads: [number, number][];
  if (p === 'SAME' || p === 'VALID') pads = lax.padtypeToPads(axes.map((a) => x.shape[a]!), win, stride, p);
  else if (typeof p === 'string') throw new ValueError(`${op}: padding must be 'SAME', 'VALID', numbers or [low, high] pairs, got '${p}'`);
  else if (typeof p === 'number' || (p as readonly unknown[]).every((v) => typeof v === 'number')) {
    const list = typeof p === 'number' ? axes.map(() => p) : [...(p as readonly number[])];
    if (list.length !== axes.length || list.some((v) => !Number.isInteger(v) || v < 0)) throw new ValueError(`${op}: padding ${JSON.stringify(p)} must be one non-negative integer per pooled axis (${axes.length})`);
    pads = list.map((v) => [v, v]);
  } else {
    const pairs = p as readonly (readonly [number, number])[];
    if (pairs.length !== axes.length || pairs.some((q) => q.length !== 2 || !q.every((v) => Number.isInteger(v) && v >= 0)))
      throw new ValueError(`${op}: padding ${JSON.stringify(p)} must be ${axes.length} non-negative [low, high] pairs`);
    pads = pairs.map(([lo, hi]) => [lo, hi]);
  }
  axes.forEach((a, i) => {
    if (x.shape[a]! + pads[i]![0] + pads[i]![1] < win[i]!)
      throw new ShapeError(`${op}: window ${win[i]} is larger than padded axis ${a} (size ${x.shape[a]}, padding ${fmtShape(pads[i]!)}) of input ${fmtShape(x.shape)}`);
  });
  return { window: win, stride, pads, axes };
}

function reducePool(x: Array, kind: 'sum' | 'max', plan: PoolPlan): Array {
  const full = <T>(perPooled: T[], other: T): T[] => x.shape.map((_, d) => (plan.axes.includes(d) ? perPooled[plan.axes.indexOf(d)]! : other));
  return lax.reduceWindow(x, kind, full(plan.window, 1), full(plan.stride, 1), full(plan.pads, [0, 0] as [number, number]));
}

/** Number of input elements each output window covers along one axis. */
function windowCounts(n: number, window: number, stride: number, [lo, hi]: [number, number]): number[] {
  const outSize = Math.floor((n + lo + hi - window) / stride) + 1;
  return globalThis.Array.from({ length: outSize }, (_, o) => {
    const start = o * stride - lo;
    return Math.min(start + window, n) - Math.max(start, 0);
  });
}

/**
 * `avgPool(x, window, opts?)`: the mean over each window (`torch.nn.functional.avg_pool2d`
 * with `ceil_mode=False`, generalised to any pooled axes). See `AvgPoolOptions.countIncludePad`
 * for how padding enters the divisor.
 */
export function avgPool(x: Array, window: number | readonly number[], opts: AvgPoolOptions = {}): Array {
  const op = 'avgPool';
  const plan = poolPlan(op, x, window, opts);
  const sums = reducePool(x, 'sum', plan);
  if (opts.countIncludePad ?? true) return sums.div(plan.window.reduce((p, w) => p * w, 1));
  let counts: Array | null = null;
  plan.axes.forEach((a, i) => {
    const c = windowCounts(x.shape[a]!, plan.window[i]!, plan.stride[i]!, plan.pads[i]!);
    const v = np.reshape(np.array(Float32Array.from(c)), sums.shape.map((s, d) => (d === a ? s : 1)));
    counts = counts === null ? v : counts.mul(v);
  });
  return sums.div(counts!);
}

/**
 * `maxPool(x, window, opts?)`: the maximum over each window; padded positions are −∞, so they
 * never win (`torch.nn.functional.max_pool2d` with `ceil_mode=False`). Gradients flow to the
 * maximum of each window.
 */
export function maxPool(x: Array, window: number | readonly number[], opts: PoolOptions = {}): Array {
  return reducePool(x, 'max', poolPlan('maxPool', x, window, opts));
}

// ------------------------------------------------------------------ strided convolution

export interface StridedConvDownsampleConfig {
  dims: 1 | 2 | 3;
  inChannels: number;
  /** Default inChannels. */
  outChannels?: number;
  /** Downsampling factor (the stride), one or per axis; default 2 (e.g. [1, 2, 2] for a video in space only). */
  factor?: number | readonly number[];
  /** Window, one or per axis; default 3 on every axis with factor > 1 and 1 elsewhere. */
  kernelSize?: number | readonly number[];
  /** Padding (see `ConvPadding`); default ⌊(k − 1)/2⌋ on both sides, PyTorch's usual choice, so an even size n becomes n / factor. */
  padding?: ConvPadding;
  layout?: ConvLayout;
  bias?: boolean;
  kernelInit?: Initializer;
}

/**
 * `downsampleStridedConv(config)`: a learned downsampling, the convolution with stride `factor`
 * of DDPM/Imagen U-Nets (`Conv2d(c, c, 3, stride=2, padding=1)`); for videos
 * `(N, C, T, H, W)` use `dims: 3, factor: [1, 2, 2]` to downsample frames in space only.
 */
export function downsampleStridedConv(config: StridedConvDownsampleConfig): Layer<ConvParams> {
  const op = 'downsampleStridedConv';
  const dims = config.dims;
  if (dims !== 1 && dims !== 2 && dims !== 3) throw new ValueError(`${op}: dims must be 1, 2 or 3, got ${String(dims)}`);
  const factor = perAxis(op, 'factor', config.factor ?? 2, dims);
  const kernel = config.kernelSize === undefined ? factor.map((f) => (f > 1 ? 3 : 1)) : perAxis(op, 'kernelSize', config.kernelSize, dims);
  return conv({
    dims, inChannels: config.inChannels, outChannels: config.outChannels ?? config.inChannels,
    kernelSize: kernel, stride: factor, padding: config.padding ?? kernel.map((k) => Math.floor((k - 1) / 2)),
    layout: config.layout, bias: config.bias, kernelInit: config.kernelInit,
  });
}
