/**
 * Line, scatter and histogram plots as SVG, rendered by Vega-Lite (compiled to Vega and drawn
 * by Vega's headless SVG renderer, `view.toSVG()`; no browser, canvas or native code).
 * Each helper builds a Vega-Lite spec from arrays and returns a `Figure` holding the spec and
 * its SVG; `vegaLite(spec)` renders any hand-written spec the same way.
 *
 * Series are named by record keys: `linePlot({ α: alpha, σ: sigma }, { x: t })`. Non-finite
 * values are dropped from the plot (Vega-Lite filters invalid data).
 */
import type { TopLevelSpec } from 'vega-lite';
import { DisplayError, fmtShape, isArrayInput, readNumbers, readVector, type ArrayInput } from './data.js';
import type { Displayable, Output } from './output.js';
import { loadVega, loadVegaLite } from './peers.js';

/** A rendered figure: the Vega-Lite spec and its SVG. */
export class Figure implements Displayable {
  readonly kind = 'figure';
  constructor(
    readonly spec: TopLevelSpec,
    readonly svg: string,
  ) {}
  outputs(): readonly Output[] {
    return [{ mime: 'image/svg+xml', data: this.svg, extension: 'svg', suffix: '' }];
  }
}

export type ScaleType = 'linear' | 'log' | 'symlog';

/** Options shared by the plots. */
export interface PlotOptions {
  title?: string;
  /** Plot area size in pixels (default 360 × 240; per panel when faceted). */
  width?: number;
  height?: number;
  xLabel?: string;
  yLabel?: string;
  xScale?: ScaleType;
  yScale?: ScaleType;
  /** Fixed axis ranges (default: fitted to the data). */
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
}

/** One or several named series. */
export type Series = ArrayInput | Record<string, ArrayInput>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const CONFIG = { font: 'sans-serif', background: 'white', view: { stroke: '#ddd' }, legend: { orient: 'right', labelLimit: 400 } };

/** Render a Vega-Lite spec to SVG headlessly and wrap it as a `Figure`. */
export async function vegaLite(spec: TopLevelSpec): Promise<Figure> {
  const [{ View, parse }, { compile }] = await Promise.all([loadVega(), loadVegaLite()]);
  const vgSpec = compile(spec).spec;
  const view = new View(parse(vgSpec), { renderer: 'none' });
  try {
    return new Figure(spec, await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** Named series from a single input (named `fallback`) or a record of inputs. */
function namedSeries(x: Series, fallback: string): [string, ArrayInput][] {
  if (isArrayInput(x)) return [[fallback, x]];
  if (typeof x === 'object' && x !== null) {
    const entries = Object.entries(x);
    if (entries.length === 0) throw new DisplayError('plot: got an empty record of series');
    return entries;
  }
  throw new DisplayError(`plot: expected an array or a record of named arrays, got ${typeof x}`);
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

function axis(field: string, title: string | undefined, scale: ScaleType | undefined, domain: readonly [number, number] | undefined, zero: boolean) {
  const s: Record<string, unknown> = scale === 'log' ? { type: 'log' } : { zero };
  if (scale && scale !== 'log') s.type = scale;
  if (domain) {
    s.domain = [...domain];
    s.nice = false;
  }
  return { field, type: 'quantitative' as const, title: title ?? field, scale: s };
}

function frame(options: PlotOptions, defaults: { width: number; height: number }) {
  return {
    $schema: SCHEMA,
    ...(options.title ? { title: options.title } : {}),
    width: options.width ?? defaults.width,
    height: options.height ?? defaults.height,
    config: CONFIG,
  };
}

const colorFor = (names: string[]) =>
  names.length > 1 ? { color: { field: 'series', type: 'nominal' as const, title: null, sort: names } } : {};

/** Options of `linePlot`. */
export interface LinePlotOptions extends PlotOptions {
  /** The x values shared by all series (default 0, 1, …). */
  x?: ArrayInput;
  /** Draw a point at each sample too. */
  points?: boolean;
}

/**
 * Lines through (x, y) in data order, one per named series: `linePlot({ α, σ }, { x: t })`.
 * Each y is 1-D (its length matches x); lines follow the data order, so parametric curves work.
 */
export async function linePlot(y: Series, options: LinePlotOptions = {}): Promise<Figure> {
  const series = namedSeries(y, options.yLabel ?? 'y');
  const xs = options.x === undefined ? null : await readVector('linePlot', 'x', options.x);
  const values: { i: number; x: number | null; y: number | null; series: string }[] = [];
  for (const [name, input] of series) {
    const ys = await readVector('linePlot', `series ${JSON.stringify(name)}`, input);
    if (xs && xs.length !== ys.length)
      throw new DisplayError(`linePlot: series ${JSON.stringify(name)} has ${ys.length} values but x has ${xs.length}`);
    ys.forEach((v, i) => values.push({ i, x: finite(xs ? xs[i] : i), y: finite(v), series: name }));
  }
  const names = series.map(([n]) => n);
  const spec = {
    ...frame(options, { width: 360, height: 240 }),
    data: { values },
    mark: { type: 'line', strokeWidth: 2, point: options.points ?? false, clip: options.xDomain !== undefined || options.yDomain !== undefined },
    encoding: {
      x: axis('x', options.xLabel, options.xScale, options.xDomain, false),
      y: axis('y', options.yLabel ?? (names.length === 1 ? names[0] : 'y'), options.yScale, options.yDomain, false),
      order: { field: 'i', type: 'quantitative' },
      ...colorFor(names),
    },
  } as TopLevelSpec;
  return vegaLite(spec);
}

/** Options of `scatterPlot`. */
export interface ScatterPlotOptions extends PlotOptions {
  /** Draw each series in its own panel (side by side, shared axes) instead of overlaid. */
  facet?: boolean;
  /** Panels per row when faceted (default: all in one row). */
  columns?: number;
  /** Point area in square pixels (default 12) and opacity (default 0.6). */
  pointSize?: number;
  opacity?: number;
}

/**
 * Points of shape [N, 2] (x in column 0, y in column 1), one colour or panel per named series:
 * `scatterPlot({ data, DDIM: a, ancestral: b }, { facet: true })`.
 */
export async function scatterPlot(points: Series, options: ScatterPlotOptions = {}): Promise<Figure> {
  const series = namedSeries(points, 'points');
  const values: { x: number | null; y: number | null; series: string }[] = [];
  for (const [name, input] of series) {
    const p = await readNumbers('scatterPlot', input);
    if (p.shape.length !== 2 || p.shape[1] !== 2)
      throw new DisplayError(`scatterPlot: series ${JSON.stringify(name)} must have shape [N, 2], got ${fmtShape(p.shape)}`);
    for (let i = 0; i < p.shape[0]; i++) values.push({ x: finite(p.values[2 * i]), y: finite(p.values[2 * i + 1]), series: name });
  }
  const names = series.map(([n]) => n);
  const clip = options.xDomain !== undefined || options.yDomain !== undefined;
  const mark = { type: 'circle', size: options.pointSize ?? 12, opacity: options.opacity ?? 0.6, clip };
  const encoding = {
    x: axis('x', options.xLabel, options.xScale, options.xDomain, false),
    y: axis('y', options.yLabel, options.yScale, options.yDomain, false),
  };
  const base = frame(options, { width: options.facet ? 200 : 300, height: options.facet ? 200 : 300 });
  const spec = (
    options.facet
      ? {
          $schema: base.$schema,
          ...(options.title ? { title: options.title } : {}),
          config: base.config,
          data: { values },
          facet: { field: 'series', type: 'nominal', title: null, sort: names },
          columns: options.columns ?? names.length,
          spec: { width: base.width, height: base.height, mark, encoding },
        }
      : { ...base, data: { values }, mark, encoding: { ...encoding, ...colorFor(names) } }
  ) as TopLevelSpec;
  return vegaLite(spec);
}

/** Options of `histogram`. */
export interface HistogramOptions extends PlotOptions {
  /** Maximum number of bins (Vega-Lite picks nice bin edges; default 40). */
  bins?: number;
  /** The range binned (default: the data's). */
  extent?: readonly [number, number];
  /** Normalise each series to a density (area 1) instead of counts. */
  density?: boolean;
}

/**
 * Histograms of the values of each named series (any shape, flattened), overlaid with shared
 * bins: `histogram({ clipped: a, dynamic: b }, { bins: 60 })`.
 */
export async function histogram(values: Series, options: HistogramOptions = {}): Promise<Figure> {
  const series = namedSeries(values, 'values');
  const rows: { value: number | null; series: string }[] = [];
  for (const [name, input] of series) {
    const n = await readNumbers('histogram', input);
    n.values.forEach((v) => rows.push({ value: finite(v), series: name }));
  }
  const names = series.map(([n]) => n);
  const measure = options.density ? 'density' : 'count';
  const bin = { maxbins: options.bins ?? 40, ...(options.extent ? { extent: [...options.extent] } : {}) };
  const spec = {
    ...frame(options, { width: 360, height: 220 }),
    data: { values: rows },
    transform: [
      { filter: 'isValid(datum.value) && isFinite(datum.value)' },
      { bin, field: 'value', as: ['bin0', 'bin1'] },
      { aggregate: [{ op: 'count', as: 'count' }], groupby: ['bin0', 'bin1', 'series'] },
      { joinaggregate: [{ op: 'sum', field: 'count', as: 'total' }], groupby: ['series'] },
      { calculate: 'datum.count / datum.total / (datum.bin1 - datum.bin0)', as: 'density' },
    ],
    mark: { type: 'bar', binSpacing: 0, opacity: names.length > 1 ? 0.55 : 0.9 },
    encoding: {
      x: { ...axis('bin0', options.xLabel ?? (names.length === 1 ? names[0] : 'value'), options.xScale, options.xDomain, false), bin: 'binned' },
      x2: { field: 'bin1' },
      y: { ...axis(measure, options.yLabel ?? measure, options.yScale, options.yDomain, true), stack: null },
      ...colorFor(names),
    },
  } as TopLevelSpec;
  return vegaLite(spec);
}
