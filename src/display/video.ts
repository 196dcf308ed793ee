/**
 * Videos as animated GIFs (encoded by gifenc) and as frame strips (one PNG with the frames
 * side by side, for static views and papers). A video is an array of frames [T, H, W] or
 * [T, H, W, C] (or [T, C, H, W] with `channels: 'first'`), mapped to pixels as `image` does,
 * with one value range for all frames so brightness compares across time.
 *
 * GIF holds one palette of at most 256 colours: when all frames together use at most 256
 * distinct colours (always for grey video) the palette is exactly those colours and the GIF is
 * lossless; otherwise gifenc quantises the colours (PnnQuant on RGB565 bins). GIF has no
 * alpha channel, so RGBA frames are composited over white.
 */
import { DisplayError, readNumbers, type ArrayInput } from './data.js';
import { Image, encodePng, scaleFactor, tile, toPixels, upscale, type PixelOptions, type Pixels } from './images.js';
import type { Displayable, Output } from './output.js';
import { loadGifenc } from './peers.js';

/** Options of `video`. */
export interface VideoOptions extends PixelOptions {
  /** Frames per second (default 8). */
  fps?: number;
  /** Repeat forever (default true) or play once. */
  loop?: boolean;
  /** Also show a frame strip under the GIF (default true; `frameStrip` options below apply). */
  strip?: boolean;
  /** Frames in the strip (default: all, at most 8, evenly spaced). */
  stripFrames?: number;
}

/** An animated GIF with, optionally, its frame strip. */
export class Video implements Displayable {
  readonly kind = 'video';
  constructor(
    readonly frames: number,
    readonly width: number,
    readonly height: number,
    readonly fps: number,
    readonly gif: Uint8Array,
    readonly strip: Image | null,
  ) {}
  outputs(): readonly Output[] {
    const gif: Output = { mime: 'image/gif', data: this.gif, extension: 'gif', suffix: '' };
    return this.strip ? [gif, { ...this.strip.outputs()[0], suffix: '-strip' }] : [gif];
  }
}

/** RGBA bytes of 8-bit pixels, grey replicated and alpha composited over white (alpha 255). */
function toRgba(p: Pixels): Uint8Array {
  const out = new Uint8Array(p.width * p.height * 4);
  const c = p.channels;
  for (let i = 0; i < p.width * p.height; i++) {
    const src = i * c;
    const a = c === 4 ? p.data[src + 3] / 255 : 1;
    for (let ch = 0; ch < 3; ch++) {
      const v = p.data[c >= 3 ? src + ch : src];
      out[4 * i + ch] = a === 1 ? v : Math.round(v * a + 255 * (1 - a));
    }
    out[4 * i + 3] = 255;
  }
  return out;
}

/** The distinct RGB colours of all frames, or null when there are more than 256. */
function exactPalette(frames: readonly Uint8Array[]): Map<number, number> | null {
  const index = new Map<number, number>();
  for (const f of frames)
    for (let i = 0; i < f.length; i += 4) {
      const key = (f[i] << 16) | (f[i + 1] << 8) | f[i + 2];
      if (index.has(key)) continue;
      if (index.size === 256) return null;
      index.set(key, index.size);
    }
  return index;
}

/** `count` frame indices spread evenly over 0..n−1, first and last included. */
export function evenlySpaced(n: number, count: number): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  if (count <= 1) return [0];
  return Array.from({ length: count }, (_, i) => Math.round((i * (n - 1)) / (count - 1)));
}

async function stripOf(frames: Pixels[], count: number, padding: number): Promise<Image> {
  const picked = evenlySpaced(frames.length, count).map((i) => frames[i]);
  const strip = tile(picked, picked.length, padding);
  return new Image(strip, await encodePng(strip));
}

async function framesOf(op: string, x: ArrayInput, options: PixelOptions): Promise<Pixels[]> {
  const frames = toPixels(op, await readNumbers(op, x), 1, options);
  if (frames.length === 0) throw new DisplayError(`${op}: got a video with no frames`);
  const s = scaleFactor(frames[0].width, frames[0].height, options.scale);
  return frames.map((f) => upscale(f, s));
}

/** GIF bytes of 8-bit frames at `fps`, looping forever or played once. */
export async function encodeGifFrames(frames: readonly Pixels[], fps: number, loop: boolean): Promise<Uint8Array> {
  if (!(fps > 0)) throw new DisplayError(`video: fps must be positive, got ${fps}`);
  const { GIFEncoder, quantize, applyPalette } = await loadGifenc();
  const { width, height } = frames[0];
  const rgba = frames.map(toRgba);
  let palette: number[][];
  let indexed: Uint8Array[];
  const exact = exactPalette(rgba);
  if (exact) {
    palette = [...exact.keys()].map((k) => [k >> 16, (k >> 8) & 255, k & 255]);
    indexed = rgba.map((f) => {
      const idx = new Uint8Array(f.length / 4);
      for (let i = 0; i < idx.length; i++) idx[i] = exact.get((f[4 * i] << 16) | (f[4 * i + 1] << 8) | f[4 * i + 2])!;
      return idx;
    });
  } else {
    const all = new Uint8Array(rgba.reduce((n, f) => n + f.length, 0));
    rgba.reduce((offset, f) => (all.set(f, offset), offset + f.length), 0);
    palette = quantize(all, 256, { format: 'rgb565' });
    indexed = rgba.map((f) => applyPalette(f, palette, 'rgb565'));
  }
  // Browsers slow frames shorter than 20 ms down to 100 ms; GIF delays are in 10 ms units.
  const delay = Math.max(20, Math.round(1000 / fps));
  const gif = GIFEncoder();
  indexed.forEach((idx, i) => gif.writeFrame(idx, width, height, { delay, ...(i === 0 ? { palette, repeat: loop ? 0 : -1 } : {}) }));
  gif.finish();
  return gif.bytes();
}

/** A video [T, H, W(, C)] as an animated GIF, plus a frame strip PNG unless `strip: false`. */
export async function video(x: ArrayInput, options: VideoOptions = {}): Promise<Video> {
  const frames = await framesOf('video', x, options);
  const fps = options.fps ?? 8;
  const gif = await encodeGifFrames(frames, fps, options.loop ?? true);
  const strip = options.strip === false ? null : await stripOf(frames, options.stripFrames ?? 8, 2);
  return new Video(frames.length, frames[0].width, frames[0].height, fps, gif, strip);
}

/** Options of `frameStrip`. */
export interface FrameStripOptions extends PixelOptions {
  /** Frames shown (default: all, at most 8, evenly spaced, first and last included). */
  frames?: number;
  /** White pixels between frames (default 2). */
  padding?: number;
}

/** Frames of a video [T, H, W(, C)] side by side in one PNG. */
export async function frameStrip(x: ArrayInput, options: FrameStripOptions = {}): Promise<Image> {
  return stripOf(await framesOf('frameStrip', x, options), options.frames ?? 8, options.padding ?? 2);
}
