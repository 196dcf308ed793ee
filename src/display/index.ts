/**
 * `vidax/display`: tables, plots, images and videos for notebooks and scripts.
 *
 *   import { show, table, linePlot, scatterPlot, histogram, image, imageGrid, video, frameStrip } from 'vidax/display';
 *   await show(linePlot({ α: alpha, σ: sigma }, { x: t, title: 'cosine schedule' }));
 *
 * Every helper takes vidax arrays (or typed/nested JS arrays) and returns a displayable; `show`
 * puts it inline in a Jupyter notebook (tslab kernel) and writes files everywhere else (`save`
 * always writes files and returns their paths). Plots are Vega-Lite rendered to SVG headlessly;
 * images are PNG (fast-png); videos are animated GIF (gifenc) with a frame-strip PNG. This
 * subpath is separate from `vidax` so the core carries none of these dependencies (install
 * `vega vega-lite fast-png gifenc` to use it).
 */
export { show, save, inNotebook, type Displayable, type Output, type OutputMime, type ShowOptions } from './output.js';
export { table, Table, type TableOptions } from './table.js';
export {
  linePlot,
  scatterPlot,
  histogram,
  vegaLite,
  Figure,
  type PlotOptions,
  type LinePlotOptions,
  type ScatterPlotOptions,
  type HistogramOptions,
  type ScaleType,
  type Series,
} from './plots.js';
export { image, imageGrid, Image, type PixelOptions, type GridOptions, type Pixels } from './images.js';
export { video, frameStrip, Video, type VideoOptions, type FrameStripOptions } from './video.js';
export { DisplayError, type ArrayInput, type HostArray, type NestedNumbers } from './data.js';
