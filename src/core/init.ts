/**
 * Wiring done once when vidax is imported: the CPU backend is registered and made the
 * default (the WebAssembly backend is registered beside it where WebAssembly exists; it
 * creates its memory on first use), the eager trace is installed as the root trace, and
 * array methods are installed.
 */
import './array_methods.js';
import './kernel/program.js';
import { defaultBackend, registerBackend } from './backends/backend.js';
import { CpuBackend } from './backends/runtime/cpu.js';
import { WasmBackend } from './backends/runtime/wasm.js';
import { rules } from './prims/registry.js';
import { installEvalTrace } from './trace/eval.js';
import { installRules } from './trace/rule_table.js';

registerBackend(new CpuBackend());
if (typeof WebAssembly === 'object') registerBackend(new WasmBackend());
installRules(rules);
installEvalTrace(defaultBackend);
