#!/usr/bin/env python3
"""Generate golden fixtures for vidax's distillation targets (src/diffusion/distillation.ts).

An independent float64 NumPy implementation of

* the progressive-distillation target of Salimans & Ho 2022, Algorithm 2 (two teacher DDIM
  steps t -> t' -> t'', then the x~ for which one student DDIM step t -> t'' lands on the
  teacher's z_t''; the teacher's x^(z_t') at the last step), written from the paper's
  equations with alpha, sigma computed directly (not with the softplus form vidax uses);
* the target of Meng et al. 2023's stochastic N-step sampler (two teacher steps of 1/N, one
  student step of 2/N; a single step where t < 2/N);
* guided-distillation stage 1 (the classifier-free guided teacher at weight w), formed in
  eps-space as Meng et al.'s code does and checked against the x-space form;
* the student loss with PD's truncated-SNR weighting, max(x_mse, eps_mse).

The teacher is a fixed analytic, nonlinear denoiser on the last axis,
x^(z, lambda) = tanh(z @ W.T + lambda * b + c), with W, b, c stored as inputs. Times come from
the clipped cosine log-SNR schedule on [-20, 20] used by every PD config
(lambda(t) = -2 log tan(a t + b)); the lambda values are stored as float32 inputs, so the
TypeScript test needs no schedule. Run from the repository root:

    /usr/bin/python3 scripts/golden/generate_diffusion_distillation.py          # test/fixtures/diffusion-distillation-golden.json
    /usr/bin/python3 scripts/golden/generate_diffusion_distillation.py /tmp/x.json

Schema and number conventions are those of scripts/golden/README.md (inputs float32, expected
values computed in float64 from the float32 inputs and rounded once). Boolean masks are
stored as int32 0/1. Each case's tolerance is derived from a float32 run of the same NumPy
code: the stated tolerance is at least 8 times that run's error, with a floor of 2e-5.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import CaseFile, d64, f32, rng_for  # noqa: E402

FIXTURE = CaseFile("scripts/golden/generate_diffusion_distillation.py",
                   os.path.join("test", "fixtures", "diffusion-distillation-golden.json"), ("numpy",), max_bytes=200_000)
LOGSNR_MIN, LOGSNR_MAX = -20.0, 20.0


# ---------------------------------------------------------------------------
# reference math (dtype-generic: run in float64 for the values, float32 for tolerances)
# ---------------------------------------------------------------------------

def logsnr_cosine(t):
    """Clipped cosine schedule (diffusion_distillation/schedules.py): lambda(0)=max, lambda(1)=min."""
    b = math.atan(math.exp(-0.5 * LOGSNR_MAX))
    a = math.atan(math.exp(-0.5 * LOGSNR_MIN)) - b
    return -2.0 * np.log(np.tan(a * np.asarray(t, dtype=np.float64) + b))


def bc(l, like):
    """A per-example (B,) or scalar lambda shaped to broadcast against data (B, ...)."""
    l = np.asarray(l, dtype=like.dtype)
    return l.reshape(l.shape + (1,) * (like.ndim - l.ndim)) if l.ndim else l


def alpha_sigma(l):
    """alpha = sqrt(sigmoid(lambda)), sigma = sqrt(sigmoid(-lambda)); sigma = 0 at lambda = +inf."""
    with np.errstate(over="ignore"):
        return np.sqrt(1.0 / (1.0 + np.exp(-l))), np.sqrt(1.0 / (1.0 + np.exp(l)))


def teacher_fn(W, b, c):
    def f(z, l):
        return np.tanh(z @ W.T + bc(l, z) * b + c)
    return f


def ddim(z, x_hat, l_t, l_s):
    """One DDIM step (PD eq. 7-8): z_s = alpha_s x^ + sigma_s (z_t - alpha_t x^) / sigma_t."""
    a_t, s_t = alpha_sigma(bc(l_t, z))
    a_s, s_s = alpha_sigma(bc(l_s, z))
    eps_hat = (z - a_t * x_hat) / s_t
    return a_s * x_hat + s_s * eps_hat


def invert_ddim(z_t, z_s, l_t, l_s):
    """PD Algorithm 2: x~ = (z_s - (sigma_s/sigma_t) z_t) / (alpha_s - (sigma_s/sigma_t) alpha_t)."""
    a_t, s_t = alpha_sigma(bc(l_t, z_t))
    a_s, s_s = alpha_sigma(bc(l_s, z_t))
    r = s_s / s_t
    return (z_s - r * z_t) / (a_s - r * a_t)


def eps_v(z, x, l):
    a, s = alpha_sigma(bc(l, z))
    eps = (z - a * x) / s
    return eps, a * eps - s * x


def pd_target(z, l_t, l_mid, l_s, last, teacher):
    x1 = teacher(z, l_t)
    z_mid = ddim(z, x1, l_t, l_mid)
    x2 = teacher(z_mid, l_mid)
    z_s = ddim(z_mid, x2, l_mid, l_s)
    x = invert_ddim(z, z_s, l_t, l_s)
    x = np.where(bc(last, z).astype(bool), x2, x)
    eps, v = eps_v(z, x, l_t)
    return {"x": x, "eps": eps, "v": v}


def stochastic_target(z, l_t, l_mid, l_s, single, teacher):
    x1 = teacher(z, l_t)
    z_mid = ddim(z, x1, l_t, l_mid)
    x_one = invert_ddim(z, z_mid, l_t, l_mid)
    x2 = teacher(z_mid, l_mid)
    z_s = ddim(z_mid, x2, l_mid, l_s)
    x_two = invert_ddim(z, z_s, l_t, l_s)
    x = np.where(bc(single, z).astype(bool), x_one, x_two)
    eps, v = eps_v(z, x, l_t)
    return {"x": x, "eps": eps, "v": v}


def guided_target(z, l, w, cond, uncond):
    """Meng et al. stage 1, formed in eps-space as their code does: eps = (1+w) eps_c - w eps_u."""
    a, s = alpha_sigma(bc(l, z))
    eps_c = (z - a * cond(z, l)) / s
    eps_u = (z - a * uncond(z, l)) / s
    ww = bc(w, z)
    eps = (1 + ww) * eps_c - ww * eps_u
    x = (z - s * eps) / a
    return {"x": x, "eps": eps, "v": a * eps - s * x}


def trunc_snr_loss(z, l, x_student, x_target):
    """PD's 'snr_trunc': max(x_mse, eps_mse) per example (mean over all non-batch axes)."""
    eps_s, _ = eps_v(z, x_student, l)
    eps_t, _ = eps_v(z, x_target, l)
    axes = tuple(range(1, z.ndim))
    return np.maximum(np.mean((x_student - x_target) ** 2, axis=axes), np.mean((eps_s - eps_t) ** 2, axis=axes))


# ---------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------

def tolerance_for(fn, inputs64, inputs32, floor=2e-5):
    """At least 8x the error of the same computation run in float32, scaled like |x| > 1."""
    ref = fn(inputs64)
    got = fn(inputs32)
    err = 0.0
    for k in ref:
        r, g = d64(ref[k]), d64(got[k])
        err = max(err, float(np.max(np.abs(g - r) / np.maximum(1.0, np.abs(r)))))
    tol = max(floor, 8 * err)
    tol = float(f"{tol:.1g}")
    return ref, {"rtol": tol, "atol": tol}


def teacher_params(rng, d, scale=1.5):
    return {
        "W": f32(rng.normal(size=(d, d)) * scale / math.sqrt(d)),
        "b": f32(rng.normal(size=d) * 0.08),
        "c": f32(rng.normal(size=d) * 0.3),
    }


def as64(d):
    return {k: d64(v) for k, v in d.items()}


def as32(d):
    return {k: np.asarray(v, dtype=np.float32) for k, v in d.items()}


def add_case(name, op, inputs, params, expected, tolerance):
    for k, v in expected.items():
        assert np.all(np.isfinite(v)), f"{name}: non-finite {k}"
    FIXTURE.add(name, op, inputs, params, expected, tolerance)


def grid_logsnrs(i, n, mid_offset, s_offset):
    """lambda at t = i/n, t - mid_offset/n, t - s_offset/n (times clamped at 0)."""
    i = np.asarray(i, dtype=np.float64)
    t = i / n
    return (f32(logsnr_cosine(t)), f32(logsnr_cosine(np.maximum(t - mid_offset / n, 0))),
            f32(logsnr_cosine(np.maximum(t - s_offset / n, 0))))


def pd_case(name, shape, n, steps, scalar_time=False, inf_last=False):
    """Algorithm 2 at student grid n: t = i/n, t' = t - 0.5/n, t'' = t - 1/n; last = (i == 1)."""
    rng = rng_for(name)
    d = shape[-1]
    p = teacher_params(rng, d)
    z = f32(rng.normal(size=shape))
    i = np.asarray(steps)
    l_t, l_mid, l_s = grid_logsnrs(i, n, 0.5, 1.0)
    last = (i == 1).astype(np.int32)
    if inf_last:  # the unclipped schedule's t'' = 0: sigma = 0 exactly, no special case needed
        l_s = np.where(last == 1, np.float32(np.inf), l_s).astype(np.float32)
        last = np.zeros_like(last)
    inputs = {"z": z, "logSnrT": l_t, "logSnrMid": l_mid, "logSnrS": l_s, "lastStep": last, **p}

    def run(v):
        return pd_target(v["z"], v["logSnrT"], v["logSnrMid"], v["logSnrS"], v["lastStep"], teacher_fn(v["W"], v["b"], v["c"]))

    ref, tol = tolerance_for(run, as64(inputs), as32(inputs))
    # Defining property: one student DDIM step with x^ = x~ lands on the teacher's z_t''.
    v = as64(inputs)
    tf = teacher_fn(v["W"], v["b"], v["c"])
    z_mid = ddim(v["z"], tf(v["z"], v["logSnrT"]), v["logSnrT"], v["logSnrMid"])
    z_s = ddim(z_mid, tf(z_mid, v["logSnrMid"]), v["logSnrMid"], v["logSnrS"])
    lands = ddim(v["z"], ref["x"], v["logSnrT"], v["logSnrS"])
    rows = np.asarray(inputs["lastStep"]) == 0
    assert np.allclose(lands[rows], z_s[rows], rtol=1e-9, atol=1e-9), name
    if scalar_time:
        assert len(set(steps)) == 1
        for k in ("logSnrT", "logSnrMid", "logSnrS", "lastStep"):
            inputs[k] = inputs[k][0]
    add_case(name, "pd_target", inputs, {"studentSteps": n, "i": [int(s) for s in steps]}, ref, tol)


def stochastic_case(name, shape, n, steps):
    """Meng et al.'s stochastic-sampler target: t = i/n, t - 1/n, t - 2/n; single step where i = 1."""
    rng = rng_for(name)
    p = teacher_params(rng, shape[-1])
    z = f32(rng.normal(size=shape))
    i = np.asarray(steps)
    l_t, l_mid, l_s = grid_logsnrs(i, n, 1.0, 2.0)
    single = (i == 1).astype(np.int32)
    inputs = {"z": z, "logSnrT": l_t, "logSnrMid": l_mid, "logSnrS": l_s, "singleStep": single, **p}

    def run(v):
        return stochastic_target(v["z"], v["logSnrT"], v["logSnrMid"], v["logSnrS"], v["singleStep"], teacher_fn(v["W"], v["b"], v["c"]))

    ref, tol = tolerance_for(run, as64(inputs), as32(inputs))
    add_case(name, "stochastic_target", inputs, {"samplerSteps": n, "i": [int(s) for s in steps]}, ref, tol)


def guided_case(name, shape, lam, w):
    rng = rng_for(name)
    d = shape[-1]
    pc, pu = teacher_params(rng, d), teacher_params(rng, d)
    z = f32(rng.normal(size=shape))
    inputs = {"z": z, "logSnr": f32(lam), "w": f32(w),
              "Wc": pc["W"], "bc": pc["b"], "cc": pc["c"], "Wu": pu["W"], "bu": pu["b"], "cu": pu["c"]}

    def run(v):
        return guided_target(v["z"], v["logSnr"], v["w"], teacher_fn(v["Wc"], v["bc"], v["cc"]), teacher_fn(v["Wu"], v["bu"], v["cu"]))

    ref, tol = tolerance_for(run, as64(inputs), as32(inputs))
    # Guidance is affine in the prediction at fixed z: the x-space form agrees.
    v = as64(inputs)
    ww = bc(v["w"], v["z"])
    x_space = (1 + ww) * teacher_fn(v["Wc"], v["bc"], v["cc"])(v["z"], v["logSnr"]) - ww * teacher_fn(v["Wu"], v["bu"], v["cu"])(v["z"], v["logSnr"])
    assert np.allclose(x_space, ref["x"], rtol=1e-9, atol=1e-9), name
    add_case(name, "guided_target", inputs, {}, ref, tol)


def loss_case(name, shape, n, steps):
    """Student loss against the PD target with truncated-SNR weighting, per example."""
    rng = rng_for(name)
    d = shape[-1]
    p = teacher_params(rng, d)
    ps = teacher_params(rng, d)
    z = f32(rng.normal(size=shape))
    i = np.asarray(steps)
    l_t, l_mid, l_s = grid_logsnrs(i, n, 0.5, 1.0)
    last = (i == 1).astype(np.int32)
    inputs = {"z": z, "logSnrT": l_t, "logSnrMid": l_mid, "logSnrS": l_s, "lastStep": last, **p,
              "Ws": ps["W"], "bs": ps["b"], "cs": ps["c"]}

    def run(v):
        tgt = pd_target(v["z"], v["logSnrT"], v["logSnrMid"], v["logSnrS"], v["lastStep"], teacher_fn(v["W"], v["b"], v["c"]))
        xs = teacher_fn(v["Ws"], v["bs"], v["cs"])(v["z"], v["logSnrT"])
        loss = trunc_snr_loss(v["z"], v["logSnrT"], xs, tgt["x"])
        # The same weight written as max(SNR, 1) * x_mse (PD eq. 9 and Sec. 4).
        x_mse = np.mean((xs - tgt["x"]) ** 2, axis=tuple(range(1, v["z"].ndim)))
        alt = np.maximum(np.exp(d64(v["logSnrT"])), 1.0) * x_mse
        assert np.allclose(alt, loss, rtol=1e-4 if v["z"].dtype == np.float32 else 1e-9), name
        return {"loss": loss}

    ref, tol = tolerance_for(run, as64(inputs), as32(inputs))
    add_case(name, "student_loss", inputs, {"weighting": "truncated_snr", "studentSteps": n}, ref, tol)


def gen():
    # Algorithm 2, per-example times over a whole student grid (i = 1 is the last step).
    pd_case("pd_n4_all_steps", (4, 6), 4, [4, 3, 2, 1])
    pd_case("pd_n16_mixed", (6, 5), 16, [16, 11, 8, 5, 2, 1])
    pd_case("pd_n64_mixed_4d", (3, 2, 3, 4), 64, [64, 33, 2])
    pd_case("pd_n1_single_step_last", (3, 5), 1, [1, 1, 1])
    pd_case("pd_n8_scalar_time", (3, 2, 5), 8, [5, 5, 5], scalar_time=True)
    pd_case("pd_n8_scalar_time_last", (2, 4), 8, [1, 1], scalar_time=True)
    pd_case("pd_n4_sigma0_unclipped_last", (4, 5), 4, [3, 1, 2, 1], inf_last=True)
    # The stochastic N-step sampler's target (2/N student steps, a single step where t < 2/N).
    stochastic_case("stochastic_n8_all", (8, 4), 8, [8, 7, 6, 5, 4, 3, 2, 1])
    stochastic_case("stochastic_n4_3d", (4, 2, 5), 4, [4, 3, 2, 1])
    # Guided distillation stage 1: per-example w in [0, 4], one case with a shared w and lambda.
    guided_case("guided_per_example", (5, 6), logsnr_cosine(np.array([0.9, 0.7, 0.5, 0.3, 0.1])), [0.0, 0.5, 1.7, 3.1, 4.0])
    guided_case("guided_shared_w", (3, 2, 4), logsnr_cosine(0.4), 2.5)
    # Student loss with truncated-SNR weighting (weights max(SNR, 1) on both sides of SNR = 1).
    loss_case("student_loss_trunc_snr_n8", (8, 2, 5), 8, [8, 7, 6, 5, 4, 3, 2, 1])


def main():
    FIXTURE.main(gen)


if __name__ == "__main__":
    main()
