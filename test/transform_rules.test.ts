/**
 * Which transformation rules each primitive has. Forward mode and vmap need a `jvp` and a
 * `batch` rule on every primitive; reverse mode needs a `transpose` rule only on primitives
 * that can be applied to a linear (tangent) value, i.e. those linear in some operand. Every
 * primitive must be classified here as one or the other, so a new primitive cannot silently
 * lack a transpose rule that reverse mode will need.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { primitives, rules } from '../src/core/prims/registry.js';
import '../src/index.js';

/** Linear in some operand (the others held fixed): these appear in linearized jaxprs and need `transpose`. */
const LINEAR = [
  'add', 'sub', 'neg', 'mul', 'div', 'convert_element_type', 'select_n', 'reduce_sum', 'broadcast_in_dim',
  'reshape', 'transpose', 'slice', 'pad', 'concatenate', 'rev', 'gather', 'scatter_add', 'dynamic_slice',
  'dynamic_update_slice', 'dot_general', 'conv_general_dilated', 'cumsum', 'reduce_window_sum',
  'jit', 'remat', 'custom_lin',
  // Control flow, once it exists: cond and scan carry linear values through their branches/bodies.
  'cond', 'scan',
];

/**
 * Never applied to a tangent: their jvp rules express the tangent with linear primitives
 * (or it is zero: integer outputs, comparisons, rounding, stop_gradient, random bits), so
 * reverse mode never transposes them.
 */
const NONLINEAR = [
  'sign', 'floor', 'ceil', 'round', 'is_finite', 'exp', 'expm1', 'log', 'log1p', 'tanh', 'logistic', 'sin', 'cos',
  'tan', 'atan', 'sqrt', 'rsqrt', 'abs', 'erf', 'erf_inv', 'not', 'rem', 'pow', 'max', 'min', 'atan2', 'and', 'or',
  'xor', 'shift_left', 'shift_right_logical', 'shift_right_arithmetic', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
  'bitcast_convert_type', 'stop_gradient', 'iota', 'reduce_max', 'reduce_min', 'reduce_prod', 'argmax', 'argmin',
  'reduce_window_max', 'reduce_window_min', 'cumprod', 'cummax', 'cummin', 'sort', 'threefry2x32',
  // Higher-order primitives whose linear part is emitted as other primitives (custom_lin, jit, …).
  'custom_jvp_call', 'custom_vjp_call',
  // A while loop cannot be transposed (its trip count is only known at run time), as in JAX; its
  // transpose rule only raises an error that points to scan.
  'while',
];

const has = (p: string, rule: 'jvp' | 'batch' | 'transpose'): boolean => typeof (rules as unknown as Record<string, Record<string, unknown>>)[p][rule] === 'function';

test('every primitive is classified as linear or nonlinear (exactly once)', () => {
  const unclassified = primitives.filter((p) => !LINEAR.includes(p) && !NONLINEAR.includes(p));
  assert.equal(unclassified, [], `classify these primitives in test/transform_rules.test.ts (LINEAR needs a transpose rule): ${unclassified.join(', ')}`);
  const both = LINEAR.filter((p) => NONLINEAR.includes(p));
  assert.equal(both, [], 'listed as both linear and nonlinear');
});

test('every linear primitive has a transpose rule', () => {
  const missing = primitives.filter((p) => LINEAR.includes(p) && !has(p, 'transpose'));
  const without = primitives.filter((p) => !has(p, 'transpose'));
  assert.equal(missing, [], `linear primitives without a transpose rule (grad through them fails): ${missing.join(', ')}; all primitives without one: ${without.join(', ')}`);
});

test('every primitive has a jvp rule', () => {
  const missing = primitives.filter((p) => !has(p, 'jvp'));
  assert.equal(missing, [], `primitives without a jvp rule (jvp/grad through them fails): ${missing.join(', ')}`);
});

test('every primitive has a batching rule', () => {
  const missing = primitives.filter((p) => !has(p, 'batch'));
  assert.equal(missing, [], `primitives without a batching rule (vmap through them fails): ${missing.join(', ')}`);
});

test.run();
