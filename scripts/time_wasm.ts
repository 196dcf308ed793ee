/**
 * Quick timings of the wasm backend (not the peer benchmark, which is `npm run bench`):
 * matmul 1024² in GFLOP/s (and tfjs-wasm's, measured alternately in the same process when
 * `--tfjs` is given), the gradient of a 3-layer MLP (width 1024, batch 256), the tanh·sigmoid
 * chain over 4M elements and softmax over 4096×1024 rows in ms, on `wasm` and on the
 * JavaScript `cpu` backend (the MLP on cpu only when asked for with `--only=mlp`: seconds).
 * Every run reads its outputs back. Minimum and median of the runs after warm-up;
 * `--threads=N` sets `config.threads` for the wasm runs.
 *
 *   node --import tsx scripts/time_wasm.ts [--tfjs] [--threads=2] [--only=matmul,mlp,chain,softmax] [--runs=10]
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { config, grad, jit, nn, np, scope, setDefaultBackend, type Array as VArray } from '../src/index.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string | undefined]));
const runs = Number(args.get('runs') ?? 10);
const only = args.get('only')?.split(',');
const threads = Number(args.get('threads') ?? 1);
const settings = config as unknown as Record<string, unknown>;
if (typeof settings.threads === 'number') settings.threads = threads;

const stats = (ts: number[]) => {
  const s = [...ts].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
};
async function time(label: string, fn: () => Promise<void> | void, flops?: number): Promise<void> {
  for (let i = 0; i < 3; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  const { min, median } = stats(ts);
  const rate = flops ? `  ${(flops / median / 1e6).toFixed(1)} GFLOP/s (best ${(flops / min / 1e6).toFixed(1)})` : '';
  console.log(`${label.padEnd(34)} median ${median.toFixed(2)} ms, min ${min.toFixed(2)} ms${rate}`);
}

const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7311) * scale);
const want = (w: string) => !only || only.includes(w);

function onBackend(name: 'cpu' | 'wasm', shape: number[], data: Float32Array): VArray {
  setDefaultBackend(name);
  return np.reshape(np.array(data), shape);
}

if (want('matmul')) {
  const N = 1024;
  const a = onBackend('wasm', [N, N], rand(N * N)), b = onBackend('wasm', [N, N], rand(N * N, 0.5));
  setDefaultBackend('wasm');
  await time(`vidax wasm matmul ${N}² (${threads}T)`, () => scope(() => void np.matmul(a, b).dataSync()), 2 * N ** 3);
  if (args.has('tfjs')) {
    const require = createRequire(import.meta.url);
    const tf = require('@tensorflow/tfjs-core');
    require('@tensorflow/tfjs-backend-wasm').setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
    await tf.setBackend('wasm');
    const ta = tf.tensor2d(rand(N * N), [N, N]), tb = tf.tensor2d(rand(N * N, 0.5), [N, N]);
    await time(`tfjs-wasm matmul ${N}² (1T)`, async () => {
      const c = tf.matMul(ta, tb);
      await c.data();
      c.dispose();
    }, 2 * N ** 3);
    await time(`vidax wasm matmul ${N}² (${threads}T), again`, () => scope(() => void np.matmul(a, b).dataSync()), 2 * N ** 3);
  }
}

if (want('mlp')) {
  // grad of a 3-layer tanh MLP, width 1024, batch 256, MSE loss (the peer benchmark's workload)
  const [B, W] = [256, 1024];
  for (const backend of ['wasm', 'cpu'] as const) {
    if (backend === 'cpu' && !only?.includes('mlp')) continue;
    const p = Object.fromEntries(['w1', 'w2', 'w3'].map((k) => [k, onBackend(backend, [W, W], rand(W * W, 0.03))]).concat(['b1', 'b2', 'b3'].map((k) => [k, onBackend(backend, [W], rand(W, 0.1))]))) as Record<string, VArray>;
    const x = onBackend(backend, [B, W], rand(B * W)), y = onBackend(backend, [B, W], rand(B * W, 0.5));
    const loss = (q: Record<string, VArray>, xv: VArray, yv: VArray) => {
      const h1 = np.tanh(np.add(np.matmul(xv, q.w1), q.b1));
      const h2 = np.tanh(np.add(np.matmul(h1, q.w2), q.b2));
      return np.mean(np.square(np.sub(np.add(np.matmul(h2, q.w3), q.b3), yv)));
    };
    const g = jit(grad(loss));
    await time(`${backend} MLP grad 1024, batch 256`, () => scope(() => void Object.values(g(p, x, y) as Record<string, VArray>).map((v) => v.dataSync())), 16 * B * W * W);
  }
}

for (const backend of ['wasm', 'cpu'] as const) {
  if (want('chain')) {
    const x = onBackend(backend, [4 << 20], rand(4 << 20, 4));
    const f = jit((v: VArray) => np.mul(np.tanh(v), nn.sigmoid(v)));
    await time(`${backend} tanh·sigmoid chain 4M`, () => scope(() => void f(x).dataSync()));
  }
  if (want('softmax')) {
    const x = onBackend(backend, [4096, 1024], rand(4096 * 1024, 3));
    const f = jit((v: VArray) => nn.softmax(v, -1));
    await time(`${backend} softmax 4096×1024`, () => scope(() => void f(x).dataSync()));
  }
}
process.exit(0);
