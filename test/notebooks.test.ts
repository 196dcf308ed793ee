/**
 * The notebooks' tooling (scripts/notebooks.mjs): the committed notebooks are stored clean and
 * use the TypeScript kernel; the runner fails on a deliberately broken notebook and names the
 * failing cell and its error, for a type error and for a run-time exception, and stops there.
 * (The notebooks themselves run as tests of their own: see scripts/run-tests.mjs.)
 *
 * Executing notebooks needs Jupyter and the tslab kernel (`npm run notebooks:setup`). Without
 * them these tests are skipped locally and fail in CI (CI=true).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
// @ts-expect-error a plain .mjs script without type declarations
import { listNotebooks, notebooksUnavailable, stripNotebook } from '../scripts/notebooks.mjs';

const root = process.cwd();
const runner = path.join(root, 'scripts', 'notebooks.mjs');
const fixtures = path.join(root, 'test', 'fixtures', 'notebooks');
const inCI = !!process.env.CI && process.env.CI !== 'false';

interface Cell {
  cell_type: string;
  source: string[] | string;
  outputs?: unknown[];
  execution_count?: number | null;
}
interface Notebook {
  cells: Cell[];
  metadata: { kernelspec?: { name: string; language: string } };
}
const read = (file: string): Notebook => JSON.parse(readFileSync(file, 'utf8'));
const source = (c: Cell) => (Array.isArray(c.source) ? c.source.join('') : c.source);

test('the notebooks are committed clean, on the TypeScript kernel, and tell a story', () => {
  const notebooks: string[] = listNotebooks();
  const names = notebooks.map((f) => path.basename(f));
  for (const required of ['01-tour.ipynb', '02-diffusion-math.ipynb']) assert.ok(names.includes(required), `notebooks/${required} exists`);
  const check = spawnSync(process.execPath, [runner, 'strip', '--check'], { encoding: 'utf8' });
  assert.is(check.status, 0, `notebooks with outputs (run \`npm run notebooks:strip\`):\n${check.stdout}${check.stderr}`);
  for (const file of notebooks) {
    const nb = read(file);
    assert.equal(nb.metadata.kernelspec?.name, 'tslab', `${file} uses the tslab kernel`);
    const markdown = nb.cells.filter((c) => c.cell_type === 'markdown');
    assert.ok(markdown.length >= 8, `${file} explains itself in prose (${markdown.length} markdown cells)`);
    const firstCode = nb.cells.find((c) => c.cell_type === 'code')!;
    assert.match(source(firstCode), /from 'vidax';[\s\S]*from 'vidax\/display';/, `${file} imports the package as a user would`);
  }
});

test('strip removes outputs, execution counts and run metadata', () => {
  const dirty = {
    cells: [
      { cell_type: 'code', execution_count: 3, metadata: { execution: { a: 1 }, tags: ['x'] }, outputs: [{ output_type: 'stream', name: 'stdout', text: 'hi' }], source: ['1'] },
      { cell_type: 'markdown', metadata: {}, source: ['# t'] },
    ],
    metadata: { kernelspec: { name: 'tslab', language: 'typescript', display_name: 'TypeScript' }, language_info: { name: 'typescript', version: '5.0.4', mimetype: 'text/typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  const clean = stripNotebook(dirty);
  assert.equal(clean.cells[0], { cell_type: 'code', execution_count: null, metadata: { tags: ['x'] }, outputs: [], source: ['1'] });
  assert.equal(clean.cells[1], dirty.cells[1]);
  assert.equal(clean.metadata, { kernelspec: dirty.metadata.kernelspec, language_info: { name: 'typescript' } });
});

const unavailable: string | null = notebooksUnavailable();
const needsJupyter = unavailable && !inCI ? test.skip : test;

function runFixture(name: string): { status: number | null; out: string; executed: Notebook } {
  if (unavailable) assert.unreachable(`Jupyter and the TypeScript kernel are needed in CI:\n${unavailable}`);
  const outDir = mkdtempSync(path.join(tmpdir(), 'vidax-notebooks-'));
  const r = spawnSync(process.execPath, [runner, 'run', '--no-build', '--output-dir', outDir, path.join(fixtures, name)], { encoding: 'utf8' });
  const executed = read(path.join(outDir, name));
  rmSync(outDir, { recursive: true });
  return { status: r.status, out: r.stdout + r.stderr, executed };
}

needsJupyter('a type error fails the run, naming the cell and the compiler message', () => {
  const { status, out, executed } = runFixture('broken-type.ipynb');
  assert.is(status, 1, out);
  assert.match(out, /FAIL test\/fixtures\/notebooks\/broken-type\.ipynb: cell 3 of 4 \(`const label: number = 'three';`\) failed:/);
  assert.match(out, /1:7 - Type 'string' is not assignable to type 'number'\./);
  assert.match(out, /0 passed, 1 failed\s*$/);
  assert.match(JSON.stringify(executed.cells[1].outputs), /steps = 3/); // the cell before it ran
  assert.equal(executed.cells[3].outputs, []); // the cell after it did not
});

needsJupyter('a run-time exception fails the run, naming the cell and the exception', () => {
  const { status, out, executed } = runFixture('broken-runtime.ipynb');
  assert.is(status, 1, out);
  assert.match(out, /cell 2 of 3 \(`function mustBePositive\(x: number\): number \{`\) failed:/);
  assert.match(out, /RangeError: expected a positive number, got -1/);
  assert.not.match(out, /sigintHandlersWrap|tslab[\\/]dist/, 'kernel internals are trimmed from the stack');
  assert.equal(executed.cells[2].outputs, []);
});

test.run();
