/**
 * The default backend: `wasm` where WebAssembly exists (the JavaScript `cpu` backend stays
 * registered as the oracle), overridable with the `VIDAX_BACKEND` environment variable.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultBackend, devices, NDArray, np } from '../src/index.js';

test('wasm is the default backend and new arrays live there', () => {
  assert.equal(devices().slice(0, 2), ['cpu', 'wasm']);
  assert.is(defaultBackend(), 'wasm');
  assert.is((np.arange(3) as NDArray).backend.name, 'wasm');
});

const probe = `import { defaultBackend, np } from './src/index.ts'; console.log(defaultBackend(), np.arange(4).sum().item());`;
const runProbe = (env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { env: { ...process.env, ...env }, encoding: 'utf8' });

test('VIDAX_BACKEND picks the default; an unknown name fails at import naming the choices', () => {
  const cpu = runProbe({ VIDAX_BACKEND: 'cpu' });
  assert.is(cpu.status, 0, cpu.stderr);
  assert.is(cpu.stdout.trim(), 'cpu 6');
  const bad = runProbe({ VIDAX_BACKEND: 'tpu' });
  assert.is.not(bad.status, 0);
  assert.match(bad.stderr, /VIDAX_BACKEND='tpu' names no backend available at import; available: cpu, wasm/);
});

test.run();
