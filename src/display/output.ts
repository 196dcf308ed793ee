/**
 * Where displays go: inline in a Jupyter notebook running the tslab TypeScript kernel, and
 * files everywhere else. `show(item)` is the one entry point; every helper of `vidax/display`
 * returns a `Displayable` (a table, a figure, an image, a video) that lists its outputs as
 * MIME-typed payloads.
 *
 * In the kernel, each output goes through tslab's own `display` API (`display.svg`,
 * `display.png`, `display.gif`, `display.html`) of the tslab instance that runs the kernel, found
 * in Node's module cache, so vidax does not depend on tslab and never loads it in a script.
 * Elsewhere, `show` saves: `save` writes `<dir>/<name><suffix>.<ext>` atomically (temporary
 * file, then rename; `dir` defaults to `$VIDAX_DISPLAY_DIR` or `display-out`), prints what it
 * wrote and any text form (a table), and returns the paths.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isArrayInput, type ArrayInput } from './data.js';
import { table } from './table.js';

/** MIME types the helpers produce (all rendered inline by Jupyter and by nbconvert's HTML). */
export type OutputMime = 'image/svg+xml' | 'image/png' | 'image/gif' | 'text/html';

/** One payload of a displayable: shown inline in a notebook or written to `<name><suffix>.<extension>`. */
export interface Output {
  readonly mime: OutputMime;
  readonly data: string | Uint8Array;
  readonly extension: string;
  /** Appended to the file name (e.g. `-strip`); empty for the main output. */
  readonly suffix: string;
}

/** What `show` accepts: anything that lists its outputs. */
export interface Displayable {
  /** A short noun for default file names (`figure`, `image`, `video`, `table`). */
  readonly kind: string;
  outputs(): readonly Output[];
  /** A plain-text form printed to stdout when writing files (tables). */
  readonly text?: string;
}

/** Options of `show`. */
export interface ShowOptions {
  /** File name without extension (default `<kind>-<n>`, numbered per process); ignored inline. */
  name?: string;
  /** Output folder when writing files (default `$VIDAX_DISPLAY_DIR` or `display-out`). */
  dir?: string;
  /** Force a destination instead of detecting the kernel. */
  to?: 'notebook' | 'files';
  /** Do not print the written paths and text forms (files only). */
  quiet?: boolean;
}

/** The part of tslab's `Display` API used here. */
interface KernelDisplay {
  svg(s: string): void;
  png(b: Uint8Array): void;
  gif(b: Uint8Array): void;
  html(s: string): void;
}

const nodeRequire = createRequire(import.meta.url);

/**
 * tslab's `display` of the kernel this process runs in, or null outside a kernel. The kernel's
 * `jupyter.js` holds the writer of the executing cell (`lastWriteDisplayData`); a script that
 * merely imports tslab has none.
 */
function kernelDisplay(): KernelDisplay | null {
  for (const [file, mod] of Object.entries(nodeRequire.cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) continue;
    if ((mod?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData == null) continue;
    const publicApi = nodeRequire(path.join(path.dirname(file), 'public.js')) as { display: KernelDisplay };
    return publicApi.display;
  }
  return null;
}

/** True when running inside a Jupyter notebook's tslab kernel (displays go inline). */
export function inNotebook(): boolean {
  return kernelDisplay() !== null;
}

const counters = new Map<string, number>();

function defaultName(kind: string): string {
  const n = (counters.get(kind) ?? 0) + 1;
  counters.set(kind, n);
  return `${kind}-${n}`;
}

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

function showInline(display: KernelDisplay, out: Output): void {
  const bytes = (): Uint8Array => (typeof out.data === 'string' ? new TextEncoder().encode(out.data) : out.data);
  const text = (): string => (typeof out.data === 'string' ? out.data : new TextDecoder().decode(out.data));
  switch (out.mime) {
    case 'image/svg+xml':
      return display.svg(text());
    case 'image/png':
      return display.png(bytes());
    case 'image/gif':
      return display.gif(bytes());
    case 'text/html':
      return display.html(text());
  }
}

async function resolveDisplayable(item: Displayable | ArrayInput | Promise<Displayable>): Promise<Displayable> {
  const resolved = await item;
  return isArrayInput(resolved) ? table(resolved) : (resolved as Displayable);
}

/**
 * Write a displayable's outputs to `<dir>/<name><suffix>.<ext>` (atomically) wherever the code
 * runs, and return the paths. `show` does this outside notebooks.
 */
export async function save(item: Displayable | ArrayInput | Promise<Displayable>, options: Omit<ShowOptions, 'to'> = {}): Promise<string[]> {
  const displayable = await resolveDisplayable(item);
  const dir = options.dir ?? process.env.VIDAX_DISPLAY_DIR ?? 'display-out';
  const name = options.name ?? defaultName(displayable.kind);
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const out of displayable.outputs()) {
    const file = path.join(dir, `${name}${out.suffix}.${out.extension}`);
    writeAtomic(file, out.data);
    written.push(file);
  }
  if (!options.quiet) {
    if (displayable.text) console.log(displayable.text);
    for (const f of written) console.log(`wrote ${f}`);
  }
  return written;
}

/**
 * Show a table, figure, image or video: inline in a notebook, as files elsewhere (see `save`).
 * A bare array is shown as a `table`. Accepts a promise, so `await show(linePlot(…))` needs one
 * `await`. Resolves to nothing, so a notebook cell ending in `await show(…)` prints nothing more.
 */
export async function show(item: Displayable | ArrayInput | Promise<Displayable>, options: ShowOptions = {}): Promise<void> {
  const displayable = await resolveDisplayable(item);
  const display = options.to === 'files' ? null : kernelDisplay();
  if (options.to === 'notebook' && display === null) throw new Error('show: not running in a tslab notebook kernel (to: "notebook" was requested)');
  if (!display) {
    await save(displayable, options);
    return;
  }
  for (const out of displayable.outputs()) showInline(display, out);
}
