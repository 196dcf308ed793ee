/**
 * A float32 matrix multiplication in WebAssembly SIMD128, GotoBLAS/BLIS style:
 *
 *   for each KC-deep slice of k:
 *     for each NC-wide block of columns: pack B's slice into panels of NR = 8 columns
 *       (k-major: for each k, 8 consecutive floats; the last panel zero-padded);
 *       for each MC-high block of rows: pack A's block into micro-panels of MR rows
 *         (k-major: for each k, MR consecutive floats; zero-padded), then for every
 *         (NR-panel, MR-panel) pair run the micro-kernel.
 *
 * The micro-kernel keeps an MR×8 tile of C in 2·MR f32x4 accumulators; per k it loads two
 * vectors of B, broadcasts each of the MR values of A (`v128.load32_splat`) and does
 * `acc += a·b` (f32x4.mul then f32x4.add: SIMD128 has no fused multiply-add without the
 * relaxed-SIMD proposal). The first k-slice starts from zero, later ones load the tile.
 * A tile of the last rows of a block (fewer than MR) runs a micro-kernel with that many rows of
 * accumulators straight on C; a tile of the last columns (fewer than 8) runs on a scratch tile
 * whose valid part is copied in and out.
 *
 * Summation order: every C element is the sequential f32 sum over k (k = 0, 1, …) of
 * f32-rounded products, whatever the blocking, thread split or tile position, so results do
 * not depend on how rows are distributed over threads. The JavaScript oracle sums in f64
 * instead; the difference is within the classical bound |Δ| ≤ γ_k·Σ|a||b| (γ_k = k·u/(1−k·u),
 * u = 2⁻²⁴), see `test/wasm_matmul.test.ts`.
 *
 * All arguments are byte addresses and byte strides into the shared memory; `gemm` needs a
 * workspace of `gemmWorkspaceBytes(n)` bytes (16-byte aligned) per concurrent call.
 */
import { Asm, L, minI32, type I32 } from './asm.js';
import type { Code, ModuleBuilder } from './encoder.js';

export interface GemmShape {
  /** Rows per micro-tile (accumulators: 2·mr vectors). */
  readonly mr: number;
  /** Depth of a k-slice. */
  readonly kc: number;
  /** Rows of A packed at once (rounded up to a multiple of mr). */
  readonly mc: number;
  /** Columns of B packed at once (a multiple of 8). */
  readonly nc: number;
  /** k-steps per micro-kernel loop iteration. */
  readonly unroll: number;
}

export const NR = 8;
/**
 * 5×8 tiles: 10 accumulators + 2 vectors of B + the broadcast A value + one product = 14 of
 * the 15 xmm registers V8 allocates on x64, so the loop runs without spills. Unrolling k
 * does not pay: V8's scheduler then hoists the broadcasts of several steps and spills.
 */
export const GEMM_SHAPE: GemmShape = { mr: 5, kc: 256, mc: 120, nc: 2048, unroll: 1 };

const up = (x: number, m: number) => Math.ceil(x / m) * m;

/** Workspace bytes `gemm` needs for matrices with `n` columns. */
export function gemmWorkspaceBytes(n: number, s: GemmShape = GEMM_SHAPE): number {
  const nc = Math.min(s.nc, up(Math.max(n, 1), NR));
  return s.kc * nc * 4 + up(s.mc, s.mr) * s.kc * 4 + s.mr * NR * 4;
}

/** Function indices of the routine in a module. */
export interface GemmFunctions {
  /** `gemm(a, lda, b, ldb, c, ldc, m, n, k, work)`: C = A·B (A m×k, B k×n; k ≥ 1). */
  readonly gemm: number;
  /**
   * The building blocks, for other drivers (the implicit-GEMM convolution, `conv.ts`):
   * `packA(src, lda, mc, kc, dst)` packs an mc×kc block of A into micro-panels of mr rows;
   * `macro(Ap, Bp, C, ldc, mc, nc, kc, accumulate, tile)` multiplies packed A (mc×kc) by
   * packed B (kc×nc, panels of 8 columns, k-major) into C, adding to C when `accumulate`.
   */
  readonly packA: number;
  readonly macro: number;
}


/** Add the gemm functions to a module importing a memory. */
export function addGemm(mod: ModuleBuilder, shape: GemmShape = GEMM_SHAPE): GemmFunctions {
  const s = { ...shape, mc: up(shape.mc, shape.mr) };
  const { mr, unroll } = s;
  if (s.nc % NR !== 0) throw new Error('gemm: nc must be a multiple of 8');

  // ---- packB(src, ldb, kc, nc, dst): panels of 8 columns, k-major, zero-padded
  const packB = new Asm(['i32', 'i32', 'i32', 'i32', 'i32']);
  {
    const [src, ldb, kc, nc, dst] = [0, 1, 2, 3, 4];
    const a = packB, c = a.c;
    const j = a.i32(), kk = a.i32(), sp = a.i32(), dp = a.i32(), t = a.i32();
    a.set(j, 0);
    // full panels: j + 8 <= nc
    a.while((c) => c.localGet(j).i32Const(NR).op('i32.add').localGet(nc).op('i32.le_s'), () => {
      a.set(sp, (c) => c.localGet(src).localGet(j).i32Const(2).ops('i32.shl', 'i32.add'));
      a.set(dp, (c) => c.localGet(dst).localGet(j).localGet(kc).op('i32.mul').i32Const(2).ops('i32.shl', 'i32.add'));
      a.for(kk, 0, L(kc), 1, () => {
        c.localGet(dp).localGet(sp).mem('v128.load', 0, 0).mem('v128.store', 0, 0);
        c.localGet(dp).localGet(sp).mem('v128.load', 16, 0).mem('v128.store', 16, 0);
        a.addTo(sp, L(ldb));
        a.addTo(dp, 32);
      });
      a.addTo(j, NR);
    });
    // the last, partial panel
    a.if((c) => c.localGet(j).localGet(nc).op('i32.lt_s'), () => {
      a.set(sp, (c) => c.localGet(src).localGet(j).i32Const(2).ops('i32.shl', 'i32.add'));
      a.set(dp, (c) => c.localGet(dst).localGet(j).localGet(kc).op('i32.mul').i32Const(2).ops('i32.shl', 'i32.add'));
      a.for(kk, 0, L(kc), 1, () => {
        c.localGet(dp).v128Const(new Uint8Array(16)).mem('v128.store', 0, 0);
        c.localGet(dp).v128Const(new Uint8Array(16)).mem('v128.store', 16, 0);
        a.for(t, 0, (c) => c.localGet(nc).localGet(j).op('i32.sub'), 1, () => {
          c.localGet(dp).localGet(t).i32Const(2).ops('i32.shl', 'i32.add');
          c.localGet(sp).localGet(t).i32Const(2).ops('i32.shl', 'i32.add').mem('f32.load').mem('f32.store');
        });
        a.addTo(sp, L(ldb));
        a.addTo(dp, 32);
      });
    });
  }

  // ---- packA(src, lda, mc, kc, dst): micro-panels of mr rows, k-major, zero-padded
  const packA = new Asm(['i32', 'i32', 'i32', 'i32', 'i32']);
  {
    const [src, lda, mc, kc, dst] = [0, 1, 2, 3, 4];
    const a = packA, c = a.c;
    const i = a.i32(), kk = a.i32(), dp = a.i32(), end = a.i32(), r = a.i32(), rows = a.i32();
    const row = Array.from({ length: mr }, () => a.i32());
    a.for(i, 0, L(mc), mr, () => {
      a.set(dp, (c) => c.localGet(dst).localGet(i).localGet(kc).op('i32.mul').i32Const(2).ops('i32.shl', 'i32.add'));
      a.set(rows, minI32(mr, (c) => c.localGet(mc).localGet(i).op('i32.sub')));
      a.set(row[0], (c) => c.localGet(src).localGet(i).localGet(lda).ops('i32.mul', 'i32.add'));
      for (let q = 1; q < mr; q++) a.set(row[q], (c) => c.localGet(row[q - 1]).localGet(lda).op('i32.add'));
      a.set(end, (c) => c.localGet(row[0]).localGet(kc).i32Const(2).ops('i32.shl', 'i32.add'));
      a.if((c) => c.localGet(rows).i32Const(mr).op('i32.eq'), () => {
        // full micro-panel: walk the rows' pointers along k
        a.upTo(row[0], L(end), () => {
          for (let q = 0; q < mr; q++) {
            c.localGet(dp).localGet(row[q]).mem('f32.load').mem('f32.store', 4 * q);
            a.addTo(row[q], 4);
          }
          a.addTo(dp, 4 * mr);
        });
      }, () => {
        a.for(kk, 0, L(kc), 1, () => {
          c.localGet(dp).v128Const(new Uint8Array(16)).mem('v128.store', 0, 0);
          if (mr > 4) for (let o = 16; o < 4 * mr; o += 16) c.localGet(dp).v128Const(new Uint8Array(16)).mem('v128.store', o, 0);
          a.for(r, 0, L(rows), 1, () => {
            c.localGet(dp).localGet(r).i32Const(2).ops('i32.shl', 'i32.add');
            c.localGet(row[0]).localGet(r).localGet(lda).ops('i32.mul', 'i32.add').localGet(kk).i32Const(2).ops('i32.shl', 'i32.add').mem('f32.load');
            c.mem('f32.store');
          });
          a.addTo(dp, 4 * mr);
        });
      });
    });
  }

  // ---- micro(ap, bp, kc, cp, ldc, accumulate): C[rows×8] (+)= Ap·Bp, rows ≤ mr of an mr-row micro-panel
  const microKernel = (rows: number): number => {
    const micro = new Asm(['i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
    const [ap, bp, kc, cp, ldc, accum] = [0, 1, 2, 3, 4, 5];
    const a = micro, c = a.c;
    const acc = Array.from({ length: rows }, () => [a.v128(), a.v128()]);
    const b0 = a.v128(), b1 = a.v128(), av = a.v128();
    const p = a.i32(), q = a.i32(), end = a.i32(), endU = a.i32(), rowp = a.i32();
    const rowsDo = (f: (r: number) => void) => {
      a.set(rowp, L(cp));
      for (let r = 0; r < rows; r++) {
        f(r);
        if (r < rows - 1) a.addTo(rowp, L(ldc));
      }
    };
    a.if((c) => c.localGet(accum), () =>
      rowsDo((r) => {
        c.localGet(rowp).mem('v128.load', 0, 0).localSet(acc[r][0]);
        c.localGet(rowp).mem('v128.load', 16, 0).localSet(acc[r][1]);
      }), () => {
      for (const [x, y] of acc) c.v128Const(new Uint8Array(16)).localSet(x).v128Const(new Uint8Array(16)).localSet(y);
    });
    a.set(p, L(ap)).set(q, L(bp));
    a.set(end, (c) => c.localGet(ap).localGet(kc).i32Const(4 * mr).ops('i32.mul', 'i32.add'));
    const step = (c: Code, u: number) => {
      c.localGet(q).mem('v128.load', 32 * u, 0).localSet(b0);
      c.localGet(q).mem('v128.load', 32 * u + 16, 0).localSet(b1);
      for (let r = 0; r < rows; r++) {
        c.localGet(p).mem('v128.load32_splat', 4 * (mr * u + r)).localSet(av);
        c.localGet(acc[r][0]).localGet(av).localGet(b0).ops('f32x4.mul', 'f32x4.add').localSet(acc[r][0]);
        c.localGet(acc[r][1]).localGet(av).localGet(b1).ops('f32x4.mul', 'f32x4.add').localSet(acc[r][1]);
      }
    };
    if (unroll > 1) {
      // end − (unroll−1)·mr·4: the last start of a full unrolled group
      a.set(endU, (c) => c.localGet(end).i32Const(4 * mr * (unroll - 1)).op('i32.sub'));
      a.upTo(p, L(endU), () => {
        for (let u = 0; u < unroll; u++) step(c, u);
        a.addTo(p, 4 * mr * unroll);
        a.addTo(q, 32 * unroll);
      });
    }
    a.upTo(p, L(end), () => {
      step(c, 0);
      a.addTo(p, 4 * mr);
      a.addTo(q, 32);
    });
    rowsDo((r) => {
      c.localGet(rowp).localGet(acc[r][0]).mem('v128.store', 0, 0);
      c.localGet(rowp).localGet(acc[r][1]).mem('v128.store', 16, 0);
    });
    return mod.addFunction(micro.fn);
  };
  // The full tile, and the tiles of the last rows of a block (1 … mr − 1 rows) writing C directly.
  const microIdx = microKernel(mr);
  const microRows = Array.from({ length: mr - 1 }, (_, r) => microKernel(r + 1));

  // ---- macro(Ap, Bp, C, ldc, mc, nc, kc, accumulate, tile)
  const macro = new Asm(['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  {
    const [Ap, Bp, C, ldc, mc, nc, kc, accum, tile] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    const a = macro, c = a.c;
    const jr = a.i32(), ir = a.i32(), bp = a.i32(), ap = a.i32(), cp = a.i32(), nr = a.i32(), rows = a.i32(), r = a.i32(), t = a.i32();
    /** Copy the valid rows×nr part between C (stride ldc) and the tile (stride 32). */
    const copy = (toTile: boolean) =>
      a.for(r, 0, L(rows), 1, () =>
        a.for(t, 0, L(nr), 1, () => {
          const at = (c: Code) => c.localGet(tile).localGet(r).i32Const(5).op('i32.shl').localGet(t).i32Const(2).ops('i32.shl', 'i32.add', 'i32.add');
          const atC = (c: Code) => c.localGet(cp).localGet(r).localGet(ldc).op('i32.mul').localGet(t).i32Const(2).ops('i32.shl', 'i32.add', 'i32.add');
          if (toTile) (at(c), atC(c));
          else (atC(c), at(c));
          c.mem('f32.load').mem('f32.store');
        }));
    a.for(jr, 0, L(nc), NR, () => {
      a.set(bp, (c) => c.localGet(Bp).localGet(jr).localGet(kc).op('i32.mul').i32Const(2).ops('i32.shl', 'i32.add'));
      a.set(nr, minI32(NR, (c) => c.localGet(nc).localGet(jr).op('i32.sub')));
      a.for(ir, 0, L(mc), mr, () => {
        a.set(ap, (c) => c.localGet(Ap).localGet(ir).localGet(kc).op('i32.mul').i32Const(2).ops('i32.shl', 'i32.add'));
        a.set(cp, (c) => c.localGet(C).localGet(ir).localGet(ldc).op('i32.mul').localGet(jr).i32Const(2).ops('i32.shl', 'i32.add', 'i32.add'));
        a.set(rows, minI32(mr, (c) => c.localGet(mc).localGet(ir).op('i32.sub')));
        a.if((c) => c.localGet(nr).i32Const(NR).op('i32.eq'), () => {
          const direct = (r: number) => c.localGet(ap).localGet(bp).localGet(kc).localGet(cp).localGet(ldc).localGet(accum).call(r === mr ? microIdx : microRows[r - 1]);
          const byRows = (r: number): void => {
            if (r === 1) direct(1);
            else a.if((c) => c.localGet(rows).i32Const(r).op('i32.eq'), () => direct(r), () => byRows(r - 1));
          };
          byRows(mr);
        }, () => {
          a.if((c) => c.localGet(accum), () => copy(true));
          c.localGet(ap).localGet(bp).localGet(kc).localGet(tile).i32Const(32).localGet(accum).call(microIdx);
          copy(false);
        });
      });
    });
  }
  const macroIdx = mod.addFunction(macro.fn);
  const packAIdx = mod.addFunction(packA.fn);
  const packBIdx = mod.addFunction(packB.fn);

  // ---- gemm(a, lda, b, ldb, c, ldc, m, n, k, work)
  const gemm = new Asm(['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  {
    const [A, lda, B, ldb, C, ldc, m, n, k, work] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const a = gemm, c = a.c;
    const pc = a.i32(), jc = a.i32(), ic = a.i32(), kc = a.i32(), nc = a.i32(), mc = a.i32(), Bp = a.i32(), Ap = a.i32(), tile = a.i32(), ncMax = a.i32();
    // ncMax = min(s.nc, round_up(n, 8)); Bp = work; Ap = Bp + kc·ncMax·4; tile = Ap + mc·kc·4
    a.set(ncMax, minI32(s.nc, (c) => c.localGet(n).i32Const(NR - 1).op('i32.add').i32Const(-NR).op('i32.and')));
    a.set(Bp, L(work));
    a.set(Ap, (c) => c.localGet(work).localGet(ncMax).i32Const(s.kc * 4).ops('i32.mul', 'i32.add'));
    a.set(tile, (c) => c.localGet(Ap).i32Const(up(s.mc, mr) * s.kc * 4).op('i32.add'));
    const at = (base: number, row: I32, ld: number, col: I32) => (c: Code) => {
      c.localGet(base);
      a.push(row);
      c.localGet(ld).op('i32.mul');
      a.push(col);
      c.i32Const(2).ops('i32.shl', 'i32.add', 'i32.add');
    };
    a.for(pc, 0, L(k), s.kc, () => {
      a.set(kc, minI32(s.kc, (c) => c.localGet(k).localGet(pc).op('i32.sub')));
      a.for(jc, 0, L(n), L(ncMax), () => {
        a.set(nc, minI32(L(ncMax), (c) => c.localGet(n).localGet(jc).op('i32.sub')));
        at(B, L(pc), ldb, L(jc))(c);
        c.localGet(ldb).localGet(kc).localGet(nc).localGet(Bp).call(packBIdx);
        a.for(ic, 0, L(m), s.mc, () => {
          a.set(mc, minI32(s.mc, (c) => c.localGet(m).localGet(ic).op('i32.sub')));
          at(A, L(ic), lda, L(pc))(c);
          c.localGet(lda).localGet(mc).localGet(kc).localGet(Ap).call(packAIdx);
          c.localGet(Ap).localGet(Bp);
          at(C, L(ic), ldc, L(jc))(c);
          c.localGet(ldc).localGet(mc).localGet(nc).localGet(kc).localGet(pc).i32Const(0).op('i32.gt_s').localGet(tile).call(macroIdx);
        });
      });
    });
  }
  return { gemm: mod.addFunction(gemm.fn), packA: packAIdx, macro: macroIdx };
}
