/**
 * Selecting devices: `initWebGpu()` creates a WebGPU device and registers the `webgpu`
 * backend (it then shows in `devices()` and can be made the default with
 * `setDefaultBackend('webgpu')`); `devicePut` copies arrays to another backend.
 *
 * The WebGPU runtime is loaded by dynamic `import()` on the first `initWebGpu()`, so the CPU
 * path never loads it (nor, in Node, the native `webgpu` package it loads in turn).
 */
import { NDArray } from './array.js';
import { getBackend, registerBackend, type BackendName } from './backends/backend.js';
import type { WebGpuBackend, WebGpuInfo, WebGpuOptions } from './backends/runtime/webgpu.js';
import { ValueError } from './errors.js';
import { Tracer } from './trace/value.js';
import * as tree from './tree.js';

export type { WebGpuInfo, WebGpuOptions } from './backends/runtime/webgpu.js';

let webgpu: Promise<WebGpuBackend> | null = null;

/**
 * Create the WebGPU device (browser: `navigator.gpu`; Node: the optional `webgpu` package,
 * Dawn) and register the `webgpu` backend. Resolves with what it runs on; later calls return
 * the same device unless it was lost. Rejects with a `DeviceError` naming what was tried when
 * there is no adapter.
 */
export async function initWebGpu(opts: WebGpuOptions = {}): Promise<WebGpuInfo> {
  if (webgpu) {
    const b = await webgpu.catch(() => null);
    if (b && !b.isLost) return b.describe();
    webgpu = null;
  }
  const pending = (webgpu = (async () => {
    const { createWebGpuBackend } = await import('./backends/runtime/webgpu.js');
    const b = await createWebGpuBackend(opts);
    registerBackend(b);
    return b;
  })());
  try {
    return (await pending).describe();
  } catch (e) {
    if (webgpu === pending) webgpu = null;
    throw e;
  }
}

/**
 * A copy of `x` (an array, or any pytree of arrays) on `backend`; arrays already there are
 * returned as they are. Asynchronous because reading a device's memory is (the CPU and
 * WebAssembly backends read at once).
 */
export async function devicePut<T>(x: T, backend: BackendName): Promise<T> {
  const target = getBackend(backend);
  const [leaves, def] = tree.flatten(x as tree.PyTree<unknown>);
  const moved = await Promise.all(
    leaves.map(async (a) => {
      if (a instanceof Tracer) throw new ValueError(`devicePut: cannot move a traced value ${a.aval.str()}; call it outside jit/grad/vmap`);
      if (!(a instanceof NDArray) || a.backend === target) return a;
      a.check('devicePut');
      const data = await a.data();
      return NDArray.fromData(target, data, a.shape, a.dtype, a.weakType);
    }),
  );
  return tree.unflatten(def, moved) as T;
}


