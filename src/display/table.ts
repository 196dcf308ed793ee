/**
 * Arrays as tables. `table(x)` lays out a 0-, 1- or 2-D array as rows and columns (an N-D
 * array as rows indexed by its leading axes and columns by its last), and `table({ a, b })`
 * puts named 1-D arrays side by side as columns. Large arrays are elided in the middle, as
 * NumPy prints them. The result holds an HTML form (shown in notebooks, written to `.html`)
 * and an aligned plain-text form (printed by scripts).
 */
import { DisplayError, fmtShape, isArrayInput, isIntegerDtype, readNumbers, type ArrayInput, type Numbers } from './data.js';
import type { Displayable, Output } from './output.js';

/** Options of `table`. */
export interface TableOptions {
  /** A caption above the table (default: the dtype and shape, e.g. `float32[3,4]`). */
  title?: string;
  /** Rows shown before eliding the middle ones (default 20). */
  maxRows?: number;
  /** Columns shown before eliding the middle ones (default 12). */
  maxColumns?: number;
  /** Significant digits of floating-point values (default 4). */
  precision?: number;
}

/** A rendered table: `html` for notebooks and files, `text` for terminals. */
export class Table implements Displayable {
  readonly kind = 'table';
  constructor(
    readonly columns: readonly string[],
    readonly rows: readonly { label: string; cells: readonly string[] }[],
    readonly caption: string,
    readonly html: string,
    readonly text: string,
  ) {}
  outputs(): readonly Output[] {
    return [{ mime: 'text/html', data: this.html, extension: 'html', suffix: '' }];
  }
  toString(): string {
    return this.text;
  }
}

const ELLIPSIS = '…';

function formatter(dtype: string, precision: number): (v: number) => string {
  if (dtype === 'bool') return (v) => (v ? 'true' : 'false');
  if (isIntegerDtype(dtype)) return (v) => String(v);
  return (v) => {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (v === 0) return '0';
    const a = Math.abs(v);
    if (a >= 1e-4 && a < 10 ** precision) return String(Number(v.toPrecision(precision)));
    return v.toExponential(Math.max(0, precision - 1)).replace(/\.?0+e/, 'e');
  };
}

/** Indices to show out of n, with null where the elided middle goes. */
function pick(n: number, max: number): (number | null)[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const head = Math.ceil(max / 2);
  const tail = Math.floor(max / 2);
  return [...Array.from({ length: head }, (_, i) => i), null, ...Array.from({ length: tail }, (_, i) => n - tail + i)];
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function render(columns: string[], rows: { label: string; cells: string[] }[], caption: string): Table {
  const th = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.map((r) => `<tr><th>${escapeHtml(r.label)}</th>${r.cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  const style = 'border-collapse:collapse;font-family:monospace;font-size:12px;text-align:right';
  const html =
    `<table class="vidax-table" style="${style}">\n<caption style="text-align:left;font-family:sans-serif">${escapeHtml(caption)}</caption>\n` +
    `<thead><tr><th></th>${th}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
  const grid = [['', ...columns], ...rows.map((r) => [r.label, ...r.cells])];
  const widths = grid[0].map((_, j) => Math.max(...grid.map((row) => row[j].length)));
  const lines = grid.map((row) => row.map((c, j) => c.padStart(widths[j])).join('  ').trimEnd());
  const text = [caption, ...lines].join('\n');
  return new Table(columns, rows, caption, html, text);
}

function arrayTable(n: Numbers, options: TableOptions): Table {
  const { maxRows = 20, maxColumns = 12, precision = 4 } = options;
  const fmt = formatter(n.dtype, precision);
  const shape = n.shape;
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1];
  const lead = shape.slice(0, -1);
  const nRows = shape.length <= 1 ? 1 : lead.reduce((a, b) => a * b, 1);
  const rowLabel = (r: number): string => {
    if (shape.length <= 1) return '';
    const idx: number[] = [];
    let rem = r;
    for (let d = lead.length - 1; d >= 0; d--) {
      idx.unshift(rem % lead[d]);
      rem = Math.floor(rem / lead[d]);
    }
    return lead.length === 1 ? String(idx[0]) : `[${idx.join(',')}]`;
  };
  const colIdx = pick(cols, maxColumns);
  const columns = shape.length === 0 ? [''] : colIdx.map((j) => (j === null ? ELLIPSIS : String(j)));
  const rows = pick(nRows, maxRows).map((r) =>
    r === null
      ? { label: ELLIPSIS, cells: colIdx.map(() => ELLIPSIS) }
      : { label: rowLabel(r), cells: colIdx.map((j) => (j === null ? ELLIPSIS : fmt(n.values[r * cols + j]))) },
  );
  return render(columns, rows, options.title ?? `${n.dtype}${fmtShape(shape)}`);
}

async function columnsTable(record: Record<string, ArrayInput>, options: TableOptions): Promise<Table> {
  const { maxRows = 20, precision = 4 } = options;
  const names = Object.keys(record);
  if (names.length === 0) throw new DisplayError('table: got an empty record of columns');
  const cols = await Promise.all(names.map((k) => readNumbers('table', record[k])));
  cols.forEach((c, i) => {
    if (c.shape.length > 1) throw new DisplayError(`table: column ${JSON.stringify(names[i])} must be one-dimensional, got shape ${fmtShape(c.shape)}`);
  });
  const len = Math.max(...cols.map((c) => c.values.length));
  cols.forEach((c, i) => {
    if (c.values.length !== len && c.values.length !== 1)
      throw new DisplayError(`table: column ${JSON.stringify(names[i])} has length ${c.values.length} but others have length ${len}`);
  });
  const fmts = cols.map((c) => formatter(c.dtype, precision));
  const rows = pick(len, maxRows).map((r) =>
    r === null
      ? { label: ELLIPSIS, cells: names.map(() => ELLIPSIS) }
      : { label: String(r), cells: cols.map((c, i) => fmts[i](c.values[c.values.length === 1 ? 0 : r])) },
  );
  return render(names, rows, options.title ?? `${len} rows × ${names.length} columns`);
}

/**
 * An array as a table (rows × columns; an N-D array's leading axes index the rows), or named
 * 1-D arrays side by side: `table({ t, 'λ(t)': logSnr })`.
 */
export async function table(x: ArrayInput | Record<string, ArrayInput>, options: TableOptions = {}): Promise<Table> {
  if (isArrayInput(x)) return arrayTable(await readNumbers('table', x), options);
  if (typeof x === 'object' && x !== null) return columnsTable(x as Record<string, ArrayInput>, options);
  throw new DisplayError(`table: expected an array or a record of arrays, got ${typeof x}`);
}
