/**
 * Convolution layers: `conv` for 1-D/2-D/3-D inputs (stride, padding, dilation, groups) and the
 * space-time factorised pair of video U-Nets (Ho et al. 2022, "Video Diffusion Models", §3 and
 * Imagen Video §2.3): `conv3dSpatial`, a (1, k, k) convolution applied to every frame, and
 * `conv3dTemporal`, a (k, 1, 1) convolution along time that starts as the identity (a Dirac
 * kernel and a zero bias, as in imagen-pytorch's `Conv3d` and video-diffusion-pytorch), so a
 * network grown from an image model initially processes each frame independently;
 * `spaceTimeConv` chains them.
 *
 * Layouts. `'channels-first'` (default, PyTorch): inputs `(N, C, *spatial)` (videos
 * `(N, C, T, H, W)`), kernel `w` of shape `(O, I/groups, *window)` as `torch.nn.ConvNd.weight`.
 * `'channels-last'` (flax): inputs `(N, *spatial, C)`, kernel `(*window, I/groups, O)`.
 * The batch axis is optional: an input of rank dims + 1 is treated as one example, so a layer
 * also runs per example under `vmap`. Convolutions are cross-correlations (no kernel flip), as
 * in both PyTorch and `lax.conv_general_dilated`.
 */
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import * as lax from '../core/lax_namespace.js';
import * as np from '../core/numpy/index.js';
import * as random from '../core/random.js';
import type { Value as Array } from '../core/trace/value.js';
import { dirac, lecunNormal, zeros } from './init.js';
import { checkPositiveInt, type Initializer, type Layer } from './module.js';

export type ConvLayout = 'channels-first' | 'channels-last';

/**
 * Padding of every spatial axis:
 * - `'SAME'`: output size ⌈n / stride⌉, the extra pad (if odd) after the input, as JAX/TF
 *   (for stride 1 and an odd window this is PyTorch's `padding='same'`);
 * - `'VALID'`: no padding;
 * - a number p (or one number per axis): p zeros on both sides, as PyTorch's `padding=p`;
 * - `[low, high]` pairs, one per axis.
 */
export type ConvPadding = 'SAME' | 'VALID' | number | readonly number[] | readonly (readonly [number, number])[];

/** Parameters of a convolution: kernel `w` and, with a bias, `b` (O). */
export type ConvParams = {
  w: Array;
  b?: Array;
};

export interface ConvConfig {
  /** Number of spatial dims: 1, 2 or 3. */
  dims: 1 | 2 | 3;
  inChannels: number;
  outChannels: number;
  /** Window size, one number for every axis or one per axis. */
  kernelSize: number | readonly number[];
  /** Default 1. */
  stride?: number | readonly number[];
  /** Default 'SAME'. */
  padding?: ConvPadding;
  /** Window dilation (atrous convolution); default 1. */
  dilation?: number | readonly number[];
  /** Feature groups: inChannels and outChannels must be divisible by it (depthwise: groups = inChannels); default 1. */
  groups?: number;
  /** Add a bias (default true). */
  bias?: boolean;
  /** Default 'channels-first'. */
  layout?: ConvLayout;
  /**
   * Kernel initializer; it receives the kernel's shape in the layout's kernel order, so fans
   * must be read from `convFanAxes(layout)` (default `lecunNormal(convFanAxes(layout))`).
   */
  kernelInit?: Initializer;
  /** Bias initializer (default `zeros`). */
  biasInit?: Initializer;
}

/** Where the channel axes of a kernel sit: `(O, I, *window)` channels-first, `(*window, I, O)` channels-last. */
export function convFanAxes(layout: ConvLayout = 'channels-first'): { inAxis: number; outAxis: number } {
  return layout === 'channels-first' ? { inAxis: 1, outAxis: 0 } : { inAxis: -2, outAxis: -1 };
}

const SPATIAL = { 1: 'H', 2: 'HW', 3: 'DHW' } as const;

function perAxis(op: string, name: string, v: number | readonly number[], dims: number, min: number): number[] {
  const list = typeof v === 'number' ? new globalThis.Array<number>(dims).fill(v) : [...v];
  if (list.length !== dims) throw new ValueError(`${op}: ${name} ${fmtShape(list)} must have ${dims} entries (one per spatial axis)`);
  for (const x of list) if (!Number.isInteger(x) || x < min) throw new ValueError(`${op}: ${name} ${fmtShape(list)} must hold integers >= ${min}`);
  return list;
}

function resolvePadding(op: string, padding: ConvPadding, dims: number): lax.Padding {
  if (padding === 'SAME' || padding === 'VALID') return padding;
  if (typeof padding === 'string') throw new ValueError(`${op}: padding must be 'SAME', 'VALID', a number, numbers per axis or [low, high] pairs, got '${padding}'`);
  if (typeof padding === 'number' || (padding as readonly unknown[]).every((p) => typeof p === 'number')) {
    return perAxis(op, 'padding', padding as number | readonly number[], dims, 0).map((p) => [p, p] as const);
  }
  const pairs = padding as readonly (readonly [number, number])[];
  if (pairs.length !== dims || pairs.some((p) => !globalThis.Array.isArray(p) || p.length !== 2 || !p.every(Number.isInteger)))
    throw new ValueError(`${op}: padding ${JSON.stringify(padding)} must be ${dims} [low, high] integer pairs`);
  return pairs;
}

/**
 * `conv(config)`: an N-d convolution layer, `apply(params, x)` with x `(N, C, *spatial)` or
 * `(C, *spatial)` for the default channels-first layout (see the file header for the layouts).
 * Defaults follow flax's `Conv`: LeCun-normal kernel, zero bias, 'SAME' padding.
 */
export function conv(config: ConvConfig): Layer<ConvParams> {
  const op = 'conv';
  const dims = config.dims;
  if (dims !== 1 && dims !== 2 && dims !== 3) throw new ValueError(`${op}: dims must be 1, 2 or 3, got ${String(dims)}`);
  const inC = checkPositiveInt(op, 'inChannels', config.inChannels);
  const outC = checkPositiveInt(op, 'outChannels', config.outChannels);
  const groups = checkPositiveInt(op, 'groups', config.groups ?? 1);
  if (inC % groups !== 0 || outC % groups !== 0)
    throw new ValueError(`${op}: inChannels ${inC} and outChannels ${outC} must both be divisible by groups = ${groups}`);
  const window = perAxis(op, 'kernelSize', config.kernelSize, dims, 1);
  const stride = perAxis(op, 'stride', config.stride ?? 1, dims, 1);
  const dilation = perAxis(op, 'dilation', config.dilation ?? 1, dims, 1);
  const padding = resolvePadding(op, config.padding ?? 'SAME', dims);
  const layout = config.layout ?? 'channels-first';
  if (layout !== 'channels-first' && layout !== 'channels-last') throw new ValueError(`${op}: layout must be 'channels-first' or 'channels-last', got '${String(layout)}'`);
  const first = layout === 'channels-first';
  const kernelShape = first ? [outC, inC / groups, ...window] : [...window, inC / groups, outC];
  const sp = SPATIAL[dims];
  const dimensionNumbers: [string, string, string] = first ? [`NC${sp}`, `OI${sp}`, `NC${sp}`] : [`N${sp}C`, `${sp}IO`, `N${sp}C`];
  const useBias = config.bias ?? true;
  const kernelInit = config.kernelInit ?? lecunNormal(convFanAxes(layout));
  const biasInit = config.biasInit ?? zeros;
  return {
    init(key: Array): ConvParams {
      const [kw, kb] = random.split(key);
      const w = kernelInit(kw, kernelShape);
      return useBias ? { w, b: biasInit(kb, [outC]) } : { w };
    },
    apply(params: ConvParams, x: Array): Array {
      const batched = x.ndim === dims + 2;
      if (!batched && x.ndim !== dims + 1)
        throw new ShapeError(`${op}: a ${dims}-D convolution needs an input of rank ${dims + 2} (batched) or ${dims + 1}, got shape ${fmtShape(x.shape)}`);
      const c = first ? x.shape[batched ? 1 : 0] : x.shape[x.ndim - 1];
      if (c !== inC) throw new ShapeError(`${op}: input of shape ${fmtShape(x.shape)} has ${c} channels (${layout}), expected inChannels = ${inC}`);
      if (params.w.shape.length !== kernelShape.length || params.w.shape.some((s, i) => s !== kernelShape[i]))
        throw new ShapeError(`${op}: kernel w has shape ${fmtShape(params.w.shape)}, expected ${fmtShape(kernelShape)}`);
      const xb = batched ? x : np.expandDims(x, 0);
      let y = lax.convGeneralDilated(xb, params.w, stride, padding, { rhsDilation: dilation, featureGroupCount: groups, dimensionNumbers });
      if (useBias) {
        if (!params.b) throw new ValueError(`${op}: the layer has a bias but params.b is missing`);
        y = y.add(first ? np.reshape(params.b, [outC, ...window.map(() => 1)]) : params.b);
      }
      return batched ? y : np.squeeze(y, 0);
    },
  };
}

/** Configuration of `conv3dSpatial`: a (1, k, k) convolution of every frame. */
export interface SpatialConvConfig {
  inChannels: number;
  outChannels: number;
  /** Spatial window k (or [kh, kw]); default 3. */
  kernelSize?: number | readonly [number, number];
  /** Spatial stride (or [sh, sw]); default 1. */
  stride?: number | readonly [number, number];
  /** Spatial dilation; default 1. */
  dilation?: number | readonly [number, number];
  /** Spatial padding: 'SAME' (default), 'VALID', a number, or [low, high] pairs for (H, W). Time is never padded. */
  padding?: 'SAME' | 'VALID' | number | readonly (readonly [number, number])[];
  groups?: number;
  bias?: boolean;
  layout?: ConvLayout;
  kernelInit?: Initializer;
  biasInit?: Initializer;
}

const pair = (v: number | readonly number[]): number[] => (typeof v === 'number' ? [v, v] : [...v]);

/**
 * `conv3dSpatial(config)`: a 3-D convolution with window (1, kh, kw) on videos
 * `(N, C, T, H, W)`; each frame is convolved on its own, exactly as a 2-D convolution of
 * `(N·T, C, H, W)`. The kernel has shape `(O, I/groups, 1, kh, kw)`.
 */
export function conv3dSpatial(config: SpatialConvConfig): Layer<ConvParams> {
  const op = 'conv3dSpatial';
  const [kh, kw] = pair(config.kernelSize ?? 3);
  const [sh, sw] = pair(config.stride ?? 1);
  const [dh, dw] = pair(config.dilation ?? 1);
  const p = config.padding ?? 'SAME';
  let padding: ConvPadding;
  if (p === 'SAME' || p === 'VALID') padding = p; // a window of 1 in time gets no padding from either rule
  else if (typeof p === 'number') padding = [[0, 0], [p, p], [p, p]];
  else if (globalThis.Array.isArray(p) && p.length === 2) padding = [[0, 0], ...p];
  else throw new ValueError(`${op}: padding must be 'SAME', 'VALID', a number or two [low, high] pairs for (H, W), got ${JSON.stringify(p)}`);
  return conv({
    dims: 3, inChannels: config.inChannels, outChannels: config.outChannels,
    kernelSize: [1, kh!, kw!], stride: [1, sh!, sw!], dilation: [1, dh!, dw!], padding,
    groups: config.groups, bias: config.bias, layout: config.layout, kernelInit: config.kernelInit, biasInit: config.biasInit,
  });
}

/** Configuration of `conv3dTemporal`: a (k, 1, 1) convolution along time. */
export interface TemporalConvConfig {
  /** Channels in and out. */
  channels: number;
  /** Temporal window k; default 3. Must be odd unless `causal`. */
  kernelSize?: number;
  /** Temporal dilation; default 1. */
  dilation?: number;
  /**
   * Pad only before the first frame (d·(k−1) zeros), so frame t sees frames ≤ t
   * (imagen-pytorch's default); default false: 'SAME' padding.
   */
  causal?: boolean;
  bias?: boolean;
  layout?: ConvLayout;
}

/**
 * `conv3dTemporal(config)`: a 3-D convolution with window (k, 1, 1) mixing frames of
 * `(N, C, T, H, W)` at every pixel, initialised to the identity: a Dirac kernel (the tap that
 * reads frame t itself, the centre for 'SAME' padding and the last tap when causal) and a zero
 * bias. imagen-pytorch's causal temporal conv puts its Dirac tap at the centre while padding
 * only on the left, so it starts as a shift by ⌊k/2⌋ frames; here the tap follows the padding.
 */
export function conv3dTemporal(config: TemporalConvConfig): Layer<ConvParams> {
  const op = 'conv3dTemporal';
  const channels = checkPositiveInt(op, 'channels', config.channels);
  const k = checkPositiveInt(op, 'kernelSize', config.kernelSize ?? 3);
  const d = checkPositiveInt(op, 'dilation', config.dilation ?? 1);
  const causal = config.causal ?? false;
  if (!causal && k % 2 === 0)
    throw new ValueError(`${op}: kernelSize ${k} must be odd without causal padding (an even window has no centre tap, so it cannot start as the identity)`);
  const layout = config.layout ?? 'channels-first';
  const half = (d * (k - 1)) / 2;
  return conv({
    dims: 3, inChannels: channels, outChannels: channels, kernelSize: [k, 1, 1], dilation: [d, 1, 1],
    padding: [causal ? [d * (k - 1), 0] : [half, half], [0, 0], [0, 0]],
    bias: config.bias, layout,
    kernelInit: dirac({ tap: causal ? 'last' : 'center', ...convFanAxes(layout) }),
    biasInit: zeros,
  });
}

/** Configuration of `spaceTimeConv`. */
export interface SpaceTimeConvConfig {
  inChannels: number;
  outChannels: number;
  /** Spatial window of the (1, k, k) convolution; default 3. */
  spatialKernel?: number;
  /** Temporal window of the (k, 1, 1) convolution; default 3. */
  temporalKernel?: number;
  /** Causal temporal padding (see `conv3dTemporal`); default false. */
  causal?: boolean;
  bias?: boolean;
  layout?: ConvLayout;
  /** Initializer of the spatial kernel (see `ConvConfig.kernelInit`). */
  kernelInit?: Initializer;
}

/** Parameters of `spaceTimeConv`. */
export type SpaceTimeConvParams = {
  spatial: ConvParams;
  temporal: ConvParams;
};

/** Per-call options of `spaceTimeConv`. */
export interface SpaceTimeOptions {
  /**
   * Skip the temporal convolution, so frames are processed independently (imagen-pytorch's
   * `ignore_time` for joint image–video training); default false.
   */
  ignoreTime?: boolean;
}

/**
 * `spaceTimeConv(config)`: `conv3dTemporal(conv3dSpatial(x))` on videos `(N, C, T, H, W)`, the
 * factorised (2+1)-D convolution of video U-Nets. At initialisation it equals the spatial
 * convolution applied frame by frame.
 */
export function spaceTimeConv(config: SpaceTimeConvConfig): Layer<SpaceTimeConvParams, Array, Array, SpaceTimeOptions> {
  const spatial = conv3dSpatial({
    inChannels: config.inChannels, outChannels: config.outChannels, kernelSize: config.spatialKernel ?? 3,
    bias: config.bias, layout: config.layout, kernelInit: config.kernelInit,
  });
  const temporal = conv3dTemporal({
    channels: config.outChannels, kernelSize: config.temporalKernel ?? 3, causal: config.causal, bias: config.bias, layout: config.layout,
  });
  return {
    init(key: Array): SpaceTimeConvParams {
      const [ks, kt] = random.split(key);
      return { spatial: spatial.init(ks), temporal: temporal.init(kt) };
    },
    apply(params: SpaceTimeConvParams, x: Array, opts: SpaceTimeOptions = {}): Array {
      const y = spatial.apply(params.spatial, x);
      return opts.ignoreTime ? y : temporal.apply(params.temporal, y);
    },
  };
}
