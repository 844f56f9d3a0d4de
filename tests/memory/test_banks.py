"""SRAM and STT-MRAM bank models: calibration against NVMExplorer, scaling properties, write operating point."""
from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from archsim.device.mtj import MTJ, DeviceError
from archsim.device.params import WriteOperatingPoint
from archsim.memory import BankGeometry, characterize, technologies, technology
from archsim.memory import array_model as am
from archsim.memory import sttmram

MB = 1 << 20
FAST = settings(max_examples=40, deadline=None)

capacities = st.integers(min_value=64, max_value=64 * MB)
word_bits = st.sampled_from([8, 16, 32, 64, 128, 256, 512, 1024])
techs = st.sampled_from(["sram", "sttmram"])


def _c(tech, cap, w=64, **opts):
    return characterize(tech, BankGeometry(capacity_bytes=cap, word_bits=w), opts)


def _close(got, want, rel):
    return abs(got - want) <= rel * abs(want)


def test_registered_names():
    assert {"sram", "sttmram"} <= set(technologies())
    assert technology("SRAM").name == "sram" and technology("sttmram").name == "sttmram"


# ------------------------------------------------------------------------------------------------ calibration
# Tolerances: the model is calibrated on these points, so SRAM/STT area, latency, read energy and leakage at 1 MB are
# reproduced to 2 %; the STT write energy uses the *device* model's cell energy (mean of P->AP 1.0 pJ and AP->P
# 0.84 pJ at 1.25 V / 10 ns) instead of NVSim's 1 pJ cell, so it is allowed 15 %.
@pytest.mark.parametrize("field,rel", [("area_mm2", 0.02), ("read_latency_ns", 0.02), ("write_latency_ns", 0.02),
                                       ("read_energy_pj", 0.02), ("write_energy_pj", 0.02), ("leakage_mw", 0.02)])
def test_sram_1mb_and_2mb_match_nvmexplorer(field, rel):
    for ref in (am.NVMX_SRAM_1MB, am.NVMX_SRAM_2MB):
        got = getattr(_c("sram", int(ref.capacity_mb * MB)), field)
        assert _close(got, getattr(ref, field), rel), (ref.name, field, got)


@pytest.mark.parametrize("field,rel", [("area_mm2", 0.02), ("read_latency_ns", 0.02), ("write_latency_ns", 0.02),
                                       ("read_energy_pj", 0.02), ("write_energy_pj", 0.15), ("leakage_mw", 0.02)])
def test_stt_1mb_matches_nvmexplorer(field, rel):
    ref = am.NVMX_STT_1MB
    got = getattr(_c("sttmram", MB), field)
    assert _close(got, getattr(ref, field), rel), (field, got)


def test_density_ratio_at_1mb_is_nvsim_class():
    ratio = _c("sram", MB).area_mm2 / _c("sttmram", MB).area_mm2
    assert 2.5 < ratio < 2.9  # NVMExplorer 0.654 / 0.244 = 2.68
    assert ratio < 146 / 54  # periphery dilutes the bare cell ratio


def test_tentpole_write_path_follows_cell():
    """Write latency = cell pulse + periphery for the 2 ns and 200 ns survey cells (NVMExplorer 2.45 / 200.6 ns)."""
    best = _c("sttmram", 2 * MB, cell_area_f2=14, write_pulse_ns=2.0, write_voltage_v=1.5)
    worst = _c("sttmram", 2 * MB, cell_area_f2=75, write_pulse_ns=200.0)
    assert _close(best.write_latency_ns, am.NVMX_STT_2MB_BEST.write_latency_ns, 0.25)
    assert _close(worst.write_latency_ns, am.NVMX_STT_2MB_WORST.write_latency_ns, 0.02)


# ------------------------------------------------------------------------------------------ capacity scaling
@FAST
@given(techs, capacities, capacities, word_bits)
def test_monotone_in_capacity(tech, c1, c2, w):
    lo, hi = sorted((c1, c2))
    assume(lo * 8 >= w and hi > lo)
    a, b = _c(tech, lo, w), _c(tech, hi, w)
    assert b.area_mm2 > a.area_mm2
    assert b.leakage_mw > a.leakage_mw
    for f in ("read_latency_ns", "write_latency_ns", "read_energy_pj", "write_energy_pj"):
        assert getattr(b, f) >= getattr(a, f) - 1e-12, f


@FAST
@given(capacities, word_bits)
def test_mram_leaks_less_and_is_denser(cap, w):
    assume(cap * 8 >= w)
    s, m = _c("sram", cap, w), _c("sttmram", cap, w)
    assert m.leakage_mw < s.leakage_mw
    assert m.area_mm2 < s.area_mm2


def test_area_scales_with_feature_size_squared():
    a22 = _c("sram", 4 * MB).area_mm2
    a44 = _c("sram", 4 * MB, feature_size_nm=44).area_mm2
    assert a44 == pytest.approx(4 * a22, rel=1e-12)


def test_h_tree_grows_like_sqrt_area():
    """Latency above the array-local part grows with the bank edge: 4x capacity -> 2x H-tree delay."""
    t1, t4 = _c("sram", 4 * MB).read_latency_ns, _c("sram", 16 * MB).read_latency_ns
    g1 = t1 - _c("sram", 4 * MB, global_wire_delay_ns_per_mm=1e-9).read_latency_ns
    g4 = t4 - _c("sram", 16 * MB, global_wire_delay_ns_per_mm=1e-9).read_latency_ns
    assert g4 == pytest.approx(2 * g1, rel=1e-6)


# ----------------------------------------------------------------------------------------- write operating point
ops = st.tuples(st.floats(0.6, 2.5), st.floats(1.0, 100.0))


def _try(cap, w, v, t, **kw):
    try:
        return _c("sttmram", cap, w, write_voltage_v=v, write_pulse_ns=t, **kw)
    except DeviceError:
        return None


@FAST
@given(capacities, word_bits, ops, st.sampled_from(["all_bits", "changed_bits"]))
def test_mram_read_energy_never_exceeds_write_energy(cap, w, op, scheme):
    assume(cap * 8 >= w)
    c = _try(cap, w, *op, write_scheme=scheme)
    assume(c is not None)
    assert c.read_energy_pj <= c.write_energy_pj


@FAST
@given(ops, st.floats(1.05, 2.0))
def test_write_energy_rises_and_ber_falls_with_voltage(op, factor):
    v, t = op
    assume(v * factor <= 3.0)
    a, b = _try(MB, 64, v, t), _try(MB, 64, v * factor, t)
    assume(a is not None and b is not None)
    assert b.write_energy_pj > a.write_energy_pj
    assert b.write_latency_ns == pytest.approx(a.write_latency_ns)
    # BERs pass through from the device model; checked where a write is usable (WER < 1e-2): near the
    # thermal/precessional crossover at WER ~0.1-1 the device model is not monotone in V (reported to its owner).
    assume(max(a.write_ber_0to1, a.write_ber_1to0) < 1e-2)
    assert b.write_ber_0to1 <= a.write_ber_0to1 and b.write_ber_1to0 <= a.write_ber_1to0


@FAST
@given(ops, st.floats(1.05, 4.0))
def test_write_energy_rises_and_ber_falls_with_pulse(op, factor):
    v, t = op
    a, b = _try(MB, 64, v, t), _try(MB, 64, v, t * factor)
    assume(a is not None and b is not None)
    assert b.write_energy_pj > a.write_energy_pj
    assert b.write_latency_ns > a.write_latency_ns
    assume(max(a.write_ber_0to1, a.write_ber_1to0) < 1e-2)
    assert b.write_ber_0to1 <= a.write_ber_0to1 and b.write_ber_1to0 <= a.write_ber_1to0


def test_lower_write_point_saves_energy_at_a_ber_cost():
    nominal, low = _c("sttmram", MB), _c("sttmram", MB, write_voltage_v=1.0, write_pulse_ns=6.0)
    assert low.write_energy_pj < 0.6 * nominal.write_energy_pj
    assert low.write_ber > nominal.write_ber


def test_changed_bits_scheme_trades_latency_for_energy():
    allb, chg = _c("sttmram", MB), _c("sttmram", MB, write_scheme="changed_bits")
    assert chg.write_energy_pj < allb.write_energy_pj
    assert chg.write_latency_ns == pytest.approx(allb.write_latency_ns + allb.read_latency_ns)
    none = _c("sttmram", MB, write_scheme="changed_bits", changed_bit_fraction=0.0)
    cell = MTJ().write(WriteOperatingPoint()).energy_mean_pj
    assert chg.write_energy_pj - none.write_energy_pj == pytest.approx(0.5 * 64 * cell)
    assert none.write_energy_pj == pytest.approx(allb.read_energy_pj + allb.write_energy_pj - 64 * cell)


def test_mram_leakage_is_periphery_only_and_bers_are_per_direction():
    c = _c("sttmram", MB)
    assert c.leakage_mw == pytest.approx(am.periphery_leakage_mw(
        am.layout(MB, 54, am.STT_PERIPHERY_F2, 22.0)))
    assert c.write_ber_0to1 > c.write_ber_1to0  # P->AP is the harder direction
    assert 0 < c.read_ber < 1e-3 and math.isfinite(c.retention_s) and c.retention_s > 0
    s = _c("sram", MB)
    assert s.read_ber == s.write_ber == 0 and math.isinf(s.retention_s)


def test_sensing_error_grows_with_resistance_spread_and_vanishes_without():
    assert sttmram.sensing_error(16.0, 13.4, 3000, 6000, 12625, 0.25, 0.0) == 0.0
    errs = [sttmram.sensing_error(16.0, 13.4, 3000, 6000, 12625, 0.25, s) for s in (0.02, 0.05, 0.1)]
    assert errs[0] < errs[1] < errs[2] < 0.5
    # read BER = half the P-state disturb (read current in the P->AP sense) + sensing
    base = _c("sttmram", MB, resistance_sigma_frac=0.0).read_ber
    assert _c("sttmram", MB).read_ber > base > 0


def test_read_pulse_sets_read_latency_and_disturb():
    short, long_ = _c("sttmram", MB, read_pulse_ns=0.2), _c("sttmram", MB, read_pulse_ns=2.0)
    assert long_.read_latency_ns - short.read_latency_ns == pytest.approx(1.8)
    assert long_.read_ber > short.read_ber
    assert long_.read_energy_pj > short.read_energy_pj


def test_options_are_validated():
    with pytest.raises(ValidationError, match="read_voltage_v"):
        technology("sttmram").options({"read_voltage_v": 0.5, "write_voltage_v": 0.4})
    with pytest.raises(ValidationError, match="cell_area_f2"):
        technology("sttmram").options({"cell_area_f2": 1.0})
    with pytest.raises(ValidationError):
        technology("sram").options({"write_voltage_v": 1.0})  # unknown key for SRAM
    with pytest.raises(ValidationError):
        technology("sttmram").options({"mtj": {"no_such_field": 1}})
    with pytest.raises(DeviceError):
        _c("sttmram", MB, write_voltage_v=0.3, write_pulse_ns=1.0)  # never switches


def test_mtj_overrides_reach_the_bank():
    weak = _c("sttmram", MB, mtj={"thermal_stability": 40.0})
    nominal = _c("sttmram", MB)
    assert weak.retention_s < nominal.retention_s
    assert weak.write_ber_0to1 < nominal.write_ber_0to1  # lower barrier -> lower Ic0 -> more overdrive


def test_bank_models_are_pure():
    code = ("import sys, archsim.memory as m; m.technologies(); import archsim.memory.scenario; "
            "assert 'simpy' not in sys.modules and 'torch' not in sys.modules, "
            "[k for k in sys.modules if k in ('simpy', 'torch')]")
    subprocess.run([sys.executable, "-c", code], check=True)
