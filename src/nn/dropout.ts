/**
 * Dropout (Srivastava et al. 2014) in its inverted form: at training time each element is kept
 * with probability 1 − rate and scaled by 1/(1 − rate), so the expectation is unchanged and
 * evaluation is the identity. The randomness comes from an explicit key; nothing is global.
 */
import * as np from '../core/numpy/index.js';
import * as random from '../core/random.js';
import { ValueError } from '../core/errors.js';
import type { Value as Array } from '../core/trace/value.js';

export interface DropoutOptions {
  /** Whether this is a training step (default false: dropout is the identity). */
  train?: boolean;
  /** The PRNG key for the mask; required when `train` is true and rate > 0. */
  key?: Array;
}

/**
 * `dropout(x, rate, { key, train })`: with `train` false (the default), x unchanged. With
 * `train` true, x·m/(1 − rate) where m is a Bernoulli(1 − rate) mask drawn from `key` with x's
 * shape (`torch.nn.functional.dropout`, `flax.linen.Dropout`). `rate` is a number in [0, 1];
 * rate 0 is the identity and rate 1 gives zeros.
 */
export function dropout(x: Array, rate: number, { train = false, key }: DropoutOptions = {}): Array {
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new ValueError(`dropout: rate must be a number in [0, 1], got ${String(rate)}`);
  if (!train || rate === 0) return x;
  if (key === undefined) throw new ValueError(`dropout: training with rate ${rate} needs a PRNG key ({ key, train: true })`);
  if (rate === 1) return np.zerosLike(x);
  const keep = random.bernoulli(key, 1 - rate, x.shape);
  return np.where(keep, np.div(x, 1 - rate), 0);
}
