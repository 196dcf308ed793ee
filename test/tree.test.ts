/** Pytree flatten / unflatten / map semantics. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tree from '../src/core/tree';

test('round trip of nested arrays and objects', () => {
  const t = { b: [1, { c: 2, a: 3 }], a: 4 };
  const [ls, def] = tree.flatten(t);
  assert.equal(ls, [4, 1, 3, 2]); // sorted keys, depth first
  assert.is(def.numLeaves, 4);
  assert.equal(tree.unflatten(def, ls), t);
  assert.equal(def.unflatten(['w', 'x', 'y', 'z']), { a: 'w', b: ['x', { a: 'y', c: 'z' }] });
});

test('toString is JAX-like', () => {
  assert.is(tree.structure({ b: [1, 2], a: 0 }).toString(), "PyTreeDef({'a': *, 'b': [*, *]})");
  assert.is(tree.structure([null, [], {}]).toString(), 'PyTreeDef([None, [], {}])');
  assert.is(tree.structure(5).toString(), 'PyTreeDef(*)');
  assert.is(tree.structure({ "it's": 1 }).toString(), "PyTreeDef({'it\\'s': *})");
});

test('null and undefined are leafless nodes', () => {
  const t = { a: null, b: [undefined, 1] };
  const [ls, def] = tree.flatten(t);
  assert.equal(ls, [1]);
  const back = tree.unflatten(def, [7]) as { a: null; b: [undefined, number] };
  assert.is(back.a, null);
  assert.is(back.b[0], undefined);
  assert.is(back.b[1], 7);
  assert.equal(tree.leaves(null), []);
  assert.ok(tree.structure(null).equals(tree.structure(undefined)));
});

test('non-plain objects are leaves', () => {
  class Box {
    constructor(readonly v: number) {}
  }
  const f32 = new Float32Array([1, 2]);
  const box = new Box(1);
  const nullProto = Object.assign(Object.create(null) as object, { x: 1 });
  const ls = tree.leaves<unknown>([f32, box, new Map(), 'str', nullProto]);
  assert.is(ls.length, 5);
  assert.is(ls[0], f32);
  assert.is(ls[1], box);
  assert.is(ls[4], 1); // null-prototype objects are nodes
});

test('rebuilt objects are fresh plain objects; inputs untouched', () => {
  const inner = Object.assign(Object.create(null) as object, { k: 1 });
  const t = { inner };
  const back = tree.map((x: number) => x + 1, t) as { inner: { k: number } };
  assert.is(Object.getPrototypeOf(back.inner), Object.prototype);
  assert.is(back.inner.k, 2);
  assert.is((inner as { k: number }).k, 1);
  assert.ok(Object.isFrozen(tree.structure(t)));
});

test('structure equality', () => {
  const s = tree.structure({ a: [1, 2], b: 3 });
  assert.ok(s.equals(tree.structure({ b: 'x', a: ['y', 'z'] })));
  assert.not.ok(s.equals(tree.structure({ a: [1, 2], c: 3 })));
  assert.not.ok(s.equals(tree.structure({ a: [1], b: 3 })));
  assert.not.ok(tree.structure([1]).equals(tree.structure({ 0: 1 })));
});

test('unflatten checks the leaf count', () => {
  const def = tree.structure([1, [2, 3]]);
  assert.throws(() => tree.unflatten(def, [1, 2]), /tree\.unflatten: expected 3 leaves, got 2/);
});

test('map over several trees', () => {
  const a = { w: [1, 2], b: 3 };
  const b = { w: [10, 20], b: 30 };
  assert.equal(tree.map((x: number, y: number) => x + y, a, b), { w: [11, 22], b: 33 });
  assert.throws(
    () => tree.map((x: number, y: number) => x + y, a, { w: [1], b: 2 }),
    (e: Error) => e.message.includes("PyTreeDef({'b': *, 'w': [*]})") && e.message.includes("PyTreeDef({'b': *, 'w': [*, *]})"),
  );
});

test('isLeaf stops descent', () => {
  const t = { p: [1, 2], q: [[3], [4]] };
  const isVec = (x: unknown): boolean => Array.isArray(x) && x.every((v) => typeof v === 'number');
  assert.equal(tree.leaves(t, { isLeaf: isVec }), [[1, 2], [3], [4]]);
  assert.is(tree.structure(t, { isLeaf: isVec }).toString(), "PyTreeDef({'p': *, 'q': [*, *]})");
  const sum = (v: number[]): number => v.reduce((a, b) => a + b, 0);
  assert.equal(tree.mapWith({ isLeaf: isVec }, sum, t), { p: 3, q: [3, 4] });
  assert.equal(tree.leaves([null, 1], { isLeaf: (x) => x === null }), [null, 1]);
});

test.run();
