/**
 * jax-js on its WebAssembly backend, with `jit` for the fusable workloads and
 * `jit(grad(loss))` for the MLP, as its documentation recommends. Arrays are reference
 * counted: every call passes `.ref` of the inputs it must keep, and `data()` consumes results.
 *
 * Threads: jax-js parallelizes wasm kernels over Web Workers sharing a WebAssembly.Memory,
 * sized by `navigator.hardwareConcurrency`. Node 20 has neither `navigator` nor a global
 * `Worker`, so one thread runs kernels on the main thread (no workers) and N > 1 threads
 * install a Web Worker shim over worker_threads (`web_worker.ts`) with N workers. The count
 * is fixed when the backend starts, hence one thread count per benchmark process.
 */
import { createRequire } from 'node:module';
import type * as Jax from '@jax-js/jax';
import { packageVersion, type Contender, type LibraryInfo, type Prepared } from './contender.js';
import { installWebWorker } from './web_worker.js';
import { MLP_PARAM_ORDER, type Instance } from './workloads.js';

type JArray = Jax.Array;
type Params = Record<(typeof MLP_PARAM_ORDER)[number], JArray>;

let jax: typeof Jax | undefined;
let workers = 0;

/** Start jax-js's wasm backend computing on `threads` threads (once per process). */
export async function loadJaxjs(threads: number): Promise<LibraryInfo> {
  const g = globalThis as { navigator?: unknown };
  if (g.navigator === undefined) g.navigator = { hardwareConcurrency: threads, userAgent: 'node' };
  if (threads > 1) installWebWorker();
  workers = threads > 1 ? threads : 0;
  jax = await import('@jax-js/jax');
  const available = await jax.init('wasm');
  if (!available.includes('wasm')) throw new Error(`jax-js: wasm backend unavailable (got ${available.join(', ')})`);
  jax.defaultDevice('wasm');
  const version = packageVersion('@jax-js/jax', createRequire(import.meta.url));
  return {
    name: '@jax-js/jax',
    version,
    notes: ['wasm backend; 1 thread = kernels on the main thread, N threads = N Web Workers (worker_threads shim)'],
  };
}

/** An instance on jax-js's default device (wasm here; `bench/webgpu.ts` uses it on webgpu). */
export function prepare(j: typeof Jax, inst: Instance): Prepared {
  const { numpy: np, lax, nn, jit, grad } = j;
  const owned: JArray[] = [];
  const jitted: { dispose(): void }[] = [];
  const put = (data: Float32Array, shape: number[]): JArray => {
    const a = np.array(data, { shape });
    owned.push(a);
    return a;
  };
  let compute: () => JArray[];
  switch (inst.kind) {
    case 'matmul': {
      const a = put(inst.a, [inst.m, inst.k]), b = put(inst.b, [inst.k, inst.n]);
      compute = () => [np.matmul(a.ref, b.ref)];
      break;
    }
    case 'conv': {
      const x = put(inst.x, [inst.n, inst.c, inst.h, inst.w]), w = put(inst.filter, [inst.o, inst.c, inst.kh, inst.kw]);
      compute = () => [lax.convGeneralDilated(x.ref, w.ref, [1, 1], 'SAME')];
      break;
    }
    case 'chain': {
      const x = put(inst.x, [inst.size]);
      const f = jit((v: JArray) => np.tanh(v.ref).mul(nn.sigmoid(v)));
      jitted.push(f);
      compute = () => [f(x.ref)];
      break;
    }
    case 'softmax': {
      const x = put(inst.x, [inst.rows, inst.cols]);
      const f = jit((v: JArray) => nn.softmax(v, -1));
      jitted.push(f);
      compute = () => [f(x.ref)];
      break;
    }
    case 'mlp': {
      const { batch, width } = inst;
      const p = {} as Params;
      for (const k of MLP_PARAM_ORDER) p[k] = put(inst.params[k], k.startsWith('w') ? [width, width] : [width]);
      const x = put(inst.x, [batch, width]), y = put(inst.y, [batch, width]);
      // Each argument is used exactly once, so the loss consumes its inputs without `.ref`.
      const loss = (q: Params, xs: JArray, ys: JArray): JArray => {
        const h1 = np.tanh(np.matmul(xs, q.w1).add(q.b1));
        const h2 = np.tanh(np.matmul(h1, q.w2).add(q.b2));
        const out = np.matmul(h2, q.w3).add(q.b3);
        return np.square(out.sub(ys)).mean();
      };
      const g = jit(grad(loss));
      jitted.push(g);
      compute = () => {
        const args = {} as Params;
        for (const k of MLP_PARAM_ORDER) args[k] = p[k].ref;
        const gp = g(args, x.ref, y.ref) as Params;
        return MLP_PARAM_ORDER.map((k) => gp[k]);
      };
      break;
    }
  }
  return {
    async run() {
      const outs = compute();
      return (await Promise.all(outs.map((o) => o.data()))) as Float32Array[];
    },
    dispose() {
      for (const a of owned) a.dispose();
      for (const f of jitted) f.dispose();
    },
  };
}

export function jaxjsContenders(threads: number): Contender[] {
  const j = jax;
  if (!j) return [];
  return [{
    id: 'jax-js-wasm',
    label: 'jax-js wasm',
    isVidax: false,
    threads: Math.max(1, workers),
    prepare: async (inst) => prepare(j, inst),
  }];
}
