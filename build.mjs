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
 * - dist/types/            declarations from `tsc -p tsconfig.build.json`.
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
rmSync('dist', { recursive: true, force: true });

await build({
  ...common,
  outfile: 'dist/node/index.js',
  platform: 'node',
  target: 'node20',
  external: ['webgpu', 'node:*', ...builtinModules],
  plugins: [externalDeps],
});
await build({
  ...common,
  outfile: 'dist/browser/index.js',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  external: ['webgpu', 'node:*'],
});

const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  console.error('build: declaration emit failed');
  process.exit(1);
}

for (const f of ['dist/node/index.js', 'dist/browser/index.js']) {
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`${f}  ${kib(statSync(f).size)} (gzip ${kib(gzipSync(readFileSync(f)).length)})`);
}
