/**
 * vidax on each registered backend (`devices()`), with `jit` for the workloads that fuse
 * (chain, softmax, MLP gradient); matmul and conv are single routines and run eagerly.
 *
 * Threads: where vidax's `config` has a numeric `threads` setting, the harness sets it; the
 * JavaScript `cpu` backend is single-threaded by construction.
 */
import { config, devices, grad, jit, lax, nn, np, scope, setDefaultBackend, type Array as VArray, type BackendName } from '../../src/index.js';
import type { Contender, Prepared } from './contender.js';
import { MLP_PARAM_ORDER, type Instance } from './workloads.js';

type Params = Record<(typeof MLP_PARAM_ORDER)[number], VArray>;

const settings = config as unknown as Record<string, unknown>;
/** Whether vidax exposes a thread-count setting (`config.threads`). */
export const vidaxThreadSetting = typeof settings.threads === 'number';

function mlpLoss(p: Params, x: VArray, y: VArray): VArray {
  const h1 = np.tanh(np.add(np.matmul(x, p.w1), p.b1));
  const h2 = np.tanh(np.add(np.matmul(h1, p.w2), p.b2));
  const out = np.add(np.matmul(h2, p.w3), p.b3);
  return np.mean(np.square(np.sub(out, y)));
}

function prepareOn(backend: BackendName, inst: Instance): Prepared {
  setDefaultBackend(backend);
  const owned: VArray[] = [];
  const put = (data: Float32Array, shape: readonly number[]): VArray => {
    const a = np.reshape(np.array(data), shape);
    owned.push(a);
    return a;
  };
  let compute: () => VArray[];
  switch (inst.kind) {
    case 'matmul': {
      const a = put(inst.a, [inst.m, inst.k]), b = put(inst.b, [inst.k, inst.n]);
      compute = () => [np.matmul(a, b)];
      break;
    }
    case 'conv': {
      const x = put(inst.x, [inst.n, inst.c, inst.h, inst.w]), w = put(inst.filter, [inst.o, inst.c, inst.kh, inst.kw]);
      compute = () => [lax.convGeneralDilated(x, w, [1, 1], 'SAME')];
      break;
    }
    case 'chain': {
      const x = put(inst.x, [inst.size]);
      const f = jit((v: VArray) => np.mul(np.tanh(v), np.sigmoid(v)));
      compute = () => [f(x)];
      break;
    }
    case 'softmax': {
      const x = put(inst.x, [inst.rows, inst.cols]);
      const f = jit((v: VArray) => nn.softmax(v, -1));
      compute = () => [f(x)];
      break;
    }
    case 'mlp': {
      const { batch, width } = inst;
      const p = {} as Params;
      for (const k of MLP_PARAM_ORDER) p[k] = put(inst.params[k], k.startsWith('w') ? [width, width] : [width]);
      const x = put(inst.x, [batch, width]), y = put(inst.y, [batch, width]);
      const g = jit(grad(mlpLoss));
      compute = () => {
        const gp = g(p, x, y) as Params;
        return MLP_PARAM_ORDER.map((k) => gp[k]);
      };
      break;
    }
  }
  return {
    async run() {
      setDefaultBackend(backend);
      const outs = scope(compute);
      try {
        return (await Promise.all(outs.map((o) => o.data()))) as Float32Array[];
      } finally {
        for (const o of outs) o.dispose();
      }
    },
    dispose() {
      for (const a of owned) a.dispose();
    },
  };
}

/** One contender per registered vidax backend; `threads` is applied where vidax can be told. */
export function vidaxContenders(threads: number): Contender[] {
  if (vidaxThreadSetting) settings.threads = threads;
  const out: Contender[] = [];
  for (const backend of devices()) {
    // The JS backend runs on the calling thread only; other backends follow config.threads.
    if (backend === 'cpu' && threads !== 1) continue;
    if (backend !== 'cpu' && !vidaxThreadSetting && threads !== 1) continue;
    out.push({
      id: `vidax-${backend}`,
      label: `vidax ${backend}`,
      isVidax: true,
      threads: backend === 'cpu' ? 1 : vidaxThreadSetting ? threads : null,
      prepare: async (inst) => prepareOn(backend, inst),
    });
  }
  return out;
}

export const vidaxBackends = (): string[] => [...devices()];

/** Outputs of `inst` on vidax's JavaScript `cpu` backend, the reference of the numerical check. */
export async function vidaxReference(inst: Instance): Promise<Float32Array[]> {
  const p = prepareOn('cpu', inst);
  try {
    return (await p.run()).map((a) => Float32Array.from(a));
  } finally {
    p.dispose();
  }
}
