#!/usr/bin/env python3
"""Generate golden-value fixtures for vidax's diffusion math (src/diffusion).

Every expected value comes from an independent float64 NumPy/SciPy
implementation written from the papers' and reference code's formulas, not
from vidax's algebra (mpmath where float64 cancels):

* schedules: the formulas as the reference code writes them (Google's
  `_logsnr_schedule_cosine`, iDDPM's alpha-bar, imagen-pytorch's
  `beta_linear_log_snr` / `alpha_cosine_log_snr`, the simple-diffusion listing,
  VDM's linear gamma); analytic endpoint limits (+-inf) are written where the
  float64 formula would give a large finite number instead;
* inverses t(lambda): root finding on the float64 forward schedule
  (scipy.optimize.brentq), never a closed form;
* Karras steps: k-diffusion's `get_sigmas_karras` formula, then -2 log sigma;
* conversions among x, eps, v: the textbook definitions (x = (z - sigma eps)/alpha,
  v = alpha eps - sigma x, ...), composed rather than simplified;
* posterior and transition variance: VDM's alpha_{t|s}/sigma_{t|s} form.

Run from the repository root:

    /usr/bin/python3 scripts/golden/generate_diffusion.py            # test/fixtures/diffusion-golden.json
    /usr/bin/python3 scripts/golden/generate_diffusion.py /tmp/x.json

Schema and number conventions are those of core-golden.json (see
scripts/golden/README.md); params may hold "inf"/"-inf" strings too. Ops:

  schedule_logsnr  inputs t (float32 grid incl. 0 and 1); params name the schedule
                   ("schedule": cosine | iddpmCosine | linearLogSnr | shiftedCosine |
                   interpolatedCosine | vdmLinearGamma, plus that factory's options);
                   expected lambda(t).
  schedule_t       inputs logSnr; same params; expected t(lambda) by root finding.
  timesteps        no inputs; params n, kind (karras: sigmaMin, sigmaMax, rho;
                   uniform: a schedule); expected the N + 1 log-SNRs (last Karras one +inf).
  conversions      inputs x, eps, z = alpha x + sigma eps, v = alpha eps - sigma x,
                   logSnr (per example); expected xFromEps(z, eps), xFromV(z, v),
                   epsFromX(z, x), epsFromV(z, v), vFromX(z, x), vFromEps(z, eps),
                   velocity(x, eps), qSample(x, eps), each from the float32 inputs.
  posterior        inputs zt, x, eps, logSnrT, logSnrS (per example, lambda_s > lambda_t);
                   expected mean, variance (per example), transitionVariance and
                   qSampleFromTo(zt as z_s, from s to t, eps).
  loss_weights     inputs logSnr; expected the weights on |x - xhat|^2: snr, snrPlusOne,
                   truncatedSnr, constant, minSnr5 (gamma = 5).
"""

from __future__ import annotations

import math
import os
import sys

import mpmath
import numpy as np
import scipy
import scipy.optimize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import CaseFile, f32, json_number, rng_for  # noqa: E402

FIXTURE = CaseFile("scripts/golden/generate_diffusion.py", os.path.join("test", "fixtures", "diffusion-golden.json"),
                   ("numpy", "scipy"), max_bytes=200_000)
add_case = FIXTURE.add

T_GRID = [0.0, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0]


# ---------------------------------------------------------------------------
# schedules, float64, written as the reference code writes them
# ---------------------------------------------------------------------------

def cosine(t, lmin, lmax):
    """diffusion_distillation/schedules.py::_logsnr_schedule_cosine."""
    b = math.atan(math.exp(-0.5 * lmax))
    a = math.atan(math.exp(-0.5 * lmin)) - b
    with np.errstate(divide="ignore"):
        out = -2.0 * np.log(np.tan(a * t + b))
    # Unclipped limits: tan(pi/2) is finite in float64, the schedule's value is -inf.
    out = np.where((t == 1.0) & (lmin == -math.inf), -math.inf, out)
    return out


def iddpm(t, s, normalized):
    """iDDPM eq. 17 alpha-bar (normalized) or imagen-pytorch alpha_cosine_log_snr, as
    log(abar / (1 - abar)) evaluated in 50-digit mpmath (1 - abar cancels in float64)."""
    def one(tv):
        tv = float(tv)
        if tv == 1.0:
            return -math.inf  # cos(pi/2) = 0 exactly
        if normalized and tv == 0.0:
            return math.inf  # abar(0) = 1 exactly
        with mpmath.workdps(50):
            c = mpmath.mpf(s) / (1 + mpmath.mpf(s))
            theta = (mpmath.mpf(tv) + s) / (1 + mpmath.mpf(s)) * mpmath.pi / 2
            abar = mpmath.cos(theta) ** 2
            if normalized:
                abar = abar / mpmath.cos(c * mpmath.pi / 2) ** 2
            return float(mpmath.log(abar / (1 - abar)))
    return np.vectorize(one, otypes=[np.float64])(t)


def linear_log_snr(t):
    """imagen_pytorch.py::beta_linear_log_snr."""
    return -np.log(np.expm1(1e-4 + 10 * t ** 2))


def shifted(t, shift, lmin, lmax, preserve):
    """simple diffusion listing (preserve=False) / k-diffusion (preserve=True)."""
    off = 2 * math.log(shift)
    return cosine(t, lmin - off, lmax - off) + off if preserve else cosine(t, lmin, lmax) + off


def interpolated(t, low, high, lmin, lmax, preserve):
    """simple diffusion listing: t * logsnr_low + (1 - t) * logsnr_high."""
    return t * shifted(t, low, lmin, lmax, preserve) + (1 - t) * shifted(t, high, lmin, lmax, preserve)


def vdm_linear(t, gmin, gmax):
    """vdm NoiseSchedule_FixedLinear: gamma = gmin + (gmax - gmin) t; lambda = -gamma."""
    return -(gmin + (gmax - gmin) * t)


SCHEDULES = [
    # (case name, params, forward(t), inverse lambda range)
    ("cosine_pm20", {"schedule": "cosine", "logSnrMin": -20, "logSnrMax": 20}, lambda t: cosine(t, -20, 20), (-20, 20)),
    ("cosine_m10_p12", {"schedule": "cosine", "logSnrMin": -10, "logSnrMax": 12}, lambda t: cosine(t, -10, 12), (-10, 12)),
    ("cosine_unclipped", {"schedule": "cosine", "logSnrMin": json_number(-math.inf), "logSnrMax": json_number(math.inf)},
     lambda t: cosine(t, -math.inf, math.inf), (-25, 25)),
    ("iddpm_s0008", {"schedule": "iddpmCosine", "s": 0.008, "normalized": True}, lambda t: iddpm(t, 0.008, True), (-20, 20)),
    ("iddpm_s002", {"schedule": "iddpmCosine", "s": 0.02, "normalized": True}, lambda t: iddpm(t, 0.02, True), (-20, 20)),
    ("imagen_alpha_cosine", {"schedule": "iddpmCosine", "s": 0.008, "normalized": False}, lambda t: iddpm(t, 0.008, False), (-20, 8.7)),
    ("imagen_linear", {"schedule": "linearLogSnr"}, linear_log_snr, (-10, 9.2)),
    ("shifted_quarter", {"schedule": "shiftedCosine", "shift": 0.25, "logSnrMin": -15, "logSnrMax": 15, "preserveBounds": False},
     lambda t: shifted(t, 0.25, -15, 15, False), (-17.7, 12.2)),
    ("shifted_quarter_bounded", {"schedule": "shiftedCosine", "shift": 0.25, "logSnrMin": -15, "logSnrMax": 15, "preserveBounds": True},
     lambda t: shifted(t, 0.25, -15, 15, True), (-15, 15)),
    ("shifted_double", {"schedule": "shiftedCosine", "shift": 2.0, "logSnrMin": -20, "logSnrMax": 20, "preserveBounds": False},
     lambda t: shifted(t, 2.0, -20, 20, False), (-18, 21)),
    ("interpolated_32_256", {"schedule": "interpolatedCosine", "shiftLow": 0.125, "shiftHigh": 1.0, "logSnrMin": -15, "logSnrMax": 15,
                             "preserveBounds": False},
     lambda t: interpolated(t, 0.125, 1.0, -15, 15, False), (-19, 15)),
    ("interpolated_32_128_bounded", {"schedule": "interpolatedCosine", "shiftLow": 0.25, "shiftHigh": 0.5, "logSnrMin": -15, "logSnrMax": 15,
                                     "preserveBounds": True},
     lambda t: interpolated(t, 0.25, 0.5, -15, 15, True), (-15, 15)),
    ("vdm_cifar", {"schedule": "vdmLinearGamma", "gammaMin": -13.3, "gammaMax": 5.0}, lambda t: vdm_linear(t, -13.3, 5.0), (-4.9, 13.2)),
]


def invert(forward, lam: float) -> float:
    """t with forward(t) = lam, by Brent's method on the float64 forward schedule."""
    g = lambda t: float(forward(np.float64(t))) - lam  # noqa: E731
    lo, hi = 0.0, 1.0
    if g(lo) <= 0:
        return 0.0
    if g(hi) >= 0:
        return 1.0
    return scipy.optimize.brentq(g, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)


def gen_schedules():
    t = f32(T_GRID).astype(np.float64)
    for name, params, forward, (lmin, lmax) in SCHEDULES:
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = forward(t)
        assert np.all(np.diff(lam) < 0), f"{name}: not strictly decreasing"
        add_case(f"{name}_logsnr", "schedule_logsnr", {"t": f32(t)}, params, lam, {"rtol": 2e-5, "atol": 2e-5})
        # Inverse: a lambda grid inside the schedule's range, avoiding the steepest ends.
        lam_grid = f32(np.linspace(lmin, lmax, 17)).astype(np.float64)
        ts = np.array([invert(forward, float(v)) for v in lam_grid])
        assert np.all(np.abs(forward(ts) - lam_grid) < 1e-9 * np.maximum(1, np.abs(lam_grid))), name
        add_case(f"{name}_inverse", "schedule_t", {"logSnr": f32(lam_grid)}, params, ts, {"rtol": 1e-5, "atol": 2e-6})


# ---------------------------------------------------------------------------
# discretisations
# ---------------------------------------------------------------------------

def karras_sigmas(n, sigma_min, sigma_max, rho):
    """k_diffusion/sampling.py::get_sigmas_karras (with the final zero)."""
    ramp = np.linspace(0, 1, n)
    min_inv_rho = sigma_min ** (1 / rho)
    max_inv_rho = sigma_max ** (1 / rho)
    sigmas = (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** rho
    return np.append(sigmas, 0.0)


def gen_timesteps():
    for n, smin, smax, rho in [(1, 0.002, 80.0, 7.0), (5, 0.002, 80.0, 7.0), (10, 0.002, 80.0, 7.0), (8, 0.01, 50.0, 5.0)]:
        sig = karras_sigmas(n, smin, smax, rho)
        with np.errstate(divide="ignore"):
            lam = -2.0 * np.log(sig)
        add_case(f"karras_n{n}_rho{int(rho)}", "timesteps", {}, {"n": n, "kind": "karras", "sigmaMin": smin, "sigmaMax": smax, "rho": rho},
                 lam, {"rtol": 1e-5, "atol": 1e-5})
    for n, params, forward in [(4, {"schedule": "cosine", "logSnrMin": -20, "logSnrMax": 20}, lambda t: cosine(t, -20, 20)),
                               (8, {"schedule": "linearLogSnr"}, linear_log_snr)]:
        t = f32(np.linspace(1, 0, n + 1)).astype(np.float64)
        add_case(f"uniform_n{n}_{params['schedule']}", "timesteps", {}, {"n": n, "kind": "uniform", **params}, forward(t),
                 {"rtol": 2e-5, "atol": 2e-5})


# ---------------------------------------------------------------------------
# conversions, forward process, posterior, loss weights
# ---------------------------------------------------------------------------

def alpha_sigma(lam):
    a2 = 1.0 / (1.0 + np.exp(-lam))
    return np.sqrt(a2), np.sqrt(1.0 - a2)


def per_example(v, ndim):
    return v.reshape(v.shape + (1,) * (ndim - 1))


def gen_conversions():
    name = "conversions_4x3x2"
    rng = rng_for(name)
    x = f32(rng.uniform(-1, 1, (4, 3, 2)))
    eps = f32(rng.standard_normal((4, 3, 2)))
    lam = f32([-6.0, -1.5, 0.5, 5.0])
    a, s = (per_example(u, 3) for u in alpha_sigma(lam.astype(np.float64)))
    x64, e64 = x.astype(np.float64), eps.astype(np.float64)
    z = f32(a * x64 + s * e64)
    v = f32(a * e64 - s * x64)
    z64, v64 = z.astype(np.float64), v.astype(np.float64)
    x_from_eps = (z64 - s * e64) / a
    x_from_v_eps = (z64 - s * (s * z64 + a * v64)) / a  # x from the eps implied by v
    eps_from_x = (z64 - a * x64) / s
    expected = {
        "xFromEps": x_from_eps,
        "xFromV": x_from_v_eps,
        "epsFromX": eps_from_x,
        "epsFromV": (z64 - a * x_from_v_eps) / s,
        "vFromX": a * eps_from_x - s * x64,
        "vFromEps": a * e64 - s * x_from_eps,
        "velocity": a * e64 - s * x64,
        "qSample": a * x64 + s * e64,
    }
    # Cross-check the composed forms against the closed forms of PD App. D.
    assert np.allclose(expected["xFromV"], a * z64 - s * v64, rtol=1e-12, atol=1e-12)
    assert np.allclose(expected["epsFromV"], s * z64 + a * v64, rtol=1e-12, atol=1e-12)
    assert np.allclose(expected["vFromX"], (a * z64 - x64) / s, rtol=1e-12, atol=1e-12)
    add_case(name, "conversions", {"x": x, "eps": eps, "z": z, "v": v, "logSnr": lam}, {}, expected, {"rtol": 1e-4, "atol": 1e-4})


def gen_posterior():
    name = "posterior_3x4"
    rng = rng_for(name)
    zt = f32(rng.standard_normal((3, 4)))
    x = f32(rng.uniform(-1, 1, (3, 4)))
    eps = f32(rng.standard_normal((3, 4)))
    lam_t = f32([-4.0, 0.0, 3.0])
    lam_s = f32([-1.0, 2.5, 3.5])
    at, st = alpha_sigma(lam_t.astype(np.float64))
    as_, ss = alpha_sigma(lam_s.astype(np.float64))
    a_ts = at / as_  # VDM alpha_{t|s}
    var_ts = st ** 2 - a_ts ** 2 * ss ** 2  # VDM sigma^2_{t|s}
    mean = per_example(a_ts * ss ** 2 / st ** 2, 2) * zt.astype(np.float64) + per_example(as_ * var_ts / st ** 2, 2) * x.astype(np.float64)
    var = var_ts * ss ** 2 / st ** 2
    # zt plays z_s for the forward transition from s to t.
    from_to = per_example(a_ts, 2) * zt.astype(np.float64) + per_example(np.sqrt(var_ts), 2) * eps.astype(np.float64)
    add_case(name, "posterior", {"zt": zt, "x": x, "eps": eps, "logSnrT": lam_t, "logSnrS": lam_s}, {},
             {"mean": mean, "variance": var, "transitionVariance": var_ts, "qSampleFromTo": from_to}, {"rtol": 1e-5, "atol": 1e-5})


def gen_loss_weights():
    lam = f32([-12.0, -3.0, -0.5, 0.0, 0.7, 1.6094379, 4.0, 10.0])
    l64 = lam.astype(np.float64)
    a, s = alpha_sigma(l64)
    snr = a ** 2 / s ** 2
    expected = {
        "snr": snr,
        "snrPlusOne": 1 + snr,
        "truncatedSnr": np.maximum(snr, 1.0),
        "constant": np.ones_like(snr),
        "minSnr5": np.minimum(snr, 5.0),
    }
    add_case("loss_weights", "loss_weights", {"logSnr": lam}, {}, expected, {"rtol": 2e-6, "atol": 1e-6})


def main():
    FIXTURE.main(gen_schedules, gen_timesteps, gen_conversions, gen_posterior, gen_loss_weights)


if __name__ == "__main__":
    main()
