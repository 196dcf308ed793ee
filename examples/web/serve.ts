/**
 * `npm run demo:web`: bundle the web demo (`main.ts` with vidax from source, esbuild, for
 * browsers) into examples/web/dist/ next to a copy of `index.html`, serve that folder from
 * 127.0.0.1 and print the URL (open it in a browser with WebGPU; Ctrl-C stops the server).
 * `--port N` picks the port (default: a free one).
 *
 * Exports the two steps for the headless test (`test/webgpu_browser.test.ts`):
 * `bundleWebDemo` and `serveDirectory`, a static file server for one folder (GET only, no
 * directory listings, paths kept inside the folder).
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};

/** Bundle the demo into `outDir` (index.html + main.js); returns `outDir`. */
export async function bundleWebDemo(outDir = path.join(here, 'dist')): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [path.join(here, 'main.ts')],
    outfile: path.join(outDir, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
    // Reached only through guarded dynamic imports in Node (as in build.mjs's browser bundle).
    external: ['webgpu', 'node:*'],
  });
  copyFileSync(path.join(here, 'index.html'), path.join(outDir, 'index.html'));
  return outDir;
}

export interface Served {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  close(): Promise<void>;
}

/** Serve the files of `dir` from 127.0.0.1 (`/` is index.html), adding `headers` to every file's response. */
export async function serveDirectory(dir: string, port = 0, headers: Readonly<Record<string, string>> = {}): Promise<Served> {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(root, rel.endsWith('/') ? `${rel}index.html` : rel);
    if (req.method !== 'GET' || !file.startsWith(root + path.sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${rel}`);
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    // A browser keeps idle (or preconnected) sockets open, which would hold close() for minutes.
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`demo:web: --port must be an integer in 0..65535, got '${process.argv[i + 1]}'`);
    process.exit(1);
  }
  const dir = await bundleWebDemo();
  const { url } = await serveDirectory(dir, port);
  console.log(`vidax web demo (built in ${path.relative(process.cwd(), dir)}): ${url}`);
  console.log('Open it in a browser with WebGPU enabled; Ctrl-C stops the server.');
}
