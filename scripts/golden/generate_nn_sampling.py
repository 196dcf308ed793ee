#!/usr/bin/env python3
"""Generate golden fixtures for vidax's resampling functions (src/nn/sampling.ts).

Reference values come from torch.nn.functional (interpolate, avg_pool*d,
max_pool*d) in float64, and each case is checked, before anything is written,
against an independent float64 implementation:

* bilinear / linear / trilinear resizing: scipy.ndimage.map_coordinates
  (order=1, mode='nearest') sampled at the coordinates of the align_corners
  convention (rtol 1e-12);
* nearest upsampling: numpy.repeat along each axis (exact);
* average and max pooling: direct NumPy loops over the windows, with the
  count_include_pad divisor rule written out (rtol 1e-12).

Every case is also run through torch in float32 and must meet a quarter of its
stated tolerance. Run from the repository root:

    /usr/bin/python3 scripts/golden/generate_nn_sampling.py            # test/fixtures/nn-sampling-golden.json
    /usr/bin/python3 scripts/golden/generate_nn_sampling.py /tmp/x.json

The file layout and number conventions are those of core-golden.json
(scripts/golden/README.md): one input tensor "x", float32 data, "expected" a
single tensor, "tolerance" {"rtol": 1e-5, "atol": 1e-5} (0 for nearest), and
the output is deterministic (each case seeds its generator from its name).

Ops and params (axes are absolute, non-negative):

| op               | params                                   | reference |
|------------------|------------------------------------------|-----------|
| resize_bilinear  | size: int[], alignCorners: bool,          | F.interpolate(mode='linear'/'bilinear'/'trilinear' for |
|                  | axes: int[] (one per size entry)          | 1/2/3 axes, size=size, align_corners=alignCorners) on |
|                  |                                           | `axes`, other axes moved in front and flattened |
| upsample_nearest | factor: int[], axes: int[] (= 2..ndim-1)  | F.interpolate(scale_factor=factor, mode='nearest') |
| avg_pool         | window, stride, padding: int[] (symmetric | F.avg_pool{1,2,3}d(x, window, stride, padding, |
|                  | per axis), countIncludePad: bool          | ceil_mode=False, count_include_pad=countIncludePad) |
| max_pool         | window, stride, padding: int[]            | F.max_pool{1,2,3}d(x, window, stride, padding) |

Pooling acts on axes 2.. of (N, C, *spatial). align_corners=False samples
input coordinate (i + 0.5) * in/out - 0.5 clamped below at 0; True samples
i * (in - 1)/(out - 1) (0 when out = 1). count_include_pad=True divides every
window by its full size (padding counts as zeros); False by the number of
input elements the window covers.
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np
import scipy
import scipy.ndimage
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import CaseFile, d64, deterministic_torch, f32, rng_for  # noqa: E402

FIXTURE = CaseFile("scripts/golden/generate_nn_sampling.py", os.path.join("test", "fixtures", "nn-sampling-golden.json"),
                   ("torch", "numpy", "scipy"), max_bytes=200_000)
TOL = {"rtol": 1e-5, "atol": 1e-5}

deterministic_torch()


def add_case(name, op, x, params, expected, tolerance=TOL):
    FIXTURE.add(name, op, {"x": x}, params, expected, tolerance)


def check(name, got, want, rtol=1e-12, atol=1e-12):
    assert got.shape == want.shape, f"{name}: shape {got.shape} vs {want.shape}"
    assert np.allclose(got, want, rtol=rtol, atol=atol), f"{name}: max err {np.max(np.abs(got - want))}"


def check_f32(name, ref, got32, tol, margin=4.0):
    err = np.abs(got32.astype(np.float64) - ref)
    allowed = (tol["atol"] + tol["rtol"] * np.abs(ref)) / margin
    assert np.all(err <= allowed), f"{name}: float32 torch uses more than 1/{margin} of the tolerance (max err {err.max():.3g}, {np.max(err / allowed) / margin:.3g} of it)"


def draw(name, shape):
    return f32(rng_for(name).standard_normal(shape))


# ---------------------------------------------------------------------------
# bilinear (multilinear) resizing
# ---------------------------------------------------------------------------

def source_coords(n_in, n_out, align_corners):
    """The input coordinate each output index samples (PyTorch's area_pixel_compute_source_index)."""
    o = np.arange(n_out, dtype=np.float64)
    if align_corners:
        return o * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    return np.maximum((o + 0.5) * (n_in / n_out) - 0.5, 0.0)


def np_resize(x, size, axes, align_corners):
    """Linear interpolation on the trailing `axes` via scipy.ndimage.map_coordinates."""
    x = d64(x)
    lead = [a for a in range(x.ndim) if a not in axes]
    moved = np.moveaxis(x, axes, list(range(x.ndim - len(axes), x.ndim)))
    flat = moved.reshape((-1,) + tuple(x.shape[a] for a in axes))
    coords = [source_coords(x.shape[a], s, align_corners) for a, s in zip(axes, size)]
    grid = np.stack(np.meshgrid(*coords, indexing="ij"))
    out = np.stack([scipy.ndimage.map_coordinates(img, grid, order=1, mode="nearest") for img in flat])
    out = out.reshape(tuple(moved.shape[: len(lead)]) + tuple(size))
    return np.moveaxis(out, list(range(x.ndim - len(axes), x.ndim)), axes)


MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}


def torch_resize(x, size, axes, align_corners, dtype):
    """F.interpolate on the trailing len(size) axes; other layouts are permuted there first."""
    t = torch.tensor(x, dtype=dtype)
    nd = t.ndim
    rest = [a for a in range(nd) if a not in axes]
    t = t.permute(*rest, *axes)
    lead = t.shape[: len(rest)]
    t = t.reshape((-1, 1) + tuple(t.shape[len(rest):]))
    y = F.interpolate(t, size=tuple(size), mode=MODES[len(size)], align_corners=align_corners)
    y = y.reshape(tuple(lead) + tuple(size))
    inv = np.argsort(rest + list(axes))
    return y.permute(*inv).numpy()


def resize_case(name, shape, size, align_corners, axes=None):
    axes = list(range(len(shape) - len(size), len(shape))) if axes is None else axes
    x = draw(name, shape)
    ref = torch_resize(x, size, axes, align_corners, torch.float64)
    check(name, ref, np_resize(x, size, axes, align_corners))
    if len(shape) == len(size) + 2 and axes == list(range(2, len(shape))):  # the plain torch call on (N, C, *spatial)
        direct = F.interpolate(torch.tensor(d64(x)), size=tuple(size), mode=MODES[len(size)], align_corners=align_corners).numpy()
        check(name + " (direct)", ref, direct, rtol=1e-14, atol=1e-14)
    check_f32(name, ref, torch_resize(x, size, axes, align_corners, torch.float32), TOL)
    add_case(name, "resize_bilinear", x, {"size": list(size), "alignCorners": align_corners, "axes": axes}, ref)


def gen_resize():
    for ac in (False, True):
        tag = "ac" if ac else "half"
        resize_case(f"bilinear_up2_{tag}", (1, 2, 4, 5), (8, 10), ac)
        resize_case(f"bilinear_up_nonsquare_{tag}", (2, 1, 3, 5), (7, 6), ac)
        resize_case(f"bilinear_down_{tag}", (1, 2, 8, 6), (3, 4), ac)
        resize_case(f"bilinear_mixed_{tag}", (1, 1, 5, 7), (9, 4), ac)
        resize_case(f"bilinear_to_one_{tag}", (1, 1, 4, 3), (1, 2), ac)
        resize_case(f"linear_1d_{tag}", (2, 3, 5), (11,), ac)
        resize_case(f"trilinear_{tag}", (1, 1, 3, 4, 2), (5, 3, 4), ac)
        resize_case(f"video_spatial_only_{tag}", (1, 2, 3, 4, 5), (6, 3), ac)  # (N, C, T, H, W): frames kept
    resize_case("bilinear_axes_1_2_nhwc_half", (1, 4, 3, 2), (6, 5), False, axes=[1, 2])


# ---------------------------------------------------------------------------
# nearest upsampling
# ---------------------------------------------------------------------------

def nearest_case(name, shape, factor, axes):
    x = draw(name, shape)
    ref = d64(x)
    for a, f in zip(axes, factor):
        ref = np.repeat(ref, f, axis=a)
    assert axes == list(range(2, len(shape))), "torch cross-check covers the spatial axes of (N, C, *spatial)"
    t = F.interpolate(torch.tensor(d64(x)), scale_factor=tuple(float(f) for f in factor), mode="nearest").numpy()
    check(name, t, ref, rtol=0, atol=0)
    add_case(name, "upsample_nearest", x, {"factor": list(factor), "axes": axes}, ref, {"rtol": 0, "atol": 0})


def gen_nearest():
    nearest_case("nearest_2x", (1, 2, 3, 4), (2, 2), [2, 3])
    nearest_case("nearest_2x3", (2, 1, 2, 3), (2, 3), [2, 3])
    nearest_case("nearest_1d_4x", (1, 2, 3), (4,), [2])
    nearest_case("nearest_video_time_2x", (1, 2, 3, 2, 2), (2, 1, 1), [2, 3, 4])


# ---------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------

def np_pool(x, kind, window, stride, padding, count_include_pad):
    """Pooling over the trailing len(window) axes with symmetric zero padding `padding`."""
    x = d64(x)
    k = len(window)
    sp = x.shape[-k:]
    out_sp = [(n + 2 * p - w) // s + 1 for n, w, s, p in zip(sp, window, stride, padding)]
    out = np.empty(x.shape[:-k] + tuple(out_sp))
    for o in itertools.product(*[range(n) for n in out_sp]):
        lo = [oi * s - p for oi, s, p in zip(o, stride, padding)]
        hi = [l + w for l, w in zip(lo, window)]
        clo = [max(l, 0) for l in lo]
        chi = [min(h, n) for h, n in zip(hi, sp)]
        region = x[(Ellipsis,) + tuple(slice(a, b) for a, b in zip(clo, chi))]
        red_axes = tuple(range(-k, 0))
        if kind == "max":
            # padding is -inf and never wins; ceil_mode=False keeps every window overlapping the input
            out[(Ellipsis,) + o] = region.max(axis=red_axes)
        else:
            # count_include_pad=True: divide by the window clipped to the padded input, which for
            # ceil_mode=False is always the whole window; False: by the input elements covered.
            div = np.prod(window) if count_include_pad else np.prod([b - a for a, b in zip(clo, chi)])
            out[(Ellipsis,) + o] = region.sum(axis=red_axes) / div
    return out


def torch_pool(x, kind, window, stride, padding, count_include_pad, dtype):
    t = torch.tensor(x, dtype=dtype)
    k = len(window)
    if kind == "max":
        fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[k]
        return fn(t, window, stride, padding).numpy()
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[k]
    return fn(t, window, stride, padding, count_include_pad=count_include_pad).numpy()


def pool_case(name, kind, shape, window, stride, padding, count_include_pad=True):
    x = draw(name, shape)
    ref = torch_pool(d64(x), kind, window, stride, padding, count_include_pad, torch.float64)
    check(name, ref, np_pool(x, kind, window, stride, padding, count_include_pad))
    check_f32(name, ref, torch_pool(x, kind, window, stride, padding, count_include_pad, torch.float32), TOL)
    params = {"window": list(window), "stride": list(stride), "padding": list(padding)}
    if kind == "avg":
        params["countIncludePad"] = count_include_pad
    add_case(name, f"{kind}_pool", x, params, ref)


def gen_pool():
    pool_case("avg_2x2_s2", "avg", (1, 2, 4, 6), (2, 2), (2, 2), (0, 0))
    pool_case("avg_3x3_s2_pad1_include", "avg", (1, 2, 5, 6), (3, 3), (2, 2), (1, 1), True)
    pool_case("avg_3x3_s2_pad1_exclude", "avg", (1, 2, 5, 6), (3, 3), (2, 2), (1, 1), False)
    pool_case("avg_3x3_s1_pad1_exclude", "avg", (2, 1, 4, 4), (3, 3), (1, 1), (1, 1), False)
    pool_case("avg_2x3_s1x2_pad1_include", "avg", (1, 1, 5, 7), (2, 3), (1, 2), (1, 1), True)
    pool_case("avg_2x3_s1x2_pad1_exclude", "avg", (1, 1, 5, 7), (2, 3), (1, 2), (1, 1), False)
    pool_case("avg_1d_k4_s3_pad2_exclude", "avg", (2, 2, 9), (4,), (3,), (2,), False)
    pool_case("avg_3d_2x2x2", "avg", (1, 2, 4, 4, 4), (2, 2, 2), (2, 2, 2), (0, 0, 0))
    pool_case("avg_3d_1x2x2_video", "avg", (1, 2, 3, 4, 6), (1, 2, 2), (1, 2, 2), (0, 0, 0))
    pool_case("max_2x2_s2", "max", (1, 2, 4, 6), (2, 2), (2, 2), (0, 0))
    pool_case("max_3x3_s2_pad1", "max", (1, 2, 5, 6), (3, 3), (2, 2), (1, 1))
    pool_case("max_3d_1x3x3_s1_pad_0_1_1", "max", (1, 1, 2, 4, 5), (1, 3, 3), (1, 1, 1), (0, 1, 1))


def main():
    FIXTURE.main(gen_resize, gen_nearest, gen_pool)


if __name__ == "__main__":
    main()
