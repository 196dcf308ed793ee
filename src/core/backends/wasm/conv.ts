/**
 * A float32 convolution in WebAssembly SIMD128 as an implicit GEMM: no im2col matrix is
 * materialised. For one batch item and one feature (or batch) group, in NCHW/OIHW layout,
 *
 *   out[o, p] = Σ_k W[o, k] · X[k, p],   k = (c, w): input channel c, window tap w,
 *
 * where W is the kernel (O×I·taps, row-major: OIHW as it is), p runs over the output positions
 * and X[(c, w), p] is the input element that tap w of output position p reads in channel c
 * (0 for padding, lhs-dilation holes and negative-padding cuts). This is the GEMM of `gemm.ts`
 * with its A packing, macro- and micro-kernel (5×8 f32x4 tiles) reused; only the B packing
 * differs: it builds the k-major 8-column panels straight from the image.
 *
 * Patch indices (on the host, per call): `convTaps` resolves every (tap, output position) to
 * a byte offset inside one input channel, or −1, from the per-dim window tables of the
 * JavaScript routine (`routines/conv.ts`: strides, padding, lhs and rhs dilation); `convTable`
 * lays them out per GEMM column and classes every (tap, 8-column panel): `≥ 0` — the 8 columns
 * read 8 consecutive valid floats at that offset (two v128 loads; the common case at stride 1
 * away from the border), −1 — all zeros, ≤ −3 — 8 valid floats 2 apart from offset −3 − mode
 * (stride 2: four loads and two shuffles), −2 — a gather (lane loads, padding masked to 0).
 * The table has taps × columns entries, a 1/C fraction of an im2col matrix; the host bounds
 * it by splitting the columns in chunks. Where the output has few positions (weight
 * gradients: the kernel's window), the batch items sharing a kernel are merged into the
 * columns (column = item·P + position, an item offset added in the table), so panels are not
 * mostly padding and A is packed once for all of them. `TapTables` keeps recent tables (a
 * training step repeats its shapes).
 *
 * Summation order: like `gemm`, every output element is the sequential f32 sum over k =
 * c·taps + w (k = 0, 1, …) of f32-rounded products, padding terms included as products with
 * 0, whatever the blocking, column merging or thread split. (An infinite or NaN weight would
 * make a padding term NaN where the JavaScript routine skips it: the backend runs such
 * kernels on the JavaScript routine.)
 */
import { Asm, L, minI32 } from './asm.js';
import type { ModuleBuilder } from './encoder.js';
import { GEMM_SHAPE, NR, type GemmFunctions } from './gemm.js';
import { windowTable } from '../routines/conv.js';

/** Function indices of the routines in a module. */
export interface ConvFunctions {
  /**
   * `conv(a, lda, img, chanBytes, tab, modes, tabCols, taps, col0, c, ldc, m, n, k, kcStep, work)`:
   * C (m×n, stride ldc) = A (m×k, stride lda) · X, X's columns col0 … col0+n−1 of the tap
   * table (`convTable`: `tab`, `modes`, `tabCols` columns), the image's channels `chanBytes`
   * apart from `img`; k-slices of `kcStep` ≤ GEMM_SHAPE.kc. Byte addresses and strides; `col0`
   * a multiple of 8; the workspace as for `gemm` (`gemmWorkspaceBytes(n)`).
   */
  readonly conv: number;
  /**
   * `allFinite(ptr, n)`: 1 if none of the n floats at `ptr` is ±∞ or NaN, else 0 (the backend
   * checks the kernel with it: see the note on summation order above).
   */
  readonly allFinite: number;
}

const up = (x: number, m: number) => Math.ceil(x / m) * m;
const bytesOfLanes = (lanes: number[]) => lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
/** Lanes 0 and 2 of each of two vectors (floats 0, 2, 4, 6 of floats 0…7). */
const EVEN_LANES = bytesOfLanes([0, 2, 4, 6]);
/** Lanes 0 and 2 of a vector of floats 8…11, lanes 1 and 3 of one of floats 11…14 (floats 8, 10, 12, 14). */
const EVEN_LANES_SHIFTED = bytesOfLanes([0, 2, 5, 7]);

/** Add the conv routine to a module holding the gemm (whose `packA` and `macro` it calls). */
export function addConv(mod: ModuleBuilder, gemm: GemmFunctions): ConvFunctions {
  const s = { ...GEMM_SHAPE, mc: up(GEMM_SHAPE.mc, GEMM_SHAPE.mr) };

  // ---- packX(img, chanBytes, tab, modes, tabCols, taps, k0, kc, col0, nc, dst): panels of 8 columns, k-major
  const pack = new Asm(new Array(11).fill('i32'));
  {
    const [img, chanBytes, tab, modes, tabCols, taps, k0, kc, col0, nc, dst] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const a = pack, c = a.c;
    const jr = a.i32(), dp = a.i32(), dEnd = a.i32(), chan = a.i32(), mp = a.i32(), tp = a.i32(), mp0 = a.i32(), tp0 = a.i32();
    const mEnd = a.i32(), runEnd = a.i32(), mode = a.i32(), off = a.i32(), panB = a.i32(), ch = a.i32();
    const tv = a.v128(), adr = a.v128(), x = a.v128();
    const zero = new Uint8Array(16), minusOne = new Uint8Array(16).fill(255);
    a.set(panB, (c) => c.localGet(tabCols).i32Const(3).op('i32.shr_u').i32Const(2).op('i32.shl')); // bytes per tap in `modes`
    a.for(jr, 0, L(nc), NR, () => {
      // dp walks the panel (32 bytes per k), mp the panel's modes (panB bytes per tap) from tap
      // k0 mod taps of channel k0 / taps; at the last tap it wraps to mp0 and the next channel.
      a.set(dp, (c) => c.localGet(dst).localGet(jr).localGet(kc).op('i32.mul').i32Const(2).ops('i32.shl', 'i32.add'));
      a.set(dEnd, (c) => c.localGet(dp).localGet(kc).i32Const(5).ops('i32.shl', 'i32.add'));
      a.set(ch, (c) => c.localGet(k0).localGet(taps).op('i32.div_u'));
      a.set(chan, (c) => c.localGet(img).localGet(ch).localGet(chanBytes).ops('i32.mul', 'i32.add'));
      a.set(mp0, (c) => c.localGet(modes).localGet(col0).localGet(jr).op('i32.add').i32Const(3).op('i32.shr_u').i32Const(2).ops('i32.shl', 'i32.add'));
      a.set(mEnd, (c) => c.localGet(mp0).localGet(taps).localGet(panB).ops('i32.mul', 'i32.add'));
      a.set(tp0, (c) => c.localGet(tab).localGet(col0).localGet(jr).op('i32.add').i32Const(2).ops('i32.shl', 'i32.add'));
      a.set(mp, (c) => c.localGet(mp0).localGet(k0).localGet(ch).localGet(taps).ops('i32.mul', 'i32.sub').localGet(panB).ops('i32.mul', 'i32.add'));
      a.upTo(dp, L(dEnd), () => {
        // the taps of this channel within the slice: up to mEnd, or (dEnd − dp)/32 of them
        a.set(runEnd, minI32(L(mEnd), (c) => c.localGet(mp).localGet(dEnd).localGet(dp).op('i32.sub').i32Const(5).op('i32.shr_u').localGet(panB).ops('i32.mul', 'i32.add')));
        a.upTo(mp, L(runEnd), () => {
          a.set(mode, (c) => c.localGet(mp).mem('i32.load'));
          a.if((c) => c.localGet(mode).i32Const(0).op('i32.ge_s'), () => {
            // 8 consecutive valid floats
            a.set(off, (c) => c.localGet(chan).localGet(mode).op('i32.add'));
            c.localGet(dp).localGet(off).mem('v128.load', 0, 0).mem('v128.store', 0, 0);
            c.localGet(dp).localGet(off).mem('v128.load', 16, 0).mem('v128.store', 16, 0);
          }, () => a.if((c) => c.localGet(mode).i32Const(-1).op('i32.eq'), () => {
            c.localGet(dp).v128Const(zero).mem('v128.store', 0, 0);
            c.localGet(dp).v128Const(zero).mem('v128.store', 16, 0);
          }, () => a.if((c) => c.localGet(mode).i32Const(-3).op('i32.le_s'), () => {
            // 8 valid floats 2 apart (stride 2) from chan + (−3 − mode): floats 0…7 and 8…14 in
            // four loads (the last at float 11, so nothing past float 14 is read), even lanes kept
            a.set(off, (c) => c.localGet(chan).i32Const(-3).localGet(mode).ops('i32.sub', 'i32.add'));
            c.localGet(dp).localGet(off).mem('v128.load', 0, 0).localGet(off).mem('v128.load', 16, 0).shuffle(EVEN_LANES).mem('v128.store', 0, 0);
            c.localGet(dp).localGet(off).mem('v128.load', 32, 0).localGet(off).mem('v128.load', 44, 0).shuffle(EVEN_LANES_SHIFTED).mem('v128.store', 16, 0);
          }, () => {
            // gather, 4 columns at a time: offsets v (the tap's row of `tab`: tp0 + 8·(mp − mp0),
            // as a tap's row has 8 times the bytes of its modes), lanes loaded from
            // chan + max(v, 0), then zeroed where v < 0
            a.set(tp, (c) => c.localGet(tp0).localGet(mp).localGet(mp0).op('i32.sub').i32Const(3).ops('i32.shl', 'i32.add'));
            for (let h = 0; h < 2; h++) {
              c.localGet(tp).mem('v128.load', 16 * h, 0).localSet(tv);
              c.localGet(tv).v128Const(zero).op('i32x4.max_s').localSet(adr);
              for (let l = 0; l < 4; l++)
                c.localGet(chan).localGet(adr).lane('i32x4.extract_lane', l).op('i32.add').localGet(x).memLane('v128.load32_lane', l).localSet(x);
              c.localGet(dp).localGet(x).localGet(tv).v128Const(minusOne).op('i32x4.gt_s').op('v128.and').mem('v128.store', 16 * h, 0);
            }
          })));
          a.addTo(dp, 4 * NR);
          a.addTo(mp, L(panB));
        });
        a.set(mp, L(mp0));
        a.addTo(chan, L(chanBytes));
      });
    });
  }
  const packIdx = mod.addFunction(pack.fn);

  // ---- conv(a, lda, img, chanBytes, tab, modes, tabCols, taps, col0, c, ldc, m, n, k, kcStep, work)
  const conv = new Asm(new Array(16).fill('i32'));
  {
    const [A, lda, img, chanBytes, tab, modes, tabCols, taps, col0, C, ldc, m, n, k, kcStep, work] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    const a = conv, c = a.c;
    const jc = a.i32(), pc = a.i32(), ic = a.i32(), kc = a.i32(), nc = a.i32(), mc = a.i32(), Bp = a.i32(), Ap = a.i32(), tile = a.i32(), ncMax = a.i32();
    // The workspace layout of `gemm`: Bp (kc·ncMax floats), Ap (mc·kc), the scratch tile.
    a.set(ncMax, minI32(s.nc, (c) => c.localGet(n).i32Const(NR - 1).op('i32.add').i32Const(-NR).op('i32.and')));
    a.set(Bp, L(work));
    a.set(Ap, (c) => c.localGet(work).localGet(ncMax).i32Const(s.kc * 4).ops('i32.mul', 'i32.add'));
    a.set(tile, (c) => c.localGet(Ap).i32Const(s.mc * s.kc * 4).op('i32.add'));
    a.for(jc, 0, L(n), L(ncMax), () => {
      a.set(nc, minI32(L(ncMax), (c) => c.localGet(n).localGet(jc).op('i32.sub')));
      a.for(pc, 0, L(k), L(kcStep), () => {
        a.set(kc, minI32(L(kcStep), (c) => c.localGet(k).localGet(pc).op('i32.sub')));
        c.localGet(img).localGet(chanBytes).localGet(tab).localGet(modes).localGet(tabCols).localGet(taps);
        c.localGet(pc).localGet(kc).localGet(col0).localGet(jc).op('i32.add').localGet(nc).localGet(Bp).call(packIdx);
        a.for(ic, 0, L(m), s.mc, () => {
          a.set(mc, minI32(s.mc, (c) => c.localGet(m).localGet(ic).op('i32.sub')));
          c.localGet(A).localGet(ic).localGet(lda).op('i32.mul').localGet(pc).i32Const(2).ops('i32.shl', 'i32.add', 'i32.add');
          c.localGet(lda).localGet(mc).localGet(kc).localGet(Ap).call(gemm.packA);
          c.localGet(Ap).localGet(Bp);
          c.localGet(C).localGet(ic).localGet(ldc).op('i32.mul').localGet(jc).i32Const(2).ops('i32.shl', 'i32.add', 'i32.add');
          c.localGet(ldc).localGet(mc).localGet(nc).localGet(kc).localGet(pc).i32Const(0).op('i32.gt_s').localGet(tile).call(gemm.macro);
        });
      });
    });
  }
  // ---- allFinite(ptr, n) → 1 if none of the n floats is ±∞ or NaN (x − x is 0 exactly for finite x)
  const fin = new Asm(['i32', 'i32'], ['i32']);
  {
    const [ptr, n] = [0, 1];
    const a = fin, c = a.c;
    const p = a.i32(), end = a.i32(), tail = a.i32(), ok = a.v128(), x = a.v128(), okScalar = a.i32();
    const zero = new Uint8Array(16);
    a.set(p, L(ptr));
    a.set(end, (c) => c.localGet(ptr).localGet(n).i32Const(-4).op('i32.and').i32Const(2).ops('i32.shl', 'i32.add'));
    a.set(tail, (c) => c.localGet(ptr).localGet(n).i32Const(2).ops('i32.shl', 'i32.add'));
    c.v128Const(new Uint8Array(16).fill(255)).localSet(ok);
    a.set(okScalar, 1);
    a.upTo(p, L(end), () => {
      c.localGet(p).mem('v128.load', 0, 0).localSet(x);
      c.localGet(ok).localGet(x).localGet(x).op('f32x4.sub').v128Const(zero).ops('f32x4.eq', 'v128.and').localSet(ok);
      a.addTo(p, 16);
    });
    a.upTo(p, L(tail), () => {
      c.localGet(okScalar).localGet(p).mem('f32.load').localGet(p).mem('f32.load').op('f32.sub').f32Const(0).ops('f32.eq', 'i32.and').localSet(okScalar);
      a.addTo(p, 4);
    });
    c.localGet(ok).op('i32x4.all_true').localGet(okScalar).op('i32.and');
  }
  return { conv: mod.addFunction(conv.fn), allFinite: mod.addFunction(fin.fn) };
}

/** The spatial description of a convolution (a 0-d one as 1-d of size 1). */
export interface ConvGeometry {
  readonly inSp: readonly number[];
  readonly winSp: readonly number[];
  readonly outSp: readonly number[];
  readonly strides: readonly number[];
  readonly padLo: readonly number[];
  readonly lhsDil: readonly number[];
  readonly rhsDil: readonly number[];
}

/**
 * Every tap's input offset for output positions [q0, q0 + n): `taps × n` entries, tap-major
 * (`[w·n + i]`), each the byte offset inside one input channel of the element that tap w of
 * position q0 + i reads, or −1 (padding, an lhs-dilation hole, a cut by negative padding).
 */
export function convTaps(g: ConvGeometry, q0: number, n: number): Int32Array {
  const nd = g.inSp.length;
  const tables = g.outSp.map((o, d) => windowTable(o, g.inSp[d], g.winSp[d], g.strides[d], g.padLo[d], g.lhsDil[d], g.rhsDil[d]));
  const inStride = new Array<number>(nd);
  for (let d = nd - 1, st = 1; d >= 0; d--) (inStride[d] = st), (st *= g.inSp[d]);
  const taps = g.winSp.reduce((a, b) => a * b, 1);
  const out = new Int32Array(taps * n);
  const pos = new Int32Array(nd), tap = new Int32Array(nd);
  for (let q = q0, d = nd - 1; d >= 0; d--) (pos[d] = q % g.outSp[d]), (q = Math.floor(q / g.outSp[d]));
  for (let i = 0; i < n; i++) {
    tap.fill(0);
    for (let w = 0; w < taps; w++) {
      let off = 0;
      for (let d = 0; d < nd && off >= 0; d++) {
        const x = tables[d][pos[d] * g.winSp[d] + tap[d]];
        off = x < 0 ? -1 : off + x * inStride[d];
      }
      out[w * n + i] = off < 0 ? -1 : 4 * off;
      for (let d = nd - 1; d >= 0; d--) {
        if (++tap[d] < g.winSp[d]) break;
        tap[d] = 0;
      }
    }
    for (let d = nd - 1; d >= 0; d--) {
      if (++pos[d] < g.outSp[d]) break;
      pos[d] = 0;
    }
  }
  return out;
}

/**
 * The tap table the routine reads, for GEMM columns [j0, j0 + cols) (`cols` a multiple of 8).
 * Column j is output position j mod P of item ⌊j / P⌋ (items — batch items merged into the
 * columns — lie `itemBytes` apart in the image; columns from `total` on are padding). `pos`:
 * `convTaps` of positions [q0, q0 + nq), which must cover the chunk's positions. Writes
 * `tab[w·cols + j]` (byte offset from the first item's channel, or −1) and
 * `modes[w·cols/8 + j/8]` (the panel's class, see the top of this file).
 */
export function convTable(pos: Int32Array, q0: number, nq: number, P: number, total: number, itemBytes: number, j0: number, cols: number, tab: Int32Array, modes: Int32Array): void {
  const taps = pos.length / nq, panels = cols / NR;
  const u0 = Math.floor(j0 / P), valid = Math.max(0, Math.min(cols, total - j0));
  for (let w = 0; w < taps; w++) {
    const src = w * nq - q0, dst = w * cols;
    for (let j = 0, u = u0, p = j0 - u0 * P; j < valid; j++) {
      const v = pos[src + p];
      tab[dst + j] = v < 0 ? -1 : v + u * itemBytes;
      if (++p === P) (p = 0), u++;
    }
    tab.fill(-1, dst + valid, dst + cols);
    for (let q = 0; q < panels; q++) {
      const at = dst + q * NR, first = tab[at];
      let contiguous = first >= 0, strided = first >= 0, empty = true;
      for (let t = 0; t < NR; t++) {
        const v = tab[at + t];
        if (v >= 0) empty = false;
        if (v !== first + 4 * t) contiguous = false;
        if (v !== first + 8 * t) strided = false;
      }
      modes[w * panels + q] = contiguous ? first : strided ? -3 - first : empty ? -1 : -2;
    }
  }
}

/** A tap table: `convTable`'s `tab` and `modes`. */
export interface TapTable {
  readonly tab: Int32Array;
  readonly modes: Int32Array;
}

/**
 * The tap tables of recent convolutions, least recently used dropped beyond `maxEntries`
 * int32 entries in all: a training step repeats its convolutions' shapes, and building a
 * table costs a few ns per entry (a weight gradient's table has taps × batch·positions).
 */
export class TapTables {
  private cache = new Map<string, TapTable>();
  private entries = 0;
  constructor(readonly maxEntries = 1 << 22) {}

  /** The table of GEMM columns [j0, j0 + cols) of `width` (items of P positions, `itemBytes` apart). */
  get(g: ConvGeometry, P: number, width: number, itemBytes: number, j0: number, cols: number): TapTable {
    const key = JSON.stringify([g.inSp, g.winSp, g.outSp, g.strides, g.padLo, g.lhsDil, g.rhsDil, P, width, itemBytes, j0, cols]);
    let t = this.cache.get(key);
    if (t) {
      this.cache.delete(key);
      this.cache.set(key, t);
      return t;
    }
    const taps = g.winSp.reduce((a, b) => a * b, 1);
    // Merged items (width > P) need every position's taps; else those of the chunk's columns.
    const [q0, nq] = width > P ? [0, P] : [j0, Math.min(cols, width - j0)];
    t = { tab: new Int32Array(taps * cols), modes: new Int32Array(taps * (cols / NR)) };
    convTable(convTaps(g, q0, nq), q0, nq, P, width, itemBytes, j0, cols, t.tab, t.modes);
    const size = t.tab.length + t.modes.length;
    for (const [k, old] of this.cache) {
      if (this.entries + size <= this.maxEntries) break;
      this.cache.delete(k);
      this.entries -= old.tab.length + old.modes.length;
    }
    if (size <= this.maxEntries) {
      this.cache.set(key, t);
      this.entries += size;
    }
    return t;
  }
}
