#!/usr/bin/env python3
"""Fit and check the polynomial of the wasm backend's float32 exp (src/core/backends/render/wasm_math.ts).

Run from the repository root:

    /usr/bin/python3 scripts/golden/exp_poly.py [--stride K]

Fit: e^r ~ 1 + r*Q(r) on |r| <= ln2/2 (widened by 2e-4 for the rounding of n), Q of degree 5,
minimising the relative error by Lawson's iteration (iteratively reweighted least squares,
which converges to the minimax solution) on 2000 Chebyshev nodes, with mpmath for the
reference values. Prints the relative error and Q's float32 coefficients, highest degree first
(EXP_Q in wasm_math.ts).

Check: simulates the kernel's exact float32 operation sequence with numpy (t = x*log2e +
(1.5*2^23 + 127), 2^n = bits(t) << 23, Cody-Waite r = (x - n*ln2_hi) - n*ln2_lo, Q by Estrin's
scheme, (r*Q + 1)*2^n) for every K-th float32 with |x| <= 87.33 (the in-range path; K = 1: all
2.2e9 of them, about a minute) and prints the largest error in ulps of the float64 exp and the
distribution of distances, in ulps, to the float64 exp rounded to float32.
"""
import argparse

import mpmath as mp
import numpy as np

f32 = np.float32


def fit(degree=5):
    mp.mp.dps = 40
    a = mp.log(2) / 2 * mp.mpf('1.0002')
    xs = [a * mp.cos(mp.pi * (k + 0.5) / 2000) for k in range(2000)]
    X = np.array([float(x) for x in xs])
    E = np.array([float(mp.exp(x)) for x in xs])
    # relative error (1 + r Q(r) - e^r) / e^r, linear in Q's coefficients
    A = (X[:, None] * X[:, None] ** np.arange(degree + 1)[None, :]) / E[:, None]
    b = np.array([float(mp.expm1(x)) for x in xs]) / E
    w = np.ones(len(X)) / len(X)
    for _ in range(3000):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(A * sw[:, None], b * sw, rcond=None)
        w = w * np.abs(A @ c - b)
        w /= w.sum()
    return f32(c), np.abs(A @ c - b).max()


def exp_in_range(x, q):
    t = x * f32(1.44269504088896341) + f32(12583039.0)
    s = (t.view(np.uint32) << np.uint32(23)).view(f32)
    n = t - f32(12583039.0)
    r = (x - n * f32(0.693359375)) - n * f32(-2.12194440e-4)
    r2 = r * r
    Q = r2 * ((r2 * (r * q[5] + q[4])) + (r * q[3] + q[2])) + (r * q[1] + q[0])
    return (r * Q + f32(1)) * s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--stride', type=int, default=61)
    args = ap.parse_args()
    q, err = fit()
    print('max relative error of the fit:', err)
    print('EXP_Q (highest degree first):', [repr(float(v)) for v in q[::-1]])
    worst, hist = 0.0, {}
    lim = int(f32(87.33).view(np.uint32))
    for lo, hi in ((0x80000000, 0x80000000 + lim), (0, lim)):
        for s0 in range(lo, hi, 1 << 24):
            x = np.arange(s0, min(hi, s0 + (1 << 24)), args.stride, dtype=np.uint64).astype(np.uint32).view(f32)
            y = exp_in_range(x, q)
            ref = np.exp(x.astype(np.float64))
            worst = max(worst, float((np.abs(y.astype(np.float64) - ref) / np.spacing(ref.astype(f32)).astype(np.float64)).max()))
            d = np.abs(y.view(np.int32).astype(np.int64) - ref.astype(f32).view(np.int32).astype(np.int64))
            for v, k in zip(*np.unique(d, return_counts=True)):
                hist[int(v)] = hist.get(int(v), 0) + int(k)
    print(f'every {args.stride}th float32 in [-87.33, 87.33]: max error {worst:.3f} ulp; distance to the rounded exp (ulps: count)', hist)


if __name__ == '__main__':
    main()
