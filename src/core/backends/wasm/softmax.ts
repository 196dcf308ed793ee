/**
 * Softmax over the last axis in WebAssembly SIMD128: the wasm backend's `softmax` fused
 * routine, which the jit hands it where it finds nn.softmax's chain (`kernel/softmax_pattern.ts`).
 * For each of `rows` rows of `cols` float32 values x,
 *
 *   m  = max x                       (NaN if any x is NaN)
 *   m' = m finite ? m : 0            guarded (nn.softmax's form); unguarded: m' = m
 *   e  = exp(x − m'),  s = Σ e
 *   s' = s = 0 ? 1 : s               guarded; unguarded: s' = s
 *   out = e / s'
 *
 * — the operations of the unfused kernels, in three passes over a row while it sits in L1 (one
 * read of the input and one write of the output from memory, where the kernels stream the whole
 * array four times): (1) max, min and a NaN flag, from cache: pass 2 of the row before touched
 * its lines; (2) e, stored into `out`, and its sum; (3) `out` ·= 1/s' in place — as PyTorch and
 * XNNPACK scale (a division costs as much as the rest of the pass), one more rounding than the
 * composition's division: within 1.5 ulps of e / s' where the division would be exact to 0.5
 * — and e / s' itself where 1/s' is not a normal float (s' infinite, NaN or beyond 2^±125).
 *
 * Pass 1 proves most rows in range: when every x is finite and min − max ≥ −EXP_IN_RANGE, every
 * x − m' lies in [−87.33, 0], and pass 2 runs the exp's in-range code alone
 * (`emitExpInRange`), with no per-vector range test; other rows (NaN, ±∞, masks of −1e9…) run
 * the general exp. Both give the bits of the wasm exp kernel (`render/wasm_math.ts`).
 *
 * Sums: four f32 lanes over chunks of 128 elements, each chunk's lanes then added in f64 into
 * the row's total (rounded to f32 once at the end); every row computes the same way whatever
 * the thread split, so results do not depend on the thread count.
 */
import { Asm, L, scratchLocals, vectorConstants } from './asm.js';
import type { ModuleBuilder, ValType } from './encoder.js';
import { emitExpInRange, emitMath, EXP_IN_RANGE } from '../render/wasm_math.js';

/** Vectors per chunk of the running sum (f32 lanes within a chunk, f64 across chunks). */
const CHUNK_VECTORS = 32;

const splat = (v: number) => new Uint8Array(Float32Array.from([v, v, v, v]).buffer);

/**
 * Add `softmax(src, dst, rows, cols, guarded)` to the module (byte addresses; `guarded` 0 or
 * 1) and return its function index. `dst` may equal `src`.
 */
export function addSoftmax(mod: ModuleBuilder): number {
  const a = new Asm(['i32', 'i32', 'i32', 'i32', 'i32']);
  const c = a.c;
  const [src, dst, rows, cols, guarded] = [0, 1, 2, 3, 4];

  // The exp expansions' registers, and vector constants in globals (`asm.ts`).
  const scratch = scratchLocals(a.fn);
  const mathLocal = (ty: ValType, k: number) => scratch(`m${k}`, ty);
  const vconst = vectorConstants(mod);

  const row = a.i32(), p = a.i32(), q = a.i32(), vecEnd = a.i32(), rowEnd = a.i32(), chunkEnd = a.i32(), fast = a.i32(), rowBytes = a.i32();
  const m = a.local('f32'), mn = a.local('f32'), mp = a.local('f32'), s = a.local('f32'), xs = a.local('f32');
  const total = a.local('f64');
  const pp = a.i32(), more = a.i32();
  const vpre = a.v128(), vmax = a.v128(), vmin = a.v128(), vnan = a.v128(), vacc = a.v128(), vm = a.v128(), x = a.v128();

  const lanes = (v: number, op: 'f32.max' | 'f32.min', into: number) => {
    for (let l = 0; l < 4; l++) c.localGet(into).localGet(v).lane('f32x4.extract_lane', l).op(op).localSet(into);
  };

  a.set(rowBytes, (cc) => cc.localGet(cols).i32Const(2).op('i32.shl'));
  c.v128Const(splat(-Infinity)).localSet(vpre);
  a.for(row, 0, L(rows), 1, () => {
    a.set(rowEnd, (cc) => cc.localGet(src).localGet(rowBytes).op('i32.add'));
    a.set(vecEnd, (cc) => cc.localGet(src).localGet(cols).i32Const(-4).op('i32.and').i32Const(2).ops('i32.shl', 'i32.add'));

    // ---- pass 1: max, min (pseudo-max/min: NaN never enters) and whether any x is NaN
    c.localGet(vpre).localSet(vmax);
    c.v128Const(splat(-Infinity)).localSet(vpre);
    a.set(more, (cc) => cc.localGet(row).i32Const(1).op('i32.add').localGet(rows).op('i32.lt_u'));
    c.v128Const(splat(Infinity)).localSet(vmin);
    c.v128Const(new Uint8Array(16)).localSet(vnan);
    a.set(p, L(src));
    a.upTo(p, L(vecEnd), () => {
      c.localGet(p).mem('v128.load', 0, 0).localSet(x);
      c.localGet(vmax).localGet(x).op('f32x4.pmax').localSet(vmax);
      c.localGet(vmin).localGet(x).op('f32x4.pmin').localSet(vmin);
      c.localGet(vnan).localGet(x).localGet(x).op('f32x4.ne').op('v128.or').localSet(vnan);
      a.addTo(p, 16);
    });
    c.f32Const(-Infinity).localSet(m);
    c.f32Const(Infinity).localSet(mn);
    lanes(vmax, 'f32.max', m);
    lanes(vmin, 'f32.min', mn);
    // the tail with NaN-propagating max/min: a NaN there makes m NaN
    a.upTo(p, L(rowEnd), () => {
      c.localGet(p).mem('f32.load', 0, 0).localSet(xs);
      c.localGet(m).localGet(xs).op('f32.max').localSet(m);
      c.localGet(mn).localGet(xs).op('f32.min').localSet(mn);
      a.addTo(p, 4);
    });
    a.if((cc) => cc.localGet(vnan).op('v128.any_true'), () => void c.f32Const(NaN).localSet(m));
    // m' and the in-range test (NaN fails every comparison)
    c.localGet(m).f32Const(0).localGet(m).op('f32.abs').f32Const(Infinity).op('f32.lt').localGet(guarded).op('i32.eqz').op('i32.or').op('select').localSet(mp);
    a.set(fast, (cc) =>
      cc
        .localGet(m).op('f32.abs').f32Const(Infinity).op('f32.lt')
        .localGet(mn).op('f32.abs').f32Const(Infinity).op('f32.lt')
        .op('i32.and')
        .localGet(mn).localGet(m).op('f32.sub').f32Const(-EXP_IN_RANGE).op('f32.ge')
        .op('i32.and'),
    );
    c.localGet(mp).op('f32x4.splat').localSet(vm);

    // ---- pass 2: e = exp(x − m') into dst, and its sum
    c.f64Const(0).localSet(total);
    a.set(p, L(src));
    a.set(q, L(dst));
    const pass2 = (inRange: boolean) =>
      a.upTo(p, L(vecEnd), () => {
        a.set(chunkEnd, (cc) => {
          cc.localGet(p).i32Const(16 * CHUNK_VECTORS).op('i32.add').localGet(vecEnd);
          cc.localGet(p).i32Const(16 * CHUNK_VECTORS).op('i32.add').localGet(vecEnd).op('i32.lt_u').op('select');
        });
        // Touch the next row's cache lines under this chunk (its pass 1 then reads from cache):
        // one vector per 64 bytes, whose maximum seeds that row's pass 1.
        a.if((cc) => cc.localGet(more), () => {
          a.set(pp, L(p));
          a.upTo(pp, L(chunkEnd), () => {
            c.localGet(vpre).localGet(pp).localGet(rowBytes).op('i32.add').mem('v128.load', 0, 0).op('f32x4.pmax').localSet(vpre);
            a.addTo(pp, 64);
          });
        });
        c.v128Const(new Uint8Array(16)).localSet(vacc);
        a.upTo(p, L(chunkEnd), () => {
          c.localGet(q);
          c.localGet(p).mem('v128.load', 0, 0).localGet(vm).op('f32x4.sub');
          if (inRange) emitExpInRange(c, true, mathLocal, vconst);
          else emitMath(c, 'exp', true, mathLocal, vconst);
          c.localTee(x).mem('v128.store', 0, 0);
          c.localGet(vacc).localGet(x).op('f32x4.add').localSet(vacc);
          a.addTo(p, 16);
          a.addTo(q, 16);
        });
        c.localGet(total);
        c.localGet(vacc).lane('f32x4.extract_lane', 0).op('f64.promote_f32');
        c.localGet(vacc).lane('f32x4.extract_lane', 1).op('f64.promote_f32').op('f64.add');
        c.localGet(vacc).lane('f32x4.extract_lane', 2).op('f64.promote_f32');
        c.localGet(vacc).lane('f32x4.extract_lane', 3).op('f64.promote_f32').op('f64.add');
        c.ops('f64.add', 'f64.add').localSet(total);
      });
    a.if((cc) => cc.localGet(fast), () => pass2(true), () => pass2(false));
    a.upTo(p, L(rowEnd), () => {
      c.localGet(q);
      c.localGet(p).mem('f32.load', 0, 0).localGet(mp).op('f32.sub');
      emitMath(c, 'exp', false, mathLocal);
      c.localTee(xs).mem('f32.store', 0, 0);
      c.localGet(total).localGet(xs).op('f64.promote_f32').op('f64.add').localSet(total);
      a.addTo(p, 4);
      a.addTo(q, 4);
    });
    c.localGet(total).op('f32.demote_f64').localSet(s);
    a.if((cc) => cc.localGet(guarded).localGet(s).f32Const(0).op('f32.eq').op('i32.and'), () => void c.f32Const(1).localSet(s));

    // ---- pass 3: out = e · (1/s') where 1/s' is a normal float (s' ∈ [2⁻¹²⁵, 2¹²⁵]: always, when
    // the row max is finite, as then 1 ≤ s' ≤ cols), else out = e / s' (∞, NaN, extreme sums)
    const pass3 = (op: 'mul' | 'div') => {
      a.set(q, L(dst));
      a.set(chunkEnd, (cc) => cc.localGet(dst).localGet(vecEnd).localGet(src).ops('i32.sub', 'i32.add'));
      const scale = (off: number) => c.localGet(q).localGet(q).mem('v128.load', off, 0).localGet(vm).op(`f32x4.${op}`).mem('v128.store', off, 0);
      a.upTo(q, (cc) => cc.localGet(chunkEnd).i32Const(48).op('i32.sub'), () => {
        for (const off of [0, 16, 32, 48]) scale(off);
        a.addTo(q, 64);
      });
      a.upTo(q, L(chunkEnd), () => {
        scale(0);
        a.addTo(q, 16);
      });
      a.set(chunkEnd, (cc) => cc.localGet(dst).localGet(rowBytes).op('i32.add'));
      a.upTo(q, L(chunkEnd), () => {
        c.localGet(q).localGet(q).mem('f32.load', 0, 0).localGet(s).op(`f32.${op}`).mem('f32.store', 0, 0);
        a.addTo(q, 4);
      });
    };
    a.if(
      (cc) => cc.localGet(s).f32Const(2 ** -125).op('f32.ge').localGet(s).f32Const(2 ** 125).op('f32.le').op('i32.and'),
      () => {
        c.f32Const(1).localGet(s).op('f32.div').localTee(s).op('f32x4.splat').localSet(vm);
        pass3('mul');
      },
      () => {
        c.localGet(s).op('f32x4.splat').localSet(vm);
        pass3('div');
      },
    );

    a.addTo(src, L(rowBytes));
    a.addTo(dst, L(rowBytes));
  });
  return mod.addFunction(a.fn);
}
