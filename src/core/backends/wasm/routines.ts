/**
 * The wasm backend's hand-written routines, emitted once into one module that imports the
 * backend's memory (`env.memory`): the float32 matmul for now. The same module is
 * instantiated on the main thread and in every worker of the thread pool.
 */
import { ModuleBuilder, type MemoryLimits } from './encoder.js';
import { addGemm } from './gemm.js';

export interface RoutineExports {
  /** `gemm(a, lda, b, ldb, c, ldc, m, n, k, work)`: byte addresses and strides; see `gemm.ts`. */
  readonly gemm: (a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number, work: number) => void;
}

/** The routines module's bytes, for a memory of these limits. */
export function routinesModule(memory: MemoryLimits): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder();
  mod.importMemory('env', 'memory', memory);
  const { gemm } = addGemm(mod);
  mod.exportFunction('gemm', gemm);
  return mod.build();
}
