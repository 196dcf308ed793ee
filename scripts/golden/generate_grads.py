#!/usr/bin/env python3
"""Generate golden GRADIENT fixtures for vidax transformations (grad, vjp, jvp).

Reference values come from PyTorch autograd in float64, checked before anything
is written against independent float64 NumPy/SciPy implementations of the same
formulas by finite differences. Run from the repository root:

    /usr/bin/python3 scripts/golden/generate_grads.py            # test/fixtures/grad-golden.json
    /usr/bin/python3 scripts/golden/generate_grads.py /tmp/x.json

The schema and number conventions are those of core-golden.json (see
scripts/golden/README.md); every case here has an object of named expected
tensors. The exact formula of each op is in the README section "Gradient
fixtures". Inputs are float32 (int32 labels), expected values are computed in
float64 from the float32 inputs and rounded once to float32.

Each case also runs the same torch computation in float32 and asserts that its
error against the float64 reference is at most a quarter of the case tolerance,
so every stated tolerance is one a float32 implementation meets with margin.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import scipy
import scipy.special
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import CaseFile, d64, deterministic_torch, f32, i32, rng_for  # noqa: E402
from generate_core import np_conv_general  # noqa: E402

FIXTURE = CaseFile("scripts/golden/generate_grads.py", os.path.join("test", "fixtures", "grad-golden.json"),
                   ("torch", "numpy", "scipy"), max_bytes=500_000)
add_case = FIXTURE.add

deterministic_torch()


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def tt(a, dtype=torch.float64, grad=False):
    """A numpy array as a torch tensor (float inputs in `dtype`, ints as int64)."""
    a = np.asarray(a)
    t = torch.from_numpy(a.astype(np.int64)) if a.dtype.kind in "iu" else torch.from_numpy(d64(a)).to(dtype)
    return t.requires_grad_(grad)


def run_both(fn, inputs):
    """`fn(inputs_as_torch, dtype) -> {name: tensor}` in float64 and float32 (numpy results)."""
    out = {}
    for dt in (torch.float64, torch.float32):
        r = fn(inputs, dt)
        out[dt] = {k: v.detach().to(torch.float64).numpy() for k, v in r.items()}
    return out[torch.float64], out[torch.float32]


def check_f32(name, ref, got32, tol, margin=4.0):
    """The float32 torch run meets `tol / margin` against the float64 reference."""
    rtol, atol = tol["rtol"] / margin, tol["atol"] / margin
    for k, r in ref.items():
        err = np.abs(got32[k] - r) - (atol + rtol * np.abs(r))
        assert np.all(err <= 0), (name, k, float(np.max(err)), float(np.max(np.abs(got32[k] - r))))


def fd_directional(loss_np, inputs, grads, wrt, name, h=1e-5, rtol=1e-7):
    """<grad, t> for a random direction t over the `wrt` inputs against the central
    difference (L(x + h t) - L(x - h t)) / 2h of an independent float64 NumPy `loss_np`."""
    rng = np.random.default_rng(12345)
    ts = {k: rng.standard_normal(np.shape(inputs[k])) for k in wrt}
    def shifted(s):
        return loss_np({k: (d64(v) + s * h * ts[k] if k in ts else v) for k, v in inputs.items()})
    fd = (shifted(1.0) - shifted(-1.0)) / (2 * h)
    ip = sum(float(np.sum(grads[k] * ts[k])) for k in wrt)
    scale = sum(float(np.sum(np.abs(grads[k] * ts[k]))) for k in wrt)
    assert abs(fd - ip) <= rtol * scale + 1e-9, (name, fd, ip)


def torch_conv(x, w, strides, padding, rhs_dilation, groups):
    """lax.conv_general_dilated (NC…/OI…/NC…, lhs dilation 1) with torch; asymmetric pads via F.pad."""
    pads = []
    for lo, hi in reversed(padding):
        pads += [lo, hi]
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[x.dim() - 2]
    return fn(F.pad(x, pads), w, stride=list(strides), dilation=list(rhs_dilation), groups=groups)


def np_logsumexp(x, axis):
    return scipy.special.logsumexp(x, axis=axis, keepdims=True)


# ---------------------------------------------------------------------------
# conv: L = sum(conv(lhs, rhs) * ct)
# ---------------------------------------------------------------------------

CONV_TOL = {"rtol": 1e-5, "atol": 1e-5}


def conv_grad_case(name, lhs_shape, rhs_shape, strides, padding, rhs_dilation, groups):
    rng = rng_for(name)
    lhs = f32(rng.standard_normal(lhs_shape))
    rhs = f32(rng.standard_normal(rhs_shape) * 0.5)
    y_np = np_conv_general(lhs, rhs, strides, padding, [1] * len(strides), rhs_dilation, groups)
    ct = f32(rng.standard_normal(y_np.shape))

    def fn(inp, dt):
        x, w, c = tt(inp["lhs"], dt, True), tt(inp["rhs"], dt, True), tt(inp["ct"], dt)
        y = torch_conv(x, w, strides, padding, rhs_dilation, groups)
        gx, gw = torch.autograd.grad((y * c).sum(), (x, w))
        return {"out": y, "lhs_grad": gx, "rhs_grad": gw}

    inputs = {"lhs": lhs, "rhs": rhs, "ct": ct}
    ref, r32 = run_both(fn, inputs)
    np.testing.assert_allclose(ref["out"], y_np, rtol=1e-12, atol=1e-12)
    # L is bilinear, so its difference along each operand is exactly linear.
    def loss(inp):
        return float(np.sum(np_conv_general(inp["lhs"], inp["rhs"], strides, padding, [1] * len(strides),
                                            rhs_dilation, groups) * d64(inp["ct"])))
    fd_directional(loss, inputs, {"lhs": ref["lhs_grad"], "rhs": ref["rhs_grad"]}, ["lhs", "rhs"], name, h=1.0, rtol=1e-10)
    check_f32(name, ref, r32, CONV_TOL)
    params = {
        "windowStrides": list(strides),
        "padding": [list(p) for p in padding],
        "lhsDilation": [1] * len(strides),
        "rhsDilation": list(rhs_dilation),
        "featureGroupCount": groups,
    }
    add_case(name, "conv_grad", inputs, params, ref, CONV_TOL)


def gen_conv():
    conv_grad_case("conv2d_grad_stride2_pad1", (2, 3, 7, 7), (4, 3, 3, 3), [2, 2], [[1, 1], [1, 1]], [1, 1], 1)
    conv_grad_case("conv2d_grad_mixed_stride_dilation_asympad", (1, 2, 8, 7), (3, 2, 3, 2), [1, 2],
                   [[2, 1], [0, 1]], [2, 1], 1)
    conv_grad_case("conv2d_grad_groups2_stride2_dil2", (2, 4, 9, 9), (6, 2, 3, 3), [2, 2], [[2, 2], [1, 2]], [2, 2], 2)
    conv_grad_case("conv2d_grad_depthwise_mult2", (1, 3, 6, 6), (6, 1, 3, 3), [2, 1], [[1, 1], [1, 1]], [1, 1], 3)
    # stride > kernel: rows/cols 2 and 5 are never read, so their input gradient is exactly 0
    conv_grad_case("conv2d_grad_stride3_gaps", (1, 2, 8, 8), (2, 2, 2, 2), [3, 3], [[0, 0], [0, 0]], [1, 1], 1)
    conv_grad_case("conv3d_grad_stride_pad_dil_groups2", (1, 4, 5, 6, 5), (4, 2, 3, 3, 2), [2, 1, 2],
                   [[1, 1], [0, 1], [1, 0]], [1, 2, 1], 2)
    conv_grad_case("conv3d_grad_dil2_asympad", (2, 2, 4, 4, 4), (3, 2, 2, 2, 2), [1, 1, 1],
                   [[1, 0], [0, 1], [1, 1]], [2, 1, 1], 1)


# ---------------------------------------------------------------------------
# matmul: L = sum(matmul(a, b) * ct)
# ---------------------------------------------------------------------------

MATMUL_TOL = {"rtol": 1e-5, "atol": 1e-5}


def gen_matmul():
    specs = [
        ("matmul_grad_batch_broadcast_4d_3d", (2, 1, 3, 4), (5, 4, 2)),
        ("matmul_grad_broadcast_both", (3, 1, 2, 4), (1, 5, 4, 3)),
        ("matmul_grad_3d_2d", (3, 2, 4), (4, 5)),
        ("matmul_grad_vec_3d", (4,), (2, 4, 3)),
        ("matmul_grad_2d_vec", (3, 4), (4,)),
    ]
    for name, sa, sb in specs:
        rng = rng_for(name)
        a = f32(rng.standard_normal(sa))
        b = f32(rng.standard_normal(sb))
        ct = f32(rng.standard_normal(np.matmul(d64(a), d64(b)).shape))

        def fn(inp, dt):
            ta, tb, c = tt(inp["a"], dt, True), tt(inp["b"], dt, True), tt(inp["ct"], dt)
            y = torch.matmul(ta, tb)
            ga, gb = torch.autograd.grad((y * c).sum(), (ta, tb))
            return {"out": y, "a_grad": ga, "b_grad": gb}

        inputs = {"a": a, "b": b, "ct": ct}
        ref, r32 = run_both(fn, inputs)
        np.testing.assert_allclose(ref["out"], np.matmul(d64(a), d64(b)), rtol=1e-12, atol=1e-12)
        fd_directional(lambda inp: float(np.sum(np.matmul(d64(inp["a"]), d64(inp["b"])) * d64(inp["ct"]))),
                       inputs, {"a": ref["a_grad"], "b": ref["b_grad"]}, ["a", "b"], name, h=1.0, rtol=1e-10)
        check_f32(name, ref, r32, MATMUL_TOL)
        add_case(name, "matmul_grad", inputs, {}, ref, MATMUL_TOL)


# ---------------------------------------------------------------------------
# softmax cross-entropy: loss = reduce_n(logsumexp(logits[n]) - logits[n, labels[n]])
# ---------------------------------------------------------------------------

XENT_TOL = {"rtol": 1e-5, "atol": 1e-6}


def xent_case(name, n, c, scale, offset, reduction):
    rng = rng_for(name)
    logits = f32(rng.standard_normal((n, c)) * scale + offset)
    labels = i32(rng.integers(0, c, n))

    def fn(inp, dt):
        z = tt(inp["logits"], dt, True)
        loss = F.cross_entropy(z, tt(inp["labels"]), reduction=reduction)
        (g,) = torch.autograd.grad(loss, (z,))
        return {"loss": loss, "logits_grad": g}

    def loss_np(inp):
        z = d64(inp["logits"])
        per = np_logsumexp(z, 1)[:, 0] - z[np.arange(n), inp["labels"]]
        return float(np.mean(per) if reduction == "mean" else np.sum(per))

    inputs = {"logits": logits, "labels": labels}
    ref, r32 = run_both(fn, inputs)
    np.testing.assert_allclose(float(ref["loss"]), loss_np(inputs), rtol=1e-13)
    # closed form: (softmax - onehot) / N (or without / N for "sum")
    z = d64(logits)
    sm = np.exp(z - np_logsumexp(z, 1))
    g = sm - np.eye(c)[labels]
    np.testing.assert_allclose(ref["logits_grad"], g / n if reduction == "mean" else g, rtol=1e-12, atol=1e-15)
    fd_directional(loss_np, inputs, {"logits": ref["logits_grad"]}, ["logits"], name)
    check_f32(name, ref, r32, XENT_TOL)
    add_case(name, "softmax_cross_entropy", inputs, {"reduction": reduction}, ref, XENT_TOL)


def gen_xent():
    xent_case("xent_mean_8x5", 8, 5, 2.0, 0.0, "mean")
    xent_case("xent_sum_4x10", 4, 10, 1.0, 0.0, "sum")
    # exp(logits) overflows float32: needs the max shift; the gradient is close to one-hot
    xent_case("xent_mean_large_logits_6x7", 6, 7, 20.0, 100.0, "mean")


# ---------------------------------------------------------------------------
# group norm: out = (x - mean_g) / sqrt(var_g + eps) * scale[c] + shift[c];  L = sum(out * ct)
# ---------------------------------------------------------------------------

GN_TOL = {"rtol": 1e-4, "atol": 1e-5}


def np_group_norm(x, scale, shift, groups, eps):
    n, c = x.shape[:2]
    xg = d64(x).reshape(n, groups, -1)
    mu = xg.mean(axis=2, keepdims=True)
    var = ((xg - mu) ** 2).mean(axis=2, keepdims=True)
    y = ((xg - mu) / np.sqrt(var + eps)).reshape(x.shape)
    bshape = (1, c) + (1,) * (x.ndim - 2)
    return y * d64(scale).reshape(bshape) + d64(shift).reshape(bshape)


def group_norm_case(name, shape, groups, eps, loc=0.0, spread=1.0):
    rng = rng_for(name)
    x = f32(rng.standard_normal(shape) * spread + loc)
    scale = f32(1.0 + 0.5 * rng.standard_normal(shape[1]))
    shift = f32(rng.standard_normal(shape[1]))
    ct = f32(rng.standard_normal(shape))

    def fn(inp, dt):
        tx, ts, tb = tt(inp["x"], dt, True), tt(inp["scale"], dt, True), tt(inp["shift"], dt, True)
        y = F.group_norm(tx, groups, ts, tb, eps)
        gx, gs, gb = torch.autograd.grad((y * tt(inp["ct"], dt)).sum(), (tx, ts, tb))
        return {"out": y, "x_grad": gx, "scale_grad": gs, "shift_grad": gb}

    inputs = {"x": x, "scale": scale, "shift": shift, "ct": ct}
    ref, r32 = run_both(fn, inputs)
    np.testing.assert_allclose(ref["out"], np_group_norm(x, scale, shift, groups, eps), rtol=1e-11, atol=1e-12)
    fd_directional(lambda inp: float(np.sum(np_group_norm(inp["x"], inp["scale"], inp["shift"], groups, eps) * d64(inp["ct"]))),
                   inputs, {"x": ref["x_grad"], "scale": ref["scale_grad"], "shift": ref["shift_grad"]},
                   ["x", "scale", "shift"], name)
    check_f32(name, ref, r32, GN_TOL)
    add_case(name, "group_norm", inputs, {"groups": groups, "eps": eps}, ref, GN_TOL)


def gen_group_norm():
    group_norm_case("group_norm_2x6x4x4_g3", (2, 6, 4, 4), 3, 1e-5)
    # one group (layer norm over C, H, W), offset data: the variance must be taken after centring
    group_norm_case("group_norm_1x4x3x5_g1_offset", (1, 4, 3, 5), 1, 1e-3, loc=5.0, spread=3.0)
    # one channel per group (instance norm)
    group_norm_case("group_norm_2x4x2x3_g4", (2, 4, 2, 3), 4, 1e-5)


# ---------------------------------------------------------------------------
# attention: out = softmax(q k^T * scale + mask) v;  L = sum(out * ct)
# ---------------------------------------------------------------------------

ATTN_TOL = {"rtol": 1e-4, "atol": 1e-5}


def np_attention(q, k, v, mask, scale):
    s = np.einsum("bhqd,bhkd->bhqk", d64(q), d64(k)) * scale
    if mask is not None:
        s = s + d64(mask)
    p = np.exp(s - np_logsumexp(s, -1))
    return np.einsum("bhqk,bhkd->bhqd", p, d64(v))


def attention_case(name, b, h, tq, tk, d, dv, mask_kind):
    rng = rng_for(name)
    q = f32(rng.standard_normal((b, h, tq, d)))
    k = f32(rng.standard_normal((b, h, tk, d)))
    v = f32(rng.standard_normal((b, h, tk, dv)))
    ct = f32(rng.standard_normal((b, h, tq, dv)))
    scale = 1.0 / float(np.sqrt(d))
    inputs = {"q": q, "k": k, "v": v}
    if mask_kind == "causal":
        assert tq == tk
        inputs["mask"] = f32(np.where(np.tril(np.ones((tq, tk))) > 0, 0.0, -np.inf))
    elif mask_kind == "bias":
        inputs["mask"] = f32(rng.standard_normal((b, 1, tq, tk)))
    inputs["ct"] = ct

    def fn(inp, dt):
        tq_, tk_, tv_ = tt(inp["q"], dt, True), tt(inp["k"], dt, True), tt(inp["v"], dt, True)
        s = torch.einsum("bhqd,bhkd->bhqk", tq_, tk_) * scale
        if "mask" in inp:
            s = s + tt(inp["mask"], dt)
        y = torch.einsum("bhqk,bhkd->bhqd", torch.softmax(s, dim=-1), tv_)
        gq, gk, gv = torch.autograd.grad((y * tt(inp["ct"], dt)).sum(), (tq_, tk_, tv_))
        return {"out": y, "q_grad": gq, "k_grad": gk, "v_grad": gv}

    ref, r32 = run_both(fn, inputs)
    mask = inputs.get("mask")
    np.testing.assert_allclose(ref["out"], np_attention(q, k, v, mask, scale), rtol=1e-12, atol=1e-12)
    fd_directional(lambda inp: float(np.sum(np_attention(inp["q"], inp["k"], inp["v"], inp.get("mask"), scale) * d64(inp["ct"]))),
                   inputs, {"q": ref["q_grad"], "k": ref["k_grad"], "v": ref["v_grad"]}, ["q", "k", "v"], name)
    check_f32(name, ref, r32, ATTN_TOL)
    add_case(name, "attention", inputs, {"scale": scale}, ref, ATTN_TOL)


def gen_attention():
    attention_case("attention_b2h2_t4_d3_nomask", 2, 2, 4, 4, 3, 3, None)
    attention_case("attention_causal_neg_inf_mask", 1, 2, 5, 5, 4, 4, "causal")
    attention_case("attention_cross_bias_mask_dv5", 2, 1, 3, 6, 4, 5, "bias")


# ---------------------------------------------------------------------------
# second derivatives
# ---------------------------------------------------------------------------

HVP_TOL = {"rtol": 1e-4, "atol": 1e-5}


def hvp_case(name, op, primals, consts, f_torch, f_np, params=None):
    """value, gradients and Hessian-vector products of the scalar `f(*primals, **consts)` for a random
    direction (inputs `v_<name>`), via torch.autograd.functional.hvp."""
    rng = rng_for(name + "/direction")
    dirs = {k: f32(rng.standard_normal(np.shape(p))) for k, p in primals.items()}
    names = list(primals)

    def fn(inp, dt):
        ps = tuple(tt(inp[k], dt, True) for k in names)
        cs = {k: tt(inp[k], dt) for k in consts}
        vs = tuple(tt(inp["v_" + k], dt) for k in names)
        f = lambda *a: f_torch(*a, **cs)
        val = f(*ps)
        gs = torch.autograd.grad(val, ps)
        _, hv = torch.autograd.functional.hvp(f, ps, vs)
        out = {"value": val}
        out.update({"grad_" + k: g for k, g in zip(names, gs)})
        out.update({"hvp_" + k: h for k, h in zip(names, hv)})
        return out

    inputs = {**primals, **consts, **{"v_" + k: d for k, d in dirs.items()}}
    ref, r32 = run_both(fn, inputs)
    loss_np = lambda inp: float(f_np(*[d64(inp[k]) for k in names], **{k: inp[k] for k in consts}))
    np.testing.assert_allclose(float(ref["value"]), loss_np(inputs), rtol=1e-13)
    fd_directional(loss_np, inputs, {k: ref["grad_" + k] for k in names}, names, name)
    # H v against the central difference of the float64 torch gradient along v
    hstep = 1e-5
    def grads_at(s):
        ps = tuple(torch.from_numpy(d64(primals[k]) + s * hstep * d64(dirs[k])).requires_grad_(True) for k in names)
        cs = {k: tt(v) for k, v in consts.items()}
        return [g.numpy() for g in torch.autograd.grad(f_torch(*ps, **cs), ps)]
    gp, gm = grads_at(1.0), grads_at(-1.0)
    for k, a, b_ in zip(names, gp, gm):
        np.testing.assert_allclose((a - b_) / (2 * hstep), ref["hvp_" + k], rtol=1e-6, atol=1e-8, err_msg=f"{name} hvp_{k}")
    # <v, H v> against the second difference of the NumPy function
    vhv = sum(float(np.sum(d64(dirs[k]) * ref["hvp_" + k])) for k in names)
    h2 = 1e-4
    def at(s):
        return loss_np({**inputs, **{k: d64(primals[k]) + s * h2 * d64(dirs[k]) for k in names}})
    sd = (at(1.0) - 2 * at(0.0) + at(-1.0)) / h2 ** 2
    assert abs(sd - vhv) <= 1e-5 * (1 + abs(vhv)), (name, sd, vhv)
    check_f32(name, ref, r32, HVP_TOL)
    add_case(name, op, inputs, params or {}, ref, HVP_TOL)


def tanh_sq_torch(W, x):
    return (torch.tanh(W @ x) ** 2).sum()


def tanh_sq_np(W, x):
    return np.sum(np.tanh(W @ x) ** 2)


def mlp_xent_torch(W1, b1, W2, b2, X, labels):
    z = torch.tanh(X @ W1.T + b1) @ W2.T + b2
    return F.cross_entropy(z, labels, reduction="mean")


def mlp_xent_np(W1, b1, W2, b2, X, labels):
    z = np.tanh(d64(X) @ W1.T + b1) @ W2.T + b2
    return np.mean(np_logsumexp(z, 1)[:, 0] - z[np.arange(z.shape[0]), labels])


def gen_hvp():
    name = "hvp_tanh_sq_matmul"
    rng = rng_for(name)
    hvp_case(name, "hvp_tanh_sq", {"W": f32(rng.standard_normal((4, 5)) * 0.5), "x": f32(rng.standard_normal((5, 3)))},
             {}, tanh_sq_torch, tanh_sq_np)
    name = "hvp_mlp_xent"
    rng = rng_for(name)
    primals = {
        "W1": f32(rng.standard_normal((5, 4)) * 0.5),
        "b1": f32(rng.standard_normal(5) * 0.1),
        "W2": f32(rng.standard_normal((3, 5)) * 0.5),
        "b2": f32(rng.standard_normal(3) * 0.1),
    }
    consts = {"X": f32(rng.standard_normal((6, 4))), "labels": i32(rng.integers(0, 3, 6))}
    hvp_case(name, "hvp_mlp_xent", primals, consts, mlp_xent_torch, mlp_xent_np)


HESS_TOL = {"rtol": 1e-4, "atol": 1e-5}


def hessian_case(name, op, primals, consts, f_torch, f_np):
    """value, gradient and full Hessian of the scalar `f` over the flattened, concatenated primals."""
    names = list(primals)

    def fn(inp, dt):
        ps = tuple(tt(inp[k], dt, True) for k in names)
        cs = {k: tt(inp[k], dt) for k in consts}
        f = lambda *a: f_torch(*a, **cs)
        val = f(*ps)
        gs = torch.autograd.grad(val, ps)
        hs = torch.autograd.functional.hessian(f, ps)
        sizes = [p.numel() for p in ps]
        rows = [torch.cat([hs[i][j].reshape(sizes[i], sizes[j]) for j in range(len(ps))], 1) for i in range(len(ps))]
        return {"value": val, "grad": torch.cat([g.reshape(-1) for g in gs]), "hessian": torch.cat(rows, 0)}

    inputs = {**primals, **consts}
    ref, r32 = run_both(fn, inputs)
    hess = ref["hessian"]
    np.testing.assert_allclose(hess, hess.T, rtol=1e-12, atol=1e-12)
    loss_np = lambda inp: float(f_np(*[d64(inp[k]) for k in names], **{k: d64(inp[k]) for k in consts}))
    np.testing.assert_allclose(float(ref["value"]), loss_np(inputs), rtol=1e-13)
    # gradient and Hessian against finite differences of the NumPy function
    x0 = np.concatenate([d64(primals[k]).reshape(-1) for k in names])
    shapes = [np.shape(primals[k]) for k in names]
    def flat_f(x):
        parts, o = {}, 0
        for k, s in zip(names, shapes):
            nk = int(np.prod(s))
            parts[k] = x[o:o + nk].reshape(s)
            o += nk
        return loss_np({**inputs, **parts})
    n = x0.size
    h = 1e-4
    e = np.eye(n) * h
    g_fd = np.array([(flat_f(x0 + e[i]) - flat_f(x0 - e[i])) / (2 * h) for i in range(n)])
    np.testing.assert_allclose(g_fd, ref["grad"], rtol=1e-7, atol=1e-8)
    h_fd = np.array([[(flat_f(x0 + e[i] + e[j]) - flat_f(x0 + e[i] - e[j]) - flat_f(x0 - e[i] + e[j])
                       + flat_f(x0 - e[i] - e[j])) / (4 * h * h) for j in range(n)] for i in range(n)])
    np.testing.assert_allclose(h_fd, hess, rtol=1e-5, atol=1e-6)
    check_f32(name, ref, r32, HESS_TOL)
    add_case(name, op, inputs, {}, ref, HESS_TOL)


def lse_tanh_torch(x, A):
    return torch.logsumexp(A @ x, 0) + (x * x * torch.tanh(x)).sum()


def lse_tanh_np(x, A):
    return scipy.special.logsumexp(A @ x) + np.sum(x * x * np.tanh(x))


def scalars3_torch(a, b, c):
    return a * b * c + torch.sin(a * b) + b * b * torch.exp(0.5 * c)


def scalars3_np(a, b, c):
    return a * b * c + np.sin(a * b) + b * b * np.exp(0.5 * c)


def gen_hessian():
    name = "hessian_lse_tanh_4"
    rng = rng_for(name)
    hessian_case(name, "hessian_lse_tanh", {"x": f32(rng.standard_normal(4))}, {"A": f32(rng.standard_normal((3, 4)))},
                 lse_tanh_torch, lse_tanh_np)
    name = "hessian_scalars_3"
    rng = rng_for(name)
    a, b, c = f32(rng.standard_normal(3))
    hessian_case(name, "hessian_scalars", {"a": np.asarray(a), "b": np.asarray(b), "c": np.asarray(c)}, {},
                 scalars3_torch, scalars3_np)


def main():
    FIXTURE.main(gen_conv, gen_matmul, gen_xent, gen_group_norm, gen_attention, gen_hvp, gen_hessian)


if __name__ == "__main__":
    main()
