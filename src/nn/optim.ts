/**
 * Optimizers as optax-style gradient transformations.
 *
 * A `GradientTransformation<S>` is a pair of pure functions: `init(params) → state` and
 * `update(updates, state, params?) → [updates, state]`. States are pytrees of arrays (step
 * counts are int32 scalars), so a whole training step — `valueAndGrad`, `update`,
 * `applyUpdates` — runs under `jit`. Transformations compose with `chain`; the named
 * optimizers (`sgd`, `adam`, `adamw`) are chains exactly as in optax, and the returned updates
 * are *added* to the parameters (`applyUpdates`), the learning rate carrying the minus sign.
 *
 *   const opt = adamw(1e-3, { weightDecay: 1e-4 });
 *   let state = opt.init(params);
 *   const step = jit((params, state, batch) => {
 *     const [loss, grads] = valueAndGrad(lossFn)(params, batch);
 *     const [updates, next] = opt.update(grads, state, params);
 *     return [applyUpdates(params, updates), next, loss];
 *   });
 */
import { globalNorm } from './params.js';
import { ShapeError, ValueError, fmtShape } from '../core/errors.js';
import * as lax from '../core/lax_namespace.js';
import * as np from '../core/numpy/index.js';
import { Value, type Value as Array } from '../core/trace/value.js';
import * as tree from '../core/tree.js';
import type { Params } from './module.js';
import type { Schedule } from './schedules.js';

/** A pytree of arrays with the parameters' structure: gradients or updates. */
export type Updates = Params;

export interface GradientTransformation<S> {
  init(params: Params): S;
  update(updates: Updates, state: S, params?: Params): [Updates, S];
}

/** The state of a transformation that keeps none (optax's `EmptyState`). */
export type EmptyState = null;

// ------------------------------------------------------------------ tree plumbing

/** Leaf paths in flatten order (`['dense']['w']`, `[0]`), for error messages. */
function leafPaths(t: unknown, prefix = ''): string[] {
  if (t === null || t === undefined) return [];
  if (globalThis.Array.isArray(t)) return t.flatMap((c, i) => leafPaths(c, `${prefix}[${i}]`));
  const proto = typeof t === 'object' ? Object.getPrototypeOf(t) : undefined;
  if (typeof t === 'object' && (proto === Object.prototype || proto === null)) {
    const o = t as Record<string, unknown>;
    return Object.keys(o).sort().flatMap((k) => leafPaths(o[k], `${prefix}['${k}']`));
  }
  return [prefix || '(root)'];
}

/**
 * Map `f` over the leaves of the named trees, which must all have the first tree's structure
 * and leaf shapes; a mismatch is an error naming `op`, the trees and the leaf.
 */
function mapLeaves(op: string, f: (...xs: Array[]) => Array, ...named: readonly (readonly [string, unknown])[]): Params {
  const flat = named.map(([name, t]) => {
    const [ls, def] = tree.flatten(t as Params);
    ls.forEach((l, i) => {
      if (!(l instanceof Value)) throw new ValueError(`${op}: ${name} leaf ${leafPaths(t)[i]} is ${typeof l}, expected an array`);
    });
    return { name, t, ls, def };
  });
  const [first, ...rest] = flat;
  for (const r of rest) {
    if (!r.def.equals(first.def)) throw new ValueError(`${op}: ${r.name} has structure ${r.def} but ${first.name} has structure ${first.def}`);
    r.ls.forEach((l, i) => {
      if (l.shape.join() !== first.ls[i].shape.join())
        throw new ShapeError(`${op}: ${r.name} leaf ${leafPaths(r.t)[i]} has shape ${fmtShape(l.shape)} but ${first.name} has ${fmtShape(first.ls[i].shape)}`);
    });
  }
  return tree.unflatten(first.def, first.ls.map((l, i) => f(l, ...rest.map((r) => r.ls[i]))));
}

const zerosLike = (t: Params): Params => mapLeaves('zerosLike', (x) => np.zerosLike(x), ['params', t]);

/** The int32 step counter every stateful transformation starts from. */
const zeroCount = (): Array => np.zeros([], 'int32');

/** `count + 1`, saturating at the int32 maximum (optax's `safe_increment`). */
function safeIncrement(count: Array): Array {
  const max = 2147483647;
  return np.where(count.less(max), count.add(1), max);
}

function requireParams(op: string, params: Params | undefined): Params {
  if (params === undefined) throw new ValueError(`${op}: this transformation needs the parameters; pass them as the third argument of update(updates, state, params)`);
  return params;
}

function checkNumber(op: string, name: string, v: number, ok: (v: number) => boolean, want: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new ValueError(`${op}: ${name} must be ${want}, got ${String(v)}`);
}

// ------------------------------------------------------------------ composition

/** optax.identity: updates pass through unchanged. */
export function identity(): GradientTransformation<EmptyState> {
  return { init: () => null, update: (updates) => [updates, null] };
}

type StateOf<T> = T extends GradientTransformation<infer S> ? S : never;

/** optax.chain: apply the transformations in order; the state is the list of their states. */
export function chain<T extends readonly GradientTransformation<any>[]>(...txs: T): GradientTransformation<{ -readonly [K in keyof T]: StateOf<T[K]> }> {
  type S = { -readonly [K in keyof T]: StateOf<T[K]> };
  return {
    init: (params) => txs.map((t) => t.init(params)) as S,
    update: (updates, state, params) => {
      if (!globalThis.Array.isArray(state) || state.length !== txs.length)
        throw new ValueError(`chain.update: expected a state list of ${txs.length} entries (from chain.init), got ${globalThis.Array.isArray(state) ? `${state.length} entries` : typeof state}`);
      const next: unknown[] = [];
      let u = updates;
      txs.forEach((t, i) => {
        const [nu, ns] = t.update(u, state[i], params);
        u = nu;
        next.push(ns);
      });
      return [u, next as S];
    },
  };
}

/** optax.apply_updates: `params + updates`, each leaf cast back to the parameter's dtype. */
export function applyUpdates(params: Params, updates: Updates): Params {
  return mapLeaves('applyUpdates', (p, u) => np.astype(p.add(u), p.dtype), ['params', params], ['updates', updates]);
}

/** A mask: a pytree of booleans with the parameters' structure, or a function of the params (updates in `update`) returning one. */
export type Mask = tree.PyTree<boolean> | ((params: Params) => tree.PyTree<boolean>);

export interface MaskedState<S> {
  inner: S;
}

function maskLeaves(op: string, mask: Mask, t: Params): boolean[] {
  const m = typeof mask === 'function' ? mask(t) : mask;
  const [ms, mDef] = tree.flatten(m);
  const tDef = tree.structure(t);
  if (!mDef.equals(tDef)) throw new ValueError(`${op}: the mask has structure ${mDef} but the tree it masks has structure ${tDef}`);
  ms.forEach((b, i) => {
    if (typeof b !== 'boolean') throw new ValueError(`${op}: mask leaf ${leafPaths(m)[i]} is ${String(b)}, expected true or false`);
  });
  return ms as boolean[];
}

/** `t` with the leaves where `keep` is false replaced by empty (`null`) nodes, as optax's MaskedNode. */
function prune(t: Params, keep: readonly boolean[]): Params {
  const [ls, def] = tree.flatten(t);
  return def.unflatten(ls.map((l, i) => (keep[i] ? l : null))) as Params;
}

/**
 * optax.masked: apply `inner` only to the leaves where `mask` is true; the other updates pass
 * through unchanged and get no inner state. The mask must have the parameters' structure.
 */
export function masked<S>(inner: GradientTransformation<S>, mask: Mask): GradientTransformation<MaskedState<S>> {
  return {
    init: (params) => ({ inner: inner.init(prune(params, maskLeaves('masked.init', mask, params))) }),
    update: (updates, state, params) => {
      const keep = maskLeaves('masked.update', mask, updates);
      const [newMasked, innerState] = inner.update(prune(updates, keep), state.inner, params === undefined ? undefined : prune(params, keep));
      const [us, def] = tree.flatten(updates);
      const fresh = tree.leaves(newMasked);
      let j = 0;
      return [tree.unflatten(def, us.map((u, i) => (keep[i] ? fresh[j++] : u))), { inner: innerState }];
    },
  };
}

// ------------------------------------------------------------------ scaling

/** optax.scale: `updates · step`. */
export function scale(step: number | Array): GradientTransformation<EmptyState> {
  return {
    init: () => null,
    update: (updates) => [mapLeaves('scale.update', (u) => u.mul(step), ['updates', updates]), null],
  };
}

export interface ScaleByScheduleState {
  count: Array;
}

/** optax.scale_by_schedule: `updates · schedule(count)`, the count starting at 0. */
export function scaleBySchedule(schedule: Schedule): GradientTransformation<ScaleByScheduleState> {
  return {
    init: () => ({ count: zeroCount() }),
    update: (updates, state) => {
      const s = schedule(state.count);
      const out = mapLeaves('scaleBySchedule.update', (u) => u.mul(np.astype(s, u.dtype)), ['updates', updates]);
      return [out, { count: safeIncrement(state.count) }];
    },
  };
}

/** optax.scale_by_learning_rate: `−lr · updates` (a constant or a schedule); `flipSign: false` drops the minus. */
export function scaleByLearningRate(learningRate: number | Schedule, opts: { flipSign?: boolean } = {}): GradientTransformation<EmptyState | ScaleByScheduleState> {
  const m = opts.flipSign === false ? 1 : -1;
  if (typeof learningRate === 'function') return scaleBySchedule((count) => learningRate(count).mul(m)) as GradientTransformation<EmptyState | ScaleByScheduleState>;
  checkNumber('scaleByLearningRate', 'learningRate', learningRate, () => true, 'a finite number or a schedule');
  return scale(m * learningRate) as GradientTransformation<EmptyState | ScaleByScheduleState>;
}

// ------------------------------------------------------------------ moments

export interface ScaleByAdamOptions {
  /** Decay of the first moment (default 0.9). */
  b1?: number;
  /** Decay of the second moment (default 0.999). */
  b2?: number;
  /** Added to √v̂ (default 1e-8). */
  eps?: number;
  /** Added to v̂ inside the square root (default 0). */
  epsRoot?: number;
}

export interface ScaleByAdamState {
  count: Array;
  mu: Updates;
  nu: Updates;
}

/**
 * optax.scale_by_adam (Kingma & Ba 2015, Algorithm 1): with t the incremented count,
 * `m = b1·m + (1−b1)·g`, `v = b2·v + (1−b2)·g²`, `m̂ = m/(1−b1^t)`, `v̂ = v/(1−b2^t)`,
 * `update = m̂ / (√(v̂ + epsRoot) + eps)`.
 */
export function scaleByAdam(opts: ScaleByAdamOptions = {}): GradientTransformation<ScaleByAdamState> {
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0 } = opts;
  const op = 'scaleByAdam';
  checkNumber(op, 'b1', b1, (v) => v >= 0 && v < 1, 'in [0, 1)');
  checkNumber(op, 'b2', b2, (v) => v >= 0 && v < 1, 'in [0, 1)');
  checkNumber(op, 'eps', eps, (v) => v >= 0, 'non-negative');
  checkNumber(op, 'epsRoot', epsRoot, (v) => v >= 0, 'non-negative');
  return {
    init: (params) => ({ count: zeroCount(), mu: zerosLike(params), nu: zerosLike(params) }),
    update: (updates, state) => {
      const mu = mapLeaves(`${op}.update`, (g, m) => g.mul(1 - b1).add(m.mul(b1)), ['updates', updates], ['state.mu', state.mu]);
      const nu = mapLeaves(`${op}.update`, (g, v) => g.mul(g).mul(1 - b2).add(v.mul(b2)), ['updates', updates], ['state.nu', state.nu]);
      const count = safeIncrement(state.count);
      const t = np.astype(count, 'float32');
      const c1 = np.sub(1, np.pow(b1, t));
      const c2 = np.sub(1, np.pow(b2, t));
      const out = mapLeaves(`${op}.update`, (m, v) => m.div(c1).div(v.div(c2).add(epsRoot).sqrt().add(eps)), ['mu', mu], ['nu', nu]);
      return [out, { count, mu, nu }];
    },
  };
}

export interface TraceOptions {
  /** Momentum coefficient. */
  decay: number;
  /** Nesterov momentum: the update is `g + decay · trace` (default false). */
  nesterov?: boolean;
}

export interface TraceState {
  trace: Updates;
}

/** optax.trace (heavy-ball momentum): `trace = g + decay · trace`; the update is `trace`, or `g + decay · trace` with Nesterov. */
export function trace(opts: TraceOptions): GradientTransformation<TraceState> {
  const { decay, nesterov = false } = opts;
  checkNumber('trace', 'decay', decay, (v) => v >= 0, 'non-negative');
  return {
    init: (params) => ({ trace: zerosLike(params) }),
    update: (updates, state) => {
      const f = (g: Array, t: Array) => g.add(t.mul(decay));
      const tr = mapLeaves('trace.update', f, ['updates', updates], ['state.trace', state.trace]);
      return [nesterov ? mapLeaves('trace.update', f, ['updates', updates], ['trace', tr]) : tr, { trace: tr }];
    },
  };
}

export interface EmaState {
  count: Array;
  ema: Updates;
}

/**
 * optax.ema: an exponential moving average of the *updates* it receives,
 * `ema = decay·ema + (1−decay)·u` from zeros; with `debias` (default) the output is
 * `ema / (1 − decay^t)`. For an average of the parameters use `emaInit` / `emaUpdate`.
 */
export function ema(decay: number, opts: { debias?: boolean } = {}): GradientTransformation<EmaState> {
  const debias = opts.debias ?? true;
  checkNumber('ema', 'decay', decay, (v) => v >= 0 && v <= 1, 'in [0, 1]');
  return {
    init: (params) => ({ count: zeroCount(), ema: zerosLike(params) }),
    update: (updates, state) => {
      const e = mapLeaves('ema.update', (u, a) => u.mul(1 - decay).add(a.mul(decay)), ['updates', updates], ['state.ema', state.ema]);
      const count = safeIncrement(state.count);
      const c = np.sub(1, np.pow(decay, np.astype(count, 'float32')));
      return [debias ? mapLeaves('ema.update', (a) => a.div(c), ['ema', e]) : e, { count, ema: e }];
    },
  };
}

/**
 * The start of a parameter EMA (the "EMA weights" of diffusion training): a fresh tree holding
 * the initial parameters themselves, so no debiasing is needed.
 */
export function emaInit(params: Params): Params {
  return mapLeaves('emaInit', (p) => p, ['params', params]);
}

/**
 * One step of a parameter EMA: `decay · ema + (1 − decay) · params`, leafwise. `decay` may be
 * an array (e.g. a warm-up such as `min(decay, (1 + step) / (10 + step))`). Pure: returns the
 * new average.
 */
export function emaUpdate(emaParams: Params, params: Params, decay: number | Array): Params {
  if (typeof decay === 'number') checkNumber('emaUpdate', 'decay', decay, (v) => v >= 0 && v <= 1, 'in [0, 1]');
  const oneMinus = np.sub(1, decay);
  return mapLeaves('emaUpdate', (e, p) => e.mul(decay).add(p.mul(oneMinus)), ['ema', emaParams], ['params', params]);
}

// ------------------------------------------------------------------ weight decay and clipping

/**
 * optax.add_decayed_weights: `updates + weightDecay · params` (decoupled weight decay,
 * Loshchilov & Hutter 2019). With `mask`, only the leaves where it is true are decayed.
 */
export function addDecayedWeights(weightDecay: number | Array, mask?: Mask): GradientTransformation<EmptyState | MaskedState<EmptyState>> {
  if (typeof weightDecay === 'number') checkNumber('addDecayedWeights', 'weightDecay', weightDecay, () => true, 'a finite number');
  const tx: GradientTransformation<EmptyState> = {
    init: () => null,
    update: (updates, _state, params) => {
      const p = requireParams('addDecayedWeights.update', params);
      return [mapLeaves('addDecayedWeights.update', (u, w) => u.add(w.mul(weightDecay)), ['updates', updates], ['params', p]), null];
    },
  };
  return (mask === undefined ? tx : masked(tx, mask)) as GradientTransformation<EmptyState | MaskedState<EmptyState>>;
}

/** optax.global_norm: `√(Σ_leaves Σ x²)`, a float32 scalar (the parameter utility of the same name). */
export { globalNorm };

/**
 * optax.clip_by_global_norm: if the global norm g of the updates exceeds `maxNorm`, scale them
 * all by `maxNorm / g` (Pascanu et al. 2013); otherwise leave them unchanged.
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<EmptyState> {
  checkNumber('clipByGlobalNorm', 'maxNorm', maxNorm, (v) => v > 0, 'positive');
  return {
    init: () => null,
    update: (updates) => {
      const g = globalNorm(mapLeaves('clipByGlobalNorm.update', (u) => u, ['updates', updates]));
      const keep = g.less(maxNorm);
      return [mapLeaves('clipByGlobalNorm.update', (u) => np.where(keep, u, u.div(g).mul(maxNorm)), ['updates', updates]), null];
    },
  };
}

// ------------------------------------------------------------------ optimizers

/** optax.sgd: `chain(trace({decay: momentum, nesterov}) if momentum is given, scaleByLearningRate(lr))`. */
export function sgd(learningRate: number | Schedule, opts: { momentum?: number; nesterov?: boolean } = {}) {
  const first = opts.momentum === undefined ? identity() : trace({ decay: opts.momentum, nesterov: opts.nesterov });
  return chain(first as GradientTransformation<EmptyState | TraceState>, scaleByLearningRate(learningRate));
}

/** optax.adam: `chain(scaleByAdam(opts), scaleByLearningRate(lr))`. */
export function adam(learningRate: number | Schedule, opts: ScaleByAdamOptions = {}) {
  return chain(scaleByAdam(opts), scaleByLearningRate(learningRate));
}

export interface AdamWOptions extends ScaleByAdamOptions {
  /** Decoupled weight decay coefficient (default 1e-4, as optax). */
  weightDecay?: number;
  /** Which parameters to decay (e.g. not biases and norms); default all. */
  mask?: Mask;
}

/**
 * optax.adamw (Loshchilov & Hutter 2019, Algorithm 2):
 * `chain(scaleByAdam, addDecayedWeights(weightDecay, mask), scaleByLearningRate(lr))`, so the
 * decay is scaled by the learning rate but not by Adam's normalisation.
 */
export function adamw(learningRate: number | Schedule, opts: AdamWOptions = {}) {
  const { weightDecay = 1e-4, mask, ...adamOpts } = opts;
  return chain(scaleByAdam(adamOpts), addDecayedWeights(weightDecay, mask), scaleByLearningRate(learningRate));
}

// ------------------------------------------------------------------ gradient accumulation

export interface MultiStepsState<S> {
  /** Mini-steps accumulated since the last inner update, in [0, everyK). */
  miniStep: Array;
  /** Number of inner updates made. */
  gradientStep: Array;
  inner: S;
  /** Running mean of the gradients of the current mini-steps. */
  accGrads: Updates;
}

/**
 * optax.MultiSteps (gradient accumulation): average the gradients of `everyK` consecutive
 * calls and apply `inner` to the mean on the k-th; the other calls return zero updates and
 * leave the inner state untouched. The mean is the running `acc + (g − acc) / (miniStep + 1)`.
 */
export function multiSteps<S>(inner: GradientTransformation<S>, everyK: number): GradientTransformation<MultiStepsState<S>> {
  checkNumber('multiSteps', 'everyK', everyK, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  return {
    init: (params) => ({ miniStep: zeroCount(), gradientStep: zeroCount(), inner: inner.init(params), accGrads: zerosLike(params) }),
    update: (updates, state, params) => {
      const n = np.astype(state.miniStep.add(1), 'float32');
      const acc = mapLeaves('multiSteps.update', (g, a) => a.add(g.sub(a).div(n)), ['updates', updates], ['state.accGrads', state.accGrads]);
      const mid = (a: Updates, s: S): [Updates, MultiStepsState<S>] => [
        zerosLike(a),
        { miniStep: safeIncrement(state.miniStep), gradientStep: state.gradientStep, inner: s, accGrads: a },
      ];
      const final = (a: Updates, s: S): [Updates, MultiStepsState<S>] => {
        const [u, ns] = inner.update(a, s, params);
        return [u, { miniStep: zeroCount(), gradientStep: safeIncrement(state.gradientStep), inner: ns, accGrads: zerosLike(a) }];
      };
      return lax.cond(state.miniStep.less(everyK - 1), mid, final, acc, state.inner);
    },
  };
}

/** optax.MultiSteps.has_updated: whether the last `multiSteps` update applied the inner transformation. */
export function multiStepsHasUpdated(state: MultiStepsState<unknown>): Array {
  return np.logicalAnd(state.miniStep.equal(0), state.gradientStep.greater(0));
}
