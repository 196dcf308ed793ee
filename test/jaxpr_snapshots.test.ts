/**
 * Pinned jaxprs: `makeJaxpr(f)(...).toString()` for a handful of functions, in JAX's
 * canonical form (`{ lambda consts ; invars. let eqns in (outs,) }`). A change to staging,
 * a transformation or the printer shows here as a text diff.
 *
 * Deliberate differences from JAX: lax-level operands must have equal shapes, so a scalar
 * is broadcast with an explicit `broadcast_in_dim`; keepdims reshapes; cotangents accumulate
 * with `add` (JAX: `add_any`); params print in vidax's camelCase.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grad, jit, lax, makeJaxpr, np, vmap, type Array as VArray } from '../src/index.js';

const x3 = np.array([1, 2, 3]);
const m23 = np.array([[1, 2, 3], [4, 5, 6]]);

const pinned = (f: (...a: VArray[]) => unknown, args: VArray[], want: string) => assert.fixture(makeJaxpr(f)(...args).toString(), want);

test('a unary op: one line', () => {
  pinned((x) => np.sin(x), [x3], '{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b,) }');
});

test('a lax op with a JS scalar: the scalar is a literal, broadcast explicitly', () => {
  pinned((x) => lax.add(x, 2), [m23], `{ lambda ; a:f32[2,3]. let
    b:f32[2,3] = broadcast_in_dim[shape=(2, 3) broadcastDimensions=()] 2.0
    c:f32[2,3] = add a b
  in (c,) }`);
});

// The weak JS scalar 1.5 takes the array's dtype; casting a literal is folded into the literal
// (as JAX folds convert_element_type of constants), not staged as an equation.
test('a NumPy broadcasting add with a JS scalar literal', () => {
  pinned((x, y) => np.add(np.add(x, y), 1.5), [m23, x3], `{ lambda ; a:f32[2,3] b:f32[3]. let
    c:f32[2,3] = broadcast_in_dim[shape=(2, 3) broadcastDimensions=(1,)] b
    d:f32[2,3] = add a c
    e:f32[2,3] = broadcast_in_dim[shape=(2, 3) broadcastDimensions=()] 1.5
    f:f32[2,3] = add d e
  in (f,) }`);
});

test('a reduction with keepdims', () => {
  pinned((x) => np.sum(x, 1, true), [m23], `{ lambda ; a:f32[2,3]. let
    b:f32[2] = reduce_sum[axes=(1,)] a
    c:f32[2,1] = reshape[newSizes=(2, 1)] b
  in (c,) }`);
});

test('matmul is one dot_general', () => {
  pinned((a, b) => np.matmul(a, b), [m23, np.ones([3, 4])], `{ lambda ; a:f32[2,3] b:f32[3,4]. let
    c:f32[2,4] = dot_general[dimensionNumbers={contracting=((1,), (0,)), batch=((), ())}] a b
  in (c,) }`);
});

test('a closed-over concrete array is a constvar', () => {
  const c = np.array([10, 20, 30]);
  pinned((x) => np.mul(x, c), [x3], '{ lambda a:f32[3]; b:f32[3]. let c:f32[3] = mul b a in (c,) }');
});

// As in JAX, the primal computation (sin, reduce_sum) stays in the staged gradient although
// only the cotangent is returned; dead-code elimination is jit's business, not makeJaxpr's.
test('grad of a simple function', () => {
  pinned(grad((x: VArray) => np.sum(np.sin(x))), [x3], `{ lambda ; a:f32[3]. let
    b:f32[3] = sin a
    c:f32[3] = cos a
    d:f32[] = reduce_sum[axes=(0,)] b
    e:f32[3] = broadcast_in_dim[shape=(3,) broadcastDimensions=()] 1.0
    f:f32[3] = mul e c
  in (f,) }`);
});

test('vmap of a dot becomes a batched dot_general', () => {
  pinned(vmap((a: VArray, b: VArray) => np.dot(a, b)), [m23, m23], `{ lambda ; a:f32[2,3] b:f32[2,3]. let
    c:f32[2] = dot_general[dimensionNumbers={contracting=((1,), (1,)), batch=((0,), (0,))}] a b
  in (c,) }`);
});

test('jit inside a function: a nested jaxpr', () => {
  const inner = jit((x: VArray) => np.cos(np.mul(x, x)), { name: 'inner' });
  pinned((x) => np.add(inner(x), x), [x3], `{ lambda ; a:f32[3]. let
    e:f32[3] = jit[jaxpr={ lambda ; b:f32[3]. let
          c:f32[3] = mul b b
          d:f32[3] = cos c
        in (d,) } name=inner] a
    f:f32[3] = add e a
  in (f,) }`);
});

test.run();
