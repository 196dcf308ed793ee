#!/usr/bin/env node
/**
 * Build the package (`npm run build`):
 * - dist/node/index.js     ESM bundle for Node 20 (dependencies, node:* builtins
 *                           and the optional `webgpu` package stay external;
 *                           a dependency subpath that Node's ESM loader cannot
 *                           import, such as `fp-ts/function`, is bundled);
 * - dist/browser/index.js  minified ESM bundle for browsers (`webgpu` and
 *                           node:* stay external; they are only reached through
 *                           guarded dynamic imports);
 * - dist/node/display.js   `vidax/display` for Node (notebooks and scripts): its
 *                           plotting and image packages (optional peer
 *                           dependencies) stay external, and it imports nothing
 *                           from the core at run time;
 * - dist/types/            declarations from `tsc -p tsconfig.build.json`.
 *
 * `--outdir DIR` writes the same tree to DIR instead of dist/ (the notebooks
 * run against a build of their own, so that a concurrent `npm run build`
 * never swaps files under a running kernel).
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = path.dirname(fileURLToPath(import.meta.url));
process.chdir(root);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies });

/** Keep dependencies external in the Node bundle where Node can import them. */
const externalDeps = {
  name: 'external-deps',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, ({ path: spec }) => {
      const name = spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
      if (!deps.includes(name)) return undefined;
      let file;
      try {
        file = fileURLToPath(import.meta.resolve(spec));
      } catch {
        return undefined;
      }
      return existsSync(file) && statSync(file).isFile() ? { path: spec, external: true } : undefined;
    });
  },
};

const common = { entryPoints: ['src/index.ts'], bundle: true, format: 'esm', sourcemap: true, logLevel: 'warning' };
if (!existsSync('src/index.ts')) {
  console.error('build: src/index.ts not found');
  process.exit(1);
}
const outIdx = process.argv.indexOf('--outdir');
const out = outIdx >= 0 ? path.resolve(process.argv[outIdx + 1]) : 'dist';
rmSync(out, { recursive: true, force: true });

await build({
  ...common,
  outfile: `${out}/node/index.js`,
  platform: 'node',
  target: 'node20',
  external: ['webgpu', 'node:*', ...builtinModules],
  plugins: [externalDeps],
});
await build({
  ...common,
  entryPoints: ['src/display/index.ts'],
  outfile: `${out}/node/display.js`,
  platform: 'node',
  target: 'node20',
  external: ['node:*', ...builtinModules, ...Object.keys(pkg.peerDependencies ?? {})],
});
await build({
  ...common,
  outfile: `${out}/browser/index.js`,
  platform: 'browser',
  target: 'es2022',
  minify: true,
  external: ['webgpu', 'node:*'],
});

const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', `${out}/types`], {
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  console.error('build: declaration emit failed');
  process.exit(1);
}

for (const f of [`${out}/node/index.js`, `${out}/browser/index.js`, `${out}/node/display.js`]) {
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`${f}  ${kib(statSync(f).size)} (gzip ${kib(gzipSync(readFileSync(f)).length)})`);
}
