/**
 * Reductions on the CPU (issue 8): vidax's `wasm` backend (`jit`) against TensorFlow.js (wasm)
 * and jax-js (wasm, `jit`) on 4M float32 elements — softmax and layer norm over rows (reductions
 * over the last axis feeding elementwise work), row sums, column sums (a reduction over the
 * leading axis) and per-channel means of an NCHW batch (batch-norm statistics: axes 0, 2, 3).
 *
 * Run: `npx tsx bench/reductions.ts [--threads=N] [--rounds=R]`. With N > 1 threads, vidax and
 * jax-js compute on N threads and tfjs-wasm (single-threaded in Node) is left out. Method as
 * in `peers.ts`: every library on the same input numbers, checked first on the full instance
 * against vidax's JavaScript `cpu` backend (|Δ| ≤ 1e-3·|ref| + 1e-4·max|ref|); then two warm-up
 * runs and R rounds (default 15) in which each library runs once, in rotating order; a run
 * computes from resident inputs and reads the output back into a typed array. Prints the
 * median ms per library and workload.
 */
import { parseArgs } from 'node:util';
import type * as Jax from '@jax-js/jax';
import { config, jit, nn, np, scope, setDefaultBackend, type Array as VArray } from '../src/index.js';
import { loadJaxjs } from './lib/jaxjs.js';
import { loadTfjs, tfjsModule } from './lib/tfjs.js';

const { values: opts } = parseArgs({ options: { threads: { type: 'string', default: '1' }, rounds: { type: 'string', default: '15' } } });
const threads = Math.max(1, Number(opts.threads));
const rounds = Math.max(1, Number(opts.rounds));

interface Workload {
  name: string;
  shape: number[];
  vidax: (x: VArray) => VArray;
  tfjs: (tf: NonNullable<ReturnType<typeof tfjsModule>>, x: import('@tensorflow/tfjs-core').Tensor) => import('@tensorflow/tfjs-core').Tensor;
  /** jax-js arrays are consumed by use: a value used twice is passed as `.ref` the first time. */
  jax: (j: typeof Jax, x: Jax.Array) => Jax.Array;
}

const EPS = 1e-5;
const WORKLOADS: Workload[] = [
  {
    name: 'softmax rows 4096×1024', shape: [4096, 1024],
    vidax: (x) => nn.softmax(x, -1),
    tfjs: (tf, x) => tf.softmax(x),
    jax: (j, x) => j.nn.softmax(x, -1),
  },
  {
    name: 'layer norm rows 4096×1024', shape: [4096, 1024],
    vidax: (x) => {
      const d = np.sub(x, np.mean(x, -1, true));
      return np.div(d, np.sqrt(np.add(np.mean(np.square(d), -1, true), EPS)));
    },
    tfjs: (tf, x) => {
      const d = tf.sub(x, tf.mean(x, -1, true));
      return tf.div(d, tf.sqrt(tf.add(tf.mean(tf.square(d), -1, true), EPS)));
    },
    jax: (j, x) => {
      const d = x.ref.sub(j.numpy.mean(x, -1, { keepdims: true }));
      return d.ref.div(j.numpy.sqrt(j.numpy.mean(j.numpy.square(d), -1, { keepdims: true }).add(EPS)));
    },
  },
  {
    name: 'row sums 4096×1024 → 4096', shape: [4096, 1024],
    vidax: (x) => np.sum(x, -1),
    tfjs: (tf, x) => tf.sum(x, -1),
    jax: (j, x) => j.numpy.sum(x, -1),
  },
  {
    name: 'column sums 4096×1024 → 1024', shape: [4096, 1024],
    vidax: (x) => np.sum(x, 0),
    tfjs: (tf, x) => tf.sum(x, 0),
    jax: (j, x) => j.numpy.sum(x, 0),
  },
  {
    name: 'channel means 16×64×64×64 → 64 (axes 0, 2, 3)', shape: [16, 64, 64, 64],
    vidax: (x) => np.mean(x, [0, 2, 3]),
    tfjs: (tf, x) => tf.mean(x, [0, 2, 3]),
    jax: (j, x) => j.numpy.mean(x, [0, 2, 3]),
  },
];

type Runner = { label: string; run: () => Promise<Float32Array>; dispose: () => void };

function input(shape: number[]): Float32Array {
  let s = 12345;
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = ((s >>> 8) / 2 ** 24) * 8 - 4;
  }
  return out;
}

function vidaxRunner(backend: 'cpu' | 'wasm', w: Workload, data: Float32Array): Runner {
  setDefaultBackend(backend);
  const x = np.reshape(np.array(data), w.shape);
  const f = jit(w.vidax);
  return {
    label: `vidax ${backend}`,
    async run() {
      setDefaultBackend(backend);
      const y = scope(() => f(x));
      try {
        return (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
    },
    dispose: () => x.dispose(),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  config.threads = threads;
  const tf = threads === 1 ? (await loadTfjs(), tfjsModule()) : undefined;
  const jax = (await loadJaxjs(threads), (await import('@jax-js/jax')) as typeof Jax);
  console.log(`threads: ${threads}; vidax wasm${tf ? ', tfjs-wasm' : ''}, jax-js wasm; median ms of ${rounds} rounds`);
  for (const w of WORKLOADS) {
    const data = input(w.shape);
    const runners: Runner[] = [vidaxRunner('wasm', w, data)];
    if (tf) {
      const x = tf.tensor(data, w.shape, 'float32');
      runners.push({
        label: 'tfjs-wasm',
        async run() {
          const y = tf.tidy(() => w.tfjs(tf, x));
          try {
            return (await y.data()) as Float32Array;
          } finally {
            y.dispose();
          }
        },
        dispose: () => x.dispose(),
      });
    }
    {
      const x = jax.numpy.array(data, { shape: w.shape });
      const f = jax.jit((v: Jax.Array) => w.jax(jax, v));
      runners.push({ label: 'jax-js wasm', run: async () => (await f(x.ref).data()) as Float32Array, dispose: () => (x.dispose(), f.dispose()) });
    }
    // The numerical check on the full instance, against the JavaScript oracle.
    const oracle = vidaxRunner('cpu', w, data);
    const ref = await oracle.run();
    oracle.dispose();
    let scale = 0;
    for (const v of ref) scale = Math.max(scale, Math.abs(v));
    for (const r of runners) {
      const got = await r.run();
      const bad = got.length !== ref.length ? 0 : ref.findIndex((v, i) => !(Math.abs(got[i] - v) <= 1e-3 * Math.abs(v) + 1e-4 * scale));
      if (got.length !== ref.length || bad >= 0) throw new Error(`${w.name}: ${r.label} disagrees with the oracle${bad >= 0 ? ` at ${bad}: ${got[bad]} vs ${ref[bad]}` : ''}`);
      await r.run(); // second warm-up
    }
    const samples = runners.map((): number[] => []);
    for (let round = 0; round < rounds; round++)
      for (let k = 0; k < runners.length; k++) {
        const i = (round + k) % runners.length;
        const t0 = performance.now();
        await runners[i].run();
        samples[i].push(performance.now() - t0);
      }
    runners.forEach((r) => r.dispose());
    console.log(`  ${w.name}: ${runners.map((r, i) => `${r.label} ${median(samples[i]).toFixed(2)}`).join(', ')}`);
  }
}

await main();
process.exit(0);
