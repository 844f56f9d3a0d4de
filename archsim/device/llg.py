"""Stochastic macrospin LLGS Monte-Carlo: an independent check of the analytic WER in :mod:`.mtj`.

The free layer is one macrospin m (unit vector) with uniaxial perpendicular anisotropy, Slonczewski damping-like
spin-transfer torque from a reference layer along z, and Brown's thermal field. Gilbert form, fields in tesla:

    dm/dt = -gamma m x B + alpha m x dm/dt + gamma a_J m x (m x z),   B = mu0 Hk m_z z + B_th
    a_J = hbar eta I / (2 e Ms V)                                (tesla; Slonczewski 1996/2005)

which in Landau-Lifshitz form is dm/dt = gamma/(1+alpha^2) (T + alpha m x T) with T = -m x B + a_J m x (m x z).
Each trial starts near +z and the torque destabilises +z: that is P->AP with eta_P->AP, or -- mirrored -- AP->P
with eta_AP->P. a_J = alpha mu0 Hk at I = Ic0, the same Ic0, t_D, Delta as the analytic model (both are built
from the same :class:`~archsim.device.mtj.MTJ`).

Thermal field: each Cartesian component Gaussian, mean 0, variance 2 alpha kB T / (gamma Ms V dt) in T^2
(Brown, Phys. Rev. 130:1677, 1963; units as in ARM-software/mram_simulation_framework sllgs_solver.py, converted
from A/m to tesla). Stratonovich calculus: Heun predictor-corrector with the same noise sample in both stages,
renormalising |m| = 1 after each step. Initial states are drawn from the Boltzmann distribution
p(theta) ~ sin(theta) exp(Delta cos^2 theta) on the starting hemisphere (inverse CDF on a fine grid).

A trial is a write error if m_z > 0 (still in the start state's hemisphere) at the end of the pulse.
Pure numpy, vectorised over trials; deterministic for a given seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .mtj import MTJ, DeviceError
from .params import E_CHARGE_C, GAMMA_RAD_PER_S_T, HBAR_JS, KB_J_PER_K, MU0_H_PER_M, MTJParams, WriteOperatingPoint


@dataclass(frozen=True)
class MCResult:
    """Monte-Carlo WER with a 95 % Wilson score interval."""

    wer: float
    ci_low: float
    ci_high: float
    trials: int
    errors: int
    overdrive: float  # i = I / Ic0 of the simulated direction
    direction: str


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95 % Wilson score interval for k successes in n trials (Wilson, JASA 22:209, 1927)."""
    if n <= 0:
        raise ValueError("n must be > 0")
    p = k / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def sample_initial_cos(delta: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """cos(theta) of n macrospins in thermal equilibrium in the upper well: density ~ exp(Delta (x^2 - 1)) on [0, 1]."""
    # the density is concentrated within ~1/Delta of x = 1: use a grid fine there
    u = np.concatenate([np.linspace(0.0, min(1.0, 40.0 / delta), 20001)[:-1],
                        np.linspace(min(1.0, 40.0 / delta), 1.0, 2001)])  # u = 1 - x
    logp = delta * ((1.0 - u) ** 2 - 1.0)
    pdf = np.exp(logp - logp.max())
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(u))])
    cdf /= cdf[-1]
    return 1.0 - np.interp(rng.random(n), cdf, u)


def simulate_wer(params: MTJParams | MTJ, op: WriteOperatingPoint, direction: str = "p2ap", trials: int = 2000,
                 dt_ps: float = 1.0, seed: int = 0, angle_dependent_eta: bool = False) -> MCResult:
    """Monte-Carlo WER of one write pulse.

    ``angle_dependent_eta=False`` keeps eta at its start-state value (the analytic model's assumption); True uses
    Slonczewski's eta(theta) = P/(2(1 + P^2 cos theta)) along the trajectory.
    """
    mtj = params if isinstance(params, MTJ) else MTJ(params)
    if direction not in ("p2ap", "ap2p"):
        raise DeviceError(f"direction must be 'p2ap' or 'ap2p', got {direction!r}")
    if trials < 1:
        raise DeviceError(f"trials must be >= 1, got {trials}")
    if not (0.0 < dt_ps <= 0.1 * mtj.precession_period_ns * 1e3):
        raise DeviceError(f"dt_ps={dt_ps} must be in (0, {0.1 * mtj.precession_period_ns * 1e3:.3g}] "
                          "(a tenth of the precession period)")
    res = mtj.evaluate_write(op)  # validates voltage and pulse
    i_ua = res.current_p2ap_ua if direction == "p2ap" else res.current_ap2p_ua
    eta0 = mtj.eta_p2ap if direction == "p2ap" else mtj.eta_ap2p
    ic0 = mtj.ic0_p2ap_ua if direction == "p2ap" else mtj.ic0_ap2p_ua

    ms_v = mtj.ms_a_per_m * mtj.volume_m3  # A m^2
    bk = MU0_H_PER_M * mtj.hk_a_per_m  # T
    aj0 = HBAR_JS * eta0 * i_ua * 1e-6 / (2.0 * E_CHARGE_C * ms_v)  # T
    pol = mtj.params.polarization
    sgn = 1.0 if direction == "p2ap" else -1.0  # cos(theta_rel) = sgn * m_z
    dt = dt_ps * 1e-12
    gam = GAMMA_RAD_PER_S_T / (1.0 + mtj.alpha ** 2)
    sigma = math.sqrt(2.0 * mtj.alpha * KB_J_PER_K * mtj.params.temperature_k / (GAMMA_RAD_PER_S_T * ms_v * dt))
    n_steps = max(1, int(round(op.pulse_ns * 1e3 / dt_ps)))

    rng = np.random.default_rng(seed)
    cz = sample_initial_cos(mtj.delta, trials, rng)
    phi = rng.uniform(0.0, 2.0 * math.pi, trials)
    sz = np.sqrt(np.clip(1.0 - cz * cz, 0.0, None))
    mx, my, mz = sz * np.cos(phi), sz * np.sin(phi), cz.copy()
    a = mtj.alpha

    def rhs(mx, my, mz, bx, by, bz):
        if angle_dependent_eta:
            aj = aj0 * (1.0 + sgn * pol * pol) / (1.0 + sgn * pol * pol * mz)
        else:
            aj = aj0
        bzt = bk * mz + bz
        # -m x B
        tx = -(my * bzt - mz * by)
        ty = -(mz * bx - mx * bzt)
        tz = -(mx * by - my * bx)
        # + a_J m x (m x z) = a_J (m m_z - z)
        tx = tx + aj * mx * mz
        ty = ty + aj * my * mz
        tz = tz + aj * (mz * mz - 1.0)
        # dm/dt = gam (T + alpha m x T)
        return (gam * (tx + a * (my * tz - mz * ty)),
                gam * (ty + a * (mz * tx - mx * tz)),
                gam * (tz + a * (mx * ty - my * tx)))

    for _ in range(n_steps):
        bx, by, bz = rng.standard_normal((3, trials)) * sigma
        k1x, k1y, k1z = rhs(mx, my, mz, bx, by, bz)
        px, py, pz = mx + dt * k1x, my + dt * k1y, mz + dt * k1z
        k2x, k2y, k2z = rhs(px, py, pz, bx, by, bz)
        mx = mx + 0.5 * dt * (k1x + k2x)
        my = my + 0.5 * dt * (k1y + k2y)
        mz = mz + 0.5 * dt * (k1z + k2z)
        norm = 1.0 / np.sqrt(mx * mx + my * my + mz * mz)
        mx, my, mz = mx * norm, my * norm, mz * norm

    errors = int(np.count_nonzero(mz > 0.0))
    lo, hi = wilson_interval(errors, trials)
    return MCResult(wer=errors / trials, ci_low=lo, ci_high=hi, trials=trials, errors=errors,
                    overdrive=i_ua / ic0, direction=direction)
