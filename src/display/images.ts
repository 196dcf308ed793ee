/**
 * Images as PNG (encoded by fast-png). Arrays map to 8-bit pixels through a value range:
 * floats default to [-1, 1], the data range of diffusion models, integers to [0, 255] and
 * booleans to [0, 1]; `range: 'auto'` stretches the finite min..max. Values outside the range
 * are clipped and NaN shows as the low end. Layout is channels-last, [H, W] or [H, W, C] with
 * C ∈ {1, 3, 4} (gray, RGB, RGBA); `channels: 'first'` reads [C, H, W]. Small images are
 * enlarged by an integer factor with nearest-neighbour sampling (`scale`), so a 32×32 sample
 * is visible inline.
 *
 * `imageGrid` tiles a batch [N, H, W(, C)] into one image; the pixel helpers here are shared
 * with the video module.
 */
import { DisplayError, fmtShape, isIntegerDtype, readNumbers, type ArrayInput, type Numbers } from './data.js';
import type { Displayable, Output } from './output.js';
import { loadFastPng } from './peers.js';

/** 8-bit pixels, row-major, interleaved channels. */
export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
  readonly data: Uint8Array;
}

/** How array values become pixels. */
export interface PixelOptions {
  /** Values mapped to 0 and 255 (default [-1, 1] for floats, [0, 255] for integers, [0, 1] for booleans), or 'auto' for the data's min..max. */
  range?: readonly [number, number] | 'auto';
  /** Channel axis position: 'last' ([H, W, C], default) or 'first' ([C, H, W]). */
  channels?: 'last' | 'first';
  /** Integer nearest-neighbour enlargement, or 'auto' (default): the factor that makes the longer side at least 128 pixels (at most 8). */
  scale?: number | 'auto';
}

/** A PNG image and its (enlarged) pixels. */
export class Image implements Displayable {
  readonly kind = 'image';
  constructor(
    readonly pixels: Pixels,
    readonly png: Uint8Array,
  ) {}
  get width(): number {
    return this.pixels.width;
  }
  get height(): number {
    return this.pixels.height;
  }
  outputs(): readonly Output[] {
    return [{ mime: 'image/png', data: this.png, extension: 'png', suffix: '' }];
  }
}

/** The value → [0, 255] map for a stack of images (one shared range, so frames compare). */
export function valueRange(n: Numbers, range: PixelOptions['range']): [number, number] {
  if (range === 'auto') {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of n.values) {
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) return [0, 1];
    return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
  }
  if (range) {
    if (!(range[1] > range[0])) throw new DisplayError(`image: range must be [low, high] with low < high, got [${range.join(', ')}]`);
    return [range[0], range[1]];
  }
  if (n.dtype === 'bool') return [0, 1];
  return isIntegerDtype(n.dtype) ? [0, 255] : [-1, 1];
}

/**
 * Split an array of shape [...batch, H, W] or [...batch, H, W, C] (channels-last; or
 * [...batch, C, H, W] with channels 'first') into 8-bit images. `batchDims` is 0 for one image
 * and 1 for a stack (frames, grid entries).
 */
export function toPixels(op: string, n: Numbers, batchDims: 0 | 1, options: PixelOptions): Pixels[] {
  const shape = n.shape;
  const rank = shape.length - batchDims;
  const what = batchDims ? '[N, H, W] or [N, H, W, C]' : '[H, W] or [H, W, C]';
  const first = options.channels === 'first';
  if (rank !== 2 && rank !== 3) throw new DisplayError(`${op}: expected an array of shape ${what}${first ? ' (channels first: C before H, W)' : ''}, got ${fmtShape(shape)}`);
  const dims = shape.slice(batchDims);
  const [h, w, c] = rank === 2 ? [dims[0], dims[1], 1] : first ? [dims[1], dims[2], dims[0]] : [dims[0], dims[1], dims[2]];
  if (c !== 1 && c !== 3 && c !== 4) throw new DisplayError(`${op}: images need 1, 3 or 4 channels, got ${c} in shape ${fmtShape(shape)}`);
  if (h === 0 || w === 0) throw new DisplayError(`${op}: empty image of shape ${fmtShape(shape)}`);
  const count = batchDims ? shape[0] : 1;
  const [lo, hi] = valueRange(n, options.range);
  const k = 255 / (hi - lo);
  const toByte = (v: number): number => (Number.isNaN(v) ? 0 : Math.min(255, Math.max(0, Math.round((v - lo) * k))));
  const plane = h * w;
  return Array.from({ length: count }, (_, b) => {
    const base = b * plane * c;
    const data = new Uint8Array(plane * c);
    for (let p = 0; p < plane; p++)
      for (let ch = 0; ch < c; ch++) data[p * c + ch] = toByte(n.values[base + (first ? ch * plane + p : p * c + ch)]);
    return { width: w, height: h, channels: c as 1 | 3 | 4, data };
  });
}

/** The enlargement factor for an image of the given size. */
export function scaleFactor(width: number, height: number, scale: PixelOptions['scale']): number {
  if (scale === undefined || scale === 'auto') return Math.max(1, Math.min(8, Math.ceil(128 / Math.max(width, height))));
  if (!Number.isInteger(scale) || scale < 1) throw new DisplayError(`image: scale must be a positive integer or 'auto', got ${String(scale)}`);
  return scale;
}

/** Nearest-neighbour enlargement by an integer factor. */
export function upscale(p: Pixels, s: number): Pixels {
  if (s === 1) return p;
  const width = p.width * s;
  const height = p.height * s;
  const c = p.channels;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const sy = Math.floor(y / s);
    for (let x = 0; x < width; x++) {
      const src = (sy * p.width + Math.floor(x / s)) * c;
      const dst = (y * width + x) * c;
      for (let ch = 0; ch < c; ch++) data[dst + ch] = p.data[src + ch];
    }
  }
  return { width, height, channels: c, data };
}

/** Tile equally sized images into rows of `columns`, separated by `padding` white pixels. */
export function tile(images: readonly Pixels[], columns: number, padding: number): Pixels {
  const { width: w, height: h, channels: c } = images[0];
  const cols = Math.max(1, Math.min(columns, images.length));
  const rows = Math.ceil(images.length / cols);
  const width = cols * w + (cols - 1) * padding;
  const height = rows * h + (rows - 1) * padding;
  const data = new Uint8Array(width * height * c).fill(255);
  images.forEach((img, i) => {
    const ox = (i % cols) * (w + padding);
    const oy = Math.floor(i / cols) * (h + padding);
    for (let y = 0; y < h; y++) data.set(img.data.subarray(y * w * c, (y + 1) * w * c), ((oy + y) * width + ox) * c);
  });
  return { width, height, channels: c, data };
}

/** PNG bytes of 8-bit pixels (gray, RGB or RGBA as given). */
export async function encodePng(p: Pixels): Promise<Uint8Array> {
  const { encode } = await loadFastPng();
  return encode({ width: p.width, height: p.height, data: p.data, channels: p.channels, depth: 8 });
}

/** An image of shape [H, W] or [H, W, C] (C = 1, 3 or 4) as a PNG. */
export async function image(x: ArrayInput, options: PixelOptions = {}): Promise<Image> {
  const [p] = toPixels('image', await readNumbers('image', x), 0, options);
  const big = upscale(p, scaleFactor(p.width, p.height, options.scale));
  return new Image(big, await encodePng(big));
}

/** Options of `imageGrid`. */
export interface GridOptions extends PixelOptions {
  /** Images per row (default ⌈√N⌉). */
  columns?: number;
  /** White pixels between images, after enlargement (default 2). */
  padding?: number;
}

/** A batch [N, H, W] or [N, H, W, C] tiled into one PNG, row by row. */
export async function imageGrid(xs: ArrayInput, options: GridOptions = {}): Promise<Image> {
  const frames = toPixels('imageGrid', await readNumbers('imageGrid', xs), 1, options);
  if (frames.length === 0) throw new DisplayError('imageGrid: got an empty batch');
  const s = scaleFactor(frames[0].width, frames[0].height, options.scale);
  const columns = options.columns ?? Math.ceil(Math.sqrt(frames.length));
  const grid = tile(frames.map((f) => upscale(f, s)), columns, options.padding ?? 2);
  return new Image(grid, await encodePng(grid));
}
