/**
 * Parameter initializers with the semantics of `jax.nn.initializers` (flax.linen.initializers).
 *
 * An initializer is `(key, shape, dtype = 'float32') => Array`. As in JAX, `zeros` and `ones`
 * are initializers themselves, and the others are factories that return one
 * (`glorotUniform()`, `varianceScaling(2, 'fanIn', 'truncatedNormal')`). Fans follow JAX's
 * `_compute_fans`: `fanIn = shape[inAxis] · receptive`, `fanOut = shape[outAxis] · receptive`,
 * where `receptive` is the product of the remaining (non-batch) dims. vidax convolution kernels
 * are channels-first `(O, I, *window)` like PyTorch, so `conv` passes `inAxis: 1, outAxis: 0`;
 * linear kernels are `(in, out)` as in flax, which the defaults (-2, -1) cover.
 *
 * Everything is built from array operations, so initializers also run under `jit` and `vmap`
 * (e.g. `vmap(layer.init)(keys)` for a stack of layers).
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../core/errors.js';
import type { DType } from '../core/dtype.js';
import * as np from '../core/numpy/index.js';
import * as random from '../core/random.js';
import type { Value as Array } from '../core/trace/value.js';
import type { Initializer } from './module.js';

export type { Initializer };

/** Which fan the variance is divided by. */
export type FanMode = 'fanIn' | 'fanOut' | 'fanAvg';
/** The distribution samples are drawn from. */
export type Distribution = 'truncatedNormal' | 'normal' | 'uniform';

/** Axes of a kernel that `varianceScaling` reads the fans from. */
export interface FanAxes {
  /** Input axis or axes (default -2). */
  inAxis?: number | readonly number[];
  /** Output axis or axes (default -1). */
  outAxis?: number | readonly number[];
  /** Axes that index independent kernels and count towards neither fan (default none). */
  batchAxis?: readonly number[];
}

/**
 * Standard deviation of the standard normal truncated to [-2, 2]; dividing by it gives the
 * truncated distribution unit variance (the constant of `jax.nn.initializers.variance_scaling`).
 */
const TRUNCATED_STD = 0.87962566103423978;

function checkFloat(op: string, dtype: DType): void {
  if (dtype !== 'float32') throw new DTypeError(`${op}: parameters must have a floating dtype, got ${dtype}`);
}

function normAxes(op: string, axes: number | readonly number[], shape: readonly number[]): number[] {
  const list = typeof axes === 'number' ? [axes] : [...axes];
  return list.map((a) => {
    const n = a < 0 ? a + shape.length : a;
    if (!Number.isInteger(n) || n < 0 || n >= shape.length) throw new ShapeError(`${op}: axis ${a} is out of range for a kernel of shape ${fmtShape(shape)}`);
    return n;
  });
}

/** `[fanIn, fanOut]` of a kernel shape, exactly as JAX's `_compute_fans`. */
export function computeFans(shape: readonly number[], axes: FanAxes = {}): [number, number] {
  const op = 'computeFans';
  if (shape.length < 2) throw new ShapeError(`${op}: cannot compute the fans of a ${shape.length}-D kernel of shape ${fmtShape(shape)}; it must be at least 2-D`);
  const size = (ax: number[]) => ax.reduce((p, a) => p * shape[a]!, 1);
  const inSize = size(normAxes(op, axes.inAxis ?? -2, shape));
  const outSize = size(normAxes(op, axes.outAxis ?? -1, shape));
  const batchSize = size(normAxes(op, axes.batchAxis ?? [], shape));
  const total = shape.reduce((p, s) => p * s, 1);
  const receptive = total / inSize / outSize / batchSize;
  return [inSize * receptive, outSize * receptive];
}

/**
 * `varianceScaling(scale, mode, distribution, axes?)`: samples with variance `scale / n`, where
 * `n` is the fan chosen by `mode` (`fanAvg` is (fanIn + fanOut) / 2), as
 * `jax.nn.initializers.variance_scaling`:
 * - `'truncatedNormal'`: a standard normal truncated to [-2, 2], rescaled to unit variance, times √(scale/n);
 * - `'normal'`: a normal with standard deviation √(scale/n);
 * - `'uniform'`: uniform on [-√(3·scale/n), √(3·scale/n)).
 */
export function varianceScaling(scale: number, mode: FanMode, distribution: Distribution, axes: FanAxes = {}): Initializer {
  if (!(scale > 0)) throw new ValueError(`varianceScaling: scale must be positive, got ${scale}`);
  if (mode !== 'fanIn' && mode !== 'fanOut' && mode !== 'fanAvg') throw new ValueError(`varianceScaling: mode must be 'fanIn', 'fanOut' or 'fanAvg', got '${String(mode)}'`);
  if (distribution !== 'truncatedNormal' && distribution !== 'normal' && distribution !== 'uniform')
    throw new ValueError(`varianceScaling: distribution must be 'truncatedNormal', 'normal' or 'uniform', got '${String(distribution)}'`);
  return (key, shape, dtype = 'float32') => {
    checkFloat('varianceScaling', dtype);
    const [fanIn, fanOut] = computeFans(shape, axes);
    const n = mode === 'fanIn' ? fanIn : mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2;
    const variance = scale / n;
    if (distribution === 'truncatedNormal') return random.truncatedNormal(key, -2, 2, shape, dtype).mul(Math.sqrt(variance) / TRUNCATED_STD);
    if (distribution === 'normal') return random.normal(key, shape, dtype).mul(Math.sqrt(variance));
    return random.uniform(key, shape, { minval: -1, maxval: 1, dtype }).mul(Math.sqrt(3 * variance));
  };
}

/** Glorot/Xavier uniform: `varianceScaling(1, 'fanAvg', 'uniform')`. */
export const glorotUniform = (axes: FanAxes = {}): Initializer => varianceScaling(1, 'fanAvg', 'uniform', axes);
/** Glorot/Xavier normal: `varianceScaling(1, 'fanAvg', 'truncatedNormal')`. */
export const glorotNormal = (axes: FanAxes = {}): Initializer => varianceScaling(1, 'fanAvg', 'truncatedNormal', axes);
/** LeCun normal (flax's default kernel init): `varianceScaling(1, 'fanIn', 'truncatedNormal')`. */
export const lecunNormal = (axes: FanAxes = {}): Initializer => varianceScaling(1, 'fanIn', 'truncatedNormal', axes);
/** LeCun uniform: `varianceScaling(1, 'fanIn', 'uniform')`. */
export const lecunUniform = (axes: FanAxes = {}): Initializer => varianceScaling(1, 'fanIn', 'uniform', axes);
/** He/Kaiming normal: `varianceScaling(2, 'fanIn', 'truncatedNormal')`. */
export const heNormal = (axes: FanAxes = {}): Initializer => varianceScaling(2, 'fanIn', 'truncatedNormal', axes);
/** He/Kaiming uniform: `varianceScaling(2, 'fanIn', 'uniform')`. */
export const heUniform = (axes: FanAxes = {}): Initializer => varianceScaling(2, 'fanIn', 'uniform', axes);

/** All zeros (the key is unused). */
export const zeros: Initializer = (_key, shape, dtype = 'float32') => np.zeros(shape, dtype);
/** All ones (the key is unused). */
export const ones: Initializer = (_key, shape, dtype = 'float32') => np.ones(shape, dtype);
/** Every entry `value` (the key is unused). */
export const constant = (value: number): Initializer => (_key, shape, dtype = 'float32') => np.full(shape, value, dtype);
/** Normal samples with standard deviation `stddev` (JAX's `normal(stddev=1e-2)`). */
export const normal = (stddev = 1e-2): Initializer => (key, shape, dtype = 'float32') => random.normal(key, shape, dtype).mul(stddev);
/** Uniform samples on [0, scale) (JAX's `uniform(scale=1e-2)`). */
export const uniform = (scale = 1e-2): Initializer => (key, shape, dtype = 'float32') => random.uniform(key, shape, { maxval: scale, dtype });

/** Options of `dirac`. */
export interface DiracOptions {
  /** Feature groups of the convolution the kernel is for (default 1). */
  groups?: number;
  /**
   * Where the 1 sits in each window: `'center'` (default, index ⌊k/2⌋ as `torch.nn.init.dirac_`)
   * makes the convolution the identity with symmetric ('SAME') padding and an odd window;
   * `'last'` (index k − 1) makes it the identity with causal padding (all of it before the input).
   */
  tap?: 'center' | 'last';
  /** The kernel's input-channel axis (default 1, the channels-first `(O, I, *window)` layout). */
  inAxis?: number;
  /** The kernel's output-channel axis (default 0); every other axis is a window axis. */
  outAxis?: number;
}

/**
 * `dirac(opts?)`: the identity convolution kernel, as `torch.nn.init.dirac_(w, groups)` for the
 * default channels-first layout `(O, I, *window)`: within each of the `groups` blocks of
 * O/groups output channels, output channel d reads input channel d at one tap of every window
 * axis, for d < min(O/groups, I). With O/groups = I a stride-1 convolution padded as `tap`
 * describes copies its input. For channels-last kernels `(*window, I, O)` pass
 * `{ inAxis: -2, outAxis: -1 }`. Built from iota comparisons, so it traces.
 */
export function dirac(opts: DiracOptions = {}): Initializer {
  const groups = opts.groups ?? 1;
  const tap = opts.tap ?? 'center';
  if (!Number.isInteger(groups) || groups < 1) throw new ValueError(`dirac: groups must be a positive integer, got ${groups}`);
  if (tap !== 'center' && tap !== 'last') throw new ValueError(`dirac: tap must be 'center' or 'last', got '${String(tap)}'`);
  return (_key, shape, dtype = 'float32') => {
    checkFloat('dirac', dtype);
    if (shape.length < 3) throw new ShapeError(`dirac: expected a convolution kernel with at least one window axis, got shape ${fmtShape(shape)}`);
    const [inAxis] = normAxes('dirac', opts.inAxis ?? 1, shape);
    const [outAxis] = normAxes('dirac', opts.outAxis ?? 0, shape);
    if (inAxis === outAxis) throw new ValueError(`dirac: inAxis and outAxis must differ, both are ${inAxis}`);
    const o = shape[outAxis!]!, i = shape[inAxis!]!;
    if (o % groups !== 0) throw new ShapeError(`dirac: ${o} output channels (kernel shape ${fmtShape(shape)}) are not divisible by groups = ${groups}`);
    const perGroup = o / groups;
    const along = (axes: number[]): number[] => shape.map((s, j) => (axes.includes(j) ? s : 1));
    // Output channel c matches input channel c mod (O/groups), when that is < min(O/groups, I).
    const channelShape = along([inAxis!, outAxis!]);
    const outIdx = np.iota('int32', channelShape, outAxis);
    const inIdx = np.iota('int32', channelShape, inAxis);
    let kernel = np.astype(np.logicalAnd(np.equal(np.mod(outIdx, perGroup), inIdx), np.less(inIdx, Math.min(perGroup, i))), dtype);
    shape.forEach((k, d) => {
      if (d === inAxis || d === outAxis) return;
      const at = tap === 'center' ? Math.floor(k / 2) : k - 1;
      kernel = kernel.mul(np.astype(np.equal(np.iota('int32', along([d]), d), at), dtype));
    });
    return np.broadcastTo(kernel, shape);
  };
}

/** Options of `orthogonal`. */
export interface OrthogonalOptions {
  /** Multiplies the orthogonal matrix (default 1). */
  scale?: number;
  /** The axis holding the columns (default -1); the other axes are flattened into rows. */
  columnAxis?: number;
}

/**
 * `orthogonal(opts?)`, as `jax.nn.initializers.orthogonal`: the shape is viewed as a matrix of
 * `rows = size / shape[columnAxis]` by `cols = shape[columnAxis]`; a standard normal matrix of
 * the taller orientation is factored A = QR and Q, with the signs fixed so that R has a positive
 * diagonal (which makes Q Haar-distributed), is returned (transposed back when rows < cols) and
 * times `scale`. So the columns are orthonormal when rows ≥ cols, and the rows otherwise.
 *
 * The QR factorisation is classical Gram–Schmidt applied twice per column ("CGS2", which keeps
 * float32 orthogonality at rounding level); it yields R's positive diagonal directly. It takes
 * min(rows, cols) steps of matrix–vector products, cheap for parameter initialisation.
 */
export function orthogonal(opts: OrthogonalOptions = {}): Initializer {
  const scale = opts.scale ?? 1;
  const columnAxisOpt = opts.columnAxis ?? -1;
  return (key, shape, dtype = 'float32') => {
    checkFloat('orthogonal', dtype);
    if (shape.length < 2) throw new ShapeError(`orthogonal: the shape must have at least 2 dims, got ${fmtShape(shape)}`);
    const [columnAxis] = normAxes('orthogonal', columnAxisOpt, shape);
    const cols = shape[columnAxis!]!;
    const rows = shape.reduce((p, s) => p * s, 1) / cols;
    const [m, n] = rows < cols ? [cols, rows] : [rows, cols];
    let q = gramSchmidtQ(random.normal(key, [m, n], dtype));
    if (rows < cols) q = np.transpose(q);
    const rest = shape.filter((_, j) => j !== columnAxis);
    return np.moveaxis(np.reshape(q, [...rest, cols]), -1, columnAxis!).mul(scale);
  };
}

/** The Q factor (m × n, m ≥ n, orthonormal columns) of a full-rank `a`, with R's diagonal positive. */
function gramSchmidtQ(a: Array): Array {
  const [m, n] = a.shape as [number, number];
  let q: Array | null = null;
  for (let j = 0; j < n; j++) {
    let v = np.reshape(np.slice(a, ':', j), [m, 1]);
    if (q !== null) {
      for (let pass = 0; pass < 2; pass++) v = v.sub(np.matmul(q, np.matmul(np.transpose(q), v)));
    }
    const col = v.mul(np.rsqrt(np.sum(v.square())));
    q = q === null ? col : np.concatenate([q, col], 1);
  }
  return q!;
}
