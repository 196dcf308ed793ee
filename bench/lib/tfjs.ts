/**
 * TensorFlow.js (tfjs-core) on its WebAssembly backend (XNNPACK, SIMD). In Node the wasm
 * backend runs single-threaded, and its Conv2D supports channels-last only, so the
 * convolution runs in NHWC × HWIO with the data transposed once outside the timed region.
 * Gradients come from `tf.grads`; there is no graph compilation, so every run is eager.
 *
 * Loading: tfjs-core's Node build (`tf-core.node.js`) has no gradient functions; they are
 * registered by `@tensorflow/tfjs-core/dist/register_all_gradients`, an ES module that Node
 * cannot load as is (directory imports), and which the `@tensorflow/tfjs` umbrella package
 * (≈240 MB more: layers, converter, webgl) bundles in. So the harness bundles tfjs-core's ES
 * modules, that registration and the wasm backend into one CommonJS file with esbuild (a
 * devDependency already; ≈0.3 s), the same code the umbrella ships, and loads it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TF from '@tensorflow/tfjs-core';
import type { setWasmPaths as SetWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { build } from 'esbuild';
import { MLP_PARAM_ORDER, nchwToNhwc, nhwcToNchw, oihwToHwio, type Instance } from './workloads.js';
import { packageVersion, type Contender, type LibraryInfo, type Prepared } from './contender.js';

type Tfjs = typeof TF & { setWasmPaths: typeof SetWasmPaths };
type Tensor = TF.Tensor;

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let tf: Tfjs | undefined;

/** tfjs-core (ES modules) + all gradients + the wasm backend, bundled and loaded once. */
async function bundleTfjs(): Promise<Tfjs> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vidax-bench-tfjs-'));
  const outfile = path.join(dir, 'tfjs.cjs');
  try {
    await build({
      stdin: {
        contents: [
          "export * from '@tensorflow/tfjs-core';",
          "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
          "export { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';",
        ].join('\n'),
        resolveDir: root,
        sourcefile: 'tfjs-entry.js',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      mainFields: ['module', 'main'],
      outfile,
      logLevel: 'error',
    });
    return require(outfile) as Tfjs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The loaded tfjs module (after `loadTfjs`), for benchmarks with workloads of their own. */
export const tfjsModule = (): Tfjs | undefined => tf;

export async function loadTfjs(): Promise<LibraryInfo> {
  const t = await bundleTfjs();
  t.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
  if (!(await t.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialize');
  await t.ready();
  tf = t;
  const simd = Boolean(t.env().get('WASM_HAS_SIMD_SUPPORT'));
  const threads = Boolean(t.env().get('WASM_HAS_MULTITHREAD_SUPPORT'));
  return {
    name: '@tensorflow/tfjs-core + tfjs-backend-wasm',
    version: `${packageVersion('@tensorflow/tfjs-core', require)} + ${packageVersion('@tensorflow/tfjs-backend-wasm', require)}`,
    notes: [
      `wasm backend, SIMD ${simd ? 'on' : 'off'}, ${threads ? 'multi-threaded' : 'single-threaded (no threads in Node)'}`,
      'conv runs channels-last (NHWC × HWIO), the only layout of its wasm Conv2D',
      'gradients registered from tfjs-core\'s register_all_gradients (bundled with esbuild, as the @tensorflow/tfjs package does)',
    ],
  };
}

function prepare(tf: Tfjs, inst: Instance): Prepared {
  const owned: Tensor[] = [];
  const put = (data: Float32Array, shape: number[]): Tensor => {
    const t = tf.tensor(data, shape, 'float32');
    owned.push(t);
    return t;
  };
  let compute: () => Tensor[];
  let canonical: ((outs: Float32Array[]) => Float32Array[]) | undefined;
  switch (inst.kind) {
    case 'matmul': {
      const a = put(inst.a, [inst.m, inst.k]), b = put(inst.b, [inst.k, inst.n]);
      compute = () => [tf.matMul(a, b)];
      break;
    }
    case 'conv': {
      const { n, c, h, w, o, kh, kw } = inst;
      const x = put(nchwToNhwc(inst.x, n, c, h, w), [n, h, w, c]) as TF.Tensor4D;
      const f = put(oihwToHwio(inst.filter, o, c, kh, kw), [kh, kw, c, o]) as TF.Tensor4D;
      compute = () => [tf.conv2d(x, f, 1, 'same', 'NHWC')];
      canonical = ([y]) => [nhwcToNchw(y, n, o, h, w)];
      break;
    }
    case 'chain': {
      const x = put(inst.x, [inst.size]);
      compute = () => [tf.mul(tf.tanh(x), tf.sigmoid(x))];
      break;
    }
    case 'softmax': {
      const x = put(inst.x, [inst.rows, inst.cols]);
      compute = () => [tf.softmax(x)];
      break;
    }
    case 'mlp': {
      const { batch, width } = inst;
      const params = MLP_PARAM_ORDER.map((k) => put(inst.params[k], k.startsWith('w') ? [width, width] : [width]));
      const x = put(inst.x, [batch, width]), y = put(inst.y, [batch, width]);
      const loss = (w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, w3: Tensor, b3: Tensor): Tensor => {
        const h1 = tf.tanh(tf.add(tf.matMul(x, w1), b1));
        const h2 = tf.tanh(tf.add(tf.matMul(h1, w2), b2));
        const out = tf.add(tf.matMul(h2, w3), b3);
        return tf.mean(tf.squaredDifference(out, y));
      };
      const g = tf.grads(loss as (...args: Tensor[]) => Tensor);
      compute = () => g(params);
      break;
    }
  }
  const prepared: Prepared = {
    async run() {
      const outs = tf.tidy(compute);
      try {
        return outs.map((t) => t.dataSync() as Float32Array);
      } finally {
        tf.dispose(outs);
      }
    },
    dispose() {
      tf.dispose(owned);
    },
  };
  if (canonical) prepared.canonical = canonical;
  return prepared;
}

export function tfjsContenders(threads: number): Contender[] {
  const t = tf;
  if (!t || threads !== 1) return []; // single-threaded in Node: measured once, with one thread
  return [{ id: 'tfjs-wasm', label: 'tfjs-wasm', isVidax: false, threads: 1, prepare: async (inst) => prepare(t, inst) }];
}
