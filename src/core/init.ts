/**
 * Wiring done once when vidax is imported: the CPU backends are registered — the JavaScript
 * oracle `cpu` always, the WebAssembly backend `wasm` where WebAssembly exists (it creates its
 * memory on first use) — and `wasm` is made the default when present. The environment
 * variable `VIDAX_BACKEND` (Node; like JAX's `JAX_PLATFORMS`) picks another registered
 * default, e.g. `VIDAX_BACKEND=cpu` to run everything on the oracle. Then the eager trace is
 * installed as the root trace and array methods are installed.
 */
import './array_methods.js';
import './kernel/program.js';
import { backends, defaultBackend, registerBackend, setDefaultBackend, type BackendName } from './backends/backend.js';
import { CpuBackend } from './backends/runtime/cpu.js';
import { WasmBackend } from './backends/runtime/wasm.js';
import { ValueError } from './errors.js';
import { rules } from './prims/registry.js';
import { installEvalTrace } from './trace/eval.js';
import { installRules } from './trace/rule_table.js';

registerBackend(new CpuBackend());
if (typeof WebAssembly === 'object') {
  registerBackend(new WasmBackend());
  setDefaultBackend('wasm');
}
const requested = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.VIDAX_BACKEND;
if (requested) {
  if (!backends().includes(requested as BackendName))
    throw new ValueError(`VIDAX_BACKEND='${requested}' names no backend available at import; available: ${backends().join(', ')} (webgpu is selected after initWebGpu())`);
  setDefaultBackend(requested as BackendName);
}
installRules(rules);
installEvalTrace(defaultBackend);
