/**
 * Running a fused step (`CallStep.fused`, emitted by `fused_patterns.ts`) on the backend of
 * its arrays: operands made contiguous (copies are released with the run's scope, as
 * `runRoutine`'s are), one output buffer, the backend's `fused` routine.
 */
import type { ShapedArray } from '../aval.js';
import { NDArray } from '../array.js';
import type { FusedCall } from './fused_patterns.js';

/** Run a fused step on arrays (made contiguous) of its backend; returns the output array. */
export function runFused(call: FusedCall, args: readonly NDArray[], out: ShapedArray): NDArray {
  const ins = args.map((a) => a.contiguous());
  const b = ins[0].backend;
  if (!b.fused) throw new Error(`jit: backend ${b.name} has no fused routine '${call.name}'`);
  const buf = b.alloc(out.dtype, out.size);
  if (out.size > 0) b.fused(call.name, ins.map((a) => a.buffer), [buf], call.params);
  return NDArray.fromBuffer(b, buf, out.shape, out.dtype, out.weakType);
}
