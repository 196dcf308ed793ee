/**
 * NumPy-style array printing, rendered like JAX's `Array(...)` repr.
 *
 * Follows NumPy's default print options (precision 8, floatmode 'maxprec',
 * suppress=False, linewidth 75, threshold 1000, edgeitems 3) and
 * `array_repr`'s layout, with these deliberate differences:
 * - the dtype is always shown (like JAX), and empty arrays always show their
 *   shape: `Array([], shape=(0,), dtype=float32)`;
 * - summarised arrays show `shape=` (NumPy >= 2.2 does this too);
 * - float32 "unique" digits are the shortest exactly rounded (ties to even)
 *   decimal that round-trips through `Math.fround`; Dragon4 treats the
 *   rounding-interval boundaries slightly differently, so rare values may
 *   differ in the last digit.
 * Like NumPy >= 2.3, float32 switches to scientific notation from 1e6 (not
 * 1e8), and bools print as `[ True, False]`. Matched NumPy 2.4 exactly on
 * several thousand random arrays.
 */

/** Dtypes this module can print. */
export type FormatDType = 'float32' | 'int32' | 'uint32' | 'bool';

const LINE_WIDTH = 75;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const PRECISION = 8;
const PREFIX = 'Array(';
const F32_1E4 = Math.fround(1e-4);

/** Normalise a raw element to a value of `dtype`. */
function cast(v: number, dtype: FormatDType): number {
  switch (dtype) {
    case 'float32':
      return Math.fround(v);
    case 'int32':
      return v | 0;
    case 'uint32':
      return v >>> 0;
    case 'bool':
      return v ? 1 : 0;
  }
}

/** Decimal `0.digits × 10^exp`-style value: a = d0.d1d2... × 10^exp. */
interface Dec {
  readonly digits: string;
  readonly exp: number;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Exact decimal expansion of a finite float32 `a > 0`. */
function exact(a: number): Dec {
  f32[0] = a;
  const bits = u32[0]!;
  const be = (bits >>> 23) & 0xff;
  const m = BigInt(be === 0 ? bits & 0x7fffff : (bits & 0x7fffff) | 0x800000);
  const e = be === 0 ? -149 : be - 150; // a = m * 2^e
  const s = e >= 0 ? (m << BigInt(e)).toString() : (m * 5n ** BigInt(-e)).toString();
  return { digits: s.replace(/0+$/, ''), exp: s.length - 1 + Math.min(e, 0) };
}

/** Round to `n` significant digits, ties to even (like Dragon4); no trailing zeros. */
function round(d: Dec, n: number): Dec {
  if (n < 0) return { digits: '0', exp: 0 };
  if (d.digits.length <= n) return d;
  // A leading 0 lets n = 0 round up into a new digit.
  const ds = '0' + d.digits;
  const next = ds[n + 1]!;
  const head = ds.slice(0, n + 1);
  const tie = next === '5' && /^0*$/.test(ds.slice(n + 2));
  const up = next > '5' || (next === '5' && !tie) || (tie && Number(head[n]) % 2 === 1);
  const r = up ? (BigInt(head) + 1n).toString() : head.replace(/^0+/, '');
  if (r === '') return { digits: '0', exp: 0 };
  return { digits: r.replace(/0+$/, ''), exp: d.exp + 1 - (n + 1 - r.length) };
}

/** Shortest digits of finite float32 `a > 0` that round-trip through `Math.fround`. */
function shortest(a: number): Dec {
  const d = exact(a);
  for (let p = 1; ; p++) {
    const r = round(d, p);
    if (p >= 9 || Math.fround(Number(`${r.digits[0]}.${r.digits.slice(1)}e${r.exp}`)) === a) return r;
  }
}

/** Positional [int, frac] parts of `a >= 0`: unique digits, at most 8 decimals. */
function positional(a: number): [string, string] {
  if (a === 0) return ['0', ''];
  let { digits, exp } = shortest(a);
  if (digits.length - exp - 1 > PRECISION) ({ digits, exp } = round(exact(a), exp + 1 + PRECISION));
  if (digits === '0') return ['0', ''];
  if (exp < 0) return ['0', '0'.repeat(-exp - 1) + digits];
  return [digits.slice(0, exp + 1).padEnd(exp + 1, '0'), digits.slice(exp + 1)];
}

/** Scientific parts of `a >= 0`: [lead, frac, exponent], unique digits or
 * exactly `precision` rounded fractional digits. */
function scientific(a: number, precision?: number): [string, string, number] {
  if (a === 0) return ['0', '0'.repeat(precision ?? 0), 0];
  const { digits, exp } = precision === undefined ? shortest(a) : round(exact(a), precision + 1);
  return [digits[0]!, digits.slice(1).padEnd(precision ?? 0, '0'), exp];
}

const isNeg = (x: number): boolean => x < 0 || Object.is(x, -0);

/** Build NumPy's FloatingFormat for the (shown) values `vals`. */
function floatFormatter(vals: readonly number[]): (x: number) => string {
  const finite = vals.filter(Number.isFinite);
  const absNZ = finite.filter((v) => v !== 0).map(Math.abs);
  let exp = false;
  if (absNZ.length > 0) {
    const max = Math.max(...absNZ);
    const min = Math.min(...absNZ);
    // NumPy >= 2.3 uses a dtype-aware cutoff (1e6 for float32) and compares
    // in float32 (NEP 50); mirror both.
    exp = max >= 1e6 || min < F32_1E4 || Math.fround(max / min) > 1000;
  }
  let padLeft = 0;
  let padRight = 0;
  let expSize = -1;
  for (const v of finite) {
    const sign = isNeg(v) ? 1 : 0;
    if (exp) {
      const [, f, e] = scientific(Math.abs(v));
      padLeft = Math.max(padLeft, 1 + sign);
      padRight = Math.max(padRight, f.length);
      expSize = Math.max(expSize, Math.max(2, String(Math.abs(e)).length));
    } else {
      const [i, f] = positional(Math.abs(v));
      padLeft = Math.max(padLeft, i.length + sign);
      padRight = Math.max(padRight, f.length);
    }
  }
  const precision = padRight; // exp mode: every value gets this many digits
  if (exp) padRight = expSize + 2 + precision;
  if (finite.length !== vals.length) {
    const offset = padRight + 1;
    const infLen = vals.some((v) => v === -Infinity) ? 4 : 3;
    padLeft = Math.max(padLeft, 3 - offset, infLen - offset);
  }
  return (x) => {
    if (!Number.isFinite(x)) {
      const r = Number.isNaN(x) ? 'nan' : x < 0 ? '-inf' : 'inf';
      return r.padStart(padLeft + padRight + 1);
    }
    const sign = isNeg(x) ? '-' : '';
    if (exp) {
      const [d, f, e] = scientific(Math.abs(x), precision);
      const es = String(Math.abs(e)).padStart(expSize, '0');
      return `${(sign + d).padStart(padLeft)}.${f}e${e < 0 ? '-' : '+'}${es}`;
    }
    const [i, f] = positional(Math.abs(x));
    return `${(sign + i).padStart(padLeft)}.${f.padEnd(padRight)}`;
  };
}

/** Element formatter for `dtype` fitted to `vals`; `scalar` for 0-d arrays. */
function formatter(vals: readonly number[], dtype: FormatDType, scalar: boolean): (x: number) => string {
  if (dtype === 'float32') return floatFormatter(vals);
  if (dtype === 'bool') return (x) => (x ? (scalar ? 'True' : ' True') : 'False');
  const width = Math.max(...vals.map((v) => String(v).length));
  return (x) => String(x).padStart(width);
}

/** Format one value as NumPy prints a 0-d array's body (`3.`, `True`, `1.e-05`). */
export function formatScalar(v: number, dtype: FormatDType): string {
  const x = cast(v, dtype);
  return formatter([x], dtype, true)(x);
}

/** Python tuple repr of a shape: `()`, `(3,)`, `(2, 3)`. */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * Format a row-major array like `repr` of a NumPy array, with an `Array(`
 * prefix and trailing `dtype=...`:
 * `Array([[1., 2.],\n       [3., 4.]], dtype=float32)`.
 */
export function formatArray(
  data: ArrayLike<number>,
  shape: readonly number[],
  dtype: FormatDType,
): string {
  const ndim = shape.length;
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length < size) {
    throw new Error(`formatArray: shape ${shapeRepr(shape)} needs ${size} elements, got ${data.length}`);
  }
  const strides: number[] = new Array(ndim);
  for (let i = ndim - 1, s = 1; i >= 0; s *= shape[i]!, i--) strides[i] = s;
  const summarise = size > THRESHOLD;
  const at = (off: number): number => cast(data[off]!, dtype);
  const extras: string[] = [];
  let body = '[]';

  if (size === 0) extras.push(`shape=${shapeRepr(shape)}`);
  else {
    // Indices shown along `axis` (all, or the leading/trailing edge items).
    const shown = (axis: number): number[] => {
      const n = shape[axis]!;
      const idx = Array.from({ length: n }, (_, i) => i);
      return summarise && n > 2 * EDGE_ITEMS ? [...idx.slice(0, EDGE_ITEMS), ...idx.slice(n - EDGE_ITEMS)] : idx;
    };
    const vals: number[] = [];
    const collect = (off: number, axis: number): void => {
      if (axis === ndim) vals.push(at(off));
      else for (const i of shown(axis)) collect(off + i * strides[axis]!, axis + 1);
    };
    collect(0, 0);
    const fmt = formatter(vals, dtype, ndim === 0);

    // Port of NumPy's `_formatArray` (legacy=False).
    const recurse = (off: number, axis: number, hang: string, width: number): string => {
      if (axis === ndim) return fmt(at(off));
      const n = shape[axis]!;
      const summary = summarise && n > 2 * EDGE_ITEMS;
      const idx = shown(axis);
      const child = (i: number): string => recurse(off + i * strides[axis]!, axis + 1, hang + ' ', width - 1);
      let s = '';
      if (axis === ndim - 1) {
        const elemWidth = width - 1;
        let line = hang;
        const extend = (word: string): void => {
          if (line.length + word.length > elemWidth && line.length > hang.length) {
            s += line.trimEnd() + '\n';
            line = hang;
          }
          line += word;
        };
        idx.forEach((i, k) => {
          if (summary && k === EDGE_ITEMS) {
            extend('...');
            line += ', ';
          }
          extend(child(i));
          if (k < idx.length - 1) line += ', ';
        });
        s += line;
      } else {
        const sep = ',' + '\n'.repeat(ndim - axis - 1);
        idx.forEach((i, k) => {
          if (summary && k === EDGE_ITEMS) s += hang + '...' + sep;
          s += hang + child(i) + (k < idx.length - 1 ? sep : '');
        });
      }
      return '[' + s.slice(hang.length) + ']';
    };
    body = recurse(0, 0, ' '.repeat(PREFIX.length + 1), LINE_WIDTH - 1);
    if (summarise) extras.push(`shape=${shapeRepr(shape)}`);
  }

  extras.push(`dtype=${dtype}`);
  const head = PREFIX + body + ',';
  const tail = extras.join(', ') + ')';
  const lastLine = head.length - (head.lastIndexOf('\n') + 1);
  const spacer = lastLine + tail.length + 1 > LINE_WIDTH ? '\n' + ' '.repeat(PREFIX.length) : ' ';
  return head + spacer + tail;
}
