/**
 * `vidax/display`: tables, Vega-Lite plots rendered to SVG (the marks are checked in the SVG),
 * PNG images and GIF videos (decoded back with maintained decoders — fast-png for PNG,
 * omggif for GIF — and compared pixel for pixel), and the file output used outside notebooks.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode as decodePng } from 'fast-png';
import { GifReader } from 'omggif';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DisplayError,
  Figure,
  frameStrip,
  histogram,
  image,
  imageGrid,
  inNotebook,
  linePlot,
  save,
  scatterPlot,
  show,
  table,
  vegaLite,
  video,
} from '../src/display/index.js';
import { np, random } from '../src/index.js';

/** The `aria-roledescription` of every graphics item Vega drew, counted. */
function marks(svg: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of svg.matchAll(/role="graphics-symbol" aria-roledescription="([^"]+)"/g))
    if (!['axis', 'legend', 'title'].includes(m[1])) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  return counts;
}

/** Decode every frame of a GIF to RGBA with omggif. */
function decodeGif(bytes: Uint8Array): { width: number; height: number; delays: number[]; loop: number | null; frames: number[][] } {
  const reader = new GifReader(bytes);
  const frames: number[][] = [];
  const delays: number[] = [];
  for (let t = 0; t < reader.numFrames(); t++) {
    const pixels = new Uint8Array(reader.width * reader.height * 4);
    reader.decodeAndBlitFrameRGBA(t, pixels);
    frames.push(Array.from(pixels));
    delays.push(reader.frameInfo(t).delay);
  }
  return { width: reader.width, height: reader.height, delays, loop: reader.loopCount(), frames };
}

/** Aria labels of the drawn items of one kind (Vega writes each item's data fields there). */
function labels(svg: string, kind: string): string[] {
  return [...svg.matchAll(new RegExp(`aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="${kind}"`, 'g'))].map((m) => m[1]);
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, DisplayError);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a DisplayError matching ${pattern}`);
}

// ---------------------------------------------------------------- tables

test('table: a 2-D vidax array as rows and columns, in HTML and text', async () => {
  const t = await table(np.array([[1.5, 2], [3, 4.25]]));
  assert.is(t.caption, 'float32[2,2]');
  assert.equal(t.columns, ['0', '1']);
  assert.equal(t.rows.map((r) => r.cells), [['1.5', '2'], ['3', '4.25']]);
  assert.match(t.html, /<table class="vidax-table"/);
  assert.match(t.html, /<td>4.25<\/td>/);
  assert.is(t.text, ['float32[2,2]', '     0     1', '0  1.5     2', '1    3  4.25'].join('\n'));
  assert.equal(t.outputs().map((o) => o.mime), ['text/html']);
});

test('table: named columns, integer and boolean formatting, elision of large arrays', async () => {
  const cols = await table({ n: np.arange(3), ok: np.array([1, 0, 1]).astype('bool'), x: [0.000012345, 1e6, -2 / 3] });
  assert.equal(cols.columns, ['n', 'ok', 'x']);
  assert.equal(cols.rows.map((r) => r.cells), [['0', 'true', '1.234e-5'], ['1', 'false', '1e+6'], ['2', 'true', '-0.6667']]);
  const big = await table(np.arange(1000).reshape([10, 100]), { maxRows: 4, maxColumns: 6 });
  assert.equal(big.columns, ['0', '1', '2', '…', '97', '98', '99']);
  assert.equal(big.rows.map((r) => r.label), ['0', '1', '…', '8', '9']);
  assert.equal(big.rows[4].cells, ['900', '901', '902', '…', '997', '998', '999']);
  const nd = await table(np.arange(8).reshape([2, 2, 2]));
  assert.equal(nd.rows.map((r) => r.label), ['[0,0]', '[0,1]', '[1,0]', '[1,1]']);
  await rejects(table([[1, 2], [3]]), /ragged nested array/);
  await rejects(table({ a: [1, 2, 3], b: [1, 2] }), /column "b" has length 2 but others have length 3/);
});

// ---------------------------------------------------------------- plots

test('linePlot: one line mark per series, through every point, with a legend', async () => {
  const x = np.linspace(0, 1, 11);
  const fig = await linePlot({ up: x, down: np.sub(1, x) }, { x, title: 'two lines', xLabel: 't' });
  assert.instance(fig, Figure);
  assert.ok(fig.svg.startsWith('<svg'));
  assert.equal(marks(fig.svg), { 'line mark': 2 });
  const lineLabels = labels(fig.svg, 'line mark');
  assert.ok(lineLabels.some((l) => l.includes('series: up')) && lineLabels.some((l) => l.includes('series: down')));
  // Each line's path has one vertex per sample: M + 10 × L.
  for (const d of fig.svg.matchAll(/aria-roledescription="line mark" d="([^"]+)"/g)) assert.is(d[1].split(/[ML]/).filter(Boolean).length, 11);
  assert.match(fig.svg, /<text[^>]*>two lines<\/text>/);
  assert.match(fig.svg, /role-legend/);
  assert.equal((fig.spec as { encoding: { x: { title: string } } }).encoding.x.title, 't');
  assert.equal(fig.outputs().map((o) => [o.mime, o.extension]), [['image/svg+xml', 'svg']]);
});

test('linePlot: a log axis, non-finite values dropped, length mismatch named', async () => {
  const fig = await linePlot([1, 10, 100, Infinity, 1000], { yScale: 'log' });
  assert.equal(marks(fig.svg), { 'line mark': 1 });
  assert.match(fig.svg, /role-axis-label[\s\S]*>1,000</);
  await rejects(linePlot({ a: [1, 2, 3] }, { x: [0, 1] }), /series "a" has 3 values but x has 2/);
  await rejects(linePlot({ a: [[1, 2], [3, 4]] }), /must be one-dimensional, got shape \[2,2\]/);
});

test('scatterPlot: one circle per point, overlaid or faceted', async () => {
  const a = random.normal(random.key(0), [40, 2]);
  const b = random.normal(random.key(1), [25, 2]);
  const overlaid = await scatterPlot({ a, b });
  assert.equal(marks(overlaid.svg), { circle: 65 });
  const first = labels(overlaid.svg, 'circle')[0];
  const [x0, y0] = (await a.data()).slice(0, 2);
  assert.ok(first.includes(`x: ${Number(x0.toPrecision(12))}`) || first.includes(`x: ${x0.toPrecision(12)}`), first);
  assert.ok(first.includes('y: ') && Number.isFinite(y0));
  const faceted = await scatterPlot({ a, b }, { facet: true, xDomain: [-4, 4], yDomain: [-4, 4] });
  assert.equal(marks(faceted.svg), { circle: 65 });
  assert.match(faceted.svg, />a<\/text>[\s\S]*>b<\/text>/);
  await rejects(scatterPlot(np.zeros([5, 3])), /must have shape \[N, 2\], got \[5,3\]/);
});

test('histogram: bars over shared bins, counts add up, densities integrate to 1', async () => {
  const values = np.concatenate([np.zeros([30]), np.ones([10])]);
  const fig = await histogram(values, { bins: 10, extent: [0, 1] });
  const bars = labels(fig.svg, 'bar');
  assert.ok(bars.length >= 2);
  const counts = bars.map((l) => Number(/count: (\d+)/.exec(l)![1]));
  assert.is(counts.reduce((s, c) => s + c, 0), 40);
  const two = await histogram({ a: random.normal(random.key(2), [500]), b: random.uniform(random.key(3), [500]) }, { density: true, bins: 20 });
  for (const series of ['a', 'b']) {
    const area = labels(two.svg, 'bar')
      .filter((l) => l.endsWith(`series: ${series}`))
      .map((l) => {
        const [, lo, hi] = /value: (\S+) – (\S+);/.exec(l.replace(/−/g, '-'))!;
        return Number(/density: ([\d.e-]+)/.exec(l)![1]) * (Number(hi) - Number(lo));
      })
      .reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(area - 1) < 1e-6, `density of ${series} integrates to ${area}`);
  }
});

test('vegaLite renders a hand-written spec', async () => {
  const fig = await vegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: [{ k: 'a', v: 1 }, { k: 'b', v: 3 }] },
    mark: 'bar',
    encoding: { x: { field: 'k', type: 'nominal' }, y: { field: 'v', type: 'quantitative' } },
  });
  assert.equal(marks(fig.svg), { bar: 2 });
});

// ---------------------------------------------------------------- images

/** A deterministic RGB test pattern with values in [-1, 1] that map exactly onto bytes. */
function pattern(h: number, w: number, c: number): { values: number[][][]; bytes: number[] } {
  const bytes: number[] = [];
  const values = Array.from({ length: h }, (_, y) =>
    Array.from({ length: w }, (_, x) =>
      Array.from({ length: c }, (_, ch) => {
        const b = (y * 37 + x * 11 + ch * 85) % 256;
        bytes.push(b);
        return (b / 255) * 2 - 1;
      }),
    ),
  );
  return { values, bytes };
}

test('image: PNG decodes (fast-png) to the same RGB, RGBA and grey pixels', async () => {
  for (const c of [3, 4]) {
    const { values, bytes } = pattern(5, 7, c);
    const img = await image(np.array(values), { scale: 1 });
    const png = decodePng(img.png);
    assert.equal([png.width, png.height, png.channels, png.depth], [7, 5, c, 8]);
    assert.equal(Array.from(png.data), bytes);
  }
  const grey = await image(np.array([[0, 64, 255], [128, 1, 254]]).astype('int32'), { scale: 1 });
  const g = decodePng(grey.png);
  assert.equal([g.channels, Array.from(g.data)], [1, [0, 64, 255, 128, 1, 254]]);
});

test('image: value ranges, clipping, channels-first layout and enlargement', async () => {
  const auto = decodePng((await image([[2, 4], [6, 10]], { range: 'auto', scale: 1 })).png);
  assert.equal(Array.from(auto.data), [0, 64, 128, 255]);
  const clipped = decodePng((await image(np.array([[-3, -1], [0, 5]]), { scale: 1 })).png);
  assert.equal(Array.from(clipped.data), [0, 0, 128, 255]);
  const chw = np.stack([np.zeros([2, 2]), np.ones([2, 2]), np.full([2, 2], -1)], 0); // [3, 2, 2]
  const first = decodePng((await image(chw, { channels: 'first', scale: 1 })).png);
  assert.equal(Array.from(first.data.slice(0, 3)), [128, 255, 0]);
  const big = await image(np.zeros([16, 8]));
  assert.equal([big.width, big.height], [64, 128]); // 'auto': the longer side reaches 128 px
  const three = decodePng((await image([[0, 1]], { range: [0, 1], scale: 3 })).png);
  assert.equal([three.width, three.height], [6, 3]);
  assert.equal(Array.from(three.data), [0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255]);
  await rejects(image(np.zeros([2, 3, 5])), /images need 1, 3 or 4 channels, got 5 in shape \[2,3,5\]/);
  await rejects(image(np.zeros([2, 3, 4, 5])), /expected an array of shape \[H, W\] or \[H, W, C\], got \[2,3,4,5\]/);
});

test('imageGrid tiles a batch with white padding', async () => {
  const batch = np.stack([np.full([2, 3], -1), np.full([2, 3], 1), np.full([2, 3], 0)], 0); // three 2×3 grey images
  const grid = await imageGrid(batch, { columns: 2, padding: 1, scale: 1 });
  const png = decodePng(grid.png);
  assert.equal([png.width, png.height], [2 * 3 + 1, 2 * 2 + 1]);
  const px = (x: number, y: number) => png.data[y * png.width + x];
  assert.equal([px(0, 0), px(3, 0), px(4, 0), px(0, 3), px(4, 3)], [0, 255, 255, 128, 255]);
});

// ---------------------------------------------------------------- videos

/** RGBA bytes of frames given as [T][H][W][3] byte values. */
const rgba = (frame: number[][][]): number[] => frame.flat().flatMap(([r, g, b]) => [r, g, b, 255]);

test('video: the GIF decodes (omggif) to the same frames', async () => {
  const T = 4;
  const H = 6;
  const W = 5;
  // At most 256 distinct colours in all, so the GIF's palette holds them exactly.
  const frames = Array.from({ length: T }, (_, t) =>
    Array.from({ length: H }, (_, y) => Array.from({ length: W }, (_, x) => [(t * 60 + x * 40) % 256, (y * 50) % 256, ((x + y + t) * 30) % 256])),
  );
  const vid = await video(np.array(frames).astype('int32'), { scale: 1, fps: 10 });
  assert.equal([vid.frames, vid.width, vid.height], [T, W, H]);
  assert.equal(Array.from(vid.gif.slice(0, 6)).map((b) => String.fromCharCode(b)).join(''), 'GIF89a');
  const gif = decodeGif(vid.gif);
  assert.equal([gif.width, gif.height, gif.loop], [W, H, 0]); // loop count 0: forever
  assert.equal(gif.delays, [10, 10, 10, 10]); // centiseconds at 10 fps
  gif.frames.forEach((f, t) => assert.equal(f, rgba(frames[t]), `frame ${t}`));
  assert.is(decodeGif((await video(np.zeros([2, 2, 2]), { loop: false })).gif).loop, null); // no loop extension: plays once
});

test('video: more than 256 colours are quantised close to the originals', async () => {
  const frames = random.uniform(random.key(9), [3, 16, 16, 3], { minval: -1, maxval: 1 });
  const vid = await video(frames, { scale: 1 });
  const want = Array.from(await frames.data(), (v) => Math.round(((v + 1) / 2) * 255));
  const got = decodeGif(vid.gif).frames.flatMap((f) => f.filter((_, i) => i % 4 !== 3));
  const meanError = got.reduce((s, v, i) => s + Math.abs(v - want[i]), 0) / got.length;
  assert.ok(meanError < 12, `mean error ${meanError}`);
});

test('video: grey frames keep their levels; the frame strip picks evenly spaced frames', async () => {
  const levels = Array.from({ length: 10 }, (_, t) => [[t * 20, 255 - t * 20]]); // ten 1×2 grey frames
  const vid = await video(np.array(levels).astype('int32'), { scale: 1, stripFrames: 4 });
  decodeGif(vid.gif).frames.forEach((f, t) => assert.equal(f, [t * 20, t * 20, t * 20, 255, 255 - t * 20, 255 - t * 20, 255 - t * 20, 255]));
  assert.ok(vid.strip);
  const strip = decodePng(vid.strip!.png);
  assert.equal([strip.width, strip.height, strip.channels], [4 * 2 + 3 * 2, 1, 1]);
  assert.equal([strip.data[0], strip.data[4], strip.data[8], strip.data[12]], [0, 60, 120, 180]); // frames 0, 3, 6, 9
  assert.equal(vid.outputs().map((o) => [o.mime, o.suffix]), [['image/gif', ''], ['image/png', '-strip']]);
  const alone = await frameStrip(np.array(levels).astype('int32'), { frames: 2, padding: 0, scale: 1 });
  assert.equal(Array.from(decodePng(alone.png).data), [0, 255, 180, 75]);
  assert.is((await video(np.zeros([2, 4, 4]), { strip: false })).strip, null);
});

// ---------------------------------------------------------------- output

test('show writes files outside a notebook; save returns the paths', async () => {
  assert.is(inNotebook(), false);
  const dir = mkdtempSync(path.join(tmpdir(), 'vidax-display-'));
  const logged: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void logged.push(a.join(' '));
  try {
    await show(linePlot([1, 2, 3]), { dir, name: 'line' });
    await show(video(np.zeros([2, 4, 4])), { dir, name: 'clip' });
    await show(np.eye(2), { dir, name: 'eye' });
    const paths = await save(image(np.zeros([4, 4])), { dir, quiet: true });
    assert.equal(paths, [path.join(dir, 'image-1.png')]);
  } finally {
    console.log = log;
  }
  assert.equal(readdirSync(dir).sort(), ['clip-strip.png', 'clip.gif', 'eye.html', 'image-1.png', 'line.svg']);
  assert.ok(readFileSync(path.join(dir, 'line.svg'), 'utf8').startsWith('<svg'));
  assert.ok(logged.includes(`wrote ${path.join(dir, 'clip.gif')}`));
  assert.ok(logged.some((l) => l.startsWith('float32[2,2]')), 'a table prints its text form');
  rmSync(dir, { recursive: true });
});

test('show displays inline through the running tslab kernel, and writes no files', async () => {
  // A stand-in for the kernel's tslab: dist/jupyter.js holds the cell's writer, dist/public.js
  // the display API (the real ones: tslab/dist/jupyter.js and tslab/dist/public.js).
  const dir = mkdtempSync(path.join(tmpdir(), 'vidax-kernel-'));
  const dist = path.join(dir, 'node_modules', 'tslab', 'dist');
  mkdirSync(dist, { recursive: true });
  writeFileSync(path.join(dist, 'jupyter.js'), 'exports.lastWriteDisplayData = null;\n');
  writeFileSync(
    path.join(dist, 'public.js'),
    "const calls = [];\nconst rec = (kind) => (data) => calls.push([kind, data]);\n" +
      "exports.calls = calls;\nexports.display = { svg: rec('svg'), png: rec('png'), gif: rec('gif'), html: rec('html') };\n",
  );
  const req = createRequire(path.join(dir, 'index.js'));
  const jupyter = req(path.join(dist, 'jupyter.js')) as { lastWriteDisplayData: unknown };
  const cwd = process.cwd();
  const outDir = path.join(dir, 'work');
  mkdirSync(outDir);
  process.chdir(outDir);
  try {
    assert.is(inNotebook(), false, 'a loaded tslab that is not executing a cell is not a kernel');
    jupyter.lastWriteDisplayData = () => undefined;
    assert.is(inNotebook(), true);
    await show(linePlot([1, 2]));
    await show(image(np.zeros([2, 2])));
    await show(video(np.zeros([2, 2, 2])));
    await show(np.eye(2));
    const calls = (req(path.join(dist, 'public.js')) as { calls: [string, unknown][] }).calls;
    assert.equal(calls.map(([k]) => k), ['svg', 'png', 'gif', 'png', 'html']);
    assert.ok((calls[0][1] as string).startsWith('<svg'));
    assert.instance(calls[1][1], Uint8Array);
    assert.equal(readdirSync(outDir), [], 'nothing written to display-out/');
    await show(linePlot([1, 2]), { to: 'files', dir: outDir, name: 'forced', quiet: true });
    assert.equal(readdirSync(outDir), ['forced.svg']);
  } finally {
    jupyter.lastWriteDisplayData = null;
    process.chdir(cwd);
    rmSync(dir, { recursive: true });
  }
});

test('the display module imports nothing from the core at run time', () => {
  const dir = path.join(process.cwd(), 'src', 'display');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const src = readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(/^import (?!type )[^;]*from '([^']+)'/gm)) assert.ok(!m[1].startsWith('..'), `${f} imports ${m[1]}`);
  }
});

test.run();
