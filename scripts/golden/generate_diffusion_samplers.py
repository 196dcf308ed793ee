#!/usr/bin/env python3
"""Generate golden fixtures for vidax's samplers, guidance and thresholding
(src/diffusion/samplers.ts, guidance.ts, thresholding.ts).

Independent float64 NumPy implementations, each written in the form of a different
reference rather than in the log-SNR form vidax uses:

* one DDIM step with eta in {0, 0.5, 1} in the discrete alpha-bar form of diffusers'
  `DDIMScheduler.step` (Song et al. 2021, eq. 12 and 16), alpha-bar = sigmoid(lambda);
* one ancestral step with the 'small', 'large', 'medium' (gamma = 0.5) and gamma = 0.3
  variances in the form of Google's `diffusion_distillation/dpm.py::diffusion_reverse`
  (mean r * alpha_st * z + (1 - r) * alpha_s * x, log-variance interpolated with `medium:frac`);
* one step of Meng et al.'s stochastic sampler in the form of Google's `new_two_nvidia_step`
  (DDIM t -> k, then z_s = alpha_s/alpha_k z_k + sqrt(max(sigma_s^2 - (sigma_k alpha_s/alpha_k)^2, 0)) xi);
* Euler, Heun and DPM-Solver++(2M) steps in k-diffusion's variance-exploding form
  (x = z / alpha, sigma = sigma_vp / alpha, `sample_euler` / `sample_heun` / `sample_dpmpp_2m`),
  converted back with z = x / sqrt(1 + sigma^2); Heun's denoiser is the exact posterior mean of
  Gaussian data N(mu, s^2) in that form, D(x, sigma) = mu + s^2 / (s^2 + sigma^2) (x - mu);
* Imagen's dynamic thresholding with np.quantile per sample (p as a quantile in [0, 1]);
* classifier-free guidance (1 + w) c - w u, in x-space and in eps- and v-space followed by
  clipping and re-deriving eps and v from the clipped x (Google's `_run_model(clip_x=True)`).

Run from the repository root:

    /usr/bin/python3 scripts/golden/generate_diffusion_samplers.py          # test/fixtures/diffusion-samplers-golden.json
    /usr/bin/python3 scripts/golden/generate_diffusion_samplers.py /tmp/x.json

Schema and number conventions are those of scripts/golden/README.md (inputs float32, expected
values computed in float64 from the float32 inputs and rounded once). The noise xi of every
stochastic step is stored as the input `noise`. Each case's tolerance (rtol = atol) is at least
8 times the error of a float32 run of the same NumPy code, with a floor of 2e-5.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import CaseFile, d64, f32, rng_for  # noqa: E402

FIXTURE = CaseFile("scripts/golden/generate_diffusion_samplers.py",
                   os.path.join("test", "fixtures", "diffusion-samplers-golden.json"), ("numpy",), max_bytes=200_000)


# ---------------------------------------------------------------------------
# reference math (dtype-generic: float64 for the values, float32 for the tolerances)
# ---------------------------------------------------------------------------

def bc(l, like):
    """A per-example (B,) or scalar lambda shaped to broadcast against data (B, ...)."""
    l = np.asarray(l, dtype=like.dtype)
    return l.reshape(l.shape + (1,) * (like.ndim - l.ndim)) if l.ndim else l


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def ddim_diffusers(z, x, noise, l_t, l_s, eta):
    """diffusers DDIMScheduler.step with alpha_prod = sigmoid(lambda) and the model's x0."""
    ab_t, ab_s = sigmoid(bc(l_t, z)), sigmoid(bc(l_s, z))
    eps = (z - np.sqrt(ab_t) * x) / np.sqrt(1 - ab_t)
    variance = (1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s)
    std = eta * np.sqrt(variance)
    direction = np.sqrt(1 - ab_s - std ** 2) * eps
    return np.sqrt(ab_s) * x + direction + std * noise


def ancestral_google(z, x, noise, l_t, l_s, x_logvar):
    """dpm.py::diffusion_reverse, then mean + exp(logvar / 2) * noise."""
    l_t, l_s = bc(l_t, z), bc(l_s, z)
    alpha_st = np.sqrt((1.0 + np.exp(-l_t)) / (1.0 + np.exp(-l_s)))
    alpha_s = np.sqrt(sigmoid(l_s))
    r = np.exp(l_t - l_s)
    one_minus_r = -np.expm1(l_t - l_s)
    log_one_minus_r = np.log(-np.expm1(-(l_s - l_t)))  # utils.log1mexp(logsnr_s - logsnr_t)
    mean = r * alpha_st * z + one_minus_r * alpha_s * x
    small = log_one_minus_r + log_sigmoid(-l_s)
    large = log_one_minus_r + log_sigmoid(-l_t)
    if x_logvar == "small":
        logvar = small
    elif x_logvar == "large":
        logvar = large
    else:
        frac = float(x_logvar.split(":")[1])
        logvar = frac * large + (1 - frac) * small
    return mean + np.exp(0.5 * logvar) * noise


def stochastic_meng(z, x, noise, l_t, l_s, l_k):
    """new_two_nvidia_step: DDIM from t to k (two grid steps), forward-noise back to s."""
    def a_s(l):
        return np.sqrt(sigmoid(bc(l, z))), np.sqrt(sigmoid(-bc(l, z)))
    a_t, s_t = a_s(l_t)
    a_k, s_k = a_s(l_k)
    a_m, s_m = a_s(l_s)
    eps = (z - a_t * x) / s_t
    z_k = a_k * x + s_k * eps
    return a_m * z_k / a_k + np.sqrt(np.maximum(s_m ** 2 - (s_k * a_m / a_k) ** 2, 0.0)) * noise


def ve(z, l):
    """k-diffusion's view of a VP z at log-SNR l: sigma = exp(-l/2), x = z * sqrt(1 + sigma^2)."""
    sigma = np.exp(-0.5 * bc(l, z))
    return z * np.sqrt(1 + sigma ** 2), sigma


def gaussian_denoiser_ve(mu, s):
    def d(x, sigma):
        return mu + s ** 2 / (s ** 2 + sigma ** 2) * (x - mu)
    return d


def euler_kdiff(z, x_hat, logsnr_t, logsnr_s):
    l_t, l_s = logsnr_t, logsnr_s
    x, sigma = ve(z, l_t)
    sigma_next = np.exp(-0.5 * bc(l_s, z))
    d = (x - x_hat) / sigma
    x = x + d * (sigma_next - sigma)
    return x / np.sqrt(1 + sigma_next ** 2)


def heun_kdiff(z, l_t, l_s, denoise):
    x, sigma = ve(z, l_t)
    sigma_next = np.exp(-0.5 * bc(l_s, z))
    denoised = denoise(x, sigma)
    d = (x - denoised) / sigma
    x_2 = x + d * (sigma_next - sigma)
    denoised_2 = denoise(x_2, sigma_next)
    d_2 = (x_2 - denoised_2) / sigma_next
    x = x + (d + d_2) / 2 * (sigma_next - sigma)
    return denoised, x / np.sqrt(1 + sigma_next ** 2)


def dpmpp_2m_kdiff(z, x_hat, logsnr_t, logsnr_s, prev_x_hat=None, logsnr_prev=None):
    l_t, l_s, l_prev = logsnr_t, logsnr_s, logsnr_prev
    x, sigma = ve(z, l_t)
    sigma_next = np.exp(-0.5 * bc(l_s, z))
    t, t_next = -np.log(sigma), -np.log(sigma_next)
    h = t_next - t
    if prev_x_hat is None:
        denoised_d = x_hat
    else:
        h_last = t - (-np.log(np.exp(-0.5 * bc(l_prev, z))))
        r = h_last / h
        denoised_d = (1 + 1 / (2 * r)) * x_hat - (1 / (2 * r)) * prev_x_hat
    x = (sigma_next / sigma) * x - np.expm1(-h) * denoised_d
    return x / np.sqrt(1 + sigma_next ** 2)


def dynamic_threshold(x, p, axis):
    if axis is None:
        s = np.quantile(np.abs(x), p)
    else:
        moved = np.moveaxis(np.abs(x), axis, 0)
        s = np.quantile(moved.reshape(moved.shape[0], -1), p, axis=1)
        s = s.reshape([-1 if d == axis else 1 for d in range(x.ndim)])
    s = np.maximum(s, 1.0)
    return np.clip(x, -s, s) / s


def guided_clip_google(z, c, u, w, l, space, p):
    """Guide in eps- or v-space, x from it, threshold x, eps and v from the thresholded x."""
    g = (1 + bc(w, z)) * c - bc(w, z) * u
    a, s = np.sqrt(sigmoid(bc(l, z))), np.sqrt(sigmoid(-bc(l, z)))
    x = (z - s * g) / a if space == "eps" else a * z - s * g
    x = np.clip(x, -1.0, 1.0) if p is None else dynamic_threshold(x, p, 0)
    eps = (z - a * x) / s
    return {"x": x, "eps": eps, "v": a * eps - s * x}


# ---------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------

def add_case(name, op, inputs, params, fn):
    """Expected values from `fn` on the float64 inputs; tolerance from a float32 run of `fn`."""
    inputs = {k: f32(v) for k, v in inputs.items()}
    exp64 = fn(**{k: d64(v) for k, v in inputs.items()})
    exp32 = fn(**inputs)
    as_dict = isinstance(exp64, dict)
    e64 = exp64 if as_dict else {"out": exp64}
    e32 = exp32 if as_dict else {"out": exp32}
    err = 0.0
    for k, v in e64.items():
        assert np.all(np.isfinite(v)), f"{name}: non-finite expected {k}"
        err = max(err, float(np.max(np.abs(d64(e32[k]) - v) / (1 + np.abs(v)))))
    tol = float(f"{max(8 * err, 2e-5):.1g}")
    FIXTURE.add(name, op, inputs, params, exp64, {"rtol": tol, "atol": tol})


def pair(rng, b, lo=-8.0, hi=8.0, gap=(0.3, 3.0)):
    """Per-example (l_t, l_s) with l_s - l_t in `gap`."""
    l_t = rng.uniform(lo, hi, size=b)
    return l_t, l_t + rng.uniform(*gap, size=b)


def gen_ddim_ancestral():
    for eta in (0.0, 0.5, 1.0):
        name = f"ddim_eta{eta}"
        rng = rng_for(name)
        l_t, l_s = pair(rng, 3)
        add_case(name, "ddim_step",
                 {"z": rng.normal(size=(3, 2, 5)), "x_hat": np.tanh(rng.normal(size=(3, 2, 5))),
                  "noise": rng.normal(size=(3, 2, 5)), "logsnr_t": l_t, "logsnr_s": l_s},
                 {"eta": eta},
                 lambda z, x_hat, noise, logsnr_t, logsnr_s, eta=eta: ddim_diffusers(z, x_hat, noise, logsnr_t, logsnr_s, eta))
    name = "ddim_eta0.3_scalar_logsnr"
    rng = rng_for(name)
    add_case(name, "ddim_step",
             {"z": rng.normal(size=(4, 6)), "x_hat": np.tanh(rng.normal(size=(4, 6))), "noise": rng.normal(size=(4, 6)),
              "logsnr_t": np.array(-2.5), "logsnr_s": np.array(-1.25)},
             {"eta": 0.3},
             lambda z, x_hat, noise, logsnr_t, logsnr_s: ddim_diffusers(z, x_hat, noise, logsnr_t, logsnr_s, 0.3))
    for variance, x_logvar in (("small", "small"), ("large", "large"), ("medium", "medium:0.5"), (0.3, "medium:0.3")):
        name = f"ancestral_{variance}"
        rng = rng_for(name)
        l_t, l_s = pair(rng, 3)
        add_case(name, "ancestral_step",
                 {"z": rng.normal(size=(3, 2, 5)), "x_hat": np.tanh(rng.normal(size=(3, 2, 5))),
                  "noise": rng.normal(size=(3, 2, 5)), "logsnr_t": l_t, "logsnr_s": l_s},
                 {"variance": variance},
                 lambda z, x_hat, noise, logsnr_t, logsnr_s, x_logvar=x_logvar: ancestral_google(z, x_hat, noise, logsnr_t, logsnr_s, x_logvar))
    name = "stochastic_meng"
    rng = rng_for(name)
    l_t, l_s = pair(rng, 3, gap=(0.3, 1.5))
    l_k = l_s + rng.uniform(0.3, 1.5, size=3)
    add_case(name, "stochastic_step",
             {"z": rng.normal(size=(3, 7)), "x_hat": np.tanh(rng.normal(size=(3, 7))), "noise": rng.normal(size=(3, 7)),
              "logsnr_t": l_t, "logsnr_s": l_s, "logsnr_next": l_k},
             {},
             lambda z, x_hat, noise, logsnr_t, logsnr_s, logsnr_next: stochastic_meng(z, x_hat, noise, logsnr_t, logsnr_s, logsnr_next))


def gen_ode():
    name = "euler_kdiffusion"
    rng = rng_for(name)
    l_t, l_s = pair(rng, 3)
    add_case(name, "euler_step",
             {"z": rng.normal(size=(3, 6)), "x_hat": np.tanh(rng.normal(size=(3, 6))), "logsnr_t": l_t, "logsnr_s": l_s},
             {}, euler_kdiff)
    name = "heun_kdiffusion_gaussian"
    rng = rng_for(name)
    l_t, l_s = pair(rng, 3, lo=-4.0, hi=4.0)

    def heun(z, mu, s, logsnr_t, logsnr_s):
        x_hat, z_s = heun_kdiff(z, logsnr_t, logsnr_s, gaussian_denoiser_ve(mu, s))
        return {"x_hat": x_hat, "z_s": z_s}
    add_case(name, "heun_step",
             {"z": rng.normal(size=(3, 6)), "mu": rng.uniform(-0.5, 0.5, size=6), "s": rng.uniform(0.2, 0.8, size=6),
              "logsnr_t": l_t, "logsnr_s": l_s},
             {}, heun)
    for multistep in (False, True):
        name = f"dpmpp_2m_kdiffusion_{'second' if multistep else 'first'}_order"
        rng = rng_for(name)
        l_t, l_s = pair(rng, 3)
        inputs = {"z": rng.normal(size=(3, 6)), "x_hat": np.tanh(rng.normal(size=(3, 6))), "logsnr_t": l_t, "logsnr_s": l_s}
        if multistep:
            inputs.update(prev_x_hat=np.tanh(rng.normal(size=(3, 6))), logsnr_prev=l_t - rng.uniform(0.3, 3.0, size=3))
        add_case(name, "dpmpp_2m_step", inputs, {}, dpmpp_2m_kdiff)


def gen_threshold():
    for p, axis, shape, name in (
        (0.995, 0, (3, 2, 4, 4), "dynamic_threshold_p0.995"),
        (0.95, 0, (3, 2, 4, 4), "dynamic_threshold_p0.95"),
        (1.0, 0, (3, 2, 4, 4), "dynamic_threshold_p1"),
        (0.9, None, (2, 3, 5), "dynamic_threshold_whole_array"),
        (0.8, 1, (6, 3), "dynamic_threshold_axis1"),
    ):
        rng = rng_for(name)
        x = rng.standard_t(3, size=shape)
        # one sample inside [-1, 1] (left unchanged), the others increasingly spread out
        bdim = 0 if axis is None else axis
        scale = np.array([0.9 / np.max(np.abs(x))] + [1.5 * 2 ** k for k in range(shape[bdim] - 1)])
        x = x * scale.reshape([-1 if d == bdim else 1 for d in range(len(shape))])
        add_case(name, "dynamic_threshold", {"x": x}, {"p": p, "perSampleAxis": axis},
                 lambda x, p=p, axis=axis: dynamic_threshold(x, p, axis))


def gen_cfg():
    name = "cfg_x_w3"
    rng = rng_for(name)
    add_case(name, "cfg", {"cond": rng.normal(size=(2, 3, 4)), "uncond": rng.normal(size=(2, 3, 4))}, {"w": 3.0},
             lambda cond, uncond: (1 + 3.0) * cond - 3.0 * uncond)
    name = "cfg_per_example_w"
    rng = rng_for(name)
    add_case(name, "cfg", {"cond": rng.normal(size=(3, 5)), "uncond": rng.normal(size=(3, 5)), "w": np.array([0.0, 1.0, 7.5])},
             {}, lambda cond, uncond, w: (1 + bc(w, cond)) * cond - bc(w, cond) * uncond)
    for space, p, name in (("eps", None, "cfg_eps_static_clip"), ("v", 0.995, "cfg_v_dynamic_threshold")):
        rng = rng_for(name)
        add_case(name, "cfg_threshold",
                 {"z": rng.normal(size=(3, 8)), "cond": rng.normal(size=(3, 8)), "uncond": rng.normal(size=(3, 8)),
                  "logsnr": rng.uniform(-3, 3, size=3)},
                 {"w": 4.0, "space": space, "threshold": "static" if p is None else "dynamic", "p": p},
                 lambda z, cond, uncond, logsnr, space=space, p=p: guided_clip_google(z, cond, uncond, 4.0, logsnr, space, p))


def cross_checks():
    """Each reference against another form of the same formula (float64)."""
    rng = np.random.default_rng(0)
    z, x, xi = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    l_t, l_s = np.array([-3.0, 0.5, 2.0]), np.array([-1.0, 2.5, 6.0])
    # DDIM eta = 1 is the small-variance ancestral step; eta = 0 is PD eq. 7-8.
    assert np.allclose(ddim_diffusers(z, x, xi, l_t, l_s, 1.0), ancestral_google(z, x, xi, l_t, l_s, "small"), rtol=1e-12, atol=1e-12)
    a_s, s_s = np.sqrt(sigmoid(bc(l_s, z))), np.sqrt(sigmoid(-bc(l_s, z)))
    a_t, s_t = np.sqrt(sigmoid(bc(l_t, z))), np.sqrt(sigmoid(-bc(l_t, z)))
    assert np.allclose(ddim_diffusers(z, x, xi, l_t, l_s, 0.0), a_s * x + s_s * (z - a_t * x) / s_t, rtol=1e-12, atol=1e-12)
    # Euler in k-diffusion form is DDIM (DDIM paper eq. 14); DPM-Solver++ first order too.
    assert np.allclose(euler_kdiff(z, x, l_t, l_s), ddim_diffusers(z, x, xi, l_t, l_s, 0.0), rtol=1e-12, atol=1e-12)
    assert np.allclose(dpmpp_2m_kdiff(z, x, l_t, l_s), ddim_diffusers(z, x, xi, l_t, l_s, 0.0), rtol=1e-12, atol=1e-12)
    # The gamma interpolation: 0 small, 1 large.
    assert np.allclose(ancestral_google(z, x, xi, l_t, l_s, "medium:0"), ancestral_google(z, x, xi, l_t, l_s, "small"))
    assert np.allclose(ancestral_google(z, x, xi, l_t, l_s, "medium:1"), ancestral_google(z, x, xi, l_t, l_s, "large"))
    # The VE Gaussian denoiser equals the VP posterior mean mu + alpha s^2 / (alpha^2 s^2 + sigma^2) (z - alpha mu).
    mu, s = 0.3, 0.7
    xv, sig = ve(z, l_t)
    vp = mu + a_t * s ** 2 / (a_t ** 2 * s ** 2 + s_t ** 2) * (z - a_t * mu)
    assert np.allclose(gaussian_denoiser_ve(mu, s)(xv, sig), vp, rtol=1e-12, atol=1e-12)
    # The stochastic step's variance is the forward transition q(z_s | z_k): (1 - e^{l_s - l_k}) sigma_s^2.
    l_k = l_s + 1.0
    zk_det = stochastic_meng(z, x, np.zeros_like(z), l_t, l_s, l_k)
    var = (-np.expm1(bc(l_s - l_k, z))) * sigmoid(-bc(l_s, z))
    assert np.allclose(stochastic_meng(z, x, xi, l_t, l_s, l_k) - zk_det, np.sqrt(var) * xi, rtol=1e-12, atol=1e-12)
    # p = 1 thresholding is division by max(max|x|, 1).
    y = rng.normal(size=(2, 5)) * np.array([[0.5], [3.0]])
    assert np.allclose(dynamic_threshold(y, 1.0, 0), y / np.maximum(np.abs(y).max(axis=1, keepdims=True), 1.0))


def main():
    FIXTURE.main(cross_checks, gen_ddim_ancestral, gen_ode, gen_threshold, gen_cfg)


if __name__ == "__main__":
    main()
