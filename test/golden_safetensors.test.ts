/**
 * Safetensors interoperability against an independent Python implementation
 * (scripts/golden/README.md, "Safetensors fixtures"):
 * - test/fixtures/python-written.safetensors, written by hand by generate_safetensors.py, loads
 *   with the values of python-written.json;
 * - vidax still writes test/fixtures/vidax-written.safetensors byte for byte, and the report
 *   that check_safetensors.py made of that file (vidax-written.check.json) agrees with the tree.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tree, type Array } from '../src/index.js';
import { loadCheckpoint, loadSafetensors, saveCheckpoint } from '../src/nn/checkpoint.js';
import { flattenWithPaths } from '../src/nn/params.js';
import { decodeSafetensors, FILE_DTYPE, tensorBytes } from '../src/nn/safetensors.js';
import { VIDAX_FIXTURE_OPTIONS, vidaxFixtureTree } from '../scripts/golden/write_vidax_fixture.js';
import { decode } from './helpers.js';

type Num = number | 'nan' | 'inf' | '-inf';
type Value = Num | boolean;
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const readJson = <T>(name: string): T => JSON.parse(readFileSync(fixture(name), 'utf8')) as T;
const num = (v: Value): number => (typeof v === 'boolean' ? Number(v) : decode(v));
/** The tensor names of a tree's leaves, in flatten order. */
const treePaths = (t: unknown): string[] => flattenWithPaths(t as object).map(([p]) => p);
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Equal values, counting NaN as equal and telling -0 from 0. */
function assertSameValues(got: ArrayLike<number>, want: readonly number[], what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) assert.ok(Object.is(got[i], want[i]), `${what}[${i}]: ${got[i]} !== ${want[i]}`);
}

// ------------------------------------------------------------------------------- python-written

interface PythonExpected {
  metadata: Record<string, string>;
  tensors: Record<string, { file_dtype: string; dtype: string; shape: number[]; data: Value[] }>;
}
const python = readJson<PythonExpected>('python-written.json');
const pythonFile = fixture('python-written.safetensors');

test('a file written by the independent Python writer decodes to the expected values', () => {
  const { tensors, metadata } = decodeSafetensors(readFileSync(pythonFile));
  assert.equal(metadata, python.metadata);
  assert.equal([...tensors.keys()].sort(), Object.keys(python.tensors).sort());
  for (const [name, want] of Object.entries(python.tensors)) {
    const t = tensors.get(name)!;
    assert.is(t.fileDtype, want.file_dtype, `${name}: file dtype`);
    assert.is(t.dtype, want.dtype, `${name}: dtype`);
    assert.equal([...t.shape], want.shape, `${name}: shape`);
    assertSameValues(t.data, want.data.map(num), name);
  }
});

test('loadSafetensors and loadCheckpoint read the Python file', async () => {
  const { arrays, metadata } = await loadSafetensors(pythonFile.pathname);
  assert.equal(metadata, python.metadata);
  const w = arrays.get('down.0.conv.w')!;
  assert.equal([...w.shape], [2, 3, 2, 2]);
  assertSameValues(w.dataSync(), python.tensors['down.0.conv.w']!.data.map(num), 'down.0.conv.w');

  const like = {
    down: [{ conv: { w: { shape: [2, 3, 2, 2], dtype: 'float32' as const }, b: { shape: [2], dtype: 'float32' as const } } }],
    'émbed': { table: { shape: [3, 2], dtype: 'float32' as const } },
    i64: { shape: [2, 2], dtype: 'int32' as const },
  };
  const loaded = await loadCheckpoint(pythonFile.pathname, like, { strict: false });
  assert.equal(loaded.metadata, { channels: [8, 16], name: 'tiny', dropout: 0.1 });
  assert.is(loaded.step, 42);
  assert.is(loaded.fileMetadata.format, 'pt');
  const names = treePaths(loaded.params);
  assert.equal(names, ['down.0.conv.b', 'down.0.conv.w', 'i64', 'émbed.table']);
  for (const [name, x] of names.map((n, i) => [n, tree.leaves<Array>(loaded.params)[i]!] as const)) {
    assertSameValues(x.dataSync(), python.tensors[name]!.data.map(num), name);
  }
});

// ------------------------------------------------------------------------------- vidax-written

interface CheckReport {
  bytes: number;
  sha256: string;
  header_bytes: number;
  reference_layout: boolean;
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number]; sha256: string; values: Value[] }>;
}
const report = readJson<CheckReport>('vidax-written.check.json');
const committed = new Uint8Array(readFileSync(fixture('vidax-written.safetensors')));

test('vidax writes the Python-checked fixture byte for byte', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vidax-golden-'));
  try {
    const path = join(dir, 'fixture.safetensors');
    await saveCheckpoint(path, vidaxFixtureTree(), VIDAX_FIXTURE_OPTIONS);
    const written = new Uint8Array(readFileSync(path));
    assert.is(written.length, committed.length, 'file length');
    const first = written.findIndex((b, i) => b !== committed[i]);
    assert.is(first, -1, `first differing byte at ${first}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Python reader accepted the committed fixture and saw the tree', () => {
  assert.is(report.sha256, sha256(committed), 'the report is of the committed file');
  assert.is(report.bytes, committed.length);
  assert.ok(report.reference_layout, 'laid out exactly as the reference writer lays it out');
  assert.is(report.header_bytes % 8, 0);
  assert.equal(report.metadata, { format: 'vidax', config: JSON.stringify(VIDAX_FIXTURE_OPTIONS.metadata), step: '1200' });

  const params = vidaxFixtureTree();
  const names = treePaths(params);
  assert.equal(Object.keys(report.tensors).sort(), [...names].sort());
  tree.leaves<Array>(params).forEach((x, i) => {
    const name = names[i]!;
    const seen = report.tensors[name]!;
    assert.is(seen.dtype, FILE_DTYPE[x.dtype], `${name}: dtype`);
    assert.equal(seen.shape, [...x.shape], `${name}: shape`);
    assertSameValues(x.dataSync(), seen.values.map(num), name);
    assert.is(seen.sha256, sha256(tensorBytes({ name, dtype: x.dtype, shape: x.shape }, x.dataSync())), `${name}: bytes`);
  });
});

test('the committed fixture loads back into the tree', async () => {
  const params = vidaxFixtureTree();
  const loaded = await loadCheckpoint(fixture('vidax-written.safetensors').pathname, params);
  assert.equal(loaded.metadata, VIDAX_FIXTURE_OPTIONS.metadata);
  assert.is(loaded.step, VIDAX_FIXTURE_OPTIONS.step);
  const got = tree.leaves<Array>(loaded.params as tree.PyTree<Array>);
  tree.leaves<Array>(params).forEach((x, i) => assertSameValues(got[i]!.dataSync(), [...x.dataSync()], treePaths(params)[i]!));
});

test.run();
