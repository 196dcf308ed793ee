/**
 * The wasm backend's hand-written routines, emitted once into one module that imports the
 * backend's memory (`env.memory`): the float32 matmul (`gemm.ts`), the float32
 * convolution (`conv.ts`, an implicit GEMM sharing the matmul's kernels) and the fused float32
 * softmax over the last axis (`softmax.ts`). The same module is
 * instantiated on the main thread and in every worker of the thread pool.
 */
import { addConv } from './conv.js';
import { ModuleBuilder, type MemoryLimits } from './encoder.js';
import { addGemm } from './gemm.js';
import { addSoftmax } from './softmax.js';

export interface RoutineExports {
  /** `gemm(a, lda, b, ldb, c, ldc, m, n, k, work)`: byte addresses and strides; see `gemm.ts`. */
  readonly gemm: (a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number, work: number) => void;
  /** `conv(a, lda, img, chanBytes, tab, modes, tabCols, taps, col0, c, ldc, m, n, k, kcStep, work)`; see `conv.ts`. */
  readonly conv: (...args: number[]) => void;
  /** `allFinite(ptr, n)`: 1 if none of the n floats at byte address `ptr` is ±∞ or NaN. */
  readonly allFinite: (ptr: number, n: number) => number;
  /** `softmax(src, dst, rows, cols, guarded)`: byte addresses; see `softmax.ts`. */
  readonly softmax: (src: number, dst: number, rows: number, cols: number, guarded: number) => void;
}

/** The routines module's bytes, for a memory of these limits. */
export function routinesModule(memory: MemoryLimits): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder();
  mod.importMemory('env', 'memory', memory);
  const gemm = addGemm(mod);
  const { conv, allFinite } = addConv(mod, gemm);
  mod.exportFunction('gemm', gemm.gemm);
  mod.exportFunction('conv', conv);
  mod.exportFunction('allFinite', allFinite);
  mod.exportFunction('softmax', addSoftmax(mod));
  return mod.build();
}
