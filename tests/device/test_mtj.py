"""Unit and property tests of the analytic MTJ model (archsim.device.mtj)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from archsim.device import MTJ, DeviceError, MTJParams, WriteOperatingPoint
from archsim.device.params import E_CHARGE_C, HBAR_JS, KB_J_PER_K

MTJ_DEFAULT = MTJ()


def test_defaults_match_nvsim_default_cell():
    r = MTJ_DEFAULT.write(WriteOperatingPoint(voltage_v=1.25, pulse_ns=10.0))
    # NVSim sample_STTRAM.cell: 80 uA, 10 ns, 1 pJ per bit
    assert r.current_p2ap_ua == pytest.approx(80.0, rel=1e-6)
    assert r.energy_p2ap_pj == pytest.approx(1.0, rel=1e-6)
    assert 0.5 < r.energy_mean_pj < 1.0
    assert r.latency_ns == 10.0
    assert MTJ_DEFAULT.r_p_ohm == 3000.0 and MTJ_DEFAULT.r_ap_ohm == 6000.0
    assert r.wer_p2ap < 1e-4 and r.wer_ap2p < r.wer_p2ap


def test_ic0_macrospin_formula():
    p = MTJParams(thermal_stability=50.0, damping=0.01, spin_polarization=0.6, temperature_k=350.0)
    m = MTJ(p)
    eta = 0.6 / (2 * (1 + 0.36))
    expected = 4 * 0.01 * E_CHARGE_C * KB_J_PER_K * 350.0 * 50.0 / (HBAR_JS * eta) * 1e6
    assert m.ic0_p2ap_ua == pytest.approx(expected, rel=1e-9)
    assert m.ic0_ap2p_ua == pytest.approx(expected * (1 - 0.36) / (1 + 0.36), rel=1e-9)
    # given Ic0 round-trips
    m2 = MTJ(MTJParams(critical_current_p2ap_ua=50.0))
    assert m2.ic0_p2ap_ua == pytest.approx(50.0)


def test_ra_product_sets_resistance():
    p = MTJParams(ra_ohm_um2=5.0, diameter_nm=40.0)
    area_um2 = math.pi * 0.02 ** 2
    assert p.resistance_p_ohm == pytest.approx(5.0 / area_um2)
    with pytest.raises(ValidationError):
        MTJParams(ra_ohm_um2=5.0, r_p_ohm=3000.0)


def test_precessional_closed_form_long_pulse_tail():
    """Deep in the precessional regime the WER tail decays as exp(-2(i-1) t/t_D) (Butler 2012)."""
    m = MTJ_DEFAULT
    i = 3.0
    w1, reg = m.wer_from_overdrive(i, 20 * m.t_d_ns)
    w2, _ = m.wer_from_overdrive(i, 21 * m.t_d_ns)
    assert reg == "precessional"
    # thermal channel is held at its (small) peak rate for i > 1: allow for it
    extra = m._thermal_strength(i, m.t_d_ns)
    assert math.log(w1 / w2) == pytest.approx(2 * (i - 1) + extra, rel=1e-6)


def test_thermal_regime_neel_brown():
    m = MTJ_DEFAULT
    i = 0.5
    t = 1e6  # ns
    w, reg = m.wer_from_overdrive(i, t)
    rate = 1.5 * 0.25 * math.exp(-m.delta * 0.25) / m.tau0_ns
    assert reg == "thermal"
    assert -math.log(w) == pytest.approx(t * rate, rel=1e-9)


def test_p2ap_harder_than_ap2p():
    for v in (0.6, 0.9, 1.2, 1.6):
        for t in (3.0, 10.0, 30.0):
            r = MTJ_DEFAULT.evaluate_write(WriteOperatingPoint(voltage_v=v, pulse_ns=t))
            assert r.overdrive_p2ap < r.overdrive_ap2p
            assert r.wer_p2ap >= r.wer_ap2p


def test_read_energy_below_write_and_small_disturb():
    rd = MTJ_DEFAULT.read()
    wr = MTJ_DEFAULT.write(WriteOperatingPoint())
    assert 0 < rd.energy_mean_pj < wr.energy_mean_pj
    assert 0 <= rd.disturb_prob < 1e-9
    # reading harder disturbs more
    assert MTJ_DEFAULT.read(read_voltage_v=0.3).disturb_prob > rd.disturb_prob
    assert MTJ_DEFAULT.read(read_pulse_ns=10.0).disturb_prob >= rd.disturb_prob


def test_retention_grows_with_delta_and_matches_formula():
    ret = [MTJ(MTJParams(thermal_stability=d)).retention_s(1e-9) for d in (30, 40, 50, 60, 70)]
    assert all(b > a for a, b in zip(ret, ret[1:]))
    m = MTJ(MTJParams(thermal_stability=60, attempt_time_ns=1.0))
    # tau0 = 1 ns, Delta = 60: t = 1e-9 * e^60 * 1e-9 s = 1.14e8 s (~3.6 years)
    assert m.retention_s(1e-9) == pytest.approx(1e-9 * math.exp(60) * 1e-9, rel=1e-6)
    assert m.retention_s(1e-6) > m.retention_s(1e-9)


@pytest.mark.parametrize("kwargs", [dict(diameter_nm=0), dict(diameter_nm=-5), dict(thickness_nm=0),
                                    dict(damping=0), dict(tmr=-1), dict(thermal_stability=1),
                                    dict(unknown_field=3)])
def test_bad_params_rejected(kwargs):
    with pytest.raises(ValidationError):
        MTJParams(**kwargs)


@pytest.mark.parametrize("v,t,match", [(5.0, 10.0, "voltage"), (0.01, 10.0, "voltage"),
                                       (1.0, 0.002, "shorter"), (0.3, 10.0, "never switches"),
                                       (1.2, 1e10, "exceeds")])
def test_write_errors(v, t, match):
    with pytest.raises(DeviceError, match=match):
        MTJ_DEFAULT.write(WriteOperatingPoint(voltage_v=v, pulse_ns=t))


def test_device_error_is_value_error_and_one_line():
    with pytest.raises(ValueError) as ei:
        MTJ_DEFAULT.write(WriteOperatingPoint(voltage_v=0.3, pulse_ns=5.0))
    assert "\n" not in str(ei.value)
    with pytest.raises(DeviceError):
        MTJ_DEFAULT.read(read_voltage_v=3.0)
    with pytest.raises(DeviceError):
        MTJ_DEFAULT.retention_s(0.0)
    with pytest.raises(ValidationError):
        WriteOperatingPoint(voltage_v=-1.0, pulse_ns=5.0)


def test_wer_grid_matches_pointwise():
    vs, ts = [0.7, 1.0, 1.3], [2.0, 5.0, 20.0, 100.0]
    wp, wa = MTJ_DEFAULT.wer_grid(vs, ts)
    assert wp.shape == wa.shape == (3, 4)
    for a, v in enumerate(vs):
        for b, t in enumerate(ts):
            r = MTJ_DEFAULT.evaluate_write(WriteOperatingPoint(voltage_v=v, pulse_ns=t))
            assert wp[a, b] == pytest.approx(r.wer_p2ap, rel=1e-12, abs=1e-300)
            assert wa[a, b] == pytest.approx(r.wer_ap2p, rel=1e-12, abs=1e-300)


# ----------------------------------------------------------------------------------------- property tests
params_st = st.builds(
    MTJParams,
    thermal_stability=st.floats(20, 100),
    diameter_nm=st.floats(15, 60),
    damping=st.floats(0.002, 0.05),
    tmr=st.floats(0.5, 3.0),
    series_resistance_ohm=st.floats(0, 30000),
)
volt_st = st.floats(0.1, 2.5)
pulse_st = st.floats(0.1, 1e4)


@settings(max_examples=150, deadline=None)
@given(params_st, volt_st, volt_st, pulse_st)
def test_wer_falls_and_energy_rises_with_voltage(p, v1, v2, t):
    m = MTJ(p)
    t = max(t, m.min_pulse_ns)
    lo, hi = sorted((v1, v2))
    a = m.evaluate_write(WriteOperatingPoint(voltage_v=lo, pulse_ns=t))
    b = m.evaluate_write(WriteOperatingPoint(voltage_v=hi, pulse_ns=t))
    assert b.wer_p2ap <= a.wer_p2ap * (1 + 1e-9)
    assert b.wer_ap2p <= a.wer_ap2p * (1 + 1e-9)
    assert b.energy_p2ap_pj >= a.energy_p2ap_pj and b.energy_ap2p_pj >= a.energy_ap2p_pj
    assert a.wer_p2ap >= a.wer_ap2p * (1 - 1e-9)


@settings(max_examples=150, deadline=None)
@given(params_st, volt_st, pulse_st, pulse_st)
def test_wer_falls_and_energy_rises_with_pulse(p, v, t1, t2):
    m = MTJ(p)
    lo, hi = sorted((max(t1, m.min_pulse_ns), max(t2, m.min_pulse_ns)))
    a = m.evaluate_write(WriteOperatingPoint(voltage_v=v, pulse_ns=lo))
    b = m.evaluate_write(WriteOperatingPoint(voltage_v=v, pulse_ns=hi))
    assert b.wer_p2ap <= a.wer_p2ap * (1 + 1e-9)
    assert b.wer_ap2p <= a.wer_ap2p * (1 + 1e-9)
    assert b.energy_mean_pj >= a.energy_mean_pj
    assert 0.0 <= b.wer_p2ap <= 1.0 and 0.0 <= a.wer_ap2p <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.floats(0.5, 3.0), st.floats(0.05, 0.2))
def test_wer_monotone_in_overdrive_across_crossover(t_over_td, step):
    m = MTJ_DEFAULT
    i = np.arange(0.0, 4.0, step / 10)
    w, _ = m.wer_from_overdrive(i, t_over_td * m.t_d_ns)
    assert np.all(np.diff(w) <= 1e-12)


@settings(max_examples=60, deadline=None)
@given(st.floats(20, 100), st.floats(20, 100))
def test_retention_monotone_in_delta(d1, d2):
    lo, hi = sorted((d1, d2))
    assert MTJ(MTJParams(thermal_stability=hi)).retention_s() >= MTJ(MTJParams(thermal_stability=lo)).retention_s()
