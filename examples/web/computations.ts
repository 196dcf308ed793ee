/**
 * What the web demo computes (shared by the page, `main.ts`, and its headless test, which
 * recomputes it in Node on the CPU oracle): a small two-layer network y = tanh(x·W₁)·W₂ under
 * `jit`, and the gradient of its mean squared output with respect to both weight matrices
 * under `jit(grad(...))`. The operands are fixed, seeded data so every run shows the same numbers.
 */
import { grad, jit, np, type Array as VArray } from '../../src/index.js';

export interface Params {
  w1: VArray;
  w2: VArray;
}

/** Shapes: x is 4×3, W₁ 3×5, W₂ 5×2. */
export const SHAPES = { x: [4, 3], w1: [3, 5], w2: [5, 2] } as const;

/** Deterministic operand data in [-1, 1) (a small LCG), as Float32Arrays keyed like SHAPES. */
export function operandData(): Record<keyof typeof SHAPES, Float32Array> {
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const make = (shape: readonly number[]) => Float32Array.from({ length: shape[0] * shape[1] }, next);
  return { x: make(SHAPES.x), w1: make(SHAPES.w1), w2: make(SHAPES.w2) };
}

const forward = (p: Params, x: VArray): VArray => np.matmul(np.tanh(np.matmul(x, p.w1)), p.w2);
const loss = (p: Params, x: VArray): VArray => np.mean(np.square(forward(p, x)));

/** The forward pass, jit-compiled (one fused program per backend and shape). */
export const predict = jit(forward);
/** ∂loss/∂(W₁, W₂), jit-compiled. */
export const lossGrad = jit(grad(loss));

/** The named results the page shows: the forward output and both gradients, as flat float arrays. */
export async function computeAll(p: Params, x: VArray): Promise<Record<'predict' | 'grad w1' | 'grad w2', Float32Array>> {
  const y = predict(p, x);
  const g = lossGrad(p, x);
  const read = async (a: VArray) => Float32Array.from(await a.data());
  const out = { predict: await read(y), 'grad w1': await read(g.w1), 'grad w2': await read(g.w2) };
  [y, g.w1, g.w2].forEach((a) => a.dispose());
  return out;
}
