#!/usr/bin/env python3
"""Generate golden fixtures for the vidax nn layers (src/nn): forward values and
gradients of activations, norms, multi-head attention (with masks and a T5
relative position bias), embeddings and the diffusion residual block.

Reference values come from PyTorch (torch.nn / torch.nn.functional, or the
explicit formula where torch has no such layer) run in float64; before anything
is written, each case is checked against an independent float64 NumPy/SciPy
implementation: forward values to 1e-11 and gradients by a central difference
along a random direction. Run from the repository root:

    /usr/bin/python3 scripts/golden/generate_nn_layers.py     # test/fixtures/nn-layers-golden.json
    /usr/bin/python3 scripts/golden/generate_nn_layers.py /tmp/x.json

The file layout, number encoding and tolerance semantics are those of
grad-golden.json (scripts/golden/README.md): named input tensors, an object of
named expected tensors, `tolerance` = |actual - expected| <= atol + rtol*|expected|,
which the torch float32 run meets with a factor-4 margin. The output is
deterministic (each case seeds its generator from its name) and stays under
400 KB. test/golden_nn_layers.test.ts checks it.

Conventions
-----------
* First-order cases differentiate L = sum(out * ct): `<name>_grad` is dL/d<name>
  for each differentiated input. `ct` itself, `mask` and `projection` are
  constants. Boolean masks are stored as int32 0/1 (1 = may attend).
* Parameters are stored in vidax's layout, named `<layer>_<leaf>`:

  | op | inputs (differentiated) | params | vidax layer / reference |
  |---|---|---|---|
  | gelu, gelu_tanh, silu, softplus | x | {} | `gelu(x)` / `gelu(x, {approximate: true})` / `silu` / `softplus` vs `F.gelu(approximate='none'/'tanh')`, `F.silu`, `F.softplus` |
  | softmax, log_softmax | x | axis | `softmax(x, axis)`, `logSoftmax(x, axis)` vs torch; logits around +-1000 |
  | layer_norm | x, scale, bias | eps | `layerNorm` params {scale, bias} vs `F.layer_norm` |
  | group_norm | x (N, C, *sp), scale, bias | groups, eps | `groupNorm` params {scale, bias} vs `torch.nn.GroupNorm` weight/bias |
  | rms_norm | x, scale | eps | `rmsNorm` params {scale} vs T5LayerNorm's formula x * rsqrt(mean(x^2) + eps) * w |
  | multi_head_attention | x (B, Tq, E), [context (B, Tk, kdim)], query_w, query_b, key_w, key_b, value_w, value_b, out_w, out_b, [rel_embedding]; constant mask (B, 1, Tq, Tk) | heads, [relativePositionBias: {numBuckets, maxDistance, bidirectional}] | `multiHeadAttention` vs `torch.nn.MultiheadAttention(E, heads, kdim=kdim, vdim=kdim, batch_first=True)` |
  | sinusoidal_embedding, guidance_embedding | (none) t | dim, maxPeriod, flipSinToCos, downscaleFreqShift, scale | `sinusoidalEmbedding` / `guidanceEmbedding` vs DDPM's get_timestep_embedding (diffusers' parameterisation) |
  | fourier_features | x; constant projection | features | `fourierFeatures` params {projection} vs [sin(2 pi x B), cos(2 pi x B)] |
  | res_block | x (N, Cin, *sp), emb (N, E), norm1_scale/bias, conv1_w/b, emb_w/b, norm2_scale/bias, conv2_w/b, skip_w/b | groups, eps, dims | `resBlock` params {norm1: {scale, bias}, conv1: {w, b}, emb: {w, b}, norm2, conv2, skip} vs the block written with F.group_norm, F.silu, F.conv{2,3}d (padding 1), F.linear |

* Mapping of torch.nn.MultiheadAttention to vidax's {query, key, value, out}
  tree (each a `linear` with w of shape (in, out)): query.w = W_q^T,
  key.w = W_k^T, value.w = W_v^T where W_q, W_k, W_v are the three (E, E) row
  blocks of `in_proj_weight` (or `q/k/v_proj_weight` when kdim != E); the
  biases are the three thirds of `in_proj_bias`; out.w = out_proj.weight^T,
  out.b = out_proj.bias. torch masks are the complement of vidax's: vidax
  mask = NOT attn_mask AND NOT key_padding_mask. In the relative-bias case the
  (heads, Tq, Tk) bias embedding[bucket(j - i), h] is passed to torch as a
  float `attn_mask` repeated over the batch; the expected `buckets` (Tq, Tk)
  are HF transformers' T5 `_relative_position_bucket` (torch, float32 logs),
  cross-checked with a float64 scalar version.
* res_block: emb_w is (E, 2 Cout) as vidax's linear; torch uses emb_w^T. The
  FiLM scale is the first Cout outputs, the shift the rest; out =
  skip(x) + conv2(SiLU(GN2(conv1(SiLU(GN1(x)))) * (1 + scale) + shift)).
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import scipy
import scipy.special
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import CaseFile, d64, deterministic_torch, f32, i32, rng_for, tensor  # noqa: E402
from generate_core import np_conv_general  # noqa: E402
from generate_grads import check_f32, fd_directional, run_both, tt  # noqa: E402

FIXTURE = CaseFile("scripts/golden/generate_nn_layers.py", os.path.join("test", "fixtures", "nn-layers-golden.json"),
                   ("torch", "numpy", "scipy"), max_bytes=400_000)
add_case = FIXTURE.add

deterministic_torch()


def grads_of(out, ct, wrt: dict):
    """{name_grad: dL/dname} for L = sum(out * ct)."""
    names = list(wrt)
    gs = torch.autograd.grad((out * ct).sum(), [wrt[n] for n in names])
    return {f"{n}_grad": g for n, g in zip(names, gs)}


def finish(name, op, inputs, params, fn, np_forward, wrt, tol, fd_h=1e-5, fd_rtol=1e-7):
    """Run `fn` in float64 and float32, check against the NumPy forward and by finite
    differences, check the float32 margin, then add the case."""
    ref, r32 = run_both(fn, inputs)
    np.testing.assert_allclose(ref["out"], np_forward(inputs), rtol=1e-11, atol=1e-12)
    fd_directional(lambda inp: float(np.sum(np_forward(inp) * d64(inp["ct"]))), inputs,
                   {k: ref[f"{k}_grad"] for k in wrt}, wrt, name, h=fd_h, rtol=fd_rtol)
    check_f32(name, ref, r32, tol)
    add_case(name, op, inputs, params, ref, tol)


# ---------------------------------------------------------------------------
# activations: out = f(x)
# ---------------------------------------------------------------------------

ACT_TOL = {"rtol": 1e-5, "atol": 1e-6}

GELU_C = math.sqrt(2.0 / math.pi)

NP_ACT = {
    "gelu": lambda x: 0.5 * x * (1.0 + scipy.special.erf(x / math.sqrt(2.0))),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + np.tanh(GELU_C * (x + 0.044715 * x ** 3))),
    "silu": lambda x: x * scipy.special.expit(x),
    "softplus": lambda x: np.logaddexp(0.0, x),
}

TORCH_ACT = {
    "gelu": lambda x: F.gelu(x, approximate="none"),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    # threshold above the float range of the test inputs, so torch uses log1p(exp(x)) throughout
    "softplus": lambda x: F.softplus(x, beta=1.0, threshold=1e9),
}


def activation_case(kind):
    name = f"act_{kind}"
    rng = rng_for(name)
    x = np.concatenate([rng.uniform(-6.0, 6.0, 40), rng.standard_normal(16) * 0.3, [-30.0, -12.0, -1.0, 0.0, 1.0, 12.0, 30.0, 1e-4]])
    x = f32(x.reshape(8, 8))
    ct = f32(rng.standard_normal(x.shape))

    def fn(inp, dt):
        tx = tt(inp["x"], dt, True)
        y = TORCH_ACT[kind](tx)
        return {"out": y, **grads_of(y, tt(inp["ct"], dt), {"x": tx})}

    finish(name, kind, {"x": x, "ct": ct}, {}, fn, lambda inp: NP_ACT[kind](d64(inp["x"])), ["x"], ACT_TOL)


def np_log_softmax(z, axis):
    return z - scipy.special.logsumexp(z, axis=axis, keepdims=True)


def softmax_case(name, kind, shape, axis, scale, offset):
    rng = rng_for(name)
    x = f32(rng.standard_normal(shape) * scale + offset)
    ct = f32(rng.standard_normal(shape))

    def fn(inp, dt):
        tx = tt(inp["x"], dt, True)
        y = torch.softmax(tx, dim=axis) if kind == "softmax" else torch.log_softmax(tx, dim=axis)
        return {"out": y, **grads_of(y, tt(inp["ct"], dt), {"x": tx})}

    def np_fwd(inp):
        ls = np_log_softmax(d64(inp["x"]), axis)
        return np.exp(ls) if kind == "softmax" else ls

    finish(name, kind, {"x": x, "ct": ct}, {"axis": axis}, fn, np_fwd, ["x"], ACT_TOL)


def gen_activations():
    for kind in ("gelu", "gelu_tanh", "silu", "softplus"):
        activation_case(kind)
    # logits around 1000 ± 30: exp overflows float32 unless the maximum is subtracted
    softmax_case("softmax_large_logits_axis1", "softmax", (3, 7, 2), 1, 30.0, 1000.0)
    softmax_case("log_softmax_large_logits", "log_softmax", (4, 6), -1, 30.0, -1000.0)


# ---------------------------------------------------------------------------
# norms
# ---------------------------------------------------------------------------

NORM_TOL = {"rtol": 1e-4, "atol": 1e-5}


def np_standardize(x, axes, eps):
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def layer_norm_case(name, shape, eps, loc=0.0, spread=1.0):
    rng = rng_for(name)
    f = shape[-1]
    x = f32(rng.standard_normal(shape) * spread + loc)
    scale = f32(1.0 + 0.5 * rng.standard_normal(f))
    bias = f32(rng.standard_normal(f))
    ct = f32(rng.standard_normal(shape))

    def fn(inp, dt):
        tx, ts, tb = tt(inp["x"], dt, True), tt(inp["scale"], dt, True), tt(inp["bias"], dt, True)
        y = F.layer_norm(tx, (f,), ts, tb, eps)
        return {"out": y, **grads_of(y, tt(inp["ct"], dt), {"x": tx, "scale": ts, "bias": tb})}

    def np_fwd(inp):
        return np_standardize(d64(inp["x"]), -1, eps) * d64(inp["scale"]) + d64(inp["bias"])

    finish(name, "layer_norm", {"x": x, "scale": scale, "bias": bias, "ct": ct}, {"eps": eps}, fn, np_fwd,
           ["x", "scale", "bias"], NORM_TOL)


def group_norm_case(name, shape, groups, eps, loc=0.0, spread=1.0):
    rng = rng_for(name)
    c = shape[1]
    x = f32(rng.standard_normal(shape) * spread + loc)
    scale = f32(1.0 + 0.5 * rng.standard_normal(c))
    bias = f32(rng.standard_normal(c))
    ct = f32(rng.standard_normal(shape))

    def fn(inp, dt):
        tx = tt(inp["x"], dt, True)
        gn = torch.nn.GroupNorm(groups, c, eps=eps, affine=True).to(dt)
        with torch.no_grad():
            gn.weight.copy_(tt(inp["scale"], dt))
            gn.bias.copy_(tt(inp["bias"], dt))
        y = gn(tx)
        return {"out": y, **grads_of(y, tt(inp["ct"], dt), {"x": tx, "scale": gn.weight, "bias": gn.bias})}

    def np_fwd(inp):
        xx = d64(inp["x"])
        y = np_standardize(xx.reshape(xx.shape[0], groups, -1), -1, eps).reshape(xx.shape)
        b = (1, c) + (1,) * (xx.ndim - 2)
        return y * d64(inp["scale"]).reshape(b) + d64(inp["bias"]).reshape(b)

    finish(name, "group_norm", {"x": x, "scale": scale, "bias": bias, "ct": ct}, {"groups": groups, "eps": eps}, fn, np_fwd,
           ["x", "scale", "bias"], NORM_TOL)


def rms_norm_case(name, shape, eps, loc=0.0):
    rng = rng_for(name)
    f = shape[-1]
    x = f32(rng.standard_normal(shape) + loc)
    scale = f32(1.0 + 0.5 * rng.standard_normal(f))
    ct = f32(rng.standard_normal(shape))

    def fn(inp, dt):
        tx, ts = tt(inp["x"], dt, True), tt(inp["scale"], dt, True)
        # T5LayerNorm: no mean subtraction, no bias
        y = tx * torch.rsqrt(tx.pow(2).mean(-1, keepdim=True) + eps) * ts
        return {"out": y, **grads_of(y, tt(inp["ct"], dt), {"x": tx, "scale": ts})}

    def np_fwd(inp):
        xx = d64(inp["x"])
        return xx / np.sqrt((xx ** 2).mean(-1, keepdims=True) + eps) * d64(inp["scale"])

    finish(name, "rms_norm", {"x": x, "scale": scale, "ct": ct}, {"eps": eps}, fn, np_fwd, ["x", "scale"], NORM_TOL)


def gen_norms():
    layer_norm_case("layer_norm_2x3x8", (2, 3, 8), 1e-5)
    # offset data: the variance must be taken after centring
    layer_norm_case("layer_norm_4x6_offset", (4, 6), 1e-3, loc=20.0, spread=2.0)
    group_norm_case("group_norm_2x8x3x4_g4", (2, 8, 3, 4), 4, 1e-5)
    group_norm_case("group_norm_video_1x4x2x3x3_g2_offset", (1, 4, 2, 3, 3), 2, 1e-6, loc=8.0, spread=2.0)
    rms_norm_case("rms_norm_3x2x8", (3, 2, 8), 1e-6)
    rms_norm_case("rms_norm_4x5_offset", (4, 5), 1e-6, loc=3.0)


# ---------------------------------------------------------------------------
# multi-head attention (torch.nn.MultiheadAttention) and T5 relative position bias
# ---------------------------------------------------------------------------

MHA_TOL = {"rtol": 1e-4, "atol": 2e-5}


def t5_relative_position_bucket(relative_position, bidirectional, num_buckets, max_distance):
    """HF transformers T5Attention._relative_position_bucket (torch, float32 logs as there)."""
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    if_large = max_exact + (
        torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).to(torch.long)
    if_large = torch.min(if_large, torch.full_like(if_large, num_buckets - 1))
    return relative_buckets + torch.where(is_small, relative_position, if_large)


def np_bucket(rel, bidirectional, num_buckets, max_distance):
    """The same buckets, scalar by scalar in float64 (an independent check)."""
    out = np.zeros(rel.shape, dtype=np.int64)
    for idx, r in np.ndenumerate(rel):
        nb, b = num_buckets, 0
        if bidirectional:
            nb //= 2
            b = nb if r > 0 else 0
            n = abs(int(r))
        else:
            n = max(-int(r), 0)
        me = nb // 2
        out[idx] = b + (n if n < me else min(me + int(math.log(n / me) / math.log(max_distance / me) * (nb - me)), nb - 1))
    return out


def np_mha(inp, heads, mask, bias):
    """Explicit float64 multi-head attention on vidax's parameter layout (w is (in, out))."""
    x = d64(inp["x"])
    ctx = d64(inp["context"]) if "context" in inp else x
    proj = lambda a, p: a @ d64(inp[f"{p}_w"]) + d64(inp[f"{p}_b"])  # noqa: E731
    split = lambda h: h.reshape(*h.shape[:-1], heads, -1).swapaxes(-2, -3)  # noqa: E731
    q, k, v = split(proj(x, "query")), split(proj(ctx, "key")), split(proj(ctx, "value"))
    s = np.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(q.shape[-1])
    if bias is not None:
        s = s + bias
    s = np.where(mask, s, -np.inf)
    p = np.exp(np_log_softmax(s, -1))
    o = np.einsum("bhqk,bhkd->bhqd", p, v).swapaxes(-2, -3)
    return proj(o.reshape(*o.shape[:-2], -1), "out")


def mha_case(name, b, tq, tk, e, heads, kdim, causal, padded, rel=None):
    """torch.nn.MultiheadAttention(e, heads, kdim=kdim, vdim=kdim, batch_first=True) with
    weights mapped from vidax's tree: query.w = W_q^T etc. (see the README)."""
    rng = rng_for(name)
    cross = kdim != e or tk != tq
    inner = e
    inputs = {"x": f32(rng.standard_normal((b, tq, e)))}
    if cross:
        inputs["context"] = f32(rng.standard_normal((b, tk, kdim)))
    for p, fin, fout in (("query", e, inner), ("key", kdim, inner), ("value", kdim, inner), ("out", inner, e)):
        inputs[f"{p}_w"] = f32(rng.standard_normal((fin, fout)) / math.sqrt(fin))
        inputs[f"{p}_b"] = f32(0.3 * rng.standard_normal(fout))
    # vidax mask (b, 1, tq, tk): causal & key not padded
    allowed = np.ones((b, 1, tq, tk), dtype=bool)
    if causal:
        allowed &= np.tril(np.ones((tq, tk), dtype=bool))[None, None]
    key_pad = np.zeros((b, tk), dtype=bool)
    if padded:
        key_pad[-1, -padded:] = True
        allowed &= ~key_pad[:, None, None, :]
    assert allowed.any(-1).all(), "torch gives NaN for a fully masked query row"
    inputs["mask"] = i32(allowed)
    bias_np = None
    params = {"heads": heads}
    if rel is not None:
        inputs["rel_embedding"] = f32(rng.standard_normal((rel["numBuckets"], heads)))
        rel_pos = np.arange(tk)[None, :] - np.arange(tq)[:, None]
        buckets = t5_relative_position_bucket(torch.from_numpy(rel_pos), rel["bidirectional"], rel["numBuckets"], rel["maxDistance"])
        assert np.array_equal(buckets.numpy(), np_bucket(rel_pos, rel["bidirectional"], rel["numBuckets"], rel["maxDistance"]))
        params["relativePositionBias"] = rel
    inputs["ct"] = f32(rng.standard_normal((b, tq, e)))

    def fn(inp, dt):
        mha = torch.nn.MultiheadAttention(e, heads, bias=True, kdim=kdim, vdim=kdim, batch_first=True).to(dt)
        tx = tt(inp["x"], dt, True)
        tc = tt(inp["context"], dt, True) if cross else tx
        w = {p: tt(inp[f"{p}_w"], dt).T.contiguous() for p in ("query", "key", "value", "out")}
        with torch.no_grad():
            if mha._qkv_same_embed_dim:
                mha.in_proj_weight.copy_(torch.cat([w["query"], w["key"], w["value"]], 0))
            else:
                mha.q_proj_weight.copy_(w["query"])
                mha.k_proj_weight.copy_(w["key"])
                mha.v_proj_weight.copy_(w["value"])
            mha.in_proj_bias.copy_(torch.cat([tt(inp[f"{p}_b"], dt) for p in ("query", "key", "value")]))
            mha.out_proj.weight.copy_(w["out"])
            mha.out_proj.bias.copy_(tt(inp["out_b"], dt))
        attn_mask = None
        if causal:
            attn_mask = ~torch.from_numpy(np.tril(np.ones((tq, tk), dtype=bool)))  # True = not allowed
        table = None
        if rel is not None:
            table = tt(inp["rel_embedding"], dt, True)
            bias = table[buckets].permute(2, 0, 1)  # (heads, tq, tk)
            assert attn_mask is None
            attn_mask = bias.repeat(b, 1, 1)  # float mask (b * heads, tq, tk), added to the logits
        y, _ = mha(tx, tc, tc, key_padding_mask=torch.from_numpy(key_pad) if padded else None,
                   need_weights=False, attn_mask=attn_mask)
        # gradients in vidax's layout
        wrt = {"x": tx, **({"context": tc} if cross else {})}
        if mha._qkv_same_embed_dim:
            wrt["in_proj_weight"] = mha.in_proj_weight
        else:
            wrt.update(q_proj_weight=mha.q_proj_weight, k_proj_weight=mha.k_proj_weight, v_proj_weight=mha.v_proj_weight)
        wrt.update(in_proj_bias=mha.in_proj_bias, out_w=mha.out_proj.weight, out_b=mha.out_proj.bias)
        if table is not None:
            wrt["rel_embedding"] = table
        g = grads_of(y, tt(inp["ct"], dt), wrt)
        out = {"out": y, "x_grad": g["x_grad"]}
        if cross:
            out["context_grad"] = g["context_grad"]
        if mha._qkv_same_embed_dim:
            gq, gk, gv = g["in_proj_weight_grad"].split(inner, 0)
        else:
            gq, gk, gv = g["q_proj_weight_grad"], g["k_proj_weight_grad"], g["v_proj_weight_grad"]
        out.update(query_w_grad=gq.T, key_w_grad=gk.T, value_w_grad=gv.T, out_w_grad=g["out_w_grad"].T, out_b_grad=g["out_b_grad"])
        out.update(zip(("query_b_grad", "key_b_grad", "value_b_grad"), g["in_proj_bias_grad"].split(inner, 0)))
        if table is not None:
            out["rel_embedding_grad"] = g["rel_embedding_grad"]
        return out

    def np_fwd(inp):
        bias = None
        if rel is not None:
            bias = np.transpose(d64(inp["rel_embedding"])[buckets.numpy()], (2, 0, 1))
        return np_mha(inp, heads, inp["mask"].astype(bool), bias)

    wrt = ["x"] + (["context"] if cross else []) + [f"{p}_{wb}" for p in ("query", "key", "value", "out") for wb in "wb"]
    if rel is not None:
        wrt.append("rel_embedding")
    finish(name, "multi_head_attention", inputs, params, fn, np_fwd, wrt, MHA_TOL)
    if rel is not None:
        FIXTURE.cases[-1]["expected"]["buckets"] = tensor(buckets.numpy(), "int32")


def gen_attention():
    mha_case("mha_self_causal_padding_b2_t5_e8_h2", 2, 5, 5, 8, 2, 8, causal=True, padded=2)
    mha_case("mha_cross_padding_b2_tq3_tk6_kdim6_h2", 2, 3, 6, 8, 2, 6, causal=False, padded=3)
    rel = {"numBuckets": 8, "maxDistance": 12, "bidirectional": True}
    mha_case("mha_self_t5_relpos_bias_b2_t14_e4_h2", 2, 14, 14, 4, 2, 4, causal=False, padded=4, rel=rel)


# ---------------------------------------------------------------------------
# embeddings (no parameters learned): sinusoidal, guidance-weight, Fourier features
# ---------------------------------------------------------------------------

EMB_TOL = {"rtol": 2e-5, "atol": 2e-5}


def np_sinusoidal(t, dim, max_period, flip, shift, scale):
    """diffusers get_timestep_embedding / DDPM get_timestep_embedding in float64."""
    half = dim // 2
    freqs = np.exp(-math.log(max_period) * np.arange(half) / (half - shift))
    args = scale * d64(t)[..., None] * freqs
    parts = [np.cos(args), np.sin(args)] if flip else [np.sin(args), np.cos(args)]
    if dim % 2:
        parts.append(np.zeros(args.shape[:-1] + (1,)))
    return np.concatenate(parts, -1)


def torch_sinusoidal(t, dim, max_period, flip, shift, scale):
    """The same embedding written as DDPM's (Ho et al.) get_timestep_embedding, in torch float64."""
    half = dim // 2
    emb = math.log(max_period) / (half - shift)
    emb = torch.exp(torch.arange(half, dtype=torch.float64) * -emb)
    emb = scale * t.to(torch.float64)[..., None] * emb
    emb = torch.cat([torch.cos(emb), torch.sin(emb)] if flip else [torch.sin(emb), torch.cos(emb)], -1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


def sinusoidal_case(name, t, dim, max_period=10000, flip=False, shift=1, scale=1.0, op="sinusoidal_embedding"):
    t = f32(t)
    ref = torch_sinusoidal(torch.from_numpy(d64(t)), dim, max_period, flip, shift, scale).numpy()
    np.testing.assert_allclose(ref, np_sinusoidal(t, dim, max_period, flip, shift, scale), rtol=1e-12, atol=1e-12)
    # float32 arguments reach ~1e4 (t up to 999, w·1000 up to 4000): sin/cos of them lose
    # ~|arg|·2⁻²⁴ in float32, so the tolerance scales with the largest argument.
    tol = {"rtol": 0.0, "atol": max(2e-6, 4 * float(np.max(np.abs(d64(t)))) * scale * 2.0 ** -24)}
    params = {"dim": dim, "maxPeriod": max_period, "flipSinToCos": flip, "downscaleFreqShift": shift, "scale": scale}
    add_case(name, op, {"t": t}, params, {"out": ref}, tol)


def fourier_case(name, shape, in_features, features, scale):
    rng = rng_for(name)
    x = f32(rng.uniform(-1.0, 1.0, shape + (in_features,)))
    proj = f32(rng.standard_normal((in_features, features // 2)) * scale)
    ct = f32(rng.standard_normal(shape + (features,)))

    def fn(inp, dt):
        tx = tt(inp["x"], dt, True)
        a = 2 * math.pi * tx @ tt(inp["projection"], dt)
        y = torch.cat([torch.sin(a), torch.cos(a)], -1)
        return {"out": y, **grads_of(y, tt(inp["ct"], dt), {"x": tx})}

    def np_fwd(inp):
        a = 2 * math.pi * d64(inp["x"]) @ d64(inp["projection"])
        return np.concatenate([np.sin(a), np.cos(a)], -1)

    tol = {"rtol": 1e-4, "atol": 1e-4 * scale}
    finish(name, "fourier_features", {"x": x, "projection": proj, "ct": ct}, {"features": features}, fn, np_fwd, ["x"], tol)


def gen_embeddings():
    t = [0.0, 1.0, 2.5, 17.0, 250.25, 999.0]
    sinusoidal_case("sinusoidal_ddpm_dim16", t, 16)
    sinusoidal_case("sinusoidal_glide_flip_shift0_dim9", [[0.0, 3.0], [42.0, 0.125]], 9, flip=True, shift=0)
    sinusoidal_case("sinusoidal_logsnr_dim8_period100", [-20.0, -3.5, 0.0, 7.25, 20.0], 8, max_period=100)
    sinusoidal_case("guidance_embedding_w_dim12", [0.0, 0.5, 1.0, 2.75, 4.0], 12, scale=1000.0, op="guidance_embedding")
    fourier_case("fourier_features_3x2_to_8_scale16", (3,), 2, 8, 16.0)
    fourier_case("fourier_features_scalar_2x2_to_6", (2, 2), 1, 6, 1.0)


# ---------------------------------------------------------------------------
# residual block: GN -> SiLU -> conv -> GN -> FiLM(emb) -> SiLU -> conv, + skip
# ---------------------------------------------------------------------------

RES_TOL = {"rtol": 2e-4, "atol": 5e-5}
RES_PARAMS = ("norm1_scale", "norm1_bias", "conv1_w", "conv1_b", "emb_w", "emb_b",
              "norm2_scale", "norm2_bias", "conv2_w", "conv2_b", "skip_w", "skip_b")


def torch_resblock(p, x, emb, groups, eps, dims):
    conv = {2: F.conv2d, 3: F.conv3d}[dims]
    sp = (None,) * dims
    h = conv(F.silu(F.group_norm(x, groups, p["norm1_scale"], p["norm1_bias"], eps)), p["conv1_w"], p["conv1_b"], padding=1)
    h = F.group_norm(h, groups, p["norm2_scale"], p["norm2_bias"], eps)
    scale, shift = F.linear(F.silu(emb), p["emb_w"].T, p["emb_b"]).chunk(2, dim=1)
    h = h * (1 + scale[(...,) + sp]) + shift[(...,) + sp]
    h = conv(F.silu(h), p["conv2_w"], p["conv2_b"], padding=1)
    return conv(x, p["skip_w"], p["skip_b"]) + h


def np_resblock(inp, groups, eps, dims):
    d = {k: d64(v) for k, v in inp.items()}
    silu = lambda a: a * scipy.special.expit(a)  # noqa: E731

    def gn(a, s, b):
        y = np_standardize(a.reshape(a.shape[0], groups, -1), -1, eps).reshape(a.shape)
        sh = (1, -1) + (1,) * dims
        return y * s.reshape(sh) + b.reshape(sh)

    def conv(a, w, b, pad):
        y = np_conv_general(a, w, [1] * dims, [[pad, pad]] * dims, [1] * dims, [1] * dims, 1)
        return y + b.reshape((1, -1) + (1,) * dims)

    h = conv(silu(gn(d["x"], d["norm1_scale"], d["norm1_bias"])), d["conv1_w"], d["conv1_b"], 1)
    h = gn(h, d["norm2_scale"], d["norm2_bias"])
    e = silu(d["emb"]) @ d["emb_w"] + d["emb_b"]
    c = h.shape[1]
    sh = (e.shape[0], c) + (1,) * dims
    h = h * (1 + e[:, :c].reshape(sh)) + e[:, c:].reshape(sh)
    h = conv(silu(h), d["conv2_w"], d["conv2_b"], 1)
    return conv(d["x"], d["skip_w"], d["skip_b"], 0) + h


def resblock_case(name, n, cin, cout, spatial, emb_dim, groups, eps=1e-5):
    rng = rng_for(name)
    dims = len(spatial)
    k = (3,) * dims
    shapes = {
        "norm1_scale": (cin,), "norm1_bias": (cin,), "conv1_w": (cout, cin) + k, "conv1_b": (cout,),
        "emb_w": (emb_dim, 2 * cout), "emb_b": (2 * cout,), "norm2_scale": (cout,), "norm2_bias": (cout,),
        "conv2_w": (cout, cout) + k, "conv2_b": (cout,), "skip_w": (cout, cin) + (1,) * dims, "skip_b": (cout,),
    }
    inputs = {"x": f32(rng.standard_normal((n, cin) + spatial)), "emb": f32(rng.standard_normal((n, emb_dim)))}
    for key, shape in shapes.items():
        is_conv_kernel = key.endswith("_w") and key != "emb_w"
        fan_in = int(np.prod(shape[1:])) if is_conv_kernel else shape[0]
        base = 1.0 if key.startswith("norm") and key.endswith("scale") else 0.0
        inputs[key] = f32(base + rng.standard_normal(shape) / math.sqrt(max(fan_in, 1)) * (0.5 if base else 1.0))
    out_shape = (n, cout) + spatial
    inputs["ct"] = f32(rng.standard_normal(out_shape))

    def fn(inp, dt):
        p = {key: tt(inp[key], dt, True) for key in RES_PARAMS}
        tx, te = tt(inp["x"], dt, True), tt(inp["emb"], dt, True)
        y = torch_resblock(p, tx, te, groups, eps, dims)
        return {"out": y, **grads_of(y, tt(inp["ct"], dt), {"x": tx, "emb": te, **p})}

    finish(name, "res_block", inputs, {"groups": groups, "eps": eps, "dims": dims}, fn,
           lambda inp: np_resblock(inp, groups, eps, dims), ["x", "emb", *RES_PARAMS], RES_TOL)


def gen_resblock():
    resblock_case("res_block_2d_n2_c4_to_8_5x5_g2", 2, 4, 8, (5, 5), 6, 2)
    resblock_case("res_block_3d_n1_c2_to_4_3x4x4_g2", 1, 2, 4, (3, 4, 4), 5, 2)


def main():
    FIXTURE.main(gen_activations, gen_norms, gen_attention, gen_embeddings, gen_resblock)


if __name__ == "__main__":
    main()
