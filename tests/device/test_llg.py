"""Stochastic macrospin Monte-Carlo vs the analytic WER (small, seeded)."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.device import MTJ, DeviceError, MTJParams, WriteOperatingPoint
from archsim.device.llg import sample_initial_cos, simulate_wer, wilson_interval


def test_deterministic_for_seed():
    op = WriteOperatingPoint(voltage_v=1.5, pulse_ns=2.0)
    a = simulate_wer(MTJParams(), op, trials=300, seed=7)
    b = simulate_wer(MTJParams(), op, trials=300, seed=7)
    assert a == b


@pytest.mark.parametrize("direction,v,t", [("p2ap", 1.5, 2.5), ("p2ap", 1.0, 5.0), ("ap2p", 0.8, 3.0)])
def test_mc_agrees_with_analytic_within_factor_two(direction, v, t):
    mtj = MTJ()
    op = WriteOperatingPoint(voltage_v=v, pulse_ns=t)
    mc = simulate_wer(mtj, op, direction=direction, trials=1500, seed=3)
    res = mtj.evaluate_write(op)
    w = res.wer_p2ap if direction == "p2ap" else res.wer_ap2p
    assert 0.02 < mc.wer < 0.5  # resolved by 1500 trials
    assert mc.ci_low <= mc.wer <= mc.ci_high
    assert 0.5 < w / mc.wer < 2.0


def test_mc_low_delta_device_and_long_pulse_trend():
    """A low-Delta device (faster to simulate): same analytic code, same agreement; WER falls with pulse."""
    p = MTJParams(thermal_stability=30.0, diameter_nm=20.0)
    mtj = MTJ(p)
    w_mc, w_an = [], []
    for t in (1.0, 2.0):
        op = WriteOperatingPoint(voltage_v=1.0, pulse_ns=t)
        mc = simulate_wer(mtj, op, trials=1500, seed=11)
        w_mc.append(mc.wer)
        w_an.append(mtj.evaluate_write(op).wer_p2ap)
    assert w_mc[1] < w_mc[0]
    for a, m in zip(w_an, w_mc):
        if 0.01 < m < 0.5:
            assert 0.5 < a / m < 2.0


def test_initial_distribution_is_boltzmann():
    rng = np.random.default_rng(0)
    delta = 40.0
    cz = sample_initial_cos(delta, 200000, rng)
    # small-angle: theta^2 ~ Exp(mean 1/Delta)  =>  <1 - cos theta> ~ 1/(2 Delta)
    assert np.mean(1.0 - cz) == pytest.approx(1.0 / (2 * delta), rel=0.05)
    assert cz.min() >= 0.0 and cz.max() <= 1.0


def test_wilson_and_errors():
    lo, hi = wilson_interval(0, 100)
    assert lo == 0.0 and 0 < hi < 0.05
    lo, hi = wilson_interval(50, 100)
    assert lo < 0.5 < hi
    with pytest.raises(DeviceError):
        simulate_wer(MTJParams(), WriteOperatingPoint(), direction="sideways", trials=10)
    with pytest.raises(DeviceError):
        simulate_wer(MTJParams(), WriteOperatingPoint(), trials=10, dt_ps=100.0)
