/**
 * `threefry2x32`: the Threefry-2x32 block cipher (Salmon et al., SC 2011) on four
 * equally shaped uint32 operands (key words k0, k1; counter words x0, x1), returning two.
 * Everything in `random.ts` (keys, split, bits, samplers) is built on this one primitive.
 * Its outputs are integer bits, so their tangents are zero; it is elementwise over its four
 * operands, so vmap runs it once on the operands with the batch dims moved to the front.
 */
import { ShapedArray } from '../aval.js';
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { shapeEq } from '../shape.js';
import { vectorizedBatch, zeroJvp } from './ad_util.js';
import type { RuleTable } from './rules.js';
import { runRoutine } from './routine.js';

declare module '../trace/primitive.js' {
  interface PrimParams {
    threefry2x32: Record<string, never>;
  }
}

export const randomRules: RuleTable<'threefry2x32'> = {
  threefry2x32: {
    kind: 'routine',
    abstractEval: (avals) => {
      if (avals.length !== 4) throw new ShapeError(`threefry2x32: expected 4 operands (k0, k1, x0, x1), got ${avals.length}`);
      for (const a of avals) {
        if (a.dtype !== 'uint32') throw new DTypeError(`threefry2x32: operands must be uint32, got ${avals.map((x) => x.str()).join(', ')}`);
        if (!shapeEq(a.shape, avals[0].shape)) throw new ShapeError(`threefry2x32: operand shapes differ: ${avals.map((x) => fmtShape(x.shape)).join(', ')}`);
      }
      const out = new ShapedArray(avals[0].shape, 'uint32');
      return [out, out];
    },
    impl: (args, _p, outs) => runRoutine('threefry', args, outs, { size: outs[0].size }),
    jvp: zeroJvp('threefry2x32'),
    batch: vectorizedBatch('threefry2x32'),
  },
};
