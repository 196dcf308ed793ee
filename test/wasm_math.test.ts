/**
 * The wasm backend's native float32 exp, log, tanh and sigmoid (`render/wasm_math.ts`):
 *
 * - accuracy against the f64 function rounded to f32 (the oracle's result), within
 *   `NATIVE_MATH[fn].ulps` ulps, over a sweep of every 4099th f32 bit pattern (1 M inputs of
 *   both signs and every exponent), every f32 in [−1, 1] at a step of 2⁻¹⁴ plus dense runs
 *   around each function's thresholds, and a list of extremes;
 * - special values exactly: NaN → NaN, ±∞ and ±0 give the limits, overflow and underflow
 *   happen where the rounded reference does;
 * - the vector loop and the scalar loop give the same bits (runs of 4 and runs of 3).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NATIVE_MATH, type MathFn } from '../src/core/backends/render/wasm_math.js';
import { WasmBackend } from '../src/core/backends/runtime/wasm.js';
import { renderWasmKernel } from '../src/core/backends/render/wasm.js';
import { bin, idx, load, outVar, un, type Kernel } from '../src/core/kernel/ir.js';
import { jsMath } from '../src/core/kernel/js_math.js';

const wasm = new WasmBackend();
const REF: Record<MathFn, (x: number) => number> = { exp: Math.exp, log: Math.log, tanh: Math.tanh, sigmoid: jsMath.sigmoid };
const FNS = Object.keys(REF) as MathFn[];

/** f32 spacing at |w|; ±∞ counts as ±2¹²⁸. */
function ulpOf(w: number): number {
  const a = Math.min(Math.abs(w), 2 ** 128);
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}
const finite = (x: number) => (Number.isFinite(x) ? x : Math.sign(x) * 2 ** 128);

/** fn over xs on the wasm backend, as rows of `cols` (4: vector loop; 3: scalar loop). */
function evaluate(fn: MathFn, xs: Float32Array, cols: 3 | 4): Float32Array {
  const n = xs.length - (xs.length % 12);
  const at = bin('add', bin('mul', outVar(0), idx(cols)), outVar(1));
  const kernel: Kernel = { inputs: ['float32'], outShape: [n / cols, cols], outDtype: 'float32', expr: un(fn, load(0, at, 'float32')), label: fn };
  assert.is(renderWasmKernel(kernel, wasm.heap.limits).vectorized, cols === 4);
  const x = wasm.upload('float32', xs.subarray(0, n)), out = wasm.alloc('float32', n);
  wasm.run(kernel, [x], out);
  const r = new Float32Array(wasm.readSync(out));
  wasm.free(x);
  wasm.free(out);
  return r;
}

function sweep(): Float32Array {
  const bits = new Uint32Array(1), f = new Float32Array(bits.buffer);
  const xs: number[] = [];
  for (let b = 0; b < 2 ** 32; b += 4099) {
    bits[0] = b;
    xs.push(f[0]);
  }
  for (let x = -1; x <= 1; x += 2 ** -14) xs.push(x);
  const around = (c: number, w: number) => {
    for (let k = -2000; k <= 2000; k++) xs.push(c + (k / 2000) * w);
  };
  around(88.72, 0.02); around(-87.33, 0.02); around(-103.97, 0.05); around(0, 1e-3); around(0.625, 1e-3); around(-0.625, 1e-3);
  around(1, 1e-3); around(0.7071, 1e-3); around(9, 0.1); around(-9, 0.1); around(17, 0.5); around(-17, 0.5);
  return Float32Array.from(xs);
}

const EXTREMES = [
  0, -0, NaN, Infinity, -Infinity, 1.4e-45, -1.4e-45, 1.1754942e-38, 1.1754944e-38, 3.4028235e38, -3.4028235e38,
  88.72283, 88.72284, 88.7229, 89, -87.33654, -87.3366, -103.9720, -103.9721, -104, 1e-30, -1e-30, 0.625, 0.6250001, 1, -1, 2, 1e10, -1e10,
];

test('accuracy: within the documented ulps of the f64-rounded reference over a dense sweep and extremes', () => {
  const xs = Float32Array.from([...sweep(), ...EXTREMES, ...EXTREMES, ...EXTREMES]);
  for (const fn of FNS) {
    const got = evaluate(fn, xs, 4);
    let worst = 0, at = 0;
    for (let i = 0; i < got.length; i++) {
      const w = Math.fround(REF[fn](xs[i])), g = got[i];
      if (Number.isNaN(w)) {
        assert.ok(Number.isNaN(g), `${fn}(${xs[i]}) is ${g}, expected NaN`);
        continue;
      }
      assert.ok(!Number.isNaN(g), `${fn}(${xs[i]}) is NaN, expected ${w}`);
      const err = Math.abs(finite(g) - finite(w)) / ulpOf(w);
      if (err > worst) [worst, at] = [err, xs[i]];
    }
    assert.ok(worst <= NATIVE_MATH[fn].ulps, `${fn}: ${worst} ulps at ${at} (bound ${NATIVE_MATH[fn].ulps})`);
  }
});

test('special values exactly', () => {
  const xs = Float32Array.from([NaN, Infinity, -Infinity, 0, -0, 100, -200, 1e-45, -1e-45, 20, -20, 1]);
  const r = Object.fromEntries(FNS.map((fn) => [fn, Array.from(evaluate(fn, xs, 4))]));
  const [, ...rest] = r.exp;
  assert.ok(Number.isNaN(r.exp[0]) && Number.isNaN(r.log[0]) && Number.isNaN(r.tanh[0]) && Number.isNaN(r.sigmoid[0]), 'NaN');
  assert.equal(rest.slice(0, 6), [Infinity, 0, 1, 1, Infinity, 0], 'exp: ∞, 0, 1, 1, overflow, underflow');
  assert.equal(r.log.slice(1, 5), [Infinity, NaN, -Infinity, -Infinity], 'log: ∞, NaN, −∞, −∞');
  assert.ok(Number.isNaN(r.log[6]) && Number.isNaN(r.log[8]), 'log of a negative is NaN');
  assert.equal(r.log[7], Math.fround(Math.log(Math.fround(1e-45))), 'log of the smallest subnormal');
  assert.equal(r.tanh.slice(1, 5), [1, -1, 0, -0], 'tanh: ±1 at ±∞, signed zeros');
  assert.ok(Object.is(r.tanh[4], -0), 'tanh(−0) = −0');
  assert.equal([r.tanh[9], r.tanh[10]], [1, -1]);
  assert.equal(r.sigmoid.slice(1, 5), [1, 0, 0.5, 0.5], 'sigmoid: 1, 0, ½, ½');
  assert.ok(r.sigmoid[6] === 0 && r.sigmoid[10] > 0, 'sigmoid underflows gradually');
});

test('the vector loop and the scalar loop give the same bits', () => {
  const xs = Float32Array.from({ length: 30000 }, (_, i) => (i % 7 === 0 ? EXTREMES[i % EXTREMES.length] : Math.sin(i) * 10 ** ((i % 9) - 3)));
  for (const fn of FNS) {
    const v = evaluate(fn, xs, 4), s = evaluate(fn, xs, 3);
    for (let i = 0; i < v.length; i++)
      if (!Object.is(v[i], s[i]) && !(Number.isNaN(v[i]) && Number.isNaN(s[i]))) assert.unreachable(`${fn}(${xs[i]}): vector ${v[i]}, scalar ${s[i]}`);
  }
});

test('exp: the common-case branch gives the bits of the general path', () => {
  // Three values and a fourth lane per vector: 0 (every lane in range: the one-factor branch) or 1000 (the general path).
  const xs = Float32Array.from({ length: 6000 }, (_, i) => -87.7 + (176.2 * i) / 5999);
  const lanes = (fourth: number) => Float32Array.from({ length: (xs.length / 3) * 4 }, (_, i) => (i % 4 === 3 ? fourth : xs[i - Math.floor(i / 4)]));
  const fast = evaluate('exp', lanes(0), 4), slow = evaluate('exp', lanes(1000), 4);
  for (let i = 0; i < fast.length; i++)
    if (i % 4 !== 3 && !Object.is(fast[i], slow[i])) assert.unreachable(`exp(${xs[i - Math.floor(i / 4)]}): ${fast[i]} in range, ${slow[i]} next to an overflow`);
  assert.is(slow[3], Infinity);
  assert.is(fast[3], 1);
});

test.run();
