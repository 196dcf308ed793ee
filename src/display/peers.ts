/**
 * The display module's optional peer dependencies, loaded on first use: Vega and Vega-Lite for
 * plots, fast-png for images, gifenc for videos. Loading them lazily keeps
 * `import 'vidax/display'` cheap, lets tables work without any of them, and keeps Vega's
 * top-level await (its optional `canvas` probe) out of the module graph that a CommonJS host
 * (the tslab notebook kernel) `require`s. A missing package fails with the install command.
 */
import { DisplayError } from './data.js';

const loaded = new Map<string, Promise<unknown>>();

function load<T>(name: string, what: string, importer: () => Promise<T>): Promise<T> {
  let p = loaded.get(name) as Promise<T> | undefined;
  if (!p) {
    p = importer().catch((e: unknown) => {
      loaded.delete(name);
      const code = (e as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')
        throw new DisplayError(`vidax/display: ${what} need the package ${name}, which is not installed (npm install ${name})`);
      throw e;
    });
    loaded.set(name, p);
  }
  return p;
}

export const loadVega = (): Promise<typeof import('vega')> => load('vega', 'plots', () => import('vega'));
export const loadVegaLite = (): Promise<typeof import('vega-lite')> => load('vega-lite', 'plots', () => import('vega-lite'));
export const loadFastPng = (): Promise<typeof import('fast-png')> => load('fast-png', 'images', () => import('fast-png'));

/** The part of gifenc (a CommonJS package without type declarations) that `video` uses. */
export interface Gifenc {
  GIFEncoder(): {
    writeFrame(index: Uint8Array, width: number, height: number, opts: { palette?: number[][]; delay?: number; repeat?: number }): void;
    finish(): void;
    bytes(): Uint8Array;
  };
  quantize(rgba: Uint8Array, maxColors: number, opts?: { format?: 'rgb565' | 'rgb444' }): number[][];
  applyPalette(rgba: Uint8Array, palette: number[][], format?: 'rgb565' | 'rgb444'): Uint8Array;
}

export const loadGifenc = (): Promise<Gifenc> =>
  load('gifenc', 'videos', async () => {
    // @ts-expect-error gifenc ships no type declarations; `Gifenc` above describes what is used.
    const m = (await import('gifenc')) as Record<string, unknown>;
    // CommonJS interop differs between Node (namespace.default = module.exports) and bundlers.
    const found = [m, m.default, (m.default as Record<string, unknown> | undefined)?.default].find(
      (c): c is Gifenc => typeof (c as Gifenc | undefined)?.GIFEncoder === 'function',
    );
    if (!found) throw new DisplayError('vidax/display: the installed gifenc does not export GIFEncoder');
    return found;
  });
