/** Checkpoints and the safetensors codec: round trips, atomic writes, tree checks, and every kind of corrupted file. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DisposedError, DTypeError, ShapeError, ValueError, grad, lax, np, tree, type Array as VArray } from '../src/index.js';
import { ShapedArray } from '../src/core/aval.js';
import { loadCheckpoint, loadSafetensors, saveCheckpoint, saveSafetensors } from '../src/nn/checkpoint.js';
import { flattenWithPaths } from '../src/nn/params.js';
import { decodeSafetensors, encodeSafetensors, MAX_HEADER_BYTES, type Tensor } from '../src/nn/safetensors.js';
import { assertThrows } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'vidax-ckpt-'));
let fileCount = 0;
/** The tensor names of a tree's leaves, in flatten order. */
const treePaths = (t: unknown): string[] => flattenWithPaths(t as object).map(([p]) => p);
const fresh = (): string => join(dir, `ckpt-${fileCount++}.safetensors`);

const f32 = (shape: number[], seed: number): VArray => {
  const n = shape.reduce((a, b) => a * b, 1);
  return lax.reshape(np.array(Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 7 + i) * 3)), 'float32'), shape);
};

/** A nested tree with arrays inside lists, int32/uint32/bool leaves, scalars, a zero-size leaf and a leafless null node. */
function paramTree() {
  return {
    down: [
      { conv: { w: f32([2, 3, 3, 3], 1), b: f32([2], 2) }, norm: { scale: f32([2], 3) } },
      { conv: { w: f32([4, 2, 1, 1], 4), b: f32([4], 5) } },
    ],
    head: { w: f32([4, 10], 6) },
    temperature: lax.reshape(np.array(Float32Array.of(0.25), 'float32'), []),
    counter: lax.reshape(np.array(Int32Array.of(-7), 'int32'), []),
    ids: np.array(Uint32Array.of(0, 4294967295, 12), 'uint32'),
    mask: np.array([[true, false], [false, true], [true, true]]),
    empty: lax.reshape(np.array(new Float32Array(0), 'float32'), [3, 0]),
    nothing: null,
  };
}

/** Equal values, counting NaN as equal and telling -0 from 0. */
function assertSameValues(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) assert.ok(Object.is(got[i], want[i]), `${what}[${i}]: ${got[i]} !== ${want[i]}`);
}

function assertSameTree(got: tree.PyTree<VArray>, want: tree.PyTree<VArray>): void {
  assert.is(tree.structure(got).toString(), tree.structure(want).toString());
  const names = treePaths(want);
  tree.leaves(got).forEach((x, i) => {
    const w = tree.leaves(want)[i]!;
    assert.equal([...x.shape], [...w.shape], `${names[i]}: shape`);
    assert.is(x.dtype, w.dtype, `${names[i]}: dtype`);
    assertSameValues(x.dataSync(), w.dataSync(), names[i]!);
  });
}

/** Assert that `p` rejects with an instance of `cls` whose message matches every pattern. */
async function rejects(p: Promise<unknown>, cls: abstract new (...args: never[]) => Error, ...patterns: RegExp[]): Promise<Error> {
  let err: unknown;
  await p.then(
    () => undefined,
    (e: unknown) => {
      err = e;
    },
  );
  if (err === undefined) assert.unreachable(`expected a ${cls.name} matching ${patterns.join(', ')}, but the promise resolved`);
  assert.ok(err instanceof cls, `expected a ${cls.name}, got ${err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)}`);
  for (const re of patterns) assert.match((err as Error).message, re);
  return err as Error;
}

/** A file with a hand-written header (JSON value or raw text) over `data`. */
function rawFile(header: unknown, data: Uint8Array | number = 0, pad = 0): Uint8Array {
  const text = new TextEncoder().encode((typeof header === 'string' ? header : JSON.stringify(header)) + ' '.repeat(pad));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + text.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(body, 8 + text.length);
  return out;
}

const F32x2 = (begin: number) => ({ dtype: 'F32', shape: [2], data_offsets: [begin, begin + 8] });

// ------------------------------------------------------------------------------- round trips

test('a nested tree with int32, uint32, bool, scalar and zero-size leaves round-trips', async () => {
  const path = fresh();
  const params = paramTree();
  await saveCheckpoint(path, params);
  const loaded = await loadCheckpoint(path, paramTree());
  assertSameTree(loaded.params, params);
  assert.is(loaded.params.nothing, null);
  assert.is(loaded.params.down[1]!.conv.w.shape.join(','), '4,2,1,1');
  assert.equal(loaded.metadata, {});
  assert.is(loaded.step, undefined);
  assert.equal(loaded.fileMetadata, { format: 'vidax' });
});

test('the expected tree may hold ShapedArrays or {shape, dtype} instead of arrays', async () => {
  const path = fresh();
  const params = paramTree();
  await saveCheckpoint(path, params);
  const avals = tree.map((x: VArray) => x.aval, params);
  assertSameTree((await loadCheckpoint(path, avals)).params as tree.PyTree<VArray>, params);
  const plain = tree.map((x: VArray) => ({ shape: [...x.shape], dtype: x.dtype }), params);
  assertSameTree((await loadCheckpoint(path, plain)).params as tree.PyTree<VArray>, params);
  assert.ok(treePaths(avals).length === 11 && tree.leaves(avals).every((a) => a instanceof ShapedArray));
});

test('config metadata and step are saved as JSON strings and parsed back', async () => {
  const path = fresh();
  const config = { model: 'unet', channels: [8, 16], attention: { heads: 2 }, lr: 1e-4, note: 'é ✓ "q"' };
  await saveCheckpoint(path, { w: f32([2], 1) }, { metadata: config, step: 1200 });
  const loaded = await loadCheckpoint(path, { w: new ShapedArray([2], 'float32') });
  assert.equal(loaded.metadata, config);
  assert.is(loaded.step, 1200);
  assert.equal(loaded.fileMetadata, { format: 'vidax', config: JSON.stringify(config), step: '1200' });
  const raw = decodeSafetensors(readFileSync(path));
  assert.equal(raw.metadata, loaded.fileMetadata);
});

test('tensor names are the dotted tree paths, in flatten order', async () => {
  const params = paramTree();
  assert.equal(treePaths(params), [
    'counter', 'down.0.conv.b', 'down.0.conv.w', 'down.0.norm.scale', 'down.1.conv.b', 'down.1.conv.w',
    'empty', 'head.w', 'ids', 'mask', 'temperature',
  ]);
  assert.equal(treePaths(f32([2], 1)), ['']);
  assert.equal(treePaths({ a: [[1, 2], null, { b: 3 }] }), ['a.0.0', 'a.0.1', 'a.2.b']);
  const path = fresh();
  await saveCheckpoint(path, params);
  const { arrays, metadata } = await loadSafetensors(path);
  assert.equal([...arrays.keys()].sort(), [...treePaths(params)].sort());
  assertSameValues(arrays.get('down.1.conv.w')!.dataSync(), params.down[1]!.conv.w.dataSync(), 'down.1.conv.w');
  assert.equal(metadata, { format: 'vidax' });
});

test('the file is laid out like the reference writer: header padded to 8 bytes, tensors by alignment then name', () => {
  const bytes = encodeSafetensors({
    tensors: new Map<string, Tensor>([
      ['b', { dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 5) }],
      ['a', { dtype: 'int32', shape: [1], data: Int32Array.of(-1) }],
      ['z', { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) }],
      ['c', { dtype: 'float32', shape: [], data: Float32Array.of(3) }],
      ['u', { dtype: 'uint32', shape: [1], data: Uint32Array.of(7) }],
    ]),
    metadata: { z: '1', a: '2' },
  });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.is(n % 8, 0);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.is(
    text.trimEnd(),
    '{"__metadata__":{"a":"2","z":"1"},"c":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},' +
      '"u":{"dtype":"U32","shape":[1],"data_offsets":[12,16]},"a":{"dtype":"I32","shape":[1],"data_offsets":[16,20]},"b":{"dtype":"BOOL","shape":[3],"data_offsets":[20,23]}}',
  );
  assert.equal([...bytes.subarray(8 + n + 20)], [1, 0, 1]); // bool bytes are written as 0/1
  assert.is(bytes.length, 8 + n + 23);
});

test('decode copies data out of an unaligned view of a larger buffer', () => {
  const file = encodeSafetensors({ tensors: { x: { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1.5, -2, NaN, -0) } } });
  const big = new Uint8Array(file.length + 3);
  big.set(file, 3);
  const view = big.subarray(3, 3 + file.length);
  const t = decodeSafetensors(view).tensors.get('x')!;
  big.fill(0);
  assertSameValues(t.data, [1.5, -2, NaN, -0], 'x');
  assert.is(t.fileDtype, 'F32');
});

test('an empty file of tensors is valid', () => {
  const bytes = encodeSafetensors({ tensors: new Map() });
  assert.equal([...bytes], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]); // the reference writer's bytes
  assert.is(decodeSafetensors(bytes).tensors.size, 0);
});

// ------------------------------------------------------------------------------- atomic writes

test('a write that fails midway leaves the previous checkpoint untouched and no temporary file', async () => {
  const sub = mkdtempSync(join(dir, 'atomic-'));
  const path = join(sub, 'model.safetensors');
  await saveCheckpoint(path, paramTree(), { step: 1 });
  const before = readFileSync(path);

  const failing = f32([1000], 9);
  Object.defineProperty(failing, 'data', { value: () => Promise.reject(new Error('device lost while reading')) });
  // 'zz' sorts after every other float32 tensor, so the header and several tensors are written first.
  await rejects(saveCheckpoint(path, { ...paramTree(), zz: failing }, { step: 2 }), Error, /device lost/);
  assert.equal(readFileSync(path), before);
  assert.equal(readdirSync(sub), ['model.safetensors']);

  const disposed = f32([3], 1);
  disposed.dispose();
  await rejects(saveCheckpoint(path, { ...paramTree(), zz: disposed }), DisposedError, /after dispose/);
  assert.equal(readFileSync(path), before);
  assert.equal(readdirSync(sub), ['model.safetensors']);
  assert.is((await loadCheckpoint(path, paramTree())).step, 1);
});

test('a new checkpoint replaces the old one whole', async () => {
  const sub = mkdtempSync(join(dir, 'replace-'));
  const path = join(sub, 'model.safetensors');
  await saveCheckpoint(path, { w: f32([100], 1) }, { step: 1 });
  await saveCheckpoint(path, { w: f32([2], 2) }, { step: 2 });
  const loaded = await loadCheckpoint(path, { w: new ShapedArray([2], 'float32') });
  assert.is(loaded.step, 2);
  assertSameValues(loaded.params.w.dataSync(), f32([2], 2).dataSync(), 'w');
  assert.equal(readdirSync(sub), ['model.safetensors']);
});

test('bad trees and options are rejected before any file is created', async () => {
  const path = fresh();
  await rejects(saveCheckpoint(path, { a: f32([1], 1), b: 3 as unknown as VArray }), ValueError, /saveCheckpoint: leaf 'b' is a number, expected an array/);
  await rejects(saveCheckpoint(path, { 'a.b': f32([1], 1), a: { b: f32([1], 2) } }), ValueError, /key "a\.b" under "" cannot be part of a dotted path/);
  await rejects(saveCheckpoint(path, { a: f32([1], 1) }, { step: -1 }), ValueError, /step must be a non-negative integer, got -1/);
  await rejects(saveCheckpoint(path, { a: f32([1], 1) }, { step: 1.5 }), ValueError, /step/);
  await rejects(saveCheckpoint(path, { a: f32([1], 1) }, { metadata: [1] as unknown as Record<string, unknown> }), ValueError, /metadata must be a JSON-serializable object/);
  const errors: Promise<Error>[] = [];
  grad((x: VArray) => {
    errors.push(rejects(saveCheckpoint(path, { x }), ValueError, /'x' is a traced value f32\[2\]/));
    return x.sum();
  })(f32([2], 1));
  await Promise.all(errors);
  await rejects(saveSafetensors(path, { __metadata__: f32([1], 1) }), ValueError, /'__metadata__' is reserved/);
  assert.equal(readdirSync(dir).filter((f) => f.startsWith(path.split('/').pop()!)), []);
});

// ------------------------------------------------------------------------------- tree mismatches

test('loading checks every name, shape and dtype against the expected tree', async () => {
  const path = fresh();
  await saveCheckpoint(path, paramTree());
  const like = paramTree();
  await rejects(
    loadCheckpoint(path, { ...like, down: [like.down[0], { ...like.down[1], extra: { w: f32([1], 1) } }] }),
    ValueError,
    /loadCheckpoint\(.*ckpt-\d+\.safetensors\): the file has no tensor 'down\.1\.extra\.w' \(1 of the 12 expected are missing\)/,
  );
  const { head: _, ...withoutHead } = like;
  await rejects(loadCheckpoint(path, withoutHead), ValueError, /tensors the expected tree does not: 'head\.w' \(pass \{strict: false\}/);
  const partial = await loadCheckpoint(path, withoutHead, { strict: false });
  assert.not.ok('head' in partial.params);
  await rejects(
    loadCheckpoint(path, { ...like, head: { w: f32([10, 4], 1) } }),
    ShapeError,
    /tensor 'head\.w' has shape \[4,10\] in the file but the expected tree has \[10,4\]/,
  );
  await rejects(
    loadCheckpoint(path, { ...like, counter: new ShapedArray([], 'float32') }),
    DTypeError,
    /tensor 'counter' has dtype int32 in the file but the expected tree has float32/,
  );
  await rejects(loadCheckpoint(path, { ...like, counter: 'x' }), ValueError, /leaf 'counter' of the expected tree is a string/);
  await rejects(loadCheckpoint(join(dir, 'does-not-exist.safetensors'), like), Error, /ENOENT/);
});

test('many missing names are listed briefly', async () => {
  const path = fresh();
  await saveCheckpoint(path, { a: f32([1], 1) });
  const like = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`w${String(i).padStart(2, '0')}`, new ShapedArray([1], 'float32')]));
  await rejects(loadCheckpoint(path, { a: new ShapedArray([1], 'float32'), ...like }), ValueError, /'w00', .*'w09' and 4 more \(14 of the 15 expected are missing\)/);
});

test('converted dtypes load where the converted dtype is expected, and a mismatch names the stored dtype', async () => {
  const path = fresh();
  const f64 = new Uint8Array(new Float64Array([0.1, 1e40]).buffer);
  const i64 = new Uint8Array(new BigInt64Array([-5n, 2n ** 31n - 1n]).buffer);
  const data = new Uint8Array(32);
  data.set(f64, 0);
  data.set(i64, 16);
  writeFileSync(path, rawFile({ w: { dtype: 'F64', shape: [2], data_offsets: [0, 16] }, n: { dtype: 'I64', shape: [2], data_offsets: [16, 32] } }, data));
  const loaded = await loadCheckpoint(path, { w: new ShapedArray([2], 'float32'), n: new ShapedArray([2], 'int32') });
  assertSameValues(loaded.params.w.dataSync(), [Math.fround(0.1), Infinity], 'w');
  assertSameValues(loaded.params.n.dataSync(), [-5, 2147483647], 'n');
  await rejects(loadCheckpoint(path, { w: new ShapedArray([2], 'float32'), n: new ShapedArray([2], 'uint32') }), DTypeError, /'n' has dtype int32 \(stored as I64\)/);
});

test('bad checkpoint metadata is an error', async () => {
  for (const [meta, re] of [
    [{ config: '{oops' }, /metadata 'config' is not valid JSON/],
    [{ config: '[1,2]' }, /metadata 'config' is \[1,2\], expected a JSON object/],
    [{ step: 'ten' }, /metadata 'step' is "ten", expected a non-negative integer/],
    [{ step: '-1' }, /metadata 'step'/],
  ] as const) {
    const path = fresh();
    await saveSafetensors(path, { w: f32([1], 1) }, meta);
    await rejects(loadCheckpoint(path, { w: new ShapedArray([1], 'float32') }), ValueError, re);
  }
});

// ------------------------------------------------------------------------------- corrupted files

test('corrupted and truncated files are rejected with a clear message', () => {
  const good = encodeSafetensors({ tensors: { a: { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) } } });
  const n = Number(new DataView(good.buffer).getBigUint64(0, true));
  const withLength = (len: bigint) => {
    const b = good.slice();
    new DataView(b.buffer).setBigUint64(0, len, true);
    return b;
  };
  const cases: [string, Uint8Array, new (m: string) => Error, RegExp][] = [
    ['empty file', new Uint8Array(0), ValueError, /the file is 0 bytes, too short for the 8-byte header length/],
    ['5-byte file', good.subarray(0, 5), ValueError, /the file is 5 bytes/],
    ['header length beyond the file', good.subarray(0, 8 + n - 1), ValueError, new RegExp(`header length is ${n} bytes, beyond the end of the file \\(${8 + n - 1} bytes\\)`)],
    ['huge header length', withLength(2n ** 63n), ValueError, /header length is 9223372036854775808 bytes, over the format's limit of 100000000/],
    ['header length just over the limit', withLength(BigInt(MAX_HEADER_BYTES + 1)), ValueError, /over the format's limit/],
    ['truncated data', good.subarray(0, good.length - 1), ValueError, /the file is truncated: its tensors need 8 data bytes \(a file of \d+ bytes\) but only 7 follow the header/],
    ['no data at all', good.subarray(0, 8 + n), ValueError, /truncated: its tensors need 8 data bytes .* but only 0/],
    ['trailing bytes', Uint8Array.from([...good, 0, 0, 0]), ValueError, /3 bytes after the last tensor \(data ends at 8, the buffer is 11 bytes\) belong to no tensor/],
    ['invalid UTF-8', rawFile('{"a"', 0).map((b, i) => (i === 9 ? 0xff : b)), ValueError, /the header is not valid UTF-8/],
    ['not an object', rawFile([1, 2]), ValueError, /does not start with '\{'/],
    ['leading space', rawFile(' {}'), ValueError, /does not start with '\{'/],
    ['invalid JSON', rawFile('{"a": {"dtype": "F32",'), ValueError, /the header is not valid JSON/],
    ['garbage after the JSON', rawFile('{}x'), ValueError, /not valid JSON/],
    ['unknown dtype', rawFile({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1), DTypeError, /tensor 'w' has unknown dtype "Q4"; vidax reads F32, I32, U32, BOOL, F64, F16, BF16/],
    ['unsupported dtype', rawFile({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1), DTypeError, /tensor 'w' has unsupported dtype F8_E4M3/],
    ['dtype not a string', rawFile({ w: { dtype: 4, shape: [1], data_offsets: [0, 4] } }, 4), ValueError, /tensor 'w' has dtype 4, expected a string/],
    ['entry not an object', rawFile({ w: [1] }), ValueError, /tensor 'w': header entry is \[1\]/],
    ['negative dim', rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), ValueError, /tensor 'w' has shape \[-1\]; a shape must be a list of non-negative integers/],
    ['fractional dim', rawFile({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4), ValueError, /shape \[1\.5\]/],
    ['overflowing shape', rawFile({ w: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 4] } }, 4), ValueError, /whose size overflows/],
    ['missing offsets', rawFile({ w: { dtype: 'F32', shape: [1], offsets: [0, 4] } }, 4), ValueError, /tensor 'w' has data_offsets undefined, expected \[begin, end\]/],
    ['reversed offsets', rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, 4), ValueError, /data_offsets \[4,0\]/],
    ['three offsets', rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, 8), ValueError, /data_offsets \[0,4,8\]/],
    ['size mismatch', rawFile({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, 20), ValueError, /tensor 'w' is F32\[2,3\], which takes 24 bytes, but its data_offsets \[0, 20\] span 20 bytes/],
    ['overlap', rawFile({ a: F32x2(0), b: F32x2(4) }, 12), ValueError, /tensor 'b' at data_offsets \[4, 12\] overlaps tensor 'a', which ends at 8/],
    ['gap', rawFile({ a: F32x2(0), b: F32x2(12) }, 20), ValueError, /bytes \[8, 12\) of the data buffer belong to no tensor \(gap before tensor 'b'\)/],
    ['not starting at 0', rawFile({ a: F32x2(4) }, 12), ValueError, /bytes \[0, 4\) .*\(gap before tensor 'a'\)/],
    ['metadata not strings', rawFile({ __metadata__: { step: 5 } }), ValueError, /__metadata__ entry 'step' is 5, but metadata values must be strings/],
    ['metadata not an object', rawFile({ __metadata__: 'x' }), ValueError, /__metadata__ is "x", expected an object of strings/],
    ['bool byte 2', rawFile({ m: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }, Uint8Array.of(0, 1, 2)), ValueError, /tensor 'm' \(BOOL\[3\]\): element 2 is byte 2, but BOOL bytes must be 0 or 1/],
    [
      'I64 out of int32 range',
      rawFile({ n: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(new BigInt64Array([1n, 2n ** 31n]).buffer)),
      ValueError,
      /tensor 'n' \(I64\[2\]\): element 1 = 2147483648 does not fit int32/,
    ],
    [
      'U64 out of uint32 range',
      rawFile({ n: { dtype: 'U64', shape: [], data_offsets: [0, 8] } }, new Uint8Array(new BigUint64Array([2n ** 32n]).buffer)),
      ValueError,
      /tensor 'n' \(U64\[\]\): element 0 = 4294967296 does not fit uint32/,
    ],
  ];
  for (const [what, bytes, cls, re] of cases) {
    const e = assertThrows(() => decodeSafetensors(bytes), cls, re);
    assert.match(e.message, /^decodeSafetensors: /, what);
  }
});

test('valid files the reference accepts: padding, any key order, zero-size tensors between others', () => {
  const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const bytes = rawFile({ b: F32x2(8), e: { dtype: 'I32', shape: [0, 5], data_offsets: [8, 8] }, __metadata__: { k: 'v' }, a: F32x2(0) }, data, 5);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.equal([...tensors.keys()], ['a', 'b', 'e']);
  assertSameValues(tensors.get('b')!.data, [3, 4], 'b');
  assert.equal(tensors.get('e')!.shape, [0, 5]);
  assert.ok(tensors.get('e')!.data instanceof Int32Array);
  assert.equal(metadata, { k: 'v' });
  const u64 = decodeSafetensors(rawFile({ n: { dtype: 'U64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(new BigUint64Array([2n ** 32n - 1n]).buffer)));
  assert.ok(u64.tensors.get('n')!.data instanceof Uint32Array);
  assert.is(u64.tensors.get('n')!.data[0], 4294967295);
});

test('loading a corrupted checkpoint names the file', async () => {
  const path = fresh();
  await saveCheckpoint(path, paramTree());
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 10));
  await rejects(loadCheckpoint(path, paramTree()), ValueError, new RegExp(`^loadCheckpoint\\(${path.replace(/[.]/g, '\\.')}\\): the file is truncated`));
  await rejects(loadSafetensors(path), ValueError, /^loadSafetensors\(.*\): the file is truncated/);
  writeFileSync(path, 'not a checkpoint');
  await rejects(loadCheckpoint(path, paramTree()), ValueError, /header length is \d+ bytes, over the format's limit/);
});

test('encoding validates names, shapes, dtypes and metadata', () => {
  const enc = (tensors: Record<string, Tensor>, metadata?: Record<string, string>) => () => encodeSafetensors({ tensors, metadata });
  assertThrows(enc({ __metadata__: { dtype: 'float32', shape: [1], data: Float32Array.of(1) } }), ValueError, /'__metadata__' is reserved/);
  assertThrows(enc({ w: { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 2, 3) } }), ShapeError, /tensor 'w' has shape \[2,2\] \(4 elements\) but 3 data elements/);
  assertThrows(enc({ w: { dtype: 'float64' as 'float32', shape: [1], data: Float32Array.of(1) } }), DTypeError, /tensor 'w'.*unknown dtype "float64"/);
  assertThrows(enc({ w: { dtype: 'int32', shape: [1], data: Float32Array.of(1) } }), ValueError, /tensor 'w' is int32 but its data is a Float32Array/);
  assertThrows(enc({ w: { dtype: 'float32', shape: [-2], data: Float32Array.of() } }), ValueError, /shape \[-2\]/);
  assertThrows(enc({}, { step: 3 as unknown as string }), ValueError, /metadata 'step' is 3, but metadata values must be strings/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
