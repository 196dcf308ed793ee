/**
 * `random`: JAX's threefry2x32 PRNG, bit-compatible with `jax.random`.
 *
 * Keys are explicit values: a key is a uint32 array of shape `[2]` (JAX's raw `PRNGKey`
 * representation; `key(seed)` and `PRNGKey(seed)` both return it). `split` and `foldIn`
 * also accept a batch of keys `[...batch, 2]` (the result equals mapping over the batch);
 * the samplers take one key, as in JAX (map over keys with `vmap`).
 *
 * Every function is pure and built only from primitives (`threefry2x32`, elementwise,
 * movement, `sort`, `argmax`), so it runs eagerly and traces under jit / vmap alike.
 *
 * Layout. `config.threefryPartitionable` selects how `split` and `bits` (hence every
 * sampler) turn a key into counters, exactly as JAX's `jax_threefry_partitionable`:
 * `true` (the default, as in JAX ≥ 0.5.0) or `false` (JAX ≤ 0.4.38 and code that pins the
 * old streams). The flag is read when a function is called (at trace time under jit).
 * Switch with `config.threefryPartitionable = false` or, scoped, with
 * `threefryPartitionable(false, () => …)`. The algorithms are specified, with sources, in
 * `scripts/golden/jax-random-spec.md`; the section numbers below refer to it.
 *
 * Dtypes follow JAX's default x32 mode: floats are float32, integers int32 / uint32.
 */
import { config } from './config.js';
import type { DType } from './dtype.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from './errors.js';
import * as lax from './lax.js';
import { scalar, toValue, type ArrayLike } from './numpy/convert.js';
import { full } from './numpy/creation.js';
import { broadcastTo, convert } from './numpy/elementwise.js';
import { broadcastShapes, checkShape, normAxis, prod, shapeEq } from './shape.js';
import { Value } from './trace/value.js';

/** A raw threefry key: uint32 `[2]` (or `[...batch, 2]` where documented). */
export type Key = Value;
/** A shape argument: a list of dimensions, or one number for a 1-D shape. */
export type ShapeLike = number | readonly number[];

// ---------------------------------------------------------------------------------------
// helpers: every op below is a `lax` op (no promotion; a JS number takes the dtype and
// shape of the array operand), with parameters broadcast explicitly where needed
// ---------------------------------------------------------------------------------------

type Shape = readonly number[];

/** `reshape` that binds nothing when the shape is already right (no identity equations in staged programs). */
const reshapeTo = (x: Value, shape: Shape): Value => (shapeEq(x.shape, shape) ? x : lax.reshape(x, shape));
/** `x[..., start:limit, ...]` along one axis (JAX's `lax.slice_in_dim`). */
const sliceInDim = (x: Value, start: number, limit: number, axis: number): Value =>
  lax.slice(x, x.shape.map((_, d) => (d === axis ? start : 0)), x.shape.map((n, d) => (d === axis ? limit : n)));
const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => i + from);

/** The next float32 after `x` toward +∞ (`dir = 1`) or −∞ (`dir = -1`): `lax.nextafter`. */
function nextafter(x: Value, dir: 1 | -1): Value {
  const bits = lax.bitcastConvertType(x, 'int32');
  const away = lax.eq(lax.gt(x, 0), dir > 0); // moving away from zero: the magnitude grows
  let out = lax.bitcastConvertType(lax.select(away, lax.add(bits, 1), lax.sub(bits, 1)), 'float32');
  out = lax.select(lax.eq(x, 0), dir * 2 ** -149, out);
  const stuck = lax.or(lax.ne(x, x), lax.eq(x, dir * Infinity));
  return lax.select(stuck, x, out);
}

// ---------------------------------------------------------------------------------------
// argument checking
// ---------------------------------------------------------------------------------------

function describe(x: unknown): string {
  if (x instanceof Value) return x.aval.str();
  if (Array.isArray(x)) return `a JS array of length ${x.length}`;
  return x === null ? 'null' : typeof x;
}

/** Validate a key: uint32 `[2]`, or `[...batch, 2]` when `batched`. A Uint32Array of length 2 is accepted. */
function checkKey(fn: string, key: unknown, batched = false): Key {
  const k = key instanceof Uint32Array ? toValue(`random.${fn}`, key) : key;
  const want = batched ? 'a uint32 array of shape [2] or [...batch, 2]' : 'a single key: a uint32 array of shape [2]';
  if (!(k instanceof Value)) throw new ValueError(`random.${fn}: expected a PRNG key (${want}, from random.key(seed)), got ${describe(key)}`);
  if (k.dtype !== 'uint32')
    throw new DTypeError(`random.${fn}: a PRNG key must have dtype uint32 (from random.key(seed) or random.split), got ${k.aval.str()}`);
  if (k.ndim === 0 || k.shape[k.ndim - 1] !== 2 || (!batched && k.ndim !== 1)) {
    const hint = !batched && k.ndim > 1 && k.shape[k.ndim - 1] === 2 ? '; for a batch of keys, map over it with vmap or index one key' : '';
    throw new ShapeError(`random.${fn}: expected ${want}, got a key of shape ${fmtShape(k.shape)}${hint}`);
  }
  return k;
}

function checkFloatDType(fn: string, dtype: DType): void {
  if (dtype !== 'float32') throw new DTypeError(`random.${fn}: dtype must be a float dtype (float32), got ${dtype}`);
}

/** JAX's `_check_shape`: parameter shapes must broadcast to exactly `shape`. */
function checkParamShapes(fn: string, shape: Shape, ...params: Shape[]): void {
  const b = broadcastShapes(`random.${fn}`, shape, ...params);
  if (!shapeEq(b, shape))
    throw new ShapeError(
      `random.${fn}: parameter shapes ${params.map(fmtShape).join(', ')} must broadcast to the shape argument ${fmtShape(shape)}, ` +
        `but broadcasting gives ${fmtShape(b)}`,
    );
}

/** A float32 parameter (numbers are rounded to float32; arrays are cast, as JAX's convert_element_type). */
function floatParam(fn: string, x: ArrayLike): Value {
  const v = typeof x === 'number' ? scalar(x, 'float32') : toValue(`random.${fn}`, x);
  if (v.dtype === 'bool') throw new DTypeError(`random.${fn}: expected a float parameter, got ${v.aval.str()}`);
  return convert(v, 'float32');
}

// ---------------------------------------------------------------------------------------
// keys and the two counter layouts (§1–§5)
// ---------------------------------------------------------------------------------------

export interface KeyOptions {
  /**
   * Map the seed as JAX does with `jax_enable_x64` (a 64-bit seed gives
   * `[hi, lo]` words). Default false: JAX's default x32 mode, where the seed is taken
   * modulo 2^32 and the key is `[0, seed mod 2^32]`.
   */
  x64?: boolean;
}

/**
 * `key(seed)`: a PRNG key from an integer seed (JAX `random.key` / `random.PRNGKey`, §2).
 *
 * A JS number seed must be a safe integer (|seed| < 2^53); negatives are two's complement.
 * By default the seed is mapped as in JAX's x32 mode, `[0, seed mod 2^32]`
 * (`key(-1)` → `[0, 4294967295]`); with `{ x64: true }` it is mapped as a 64-bit seed,
 * `[floor(seed / 2^32) mod 2^32, seed mod 2^32]` (`key(-1, { x64: true })` →
 * `[4294967295, 4294967295]`). An int32 / uint32 scalar array (e.g. a traced seed) gives
 * `[0, uint32(seed)]`.
 */
export function key(seed: number | Value, opts: KeyOptions = {}): Key {
  if (seed instanceof Value) {
    if (seed.ndim !== 0 || (seed.dtype !== 'int32' && seed.dtype !== 'uint32'))
      throw new DTypeError(`random.key: a seed array must be an int32 or uint32 scalar, got ${seed.aval.str()}`);
    return lax.concatenate([full([1], 0, 'uint32'), lax.reshape(convert(seed, 'uint32'), [1])], 0);
  }
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed))
    throw new ValueError(`random.key: seed must be an integer with |seed| < 2^53, got ${String(seed)}`);
  const hi = opts.x64 ? Math.floor(seed / 2 ** 32) >>> 0 : 0;
  return toValue('random.key', Uint32Array.of(hi, seed >>> 0));
}

/** Alias of `key` (JAX's `random.PRNGKey`; both return raw uint32 `[2]` keys here). */
export const PRNGKey = key;

/**
 * The threefry2x32 block function on counter pairs `(x0, x1)` of shape S with keys
 * `[...B, 2]`: returns two words of shape `[...B, ...S]`.
 */
function block(key: Key, x0: Value, x1: Value): [Value, Value] {
  const B = key.shape.slice(0, -1);
  const S = x0.shape;
  const out = [...B, ...S];
  const word = (j: number) => lax.broadcastInDim(lax.reshape(sliceInDim(key, j, j + 1, B.length), B), out, range(B.length));
  // Counters keep their dims at the end (NumPy broadcasting), so a single key binds no broadcast.
  const ctr = (x: Value) => broadcastTo(x, out);
  return lax.threefry2x32(word(0), word(1), ctr(x0), ctr(x1));
}

/**
 * JAX's `threefry_2x32(key, count)` for a 1-D uint32 `count` of length n (§1a): pad odd n
 * with one 0, hash the first half against the second, concatenate, drop the pad.
 */
function hashCounts(key: Key, count: Value): Value {
  const n = count.shape[0];
  const odd = n % 2;
  const padded = odd ? lax.pad(count, scalar(0, 'uint32'), [[0, 1, 0]]) : count;
  const h = (n + odd) / 2;
  const [y0, y1] = block(key, lax.slice(padded, [0], [h]), lax.slice(padded, [h], [2 * h]));
  const axis = key.ndim - 1;
  const out = lax.concatenate([y0, y1], axis);
  return odd ? sliceInDim(out, 0, n, axis) : out;
}

/** Counter words (hi, lo) of flat indices 0..n-1 (`iota_2x32_shape`; hi is 0 below 2^32). */
function flatCounters(n: number): [Value, Value] {
  return [full([n], 0, 'uint32'), lax.iota('uint32', n)];
}

function checkCount(fn: string, n: number): void {
  if (n >= 2 ** 32 - 1) throw new ValueError(`random.${fn}: draws of ${n} words are not supported (at most 2^32 - 2)`);
}

/** `split` for keys `[...B, 2]` → `[...B, ...shape, 2]`, in the current layout (§3). */
function splitKeys(key: Key, shape: Shape): Value {
  const B = key.shape.slice(0, -1);
  const num = prod(shape);
  checkCount('split', 2 * num);
  if (config.threefryPartitionable) {
    const [hi, lo] = flatCounters(num);
    const [y0, y1] = block(key, hi, lo);
    const stacked = lax.concatenate([lax.reshape(y0, [...y0.shape, 1]), lax.reshape(y1, [...y1.shape, 1])], y0.ndim);
    return reshapeTo(stacked, [...B, ...shape, 2]);
  }
  return reshapeTo(hashCounts(key, lax.iota('uint32', 2 * num)), [...B, ...shape, 2]);
}

/** Entry `i` along axis 0 (`keys[i]`). */
const keyAt = (keys: Value, i: number): Key => lax.reshape(sliceInDim(keys, i, i + 1, 0), keys.shape.slice(1));


/**
 * `split(key, num = 2)`: `num` new keys as one array of shape `[num, 2]` (or `[...num, 2]`
 * when `num` is a shape). The result destructures along its first axis as in JAX,
 * `const [key2, subkey] = random.split(key)`. A batch of keys `[...B, 2]` gives
 * `[...B, num, 2]`. Layout per `config.threefryPartitionable`; when true, `split(key, n)[i]`
 * equals `foldIn(key, i)`.
 */
export function split(key: Key, num: ShapeLike = 2): Value {
  const k = checkKey('split', key, true);
  return splitKeys(k, checkShape('random.split', num));
}

/** Any array of keys `[n, ..., 2]` as a JS array of its entries along axis 0 (`[...keys]` for a `split` result). */
export function unstackKeys(keys: Value): Key[] {
  const k = checkKey('unstackKeys', keys, true);
  if (k.ndim < 2) throw new ShapeError(`random.unstackKeys: expected an array of keys of shape [n, ..., 2], got ${fmtShape(k.shape)}`);
  return range(k.shape[0]).map((i) => keyAt(k, i));
}

/**
 * `foldIn(key, data)`: a new key from `key` and a 32-bit integer (§4; the same in both
 * layouts). `data` is a JS integer (taken modulo 2^32) or an int32/uint32 scalar array.
 * A batch of keys folds the same data into each.
 */
export function foldIn(key: Key, data: number | Value): Key {
  const k = checkKey('foldIn', key, true);
  let d: Value;
  if (data instanceof Value) {
    if (data.ndim !== 0 || (data.dtype !== 'int32' && data.dtype !== 'uint32'))
      throw new DTypeError(`random.foldIn: data must be an int32 or uint32 scalar, got ${data.aval.str()}`);
    d = lax.reshape(convert(data, 'uint32'), [1]);
  } else {
    if (typeof data !== 'number' || !Number.isSafeInteger(data)) throw new ValueError(`random.foldIn: data must be an integer, got ${String(data)}`);
    d = full([1], data >>> 0, 'uint32');
  }
  const [y0, y1] = block(k, full([1], 0, 'uint32'), d);
  return lax.concatenate([y0, y1], k.ndim - 1);
}

/**
 * JAX's `prng.random_bits(key, bitWidth, shape)` (§5) in the current layout. Results are
 * uint32; for widths 8 and 16 they lie in [0, 2^bitWidth) (vidax has no uint8/uint16), and
 * equal JAX's uint8/uint16 draws.
 */
export function randomBits(key: Key, bitWidth: 8 | 16 | 32, shape: ShapeLike): Value {
  const k = checkKey('randomBits', key);
  if (bitWidth !== 8 && bitWidth !== 16 && bitWidth !== 32) throw new ValueError(`random.randomBits: bitWidth must be 8, 16 or 32, got ${String(bitWidth)}`);
  return bitsOf(k, bitWidth, checkShape('random.randomBits', shape));
}

function bitsOf(key: Key, bw: 8 | 16 | 32, shape: Shape): Value {
  const size = prod(shape);
  const mask = bw === 32 ? 0 : 2 ** bw - 1;
  if (config.threefryPartitionable) {
    checkCount('bits', size);
    const [hi, lo] = flatCounters(size);
    const [b1, b2] = block(key, hi, lo);
    const w = lax.xor(b1, b2);
    return reshapeTo(bw === 32 ? w : lax.and(w, mask), shape);
  }
  const maxCount = Math.ceil((bw * size) / 32);
  checkCount('bits', maxCount);
  const words = hashCounts(key, lax.iota('uint32', maxCount));
  if (bw === 32) return reshapeTo(words, shape);
  // Little-endian unpacking: word w gives (w >> bw*j) & mask for j = 0 .. 32/bw - 1, in order.
  const per = 32 / bw;
  const wide = lax.broadcastInDim(words, [maxCount, per], [0]);
  const shifts = lax.mul(lax.broadcastedIota('uint32', [maxCount, per], 1), bw);
  const sub = lax.and(lax.shiftRightLogical(wide, shifts), mask);
  return reshapeTo(lax.slice(lax.reshape(sub, [maxCount * per]), [0], [size]), shape);
}

/** `bits(key, shape = [], dtype = 'uint32')`: uniformly random uint32 words (`jax.random.bits`). */
export function bits(key: Key, shape: ShapeLike = [], dtype: DType = 'uint32'): Value {
  const k = checkKey('bits', key);
  if (dtype !== 'uint32') throw new DTypeError(`random.bits: dtype must be an unsigned integer dtype (uint32), got ${dtype}`);
  return bitsOf(k, 32, checkShape('random.bits', shape));
}

// ---------------------------------------------------------------------------------------
// samplers (§6–§8)
// ---------------------------------------------------------------------------------------

/** The float32 core of `uniform` (§6): `max(lo, f * (hi - lo) + lo)` with f in [0, 1) from 23 bits. */
function uniformOf(key: Key, shape: Shape, minval: Value, maxval: Value): Value {
  const b = bitsOf(key, 32, shape);
  const f = lax.sub(lax.bitcastConvertType(lax.or(lax.shiftRightLogical(b, 9), 0x3f800000), 'float32'), 1);
  const lo = broadcastTo(minval, shape);
  const hi = broadcastTo(maxval, shape);
  return lax.max(lo, lax.add(lax.mul(f, lax.sub(hi, lo)), lo));
}

export interface UniformOptions {
  minval?: ArrayLike;
  maxval?: ArrayLike;
  dtype?: DType;
}

/**
 * `uniform(key, shape = [], { minval = 0, maxval = 1, dtype = 'float32' })`: floats in
 * [minval, maxval) (JAX `random.uniform`). `minval`/`maxval` may be arrays that broadcast to
 * `shape`. As in JAX the result is clamped below at minval but not above: for wide ranges
 * rounding can give maxval.
 */
export function uniform(key: Key, shape: ShapeLike = [], opts: UniformOptions = {}): Value {
  const k = checkKey('uniform', key);
  const s = checkShape('random.uniform', shape);
  checkFloatDType('uniform', opts.dtype ?? 'float32');
  const lo = floatParam('uniform', opts.minval ?? 0);
  const hi = floatParam('uniform', opts.maxval ?? 1);
  checkParamShapes('uniform', s, lo.shape, hi.shape);
  return uniformOf(k, s, lo, hi);
}

const SQRT2 = Math.fround(Math.SQRT2);

/**
 * `normal(key, shape = [], dtype = 'float32')`: standard normal samples (JAX
 * `random.normal`: `√2 · erf_inv(u)` with u uniform in (−1, 1), §7).
 */
export function normal(key: Key, shape: ShapeLike = [], dtype: DType = 'float32'): Value {
  const k = checkKey('normal', key);
  const s = checkShape('random.normal', shape);
  checkFloatDType('normal', dtype);
  const u = uniformOf(k, s, scalar(-1 + 2 ** -24, 'float32'), scalar(1, 'float32'));
  return lax.mul(lax.erfInv(u), SQRT2);
}

/**
 * `truncatedNormal(key, lower, upper, shape?, dtype = 'float32')`: standard normal samples
 * conditioned on [lower, upper] (JAX `random.truncated_normal`, §8), strictly inside the
 * bounds. `shape` defaults to the broadcast of the bounds' shapes.
 */
export function truncatedNormal(key: Key, lower: ArrayLike, upper: ArrayLike, shape?: ShapeLike, dtype: DType = 'float32'): Value {
  const k = checkKey('truncatedNormal', key);
  checkFloatDType('truncatedNormal', dtype);
  const lo = floatParam('truncatedNormal', lower);
  const up = floatParam('truncatedNormal', upper);
  const s = shape === undefined ? broadcastShapes('random.truncatedNormal', lo.shape, up.shape) : checkShape('random.truncatedNormal', shape);
  if (shape !== undefined) checkParamShapes('truncatedNormal', s, lo.shape, up.shape);
  const a = lax.erf(lax.div(lo, SQRT2));
  const b = lax.erf(lax.div(up, SQRT2));
  const out = lax.mul(lax.erfInv(uniformOf(k, s, a, b)), SQRT2);
  const clipped = lax.max(out, broadcastTo(nextafter(lo, 1), s));
  return lax.min(clipped, broadcastTo(nextafter(up, -1), s));
}

/**
 * `bernoulli(key, p = 0.5, shape?)`: booleans that are true with probability p (JAX
 * `random.bernoulli`: `uniform < p`). `shape` defaults to p's shape.
 */
export function bernoulli(key: Key, p: ArrayLike = 0.5, shape?: ShapeLike): Value {
  const k = checkKey('bernoulli', key);
  const pv = typeof p === 'number' ? scalar(p, 'float32') : toValue('random.bernoulli', p);
  if (pv.dtype !== 'float32') throw new DTypeError(`random.bernoulli: p must be a float array, got ${pv.aval.str()}`);
  const s = shape === undefined ? [...pv.shape] : checkShape('random.bernoulli', shape);
  checkParamShapes('bernoulli', s, pv.shape);
  return lax.lt(uniformOf(k, s, scalar(0, 'float32'), scalar(1, 'float32')), broadcastTo(pv, s));
}

const INT_RANGE: Record<'int32' | 'uint32', [number, number]> = { int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1] };

/** A randint bound converted and clipped to `dtype`, with whether it exceeded dtype's max. */
function intBound(which: string, x: ArrayLike, dtype: 'int32' | 'uint32', shape: Shape): { v: Value; over: Value } {
  const [lo, hi] = INT_RANGE[dtype];
  if (typeof x === 'number') {
    if (Number.isNaN(x)) throw new ValueError(`random.randint: ${which} must be a number, got NaN`);
    const t = Math.trunc(x);
    return { v: full(shape, Math.min(Math.max(t, lo), hi), dtype), over: broadcastTo(scalar(t > hi), shape) };
  }
  let v = toValue('random.randint', x);
  if (v.dtype === 'bool' || v.dtype === 'float32') v = convert(v, 'int32'); // JAX: astype(int)
  checkParamShapes('randint', shape, v.shape);
  v = broadcastTo(v, shape);
  let over = broadcastTo(scalar(false), shape);
  if (v.dtype === 'uint32' && dtype === 'int32') {
    over = lax.gt(v, hi);
    v = lax.min(v, hi);
  } else if (v.dtype === 'int32' && dtype === 'uint32') v = lax.max(v, 0);
  return { v: convert(v, dtype), over };
}

/**
 * `randint(key, shape, minval, maxval, dtype = 'int32')`: integers in [minval, maxval)
 * (JAX `random.randint`, §8, including its uint32 wrap-around arithmetic and its small
 * modulo bias). Bounds broadcast to `shape`; JS numbers are truncated to integers and
 * clipped to the dtype's range, and a maxval above the dtype's maximum makes the top value
 * reachable (`randint(k, s, -2**31, 2**31)` covers all int32). Where `maxval <= minval` the
 * result is `minval` (JAX's behaviour; no error).
 */
export function randint(key: Key, shape: ShapeLike, minval: ArrayLike, maxval: ArrayLike, dtype: DType = 'int32'): Value {
  const k = checkKey('randint', key);
  const s = checkShape('random.randint', shape);
  if (dtype !== 'int32' && dtype !== 'uint32') throw new DTypeError(`random.randint: dtype must be an integer dtype (int32 or uint32), got ${dtype}`);
  const { v: mn } = intBound('minval', minval, dtype, s);
  const { v: mx, over } = intBound('maxval', maxval, dtype, s);
  const keys = splitKeys(k, [2]);
  const higher = bitsOf(keyAt(keys, 0), 32, s);
  const lower = bitsOf(keyAt(keys, 1), 32, s);
  // `lax.rem` on uint32: a zero divisor leaves x unchanged (`x % 0 = x`, XLA's semantics), which the
  // full-range case relies on (span = 2^32 wraps to 0).
  let span = convert(lax.sub(mx, mn), 'uint32');
  span = lax.select(lax.le(mx, mn), 1, span);
  span = lax.select(lax.and(over, lax.gt(mx, mn)), lax.add(span, 1), span);
  let m = lax.rem(2 ** 16, span);
  m = lax.rem(lax.mul(m, m), span); // wraps mod 2^32, as in JAX
  const off = lax.rem(lax.add(lax.mul(lax.rem(higher, span), m), lax.rem(lower, span)), span);
  return lax.add(mn, convert(off, dtype));
}

/**
 * `gumbel(key, shape = [], dtype = 'float32')`: standard Gumbel samples, JAX's default
 * ("low") mode: `-log(-log(u))` with u uniform in [tiny, 1).
 */
export function gumbel(key: Key, shape: ShapeLike = [], dtype: DType = 'float32'): Value {
  const k = checkKey('gumbel', key);
  checkFloatDType('gumbel', dtype);
  return gumbelOf(k, checkShape('random.gumbel', shape));
}
function gumbelOf(key: Key, shape: Shape): Value {
  const u = uniformOf(key, shape, scalar(2 ** -126, 'float32'), scalar(1, 'float32'));
  return lax.neg(lax.log(lax.neg(lax.log(u))));
}

/** `exponential(key, shape = [], dtype = 'float32')`: Exp(1) samples, `-log1p(-u)` (JAX `random.exponential`). */
export function exponential(key: Key, shape: ShapeLike = [], dtype: DType = 'float32'): Value {
  const k = checkKey('exponential', key);
  checkFloatDType('exponential', dtype);
  const u = uniformOf(k, checkShape('random.exponential', shape), scalar(0, 'float32'), scalar(1, 'float32'));
  return lax.neg(lax.log1p(lax.neg(u)));
}

export interface CategoricalOptions {
  /** The axis of `logits` holding the categories; default -1. */
  axis?: number;
  /** The output shape: the batch shape (logits' shape without `axis`) with optional leading dims. */
  shape?: ShapeLike;
}

/**
 * `categorical(key, logits, { axis = -1, shape? })`: int32 category indices drawn with
 * probabilities `softmax(logits)` along `axis` (JAX `random.categorical` with replacement,
 * by the Gumbel-max trick: `argmax(gumbel + logits)`).
 */
export function categorical(key: Key, logits: ArrayLike, opts: CategoricalOptions = {}): Value {
  const k = checkKey('categorical', key);
  const l = toValue('random.categorical', logits);
  if (l.dtype !== 'float32') throw new DTypeError(`random.categorical: logits must be float32, got ${l.aval.str()}`);
  if (l.ndim === 0) throw new ShapeError('random.categorical: logits must have at least one dimension, got a scalar');
  const axis = normAxis('random.categorical', opts.axis ?? -1, l.ndim) - l.ndim; // negative, counted from the end
  const batch = l.shape.filter((_, d) => d !== l.ndim + axis);
  const s = opts.shape === undefined ? batch : checkShape('random.categorical', opts.shape);
  if (opts.shape !== undefined) checkParamShapes('categorical', s, batch);
  const prefix = s.slice(0, s.length - batch.length);
  const gShape = [...s.slice(s.length - batch.length)];
  gShape.splice(gShape.length + 1 + axis, 0, l.shape[l.ndim + axis]);
  const drawShape = [...prefix, ...gShape];
  const z = lax.add(gumbelOf(k, drawShape), broadcastTo(l, drawShape));
  return lax.argmax(z, drawShape.length + axis, 'int32');
}

/** `ceil(3 ln(max(1, n)) / ln(2^32 - 1))` sort rounds, as JAX's `_shuffle` (float64 math). */
const shuffleRounds = (n: number): number => Math.ceil((3 * Math.log(Math.max(1, n))) / Math.log(2 ** 32 - 1));

/**
 * JAX's `_shuffle`: `rounds` times, split the key and stably sort `x` along `axis` by fresh
 * uint32 keys of shape `keyShape` (broadcast over `x` when they cover only `axis`).
 */
function sortRounds(key: Key, x: Value, axis: number, rounds: number, keyShape: Shape): Value {
  let k = key;
  for (let r = 0; r < rounds; r++) {
    const keys = splitKeys(k, [2]);
    k = keyAt(keys, 0);
    let sortKeys = bitsOf(keyAt(keys, 1), 32, keyShape);
    if (keyShape.length === 1 && x.ndim > 1) sortKeys = lax.broadcastInDim(sortKeys, x.shape, [axis]);
    x = lax.sort([sortKeys, x], axis)[1];
  }
  return x;
}

export interface PermutationOptions {
  /** The axis to permute; default 0. */
  axis?: number;
  /** Permute each 1-D slice along `axis` independently; default false (one permutation for all). */
  independent?: boolean;
}

/**
 * `permutation(key, x, { axis = 0, independent = false })` (JAX `random.permutation`): for a
 * JS integer n, a random permutation of `arange(n)` (int32); for an array, its elements
 * permuted along `axis` (the same permutation for every slice unless `independent`).
 * Implemented as JAX's repeated stable sorts by random keys, so results match JAX bit for bit.
 */
export function permutation(key: Key, x: number | Value, opts: PermutationOptions = {}): Value {
  const k = checkKey('permutation', key);
  if (typeof x === 'number') {
    if (!Number.isSafeInteger(x) || x < 0) throw new ValueError(`random.permutation: n must be a non-negative integer, got ${x}`);
    return sortRounds(k, lax.iota('int32', x), 0, shuffleRounds(x), [x]);
  }
  if (!(x instanceof Value)) throw new ValueError(`random.permutation: x must be an integer or an array, got ${describe(x)}`);
  if (x.ndim === 0) throw new ShapeError('random.permutation: x must be an integer or at least 1-dimensional, got a scalar array');
  const axis = normAxis('random.permutation', opts.axis ?? 0, x.ndim);
  if (opts.independent || x.ndim === 1) return sortRounds(k, x, axis, shuffleRounds(x.size), x.shape);
  const n = x.shape[axis];
  return sortRounds(k, x, axis, shuffleRounds(n), [n]);
}

/**
 * `shuffle(key, x, axis = 0)`: JAX's deprecated `random.shuffle` (= its `_shuffle`): each
 * 1-D slice along `axis` is permuted independently. Prefer `permutation`.
 */
export function shuffle(key: Key, x: Value, axis = 0): Value {
  const k = checkKey('shuffle', key);
  if (!(x instanceof Value) || x.ndim === 0) throw new ShapeError(`random.shuffle: x must be an array of at least one dimension, got ${describe(x)}`);
  const a = normAxis('random.shuffle', axis, x.ndim);
  return sortRounds(k, x, a, shuffleRounds(x.size), x.shape);
}

/**
 * Run `fn` with `config.threefryPartitionable` set to `value`, restoring it afterwards
 * (JAX's `jax.threefry_partitionable(value)` context manager).
 */
export function threefryPartitionable<T>(value: boolean, fn: () => T): T {
  const saved = config.threefryPartitionable;
  config.threefryPartitionable = value;
  try {
    return fn();
  } finally {
    config.threefryPartitionable = saved;
  }
}
