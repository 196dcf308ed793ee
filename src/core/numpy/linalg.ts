/**
 * NumPy-style products: `matmul`, `dot`, `inner`, `outer`, `tensordot` and `einsum`.
 * Every contraction lowers to one `dot_general` (plus free reshapes/transposes); indices
 * that appear in a single operand only are summed with `reduce_sum` first. Operands are
 * promoted with JAX's lattice; bool products are computed in int32 and compared with 0
 * (NumPy's logical semantics).
 */
import { promote, type DType } from '../dtype.js';
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { normAxis, shapeEq } from '../shape.js';
import { bind1 } from '../trace/trace.js';
import type { Value } from '../trace/value.js';
import { toValue, type ArrayLike } from './convert.js';
import { convert, mul } from './elementwise.js';

declare module '../trace/value.js' {
  interface Value {
    /** `x.matmul(y)` is `np.matmul(x, y)`. */
    matmul(y: ArrayLike): Value;
    /** `x.dot(y)` is `np.dot(x, y)`. */
    dot(y: ArrayLike): Value;
  }
}

// ------------------------------------------------------------------ small structural helpers

function reshape(x: Value, shape: readonly number[]): Value {
  return shapeEq(x.shape, shape) ? x : bind1('reshape', [x], { newSizes: [...shape] });
}
function transpose(x: Value, perm: readonly number[]): Value {
  return perm.every((p, i) => p === i) ? x : bind1('transpose', [x], { permutation: [...perm] });
}
function reduceSum(x: Value, axes: readonly number[]): Value {
  return axes.length === 0 ? x : bind1('reduce_sum', [x], { axes: [...axes].sort((a, b) => a - b) });
}

/** Convert operands to their common (promoted) dtype; no broadcasting. */
function promoteDtypes(op: string, xs: readonly ArrayLike[]): { vs: Value[]; dtype: DType; weak: boolean } {
  const vs = xs.map((x) => toValue(op, x));
  let t = { dtype: vs[0].dtype, weak: vs[0].weakType };
  for (const v of vs.slice(1)) t = promote(t.dtype, t.weak, v.dtype, v.weakType);
  // dot_general has no bool form: compute bools in int32 (and map back with `!= 0`).
  const compute = t.dtype === 'bool' ? 'int32' : t.dtype;
  return { vs: vs.map((v) => convert(v, compute, t.weak)), dtype: t.dtype, weak: t.weak };
}

/** Map an int32 result of a bool product back to bool (any true term). */
function finish(r: Value, dtype: DType): Value {
  if (dtype !== 'bool') return r;
  const zero = bind1('broadcast_in_dim', [convert(toValue('matmul', 0), r.dtype)], { shape: r.shape, broadcastDimensions: [] });
  return bind1('ne', [r, zero], {});
}

// ------------------------------------------------------------------ labelled contraction

/** A labelled operand: dimension d of `v` carries label `labels[d]`. */
interface Labelled {
  v: Value;
  labels: string[];
}

/** Sum out the dims whose labels are not in `keep`. */
function sumOut(x: Labelled, keep: ReadonlySet<string>): Labelled {
  const axes = x.labels.flatMap((l, d) => (keep.has(l) ? [] : [d]));
  if (axes.length === 0) return x;
  return { v: reduceSum(x.v, axes), labels: x.labels.filter((l) => keep.has(l)) };
}

/**
 * Contract two labelled operands with one dot_general: labels in both and in `keep` are
 * batch dims, labels in both and not in `keep` are contracted, the rest are free. The
 * result's labels are (batch, x free, y free), dot_general's output order.
 */
function contractPair(x: Labelled, y: Labelled, keep: ReadonlySet<string>): Labelled {
  const inY = new Set(y.labels);
  const inX = new Set(x.labels);
  // Labels only in one operand and not needed later are summed first (cheaper, and dot_general would keep them).
  x = sumOut(x, new Set(x.labels.filter((l) => keep.has(l) || inY.has(l))));
  y = sumOut(y, new Set(y.labels.filter((l) => keep.has(l) || inX.has(l))));
  const shared = x.labels.filter((l) => y.labels.includes(l));
  const batch = shared.filter((l) => keep.has(l));
  const contract = shared.filter((l) => !keep.has(l));
  const dims = (o: Labelled, ls: string[]) => ls.map((l) => o.labels.indexOf(l));
  const v = bind1('dot_general', [x.v, y.v], {
    dimensionNumbers: { contracting: [dims(x, contract), dims(y, contract)], batch: [dims(x, batch), dims(y, batch)] },
  });
  const labels = [...batch, ...x.labels.filter((l) => !shared.includes(l)), ...y.labels.filter((l) => !shared.includes(l))];
  return { v, labels };
}

/** Transpose a labelled value into `out` label order (every label of `x` must be in `out`), then reshape to `shape`. */
function arrange(x: Labelled, out: readonly string[], shape: readonly number[]): Value {
  const present = out.filter((l) => x.labels.includes(l));
  return reshape(transpose(x.v, present.map((l) => x.labels.indexOf(l))), shape);
}

// ------------------------------------------------------------------ matmul / dot / inner / outer / tensordot

/**
 * `matmul(a, b)` (`a @ b`) with NumPy semantics: a 1-D `a` is a row vector and a 1-D `b` a
 * column vector (the added dim is removed afterwards); leading (batch) dims broadcast.
 */
export function matmul(a: ArrayLike, b: ArrayLike): Value {
  const { vs: [x, y], dtype } = promoteDtypes('matmul', [a, b]);
  const desc = `${fmtShape(x.shape)} @ ${fmtShape(y.shape)}`;
  if (x.ndim === 0 || y.ndim === 0) throw new ShapeError(`matmul: operands must be at least 1-D (use mul for scalars), got ${desc}`);
  const xVec = x.ndim === 1, yVec = y.ndim === 1;
  const k = x.shape[x.ndim - 1], ky = y.shape[yVec ? 0 : y.ndim - 2];
  if (k !== ky) throw new ShapeError(`matmul: contracting dims differ: ${desc} (${k} vs ${ky})`);
  const xb = x.shape.slice(0, Math.max(0, x.ndim - 2)), yb = y.shape.slice(0, Math.max(0, y.ndim - 2));
  const nb = Math.max(xb.length, yb.length);
  const outBatch: number[] = [];
  const xLabels: string[] = [], yLabels: string[] = [], xKeep: number[] = [], yKeep: number[] = [];
  for (let i = 0; i < nb; i++) {
    const xi = i - (nb - xb.length), yi = i - (nb - yb.length);
    const sx = xi >= 0 ? xb[xi] : 1, sy = yi >= 0 ? yb[yi] : 1;
    if (sx !== sy && sx !== 1 && sy !== 1) throw new ShapeError(`matmul: batch dims cannot be broadcast: ${desc}`);
    outBatch.push(sx === 1 ? sy : sx);
    // A size-1 dim facing a larger one is dropped (it broadcasts); the other operand keeps it as a free dim.
    const keepX = xi >= 0 && (sx !== 1 || sy === 1), keepY = yi >= 0 && (sy !== 1 || sx === 1);
    if (keepX) { xLabels.push(`b${i}`); xKeep.push(sx); }
    if (keepY) { yLabels.push(`b${i}`); yKeep.push(sy); }
  }
  if (!xVec) { xLabels.push('m'); xKeep.push(x.shape[x.ndim - 2]); }
  xLabels.push('k'); xKeep.push(k);
  yLabels.push('k'); yKeep.push(k);
  if (!yVec) { yLabels.push('n'); yKeep.push(y.shape[y.ndim - 1]); }
  const outLabels = [...outBatch.map((_, i) => `b${i}`), ...(xVec ? [] : ['m']), ...(yVec ? [] : ['n'])];
  const outShape = [...outBatch, ...(xVec ? [] : [x.shape[x.ndim - 2]]), ...(yVec ? [] : [y.shape[y.ndim - 1]])];
  const keep = new Set(outLabels);
  const r = contractPair({ v: reshape(x, xKeep), labels: xLabels }, { v: reshape(y, yKeep), labels: yLabels }, keep);
  return finish(arrange(r, outLabels, outShape), dtype);
}

/**
 * `dot(a, b)` with NumPy semantics: scalars multiply; 1-D·1-D is the inner product; N-D·1-D
 * sums over the last axis of `a`; N-D·M-D (M ≥ 2) sums over the last axis of `a` and the
 * second-to-last of `b`, giving `a.shape[:-1] + b.shape[:-2] + b.shape[-1:]`.
 */
export function dot(a: ArrayLike, b: ArrayLike): Value {
  const { vs: [x, y], dtype } = promoteDtypes('dot', [a, b]);
  if (x.ndim === 0 || y.ndim === 0) return mul(a, b);
  const lc = x.ndim - 1, rc = y.ndim === 1 ? 0 : y.ndim - 2;
  if (x.shape[lc] !== y.shape[rc])
    throw new ShapeError(`dot: contracting dims differ: ${fmtShape(x.shape)} · ${fmtShape(y.shape)} (${x.shape[lc]} vs ${y.shape[rc]})`);
  return finish(bind1('dot_general', [x, y], { dimensionNumbers: { contracting: [[lc], [rc]], batch: [[], []] } }), dtype);
}

/** `inner(a, b)`: sum over the last axes of both; shape `a.shape[:-1] + b.shape[:-1]`; scalars multiply. */
export function inner(a: ArrayLike, b: ArrayLike): Value {
  const { vs: [x, y], dtype } = promoteDtypes('inner', [a, b]);
  if (x.ndim === 0 || y.ndim === 0) return mul(a, b);
  const lc = x.ndim - 1, rc = y.ndim - 1;
  if (x.shape[lc] !== y.shape[rc])
    throw new ShapeError(`inner: contracting dims differ: ${fmtShape(x.shape)} · ${fmtShape(y.shape)} (${x.shape[lc]} vs ${y.shape[rc]})`);
  return finish(bind1('dot_general', [x, y], { dimensionNumbers: { contracting: [[lc], [rc]], batch: [[], []] } }), dtype);
}

/** `outer(a, b)`: both operands are flattened; `out[i, j] = a[i] * b[j]`. */
export function outer(a: ArrayLike, b: ArrayLike): Value {
  const x = toValue('outer', a), y = toValue('outer', b);
  return mul(reshape(x, [x.size, 1]), reshape(y, [1, y.size]));
}

/**
 * `tensordot(a, b, axes = 2)`: with a number N, contracts the last N axes of `a` with the
 * first N of `b`; with `[axesA, axesB]` (numbers or lists, negatives allowed), contracts
 * those pairs. The result has `a`'s free dims followed by `b`'s.
 */
export function tensordot(a: ArrayLike, b: ArrayLike, axes: number | readonly [number | readonly number[], number | readonly number[]] = 2): Value {
  const { vs: [x, y], dtype } = promoteDtypes('tensordot', [a, b]);
  let la: number[], lb: number[];
  if (typeof axes === 'number') {
    if (!Number.isInteger(axes) || axes < 0 || axes > x.ndim || axes > y.ndim)
      throw new ShapeError(`tensordot: axes=${axes} is invalid for operands ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
    la = [...Array(axes).keys()].map((i) => x.ndim - axes + i);
    lb = [...Array(axes).keys()];
  } else {
    const list = (v: number | readonly number[]) => (typeof v === 'number' ? [v] : [...v]);
    la = list(axes[0]).map((d) => normAxis('tensordot', d, x.ndim));
    lb = list(axes[1]).map((d) => normAxis('tensordot', d, y.ndim));
    if (la.length !== lb.length) throw new ShapeError(`tensordot: axes lists have different lengths: ${JSON.stringify(axes)}`);
  }
  if (la.some((d, i) => x.shape[d] !== y.shape[lb[i]]))
    throw new ShapeError(`tensordot: contracting dims differ: ${fmtShape(x.shape)} axes ${fmtShape(la)} vs ${fmtShape(y.shape)} axes ${fmtShape(lb)}`);
  return finish(bind1('dot_general', [x, y], { dimensionNumbers: { contracting: [la, lb], batch: [[], []] } }), dtype);
}

// ------------------------------------------------------------------ einsum

interface ParsedEinsum {
  inputs: string[][];
  output: string[];
}

const ELL = '…';

/** Split one term into labels, with `…` standing for an ellipsis. */
function parseTerm(subscripts: string, term: string): string[] {
  const labels: string[] = [];
  const t = term.replace(/\.\.\./g, ELL);
  for (const c of t) {
    if (c === ELL) {
      if (labels.includes(ELL)) throw new ValueError(`einsum: more than one ellipsis in term '${term}' of '${subscripts}'`);
      labels.push(ELL);
    } else if (/[a-zA-Z]/.test(c)) labels.push(c);
    else throw new ValueError(`einsum: invalid character '${c}' in subscripts '${subscripts}' (use letters, ',', '->' and '...')`);
  }
  return labels;
}

function parseEinsum(subscripts: string, nOperands: number): ParsedEinsum & { explicit: boolean } {
  const s = subscripts.replace(/\s+/g, '');
  const parts = s.split('->');
  if (parts.length > 2) throw new ValueError(`einsum: subscripts '${subscripts}' contain more than one '->'`);
  const inputs = parts[0].split(',').map((t) => parseTerm(subscripts, t));
  if (inputs.length !== nOperands)
    throw new ValueError(`einsum: subscripts '${subscripts}' name ${inputs.length} operand${inputs.length === 1 ? '' : 's'} but ${nOperands} ${nOperands === 1 ? 'was' : 'were'} given`);
  if (parts.length === 2) return { inputs, output: parseTerm(subscripts, parts[1]), explicit: true };
  // Implicit output: the ellipsis first, then labels that appear exactly once, in alphabetical (char code) order.
  const count = new Map<string, number>();
  for (const t of inputs) for (const l of t) if (l !== ELL) count.set(l, (count.get(l) ?? 0) + 1);
  const once = [...count].filter(([, n]) => n === 1).map(([l]) => l).sort();
  const hasEll = inputs.some((t) => t.includes(ELL));
  return { inputs, output: [...(hasEll ? [ELL] : []), ...once], explicit: false };
}

/** Take the diagonal over two dims of equal size: keeps dim `d1`, removes `d2`. */
function diagonal(x: Value, d1: number, d2: number): Value {
  const i1 = bind1('iota', [], { dtype: 'int32', shape: [...x.shape], dimension: d1 });
  const i2 = bind1('iota', [], { dtype: 'int32', shape: [...x.shape], dimension: d2 });
  const mask = bind1('eq', [i1, i2], {});
  const zero = bind1('broadcast_in_dim', [convert(toValue('einsum', 0), x.dtype, x.weakType)], { shape: [...x.shape], broadcastDimensions: [] });
  return reduceSum(bind1('select_n', [mask, zero, x], {}), [d2]);
}

/**
 * `einsum(subscripts, ...operands)`: Einstein summation, e.g. `'bhqd,bhkd->bhqk'`.
 *
 * - explicit (`'ij,jk->ik'`) or implicit output (`'ij,jk'`: labels used once, sorted, after any `...`);
 * - a label shared by operands and kept in the output is a batch dim, otherwise it is contracted;
 * - a label in one operand only and not in the output is summed;
 * - a label repeated within one operand takes the diagonal (`'ii->i'`, trace `'ii'`);
 * - `...` stands for the same leading/middle dims in every operand (right-aligned; size-1 dims broadcast).
 *
 * Operands are contracted left to right, each pair by one `dot_general`.
 */
export function einsum(subscripts: string, ...operands: ArrayLike[]): Value {
  if (typeof subscripts !== 'string') throw new ValueError('einsum: the first argument must be the subscripts string');
  if (operands.length === 0) throw new ValueError('einsum: needs at least one operand');
  const { inputs, output: outTerm, explicit } = parseEinsum(subscripts, operands.length);
  const { vs, dtype } = promoteDtypes('einsum', operands);

  // Expand ellipses into labels '…0', '…1', … (right-aligned across operands).
  const ellRank = Math.max(0, ...inputs.map((t, i) => (t.includes(ELL) ? vs[i].ndim - (t.length - 1) : 0)));
  const expand = (t: string[], rank: number) => {
    const at = t.indexOf(ELL);
    if (at < 0) return t;
    const ell = [...Array(rank).keys()].map((j) => `${ELL}${ellRank - rank + j}`);
    return [...t.slice(0, at), ...ell, ...t.slice(at + 1)];
  };
  const terms = inputs.map((t, i) => {
    const named = t.filter((l) => l !== ELL).length;
    const rank = t.includes(ELL) ? vs[i].ndim - named : 0;
    if (rank < 0 || (!t.includes(ELL) && named !== vs[i].ndim))
      throw new ShapeError(`einsum: operand ${i} has shape ${fmtShape(vs[i].shape)} (rank ${vs[i].ndim}) but its term '${t.join('').replace(ELL, '...')}' in '${subscripts}' names ${named} dim${named === 1 ? '' : 's'}`);
    return expand(t, rank);
  });

  // Output labels.
  if (new Set(outTerm).size !== outTerm.length) throw new ValueError(`einsum: output '${outTerm.join('').replace(ELL, '...')}' repeats a label in '${subscripts}'`);
  const used = new Set(terms.flat());
  for (const l of outTerm)
    if (l !== ELL && !used.has(l)) throw new ValueError(`einsum: output label '${l}' does not appear in any input of '${subscripts}'`);
  if (explicit && ellRank > 0 && !outTerm.includes(ELL))
    throw new ValueError(`einsum: inputs of '${subscripts}' use '...' for ${ellRank} dim${ellRank === 1 ? '' : 's'} but the output has no '...'`);
  const out = expand(outTerm, outTerm.includes(ELL) ? ellRank : 0);

  // Label sizes; named labels must agree exactly, ellipsis dims broadcast (size 1 against n).
  const size = new Map<string, number>();
  terms.forEach((t, i) =>
    t.forEach((l, d) => {
      const n = vs[i].shape[d], prev = size.get(l);
      const ell = l.startsWith(ELL);
      if (prev === undefined || (ell && prev === 1)) size.set(l, n);
      else if (n !== prev && !(ell && n === 1)) {
        const what = ell ? `'...' dims cannot be broadcast` : `label '${l}' has different sizes`;
        throw new ShapeError(`einsum: ${what} (${prev} vs ${n}) in '${subscripts}' with operands ${vs.map((v) => fmtShape(v.shape)).join(', ')}`);
      }
    }),
  );

  // Per operand: drop broadcasting size-1 ellipsis dims, take diagonals of repeated labels.
  const ops: Labelled[] = terms.map((t, i) => {
    let v = vs[i];
    let labels = [...t];
    const drop = labels.map((l, d) => l.startsWith(ELL) && v.shape[d] === 1 && size.get(l)! !== 1);
    if (drop.some(Boolean)) {
      v = reshape(v, v.shape.filter((_, d) => !drop[d]));
      labels = labels.filter((_, d) => !drop[d]);
    }
    for (let d2 = labels.length - 1; d2 >= 0; d2--) {
      const d1 = labels.indexOf(labels[d2]);
      if (d1 === d2) continue;
      v = diagonal(v, d1, d2);
      labels.splice(d2, 1);
    }
    return { v, labels };
  });

  const outSet = new Set(out);
  let acc = ops[0];
  for (let i = 1; i < ops.length; i++) {
    const keep = new Set([...outSet, ...ops.slice(i + 1).flatMap((o) => o.labels)]);
    acc = contractPair(acc, ops[i], keep);
  }
  acc = sumOut(acc, outSet);
  return finish(arrange(acc, out, out.map((l) => size.get(l)!)), dtype);
}

/** Methods installed on every array and tracer (`x.matmul(y)`, `x.dot(y)`); see `array_methods.ts`. */
export const linalgMethods = { matmul, dot };
