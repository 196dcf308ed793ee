/**
 * The polyphase decomposition of input-dilated convolutions (`routines/conv_phases.ts`),
 * against the definition: for every output position, the (tap, input element) pairs that its
 * phase's dense sub-convolution reads are exactly the pairs of the direct form whose dilated
 * input position is a real element, in the same tap order; every sub-convolution has the
 * phase's number of outputs; the phases of several dims combine as a product. (That the wasm
 * backend's phased convolutions give the direct form's bits is `wasm_conv.test.ts`'s.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { convPhases } from '../src/core/backends/routines/conv_phases.js';
import { lcg } from './helpers.js';

const rng = lcg(17);
const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

/** The direct form's (tap, input) pairs of output o (1-D, window stride 1). */
function direct(inSize: number, win: number, lo: number, d: number, r: number, o: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let k = 0; k < win; k++) {
    const t = o + k * r - lo;
    if (t >= 0 && t <= (inSize - 1) * d && t % d === 0) pairs.push([k, t / d]);
  }
  return pairs;
}

test('1-D: every output reads, through its phase, exactly the real elements of the direct form', () => {
  let checked = 0;
  for (let c = 0; c < 3000; c++) {
    const inSize = int(1, 9), win = int(1, 5), d = int(1, 4), r = int(1, 3), lo = int(-2, 5), hi = int(-2, 5);
    const out = (inSize - 1) * d + 1 + lo + hi - (win - 1) * r;
    if (out < 1) continue;
    const phases = convPhases([inSize], [win], [out], [1], [[lo, hi]], [d], [r]);
    if (d === 1) {
      assert.is(phases, null, 'no lhs dilation: nothing to decompose');
      continue;
    }
    assert.ok(phases);
    assert.is(phases.length, Math.min(d, out));
    const seen = new Map<number, [number, number][]>();
    for (const ph of phases) {
      const [first, step, M] = [ph.first[0], ph.step[0], ph.outSp[0]];
      const t = ph.taps[0], [plo, phi] = ph.padding[0], rd = ph.rhsDilation[0];
      assert.is(M, Math.ceil((out - first) / step));
      if (t.count > 0) assert.is(inSize + plo + phi - (t.count - 1) * rd, M, 'the sub-convolution has the phase\'s outputs');
      for (let m = 0; m < M; m++) {
        const pairs: [number, number][] = [];
        for (let j = 0; j < t.count; j++) {
          const x = m + j * rd - plo;
          if (x >= 0 && x < inSize) pairs.push([t.first + t.step * j, x]);
        }
        seen.set(first + step * m, pairs);
      }
    }
    for (let o = 0; o < out; o++) assert.equal(seen.get(o), direct(inSize, win, lo, d, r, o), `in ${inSize} win ${win} d ${d} r ${r} pad [${lo}, ${hi}], output ${o}`);
    checked++;
  }
  assert.ok(checked > 1000);
});

test('several dims: the phases are the product of each dim\'s; a window stride above 1 is not decomposed', () => {
  const ph = convPhases([5, 4], [3, 2], [11, 9], [1, 1], [[1, 1], [0, 1]], [2, 3], [1, 1])!;
  assert.is(ph.length, 2 * 3);
  assert.equal(ph.map((p) => p.first), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
  assert.equal(ph[4].step, [2, 3]);
  assert.is(convPhases([5], [3], [5], [2], [[1, 1]], [2], [1]), null);
  assert.is(convPhases([5, 5], [3, 3], [5, 5], [1, 1], [[1, 1], [1, 1]], [1, 1], [2, 2]), null);
});

test.run();
