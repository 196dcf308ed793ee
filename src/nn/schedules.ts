/**
 * Learning-rate (and other hyper-parameter) schedules with optax's formulas.
 *
 * A schedule maps a step count (an int32 scalar array, as kept in optimizer states, or a JS
 * number) to a float32 scalar array. Schedules are pure array code, so they trace under
 * `jit`, `vmap` and `grad`; step counts start at 0, as in optax (`scaleBySchedule` evaluates
 * the schedule at the count *before* incrementing it).
 */
import { ValueError } from '../core/errors.js';
import * as np from '../core/numpy/index.js';
import type { Value as Array } from '../core/trace/value.js';

/** `(step) => value`: a traceable map from a step count to a float32 scalar. */
export type Schedule = (step: Array | number) => Array;

/** The step as a float32 array (counts are int32 in optimizer states). */
const asFloat = (step: Array | number): Array => np.astype(step, 'float32');

function checkFinite(op: string, args: Record<string, number>): void {
  for (const [name, v] of Object.entries(args)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValueError(`${op}: ${name} must be a finite number, got ${String(v)}`);
  }
}

/** optax.constant_schedule: `value` at every step. */
export function constantSchedule(value: number): Schedule {
  checkFinite('constantSchedule', { value });
  return () => np.full([], value, 'float32');
}

export interface PolynomialScheduleOptions {
  initValue: number;
  endValue: number;
  /** Number of steps from `initValue` to `endValue`; ≤ 0 gives the constant `initValue` (as optax). */
  transitionSteps: number;
  /** Steps to hold `initValue` before the transition starts (default 0; negatives count as 0, as optax). */
  transitionBegin?: number;
  /** Exponent of the decay (default 1, a linear ramp). */
  power?: number;
}

/**
 * optax.polynomial_schedule:
 * `c = clip(step − transitionBegin, 0, transitionSteps)`,
 * `value = (init − end) · (1 − c / transitionSteps)^power + end`.
 */
export function polynomialSchedule(opts: PolynomialScheduleOptions): Schedule {
  const { initValue, endValue, transitionSteps, power = 1 } = opts;
  checkFinite('polynomialSchedule', { initValue, endValue, transitionSteps, power, transitionBegin: opts.transitionBegin ?? 0 });
  if (transitionSteps <= 0) return constantSchedule(initValue);
  const begin = Math.max(0, opts.transitionBegin ?? 0);
  return (step) => {
    const c = np.clip(asFloat(step).sub(begin), 0, transitionSteps);
    const frac = np.sub(1, c.div(transitionSteps));
    return frac.pow(power).mul(initValue - endValue).add(endValue);
  };
}

export type LinearScheduleOptions = Omit<PolynomialScheduleOptions, 'power'>;

/** optax.linear_schedule: `polynomialSchedule` with power 1 (a linear ramp, then constant `endValue`). */
export function linearSchedule(opts: LinearScheduleOptions): Schedule {
  return polynomialSchedule({ ...opts, power: 1 });
}

export interface LinearWarmupOptions {
  /** Value reached after `warmupSteps` steps and held afterwards. */
  peakValue: number;
  warmupSteps: number;
  /** Value at step 0 (default 0). */
  initValue?: number;
}

/** A linear warm-up from `initValue` (default 0) to `peakValue` over `warmupSteps`, then constant: `linearSchedule` with those end points. */
export function linearWarmup(opts: LinearWarmupOptions): Schedule {
  return linearSchedule({ initValue: opts.initValue ?? 0, endValue: opts.peakValue, transitionSteps: opts.warmupSteps });
}

export interface CosineDecayOptions {
  initValue: number;
  /** Steps over which the value decays; must be positive. */
  decaySteps: number;
  /** Final value as a fraction of `initValue` (default 0). */
  alpha?: number;
  /** Exponent applied to the cosine factor (default 1). */
  exponent?: number;
}

/**
 * optax.cosine_decay_schedule (Loshchilov & Hutter 2017, SGDR, eq. 5 without restarts):
 * `c = min(step, decaySteps)`, `d = ½(1 + cos(π c / decaySteps))`,
 * `value = init · ((1 − α) · d^exponent + α)`.
 */
export function cosineDecaySchedule(opts: CosineDecayOptions): Schedule {
  const { initValue, decaySteps, alpha = 0, exponent = 1 } = opts;
  checkFinite('cosineDecaySchedule', { initValue, decaySteps, alpha, exponent });
  if (!(decaySteps > 0)) throw new ValueError(`cosineDecaySchedule: decaySteps must be positive, got ${decaySteps}`);
  return (step) => {
    const c = np.minimum(asFloat(step), decaySteps);
    const d = np.cos(c.mul(Math.PI / decaySteps)).add(1).mul(0.5);
    return d.pow(exponent).mul(1 - alpha).add(alpha).mul(initValue);
  };
}

/**
 * optax.join_schedules: `schedules[0]` before `boundaries[0]`, then `schedules[i + 1]`
 * evaluated at `step − boundaries[i]` from `boundaries[i]` on.
 */
export function joinSchedules(schedules: readonly Schedule[], boundaries: readonly number[]): Schedule {
  if (schedules.length !== boundaries.length + 1)
    throw new ValueError(`joinSchedules: expected ${boundaries.length + 1} schedules for ${boundaries.length} boundaries, got ${schedules.length}`);
  boundaries.forEach((b, i) => checkFinite('joinSchedules', { [`boundaries[${i}]`]: b }));
  return (step) => {
    const s = asFloat(step);
    let out = schedules[0](step);
    boundaries.forEach((b, i) => {
      out = np.where(s.less(b), out, schedules[i + 1](s.sub(b)));
    });
    return out;
  };
}

export interface WarmupCosineDecayOptions {
  initValue: number;
  peakValue: number;
  warmupSteps: number;
  /** Total length of the schedule, warm-up included (as optax). */
  decaySteps: number;
  /** Value at the end of the decay (default 0). */
  endValue?: number;
  exponent?: number;
}

/**
 * optax.warmup_cosine_decay_schedule: a linear warm-up from `initValue` to `peakValue` over
 * `warmupSteps`, then a cosine decay to `endValue` over the remaining `decaySteps − warmupSteps`.
 */
export function warmupCosineDecaySchedule(opts: WarmupCosineDecayOptions): Schedule {
  const { initValue, peakValue, warmupSteps, decaySteps, endValue = 0, exponent = 1 } = opts;
  checkFinite('warmupCosineDecaySchedule', { initValue, peakValue, warmupSteps, decaySteps, endValue, exponent });
  if (!(decaySteps > warmupSteps))
    throw new ValueError(`warmupCosineDecaySchedule: decaySteps (${decaySteps}) must exceed warmupSteps (${warmupSteps}); decaySteps counts the warm-up too`);
  const alpha = peakValue === 0 ? 0 : endValue / peakValue;
  return joinSchedules(
    [
      linearSchedule({ initValue, endValue: peakValue, transitionSteps: warmupSteps }),
      cosineDecaySchedule({ initValue: peakValue, decaySteps: decaySteps - warmupSteps, alpha, exponent }),
    ],
    [warmupSteps],
  );
}

/** Boundaries and scales: `{ 100: 0.1, 200: 0.1 }` or `[[100, 0.1], [200, 0.1]]`. */
export type BoundariesAndScales = Readonly<Record<number, number>> | readonly (readonly [number, number])[];

/**
 * optax.piecewise_constant_schedule: `initValue`, multiplied by `scale` for every boundary the
 * step has reached (`step ≥ boundary`). Scales must be non-negative.
 */
export function piecewiseConstantSchedule(initValue: number, boundariesAndScales: BoundariesAndScales = []): Schedule {
  checkFinite('piecewiseConstantSchedule', { initValue });
  const pairs = (globalThis.Array.isArray(boundariesAndScales) ? boundariesAndScales : Object.entries(boundariesAndScales))
    .map(([b, s]) => [Number(b), s] as const)
    .sort((a, b) => a[0] - b[0]);
  for (const [b, s] of pairs) {
    if (!Number.isFinite(b)) throw new ValueError(`piecewiseConstantSchedule: boundary ${String(b)} is not a finite number`);
    if (typeof s !== 'number' || !(s >= 0)) throw new ValueError(`piecewiseConstantSchedule: scales must be non-negative numbers, got ${String(s)} at boundary ${b}`);
  }
  return (step) => {
    const s = asFloat(step);
    let v = np.full([], initValue, 'float32');
    for (const [b, scale] of pairs) v = np.where(s.less(b), v, v.mul(scale));
    return v;
  };
}
