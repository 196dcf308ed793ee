/**
 * The eager (root) trace: a primitive applied outside every transformation runs at once on
 * the backend of its operands. Expression primitives become one kernel each (or a zero-copy
 * view); routine primitives call the backend's routine.
 */
import { NDArray, scope } from '../array.js';
import { config } from '../config.js';
import { DTypeError, FloatingPointError, TracerLeakError, ValueError } from '../errors.js';
import { outVar, type Kernel } from '../kernel/ir.js';
import { rulesOf } from './rule_table.js';
import type { Prim, PrimParams } from './primitive.js';
import { setRootTrace, type Trace } from './trace.js';
import { Tracer, type Value } from './value.js';

export class EvalTrace implements Trace {
  readonly tag = 0;
  readonly parent = null;

  describe(): string {
    return 'EvalTrace';
  }

  process<P extends Prim>(prim: P, args: readonly Value[], params: PrimParams[P]): Value[] {
    const arrays = args.map((a, i) => {
      if (a instanceof Tracer)
        throw new TracerLeakError(
          `${prim}: operand ${i} is a tracer ${a.aval.str()} from ${a.trace.describe()} that escaped its transformation; ` +
            `return it from the transformed function instead of storing it.`,
        );
      if (!(a instanceof NDArray)) throw new ValueError(`${prim}: operand ${i} is not an array`);
      a.check(prim);
      return a;
    });
    // Temporaries of the implementation (views, contiguous copies) are released at once.
    const results = scope(() => this.run(prim, arrays, params), (r) => r);
    if (config.debugNans) checkNans(prim, results);
    return results;
  }

  private run<P extends Prim>(prim: P, arrays: NDArray[], params: PrimParams[P]): NDArray[] {
    const rule = rulesOf(prim);
    const outs = rule.abstractEval(arrays.map((a) => a.aval), params);
    if (rule.kind === 'routine') return rule.impl(arrays, params, outs);
    if (rule.kind === 'interpret') return rule.impl(arrays, params) as NDArray[];
    const out = outs[0];
    if (rule.view) {
      const v = rule.view(arrays[0], params, out);
      if (v) return [v];
    }
    const backend = arrays[0]?.backend ?? defaultBackendOf();
    for (const a of arrays)
      if (a.backend !== backend)
        throw new DTypeError(`${prim}: operands live on different backends (${arrays.map((x) => x.backend.name).join(', ')}); use devicePut`);
    const fn = rule.expr(params, arrays.map((a, i) => (idx) => a.loadAt(i, idx)), arrays.map((a) => a.aval), out);
    const kernel: Kernel = {
      inputs: arrays.map((a) => a.dtype),
      outShape: out.shape,
      outDtype: out.dtype,
      expr: fn(out.shape.map((_, i) => outVar(i))),
      label: prim,
    };
    const buf = backend.alloc(out.dtype, out.size);
    if (out.size > 0) backend.run(kernel, arrays.map((a) => a.buffer), buf);
    return [NDArray.fromBuffer(backend, buf, out.shape, out.dtype, out.weakType)];
  }
}

/** `config.debugNans`: name the first primitive whose float output contains a NaN. */
function checkNans(prim: string, outs: readonly NDArray[]): void {
  outs.forEach((o, i) => {
    if (o.dtype !== 'float32') return;
    const error = (at: number) => new FloatingPointError(`debugNans: ${prim} produced a NaN in output ${i} ${o.aval.str()} at flat index ${at}`);
    if (!o.backend.hostMemory && o.backend.checkNansLater) {
      // No synchronous reads (WebGPU): checked when the value arrives, thrown at the next read.
      const c = o.contiguous();
      o.backend.checkNansLater(c.buffer, error);
      if (c !== o) c.dispose();
      return;
    }
    const d = o.dataSync();
    const at = d.findIndex((v) => Number.isNaN(v));
    if (at >= 0) throw error(at);
  });
}

let defaultBackendOf: () => import('../backends/backend.js').Backend;

/** Install the eager trace as the root trace, with the default-backend lookup. */
export function installEvalTrace(backendOf: typeof defaultBackendOf): EvalTrace {
  defaultBackendOf = backendOf;
  const t = new EvalTrace();
  setRootTrace(t);
  return t;
}
