/**
 * Write `test/fixtures/vidax-written.safetensors` with vidax's `saveCheckpoint`, then check it
 * with the independent Python reader and record the reader's report in
 * `test/fixtures/vidax-written.check.json` (see scripts/golden/README.md, "Safetensors
 * fixtures"). Run from the repository root:
 *
 *     node --import tsx scripts/golden/write_vidax_fixture.ts
 *
 * `test/golden_safetensors.test.ts` imports `vidaxFixtureTree` and `VIDAX_FIXTURE_OPTIONS` and
 * asserts that vidax still writes these exact bytes, so the Python-checked file stays valid.
 * Every value is exact in float32 and computed with integer arithmetic only, so the bytes
 * do not depend on the JavaScript engine's math library.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { lax, np, type Array } from '../../src/index.js';
import { saveCheckpoint, type SaveOptions } from '../../src/nn/checkpoint.js';

/** A float32 array of `shape` whose values are k/1024 for pseudo-random integers k in [-1000, 1000]. */
function values(shape: number[], seed: number): Array {
  const n = shape.reduce((a, b) => a * b, 1);
  let s = seed >>> 0;
  const data = Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s >>> 8) % 2001 - 1000) / 1024;
  });
  return lax.reshape(np.array(data, 'float32'), shape);
}

/** The parameter tree of the fixture: nesting, arrays in trees, every dtype, scalars, special values, a zero-size leaf, non-ASCII keys. */
export function vidaxFixtureTree() {
  return {
    down: [
      { conv: { w: values([2, 3, 3, 3], 1), b: values([2], 2) }, norm: { scale: values([2], 3), offset: values([2], 4) } },
      { conv: { w: values([3, 2, 1, 1], 5), b: values([3], 6) } },
    ],
    embed: { table: values([4, 3], 7) },
    temperature: lax.reshape(np.array(Float32Array.of(0.5), 'float32'), []),
    counter: lax.reshape(np.array(Int32Array.of(7), 'int32'), []),
    steps: np.array(Int32Array.of(-2147483648, -1, 0, 2147483647), 'int32'),
    ids: np.array(Uint32Array.of(0, 1, 2147483648, 4294967295), 'uint32'),
    mask: np.array([[true, false, true], [false, false, true]]),
    special: np.array(Float32Array.of(NaN, Infinity, -Infinity, -0, 2 ** -149, 3.4028234663852886e38), 'float32'),
    empty: lax.reshape(np.array(new Float32Array(0), 'float32'), [0, 4]),
    'ünïcode': { 'ключ': values([2], 8) },
  };
}

/** The metadata and step saved with the fixture. */
export const VIDAX_FIXTURE_OPTIONS: SaveOptions = {
  metadata: { model: 'unet-tiny', channels: [8, 16], attention: { heads: 2, dim: 32 }, lr: 0.0001, note: 'café ✓ "quoted"' },
  step: 1200,
};

async function main(): Promise<void> {
  const file = fileURLToPath(new URL('../../test/fixtures/vidax-written.safetensors', import.meta.url));
  const report = fileURLToPath(new URL('../../test/fixtures/vidax-written.check.json', import.meta.url));
  const checker = fileURLToPath(new URL('./check_safetensors.py', import.meta.url));
  await saveCheckpoint(file, vidaxFixtureTree(), VIDAX_FIXTURE_OPTIONS);
  execFileSync('/usr/bin/python3', [checker, file, '--out', report], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`wrote ${file} and checked it with ${checker} into ${report}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
