/**
 * Headless Chromium for the browser suites (`webgpu_browser.test.ts`, `wasm_browser.test.ts`):
 * whether it can run here, launching it with the platform notes' flags and a fresh profile,
 * bundling a page's entry points with esbuild, serving a folder from 127.0.0.1 (optionally with
 * headers, e.g. cross-origin isolation), and loading a page that reports to Node through an
 * exposed function `vidaxReport` until it sends `{ kind: 'done' }`.
 *
 * Not a test file. Without Chromium (env CHROMIUM_PATH, default /usr/bin/chromium) or
 * playwright-core, a suite calls `browserUnavailable`: a failing test in CI (env CI set, not
 * "false"), a skipped one elsewhere. WEBGPU_BROWSER_CONSOLE=1 (or VIDAX_BROWSER_CONSOLE=1)
 * echoes the pages' console here.
 */
import { build, type Plugin } from 'esbuild';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serveDirectory } from '../../examples/web/serve.js';

export { serveDirectory, type Served } from '../../examples/web/serve.js';

export const IN_CI = !!process.env.CI && process.env.CI !== 'false';
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Echo the pages' console (warnings, errors) here. */
const ECHO_CONSOLE = !!(process.env.WEBGPU_BROWSER_CONSOLE || process.env.VIDAX_BROWSER_CONSOLE);
/** Chromium flags of the platform notes (headless WebGPU, nothing fetched from the network). */
const ARGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** The headers that make a page cross-origin isolated (`crossOriginIsolated`: SharedArrayBuffer exists). */
export const CROSS_ORIGIN_ISOLATION: Readonly<Record<string, string>> = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** Why the browser cannot be used here, or null. */
export async function chromiumUnavailable(): Promise<string | null> {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (install it with \`apt-get install -y chromium\`, or set CHROMIUM_PATH)`;
  try {
    await import('playwright-core');
  } catch (e) {
    return `playwright-core cannot be loaded (${(e as Error).message}); run \`npm install\``;
  }
  return null;
}

/** Register what a missing browser (or browser feature) means for `suite`: a failing test in CI, a skipped one elsewhere. */
export function browserUnavailable(suite: string, why: string): void {
  if (IN_CI) test(`${suite}: the browser suite must run in CI`, () => assert.unreachable(why));
  else {
    console.log(`${suite} skipped: ${why}`);
    test.skip(`${suite} (${why})`, () => {});
  }
}

/** A page with the errors it threw or logged (for failure messages). */
export interface BrowserPage {
  readonly page: Page;
  readonly errors: string[];
}

export interface Session {
  readonly context: BrowserContext;
  /** The first tab. */
  readonly page: Page;
  /** Errors any tab threw or logged (for failure messages). */
  readonly pageErrors: string[];
  /** A new tab (its own exposed functions), console and errors captured. */
  newPage(): Promise<BrowserPage>;
  close(): Promise<void>;
}

/** Capture `page`'s errors (into its own list and `all`) and echo its console if asked. */
function watch(page: Page, all: string[]): string[] {
  const errors: string[] = [];
  const add = (e: string) => (errors.push(e), all.push(e));
  page.on('pageerror', (e) => add(e.message));
  page.on('console', (m) => {
    if (ECHO_CONSOLE) console.log(`page ${m.type()}: ${m.text()}`);
    if (m.type() === 'error') add(m.text());
  });
  return errors;
}

/** Launch headless Chromium with the platform notes' flags and a fresh user-data-dir (removed by `close`). */
export async function launchChromium(): Promise<Session> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(path.join(os.tmpdir(), 'vidax-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS }).catch((e: Error) => {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  watch(page, pageErrors);
  return {
    context,
    page,
    pageErrors,
    async newPage() {
      const p = await context.newPage();
      return { page: p, errors: watch(p, pageErrors) };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** test/helpers.ts reads golden fixtures with node:fs; a page never calls that, so a stub that fails clearly. */
const nodeFsStub: Plugin = {
  name: 'node-fs-stub',
  setup(b) {
    b.onResolve({ filter: /^node:fs$/ }, () => ({ path: 'node:fs', namespace: 'node-fs-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-fs-stub' }, () => ({
      contents: 'export function readFileSync(p) { throw new Error(`node:fs is not available in the browser (readFileSync ${p})`); }',
      loader: 'js',
    }));
  },
};

/**
 * Run `use` with a Chromium session and a fresh scratch folder (both released afterwards), and
 * report how long it took. Where the browser cannot run, registers that instead (see
 * `browserUnavailable`; a launch failure is a failing test) and resolves with null.
 */
export async function withChromium<T>(suite: string, use: (s: Session, work: string) => Promise<T>): Promise<{ result: T; session: Session } | null> {
  const why = await chromiumUnavailable();
  if (why !== null) {
    browserUnavailable(suite, why);
    return null;
  }
  const session = await launchChromium().catch((e: Error) => e);
  if (session instanceof Error) {
    test('headless Chromium starts', () => assert.unreachable(`${CHROMIUM} did not start: ${session.message}`));
    return null;
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'vidax-browser-'));
  const t0 = performance.now();
  try {
    return { result: await use(session, work), session };
  } finally {
    await session.close();
    rmSync(work, { recursive: true, force: true });
    console.log(`${suite}: browser session ${Math.round(performance.now() - t0)} ms`);
  }
}

export interface PageBundle {
  /** TypeScript entry points, each bundled to `<its name>.js` in `dir`. */
  readonly entries: readonly string[];
  /** The entry the page loads as a module script (default: the first). */
  readonly script?: string;
  readonly title: string;
  /** esbuild `define`s (e.g. the case tables' `process.env.*`). */
  readonly define?: Record<string, string>;
}

/**
 * Bundle `entries` for the browser (ES modules, vidax from source; node builtins reached only
 * through guarded dynamic imports stay external, `node:fs` is a stub) into `dir`, next to an
 * index.html that loads the page script.
 */
export async function bundlePage(dir: string, b: PageBundle): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await build({
    entryPoints: [...b.entries],
    outdir: dir,
    entryNames: '[name]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'warning',
    external: ['webgpu', 'node:worker_threads', 'node:os', 'node:fs/promises'],
    plugins: [nodeFsStub],
    define: b.define ?? {},
  });
  const script = path.basename(b.script ?? b.entries[0]).replace(/\.ts$/, '.js');
  writeFileSync(path.join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>${b.title}</title><script type="module" src="./${script}"></script>\n`);
}

export interface LoadOptions {
  /** Query string appended to the page's URL (without `?`). */
  readonly query?: string;
  /** Response headers of every served file. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The page must send `done` within this. */
  readonly timeoutMs: number;
  /** Called on each message as it arrives (progress logs). */
  readonly onMessage?: (m: { kind: string }) => void;
}

/**
 * Serve `dir`, load it in a new tab and collect the messages the page passes to
 * `vidaxReport` until it sends `{ kind: 'done' }`; a failure to load or finish in time
 * becomes a last `{ kind: 'error', error }` message.
 */
export async function loadReportingPage<M extends { kind: string }>(s: Session, dir: string, o: LoadOptions): Promise<M[]> {
  const messages: M[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const { page, errors } = await s.newPage();
  await page.exposeFunction('vidaxReport', (m: M) => {
    messages.push(m);
    o.onMessage?.(m);
    if (m.kind === 'done') finish();
  });
  const served = await serveDirectory(dir, 0, o.headers);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await page.goto(o.query ? `${served.url}?${o.query}` : served.url);
    await Promise.race([
      done,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the page did not finish within ${o.timeoutMs / 1000} s (page errors: ${errors.join('; ') || 'none'})`)), o.timeoutMs);
      }),
    ]);
  } catch (e) {
    messages.push({ kind: 'error', error: (e as Error).message } as unknown as M);
  } finally {
    clearTimeout(timer);
    await page.close();
    await served.close();
  }
  return messages;
}
